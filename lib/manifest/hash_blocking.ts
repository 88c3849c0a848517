/**
 * Reads and hashes one job with blocking calls and no `await`: the per-file path of the hashing
 * workers, and of this thread when a model is too small to be worth starting them
 * (`hash_jobs.ts`). An async file operation costs tens of microseconds, and under Deno's read
 * permission a `stat` of an open file several times one by path, which would dominate a model of
 * many small files; so a job is checked by path before it is opened and after it was read (size,
 * modification time, inode), and every {@link RECHECK_BYTES} through the open file, so a big file
 * changed or removed mid-read fails then, not after the rest of it was read.
 *
 * @module
 */

import { InputError } from "../errors.ts";
import { createHasherSync, type HashAlgorithm } from "./engines.ts";
import {
  checkRegularFile,
  checkUnchanged,
  endedEarly,
  type HashJob,
  removed,
  unreadable,
} from "./hash_file.ts";

/** Bytes read between two checks that the file is still the one listed (fails a big file early). */
export const RECHECK_BYTES = 64 << 20;
/**
 * Size of the read buffer of a thread that reads its own files. 256 KiB stays in the core's L2
 * cache between the read's copy and the hash: one thread reading and hashing 256 MiB took
 * 172-180 ms against 183-189 ms with 1 MiB (64 and 128 KiB: more calls, no faster).
 */
export const READ_BUFFER = 256 << 10;

/** What the reading loop reports and asks between two reads. */
export interface ReadHooks {
  /** Called with the bytes of each read. */
  onBytes?: (n: number) => void;
  /** Called between two reads; throws to stop (the pool gave up on the run). */
  stopIfCancelled?: () => void;
}

/**
 * Hashes `[job.start, job.end)` of `job.path`, reading into `buffer` (its whole size per call).
 *
 * @throws {InputError} `FILE_CHANGED` when the file is no longer the one listed (another type,
 * size, modification time or inode, removed, shorter), `FILE_UNREADABLE` when the OS refuses
 */
export function hashBlocking(
  job: HashJob,
  algorithm: HashAlgorithm,
  buffer: Uint8Array,
  hooks: ReadHooks = {},
): Uint8Array {
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
    let position = job.start;
    while (position < job.end) {
      const want = Math.min(buffer.length, job.end - position);
      const n = file.readSync(want === buffer.length ? buffer : buffer.subarray(0, want));
      if (n === null || n === 0) throw endedEarly(job, position);
      hasher.update(buffer.subarray(0, n));
      position += n;
      hooks.onBytes?.(n);
      if (crossedRecheck(position - job.start, n)) checkUnchanged(job, file.statSync());
      hooks.stopIfCancelled?.();
    }
  } catch (error) {
    throw error instanceof InputError ? error : unreadable(job, error);
  } finally {
    file.close();
  }
  checkUnchanged(job, statPath(job));
  return hasher.digest();
}

/**
 * Opens the job's file for a reader of its own (`hash_worker.ts`'s ring): checked by path (a
 * regular file, so a FIFO is never opened), then as opened, and positioned at `job.start`.
 *
 * @throws {InputError} as {@link hashBlocking}
 */
export function openChecked(job: HashJob): Deno.FsFile {
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

/** Whether the last `n` bytes of the `done` read so far crossed a multiple of RECHECK_BYTES. */
export function crossedRecheck(done: number, n: number): boolean {
  return Math.floor(done / RECHECK_BYTES) > Math.floor((done - n) / RECHECK_BYTES);
}

/** `stat` by path; a file that is gone was removed while being verified. */
function statPath(job: HashJob): Deno.FileInfo {
  try {
    return Deno.statSync(job.path);
  } catch (error) {
    throw error instanceof Deno.errors.NotFound ? removed(job) : unreadable(job, error);
  }
}
