/**
 * Hashes a list of files into manifest entries in model_signing's canonical order.
 *
 * @module
 */

import { hashJobs, type HashOptions } from "./hash_jobs.ts";
import type { ManifestEntry, Serialization } from "./manifest.ts";
import { compareResourceNames } from "./resource_order.ts";
import { type FileToHash, planJobs } from "./plan_jobs.ts";

/** Hashes `files` as `serialization` says; entries sorted as model_signing sorts resources. */
export async function buildManifest(
  files: readonly FileToHash[],
  serialization: Pick<Serialization, "method" | "shardSize" | "hashType">,
  options: Omit<HashOptions, "algorithm"> = {},
): Promise<{ entries: ManifestEntry[]; bytes: number }> {
  const jobs = planJobs(files, serialization);
  const digests = await hashJobs(jobs, { ...options, algorithm: serialization.hashType });
  const shards = serialization.method === "shards";
  const entries = [...digests.entries()]
    .map(([name, digest]) => ({ name, digest }))
    .sort((a, b) => compareResourceNames(a.name, b.name, shards));
  return { entries, bytes: jobs.reduce((sum, job) => sum + job.end - job.start, 0) };
}
