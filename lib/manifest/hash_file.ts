/**
 * A unit of hashing work (one file, or one shard of it) and the checks that the file read is the
 * one listed, shared by every reader (`hash_blocking.ts`, the workers' reading rings).
 *
 * @module
 */

import { escapeName } from "../_escape.ts";
import { InputError } from "../errors.ts";

/** One unit of hashing work: a whole file (`start` 0, `end` size) or one shard of it. */
export interface HashJob {
  /** Resource name as it appears in the manifest (`a/b.bin` or `a/b.bin:0:1024`). */
  name: string;
  /** Absolute path of the file to read. */
  path: string;
  /** First byte, inclusive. */
  start: number;
  /** Last byte, exclusive. */
  end: number;
  /** Size of the whole file as listed before hashing; a different size at read time fails. */
  fileSize: number;
  /** Modification time (ms) as listed before hashing, when known. */
  mtimeMs?: number | null;
  /** Inode number as listed before hashing, when known: another inode means a replaced file. */
  ino?: number | null;
}

/**
 * Fails unless the file is still what was listed: a regular file of the same size and
 * modification time, the same inode, still linked (a removed or renamed-over file keeps reading
 * its old bytes). Shared with the hashing worker.
 */
export function checkUnchanged(job: HashJob, info: Deno.FileInfo): void {
  checkRegularFile(job, info);
  const replaced = job.ino != null && info.ino != null && info.ino !== job.ino;
  if (info.nlink === 0 || replaced) throw removed(job);
  const mtime = info.mtime?.getTime() ?? null;
  const mtimeChanged = job.mtimeMs != null && mtime !== null && mtime !== job.mtimeMs;
  if (info.size !== job.fileSize || mtimeChanged) {
    throw new InputError(
      "FILE_CHANGED",
      `Model file '${escapeName(job.path)}' changed while being verified ` +
        `(size ${job.fileSize} -> ${info.size}${
          mtimeChanged ? ", modification time differs" : ""
        })`,
    );
  }
}

/** Fails when the path is no longer a regular file (replaced by a FIFO, device or directory). */
export function checkRegularFile(job: HashJob, info: Deno.FileInfo): void {
  if (!info.isFile) {
    throw new InputError(
      "FILE_CHANGED",
      `Model file '${escapeName(job.path)}' is no longer a regular file`,
    );
  }
}

/** The file is gone, or another file took its name. */
export function removed(job: HashJob): InputError {
  return new InputError(
    "FILE_CHANGED",
    `Model file '${escapeName(job.path)}' was removed or replaced while being verified`,
  );
}

/** The file ended before the bytes the listing promised. */
export function endedEarly(job: HashJob, position: number): InputError {
  return new InputError(
    "FILE_CHANGED",
    `Model file '${escapeName(job.path)}' ended at byte ${position}, expected ${job.end}: ` +
      "it changed while being verified",
  );
}

/** An OS error while opening or reading. */
export function unreadable(job: HashJob, error: unknown): InputError {
  const detail = error instanceof Error ? error.message : String(error);
  return new InputError(
    "FILE_UNREADABLE",
    `Cannot read model file '${escapeName(job.path)}': ${escapeName(detail)}`,
    { cause: error },
  );
}
