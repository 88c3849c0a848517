/**
 * `sign [sigstore]`: keyless signing of a model, a replacement for `model_signing sign sigstore`.
 *
 * Steps, in order; nothing is written unless all succeed:
 * 1. the Sigstore instance: signing config + trusted root (`lib/trust/signing_config.ts`);
 * 2. the identity token (`token_sources.ts`), checked for shape, expiry and audience;
 * 3. the model's in-toto statement, exactly the payload `sign key` signs (`sign_model.ts`);
 * 4. with `@sigstore/sign`: an ephemeral P-256 key, a Fulcio certificate for the token's identity
 *    (proof of possession), a DSSE signature over the statement, the Rekor entry (v1 or v2)
 *    and/or RFC 3161 timestamps the signing config asks for; a bundle v0.3 with `certificate`;
 * 5. the bundle verified by our own Sigstore verifier against the same trusted root, and its
 *    certificate's identity and issuer checked against the token;
 * 6. the signature written atomically (`sigstore_write.ts`).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { bundleToJSON } from "@sigstore/bundle";
import {
  DSSEBundleBuilder,
  FulcioSigner,
  RekorWitness,
  type Signer,
  TSAWitness,
  type Witness,
} from "@sigstore/sign";
import type { Service } from "@sigstore/protobuf-specs";
import { escapeName, quoteValue } from "../_escape.ts";
import { IN_TOTO_PAYLOAD_TYPE } from "../bundle/dsse.ts";
import type { SigstoreSignConfig } from "../config/resolve_config.ts";
import { loadSigningInstance, type SigningInstance } from "../trust/signing_config.ts";
import type { TufRepository } from "../trust/tuf.ts";
import { installDenoCryptoFix } from "../verify/deno_crypto.ts";
import { checkIdentityPolicy, readCertificateIdentity } from "../verify/policy.ts";
import { parseSigstoreBundle, verifySigstoreBundle } from "../verify/sigstore.ts";
import { expectedIdentity, type IdentityToken } from "./identity_token.ts";
import {
  buildModelStatement,
  type HashingHooks,
  type ModelStatement,
  type SignResult,
} from "./sign_model.ts";
import { SigningError } from "./signing_error.ts";
import { checkModelPaths } from "../check_paths.ts";
import { checkSignatureTarget, writeSignature } from "./write_signature.ts";
import {
  checkTokenSource,
  obtainIdentityToken,
  type TokenDeps,
  type TokenRequest,
} from "./token_sources.ts";

/** Per-request timeout for Fulcio, Rekor v1 and the TSA, in milliseconds. */
export const SERVICE_TIMEOUT_MS = 10_000;
/** Per-request timeout for Rekor v2, which answers only once the entry is in a checkpoint. */
export const REKOR_V2_TIMEOUT_MS = 20_000;
/** Retries after the first attempt, for network errors, 408, 429 and 5xx. */
export const SERVICE_RETRIES = 2;

/** What `sign sigstore` did. */
export interface SigstoreSignResult extends SignResult {
  /** The certificate's identity (SAN): the `--identity` for `verify sigstore`. */
  identity: string;
  /** The certificate's OIDC issuer: the `--identity_provider` for `verify sigstore`. */
  issuer: string;
  /** Which Sigstore signed (for the report). */
  instance: string;
  /** Services used, as `name url` lines. */
  services: string[];
}

/** The process around signing; tests and the CLI pass what fits. */
export interface SigstoreSignDeps extends Partial<Omit<TokenDeps, "interactive">> {
  /**
   * The browser sign-in, given the signing config's OIDC issuer (undefined when it names none);
   * called only on a terminal and when no other token source applies.
   */
  signIn?: (issuer: string | undefined) => Promise<string>;
  env?: Readonly<Record<string, string | undefined>>;
  /** Replaces the production or staging TUF repository. */
  tufRepository?: TufRepository;
  /** Retries per service request (tests use 0). */
  retries?: number;
  /** Per-request timeout in milliseconds. */
  timeoutMs?: number;
  /** Called once the identity token is known (for "signing as ..." progress lines). */
  onToken?: (token: IdentityToken) => void;
  /** Hashing progress (lib/report/progress.ts `progressHooks`). */
  hashing?: HashingHooks;
  /**
   * Builds the statement to sign in place of hashing `config.modelPath` (an OCI image manifest,
   * `lib/oci/sign_oci.ts`); runs where the model would be hashed and checks its own inputs.
   */
  statement?: () => Promise<ModelStatement>;
  /** Called with the bundle text once it is written (`--attach` pushes it to the registry). */
  onSigned?: (bundle: string) => Promise<void>;
}

/**
 * Signs the model keylessly and writes the bundle.
 *
 * @throws {ConfigError} no identity token source
 * @throws {TrustMaterialError} unusable trust configuration or signing config
 * @throws {SigningError} token rejected, a service failed, or the new bundle does not verify
 */
export async function signModelWithSigstore(
  config: SigstoreSignConfig,
  deps: SigstoreSignDeps = {},
): Promise<SigstoreSignResult> {
  installDenoCryptoFix();
  const env = deps.env ?? {};
  const instance = await loadSigningInstance({
    useStaging: config.useStaging,
    ...(config.trustConfigPath !== undefined ? { trustConfigPath: config.trustConfigPath } : {}),
    ...(config.tufCacheDir !== undefined ? { tufCacheDir: config.tufCacheDir } : {}),
    env: { ...env },
    ...(deps.tufRepository ? { tufRepository: deps.tufRepository } : {}),
  });
  const tokenRequest: TokenRequest = {
    ...(config.identityToken !== undefined ? { identityToken: config.identityToken } : {}),
    ...(config.identityTokenPath !== undefined
      ? { identityTokenPath: config.identityTokenPath }
      : {}),
    useAmbientCredentials: config.useAmbientCredentials,
    clientId: config.clientId,
    env,
  };
  const tokenDeps: TokenDeps = {
    isInteractive: deps.isInteractive ?? false,
    ...(deps.signIn ? { interactive: () => deps.signIn!(instance.services.oidc?.url) } : {}),
    ...(deps.kubernetesTokenPath ? { kubernetesTokenPath: deps.kubernetesTokenPath } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  };
  // Usage errors and bad explicit tokens before hashing; the token itself after it, fresh.
  await checkTokenSource(tokenRequest, tokenDeps);
  const statement = deps.statement
    ? await deps.statement()
    : await hashModel(config, deps.hashing ?? {});
  const token = await obtainIdentityToken(tokenRequest, tokenDeps);
  deps.onToken?.(token);
  const bundleJson = await createBundle(statement.payload, token, instance, deps);
  const checked = checkNewBundle(bundleJson, token, instance);
  const bundle = JSON.stringify(bundleJson, null, 2) + "\n";
  await writeSignature(config.signaturePath, bundle);
  await deps.onSigned?.(bundle);
  return {
    signaturePath: config.signaturePath,
    rootDigest: statement.rootDigest,
    files: statement.files,
    resources: statement.resources,
    warnings: statement.warnings,
    identity: checked.identity,
    issuer: checked.issuer,
    instance: instance.description,
    services: describeServices(instance),
  };
}

/** The model folder or file, checked and hashed into the statement `sign key` signs too. */
async function hashModel(
  config: SigstoreSignConfig,
  hashing: HashingHooks,
): Promise<ModelStatement> {
  await checkModelPaths(config, true);
  await checkSignatureTarget(config.signaturePath);
  return await buildModelStatement(config, hashing);
}

/** The lines `sign sigstore` prints after the common success lines. */
export function formatSigstoreSignDetails(result: SigstoreSignResult, verifyHint: string): string {
  return `  identity:    ${escapeName(result.identity)}\n` +
    `  issuer:      ${escapeName(result.issuer)}\n` +
    `  sigstore:    ${result.instance}\n` +
    `Verify with:\n  ${verifyHint}`;
}

/** Runs Fulcio, Rekor and the TSA through `@sigstore/sign`; returns the bundle JSON. */
async function createBundle(
  payload: Uint8Array,
  token: IdentityToken,
  instance: SigningInstance,
  deps: SigstoreSignDeps,
): Promise<Record<string, unknown>> {
  const retry = { retries: deps.retries ?? SERVICE_RETRIES, factor: 2, minTimeout: 500 };
  const timeout = deps.timeoutMs ?? SERVICE_TIMEOUT_MS;
  const { ca, tlogs, tsas } = instance.services;
  const signer = named(
    new FulcioSigner({
      fulcioBaseURL: trimSlash(ca.url),
      identityProvider: { getToken: () => Promise.resolve(token.raw) },
      timeout,
      retry,
    }),
    "Fulcio",
    ca.url,
    token.raw,
  );
  const witnesses: Witness[] = [
    ...tlogs.map((log) =>
      witness(
        new RekorWitness({
          rekorBaseURL: trimSlash(log.url),
          majorApiVersion: log.majorApiVersion,
          entryType: "dsse",
          timeout: log.majorApiVersion >= 2 ? Math.max(timeout, REKOR_V2_TIMEOUT_MS) : timeout,
          retry,
        }),
        `Rekor v${log.majorApiVersion}`,
        log.url,
      )
    ),
    ...tsas.map((tsa) =>
      witness(
        new TSAWitness({ tsaBaseURL: trimSlash(tsa.url), timeout, retry }),
        "the timestamp authority",
        tsa.url,
      )
    ),
  ];
  const builder = new DSSEBundleBuilder({ signer, witnesses });
  const bundle = await builder.create({ data: Buffer.from(payload), type: IN_TOTO_PAYLOAD_TYPE });
  const json = bundleToJSON(bundle) as unknown as Record<string, unknown>;
  // Without a TSA, no empty `timestampVerificationData` (model_signing writes none either).
  const material = json.verificationMaterial as Record<string, unknown>;
  const timestamps = material.timestampVerificationData as { rfc3161Timestamps?: unknown[] };
  if ((timestamps?.rfc3161Timestamps?.length ?? 0) === 0) delete material.timestampVerificationData;
  // Protobuf JSON leaves out zero values; sigstore-python (model_signing) requires an inclusion
  // proof's `logIndex` and `hashes` even when they are "0" and [] (the first entry of a log).
  for (const entry of (material.tlogEntries ?? []) as Record<string, unknown>[]) {
    const proof = entry.inclusionProof as Record<string, unknown> | undefined;
    if (proof) {
      proof.logIndex ??= "0";
      proof.hashes ??= [];
      entry.inclusionProof = {
        logIndex: proof.logIndex,
        rootHash: proof.rootHash,
        treeSize: proof.treeSize,
        hashes: proof.hashes,
        checkpoint: proof.checkpoint,
      };
    }
    entry.logIndex ??= "0";
  }
  return json;
}

/**
 * Verifies the new bundle with the verifier `verify sigstore` uses, against the same trusted
 * root, and checks that Fulcio certified the token's identity and issuer.
 *
 * @throws {SigningError} `SIGSTORE_SELF_CHECK_FAILED` or `CERTIFICATE_IDENTITY_UNEXPECTED`
 */
function checkNewBundle(
  json: Record<string, unknown>,
  token: IdentityToken,
  instance: SigningInstance,
): { identity: string; issuer: string } {
  let certificate;
  try {
    const bundle = parseSigstoreBundle(json, "the new signature");
    certificate = verifySigstoreBundle(bundle, instance.trusted.trustMaterial, {
      source: "the new signature",
    }).certificate;
  } catch (error) {
    throw new SigningError(
      "SIGSTORE_SELF_CHECK_FAILED",
      `The signature made with ${instance.description} does not verify against its own trusted ` +
        `root, so it was not written: ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
  if (!certificate) {
    throw new SigningError("SIGSTORE_SELF_CHECK_FAILED", "The new signature has no certificate");
  }
  const actual = readCertificateIdentity(certificate);
  const expected = expectedIdentity(token);
  const identity = expected.identity ?? actual.sans[0]?.value;
  try {
    if (identity === undefined) throw new Error("it has no identity");
    return checkIdentityPolicy(certificate, { identity, issuer: expected.issuer });
  } catch (error) {
    throw new SigningError(
      "CERTIFICATE_IDENTITY_UNEXPECTED",
      `Fulcio at ${instance.services.ca.url} certified another identity than the token ` +
        `(${token.source}: issuer ${quoteValue(token.issuer)}, subject ` +
        `${quoteValue(token.subject)}), so the signature was not written: ` +
        `${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
}

/**
 * Wraps the Fulcio signer so that its failures name the service and URL, and never repeat the
 * token (`@sigstore/sign` quotes it in some messages).
 */
function named(signer: Signer, name: string, url: string, secret: string): Signer {
  return {
    sign: async (data) => {
      try {
        return await signer.sign(data);
      } catch (error) {
        const failure = serviceError(name, url, error);
        if (!failure.message.includes(secret)) throw failure;
        throw new SigningError(
          failure.code,
          failure.message.replaceAll(secret, "<identity token>"),
          { cause: error },
        );
      }
    },
  };
}

/** Wraps a witness so that its failures name the service and URL. */
function witness(inner: Witness, name: string, url: string): Witness {
  return {
    testify: async (content, publicKey) => {
      try {
        return await inner.testify(content, publicKey);
      } catch (error) {
        throw serviceError(name, url, error);
      }
    },
  };
}

function serviceError(name: string, url: string, error: unknown): SigningError {
  if (error instanceof SigningError) return error;
  return new SigningError(
    "SIGNING_SERVICE_FAILED",
    `${name} at ${url} failed: ${describe(error)}`,
    { cause: error },
  );
}

function describeServices(instance: SigningInstance): string[] {
  const { ca, tlogs, tsas } = instance.services;
  return [
    `Fulcio ${ca.url}`,
    ...tlogs.map((s: Service) => `Rekor v${s.majorApiVersion} ${s.url}`),
    ...tsas.map((s: Service) => `TSA ${s.url}`),
  ];
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, "");
}

/** The error's message and its causes', cut to one line. */
function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    const text = current instanceof Error ? current.message : String(current);
    if (!parts.some((p) => p.includes(text))) parts.push(text);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ").replace(/\s+/g, " ").slice(0, 500);
}
