/**
 * The manifest: resource name -> digest, plus how it was serialized. Pure data, no I/O.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { HashAlgorithm } from "./engines.ts";

export { byteOrder, compareResourceNames, splitShard } from "./resource_order.ts";
import { hexToBytes } from "./hex.ts";
export { hexToBytes };
export { describeDiff, diffManifests, diffNames, isEmptyDiff } from "./manifest_diff.ts";

/** How a model was turned into resources (`predicate.serialization`). */
export interface Serialization {
  method: "files" | "shards";
  hashType: HashAlgorithm;
  /** Shard size in bytes (`shards` only). */
  shardSize?: number;
  /** The exact shard size when it is beyond 2^53 (`shardSize` then only plans). */
  shardSizeExact?: bigint;
  allowSymlinks: boolean;
  /** Paths (relative to the model) the signer left out. */
  ignorePaths: string[];
}

/** One resource: a file (`a/b`, `.` for a single-file model) or a shard (`a/b:0:1024`). */
export interface ManifestEntry {
  name: string;
  /** Lower-case hex digest. */
  digest: string;
}

/** What a signature says the model is. */
export interface SignedManifest {
  /** The statement subject's name (the model directory's basename when signed). */
  modelName: string;
  /** `sha256:`-less hex of the subject digest; null for the legacy format, which has none. */
  rootDigest: string | null;
  serialization: Serialization;
  /** Resources in payload order. */
  entries: ManifestEntry[];
  /** True for model_signing 0.2 signatures (`Digests/v0.1`). */
  legacy: boolean;
}

/**
 * SHA-256 over the concatenated raw digests, in the given order (the OMS root digest).
 *
 * @throws {Error} when a digest is not hex or has an odd length (callers validate them first)
 */
export function computeRootDigest(entries: readonly ManifestEntry[]): string {
  // The raw digests go through one 64 KiB buffer: the whole hex text joined and decoded at once
  // (6.4 MB and 3.2 MB for 100,000 resources) were allocated and freed while a verification's
  // signature was decoded, and the C heap kept that memory for the rest of the run.
  const hash = createHash("sha256");
  const chunk = new Uint8Array(64 << 10);
  let used = 0;
  for (const { digest } of entries) {
    if (digest.length % 2 !== 0) {
      throw new Error("A resource digest has an odd number of hex digits");
    }
    const length = digest.length / 2;
    if (used + length > chunk.length) {
      hash.update(chunk.subarray(0, used));
      used = 0;
    }
    if (length > chunk.length) {
      hash.update(hexToBytes(digest));
      continue;
    }
    for (let i = 0; i < length; i++) {
      chunk[used++] = (hexDigit(digest.charCodeAt(2 * i)) << 4) |
        hexDigit(digest.charCodeAt(2 * i + 1));
    }
  }
  hash.update(chunk.subarray(0, used));
  return hash.digest("hex");
}

/** Value of one ASCII hex digit (either case). */
function hexDigit(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  throw new Error("A resource digest is not hex");
}
