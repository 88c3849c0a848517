/**
 * Hashes a list of jobs and returns their digests by resource name: on a pool of workers (one
 * per available CPU unless capped), or with `hashJob` in this thread when there is too little
 * work to be worth starting a worker. Both paths give the same digests; only the time differs.
 * With one CPU the pool still has one worker: its blocking reads are several times faster than
 * this thread's async ones on models of many small files.
 *
 * @module
 */

import { availableCpus } from "./cpu_count.ts";
import type { HashAlgorithm } from "./engines.ts";
import { DIGEST_BYTES, DigestList } from "./digest_list.ts";
import { type HashJob, hashJob } from "./hash_file.ts";
import { arrayJobs, type JobSource } from "./job_source.ts";
import { hashInWorkers, type HashWorkers } from "./worker_pool.ts";

/** Progress of a hashing run, reported through {@link HashOptions.onProgress}. */
export interface HashProgress {
  jobsDone: number;
  jobsTotal: number;
  /** Files whose every job is done (a sharded file counts once). */
  filesDone: number;
  filesTotal: number;
  bytesDone: number;
  bytesTotal: number;
}

/** Options of {@link hashJobs}. */
export interface HashOptions {
  algorithm: HashAlgorithm;
  /**
   * Number of parallel workers; undefined: one per available CPU (cores, capped by the cgroup
   * CPU quota). Never more workers than batches of work.
   */
  maxWorkers?: number;
  onProgress?: (progress: HashProgress) => void;
  /** Workers started ahead while the model was listed (`prestart.ts`); the caller closes them. */
  prestarted?: HashWorkers;
}

/** Below this many bytes and {@link SERIAL_MAX_JOBS} jobs, starting workers costs more than it saves. */
export const SERIAL_MAX_BYTES = 8 << 20;
/** See {@link SERIAL_MAX_BYTES}. */
export const SERIAL_MAX_JOBS = 32;
/**
 * Below this much estimated work (one thread's time, {@link estimatedMs}) one worker hashes
 * everything: a second one costs about 13 ms of this thread (`new Worker`) and 25-50 ms to load
 * on another core, more than it would save.
 */
export const ONE_WORKER_MS = 64;

/** Whether `bytes` in `jobs` jobs is little enough for the in-process path. */
export function isSerialWork(bytes: number, jobs: number): boolean {
  return bytes < SERIAL_MAX_BYTES && jobs <= SERIAL_MAX_JOBS;
}

/**
 * One thread's time for the work, in milliseconds, roughly: about 1.5 GB/s of hashing plus
 * 50 microseconds per job (two stats, open, read, close) on this kind of machine. Only decides
 * between one worker and several; results never depend on it.
 */
export function estimatedMs(bytes: number, jobs: number): number {
  return bytes / 1.5e6 + jobs * 0.05;
}

/**
 * Workers for the work: one when it is small ({@link ONE_WORKER_MS}), else one per CPU or
 * `maxWorkers`, never more than CPUs (more threads than cores only take turns, and each costs
 * its start-up).
 */
export function poolSize(bytes: number, jobs: number, cpus: number, maxWorkers?: number): number {
  if (estimatedMs(bytes, jobs) < ONE_WORKER_MS) return 1;
  return Math.max(1, Math.min(maxWorkers ?? cpus, cpus));
}

/** Bytes between two progress reports while one big job runs in this thread. */
const PROGRESS_BYTES = 32 << 20;

/**
 * Hashes every job. Fails on the first job that fails (the error names the file); on the pool,
 * that failure stops every worker.
 *
 * @returns digests (lower-case hex) keyed by job name, in the order of `jobs`.
 * @throws {InputError} `FILE_CHANGED` or `FILE_UNREADABLE` for the first file that failed
 */
export async function hashJobs(
  jobs: readonly HashJob[],
  options: HashOptions,
): Promise<Map<string, string>> {
  const digests = await hashJobList(arrayJobs(jobs), options);
  const out = new Map<string, string>();
  jobs.forEach((job, i) => out.set(job.name, digests.hex(i)));
  return out;
}

/**
 * {@link hashJobs} for jobs made on demand, with the raw digests in one buffer: what `digest`
 * and `verify` use, so a model of many files keeps no object or string per job.
 *
 * @returns the raw digests in job order
 * @throws {InputError} `FILE_CHANGED` or `FILE_UNREADABLE` for the first file that failed
 */
export async function hashJobList(jobs: JobSource, options: HashOptions): Promise<DigestList> {
  const tracker = new ProgressTracker(jobs, options.onProgress);
  const small = isSerialWork(tracker.bytesTotal, jobs.length);
  const cpus = small ? 1 : await availableCpus();
  return small ? await hashSerially(jobs, options.algorithm, tracker) : await hashInWorkers(jobs, {
    algorithm: options.algorithm,
    workers: poolSize(tracker.bytesTotal, jobs.length, cpus, options.maxWorkers),
    cpus,
    ...(options.prestarted ? { prestarted: options.prestarted } : {}),
    onBytes: (n) => tracker.addBytes(n),
    onJobsDone: (indices) => tracker.jobsDone(indices),
  });
}

async function hashSerially(
  jobs: JobSource,
  algorithm: HashAlgorithm,
  tracker: ProgressTracker,
): Promise<DigestList> {
  const digests = new DigestList(jobs.length, DIGEST_BYTES[algorithm]);
  for (let i = 0; i < jobs.length; i++) {
    digests.set(i, await hashJob(jobs.job(i), algorithm, (n) => tracker.addBytes(n)));
    tracker.jobsDone([i]);
  }
  return digests;
}

/** Counts jobs, files and bytes, and reports after each job and every few MiB of a big one. */
class ProgressTracker {
  readonly bytesTotal: number;
  #progress: HashProgress;
  /** Jobs not yet done per file, by file number; a file's jobs are consecutive in the list. */
  #jobsLeft: Int32Array;
  #fileOfJob: Int32Array;
  #unreported = 0;
  #onProgress: ((progress: HashProgress) => void) | undefined;

  constructor(jobs: JobSource, onProgress?: (progress: HashProgress) => void) {
    this.#onProgress = onProgress;
    // Numbering files by runs of one path, not with a map keyed by path: hashing 100,000 path
    // strings (each built by concatenation) took a third of a second.
    this.#fileOfJob = new Int32Array(jobs.length);
    this.#jobsLeft = new Int32Array(jobs.length);
    let files = 0;
    let bytes = 0;
    for (let i = 0; i < jobs.length; i++) {
      if (i === 0 || jobs.startsFile(i)) files++;
      this.#fileOfJob[i] = files - 1;
      this.#jobsLeft[files - 1]!++;
      bytes += jobs.size(i);
    }
    this.bytesTotal = bytes;
    this.#progress = {
      jobsDone: 0,
      jobsTotal: jobs.length,
      filesDone: 0,
      filesTotal: files,
      bytesDone: 0,
      bytesTotal: bytes,
    };
  }

  addBytes(n: number): void {
    this.#progress.bytesDone += n;
    this.#unreported += n;
    if (this.#unreported >= PROGRESS_BYTES) this.#report();
  }

  jobsDone(indices: readonly number[]): void {
    for (const i of indices) {
      if (--this.#jobsLeft[this.#fileOfJob[i]!]! === 0) this.#progress.filesDone++;
    }
    this.#progress.jobsDone += indices.length;
    this.#report();
  }

  #report(): void {
    this.#unreported = 0;
    this.#onProgress?.({ ...this.#progress });
  }
}
