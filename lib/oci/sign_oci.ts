/**
 * `sign [key|certificate|sigstore] MANIFEST.json` and `sign ... oci://...`: signs the layers of an OCI image
 * manifest without the files, in the Go implementation's format (files serialization, sha256,
 * one resource per layer, see `layer_entries.ts`); `--attach` pushes the signature to the
 * registry as an OCI 1.1 referrer of the image.
 *
 * @module
 */

import { join } from "node:path";
import { buildStatement } from "../bundle/build_bundle.ts";
import { DEFAULT_SIGNATURE_NAME } from "../config/config.ts";
import type { SignConfig } from "../config/resolve_config.ts";
import { ConfigError, ModelVerifyError } from "../errors.ts";
import { escapeName } from "../_escape.ts";
import { computeRootDigest, type Serialization } from "../manifest/manifest.ts";
import type { RegistryOptions } from "../config/config.ts";
import { loadSigner, type ModelStatement, type SignResult } from "../sign/sign_model.ts";
import type { SigstoreSignDeps } from "../sign/sigstore_sign.ts";
import { checkSignatureTarget, writeSignature } from "../sign/write_signature.ts";
import { layerEntries } from "./layer_entries.ts";
import { loadOciSource, type OciSource } from "./oci_source.ts";
import type { RegistrySource } from "./registry_source.ts";

/** The serialization Go records for a manifest signature. */
export const OCI_SERIALIZATION: Serialization = {
  method: "files",
  hashType: "sha256",
  allowSymlinks: false,
  ignorePaths: [],
};

/** What was signed, and where the referrer went when attached. */
export interface OciSignResult extends SignResult {
  /** `--attach`: the referrer manifest's digest. */
  referrer?: string;
}

/** What an OCI statement is built from: the options of `sign key|certificate|sigstore`. */
export interface OciStatementOptions {
  modelPath: string;
  signaturePath: string;
  hashType: string;
  shardSize?: number;
  ignorePathsAsGiven?: string[];
  registry?: RegistryOptions;
}

/**
 * Signs an OCI image manifest with a key or certificate.
 *
 * @throws {ConfigError} when no `--signature` was given for a manifest file
 */
export async function signOci(
  config: SignConfig,
  env: Readonly<Record<string, string | undefined>>,
): Promise<OciSignResult> {
  checkOciOptions(config);
  await checkSignatureTarget(config.signaturePath);
  const signer = await loadSigner(config);
  const { statement, source } = await buildOciStatement(config, env);
  const bundle = await signer.bundle(statement.payload);
  await writeSignature(config.signaturePath, bundle);
  const result: OciSignResult = {
    signaturePath: config.signaturePath,
    rootDigest: statement.rootDigest,
    files: statement.files,
    resources: statement.resources,
    warnings: [],
  };
  if (config.registry?.attach && source.registry) {
    result.referrer = await attach(source.registry, bundle, config.signaturePath);
  }
  return result;
}

/**
 * `sign [sigstore]` of an OCI manifest: the hooks that make `signModelWithSigstore` sign the
 * manifest's layers instead of hashing a folder, and push the bundle with `--attach`.
 * `referrer()` is the referrer's digest once attached.
 *
 * @throws {ConfigError} when no `--signature` was given for a manifest file, or for hashing
 *   options a manifest signature cannot have
 */
export function ociSigstoreHooks(
  config: OciStatementOptions,
  env: Readonly<Record<string, string | undefined>>,
): { deps: Pick<SigstoreSignDeps, "statement" | "onSigned">; referrer: () => string | undefined } {
  checkOciOptions(config);
  let source: OciSource | undefined;
  let referrer: string | undefined;
  return {
    deps: {
      statement: async () => {
        await checkSignatureTarget(config.signaturePath);
        const built = await buildOciStatement(config, env);
        source = built.source;
        return built.statement;
      },
      onSigned: async (bundle) => {
        if (config.registry?.attach && source?.registry) {
          referrer = await attach(source.registry, bundle, config.signaturePath);
        }
      },
    },
    referrer: () => referrer,
  };
}

/** The options a manifest signature can have; `--signature` is required for a manifest file. */
function checkOciOptions(config: OciStatementOptions): void {
  if (config.signaturePath === join(config.modelPath, DEFAULT_SIGNATURE_NAME)) {
    throw new ConfigError(
      "MISSING_OPTION",
      "Signing an OCI manifest needs --signature PATH (there is no model folder to put it in)",
    );
  }
  if (config.shardSize !== undefined || config.hashType !== "sha256") {
    throw new ConfigError(
      "CONFLICTING_OPTIONS",
      "An OCI manifest is signed with its layer digests (files, sha256); drop --shard-size " +
        "and --hash-type",
    );
  }
}

/** Loads the manifest and builds the statement of its layers (Go's format). */
async function buildOciStatement(
  config: OciStatementOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ statement: ModelStatement; source: OciSource }> {
  const source = await loadOciSource(config.modelPath, config.registry, env);
  const entries = layerEntries(source.manifest, config.ignorePathsAsGiven ?? []);
  return {
    source,
    statement: {
      payload: buildStatement(source.modelName, entries, OCI_SERIALIZATION),
      rootDigest: `sha256:${computeRootDigest(entries)}`,
      files: entries.length,
      resources: entries.length,
      warnings: [],
    },
  };
}

/**
 * Pushes the signature already written to `signaturePath` as a referrer. When the push fails,
 * the error (same class and exit code) also says that the signature file was kept: it is a
 * valid signature, and `verify --signature` accepts it as it is.
 */
async function attach(
  source: RegistrySource,
  bundle: string,
  signaturePath: string,
): Promise<string> {
  const { attachSignature } = await import("./referrers.ts");
  try {
    return await attachSignature(source, new TextEncoder().encode(bundle));
  } catch (error) {
    if (error instanceof ModelVerifyError) {
      error.message += ` (the signature was written to '${escapeName(signaturePath)}' but not ` +
        "attached: verify with --signature, or sign again with --attach)";
    }
    throw error;
  }
}
