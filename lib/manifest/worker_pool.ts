/**
 * A pool of hashing workers: largest work first, a bounded number of batches in flight per
 * worker, reading workers for big jobs when cores are spare, results keyed by job index, and
 * fail-fast (the first failure terminates every worker
 * and rejects once, with the typed error rebuilt on this side of the boundary).
 *
 * @module
 */

import { InputError, InternalError, type ModelVerifyError, toModelVerifyError } from "../errors.ts";
import type { HashAlgorithm } from "./engines.ts";
import { DIGEST_BYTES, DigestList } from "./digest_list.ts";
import type { HashJob } from "./hash_file.ts";
import { type JobSource, toJobSource } from "./job_source.ts";
import { cancelRing, createRing, type ReadRing, resetRing } from "./read_ring.ts";
import {
  READ_AHEAD_MIN,
  type ReadRequest,
  type WorkerReply,
  type WorkerRequest,
} from "./worker_protocol.ts";

/** Options of {@link hashInWorkers}. */
export interface PoolOptions {
  algorithm: HashAlgorithm;
  /** Number of workers to start (at most one per batch). */
  workers: number;
  /** CPUs available to this process; default: `workers`. Decides on reading workers. */
  cpus?: number;
  /** Called with bytes hashed since the last call. */
  onBytes?: (bytes: number) => void;
  /** Called with the indices (into `jobs`) of jobs that finished. */
  onJobsDone?: (indices: readonly number[]) => void;
  /** The worker module; tests swap in a failing one. */
  workerUrl?: URL;
  /** Workers started ahead (see {@link HashWorkers}): adopted before any new one is started. */
  prestarted?: HashWorkers;
}

/**
 * Hashing workers started ahead of the work, while the model is still being listed: each loads
 * its module (`node:crypto` included, 25-50 ms) in its own thread meanwhile, so hashing starts
 * as soon as the jobs are planned. {@link hashInWorkers} adopts them (and terminates them when
 * it settles); {@link HashWorkers.close} terminates those never adopted. A worker that failed to
 * start fails the pool that adopts it, as a worker started there would.
 */
export class HashWorkers {
  #idle: Worker[] = [];
  #failures = new Map<Worker, string>();
  #started = 0;
  #closed = false;
  readonly #url: URL;

  constructor(workerUrl: URL = WORKER_URL) {
    this.#url = workerUrl;
  }

  /** Workers started so far (adopted or not). */
  get started(): number {
    return this.#started;
  }

  /** Starts workers until `count` have been started in total; nothing once closed. */
  startUpTo(count: number): void {
    while (!this.#closed && this.#started < count) {
      const worker = new Worker(this.#url, { type: "module" });
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        this.#failures.set(worker, event.message);
      };
      this.#idle.push(worker);
      this.#started++;
    }
  }

  /** One started worker not yet adopted, with the error it failed to start with, if any. */
  adopt(): { worker: Worker; failure?: string } | undefined {
    const worker = this.#idle.shift();
    if (!worker) return undefined;
    const failure = this.#failures.get(worker);
    this.#failures.delete(worker);
    return failure === undefined ? { worker } : { worker, failure };
  }

  /** Terminates every worker not adopted; starts none after. */
  close(): void {
    this.#closed = true;
    for (const worker of this.#idle) worker.terminate();
    this.#idle = [];
    this.#failures.clear();
  }
}

/**
 * How many reading workers to start: one per big job (at least {@link READ_AHEAD_MIN}) that
 * can run while a core would otherwise idle. A reading worker reads a big job into a shared
 * ring while a hashing worker hashes it (one big file: hashing alone sets the pace, about 15%
 * faster than one thread reading and hashing); when every core already hashes, it would only
 * compete with them (8 shards on 2 cores).
 */
export function readerCount(
  jobs: JobSource | readonly HashJob[],
  workers: number,
  cpus: number,
): number {
  const source = toJobSource(jobs);
  let big = 0;
  for (let i = 0; i < source.length; i++) if (source.size(i) >= READ_AHEAD_MIN) big++;
  return Math.max(0, Math.min(big, cpus - Math.min(workers, big)));
}

/** A batch closes once it holds this many jobs... */
export const BATCH_MAX_JOBS = 64;
/** ...or this many bytes. Big jobs go alone; small files travel together. */
export const BATCH_MAX_BYTES = 16 << 20;
/**
 * Batches a worker may hold: a second small batch waits in its queue so it does not idle for a
 * round trip between small batches. A big batch is never queued behind another: it would wait
 * there while another worker has nothing left to do.
 */
export const IN_FLIGHT = 2;

/** Whether a worker holding `inFlight` batches gets the next batch, of `bytes` bytes, now. */
export function takesNext(inFlight: number, bytes: number): boolean {
  return inFlight === 0 || (inFlight < IN_FLIGHT && bytes < BATCH_MAX_BYTES);
}

const WORKER_URL = new URL("./hash_worker.ts", import.meta.url);

/**
 * Groups job indices into batches, largest jobs first (ties in input order): each job of at
 * least {@link BATCH_MAX_BYTES} alone, smaller ones up to {@link BATCH_MAX_JOBS} jobs or
 * {@link BATCH_MAX_BYTES} bytes together.
 */
export function planBatches(jobs: JobSource | readonly HashJob[]): number[][] {
  const source = toJobSource(jobs);
  const order = Array.from({ length: source.length }, (_, i) => i)
    .sort((a, b) => source.size(b) - source.size(a) || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const index of order) {
    current.push(index);
    bytes += source.size(index);
    if (current.length >= BATCH_MAX_JOBS || bytes >= BATCH_MAX_BYTES) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Hashes `jobs` on `options.workers` workers. Each batch's job objects are made when the batch
 * is sent (see `job_source.ts`).
 *
 * @returns the raw digests in the order of `jobs`
 * @throws {InputError} the first job failure, naming the file (`FILE_CHANGED`, `FILE_UNREADABLE`)
 * @throws {InternalError} `WORKER_FAILED` when a worker cannot start or dies
 */
export function hashInWorkers(
  jobList: JobSource | readonly HashJob[],
  options: PoolOptions,
): Promise<DigestList> {
  const jobs = toJobSource(jobList);
  const batches = planBatches(jobs);
  const batchBytes = batches.map((b) => b.reduce((sum, i) => sum + jobs.size(i), 0));
  const digests = new DigestList(jobs.length, DIGEST_BYTES[options.algorithm]);
  if (batches.length === 0) return Promise.resolve(digests);
  const count = Math.max(1, Math.min(options.workers, batches.length));
  const readers = readerCount(jobs, count, options.cpus ?? options.workers);
  const workerUrl = options.workerUrl ?? WORKER_URL;
  return new Promise<DigestList>((resolve, reject) => {
    const workers: Worker[] = [];
    const inFlight = new Map<Worker, number>();
    /** Reading workers with nothing to read, each with its ring. */
    const idleReaders: { worker: Worker; ring: ReadRing }[] = [];
    const readerOfBatch = new Map<number, { worker: Worker; ring: ReadRing }>();
    const everyWorker: Worker[] = [];
    const rings: ReadRing[] = [];
    const cancel = new SharedArrayBuffer(4);
    let nextBatch = 0;
    let batchesDone = 0;
    let settled = false;

    const settle = (error?: ModelVerifyError) => {
      if (settled) return;
      settled = true;
      // A worker blocked in a read loop or in Atomics.wait does not notice terminate(): tell
      // it to stop, wake it, then terminate.
      const flag = new Int32Array(cancel);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
      for (const ring of rings) cancelRing(ring);
      for (const worker of everyWorker) worker.terminate();
      if (error) reject(error);
      else resolve(digests);
    };

    /** Sends the next batch to `worker` if it takes it; whether it did. */
    const feedOne = (worker: Worker): boolean => {
      if (settled || nextBatch >= batches.length) return false;
      const held = inFlight.get(worker) ?? 0;
      if (!takesNext(held, batchBytes[nextBatch]!)) return false;
      const batch = nextBatch++;
      const batchJobs = batches[batch]!.map((i) => jobs.job(i));
      const request: WorkerRequest = {
        type: "hash",
        batch,
        algorithm: options.algorithm,
        cancel,
        jobs: batchJobs,
      };
      const reader = batchJobs.length === 1 && size(batchJobs[0]!) >= READ_AHEAD_MIN
        ? idleReaders.pop()
        : undefined;
      if (reader) {
        resetRing(reader.ring);
        readerOfBatch.set(batch, reader);
        request.ring = reader.ring;
        reader.worker.postMessage(
          { type: "read", job: batchJobs[0]!, ring: reader.ring } satisfies ReadRequest,
        );
      }
      worker.postMessage(request);
      inFlight.set(worker, held + 1);
      return true;
    };
    const feed = (worker: Worker) => {
      while (feedOne(worker));
    };

    const receive = (worker: Worker, reply: WorkerReply) => {
      switch (reply.type) {
        case "bytes":
          options.onBytes?.(reply.bytes);
          return;
        case "done": {
          const indices = batches[reply.batch]!;
          digests.setAll(indices, reply.digests);
          inFlight.set(worker, (inFlight.get(worker) ?? 1) - 1);
          const reader = readerOfBatch.get(reply.batch);
          if (reader) {
            // The hasher saw the ring finished: its reader is done with it.
            readerOfBatch.delete(reply.batch);
            idleReaders.push(reader);
          }
          batchesDone++;
          if (reply.bytes > 0) options.onBytes?.(reply.bytes);
          options.onJobsDone?.(indices);
          if (batchesDone === batches.length) settle();
          else feed(worker);
          return;
        }
        case "failed":
          settle(rebuildError(reply));
          return;
      }
    };

    const start = (): Worker => {
      const adopted = options.prestarted?.adopt();
      const worker = adopted?.worker ?? new Worker(workerUrl, { type: "module" });
      everyWorker.push(worker);
      worker.onerror = (event: ErrorEvent) => {
        event.preventDefault();
        settle(workerFailed(event.message));
      };
      worker.onmessageerror = () => settle(workerFailed("a message could not be read"));
      if (adopted?.failure !== undefined) {
        queueMicrotask(() => settle(workerFailed(adopted.failure!)));
      }
      return worker;
    };
    try {
      for (let i = 0; i < count; i++) {
        const worker = start();
        workers.push(worker);
        inFlight.set(worker, 0);
        worker.onmessage = (event: MessageEvent<WorkerReply>) => {
          if (settled) return;
          try {
            receive(worker, event.data);
          } catch (error) {
            settle(toModelVerifyError(error));
          }
        };
        // The first worker gets the biggest job: start its reader next, not after every other
        // worker (each `new Worker` blocks this thread for about 10 ms).
        // Readers send nothing: what they read, and how they fail, goes through their ring.
        for (let r = 0; i === 0 && r < readers; r++) {
          const ring = createRing();
          rings.push(ring);
          idleReaders.push({ worker: start(), ring });
        }
      }
      // Round-robin: every worker gets its first batch before any gets a second.
      for (let round = 0; round < IN_FLIGHT; round++) {
        for (const worker of workers) feedOne(worker);
      }
    } catch (error) {
      settle(workerFailed(error instanceof Error ? error.message : String(error)));
    }
  });
}

function size(job: HashJob): number {
  return job.end - job.start;
}

/** Errors do not cross the worker boundary as classes: rebuild the typed one from its parts. */
function rebuildError(reply: Extract<WorkerReply, { type: "failed" }>): ModelVerifyError {
  if (reply.name === "InputError") return new InputError(reply.code, reply.message);
  return new InternalError(
    reply.code === "INTERNAL" ? "WORKER_FAILED" : reply.code,
    `Hashing '${reply.job}' failed: ${reply.message}`,
  );
}

function workerFailed(detail: string): InternalError {
  return new InternalError("WORKER_FAILED", `A hashing worker failed: ${detail}`);
}
