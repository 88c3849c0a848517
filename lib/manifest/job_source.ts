/**
 * Hash jobs by number, made when a batch is sent rather than all at once: in files mode each job
 * comes from the compact file list (`FileList`) on demand, so a model of 100,000 files keeps no
 * 100,000 job objects (15 MiB of heap) alive for the whole of hashing.
 *
 * @module
 */

import type { FileList } from "../tree/file_list.ts";
import type { HashJob } from "./hash_file.ts";
import type { Serialization } from "./manifest.ts";
import { planJobs } from "./plan_jobs.ts";

/** Hash jobs by number (0 to `length - 1`). */
export interface JobSource {
  readonly length: number;
  /** Job `i`, as a new object the caller may keep or send. */
  job(i: number): HashJob;
  /** Resource name of job `i`. */
  name(i: number): string;
  /** Bytes job `i` hashes. */
  size(i: number): number;
  /** Whether job `i` reads a file other than job `i - 1` (always for job 0). */
  startsFile(i: number): boolean;
}

/** The jobs of a list, as a source. */
export function arrayJobs(jobs: readonly HashJob[]): JobSource {
  return {
    length: jobs.length,
    job: (i) => jobs[i]!,
    name: (i) => jobs[i]!.name,
    size: (i) => jobs[i]!.end - jobs[i]!.start,
    startsFile: (i) => i === 0 || jobs[i]!.path !== jobs[i - 1]!.path,
  };
}

/** `jobs` as a source (a source is returned as it is). */
export function toJobSource(jobs: JobSource | readonly HashJob[]): JobSource {
  return isJobArray(jobs) ? arrayJobs(jobs) : jobs;
}

function isJobArray(jobs: JobSource | readonly HashJob[]): jobs is readonly HashJob[] {
  return Array.isArray(jobs);
}

/**
 * The jobs of a file list, as `planJobs` plans them. Files mode: job `i` is file `i`, made on
 * demand. Shards mode: the jobs are planned up front (a sharded model has few, big files).
 */
export function fileListJobs(
  files: FileList,
  serialization: Pick<Serialization, "method" | "shardSize">,
): JobSource {
  if (serialization.method === "shards") return arrayJobs(planJobs(files.toArray(), serialization));
  return {
    length: files.length,
    job(i) {
      const size = files.size(i);
      return {
        name: files.names[i]!,
        path: files.path(i),
        start: 0,
        end: size,
        fileSize: size,
        mtimeMs: files.mtimeMs(i),
        ino: files.ino(i),
      };
    },
    name: (i) => files.names[i]!,
    size: (i) => files.size(i),
    startsFile: () => true,
  };
}

/** Names of every job, in order. */
export function jobNames(jobs: JobSource): string[] {
  const names: string[] = [];
  for (let i = 0; i < jobs.length; i++) names.push(jobs.name(i));
  return names;
}
