/**
 * The hashing worker: the single entry file `worker_pool.ts` starts once per worker (and that
 * `deno compile --include` must name). It hashes batches of jobs and answers with messages; it
 * keeps nothing between batches but its read buffer. The same module also serves as a reading
 * worker, which reads one big job into a shared ring ({@link ReadRequest}) for the worker that
 * hashes it.
 *
 * Tuned for a thread of its own:
 * - jobs run without an `await`, with blocking reads (`hash_blocking.ts`, the same reading
 *   path as in-process hashing): nothing else waits on this thread;
 * - a big job, when a core is spare, is read by a reading worker into a ring of shared buffers
 *   while this one hashes (`read_ring.ts`): reading, a copy from the page cache, then costs the
 *   hashing thread nothing. Async reads on this thread (Deno's I/O thread reading ahead) were
 *   slower than blocking ones: the copy still lands on this thread, plus a round trip per read;
 * - every `RECHECK_BYTES` (`hash_blocking.ts`) the thread that reads checks the file again
 *   (size, mtime, inode, still linked), so a big file changed or removed mid-read fails then, not
 *   after the rest of it was read.
 * Memory per worker: one {@link READ_BUFFER}, or the ring it is given, whatever the model size.
 *
 * Protocol (plain data):
 * - in: {@link WorkerRequest} `{ type: "hash", batch, algorithm, ring?, jobs }`, or
 *   {@link ReadRequest} `{ type: "read", job, ring }` (no reply: failures go through the ring)
 * - out: {@link WorkerReply} `bytes` now and then while a batch runs (progress); `done` with
 *   the raw digests in job order (one buffer) and the bytes not yet reported; `failed` for the
 *   first job that fails, with the error's class name, code and message.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { collectGarbage } from "../collect_garbage.ts";
import { InputError, ModelVerifyError } from "../errors.ts";
import { createHasherSync, engineReady, type HashAlgorithm, prepareEngine } from "./engines.ts";
import { DIGEST_BYTES } from "./digest_list.ts";
import { crossedRecheck, hashBlocking, openChecked, READ_BUFFER } from "./hash_blocking.ts";
import { checkUnchanged, endedEarly, type HashJob, unreadable } from "./hash_file.ts";
import {
  type ReadRing,
  RingCancelled,
  RingFailure,
  type RingFailureDetail,
  RingReader,
  RingWriter,
} from "./read_ring.ts";
import {
  PROGRESS_BYTES,
  type ReadRequest,
  type WorkerReply,
  type WorkerRequest,
} from "./worker_protocol.ts";

const buffer = new Uint8Array(READ_BUFFER);
let unreported = 0;
/** The pool's cancel flag of the batch being hashed (see `WorkerRequest.cancel`). */
let cancel: Int32Array<ArrayBufferLike> = new Int32Array(1);

/** Batches run one after another: they share the buffer, and awaiting lets the next one in. */
let queue = Promise.resolve();
self.onmessage = (event: MessageEvent<WorkerRequest | ReadRequest>) => {
  const request = event.data;
  if (request.type === "read") readIntoRing(request.job, request.ring);
  else queue = queue.then(() => runBatch(request));
};

/** Hashes one batch and posts `done` or `failed`; never rejects. */
async function runBatch(
  { batch, algorithm, ring, cancel: flag, jobs }: WorkerRequest,
): Promise<void> {
  // Raw digests in one buffer, transferred: no string per job on either side.
  const width = DIGEST_BYTES[algorithm];
  const digests = new Uint8Array(jobs.length * width);
  let current: HashJob | undefined;
  cancel = new Int32Array(flag);
  try {
    for (const [i, job] of jobs.entries()) {
      current = job;
      stopIfCancelled();
      while (!engineReady(algorithm)) await prepareEngine(algorithm);
      const digest = ring
        ? hashFromRing(job, algorithm, ring)
        : hashBlocking(job, algorithm, buffer, HOOKS);
      if (digest.length !== width) {
        throw new Error(`${algorithm} gave a digest of ${digest.length} bytes`);
      }
      digests.set(digest, i * width);
    }
    const reply: WorkerReply = { type: "done", batch, digests, bytes: unreported };
    unreported = 0;
    self.postMessage(reply, [digests.buffer]);
    collectNowAndThen(jobs.length);
  } catch (error) {
    self.postMessage(
      { type: "failed", batch, job: current?.name ?? "", ...describe(error) } satisfies WorkerReply,
    );
  }
}

/**
 * Each hash leaves about 150 bytes of native memory (node:crypto's hasher state) that only a
 * full collection frees, which a worker's small heap hardly ever needs: without one, 7 MiB a
 * worker per 50,000 files, growing with the model. A full collection (10-30 ms in a worker on
 * a loaded machine) every {@link COLLECT_EVERY_JOBS} jobs bounds it to about 2.5 MiB; a model
 * of 20,000 files (10,000 a worker) pays none.
 */
function collectNowAndThen(jobs: number): void {
  jobsSinceCollect += jobs;
  if (jobsSinceCollect < COLLECT_EVERY_JOBS) return;
  jobsSinceCollect = 0;
  collectGarbage();
}

/** See {@link collectNowAndThen}. */
const COLLECT_EVERY_JOBS = 16384;
let jobsSinceCollect = 0;

/** The pool gave up on this run: stop between two reads. */
function stopIfCancelled(): void {
  if (Atomics.load(cancel, 0) !== 0) throw new RingCancelled();
}

/** The parts of an error that cross a thread boundary. */
function describe(error: unknown): RingFailureDetail {
  if (error instanceof RingFailure) return error.detail;
  const typed = error instanceof ModelVerifyError;
  return {
    name: typed ? error.name : "Error",
    code: typed ? error.code : "INTERNAL",
    message: error instanceof Error ? error.message : String(error),
  };
}

/** What the blocking reads of this worker report and check. */
const HOOKS = { onBytes: counted, stopIfCancelled };

/** A big job another worker reads into `ring` (see {@link readIntoRing}): hashing only. */
function hashFromRing(job: HashJob, algorithm: HashAlgorithm, ring: ReadRing): Uint8Array {
  const hasher = createHasherSync(algorithm);
  const reader = new RingReader(ring);
  let position = job.start;
  for (let bytes = reader.next(); bytes !== null; bytes = reader.next()) {
    hasher.update(bytes);
    reader.release();
    position += bytes.length;
    counted(bytes.length);
  }
  // The reader checked the length; a mismatch here is a bug, never a digest of other bytes.
  if (position !== job.end) throw endedEarly(job, position);
  return hasher.digest();
}

/**
 * The reading side of a big job: opens and checks the file as {@link hashBlocking} does, then
 * fills `ring` with blocking reads, checking the open file every `RECHECK_BYTES`
 * (`hash_blocking.ts`) and at the end. Ends the ring with `finish`, or `fail` with the error the
 * hashing worker reports.
 */
function readIntoRing(job: HashJob, ring: ReadRing): void {
  const writer = new RingWriter(ring);
  try {
    const file = openChecked(job);
    try {
      let position = job.start;
      while (position < job.end) {
        const slot = writer.nextSlot();
        const want = Math.min(slot.length, job.end - position);
        const n = file.readSync(want === slot.length ? slot : slot.subarray(0, want));
        if (n === null || n === 0) throw endedEarly(job, position);
        position += n;
        if (crossedRecheck(position - job.start, n)) checkUnchanged(job, file.statSync());
        writer.publish(n);
      }
      checkUnchanged(job, file.statSync());
    } catch (error) {
      throw error instanceof InputError ? error : unreadable(job, error);
    } finally {
      file.close();
    }
    writer.finish();
  } catch (error) {
    // Cancelled: the pool gave up and the hashing side stops on its own.
    if (!(error instanceof RingCancelled)) writer.fail(describe(error));
  }
}

function counted(n: number): void {
  unreported += n;
  if (unreported >= PROGRESS_BYTES) {
    self.postMessage({ type: "bytes", bytes: unreported } satisfies WorkerReply);
    unreported = 0;
  }
}
