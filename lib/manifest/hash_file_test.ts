import { join } from "node:path";
import { assertFailsWith, assertStringIncludes } from "../../tests/_assert.ts";
import { tempDir } from "../../tests/_helpers.ts";
import { InputError } from "../errors.ts";
import { prepareEngine } from "./engines.ts";
import { hashBlocking, READ_BUFFER } from "./hash_blocking.ts";
import type { HashJob } from "./hash_file.ts";
import { hashJobs } from "./hash_jobs.ts";

async function mkfifo(path: string): Promise<boolean> {
  try {
    return (await new Deno.Command("mkfifo", { args: [path] }).output()).success;
  } catch {
    return false;
  }
}

/** A file listed as regular, then replaced by a FIFO before hashing: must fail, not block. */
async function swappedForFifo(dir: string): Promise<HashJob[]> {
  const jobs: HashJob[] = [];
  for (let i = 0; i < 40; i++) {
    const path = join(dir, `f${i}`);
    await Deno.writeTextFile(path, "x".repeat(1000));
    const info = await Deno.stat(path);
    jobs.push({
      name: `f${i}`,
      path,
      start: 0,
      end: 1000,
      fileSize: 1000,
      mtimeMs: info.mtime!.getTime(),
    });
  }
  await Deno.remove(jobs[7]!.path);
  await mkfifo(jobs[7]!.path);
  return jobs;
}

Deno.test("hashBlocking() fails on a file swapped for a FIFO instead of blocking on it", async () => {
  await using dir = await tempDir();
  const jobs = await swappedForFifo(dir.path);
  await prepareEngine("sha256");
  const error = await assertFailsWith(
    () =>
      Promise.resolve().then(() => hashBlocking(jobs[7]!, "sha256", new Uint8Array(READ_BUFFER))),
    InputError,
    "FILE_CHANGED",
  );
  assertStringIncludes(error.message, "f7");
});

Deno.test("hashJobs() in workers fails on a file swapped for a FIFO instead of blocking", async () => {
  await using dir = await tempDir();
  const jobs = await swappedForFifo(dir.path);
  // Enough work for the worker pool (more than the in-process threshold of 32 jobs).
  const error = await assertFailsWith(
    () => hashJobs(jobs, { algorithm: "sha256", maxWorkers: 2 }),
    InputError,
    "FILE_CHANGED",
  );
  assertStringIncludes(error.message, "f7");
});
