/**
 * The OMS root digest (SHA-256 over the resources' raw digests, in order) with WebCrypto, for
 * `digest`: that command then loads no `node:crypto` on the main thread (about 20-30 ms of CPU at
 * start-up; the hashing workers load their own), and for `verify` (the signed root digest and the
 * result's). It gives what `computeRootDigest` in manifest.ts gives, which signing keeps using.
 *
 * @module
 */

import type { DigestList } from "./digest_list.ts";
import { toHex } from "./hex.ts";
import type { ManifestEntry } from "./manifest.ts";
import { compareResourceNames } from "./resource_order.ts";

/** Value of each ASCII hex digit (either case), -1 for any other code unit below 128. */
const HEX_VALUE: Int8Array = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < 16; i++) {
    table["0123456789abcdef".charCodeAt(i)] = i;
    table["0123456789ABCDEF".charCodeAt(i)] = i;
  }
  return table;
})();

/**
 * The lower-case hex root digest of `entries`.
 *
 * @throws {Error} when a digest is not hex (they come from this program's own hashing)
 */
export async function rootDigestOf(entries: readonly ManifestEntry[]): Promise<string> {
  const hex = entries.map((e) => e.digest).join("");
  if (hex.length % 2 !== 0) throw new Error("A resource digest has an odd number of hex digits");
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) {
    const high = HEX_VALUE[hex.charCodeAt(2 * i)] ?? -1;
    const low = HEX_VALUE[hex.charCodeAt(2 * i + 1)] ?? -1;
    if (high < 0 || low < 0) throw new Error("A resource digest is not hex");
    bytes[i] = (high << 4) | low;
  }
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}

/**
 * The lower-case hex root digest of a files-mode run: `digests` (by job number) taken in the
 * canonical order of their `names` (model_signing's resource order), without a hex string or an
 * entry object per resource.
 */
export async function rootDigestOfList(
  names: readonly string[],
  digests: DigestList,
): Promise<string> {
  if (names.length !== digests.length) throw new Error("One digest per resource name expected");
  const order = names.map((_, i) => i).sort((a, b) => compareResourceNames(names[a]!, names[b]!));
  const bytes = new Uint8Array(digests.bytes.length);
  order.forEach((job, i) => bytes.set(digests.get(job), i * digests.width));
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}
