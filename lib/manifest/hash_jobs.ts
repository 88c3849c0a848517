/**
 * Hashes a list of jobs and returns their digests by resource name.
 *
 * @module
 */

import type { HashAlgorithm } from "./engines.ts";
import { hashJob, type HashJob } from "./hash_file.ts";

/** Progress of a hashing run, reported through {@link HashOptions.onProgress}. */
export interface HashProgress {
  jobsDone: number;
  jobsTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** Options of {@link hashJobs}. */
export interface HashOptions {
  algorithm: HashAlgorithm;
  /** Upper bound on parallel workers; undefined: all available cores. */
  maxWorkers?: number;
  onProgress?: (progress: HashProgress) => void;
}

/**
 * Hashes every job. Fails on the first job that fails (the error names the file).
 *
 * @returns digests (lower-case hex) keyed by job name.
 */
export async function hashJobs(
  jobs: readonly HashJob[],
  options: HashOptions,
): Promise<Map<string, string>> {
  const progress: HashProgress = {
    jobsDone: 0,
    jobsTotal: jobs.length,
    bytesDone: 0,
    bytesTotal: jobs.reduce((sum, job) => sum + (job.end - job.start), 0),
  };
  const digests = new Map<string, string>();
  for (const job of jobs) {
    const digest = await hashJob(job, options.algorithm, (n) => {
      progress.bytesDone += n;
    });
    digests.set(job.name, toHex(digest));
    progress.jobsDone++;
    options.onProgress?.({ ...progress });
  }
  return digests;
}

/** Lower-case hex of bytes. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}
