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
 * Scans JSON text (UTF-8 bytes or a string) for nesting depth and value count, skipping the
 * contents of strings. Stops at the first limit crossed. Does not validate the JSON: that is
 * `JSON.parse`'s job once the shape is known to be affordable.
 */
export function scanJson(text: Uint8Array | string, limits: JsonLimits): JsonShape {
  const isString = typeof text === "string";
  const length = text.length;
  let depth = 0;
  let maxDepth = 0;
  let values = 0;
  let inString = false;
  for (let i = 0; i < length; i++) {
    const c = isString ? (text as string).charCodeAt(i) : (text as Uint8Array)[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
      continue;
    }
    if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
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
