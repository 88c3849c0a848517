/**
 * Hashes one byte range of one file with bounded memory, and checks that the file did not change
 * while it was read.
 *
 * @module
 */

import { InputError } from "../errors.ts";
import { createHasher, type HashAlgorithm } from "./engines.ts";

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
}

/** Bytes read per call; the only buffer a job holds. */
export const CHUNK_SIZE = 1 << 20;

/**
 * Hashes the bytes `[job.start, job.end)` of `job.path`.
 *
 * @throws {InputError} when the file cannot be read, is shorter than expected, or its size or
 * modification time changed between listing and hashing.
 */
export async function hashJob(
  job: HashJob,
  algorithm: HashAlgorithm,
  onBytes?: (n: number) => void,
): Promise<Uint8Array> {
  const hasher = await createHasher(algorithm);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(job.path, { read: true });
  } catch (error) {
    throw new InputError("FILE_UNREADABLE", `Cannot read model file '${job.path}': ${msg(error)}`, {
      cause: error,
    });
  }
  try {
    const before = await file.stat();
    checkUnchanged(job, before);
    if (job.start > 0) await file.seek(job.start, Deno.SeekMode.Start);
    const buffer = new Uint8Array(Math.min(CHUNK_SIZE, Math.max(job.end - job.start, 1)));
    let position = job.start;
    while (position < job.end) {
      const want = Math.min(buffer.length, job.end - position);
      const n = await file.read(want === buffer.length ? buffer : buffer.subarray(0, want));
      if (n === null || n === 0) {
        throw new InputError(
          "FILE_CHANGED",
          `Model file '${job.path}' ended at byte ${position}, expected ${job.end}: ` +
            "it changed while being verified",
        );
      }
      hasher.update(buffer.subarray(0, n));
      position += n;
      onBytes?.(n);
    }
    checkUnchanged(job, await file.stat());
    return hasher.digest();
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError("FILE_UNREADABLE", `Cannot read model file '${job.path}': ${msg(error)}`, {
      cause: error,
    });
  } finally {
    file.close();
  }
}

function checkUnchanged(job: HashJob, info: Deno.FileInfo): void {
  const mtime = info.mtime?.getTime() ?? null;
  const mtimeChanged = job.mtimeMs != null && mtime !== null && mtime !== job.mtimeMs;
  if (!info.isFile || info.size !== job.fileSize || mtimeChanged) {
    throw new InputError(
      "FILE_CHANGED",
      `Model file '${job.path}' changed while being verified ` +
        `(size ${job.fileSize} -> ${info.size}${
          mtimeChanged ? ", modification time differs" : ""
        })`,
    );
  }
}

function msg(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
