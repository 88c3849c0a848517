import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { tempDir, writeModel } from "../../tests/_helpers.ts";
import { InputError } from "../errors.ts";
import { walkModel } from "../tree/walk_model.ts";
import { referenceDigest } from "../../tests/_fixtures/reference_digest.ts";
import type { HashJob } from "./hash_file.ts";
import { hashJobs, type HashProgress, isSerialWork } from "./hash_jobs.ts";
import { planJobs } from "./plan_jobs.ts";

const MIB = 1 << 20;

function filled(size: number, value: number): Uint8Array {
  return new Uint8Array(size).map((_, i) => (i * 31 + value) & 0xff);
}

async function jobsOf(root: string, shardSize?: number): Promise<HashJob[]> {
  const tree = await walkModel(root, { ignored: [], allowSymlinks: false });
  return planJobs(tree.files, shardSize ? { method: "shards", shardSize } : { method: "files" });
}

async function reference(jobs: readonly HashJob[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const job of jobs) out.set(job.name, await referenceDigest(job, "sha256"));
  return out;
}

/** A model too small for workers, and one big enough for them. */
const SMALL_MODEL = {
  "config.json": '{"hidden_size": 8}\n',
  "weights.bin": filled(1000, 1),
  "empty": new Uint8Array(0),
};
const LARGE_MODEL: Record<string, Uint8Array> = {
  "weights-1.bin": filled(6 * MIB + 3, 2),
  "weights-2.bin": filled(5 * MIB, 3),
  "sub/empty": new Uint8Array(0),
};
// Enough files that starting workers pays (see isSerialWork).
for (let i = 0; i < 2100; i++) LARGE_MODEL[`sub/f${i}`] = filled(i % 700, i);

Deno.test("hashJobs() gives the single-threaded digests on both paths, in job order", async (t) => {
  await using dir = await tempDir();
  const small = await writeModel(join(dir.path, "small"), SMALL_MODEL);
  const large = await writeModel(join(dir.path, "large"), LARGE_MODEL);
  for (const [label, root] of [["in-thread (little work)", small], ["worker pool", large]]) {
    for (const shardSize of [undefined, MIB]) {
      const jobs = await jobsOf(root!, shardSize);
      const expected = await reference(jobs);
      for (const maxWorkers of [undefined, 1, 2, 3]) {
        await t.step(
          `${label}, shards ${shardSize ?? "none"}, maxWorkers ${maxWorkers}`,
          async () => {
            const digests = await hashJobs(jobs, {
              algorithm: "sha256",
              ...(maxWorkers ? { maxWorkers } : {}),
            });
            assertEquals([...digests.entries()], [...expected.entries()]);
          },
        );
      }
    }
  }
  const sizes = Object.values(LARGE_MODEL).map((b) => b.length);
  const bytes = sizes.reduce((sum, n) => sum + n, 0);
  assert(!isSerialWork(bytes, sizes.length), "the large model must be large enough for the pool");
  const smallSizes = Object.values(SMALL_MODEL).map((b) => b.length);
  assert(isSerialWork(smallSizes.reduce((sum: number, n) => sum + n, 0), smallSizes.length));
});

Deno.test("hashJobs() reports progress up to every job, file and byte", async (t) => {
  await using dir = await tempDir();
  const small = await writeModel(join(dir.path, "small"), SMALL_MODEL);
  const large = await writeModel(join(dir.path, "large"), LARGE_MODEL);
  for (const [label, root] of [["in-thread", small], ["pool", large]]) {
    await t.step(`${label}, 1 MiB shards`, async () => {
      const jobs = await jobsOf(root!, MIB);
      const seen: HashProgress[] = [];
      await hashJobs(jobs, { algorithm: "sha256", onProgress: (p) => seen.push(p) });
      const files = new Set(jobs.map((j) => j.path)).size;
      const bytes = jobs.reduce((sum, j) => sum + j.end - j.start, 0);
      assertEquals(seen.at(-1), {
        jobsDone: jobs.length,
        jobsTotal: jobs.length,
        filesDone: files,
        filesTotal: files,
        bytesDone: bytes,
        bytesTotal: bytes,
      });
      for (let i = 1; i < seen.length; i++) {
        assert(seen[i]!.bytesDone >= seen[i - 1]!.bytesDone, "bytes never go back");
        assert(seen[i]!.filesDone >= seen[i - 1]!.filesDone, "files never go back");
      }
    });
  }
});

Deno.test("hashJobs() of nothing is empty", async () => {
  assertEquals(await hashJobs([], { algorithm: "blake3" }), new Map());
});

/**
 * A sparse file big enough that hashing it takes far longer than the round trip of one progress
 * message; `change` runs on the first progress report, while the worker is reading.
 */
async function changeMidHash(change: (path: string) => Promise<void>): Promise<InputError> {
  await using dir = await tempDir();
  const root = join(dir.path, "model");
  await writeModel(root, { "config.json": "{}" });
  const path = join(root, "huge.bin");
  const file = await Deno.open(path, { write: true, create: true });
  await file.truncate(4 * 1024 * MIB);
  file.close();
  const jobs = await jobsOf(root);
  let changed: Promise<void> | undefined;
  const error = await assertFailsWith(
    () =>
      hashJobs(jobs, {
        algorithm: "sha256",
        onProgress: (p) => {
          // Only the huge file has this many bytes: its worker is reading it now.
          if (p.bytesDone >= 32 * MIB && p.filesDone < p.filesTotal) changed ??= change(path);
        },
      }),
    InputError,
    "FILE_CHANGED",
  );
  await changed;
  assertStringIncludes(error.message, path);
  return error;
}

Deno.test("hashJobs() fails with FILE_CHANGED naming a file truncated mid-hash", async () => {
  await changeMidHash((path) => Deno.truncate(path, 1000));
});

Deno.test("hashJobs() fails with FILE_CHANGED naming a file removed mid-hash", async () => {
  const error = await changeMidHash((path) => Deno.remove(path));
  assertStringIncludes(error.message, "removed");
});

Deno.test("hashJobs() fails with FILE_CHANGED naming a file removed before hashing", async () => {
  await using dir = await tempDir();
  const large = await writeModel(join(dir.path, "large"), LARGE_MODEL);
  const jobs = await jobsOf(large);
  await Deno.remove(join(large, "sub", "f3"));
  const error = await assertFailsWith(
    () => hashJobs(jobs, { algorithm: "sha256" }),
    InputError,
    "FILE_CHANGED",
  );
  assertStringIncludes(error.message, join(large, "sub", "f3"));
  assertStringIncludes(error.message, "removed");
});
