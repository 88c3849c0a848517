/**
 * Raw digests of a run's jobs in one buffer, by job number: 32 bytes a job for SHA-256, where a
 * hex string per job took 80 bytes of heap plus a map entry.
 *
 * @module
 */

import type { HashAlgorithm } from "./engines.ts";
import { toHex } from "./hex.ts";

/** Digest length in bytes of each engine. */
export const DIGEST_BYTES: Readonly<Record<HashAlgorithm, number>> = {
  sha256: 32,
  blake2b: 64,
  blake3: 32,
};

/** `count` digests of `width` bytes each, in job order. */
export class DigestList {
  readonly bytes: Uint8Array;
  readonly width: number;

  constructor(count: number, width: number) {
    this.width = width;
    this.bytes = new Uint8Array(count * width);
  }

  get length(): number {
    return this.bytes.length / this.width;
  }

  /** Stores the raw digests of `jobs` (their numbers), given in that order in `digests`. */
  setAll(jobs: readonly number[], digests: Uint8Array): void {
    if (digests.length !== jobs.length * this.width) {
      throw new Error(`Expected ${jobs.length} digests of ${this.width} bytes`);
    }
    jobs.forEach((job, i) => this.set(job, digests.subarray(i * this.width, (i + 1) * this.width)));
  }

  set(job: number, digest: Uint8Array): void {
    if (digest.length !== this.width) throw new Error(`A digest of ${this.width} bytes expected`);
    this.bytes.set(digest, job * this.width);
  }

  /** The raw digest of job `i` (a view, not a copy). */
  get(i: number): Uint8Array {
    return this.bytes.subarray(i * this.width, (i + 1) * this.width);
  }

  /** Lower-case hex of job `i`'s digest. */
  hex(i: number): string {
    return toHex(this.get(i));
  }

  /** Whether job `i`'s digest is `expected`. */
  equals(i: number, expected: Uint8Array): boolean {
    if (expected.length !== this.width) return false;
    const start = i * this.width;
    for (let k = 0; k < this.width; k++) if (this.bytes[start + k] !== expected[k]) return false;
    return true;
  }

  /** Every digest as lower-case hex, in job order. */
  toHexList(): string[] {
    const out: string[] = [];
    for (let i = 0; i < this.length; i++) out.push(this.hex(i));
    return out;
  }
}
