import { join } from "node:path";
import { assertEquals } from "../../tests/_assert.ts";
import { tempDir } from "../../tests/_helpers.ts";
import { buildIgnoreList, GIT_PATHS, isIgnored } from "./ignore.ts";

Deno.test("buildIgnoreList() keeps paths inside the model as sorted relative POSIX paths", () => {
  assertEquals(
    buildIgnoreList({
      modelRoot: "/m",
      absolutePaths: ["/m/model.sig", "/m/cache/", "/m/a/./b"],
      relativePaths: ["z/", "cache", "x//y"],
      ignoreGitPaths: false,
    }),
    ["a/b", "cache", "model.sig", "x/y", "z"],
  );
});

Deno.test("buildIgnoreList() drops paths that leave the model, from the user or the signature", () => {
  assertEquals(
    buildIgnoreList({
      modelRoot: "/m",
      absolutePaths: ["/elsewhere/model.sig", "/m", "/", "/m/../m2/x"],
      relativePaths: ["../x", "a/../../x", "/etc/passwd", "", ".", ".."],
      ignoreGitPaths: false,
    }),
    [],
  );
});

Deno.test("buildIgnoreList() adds git metadata only when asked", () => {
  const base = { modelRoot: "/m", absolutePaths: [], relativePaths: [] };
  assertEquals(buildIgnoreList({ ...base, ignoreGitPaths: true }), [...GIT_PATHS].sort());
  assertEquals(buildIgnoreList({ ...base, ignoreGitPaths: false }), []);
});

Deno.test("buildIgnoreList() resolves a path given through a symlinked directory", async () => {
  await using dir = await tempDir();
  const model = join(dir.path, "model");
  await Deno.mkdir(model);
  await Deno.symlink(model, join(dir.path, "alias"));
  assertEquals(
    buildIgnoreList({
      modelRoot: model,
      absolutePaths: [join(dir.path, "alias", "model.sig"), join(dir.path, "alias", "new", "x")],
      relativePaths: [],
      ignoreGitPaths: false,
    }),
    ["model.sig", "new/x"],
  );
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
