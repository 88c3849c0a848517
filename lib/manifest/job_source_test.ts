import { join } from "node:path";
import { assertEquals } from "../../tests/_assert.ts";
import { tempDir, writeModel } from "../../tests/_helpers.ts";
import { walkModel, walkModelList } from "../tree/walk_model.ts";
import { DigestList } from "./digest_list.ts";
import { buildManifest } from "./build_manifest.ts";
import { hashJobList } from "./hash_jobs.ts";
import { arrayJobs, fileListJobs, jobNames } from "./job_source.ts";
import { planJobs } from "./plan_jobs.ts";
import { rootDigestOf, rootDigestOfList } from "./root_digest.ts";
import { isSerialWork } from "./hash_jobs.ts";

function model(files: number): Record<string, string> {
  const out: Record<string, string> = { "a-b": "x", "a/b": "y", "a.c": "", "é/ü": "z" };
  for (let i = 0; i < files; i++) out[`d${i % 3}/f${i}`] = "data ".repeat(i);
  return out;
}

Deno.test("fileListJobs() makes planJobs()'s jobs, in files and shards mode", async () => {
  await using dir = await tempDir();
  const root = await writeModel(join(dir.path, "m"), model(10));
  const tree = await walkModel(root, { ignored: [], allowSymlinks: false });
  const { list } = await walkModelList(root, { ignored: [], allowSymlinks: false });
  for (
    const serialization of [{ method: "files" as const }, {
      method: "shards" as const,
      shardSize: 7,
    }]
  ) {
    const planned = planJobs(tree.files, serialization);
    const source = fileListJobs(list, serialization);
    assertEquals(source.length, planned.length);
    assertEquals(jobNames(source), planned.map((job) => job.name));
    const same = arrayJobs(planned);
    for (let i = 0; i < source.length; i++) {
      assertEquals(source.job(i), planned[i]);
      assertEquals(source.size(i), same.size(i));
      assertEquals(source.startsFile(i) || i === 0, same.startsFile(i));
    }
  }
});

Deno.test("digest's compact path gives buildManifest()'s root digest, in-thread and on workers", async () => {
  await using dir = await tempDir();
  // 2,100 files: past the in-process path's bound (isSerialWork), so the workers hash.
  for (const files of [3, 2100]) {
    const root = await writeModel(join(dir.path, `m${files}`), model(files));
    const tree = await walkModel(root, { ignored: [], allowSymlinks: false });
    const bytes = tree.files.reduce((sum, f) => sum + f.size, 0);
    assertEquals(isSerialWork(bytes, tree.files.length), files === 3);
    const built = await buildManifest(tree.files, { method: "files", hashType: "sha256" });
    const { list } = await walkModelList(root, { ignored: [], allowSymlinks: false });
    const digests = await hashJobList(fileListJobs(list, { method: "files" }), {
      algorithm: "sha256",
    });
    assertEquals(await rootDigestOfList(list.names, digests), await rootDigestOf(built.entries));
    const byName = new Map(built.entries.map((e) => [e.name, e.digest]));
    assertEquals(
      list.names.map((name, i) => [name, digests.hex(i)]),
      list.names.map((n) => [n, byName.get(n)]),
    );
  }
});

Deno.test("DigestList stores digests by job number and rejects a wrong length", () => {
  const list = new DigestList(3, 2);
  list.setAll([2, 0], new Uint8Array([1, 2, 3, 4]));
  assertEquals(list.toHexList(), ["0304", "0000", "0102"]);
  assertEquals(list.equals(2, new Uint8Array([1, 2])), true);
  assertEquals(list.equals(2, new Uint8Array([1, 3])), false);
  assertEquals(list.equals(2, new Uint8Array([1, 2, 3])), false);
  let failed = false;
  try {
    list.setAll([1], new Uint8Array(3));
  } catch {
    failed = true;
  }
  assertEquals(failed, true);
});
