/**
 * The manifest: resource name -> digest, plus how it was serialized. Pure data, no I/O.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { ManifestDiff } from "../errors.ts";
import type { HashAlgorithm } from "./engines.ts";

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

/** Compares expected and actual digests by name; the lists in the result are sorted. */
export function diffManifests(
  expected: ReadonlyMap<string, string>,
  actual: ReadonlyMap<string, string>,
): ManifestDiff {
  // Loops, not copies of every entry: this runs at the end of a verification, when the heap is
  // at its largest, and a 100,000-resource model would make 100,000 arrays only to drop them.
  const extra: string[] = [];
  for (const name of actual.keys()) if (!expected.has(name)) extra.push(name);
  const missing: string[] = [];
  const mismatched: ManifestDiff["mismatched"] = [];
  for (const [name, digest] of expected) {
    const found = actual.get(name);
    if (found === undefined) {
      if (!actual.has(name)) missing.push(name);
    } else if (found !== digest) mismatched.push({ name, expected: digest, actual: found });
  }
  extra.sort(byteOrder);
  missing.sort(byteOrder);
  mismatched.sort((a, b) => byteOrder(a.name, b.name));
  return { extra, missing, mismatched };
}

/**
 * The names-only part of {@link diffManifests}: extra and missing names (sorted), no digests
 * compared. For the check before hashing: it builds nothing per matching name (comparing
 * digests of a name-only map made and sorted one "mismatch" per resource).
 */
export function diffNames(
  expected: ReadonlyMap<string, unknown>,
  actual: Iterable<string>,
): ManifestDiff {
  const seen = new Set<string>();
  const extra: string[] = [];
  for (const name of actual) {
    seen.add(name);
    if (!expected.has(name)) extra.push(name);
  }
  const missing: string[] = [];
  for (const name of expected.keys()) if (!seen.has(name)) missing.push(name);
  return { extra: extra.sort(byteOrder), missing: missing.sort(byteOrder), mismatched: [] };
}

/** True when a diff has no difference at all. */
export function isEmptyDiff(diff: ManifestDiff): boolean {
  return diff.extra.length === 0 && diff.missing.length === 0 && diff.mismatched.length === 0;
}

/**
 * Sorts strings by Unicode code point, which is the byte order of their UTF-8 and Python's `str`
 * order. JavaScript's `<` compares UTF-16 code units, which puts a character outside the BMP
 * (a surrogate pair, 0xD800-0xDFFF) before U+E000-U+FFFF (private use, CJK compatibility): the
 * first differing unit is remapped so that surrogates sort above every other BMP unit.
 */
export function byteOrder(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return codePointRank(x) - codePointRank(y);
  }
  return a.length - b.length;
}

/** A UTF-16 unit's rank in code point order: surrogates after U+FFFF's units. */
function codePointRank(unit: number): number {
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  return unit >= 0xe000 ? unit - 0x800 : unit;
}

/** Hex to bytes; the caller has validated the text. */
export function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * Orders resource names as model_signing does (Python `PurePosixPath` order: component by
 * component), then shards by start offset. The root digest of a signature depends on it.
 */
export function compareResourceNames(a: string, b: string, shards = false): number {
  const [pathA, startA] = shards ? shardParts(a) : [a, "0"];
  const [pathB, startB] = shards ? shardParts(b) : [b, "0"];
  const partsA = pathA.split("/");
  const partsB = pathB.split("/");
  for (let i = 0; i < Math.min(partsA.length, partsB.length); i++) {
    const order = byteOrder(partsA[i]!, partsB[i]!);
    if (order !== 0) return order;
  }
  if (partsA.length !== partsB.length) return partsA.length - partsB.length;
  return compareDecimal(startA, startB);
}

/** Compares two decimal digit strings by value, at any size (no rounding beyond 2^53). */
function compareDecimal(a: string, b: string): number {
  const x = a.replace(/^0+(?=\d)/, "");
  const y = b.replace(/^0+(?=\d)/, "");
  if (x.length !== y.length) return x.length - y.length;
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Splits a shard resource `path:start:end` into its path and offsets. The offsets are the last
 * two colon-separated decimal numbers; the path may hold any character, colons and line breaks
 * included. Offsets stay decimal text (model_signing takes sizes beyond 2^53).
 */
export function splitShard(name: string): [path: string, start: string, end: string] | undefined {
  const match = SHARD_NAME.exec(name);
  return match ? [match[1]!, match[2]!, match[3]!] : undefined;
}

const SHARD_NAME = /^([\s\S]*):(\d+):(\d+)$/;

function shardParts(name: string): [string, string] {
  const parts = splitShard(name);
  return parts ? [parts[0], parts[1]] : [name, "0"];
}

/** One paragraph naming every difference, for error messages. */
export function describeDiff(diff: ManifestDiff, escape: (name: string) => string): string {
  const parts: string[] = [];
  const list = (names: string[]) => names.map(escape).join(", ");
  if (diff.extra.length > 0) {
    parts.push(`extra files not in the signature: ${list(diff.extra)}`);
  }
  if (diff.missing.length > 0) {
    parts.push(`missing files listed in the signature: ${list(diff.missing)}`);
  }
  for (const m of diff.mismatched) {
    parts.push(`hash mismatch for '${escape(m.name)}': expected ${m.expected}, actual ${m.actual}`);
  }
  return parts.join("; ");
}
