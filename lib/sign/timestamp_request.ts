/**
 * Asks an RFC 3161 timestamp authority to countersign a signature, as the Go model-signing
 * implementation does for `sign key|certificate --tsa-url`: a DER `TimeStampReq` over the
 * SHA-256 of the DSSE signature bytes (with a nonce and `certReq`), sent as
 * `application/timestamp-query`. The DER `TimeStampResp` goes into the bundle's
 * `verificationMaterial.timestampVerificationData.rfc3161Timestamps[].signedTimestamp`.
 *
 * @module
 */

import { concatBytes } from "../_concat_bytes.ts";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { RFC3161Timestamp } from "@sigstore/core";
import { SigningError } from "./signing_error.ts";

/** Per-request timeout, in milliseconds. */
export const TSA_TIMEOUT_MS = 10_000;
/** Retries after the first attempt, for network errors, 408, 429 and 5xx. */
export const TSA_RETRIES = 2;
/** Largest accepted answer, in bytes. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** Options of {@link requestTimestamp}. */
export interface TimestampRequestOptions {
  retries?: number;
  timeoutMs?: number;
}

/**
 * Gets a timestamp for `signature` from the TSA at `url`.
 *
 * @returns the DER TimeStampResp
 * @throws {SigningError} `TSA_FAILED`, naming the URL
 */
export async function requestTimestamp(
  url: string,
  signature: Uint8Array,
  options: TimestampRequestOptions = {},
): Promise<Uint8Array> {
  const digest = createHash("sha256").update(signature).digest();
  const nonce = crypto.getRandomValues(new Uint8Array(8));
  nonce[0] = (nonce[0]! & 0x7f) | 0x01; // a positive INTEGER without a leading zero byte
  const request = timeStampReq(digest, nonce);
  const retries = options.retries ?? TSA_RETRIES;
  let lastError: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await new Promise((r) => setTimeout(r, 250 * 2 ** (attempt - 1)));
    try {
      const response = await fetch(url, {
        method: "POST",
        body: request as Uint8Array<ArrayBuffer>,
        headers: {
          "content-type": "application/timestamp-query",
          accept: "application/timestamp-reply",
        },
        signal: AbortSignal.timeout(options.timeoutMs ?? TSA_TIMEOUT_MS),
      });
      const body = await readBounded(response);
      if (!response.ok) {
        const error = new Error(`HTTP ${response.status}`);
        if (response.status === 408 || response.status === 429 || response.status >= 500) {
          lastError = error;
          continue;
        }
        throw error;
      }
      checkResponse(body, digest);
      return body;
    } catch (error) {
      if (error instanceof SigningError) throw error;
      lastError = error;
      if (error instanceof Error && /^HTTP 4/.test(error.message)) break;
    }
  }
  throw new SigningError(
    "TSA_FAILED",
    `The timestamp authority at ${url} (--tsa_url) did not issue a timestamp: ` +
      (lastError instanceof Error ? lastError.message : String(lastError)),
    { cause: lastError },
  );
}

/** Checks that the answer is a granted timestamp over our digest. */
function checkResponse(body: Uint8Array, digest: Uint8Array): void {
  let timestamp: RFC3161Timestamp;
  try {
    timestamp = RFC3161Timestamp.parse(Buffer.from(body) as Buffer<ArrayBuffer>);
    const status = timestamp.status;
    if (status !== 0n && status !== 1n) throw new Error(`status ${status} (not granted)`);
    if (!Buffer.from(timestamp.tstInfo.messageImprintHashedMessage).equals(Buffer.from(digest))) {
      throw new Error("it timestamps another digest");
    }
    void timestamp.signingTime;
  } catch (error) {
    throw new SigningError(
      "TSA_FAILED",
      `The timestamp authority's answer is not a usable RFC 3161 timestamp: ${
        error instanceof Error ? error.message : error
      }`,
      { cause: error },
    );
  }
}

async function readBounded(response: Response): Promise<Uint8Array> {
  const reader = response.body?.getReader();
  if (!reader) return new Uint8Array();
  const chunks: Uint8Array[] = [];
  let total = 0;
  while (true) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > MAX_RESPONSE_BYTES) {
      await reader.cancel();
      throw new Error(`the answer is larger than ${MAX_RESPONSE_BYTES} bytes`);
    }
    chunks.push(value);
  }
  return concatBytes(chunks, total);
}

/** DER TimeStampReq v1: SHA-256 message imprint, nonce, certReq TRUE. */
export function timeStampReq(digest: Uint8Array, nonce: Uint8Array): Uint8Array {
  const sha256 = der(0x30, [
    der(0x06, [Uint8Array.of(0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01)]),
    Uint8Array.of(0x05, 0x00),
  ]);
  return der(0x30, [
    Uint8Array.of(0x02, 0x01, 0x01),
    der(0x30, [sha256, der(0x04, [digest])]),
    der(0x02, [nonce]),
    Uint8Array.of(0x01, 0x01, 0xff),
  ]);
}

/** One DER element with a short-form length (every element here is under 128 bytes). */
function der(tag: number, parts: Uint8Array[]): Uint8Array {
  const length = parts.reduce((n, p) => n + p.length, 0);
  if (length > 127) throw new RangeError("DER element too long for this encoder");
  const out = new Uint8Array(2 + length);
  out[0] = tag;
  out[1] = length;
  let at = 2;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
