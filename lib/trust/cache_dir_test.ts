import { join } from "node:path";
import { assert, assertEquals, assertFailsWith } from "../../tests/_assert.ts";
import { TrustMaterialError } from "../errors.ts";
import { cacheDirCandidates, resolveTufCacheDir } from "./cache_dir.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "model-verify-cache-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("cacheDirCandidates() tries XDG_CACHE_HOME, then HOME/.sigstore", () => {
  assertEquals(cacheDirCandidates({ XDG_CACHE_HOME: "/xdg", HOME: "/home/u" }), [
    "/xdg/model-verify/tuf",
    "/home/u/.sigstore/model-verify/tuf",
  ]);
  assertEquals(cacheDirCandidates({ HOME: "/" }), ["/.sigstore/model-verify/tuf"]);
  assertEquals(cacheDirCandidates({ XDG_CACHE_HOME: " ", HOME: "" }), []);
});

Deno.test("resolveTufCacheDir() uses MODEL_SIGNING_TUF_CACHE when it is writable", async () => {
  await withTempDir(async (dir) => {
    const explicit = join(dir, "tuf");
    const resolved = await resolveTufCacheDir({
      tufCacheDir: explicit,
      env: { XDG_CACHE_HOME: join(dir, "xdg") },
    });
    assertEquals(resolved, { path: explicit, temporary: false });
    assert((await Deno.stat(explicit)).isDirectory);
  });
});

Deno.test("resolveTufCacheDir() fails when MODEL_SIGNING_TUF_CACHE cannot be written", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "");
    await assertFailsWith(
      () => resolveTufCacheDir({ tufCacheDir: join(file, "tuf") }),
      TrustMaterialError,
      "TUF_CACHE_UNUSABLE",
    );
  });
});

Deno.test("resolveTufCacheDir() skips an unusable XDG_CACHE_HOME for HOME/.sigstore", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "");
    const resolved = await resolveTufCacheDir({ env: { XDG_CACHE_HOME: file, HOME: dir } });
    assertEquals(resolved, {
      path: join(dir, ".sigstore", "model-verify", "tuf"),
      temporary: false,
    });
  });
});

Deno.test("resolveTufCacheDir() falls back to a new temp dir on a read-only home", async () => {
  await withTempDir(async (dir) => {
    const file = join(dir, "a-file");
    await Deno.writeTextFile(file, "");
    const resolved = await resolveTufCacheDir({ env: { HOME: file } });
    try {
      assert(resolved.temporary);
      assert((await Deno.stat(resolved.path)).isDirectory);
    } finally {
      await Deno.remove(resolved.path, { recursive: true });
    }
  });
});
