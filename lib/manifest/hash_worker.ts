/**
 * The hashing worker: the single entry file `worker_pool.ts` starts once per worker (and that
 * `deno compile --include` must name). It hashes batches of jobs and answers with messages; it
 * keeps nothing between batches but its two read buffers.
 *
 * It reads like `hashJob` (same checks, same errors), tuned for a thread of its own:
 * - jobs run without an `await`, with blocking reads, and are checked by path (`stat`
 *   before opening and after reading): an async file operation costs tens of microseconds and,
 *   under Deno's read permission, a `stat` of an open file several times one by path, which
 *   would dominate a model of many small files; nothing else waits on this thread;
 * - big jobs, when a core is spare, read ahead into a second buffer while the first is hashed,
 *   so reading (a copy from the page cache, done on Deno's I/O thread) overlaps hashing;
 * - every {@link RECHECK_BYTES} it checks the file again (size, mtime, inode, still linked), so
 *   a big file changed or removed mid-read fails then, not after the rest of it was read.
 * Memory per worker: two {@link READ_BUFFER} buffers, whatever the model size.
 *
 * Protocol (plain data):
 * - in: {@link WorkerRequest} `{ batch, algorithm, readAhead, jobs }`
 * - out: {@link WorkerReply} `bytes` now and then while a batch runs (progress); `done` with
 *   hex digests in job order and the bytes not yet reported; `failed` for the first job that
 *   fails, with the error's class name, code and message.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { InputError, ModelVerifyError } from "../errors.ts";
import {
  createHasherSync,
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
import { toHex } from "./hex.ts";
import {
  PROGRESS_BYTES,
  READ_AHEAD_MIN,
  READ_BUFFER,
  RECHECK_BYTES,
  type WorkerReply,
  type WorkerRequest,
} from "./worker_protocol.ts";

const buffers = [new Uint8Array(READ_BUFFER), new Uint8Array(READ_BUFFER)] as const;
let unreported = 0;

/** Batches run one after another: they share the buffers, and awaiting lets the next one in. */
let queue = Promise.resolve();
self.onmessage = (event: MessageEvent<WorkerRequest>) => {
  queue = queue.then(() => runBatch(event.data));
};

/** Hashes one batch and posts `done` or `failed`; never rejects. */
async function runBatch({ batch, algorithm, readAhead, jobs }: WorkerRequest): Promise<void> {
  const digests: string[] = [];
  let current: HashJob | undefined;
  try {
    await prepareEngine(algorithm);
    for (current of jobs) {
      const digest = readAhead && current.end - current.start >= READ_AHEAD_MIN
        ? await hashReadingAhead(current, algorithm)
        : hashBlocking(current, algorithm);
      digests.push(toHex(digest));
    }
    const reply: WorkerReply = { type: "done", batch, digests, bytes: unreported };
    unreported = 0;
    self.postMessage(reply);
  } catch (error) {
    const typed = error instanceof ModelVerifyError;
    self.postMessage(
      {
        type: "failed",
        batch,
        job: current?.name ?? "",
        name: typed ? error.name : "Error",
        code: typed ? error.code : "INTERNAL",
        message: error instanceof Error ? error.message : String(error),
      } satisfies WorkerReply,
    );
  }
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

/** A big job: read ahead, and checked on the open file as it goes. */
async function hashReadingAhead(job: HashJob, algorithm: HashAlgorithm): Promise<Uint8Array> {
  const hasher = createHasherSync(algorithm);
  const file = openChecked(job);
  try {
    await readAhead(file, job, hasher);
    checkUnchanged(job, file.statSync());
    return hasher.digest();
  } catch (error) {
    throw error instanceof InputError ? error : unreadable(job, error);
  } finally {
    file.close();
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
  const buffer = buffers[0];
  let position = job.start;
  while (position < job.end) {
    const want = Math.min(buffer.length, job.end - position);
    const n = file.readSync(want === buffer.length ? buffer : buffer.subarray(0, want));
    if (n === null || n === 0) throw endedEarly(job, position);
    hasher.update(buffer.subarray(0, n));
    position += n;
    counted(n);
    if (crossed(position - job.start, n)) checkUnchanged(job, file.statSync());
  }
}

/** Reads the next buffer while hashing the current one. */
async function readAhead(file: Deno.FsFile, job: HashJob, hasher: StreamHasher): Promise<void> {
  let position = job.start;
  let requested = job.start;
  let index = 0;
  const request = (buffer: Uint8Array) => {
    const want = Math.min(buffer.length, job.end - requested);
    requested += want;
    return file.read(want === buffer.length ? buffer : buffer.subarray(0, want));
  };
  let pending: Promise<number | null> | undefined = request(buffers[0]);
  try {
    while (pending) {
      const n = await pending;
      pending = undefined;
      const buffer = buffers[index]!;
      if (n === null || n === 0) throw endedEarly(job, position);
      // After a short read (rare on regular files) the file offset, not `requested`, is next.
      requested = Math.min(requested, position + n);
      index ^= 1;
      if (requested < job.end) pending = request(buffers[index]!);
      hasher.update(buffer.subarray(0, n));
      position += n;
      counted(n);
      if (crossed(position - job.start, n)) checkUnchanged(job, file.statSync());
    }
  } finally {
    // Never leave a read behind unobserved, whatever failed.
    pending?.catch(() => {});
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
