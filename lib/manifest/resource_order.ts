/**
 * The canonical order of resource names (model_signing's) and shard names, without
 * `node:crypto`: `digest` orders its manifest with these and loads no node:crypto on the main
 * thread. manifest.ts re-exports them.
 *
 * @module
 */

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
