/**
 * Sigstore keyless verification of a model signature: a bundle whose DSSE envelope is signed
 * with a short-lived Fulcio certificate and logged in Rekor.
 *
 * Steps, in order (the crypto by `@sigstore/verify`, the policy here):
 * 1. at least one source of verified time exists (a Rekor v1 inclusion promise or an RFC 3161
 *    timestamp; a Rekor v2 entry alone gives none);
 * 2. every timestamp verifies (SETs against the trusted root's logs, RFC 3161 against its TSAs);
 * 3. the certificate chains to a trusted Fulcio CA, every certificate in the path valid at each
 *    verified time, with a valid SCT from a trusted CT log;
 * 4. every tlog entry verifies (SET and/or checkpoint + Merkle inclusion proof) and its body
 *    matches this bundle's signature and payload;
 * 5. the DSSE signature verifies with the certificate's key;
 * 6. the certificate's SAN and OIDC issuer equal the expected ones exactly (`policy.ts`).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type Bundle, bundleFromJSON } from "@sigstore/bundle";
import type { X509Certificate } from "@sigstore/core";
import {
  type SignedEntity,
  toSignedEntity,
  type TrustMaterial,
  VerificationError,
  Verifier,
} from "@sigstore/verify";
import type { ParsedBundle } from "../bundle/types.ts";
import { ConfigError, InputError, SignatureError } from "../errors.ts";
import { loadTrustedRoot, type TrustOptions } from "../trust/trusted_root.ts";
import type { TufRepository } from "../trust/tuf.ts";
import { installDenoCryptoFix } from "./deno_crypto.ts";
import { MessageDigestContent } from "./message_digest.ts";
import { checkIdentityPolicy } from "./policy.ts";
import type { VerifiedSignature } from "./types.ts";

/** What the core passes for `verify sigstore`: the policy, and where the trusted root comes from. */
export interface SigstoreOptions extends Omit<TrustOptions, "tufRepository"> {
  /** Expected identity: SAN email, SAN URI or Fulcio username, exact match. */
  identity: string;
  /** Expected OIDC issuer, exact match. */
  identityProvider: string;
}

/** Test seams; production code passes none. */
export interface SigstoreDeps {
  /** Replaces the production or staging TUF repository. */
  tufRepository?: TufRepository;
}

/** What the Sigstore checks established. */
export interface SigstoreCheckResult {
  /** The signing certificate, when the bundle has one. */
  certificate?: X509Certificate;
  /** Verified signing times, oldest first. */
  timestamps: Date[];
}

/**
 * Verifies a Sigstore bundle against the chosen trusted root and the identity policy.
 *
 * @param bundle the bundle as parsed by the core
 * @param options policy and trust root choices
 * @param deps test seams
 * @returns the verified DSSE payload and who signed it
 * @throws {ConfigError} empty identity or issuer; `--offline` with `--use_staging`
 * @throws {TrustMaterialError} the trusted root cannot be read or fetched
 * @throws {InputError} the bundle is not a keyless DSSE bundle or is malformed
 * @throws {SignatureError} a cryptographic check failed (`SIGSTORE_*`, `NO_VERIFIED_TIMESTAMP`)
 * @throws {PolicyError} `IDENTITY_MISMATCH` or `ISSUER_MISMATCH`
 */
export async function verifyWithSigstore(
  bundle: ParsedBundle,
  options: SigstoreOptions,
  deps: SigstoreDeps = {},
): Promise<VerifiedSignature> {
  installDenoCryptoFix();
  if (options.identity === "" || options.identityProvider === "") {
    throw new ConfigError(
      options.identity === "" ? "IDENTITY_REQUIRED" : "ISSUER_REQUIRED",
      "Sigstore verification needs a non-empty --identity and --identity-provider",
    );
  }
  if (bundle.material.kind === "publicKey") {
    throw new InputError(
      "SIGSTORE_BUNDLE_WITHOUT_CERTIFICATE",
      `Signature '${bundle.source}' is signed with a public key, not a Sigstore certificate; ` +
        "verify it with 'verify key'",
    );
  }
  const sigstoreBundle = parseSigstoreBundle(bundle.raw, bundle.source);
  if (sigstoreBundle.content.$case !== "dsseEnvelope") {
    throw new InputError(
      "SIGSTORE_BUNDLE_NOT_DSSE",
      `Signature '${bundle.source}' holds a message signature, not a DSSE envelope`,
    );
  }
  const trust = await loadTrustedRoot({
    ...options,
    ...(deps.tufRepository ? { tufRepository: deps.tufRepository } : {}),
  });
  const checked = verifySigstoreBundle(sigstoreBundle, trust.trustMaterial, {
    source: bundle.source,
  });
  if (!checked.certificate) {
    throw new InputError(
      "SIGSTORE_BUNDLE_WITHOUT_CERTIFICATE",
      `Signature '${bundle.source}' has no signing certificate`,
    );
  }
  const matched = checkIdentityPolicy(checked.certificate, {
    identity: options.identity,
    issuer: options.identityProvider,
  });
  const envelope = sigstoreBundle.content.dsseEnvelope;
  return {
    payloadType: envelope.payloadType,
    payload: new Uint8Array(envelope.payload),
    signer: {
      method: "sigstore",
      description: `${matched.identity} (issuer ${matched.issuer}; trusted root: ` +
        `${trust.description})`,
      identity: matched.identity,
      issuer: matched.issuer,
      timestamps: checked.timestamps,
    },
    warnings: [],
  };
}

/**
 * Reads a bundle JSON object with `@sigstore/bundle`.
 *
 * @throws {InputError} `SIGSTORE_BUNDLE_INVALID`, listing the invalid fields
 */
export function parseSigstoreBundle(raw: unknown, source: string): Bundle {
  try {
    return bundleFromJSON(raw);
  } catch (error) {
    const fields = (error as { fields?: unknown }).fields;
    const detail = Array.isArray(fields) && fields.length > 0
      ? `invalid fields: ${fields.join(", ")}`
      : messageOf(error);
    throw new InputError(
      "SIGSTORE_BUNDLE_INVALID",
      `Signature '${source}' is not a valid Sigstore bundle (${detail})`,
      { cause: error },
    );
  }
}

/** Options of {@link verifySigstoreBundle}. */
export interface VerifyBundleOptions {
  /** Named in errors. */
  source: string;
  /** The signed artifact, for message-signature bundles. */
  artifact?: Uint8Array;
  /** Or only its SHA-256 digest (conformance `sha256:HEX`), for message-signature bundles. */
  artifactDigest?: Uint8Array;
}

/**
 * Runs every cryptographic check of `@sigstore/verify` on a bundle, with no identity policy.
 *
 * @throws {SignatureError} `NO_VERIFIED_TIMESTAMP` or `SIGSTORE_<library code>`
 * @throws {InputError} `SIGSTORE_BUNDLE_MALFORMED` when the library cannot read a part of it
 */
export function verifySigstoreBundle(
  bundle: Bundle,
  trustMaterial: TrustMaterial,
  options: VerifyBundleOptions,
): SigstoreCheckResult {
  installDenoCryptoFix();
  requireTimeSource(bundle, options.source);
  let entity: SignedEntity;
  try {
    const content = bundle.content;
    if (options.artifactDigest && content.$case === "messageSignature") {
      entity = toSignedEntity(bundle, Buffer.alloc(0));
      entity.signature = new MessageDigestContent(
        content.messageSignature.signature,
        content.messageSignature.messageDigest?.digest ?? Buffer.alloc(0),
        options.artifactDigest,
      );
    } else {
      entity = toSignedEntity(
        bundle,
        options.artifact ? Buffer.from(options.artifact) : undefined,
      );
    }
  } catch (error) {
    throw malformed(options.source, error);
  }
  try {
    new Verifier(trustMaterial, { tlogThreshold: 1, ctlogThreshold: 1, timestampThreshold: 1 })
      .verify(entity);
  } catch (error) {
    if (error instanceof VerificationError) {
      throw new SignatureError(
        `SIGSTORE_${error.code}`,
        `Sigstore verification of '${options.source}' failed: ${explain(error.code)} ` +
          `(${describeError(error)})`,
        { cause: error },
      );
    }
    throw malformed(options.source, error);
  }
  const result: SigstoreCheckResult = { timestamps: verifiedTimes(entity) };
  if (entity.key.$case === "certificate") result.certificate = entity.key.certificate;
  return result;
}

/**
 * Fails unless the bundle has a source of verified time: a tlog entry with an inclusion promise
 * (Rekor v1 SET) or an RFC 3161 timestamp. Rekor v2 entries carry no signed time.
 */
function requireTimeSource(bundle: Bundle, source: string): void {
  const { tlogEntries, timestampVerificationData } = bundle.verificationMaterial;
  const hasPromise = (entry: Bundle["verificationMaterial"]["tlogEntries"][number]) =>
    entry.inclusionPromise !== undefined && entry.integratedTime !== "0" &&
    entry.integratedTime !== "";
  const promises = tlogEntries.filter(hasPromise).length;
  const rfc3161 = timestampVerificationData?.rfc3161Timestamps.length ?? 0;
  if (promises + rfc3161 === 0) {
    throw new SignatureError(
      "NO_VERIFIED_TIMESTAMP",
      `Signature '${source}' has no verifiable signing time: no transparency log entry with an ` +
        "inclusion promise (Rekor v1 SET) and no RFC 3161 timestamp (Rekor v2 entries need a " +
        "timestamp authority), so the certificate cannot be checked at signing time",
    );
  }
}

function verifiedTimes(entity: SignedEntity): Date[] {
  const times: Date[] = [];
  for (const timestamp of entity.timestamps) {
    if (timestamp.$case === "timestamp-authority") {
      times.push(timestamp.timestamp.signingTime);
    } else if (timestamp.tlogEntry.inclusionPromise) {
      times.push(new Date(Number(timestamp.tlogEntry.integratedTime) * 1000));
    }
  }
  return times.sort((a, b) => a.getTime() - b.getTime());
}

const EXPLANATIONS: Record<string, string> = {
  CERTIFICATE_ERROR:
    "the signing certificate is not trusted at the verified signing time (chain to a trusted " +
    "Fulcio CA, validity period or SCT)",
  PUBLIC_KEY_ERROR: "the signing key is not trusted",
  SIGNATURE_ERROR: "the signature does not verify with the signing key",
  TIMESTAMP_ERROR: "a signing timestamp does not verify against the trusted timestamp authorities",
  TLOG_ERROR: "the transparency log entries are insufficient",
  TLOG_BODY_ERROR: "the transparency log entry does not match this signature",
  TLOG_INCLUSION_PROMISE_ERROR: "the transparency log's inclusion promise (SET) does not verify",
  TLOG_INCLUSION_PROOF_ERROR: "the transparency log inclusion proof or checkpoint does not verify",
  TLOG_MISSING_INCLUSION_ERROR: "a transparency log entry has no inclusion promise or proof",
};

function explain(code: string): string {
  return EXPLANATIONS[code] ?? "a check failed";
}

function malformed(source: string, error: unknown): InputError {
  return new InputError(
    "SIGSTORE_BUNDLE_MALFORMED",
    `Signature '${source}' cannot be read as a Sigstore bundle (${messageOf(error)})`,
    { cause: error },
  );
}

function describeError(error: Error): string {
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
