/**
 * Reproduces model-transparency's serialization and payload goldens from
 * ../shared/interop/golden exactly: files, 1 GB shards and 8-byte shards.
 */

import { basename, join } from "node:path";
import { buildStatement } from "../lib/bundle/build_bundle.ts";
import { buildManifest } from "../lib/manifest/build_manifest.ts";
import type { Serialization } from "../lib/manifest/manifest.ts";
import { walkModel } from "../lib/tree/walk_model.ts";
import { assertEquals } from "./_assert.ts";
import { INTEROP_DIR, tempDir } from "./_helpers.ts";

const MODELS: Record<string, string> = {
  sample_model_file: "sample_model_file/file_model",
  empty_model_file: "empty_model_file/empty_file_model",
  sample_model_folder: "sample_model_folder/sample_model",
  empty_model_folder: "", // git cannot hold an empty folder: made in a temp dir
  model_folder_with_empty_file: "model_folder_with_empty_file/empty_file_inside_model",
  deep_model_folder: "deep_model_folder/deep_model",
  symlink_model_folder: "symlink_model_folder/symlink_model",
};

const VARIANTS = [
  { suffix: "", kind: "file", serialization: { method: "files" } },
  { suffix: "", kind: "file_shard", serialization: { method: "shards", shardSize: 1_000_000_000 } },
  {
    suffix: "_small_shards",
    kind: "file_shard",
    serialization: { method: "shards", shardSize: 8 },
  },
] as const;

const PAYLOADS = [
  { suffix: "", serialization: { method: "files" } },
  { suffix: "_shard", serialization: { method: "shards", shardSize: 1_000_000_000 } },
  { suffix: "_small_shards", serialization: { method: "shards", shardSize: 8 } },
] as const;

async function manifestOf(path: string, s: { method: "files" | "shards"; shardSize?: number }) {
  const tree = await walkModel(path, { ignored: [], allowSymlinks: true });
  const serialization: Serialization = {
    method: s.method,
    hashType: "sha256",
    allowSymlinks: true,
    ignorePaths: [],
    ...(s.shardSize === undefined ? {} : { shardSize: s.shardSize }),
  };
  const { entries } = await buildManifest(tree.files, serialization, { maxWorkers: 1 });
  return { entries, serialization };
}

async function withModel<T>(fixture: string, fn: (path: string) => Promise<T>): Promise<T> {
  if (fixture === "symlink_model_folder") return await withSymlinkModel(fn);
  if (MODELS[fixture]) return await fn(join(INTEROP_DIR!, "golden", "models", MODELS[fixture]!));
  await using dir = await tempDir();
  const path = join(dir.path, "empty_folder_model");
  await Deno.mkdir(path);
  return await fn(path);
}

/**
 * The corpus's `symlink_model/symlink_file` may arrive as a plain file holding the link text
 * (`../external/file`) when the copy did not keep symlinks. Rebuild the real layout in a temp dir:
 * a relative link to a file outside the model, as the golden README describes.
 */
async function withSymlinkModel<T>(fn: (path: string) => Promise<T>): Promise<T> {
  const source = join(INTEROP_DIR!, "golden", "models", "symlink_model_folder");
  const link = join(source, "symlink_model", "symlink_file");
  const target = (await Deno.lstat(link)).isSymlink
    ? await Deno.readLink(link)
    : (await Deno.readTextFile(link)).trim();
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "external"));
  await Deno.copyFile(join(source, "external", "file"), join(dir.path, "external", "file"));
  await Deno.mkdir(join(dir.path, "symlink_model"));
  await Deno.symlink(target, join(dir.path, "symlink_model", "symlink_file"));
  return await fn(join(dir.path, "symlink_model"));
}

Deno.test({
  name: "file and shard serializations reproduce the upstream goldens",
  ignore: INTEROP_DIR === undefined,
  async fn(t) {
    for (const fixture of Object.keys(MODELS)) {
      for (const variant of VARIANTS) {
        const golden = join(
          INTEROP_DIR!,
          "golden",
          "expected",
          variant.kind,
          fixture + variant.suffix,
        );
        await t.step(`${variant.kind}/${fixture}${variant.suffix}`, async () => {
          const expected = (await Deno.readTextFile(golden)).split("\n").filter(Boolean).sort();
          const { entries } = await withModel(fixture, (p) => manifestOf(p, variant.serialization));
          assertEquals(entries.map((e) => `${e.name}:${e.digest}`).sort(), expected);
        });
      }
    }
  },
});

Deno.test({
  name: "payloads reproduce the upstream in-toto statement goldens",
  ignore: INTEROP_DIR === undefined,
  async fn(t) {
    for (const fixture of Object.keys(MODELS)) {
      for (const variant of PAYLOADS) {
        const golden = join(
          INTEROP_DIR!,
          "golden",
          "expected",
          "payload",
          fixture + variant.suffix,
        );
        await t.step(`payload/${fixture}${variant.suffix}`, async () => {
          const expected = JSON.parse(await Deno.readTextFile(golden));
          const actual = await withModel(fixture, async (path) => {
            const { entries, serialization } = await manifestOf(path, variant.serialization);
            return JSON.parse(
              new TextDecoder().decode(buildStatement(basename(path), entries, serialization)),
            );
          });
          assertEquals(actual, expected);
        });
      }
    }
  },
});
