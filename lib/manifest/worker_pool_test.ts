import { join } from "node:path";
import { pathToFileURL } from "node:url";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { INTEROP_DIR, NO_INTEROP, tempDir, writeModel } from "../../tests/_helpers.ts";
import { ConfigError, InputError, InternalError } from "../errors.ts";
import { walkModel } from "../tree/walk_model.ts";
import { HASH_ALGORITHMS } from "./engines.ts";
import { referenceDigest } from "../../tests/_fixtures/reference_digest.ts";
import type { HashJob } from "./hash_file.ts";
import { planJobs } from "./plan_jobs.ts";
import {
  BATCH_MAX_BYTES,
  BATCH_MAX_JOBS,
  hashInWorkers,
  IN_FLIGHT,
  planBatches,
  readerCount,
  takesNext,
} from "./worker_pool.ts";
import { cancelRing, createRing } from "./read_ring.ts";
import { READ_AHEAD_MIN, type WorkerReply, type WorkerRequest } from "./worker_protocol.ts";

const MIB = 1 << 20;

/** Deterministic bytes. */
function bytes(size: number, seed: number): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed || 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** A model whose files exercise both read paths of the worker and the batching. */
async function mixedModel(root: string): Promise<string> {
  const files: Record<string, Uint8Array> = {
    "empty.bin": new Uint8Array(0),
    "one.bin": bytes(1, 1),
    "below_read_ahead.bin": bytes(READ_AHEAD_MIN - 1, 2),
    "read_ahead.bin": bytes(READ_AHEAD_MIN + 12_345, 3),
    "odd/nine.bin": bytes(9 * MIB + 7, 4),
  };
  for (let i = 0; i < 150; i++) files[`many/f${String(i).padStart(3, "0")}.txt`] = bytes(i * 37, i);
  return await writeModel(root, files);
}

async function jobsOf(root: string, shardSize?: number, maxSize = Infinity): Promise<HashJob[]> {
  const tree = await walkModel(root, { ignored: [], allowSymlinks: false });
  const files = tree.files.filter((file) => file.size < maxSize);
  return planJobs(files, shardSize ? { method: "shards", shardSize } : { method: "files" });
}

function job(name: string, size: number): HashJob {
  return { name, path: `/nowhere/${name}`, start: 0, end: size, fileSize: size };
}

Deno.test("planBatches() puts the largest jobs first and groups small ones", () => {
  const jobs = [
    job("small-a", 10),
    job("huge", 3 * BATCH_MAX_BYTES),
    job("small-b", 10),
    job("big", BATCH_MAX_BYTES),
    ...Array.from({ length: BATCH_MAX_JOBS + 5 }, (_, i) => job(`tiny-${i}`, 1)),
  ];
  const batches = planBatches(jobs);
  assertEquals(batches[0], [1]);
  assertEquals(batches[1], [3]);
  assertEquals(batches[2]!.slice(0, 2), [0, 2]);
  assertEquals(batches[2]!.length, BATCH_MAX_JOBS);
  assertEquals(batches.flat().sort((a, b) => a - b), jobs.map((_, i) => i));
  for (const batch of batches) {
    const size = batch.reduce((sum, i) => sum + jobs[i]!.end, 0);
    assert(batch.length === 1 || size <= BATCH_MAX_BYTES, `batch of ${size} bytes`);
  }
  assertEquals(planBatches([]), []);
});

Deno.test("takesNext() queues a second batch only when it is small", () => {
  assertEquals(takesNext(0, 10 * BATCH_MAX_BYTES), true);
  assertEquals(takesNext(0, 1), true);
  assertEquals(takesNext(1, 1), true);
  assertEquals(takesNext(1, BATCH_MAX_BYTES), false);
  assertEquals(takesNext(IN_FLIGHT, 1), false);
});

Deno.test("readerCount() gives big jobs a reading worker only while a core is spare", () => {
  const big = (n: number) => Array.from({ length: n }, (_, i) => job(`big-${i}`, READ_AHEAD_MIN));
  const small = Array.from({ length: 100 }, (_, i) => job(`small-${i}`, READ_AHEAD_MIN - 1));
  assertEquals(readerCount([...big(1), ...small], 2, 2), 1);
  assertEquals(readerCount(big(8), 2, 2), 0);
  assertEquals(readerCount(big(8), 1, 2), 1);
  assertEquals(readerCount(big(3), 4, 4), 1);
  assertEquals(readerCount(big(2), 4, 8), 2);
  assertEquals(readerCount(big(1), 1, 1), 0);
  assertEquals(readerCount(small, 2, 2), 0);
});

Deno.test("a job big enough for a reading worker is always alone in its batch", () => {
  assert(READ_AHEAD_MIN >= BATCH_MAX_BYTES);
  const jobs = [job("a", READ_AHEAD_MIN), job("b", 1), job("c", READ_AHEAD_MIN + 1)];
  assertEquals(planBatches(jobs), [[2], [0], [1]]);
});

Deno.test("hashInWorkers() gives each worker its first batch before any gets a second", async (t) => {
  await using dir = await tempDir();
  // A stand-in worker that reads nothing and answers with its own identity as every digest.
  const tagging = join(dir.path, "tagging_worker.js");
  await Deno.writeTextFile(
    tagging,
    `const tag = crypto.getRandomValues(new Uint8Array(32));
self.onmessage = (e) => {
  if (e.data.type !== "hash") return;
  const digests = new Uint8Array(32 * e.data.jobs.length);
  e.data.jobs.forEach((_, i) => digests.set(tag, 32 * i));
  self.postMessage({ type: "done", batch: e.data.batch, digests, bytes: 0 });
};
`,
  );
  const workerUrl = pathToFileURL(tagging);
  const big = (name: string) => job(name, 4 * BATCH_MAX_BYTES);
  await t.step("two big files on two workers: one each", async () => {
    const tags = (await hashInWorkers([big("a"), big("b")], {
      algorithm: "sha256",
      workers: 2,
      workerUrl,
    })).toHexList();
    assertEquals(new Set(tags).size, 2);
  });
  await t.step("one big file and small ones: the small ones do not wait behind it", async () => {
    const small = Array.from({ length: 5 }, (_, i) => job(`small-${i}`, 100));
    const tags = (await hashInWorkers([...small, big("weights")], {
      algorithm: "sha256",
      workers: 2,
      workerUrl,
    })).toHexList();
    assertEquals(new Set(tags.slice(0, 5)).size, 1);
    assert(tags[0] !== tags[5], "the small files went to the other worker");
  });
});

Deno.test("hashInWorkers() gives the reference digests, in job order, for every engine", async (t) => {
  await using dir = await tempDir();
  const root = await mixedModel(join(dir.path, "model"));
  for (const shardSize of [undefined, MIB, 3]) {
    // 3-byte shards of small files only: of every file, they would be millions of jobs.
    const limited = await jobsOf(root, shardSize, shardSize === 3 ? 400 : Infinity);
    for (const algorithm of HASH_ALGORITHMS) {
      const expected: string[] = [];
      for (const j of limited) expected.push(await referenceDigest(j, algorithm));
      for (const workers of [1, 2, 3]) {
        await t.step(
          `${algorithm}, shards ${shardSize ?? "none"}, ${workers} workers`,
          async () => {
            const digests = await hashInWorkers(limited, { algorithm, workers });
            assertEquals(digests.toHexList(), expected);
          },
        );
      }
    }
  }
});

Deno.test("hashInWorkers() hashes big shards through reading workers, one reused or several", async (t) => {
  await using dir = await tempDir();
  const root = await writeModel(join(dir.path, "model"), {
    "weights.bin": bytes(2 * READ_AHEAD_MIN + 5 * MIB + 3, 7),
  });
  // Three shards: two big ones, at offsets 0 and READ_AHEAD_MIN + 1, and a small tail.
  const jobs = await jobsOf(root, READ_AHEAD_MIN + 1);
  assertEquals(jobs.map((j) => j.start), [0, READ_AHEAD_MIN + 1, 2 * READ_AHEAD_MIN + 2]);
  const expected: string[] = [];
  for (const j of jobs) expected.push(await referenceDigest(j, "sha256"));
  for (const [workers, cpus] of [[1, 2], [1, 4], [2, 4]] as const) {
    const readers = readerCount(jobs, workers, cpus);
    await t.step(`${workers} hashing worker(s), ${readers} reading worker(s)`, async () => {
      let bytes = 0;
      const digests = await hashInWorkers(jobs, {
        algorithm: "sha256",
        workers,
        cpus,
        onBytes: (n) => bytes += n,
      });
      assertEquals(digests.toHexList(), expected);
      assertEquals(bytes, jobs.reduce((sum, j) => sum + j.end - j.start, 0));
    });
  }
});

Deno.test("hashInWorkers() reports every byte and every job once", async () => {
  await using dir = await tempDir();
  const jobs = await jobsOf(await mixedModel(join(dir.path, "model")), MIB);
  let bytes = 0;
  const done: number[] = [];
  await hashInWorkers(jobs, {
    algorithm: "sha256",
    workers: 2,
    onBytes: (n) => bytes += n,
    onJobsDone: (indices) => done.push(...indices),
  });
  assertEquals(bytes, jobs.reduce((sum, j) => sum + j.end - j.start, 0));
  assertEquals(done.sort((a, b) => a - b), jobs.map((_, i) => i));
});

Deno.test("hashInWorkers() with no jobs starts no worker", async () => {
  assertEquals((await hashInWorkers([], { algorithm: "sha256", workers: 4 })).length, 0);
});

Deno.test({
  name: "hashInWorkers() reproduces the upstream goldens (files, 1 GB and 8-byte shards)",
  ignore: INTEROP_DIR === undefined,
  async fn(t) {
    const models = join(INTEROP_DIR!, "golden", "models");
    const expectedDir = join(INTEROP_DIR!, "golden", "expected");
    const fixtures: Record<string, string> = {
      sample_model_file: "sample_model_file/file_model",
      empty_model_file: "empty_model_file/empty_file_model",
      sample_model_folder: "sample_model_folder/sample_model",
      model_folder_with_empty_file: "model_folder_with_empty_file/empty_file_inside_model",
      deep_model_folder: "deep_model_folder/deep_model",
    };
    const variants = [
      { golden: "file/", suffix: "", shardSize: undefined },
      { golden: "file_shard/", suffix: "", shardSize: 1_000_000_000 },
      { golden: "file_shard/", suffix: "_small_shards", shardSize: 8 },
    ];
    for (const [fixture, path] of Object.entries(fixtures)) {
      for (const v of variants) {
        await t.step(`${v.golden}${fixture}${v.suffix}`, async () => {
          const golden = await Deno.readTextFile(join(expectedDir, v.golden + fixture + v.suffix));
          const jobs = await jobsOf(join(models, path), v.shardSize);
          const digests = await hashInWorkers(jobs, { algorithm: "sha256", workers: 2 });
          const lines = jobs.map((j, i) => `${j.name}:${digests.hex(i)}`).sort();
          assertEquals(lines, golden.split("\n").filter(Boolean).sort());
        });
      }
    }
  },
});
if (INTEROP_DIR === undefined) {
  Deno.test({ name: `hashInWorkers() goldens skipped: ${NO_INTEROP}`, ignore: true, fn() {} });
}

/**
 * Hashes `jobs` on one worker with blocking reads (1 CPU), then with a reading worker for the
 * big job (4 CPUs): both
 * must fail with FILE_CHANGED and a message holding every one of `parts`.
 */
async function assertChangedOnBothReadPaths(
  t: Deno.TestContext,
  jobs: HashJob[],
  ...parts: string[]
): Promise<void> {
  for (const cpus of [1, 4]) {
    await t.step(cpus === 1 ? "blocking reads" : "reading worker", async () => {
      const error = await assertFailsWith(
        () => hashInWorkers(jobs, { algorithm: "sha256", workers: 1, cpus }),
        InputError,
        "FILE_CHANGED",
      );
      for (const part of parts) assertStringIncludes(error.message, part);
    });
  }
}

Deno.test("hashInWorkers() fails with FILE_CHANGED naming a file that disappeared", async (t) => {
  await using dir = await tempDir();
  const root = await mixedModel(join(dir.path, "model"));
  const jobs = await jobsOf(root);
  await Deno.remove(join(root, "read_ahead.bin"));
  await assertChangedOnBothReadPaths(t, jobs, join(root, "read_ahead.bin"), "removed");
});

Deno.test("hashInWorkers() fails with FILE_CHANGED on a file replaced after listing", async (t) => {
  await using dir = await tempDir();
  const root = await mixedModel(join(dir.path, "model"));
  const jobs = await jobsOf(root);
  const big = join(root, "read_ahead.bin");
  const small = join(root, "many", "f010.txt");
  for (const path of [big, small]) {
    // Same size and modification time, another inode: only the inode tells.
    const info = await Deno.stat(path);
    await Deno.copyFile(path, path + ".new");
    await Deno.utime(path + ".new", info.atime!, info.mtime!);
    await Deno.rename(path + ".new", path);
  }
  await assertChangedOnBothReadPaths(t, jobs, big, "replaced");
  await assertChangedOnBothReadPaths(t, jobs.filter((j) => j.path !== big), small, "replaced");
});

Deno.test("hashInWorkers() fails with FILE_CHANGED when size or mtime changed after listing", async (t) => {
  await using dir = await tempDir();
  const root = await mixedModel(join(dir.path, "model"));
  const jobs = await jobsOf(root);
  const grown = join(root, "many", "f010.txt");
  await t.step("a small file grew (blocking reads)", async () => {
    await Deno.writeTextFile(grown, "more", { append: true });
    const error = await assertFailsWith(
      () => hashInWorkers(jobs, { algorithm: "sha256", workers: 2 }),
      InputError,
      "FILE_CHANGED",
    );
    assertStringIncludes(error.message, grown);
  });
  await t.step("a big file was rewritten with the same size (reading worker)", async () => {
    const fresh = await jobsOf(root);
    const big = join(root, "read_ahead.bin");
    const index = fresh.findIndex((j) => j.path === big);
    fresh[index] = { ...fresh[index]!, mtimeMs: fresh[index]!.mtimeMs! - 5_000 };
    const error = await assertFailsWith(
      () => hashInWorkers(fresh, { algorithm: "blake3", workers: 3 }),
      InputError,
      "FILE_CHANGED",
    );
    assertStringIncludes(error.message, big);
  });
});

Deno.test("hashInWorkers() rejects once when several jobs fail", async () => {
  await using dir = await tempDir();
  const root = await mixedModel(join(dir.path, "model"));
  const jobs = await jobsOf(root);
  await Deno.remove(join(root, "many"), { recursive: true });
  await assertFailsWith(
    () => hashInWorkers(jobs, { algorithm: "sha256", workers: 3 }),
    InputError,
    "FILE_CHANGED",
  );
});

Deno.test("hashInWorkers() fails with WORKER_FAILED when a worker dies or cannot start", async (t) => {
  await using dir = await tempDir();
  const root = await mixedModel(join(dir.path, "model"));
  const jobs = await jobsOf(root);
  const crashing = join(dir.path, "crashing_worker.js");
  await Deno.writeTextFile(
    crashing,
    'self.onmessage = () => { throw new Error("deliberate crash of a test worker"); };\n',
  );
  await t.step("a worker throws", async () => {
    const error = await assertFailsWith(
      () =>
        hashInWorkers(jobs, {
          algorithm: "sha256",
          workers: 2,
          workerUrl: pathToFileURL(crashing),
        }),
      InternalError,
      "WORKER_FAILED",
    );
    assertStringIncludes(error.message, "deliberate crash of a test worker");
  });
  await t.step("the worker module is missing", async () => {
    await assertFailsWith(
      () =>
        hashInWorkers(jobs, {
          algorithm: "sha256",
          workers: 2,
          workerUrl: pathToFileURL(join(dir.path, "absent_worker.js")),
        }),
      InternalError,
      "WORKER_FAILED",
    );
  });
});

Deno.test("the hashing worker stops when the pool's cancel flag is set", async (t) => {
  await using dir = await tempDir();
  const root = await mixedModel(join(dir.path, "model"));
  const [big] = (await jobsOf(root)).filter((j) => j.path.endsWith("read_ahead.bin"));
  const worker = new Worker(new URL("./hash_worker.ts", import.meta.url), { type: "module" });
  const replies: WorkerReply[] = [];
  let answered: (reply: WorkerReply) => void = () => {};
  worker.onmessage = (e: MessageEvent<WorkerReply>) => {
    replies.push(e.data);
    if (e.data.type !== "bytes") answered(e.data);
  };
  const run = (request: WorkerRequest) =>
    new Promise<WorkerReply>((resolve) => {
      answered = resolve;
      worker.postMessage(request);
    });
  const cancel = new SharedArrayBuffer(4);
  try {
    await t.step("not set: the job is hashed", async () => {
      const reply = await run({
        type: "hash",
        batch: 0,
        algorithm: "sha256",
        cancel,
        jobs: [big!],
      });
      assertEquals(reply.type, "done");
    });
    await t.step("set: the worker stops instead of hashing", async () => {
      Atomics.store(new Int32Array(cancel), 0, 1);
      const reply = await run({
        type: "hash",
        batch: 1,
        algorithm: "sha256",
        cancel,
        jobs: [big!],
      });
      assertEquals(reply.type, "failed");
      assertStringIncludes(reply.type === "failed" ? reply.message : "", "cancelled");
    });
    await t.step("a cancelled ring: the hashing side stops too", async () => {
      const ring = createRing();
      cancelRing(ring);
      const reply = await run({
        type: "hash",
        batch: 2,
        algorithm: "sha256",
        cancel: new SharedArrayBuffer(4),
        ring,
        jobs: [big!],
      });
      assertEquals(reply.type, "failed");
    });
  } finally {
    worker.terminate();
  }
});

Deno.test("hashInWorkers() passes on an error thrown by a progress callback", async () => {
  await using dir = await tempDir();
  const jobs = await jobsOf(await mixedModel(join(dir.path, "model")));
  await assertFailsWith(
    () =>
      hashInWorkers(jobs, {
        algorithm: "sha256",
        workers: 2,
        onJobsDone: () => {
          throw new ConfigError("STOP", "stop here");
        },
      }),
    ConfigError,
    "STOP",
  );
});
