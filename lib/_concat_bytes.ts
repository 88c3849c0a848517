/**
 * Joins chunks read from a stream into one buffer.
 *
 * @module
 */

/** The chunks one after another; `length` is their total size. */
export function concatBytes(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}
