/**
 * What the worker pool (`worker_pool.ts`) and the hashing worker (`hash_worker.ts`) share: the
 * messages they exchange and the sizes both sides plan with. A leaf module (it imports only
 * types), so neither side imports the other.
 *
 * @module
 */

import type { HashAlgorithm } from "./engines.ts";
import type { HashJob } from "./hash_file.ts";
import type { ReadRing } from "./read_ring.ts";

/** A batch of jobs sent to a worker to hash. */
export interface WorkerRequest {
  type: "hash";
  batch: number;
  algorithm: HashAlgorithm;
  /**
   * When set, the batch is one job whose bytes another worker reads into this ring (a
   * {@link ReadRequest}); this worker only hashes them. Otherwise it reads with blocking reads.
   */
  ring?: ReadRing;
  /**
   * One Int32 the pool sets to 1 when it gives up (the first failure): a worker in a blocking
   * loop does not notice `terminate()`, so it checks this between reads and stops instead of
   * hashing the rest of a big file for nothing.
   */
  cancel: SharedArrayBuffer;
  jobs: HashJob[];
}

/**
 * Read one job into a ring for the worker that hashes it. No reply: a failure travels through
 * the ring to the hashing worker, which reports it.
 */
export interface ReadRequest {
  type: "read";
  job: HashJob;
  ring: ReadRing;
}

/** What a worker sends back. */
export type WorkerReply =
  | { type: "bytes"; bytes: number }
  | {
    type: "done";
    batch: number;
    /** The jobs' raw digests, one after another in job order (transferred, not copied). */
    digests: Uint8Array<ArrayBuffer>;
    bytes: number;
  }
  | {
    type: "failed";
    batch: number;
    /** Name of the job that failed. */
    job: string;
    /** Error class name (`InputError`) when the error was a typed one. */
    name: string;
    code: string;
    message: string;
  };

/**
 * Jobs at least this big are read by a worker of their own while they are hashed, when a core
 * is spare (see `readerCount` in `worker_pool.ts`). Such a job is always alone in its batch.
 */
export const READ_AHEAD_MIN = 16 << 20;
/** Bytes hashed between two progress messages, so a big file shows progress. */
export const PROGRESS_BYTES = 32 << 20;
