/**
 * Lower-case hex of digests, the form they take in manifests and in the workers' replies.
 *
 * @module
 */

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
