/**
 * Digests computed the plainest way, as the reference the hashing paths are checked against:
 * the job's whole byte range read at once, hashed in one call (node:crypto, or hash-wasm's
 * one-shot BLAKE3). No checks, no streaming: shares no code with `lib/manifest`'s readers.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { blake3 } from "hash-wasm";
import type { HashAlgorithm } from "../../lib/manifest/engines.ts";
import type { HashJob } from "../../lib/manifest/hash_file.ts";

/** Lower-case hex digest of `[job.start, job.end)` of `job.path`. */
export async function referenceDigest(job: HashJob, algorithm: HashAlgorithm): Promise<string> {
  const bytes = (await Deno.readFile(job.path)).subarray(job.start, job.end);
  if (bytes.length !== job.end - job.start) throw new Error(`${job.path} is shorter than the job`);
  if (algorithm === "blake3") return await blake3(bytes);
  return createHash(algorithm === "sha256" ? "sha256" : "blake2b512").update(bytes).digest("hex");
}
