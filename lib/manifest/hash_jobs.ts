/**
 * Hashes a list of jobs and returns their digests by resource name: on a pool of workers (one
 * per available CPU unless capped), or in this thread when there is too little work to be worth
 * starting a worker. Both paths read with the same blocking calls and checks
 * (`hash_blocking.ts`) and give the same digests; only the time differs.
 *
 * @module
 */

import { nextTask } from "../_next_task.ts";
import { availableCpus } from "./cpu_count.ts";
import { DIGEST_BYTES, DigestList } from "./digest_list.ts";
import { engineReady, type HashAlgorithm, prepareEngine } from "./engines.ts";
import { hashBlocking, READ_BUFFER } from "./hash_blocking.ts";
import type { HashJob } from "./hash_file.ts";
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

/**
 * Below this much estimated work ({@link estimatedMs}) this thread hashes everything: starting
 * the pool costs about 13 ms of this thread per worker (`new Worker`) and 25-50 ms more before a
 * worker hashes (its module and `node:crypto` loading), and a single file hashed by a worker
 * with a reader of its own is only about 15% faster than here. Measured in one process (2
 * cores): 100 MiB in one file 156 ms in the pool against 97 ms here (async reads then); 500
 * files of 16 KiB 54 ms in the pool against 22 ms here (blocking reads).
 */
export const SERIAL_MAX_MS = 100;

/** Whether `bytes` in `jobs` jobs is little enough for the in-process path. */
export function isSerialWork(bytes: number, jobs: number): boolean {
  return estimatedMs(bytes, jobs) < SERIAL_MAX_MS;
}

/**
 * One thread's time for the work, in milliseconds, roughly: about 1.5 GB/s of hashing plus
 * 50 microseconds per job (two stats, open, read, close) on this kind of machine. Only decides
 * between this thread and the pool; results never depend on it.
 */
export function estimatedMs(bytes: number, jobs: number): number {
  return bytes / 1.5e6 + jobs * 0.05;
}

/**
 * Workers for the work that is not {@link isSerialWork}: one per CPU or `maxWorkers`, never
 * more than CPUs (more threads than cores only take turns, and each costs its start-up).
 */
export function poolSize(cpus: number, maxWorkers?: number): number {
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
    workers: poolSize(cpus, options.maxWorkers),
    cpus,
    ...(options.prestarted ? { prestarted: options.prestarted } : {}),
    onBytes: (n) => tracker.addBytes(n),
    onJobsDone: (indices) => tracker.jobsDone(indices),
  });
}

/**
 * Hashes every job in this thread with blocking reads, letting the event loop run between jobs
 * at least every {@link YIELD_EVERY_MS} (the agent's health server keeps answering); one job
 * blocks for at most about {@link SERIAL_MAX_MS}.
 */
async function hashSerially(
  jobs: JobSource,
  algorithm: HashAlgorithm,
  tracker: ProgressTracker,
): Promise<DigestList> {
  const digests = new DigestList(jobs.length, DIGEST_BYTES[algorithm]);
  const buffer = new Uint8Array(READ_BUFFER);
  const hooks = { onBytes: (n: number) => tracker.addBytes(n) };
  let lastYield = performance.now();
  for (let i = 0; i < jobs.length; i++) {
    // Checked before each job: another run in this thread may hold the idle BLAKE3 instance.
    while (!engineReady(algorithm)) await prepareEngine(algorithm);
    digests.set(i, hashBlocking(jobs.job(i), algorithm, buffer, hooks));
    tracker.jobsDone([i]);
    if (performance.now() - lastYield >= YIELD_EVERY_MS) {
      await nextTask();
      lastYield = performance.now();
    }
  }
  return digests;
}

/** Longest time the in-process path runs between two jobs without letting the event loop run. */
const YIELD_EVERY_MS = 20;

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
