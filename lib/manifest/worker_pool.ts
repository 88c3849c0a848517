/**
 * A pool of hashing workers: largest work first, a bounded number of batches in flight per
 * worker, results keyed by job index, and fail-fast (the first failure terminates every worker
 * and rejects once, with the typed error rebuilt on this side of the boundary).
 *
 * @module
 */

import { InputError, InternalError, type ModelVerifyError, toModelVerifyError } from "../errors.ts";
import type { HashAlgorithm } from "./engines.ts";
import type { HashJob } from "./hash_file.ts";
import { READ_AHEAD_MIN, type WorkerReply, type WorkerRequest } from "./worker_protocol.ts";

/** Options of {@link hashInWorkers}. */
export interface PoolOptions {
  algorithm: HashAlgorithm;
  /** Number of workers to start (at most one per batch). */
  workers: number;
  /** CPUs available to this process; default: `workers`. Decides whether big jobs read ahead. */
  cpus?: number;
  /** Called with bytes hashed since the last call. */
  onBytes?: (bytes: number) => void;
  /** Called with the indices (into `jobs`) of jobs that finished. */
  onJobsDone?: (indices: readonly number[]) => void;
  /** The worker module; tests swap in a failing one. */
  workerUrl?: URL;
}

/**
 * Whether big jobs read ahead: only when fewer of them can run at once than there are CPUs. The
 * read ahead is a copy from the page cache on Deno's I/O thread; with a spare core it overlaps
 * hashing (one big file: about 15% faster than blocking reads), but when every core already
 * hashes, that thread only competes with them (8 shards on 2 cores: about 20% slower).
 */
export function readsAhead(jobs: readonly HashJob[], workers: number, cpus: number): boolean {
  const big = jobs.filter((job) => size(job) >= READ_AHEAD_MIN).length;
  return Math.min(workers, big) < cpus;
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
export function planBatches(jobs: readonly HashJob[]): number[][] {
  const order = jobs.map((_, i) => i).sort((a, b) => size(jobs[b]!) - size(jobs[a]!) || a - b);
  const batches: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  for (const index of order) {
    current.push(index);
    bytes += size(jobs[index]!);
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
 * Hashes `jobs` on `options.workers` workers.
 *
 * @returns hex digests in the order of `jobs`
 * @throws {InputError} the first job failure, naming the file (`FILE_CHANGED`, `FILE_UNREADABLE`)
 * @throws {InternalError} `WORKER_FAILED` when a worker cannot start or dies
 */
export function hashInWorkers(
  jobs: readonly HashJob[],
  options: PoolOptions,
): Promise<string[]> {
  const batches = planBatches(jobs);
  const batchBytes = batches.map((b) => b.reduce((sum, i) => sum + size(jobs[i]!), 0));
  const digests = new Array<string>(jobs.length);
  if (batches.length === 0) return Promise.resolve(digests);
  const count = Math.max(1, Math.min(options.workers, batches.length));
  const readAhead = readsAhead(jobs, count, options.cpus ?? options.workers);
  return new Promise<string[]>((resolve, reject) => {
    const workers: Worker[] = [];
    const inFlight = new Map<Worker, number>();
    let nextBatch = 0;
    let batchesDone = 0;
    let settled = false;

    const settle = (error?: ModelVerifyError) => {
      if (settled) return;
      settled = true;
      for (const worker of workers) worker.terminate();
      if (error) reject(error);
      else resolve(digests);
    };

    /** Sends the next batch to `worker` if it takes it; whether it did. */
    const feedOne = (worker: Worker): boolean => {
      if (settled || nextBatch >= batches.length) return false;
      const held = inFlight.get(worker) ?? 0;
      if (!takesNext(held, batchBytes[nextBatch]!)) return false;
      const batch = nextBatch++;
      const request: WorkerRequest = {
        batch,
        algorithm: options.algorithm,
        readAhead,
        jobs: batches[batch]!.map((i) => jobs[i]!),
      };
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
          indices.forEach((jobIndex, i) => digests[jobIndex] = reply.digests[i]!);
          inFlight.set(worker, (inFlight.get(worker) ?? 1) - 1);
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

    try {
      for (let i = 0; i < count; i++) {
        const worker = new Worker(options.workerUrl ?? WORKER_URL, { type: "module" });
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
        worker.onerror = (event: ErrorEvent) => {
          event.preventDefault();
          settle(workerFailed(event.message));
        };
        worker.onmessageerror = () => settle(workerFailed("a message could not be read"));
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
