/**
 * RFC 3161 timestamps on key and certificate signatures (written by `sign key|certificate
 * --tsa-url`, ours or the Go implementation's): each timestamp in
 * `verificationMaterial.timestampVerificationData` must be a granted timestamp over the DSSE
 * signature bytes, signed by a trusted timestamp authority whose chain is valid at the
 * timestamp's time. The authorities come from `--tsa_certificate_chain` PEM files (the TSA's
 * signing certificate first, then its issuers) or from the `timestampAuthorities` of a
 * `--trust_config` trusted root.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { RFC3161Timestamp, X509Certificate } from "@sigstore/core";
import type { TrustMaterial } from "@sigstore/verify";
import { verifyRFC3161Timestamp } from "@sigstore/verify/dist/timestamp/tsa.js";
import type { ParsedBundle } from "../bundle/types.ts";
import { InputError, SignatureError, TrustMaterialError } from "../errors.ts";
import { installDenoCryptoFix } from "./deno_crypto.ts";

/** A timestamp authority as `@sigstore/verify` takes it. */
export type TimestampAuthority = TrustMaterial["timestampAuthorities"][number];
/** Most timestamps read from one bundle. */
export const MAX_TIMESTAMPS = 16;

/**
 * Reads a PEM file of a TSA's chain: its signing certificate first, then the issuers up to the
 * root.
 *
 * @throws {TrustMaterialError} `TSA_CHAIN_INVALID`
 */
export function loadTsaChain(pem: string, source: string): TimestampAuthority {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) {
    throw new TrustMaterialError(
      "TSA_CHAIN_INVALID",
      `Cannot use TSA certificate chain '${source}' (--tsa_certificate_chain): no PEM certificate`,
    );
  }
  try {
    const certChain = blocks.map((block) => X509Certificate.parse(block));
    return {
      certChain,
      validFor: { start: new Date(0), end: new Date(8640000000000000) },
    };
  } catch (error) {
    throw new TrustMaterialError(
      "TSA_CHAIN_INVALID",
      `Cannot use TSA certificate chain '${source}' (--tsa_certificate_chain): ${
        error instanceof Error ? error.message : error
      }`,
      { cause: error },
    );
  }
}

/** The base64 `signedTimestamp`s of a bundle (at most {@link MAX_TIMESTAMPS}). */
export function bundleTimestamps(bundle: ParsedBundle): string[] {
  const material = bundle.raw.verificationMaterial as Record<string, unknown> | undefined;
  const data = material?.timestampVerificationData as Record<string, unknown> | undefined;
  const list = data?.rfc3161Timestamps;
  if (list === undefined) return [];
  if (!Array.isArray(list) || list.length > MAX_TIMESTAMPS) {
    throw new InputError(
      "TIMESTAMP_MALFORMED",
      `Signature '${bundle.source}' has a malformed rfc3161Timestamps list (at most ` +
        `${MAX_TIMESTAMPS} entries)`,
    );
  }
  return list.map((entry, i) => {
    const value = (entry as Record<string, unknown> | null)?.signedTimestamp;
    if (typeof value !== "string" || !/^[A-Za-z0-9+/]+={0,2}$/.test(value)) {
      throw new InputError(
        "TIMESTAMP_MALFORMED",
        `Signature '${bundle.source}': rfc3161Timestamps[${i}].signedTimestamp is not base64`,
      );
    }
    return value;
  });
}

/**
 * Verifies every RFC 3161 timestamp of a key or certificate bundle against the given TSAs.
 *
 * @returns the verified times, oldest first (at least one)
 * @throws {SignatureError} `NO_TIMESTAMP` when the bundle has none, `TIMESTAMP_INVALID` when one
 *   does not verify
 */
export function verifyRfc3161Timestamps(
  bundle: ParsedBundle,
  authorities: readonly TimestampAuthority[],
  trustSource: string,
): Date[] {
  installDenoCryptoFix();
  const encoded = bundleTimestamps(bundle);
  if (encoded.length === 0) {
    throw new SignatureError(
      "NO_TIMESTAMP",
      `Signature '${bundle.source}' has no RFC 3161 timestamp, but timestamp authorities were ` +
        `given (${trustSource}); sign with --tsa_url, or verify without TSA trust`,
    );
  }
  const signature = Buffer.from(bundle.envelope.signatures[0]?.sig ?? new Uint8Array());
  const times: Date[] = [];
  encoded.forEach((value, i) => {
    try {
      const timestamp = RFC3161Timestamp.parse(
        Buffer.from(value, "base64") as Buffer<ArrayBuffer>,
      );
      verifyRFC3161Timestamp(timestamp, signature, [...authorities]);
      times.push(timestamp.signingTime);
    } catch (error) {
      throw new SignatureError(
        "TIMESTAMP_INVALID",
        `RFC 3161 timestamp ${i} of '${bundle.source}' does not verify against the timestamp ` +
          `authorities of ${trustSource}: ${describe(error)}`,
        { cause: error },
      );
    }
  });
  return times.sort((a, b) => a.getTime() - b.getTime());
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
  return `${error.message}${cause}`;
}
