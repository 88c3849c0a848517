/**
 * What the worker pool (`worker_pool.ts`) and the hashing worker (`hash_worker.ts`) share: the
 * messages they exchange and the sizes both sides plan with. A leaf module (it imports only
 * types), so neither side imports the other.
 *
 * @module
 */

import type { HashAlgorithm } from "./engines.ts";
import type { HashJob } from "./hash_file.ts";

/** A batch of jobs sent to a worker. */
export interface WorkerRequest {
  batch: number;
  algorithm: HashAlgorithm;
  /** Whether jobs of at least {@link READ_AHEAD_MIN} bytes read ahead (see `readsAhead`). */
  readAhead: boolean;
  jobs: HashJob[];
}

/** What a worker sends back. */
export type WorkerReply =
  | { type: "bytes"; bytes: number }
  | { type: "done"; batch: number; digests: string[]; bytes: number }
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

/** Size of each of the two read buffers of a worker: memory is workers x 2 x this. */
export const READ_BUFFER = 1 << 20;
/**
 * Jobs at least this big read ahead asynchronously when a core is spare (see `readsAhead` in
 * `worker_pool.ts`); smaller ones always use blocking reads.
 */
export const READ_AHEAD_MIN = 4 * READ_BUFFER;
/** Bytes hashed between two progress messages, so a big file shows progress. */
export const PROGRESS_BYTES = 32 << 20;
/** Bytes read between two checks that the file is still the one listed (fails a big file early). */
export const RECHECK_BYTES = 64 << 20;
