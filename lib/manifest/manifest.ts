/**
 * The manifest: resource name -> digest, plus how it was serialized. Pure data, no I/O.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { HashAlgorithm } from "./engines.ts";

export { byteOrder, compareResourceNames, splitShard } from "./resource_order.ts";
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

/** SHA-256 over the concatenated raw digests, in the given order (the OMS root digest). */
export function computeRootDigest(entries: readonly ManifestEntry[]): string {
  // One update of the whole hex text: one call instead of one per resource.
  return createHash("sha256").update(entries.map((e) => e.digest).join(""), "hex").digest("hex");
}

/** Hex to bytes; the caller has validated the text. */
export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
