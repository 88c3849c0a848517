/**
 * The digests a signature expects, kept compactly for the length of a verification (resource
 * name -> number, the raw digests in one buffer), and their comparison with the digests just
 * computed, without a second map: the signature's 100,000 entries of `{ name, hex digest }`, the
 * name -> hex map made from them and the map of actual digests took about 35 MiB of heap.
 *
 * @module
 */

import type { ManifestDiff } from "../errors.ts";
import { DigestList } from "./digest_list.ts";
import type { JobSource } from "./job_source.ts";
import type { ManifestEntry } from "./manifest.ts";
import { byteOrder } from "./resource_order.ts";

/** Expected digests by resource name. */
export class ExpectedDigests {
  /** Resource name -> number of its digest in {@link digests}, in the signature's order. */
  readonly index: Map<string, number>;
  readonly digests: DigestList;
  /** The names by number (the same strings as the keys of {@link index}). */
  readonly #names: string[] = [];

  /**
   * @param entries the signature's resources: unique names, lower-case hex digests of `width`
   * bytes (as `toSignedManifest` checked them)
   */
  constructor(entries: readonly ManifestEntry[], width: number) {
    this.index = new Map();
    this.digests = new DigestList(entries.length, width);
    const bytes = new Uint8Array(width);
    entries.forEach((entry, i) => {
      this.index.set(entry.name, i);
      this.#names.push(entry.name);
      hexInto(entry.digest, bytes);
      this.digests.set(i, bytes);
    });
  }

  get size(): number {
    return this.index.size;
  }

  /** Resource names, in the signature's order. */
  names(): string[] {
    return [...this.#names];
  }

  /**
   * The signature's string for `name` when it lists that name, else `name`: the model's listing
   * keeps these (`WalkOptions.keptName`), so a name is held once, not by both the signature's
   * map and the file list (7 MiB of strings on 100,000 files).
   */
  keptName(name: string): string {
    const k = this.index.get(name);
    return k === undefined ? name : this.#names[k]!;
  }
}

/**
 * Compares expected digests with actual ones (job `i`'s name and digest `i`), as `diffManifests`
 * does with two maps: names on disk but not signed (`extra`), signed but not on disk
 * (`missing`), digests that differ (`mismatched`); every list sorted. Without `actual`, names
 * only (the check before hashing, as `diffNames`, without a set of every name).
 */
export function diffDigests(
  expected: ExpectedDigests,
  jobs: Pick<JobSource, "length" | "name">,
  actual?: DigestList,
): ManifestDiff {
  const extra: string[] = [];
  const mismatched: ManifestDiff["mismatched"] = [];
  const seen = new Uint8Array(expected.size);
  let matched = 0;
  for (let i = 0; i < jobs.length; i++) {
    const name = jobs.name(i);
    const k = expected.index.get(name);
    if (k === undefined) {
      extra.push(name);
      continue;
    }
    if (seen[k] === 0) matched++;
    seen[k] = 1;
    if (actual && !actual.equals(i, expected.digests.get(k))) {
      mismatched.push({ name, expected: expected.digests.hex(k), actual: actual.hex(i) });
    }
  }
  const missing: string[] = [];
  if (matched < expected.size) {
    for (const [name, k] of expected.index) if (seen[k] === 0) missing.push(name);
  }
  extra.sort(byteOrder);
  missing.sort(byteOrder);
  mismatched.sort((a, b) => byteOrder(a.name, b.name));
  return { extra, missing, mismatched };
}

/** Lower-case hex (validated by the caller) into `out`. */
function hexInto(hex: string, out: Uint8Array): void {
  if (hex.length !== 2 * out.length) throw new Error(`A digest of ${out.length} bytes expected`);
  for (let i = 0; i < out.length; i++) {
    out[i] = (nibble(hex.charCodeAt(2 * i)) << 4) | nibble(hex.charCodeAt(2 * i + 1));
  }
}

function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  throw new Error("A digest is not hex");
}
