/**
 * `sign key|certificate MANIFEST.json` and `sign ... oci://...`: signs the layers of an OCI image
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
import { ConfigError } from "../errors.ts";
import { computeRootDigest, type Serialization } from "../manifest/manifest.ts";
import { loadSigner, type SignResult } from "../sign/sign_model.ts";
import { layerEntries } from "./layer_entries.ts";
import { loadOciSource } from "./oci_source.ts";

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

/**
 * Signs an OCI image manifest.
 *
 * @throws {ConfigError} when no `--signature` was given for a manifest file
 */
export async function signOci(
  config: SignConfig,
  env: Readonly<Record<string, string | undefined>>,
): Promise<OciSignResult> {
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
  const signer = await loadSigner(config);
  const source = await loadOciSource(config.modelPath, config.registry, env);
  const entries = layerEntries(source.manifest, config.ignorePathsAsGiven ?? []);
  const payload = buildStatement(source.modelName, entries, OCI_SERIALIZATION);
  const bundle = await signer.bundle(payload);
  await Deno.writeTextFile(config.signaturePath, bundle);
  const result: OciSignResult = {
    signaturePath: config.signaturePath,
    rootDigest: `sha256:${computeRootDigest(entries)}`,
    files: entries.length,
    resources: entries.length,
    warnings: [],
  };
  if (config.registry?.attach && source.registry) {
    const { attachSignature } = await import("./referrers.ts");
    result.referrer = await attachSignature(source.registry, new TextEncoder().encode(bundle));
  }
  return result;
}
