/**
 * Splits the model's files into hash jobs: one per file, or one per shard.
 *
 * @module
 */

import type { HashJob } from "./hash_file.ts";
import type { Serialization } from "./manifest.ts";

/** A file to hash, as listed by the model tree. */
export interface FileToHash {
  name: string;
  path: string;
  size: number;
  mtimeMs: number | null;
  /** Inode number, when the file system reports one. */
  ino?: number | null;
}

/**
 * Files mode: one job per file, empty files included. Shards mode: `name:start:end` for every
 * `shardSize` bytes; an empty file has no shard, as upstream.
 */
export function planJobs(
  files: readonly FileToHash[],
  serialization: Pick<Serialization, "method" | "shardSize">,
): HashJob[] {
  const jobs: HashJob[] = [];
  for (const file of files) {
    const base = {
      path: file.path,
      fileSize: file.size,
      mtimeMs: file.mtimeMs,
      ino: file.ino ?? null,
    };
    if (serialization.method === "files") {
      jobs.push({ ...base, name: file.name, start: 0, end: file.size });
      continue;
    }
    const shard = serialization.shardSize!;
    for (let start = 0; start < file.size; start += shard) {
      const end = Math.min(start + shard, file.size);
      jobs.push({ ...base, name: `${file.name}:${start}:${end}`, start, end });
    }
  }
  return jobs;
}
