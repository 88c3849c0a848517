import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { tempDir } from "../../tests/_helpers.ts";
import { ConfigError } from "../errors.ts";
import { checkSignatureTarget, writeSignature } from "./write_signature.ts";

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

Deno.test("writeSignature() writes the content and leaves no temporary file", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "model.sig");
  await writeSignature(path, "first");
  await writeSignature(path, new TextEncoder().encode("second"));
  assertEquals(await Deno.readTextFile(path), "second");
  assertEquals(await names(dir.path), ["model.sig"]);
});

Deno.test("writeSignature() replaces a symlink at the target instead of writing through it", async (t) => {
  await using dir = await tempDir();
  await t.step("a link to a file elsewhere", async () => {
    const victim = join(dir.path, "victim.txt");
    await Deno.writeTextFile(victim, "precious");
    const path = join(dir.path, "a.sig");
    await Deno.symlink(victim, path);
    await writeSignature(path, "bundle");
    assertEquals(await Deno.readTextFile(victim), "precious");
    assert((await Deno.lstat(path)).isFile);
    assertEquals(await Deno.readTextFile(path), "bundle");
  });
  await t.step("a dangling link", async () => {
    const target = join(dir.path, "would-be-created");
    const path = join(dir.path, "b.sig");
    await Deno.symlink(target, path);
    await writeSignature(path, "bundle");
    await Deno.lstat(target).then(
      () => {
        throw new Error("the link target was created");
      },
      () => {},
    );
    assert((await Deno.lstat(path)).isFile);
  });
});

Deno.test("writeSignature() fails with a clear configuration error", async (t) => {
  await using dir = await tempDir();
  await t.step("missing directory", async () => {
    const path = join(dir.path, "no", "such", "model.sig");
    const error = await assertFailsWith(
      () => writeSignature(path, "x"),
      ConfigError,
      "SIGNATURE_DIR_MISSING",
    );
    assertStringIncludes(error.message, join(dir.path, "no", "such"));
    assertEquals(error.exitCode, 2);
    await assertFailsWith(() => checkSignatureTarget(path), ConfigError, "SIGNATURE_DIR_MISSING");
  });
  await t.step("the parent is a file", async () => {
    const file = join(dir.path, "file");
    await Deno.writeTextFile(file, "");
    await assertFailsWith(
      () => writeSignature(join(file, "model.sig"), "x"),
      ConfigError,
      "SIGNATURE_DIR_MISSING",
    );
  });
  await t.step("the target is a directory", async () => {
    const target = join(dir.path, "dir.sig");
    await Deno.mkdir(target);
    await assertFailsWith(() => writeSignature(target, "x"), ConfigError, "SIGNATURE_NOT_WRITABLE");
  });
});
