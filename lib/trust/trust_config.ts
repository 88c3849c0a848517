/**
 * Reads a trust configuration file: a Sigstore `ClientTrustConfig` (what `model_signing
 * --trust_config` takes) or a bare `trusted_root.json`, and turns it into verification material.
 *
 * @module
 */

import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toTrustMaterial, type TrustMaterial } from "@sigstore/verify";
import { TrustMaterialError } from "../errors.ts";

/** Media type of a ClientTrustConfig (trusted root + signing config). */
export const CLIENT_TRUST_CONFIG_MEDIA_TYPE =
  "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json";
/** Media types of a bare TrustedRoot document. */
export const TRUSTED_ROOT_MEDIA_TYPES = [
  "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "application/vnd.dev.sigstore.trustedroot.v0.1+json",
  "application/vnd.dev.sigstore.trustedroot.v0.2+json",
] as const;

/** A trusted root, checked and converted for `@sigstore/verify`. */
export interface CheckedTrustedRoot {
  trustedRoot: TrustedRoot;
  trustMaterial: TrustMaterial;
}

/**
 * Parses the text of a ClientTrustConfig or a bare trusted root.
 *
 * @param text the file's content
 * @param source where it came from, named in errors (a path or a description)
 * @throws {TrustMaterialError} `TRUST_CONFIG_INVALID` when it is not one of the two formats or its
 *   trusted root is unusable
 */
export function parseTrustConfig(text: string, source: string): CheckedTrustedRoot {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(source, `not valid JSON (${messageOf(error)})`, error);
  }
  if (!isObject(json)) throw invalid(source, "expected a JSON object");
  const mediaType = json.mediaType;
  if (mediaType === CLIENT_TRUST_CONFIG_MEDIA_TYPE) {
    if (!isObject(json.trustedRoot)) {
      throw invalid(source, "the ClientTrustConfig has no trustedRoot object");
    }
    const where = `${source} (trustedRoot)`;
    return checkTrustedRoot(trustedRootFromJSON(json.trustedRoot, where), where);
  }
  if (typeof mediaType === "string" && isTrustedRootMediaType(mediaType)) {
    return checkTrustedRoot(trustedRootFromJSON(json, source), source);
  }
  throw invalid(
    source,
    `unknown mediaType ${JSON.stringify(mediaType ?? null)}; expected ` +
      `'${CLIENT_TRUST_CONFIG_MEDIA_TYPE}' or a trusted root ('${TRUSTED_ROOT_MEDIA_TYPES[0]}')`,
  );
}

/**
 * Converts a trusted root JSON object (media type checked when present).
 *
 * @throws {TrustMaterialError} `TRUST_CONFIG_INVALID`
 */
export function trustedRootFromJSON(json: Record<string, unknown>, source: string): TrustedRoot {
  const mediaType = json.mediaType;
  if (
    mediaType !== undefined && (typeof mediaType !== "string" || !isTrustedRootMediaType(mediaType))
  ) {
    throw invalid(source, `trustedRoot has unknown mediaType ${JSON.stringify(mediaType)}`);
  }
  try {
    return TrustedRoot.fromJSON(json);
  } catch (error) {
    throw invalid(source, `the trusted root cannot be read (${messageOf(error)})`, error);
  }
}

/**
 * Checks that a trusted root can verify keyless signatures (at least one certificate authority
 * and one transparency log, all keys and certificates parsable) and converts it for
 * `@sigstore/verify`.
 *
 * @throws {TrustMaterialError} `TRUST_CONFIG_INVALID`
 */
export function checkTrustedRoot(trustedRoot: TrustedRoot, source: string): CheckedTrustedRoot {
  const problems: string[] = [];
  if (trustedRoot.certificateAuthorities.length === 0) problems.push("no certificateAuthorities");
  if (trustedRoot.tlogs.length === 0) problems.push("no tlogs");
  // A missing validity start must not read as "valid since the beginning of time".
  trustedRoot.certificateAuthorities.forEach((ca, i) => {
    if (!ca.certChain || ca.certChain.certificates.length === 0) {
      problems.push(`certificateAuthorities[${i}] has no certificates`);
    }
    if (!ca.validFor?.start) problems.push(`certificateAuthorities[${i}] has no validFor.start`);
  });
  [["tlogs", trustedRoot.tlogs], ["ctlogs", trustedRoot.ctlogs]].forEach(([name, logs]) => {
    (logs as TrustedRoot["tlogs"]).forEach((log, i) => {
      if (!log.publicKey?.rawBytes || log.publicKey.rawBytes.length === 0) {
        problems.push(`${name}[${i}] has no publicKey`);
      }
      if (!log.logId?.keyId || log.logId.keyId.length === 0) {
        problems.push(`${name}[${i}] has no logId`);
      }
      if (!log.publicKey?.validFor?.start) {
        problems.push(`${name}[${i}] has no publicKey.validFor.start`);
      }
    });
  });
  trustedRoot.timestampAuthorities.forEach((tsa, i) => {
    if (!tsa.certChain || tsa.certChain.certificates.length === 0) {
      problems.push(`timestampAuthorities[${i}] has no certificates`);
    }
    if (!tsa.validFor?.start) problems.push(`timestampAuthorities[${i}] has no validFor.start`);
  });
  if (problems.length > 0) throw invalid(source, problems.join("; "));
  let trustMaterial: TrustMaterial;
  try {
    trustMaterial = toTrustMaterial(trustedRoot);
  } catch (error) {
    throw invalid(
      source,
      `a certificate or key in the trusted root cannot be parsed (${messageOf(error)})`,
      error,
    );
  }
  return { trustedRoot, trustMaterial };
}

function isTrustedRootMediaType(mediaType: string): boolean {
  return (TRUSTED_ROOT_MEDIA_TYPES as readonly string[]).includes(mediaType);
}

function invalid(source: string, reason: string, cause?: unknown): TrustMaterialError {
  return new TrustMaterialError(
    "TRUST_CONFIG_INVALID",
    `Cannot use trust configuration '${source}': ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
