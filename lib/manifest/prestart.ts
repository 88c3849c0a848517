/**
 * Starts the hashing workers while the model is still being listed, once what was listed so far
 * shows they will be needed: hashing then begins as soon as the jobs are planned instead of
 * 50-90 ms later (`new Worker`, then the worker module and `node:crypto` loading). The listing
 * and the name check still finish before any file is hashed; only the workers' start-up
 * overlaps them. A model too small for workers starts none.
 *
 * @module
 */

import { availableCpus } from "./cpu_count.ts";
import { isSerialWork, poolSize } from "./hash_jobs.ts";
import { HashWorkers } from "./worker_pool.ts";

/** Counts files as they are listed and starts as many workers as the pool will take. */
export class WorkerPrestart {
  readonly workers: HashWorkers;
  #files = 0;
  #bytes = 0;
  readonly #cpus: number;
  readonly #maxWorkers: number | undefined;

  private constructor(cpus: number, maxWorkers: number | undefined, workers: HashWorkers) {
    this.#cpus = cpus;
    this.#maxWorkers = maxWorkers;
    this.workers = workers;
  }

  /** A prestart for a pool capped at `maxWorkers` (undefined: one per CPU). */
  static async create(maxWorkers?: number, workers = new HashWorkers()): Promise<WorkerPrestart> {
    return new WorkerPrestart(await availableCpus(), maxWorkers, workers);
  }

  /**
   * Counts jobs (files, or the shards a signature lists) and starts workers once the work is past
   * the in-process path: as many as {@link poolSize} gives.
   */
  add(jobs: number, bytes: number): void {
    this.#files += jobs;
    this.#bytes += bytes;
    if (isSerialWork(this.#bytes, this.#files)) return;
    this.workers.startUpTo(poolSize(this.#cpus, this.#maxWorkers));
  }

  /** Terminates the workers the pool did not adopt. */
  close(): void {
    this.workers.close();
  }
}
