/**
 * The hashing worker: the single entry file `worker_pool.ts` starts once per worker (and that
 * `deno compile --include` must name). It hashes batches of jobs and answers with messages; it
 * keeps nothing between batches but its read buffer. The same module also serves as a reading
 * worker, which reads one big job into a shared ring ({@link ReadRequest}) for the worker that
 * hashes it.
 *
 * It reads like `hashJob` (same checks, same errors), tuned for a thread of its own:
 * - jobs run without an `await`, with blocking reads, and are checked by path (`stat`
 *   before opening and after reading): an async file operation costs tens of microseconds and,
 *   under Deno's read permission, a `stat` of an open file several times one by path, which
 *   would dominate a model of many small files; nothing else waits on this thread;
 * - a big job, when a core is spare, is read by a reading worker into a ring of shared buffers
 *   while this one hashes (`read_ring.ts`): reading, a copy from the page cache, then costs the
 *   hashing thread nothing. Async reads on this thread (Deno's I/O thread reading ahead) were
 *   slower than blocking ones: the copy still lands on this thread, plus a round trip per read;
 * - every {@link RECHECK_BYTES} the thread that reads checks the file again (size, mtime, inode,
 *   still linked), so a big file changed or removed mid-read fails then, not after the rest of it
 *   was read.
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
import {
  createHasherSync,
  engineReady,
  type HashAlgorithm,
  prepareEngine,
  type StreamHasher,
} from "./engines.ts";
import {
  checkRegularFile,
  checkUnchanged,
  endedEarly,
  type HashJob,
  removed,
  unreadable,
} from "./hash_file.ts";
import { DIGEST_BYTES } from "./digest_list.ts";
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
  READ_BUFFER,
  type ReadRequest,
  RECHECK_BYTES,
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
      const digest = ring ? hashFromRing(job, algorithm, ring) : hashBlocking(job, algorithm);
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

/**
 * A job read with blocking reads, without an `await`: the file is checked by path before it is
 * opened and after it was read (size, modification time, inode). Under Deno's read permission
 * a `stat` of an open file costs several times a `stat` by path, which is most of the time of a
 * small file.
 */
function hashBlocking(job: HashJob, algorithm: HashAlgorithm): Uint8Array {
  const hasher = createHasherSync(algorithm);
  // Opening a FIFO for reading would block until a writer comes: check the type first.
  checkUnchanged(job, statPath(job));
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(job.path, { read: true });
  } catch (error) {
    throw unreadable(job, error);
  }
  try {
    if (job.start > 0) file.seekSync(job.start, Deno.SeekMode.Start);
    readBlocking(file, job, hasher);
  } catch (error) {
    throw error instanceof InputError ? error : unreadable(job, error);
  } finally {
    file.close();
  }
  checkUnchanged(job, statPath(job));
  return hasher.digest();
}

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
 * fills `ring` with blocking reads, checking the open file every {@link RECHECK_BYTES} and at
 * the end. Ends the ring with `finish`, or `fail` with the error the hashing worker reports.
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
        if (crossed(position - job.start, n)) checkUnchanged(job, file.statSync());
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

/** `stat` by path; a file that is gone was removed while being verified. */
function statPath(job: HashJob): Deno.FileInfo {
  try {
    return Deno.statSync(job.path);
  } catch (error) {
    throw error instanceof Deno.errors.NotFound ? removed(job) : unreadable(job, error);
  }
}

function openChecked(job: HashJob): Deno.FsFile {
  let file: Deno.FsFile;
  try {
    checkRegularFile(job, statPath(job));
    file = Deno.openSync(job.path, { read: true });
  } catch (error) {
    throw error instanceof InputError ? error : unreadable(job, error);
  }
  try {
    checkUnchanged(job, file.statSync());
    if (job.start > 0) file.seekSync(job.start, Deno.SeekMode.Start);
    return file;
  } catch (error) {
    file.close();
    throw error instanceof InputError ? error : unreadable(job, error);
  }
}

function readBlocking(file: Deno.FsFile, job: HashJob, hasher: StreamHasher): void {
  let position = job.start;
  while (position < job.end) {
    const want = Math.min(buffer.length, job.end - position);
    const n = file.readSync(want === buffer.length ? buffer : buffer.subarray(0, want));
    if (n === null || n === 0) throw endedEarly(job, position);
    hasher.update(buffer.subarray(0, n));
    position += n;
    counted(n);
    if (crossed(position - job.start, n)) checkUnchanged(job, file.statSync());
    stopIfCancelled();
  }
}

/** Whether the last `n` bytes of the `done` read so far crossed a multiple of RECHECK_BYTES. */
function crossed(done: number, n: number): boolean {
  return Math.floor(done / RECHECK_BYTES) > Math.floor((done - n) / RECHECK_BYTES);
}

function counted(n: number): void {
  unreported += n;
  if (unreported >= PROGRESS_BYTES) {
    self.postMessage({ type: "bytes", bytes: unreported } satisfies WorkerReply);
    unreported = 0;
  }
}
