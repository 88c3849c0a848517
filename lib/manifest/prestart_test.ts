import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { assert, assertEquals, assertFailsWith } from "../../tests/_assert.ts";
import { tempDir, writeModel } from "../../tests/_helpers.ts";
import { InternalError } from "../errors.ts";
import { walkModel } from "../tree/walk_model.ts";
import { availableCpus } from "./cpu_count.ts";
import { referenceDigest } from "../../tests/_fixtures/reference_digest.ts";
import { estimatedMs, hashJobs, isSerialWork, poolSize, SERIAL_MAX_MS } from "./hash_jobs.ts";
import { planJobs } from "./plan_jobs.ts";
import { WorkerPrestart } from "./prestart.ts";
import { hashInWorkers, HashWorkers } from "./worker_pool.ts";

const MIB = 1 << 20;

async function smallFilesModel(root: string, count: number): Promise<string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < count; i++) files[`d${i % 7}/f${i}.txt`] = `file ${i} `.repeat(i % 50);
  return await writeModel(root, files);
}

Deno.test("hashInWorkers() adopts prestarted workers and gives the reference digests", async () => {
  await using dir = await tempDir();
  const root = await smallFilesModel(join(dir.path, "model"), 300);
  const tree = await walkModel(root, { ignored: [], allowSymlinks: false });
  const jobs = planJobs(tree.files, { method: "files" });
  const workers = new HashWorkers();
  try {
    workers.startUpTo(2);
    workers.startUpTo(2); // idempotent: two in total
    assertEquals(workers.started, 2);
    const digests = await hashInWorkers(jobs, {
      algorithm: "sha256",
      workers: 2,
      prestarted: workers,
    });
    const expected = await Promise.all(jobs.map((job) => referenceDigest(job, "sha256")));
    assertEquals(digests.toHexList(), expected);
    // Both were adopted (and terminated by the pool): none left idle.
    assertEquals(workers.adopt(), undefined);
  } finally {
    workers.close();
  }
});

Deno.test("a prestarted worker that failed to start fails the pool with WORKER_FAILED", async () => {
  await using dir = await tempDir();
  const root = await smallFilesModel(join(dir.path, "model"), 40);
  const tree = await walkModel(root, { ignored: [], allowSymlinks: false });
  const jobs = planJobs(tree.files, { method: "files" });
  const workers = new HashWorkers(pathToFileURL(join(dir.path, "absent_worker.js")));
  try {
    workers.startUpTo(1);
    // Let the load failure arrive before the pool adopts the worker.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await assertFailsWith(
      () => hashInWorkers(jobs, { algorithm: "sha256", workers: 1, prestarted: workers }),
      InternalError,
      "WORKER_FAILED",
    );
  } finally {
    workers.close();
  }
});

Deno.test("HashWorkers.close() terminates idle workers and starts none afterwards", () => {
  const workers = new HashWorkers();
  workers.startUpTo(1);
  workers.close();
  assertEquals(workers.adopt(), undefined);
  workers.startUpTo(3);
  assertEquals(workers.started, 1);
  assertEquals(workers.adopt(), undefined);
});

Deno.test("WorkerPrestart starts no worker for in-process work, one per CPU past it", async () => {
  const cpus = await availableCpus();
  const prestart = await WorkerPrestart.create();
  try {
    prestart.add(100, 100 * MIB);
    assert(isSerialWork(100 * MIB, 100));
    assertEquals(prestart.workers.started, 0);
    prestart.add(100, 100 * MIB);
    assert(!isSerialWork(200 * MIB, 200));
    assertEquals(prestart.workers.started, cpus);
  } finally {
    prestart.close();
  }
  const capped = await WorkerPrestart.create(1);
  try {
    capped.add(100_000, 10_000 * MIB);
    assertEquals(capped.workers.started, 1);
  } finally {
    capped.close();
  }
});

Deno.test("poolSize() takes one worker per CPU unless capped, never more than CPUs", () => {
  assertEquals(poolSize(4), 4);
  assertEquals(poolSize(4, 2), 2);
  assertEquals(poolSize(2, 32), 2);
  assertEquals(poolSize(1), 1);
});

Deno.test("isSerialWork() keeps little work in this thread: small models, not many files", () => {
  assert(isSerialWork(10 * MIB, 1));
  assert(isSerialWork(100 * MIB, 10));
  assert(!isSerialWork(1024 * MIB, 1));
  assert(!isSerialWork(0, 20_000));
  assert(estimatedMs(150 * MIB, 1) >= SERIAL_MAX_MS);
});

Deno.test("hashJobs() with prestarted workers gives the same digests as without", async () => {
  await using dir = await tempDir();
  // Past the in-process path's bound, so the pool hashes and adopts the prestarted workers.
  const root = await smallFilesModel(join(dir.path, "model"), 2100);
  const tree = await walkModel(root, { ignored: [], allowSymlinks: false });
  const jobs = planJobs(tree.files, { method: "files" });
  const plain = await hashJobs(jobs, { algorithm: "sha256" });
  const prestart = await WorkerPrestart.create();
  try {
    prestart.add(jobs.length, 0);
    assert(prestart.workers.started >= 1);
    assert(!isSerialWork(0, jobs.length));
    assertEquals(
      await hashJobs(jobs, { algorithm: "sha256", prestarted: prestart.workers }),
      plain,
    );
  } finally {
    prestart.close();
  }
});

Deno.test("walkModel() tells onFile each listed file's size and lists the same files", async () => {
  await using dir = await tempDir();
  const root = await smallFilesModel(join(dir.path, "model"), 60);
  const sizes: number[] = [];
  const seen = await walkModel(root, {
    ignored: ["d3"],
    allowSymlinks: false,
    onFile: (size) => sizes.push(size),
  });
  const plain = await walkModel(root, { ignored: ["d3"], allowSymlinks: false });
  assertEquals(seen.files, plain.files);
  assertEquals(sizes.sort(), plain.files.map((f) => f.size).sort());
  const single: number[] = [];
  await walkModel(join(root, "d0", "f0.txt"), {
    ignored: [],
    allowSymlinks: false,
    onFile: (s) => single.push(s),
  });
  assertEquals(single, [0]);
});
