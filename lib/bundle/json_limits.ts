/**
 * Structural limits checked on the raw bytes of a JSON document before `JSON.parse` sees it, so
 * that the cost of parsing a hostile signature is bounded by its shape, not only by its size: a
 * list of millions of tiny objects (a few bytes each, tens of bytes each once parsed) is refused
 * after one linear scan that allocates nothing.
 *
 * @module
 */

/** What a document may contain. */
export interface JsonLimits {
  /** Deepest nesting of objects and lists. */
  maxDepth: number;
  /**
   * Most values: every object, list and comma-separated element counts once (a million-element
   * list of zeros counts a million), so `JSON.parse` builds at most about this many JS values.
   */
  maxValues: number;
}

/** What a scan found; `exceeded` names the first limit crossed, if any. */
export interface JsonShape {
  depth: number;
  values: number;
  exceeded?: "depth" | "values";
}

/**
 * Decodes UTF-8 JSON text, throwing a `TypeError` for invalid UTF-8. Cheaper in memory than a
 * fatal `TextDecoder` on large input (which holds a second copy while it checks): the lenient
 * decoder runs first, and only text that then holds U+FFFD (a replacement, or a real U+FFFD) is
 * decoded again strictly.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  const text = new TextDecoder().decode(bytes);
  if (text.includes("\ufffd")) new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  return text;
}

/**
 * Scans JSON text (UTF-8 bytes or a string) for nesting depth and value count, skipping the
 * contents of strings. Stops at the first limit crossed. Does not validate the JSON: that is
 * `JSON.parse`'s job once the shape is known to be affordable.
 */
export function scanJson(text: Uint8Array | string, limits: JsonLimits): JsonShape {
  return typeof text === "string"
    ? scanBytes(new TextEncoder().encode(text), limits)
    : scanBytes(text, limits);
}

function scanBytes(bytes: Uint8Array, limits: JsonLimits): JsonShape {
  const length = bytes.length;
  let depth = 0;
  let maxDepth = 0;
  let values = 0;
  for (let i = 0; i < length; i++) {
    const c = bytes[i]!;
    if (c === 0x22) {
      i = stringEnd(bytes, i);
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      values++;
      if (++depth > maxDepth) maxDepth = depth;
      if (depth > limits.maxDepth) return { depth, values, exceeded: "depth" };
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c === 0x2c) values++;
    else continue;
    if (values > limits.maxValues) return { depth: maxDepth, values, exceeded: "values" };
  }
  return { depth: maxDepth, values };
}

/**
 * The index of the quote that closes the string opened at `open` (or the length when none
 * does), found with native `indexOf` so a 60 MiB base64 string costs almost nothing.
 */
export function stringEnd(bytes: Uint8Array, open: number): number {
  let at = open;
  for (;;) {
    at = bytes.indexOf(0x22, at + 1);
    if (at < 0) return bytes.length;
    let slashes = 0;
    while (bytes[at - 1 - slashes] === 0x5c) slashes++;
    if (slashes % 2 === 0) return at;
  }
}
