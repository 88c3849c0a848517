import { join } from "node:path";
import { assertEquals, assertThrows } from "../../tests/_assert.ts";
import { tempDir, writeModel } from "../../tests/_helpers.ts";
import { ConfigError } from "../errors.ts";
import { buildIgnoreList, GIT_PATHS, type IgnoreInputs, isIgnored } from "./ignore.ts";

const NONE: Omit<IgnoreInputs, "modelRoot"> = {
  userPaths: [],
  cwd: "/",
  internalPaths: [],
  recordedPaths: [],
  ignoreGitPaths: false,
};

Deno.test("buildIgnoreList() keeps paths inside the model as sorted relative POSIX paths", () => {
  assertEquals(
    buildIgnoreList({
      ...NONE,
      modelRoot: "/m",
      userPaths: ["/m/cache/", "/m/a/./b"],
      internalPaths: ["/m/model.sig"],
      recordedPaths: ["z/", "cache", "x//y"],
    }).ignored,
    ["a/b", "cache", "model.sig", "x/y", "z"],
  );
});

Deno.test("buildIgnoreList() drops internal and recorded paths that leave the model", () => {
  assertEquals(
    buildIgnoreList({
      ...NONE,
      modelRoot: "/m",
      internalPaths: ["/elsewhere/model.sig", "/m", "/", "/m/../m2/x"],
      recordedPaths: ["../x", "a/../../x", "/etc/passwd", "", ".", ".."],
    }).ignored,
    [],
  );
});

Deno.test("buildIgnoreList() refuses user entries outside the model, globs and '..' (exit 2)", () => {
  for (const entry of ["/elsewhere/x", "/m", "/", "*.md", "a?", "[ab]", "../x", "a/../b", ""]) {
    const error = assertThrows(
      () => buildIgnoreList({ ...NONE, modelRoot: "/m", userPaths: [entry] }),
      ConfigError,
    );
    assertEquals(error.code, "IGNORE_PATH_INVALID", entry);
  }
});

Deno.test("buildIgnoreList() adds git metadata only when asked", () => {
  const base = { ...NONE, modelRoot: "/m" };
  assertEquals(buildIgnoreList({ ...base, ignoreGitPaths: true }).ignored, [...GIT_PATHS].sort());
  assertEquals(buildIgnoreList({ ...base, ignoreGitPaths: false }).ignored, []);
});

Deno.test("buildIgnoreList() without git ignores drops git paths the signature recorded", () => {
  const recordedPaths = [...GIT_PATHS, "README.md", "sub/.git"];
  const base = { ...NONE, modelRoot: "/m", recordedPaths };
  assertEquals(buildIgnoreList({ ...base, ignoreGitPaths: false }).ignored, [
    "README.md",
    "sub/.git",
  ]);
  assertEquals(
    buildIgnoreList({ ...base, ignoreGitPaths: true }).ignored,
    [...recordedPaths].sort(),
  );
});

Deno.test("buildIgnoreList() resolves a path given through a symlinked directory", async () => {
  await using dir = await tempDir();
  const model = join(dir.path, "model");
  await Deno.mkdir(model);
  await Deno.symlink(model, join(dir.path, "alias"));
  assertEquals(
    buildIgnoreList({
      ...NONE,
      modelRoot: model,
      userPaths: [join(dir.path, "alias", "new", "x")],
      internalPaths: [join(dir.path, "alias", "model.sig")],
    }).ignored,
    ["model.sig", "new/x"],
  );
});

Deno.test("buildIgnoreList() leaves out a linked signature by its own path, not its target", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), { "weights.bin": "w" });
  await Deno.symlink(join(model, "weights.bin"), join(model, "model.sig"));
  assertEquals(
    buildIgnoreList({ ...NONE, modelRoot: model, internalPaths: [join(model, "model.sig")] })
      .ignored,
    ["model.sig"],
  );
});

Deno.test("buildIgnoreList() reads a relative entry against the model root, wherever it runs", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), { "README.md": "r", "w.bin": "w" });
  // The operator passes `README.md` and runs in `/`.
  const list = buildIgnoreList({ ...NONE, modelRoot: model, userPaths: ["README.md"], cwd: "/" });
  assertEquals(list, { ignored: ["README.md"], unmatched: [] });
});

Deno.test("buildIgnoreList() keeps model_signing's cwd-relative spelling when unambiguous", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), { "README.md": "r", "w.bin": "w" });
  // `model/README.md` from the parent: `<model>/model/README.md` does not exist.
  const fromParent = buildIgnoreList({
    ...NONE,
    modelRoot: model,
    userPaths: ["model/README.md"],
    cwd: dir.path,
  });
  assertEquals(fromParent, { ignored: ["README.md"], unmatched: [] });
  // Both readings exist: the model-relative one wins.
  await writeModel(model, { "model/README.md": "inner" });
  const both = buildIgnoreList({
    ...NONE,
    modelRoot: model,
    userPaths: ["model/README.md"],
    cwd: dir.path,
  });
  assertEquals(both.ignored, ["model/README.md"]);
});

Deno.test("buildIgnoreList() reports entries that match nothing", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), { "w.bin": "w" });
  const list = buildIgnoreList({
    ...NONE,
    modelRoot: model,
    userPaths: ["missing.txt", join(model, "gone"), "w.bin"],
    cwd: "/",
  });
  assertEquals(list.unmatched, ["missing.txt", join(model, "gone")]);
  assertEquals(list.ignored, ["gone", "missing.txt", "w.bin"]);
  // Neither reading exists: the model-relative one is kept, and named as a miss.
  const neither = buildIgnoreList({
    ...NONE,
    modelRoot: model,
    userPaths: ["model/nothing"],
    cwd: dir.path,
  });
  assertEquals(neither, { ignored: ["model/nothing"], unmatched: ["model/nothing"] });
});

Deno.test("isIgnored() matches a path and everything below it, component-wise", () => {
  const ignored = ["a", "b/c"];
  const table = [
    ["a", true],
    ["a/x", true],
    ["a/x/y", true],
    ["ab", false],
    ["a.txt", false],
    ["b", false],
    ["b/c", true],
    ["b/c/d", true],
    ["b/cd", false],
  ] as const;
  for (const [name, expected] of table) assertEquals(isIgnored(name, ignored), expected, name);
});
