import { join } from "node:path";
import { assertEquals } from "../../tests/_assert.ts";
import { tempDir, writeModel } from "../../tests/_helpers.ts";
import { FileList, type ModelFile } from "./file_list.ts";
import { walkModelList } from "./walk_model.ts";

const STRICT = { ignored: [], allowSymlinks: false };

Deno.test("FileList keeps what ModelFile objects held: name, path, size, mtime, inode", () => {
  const files: ModelFile[] = [
    { name: "b", path: "/m/b", size: 3, mtimeMs: 1700000000123.5, ino: 2 ** 40 + 1 },
    { name: "a/c", path: "/m/a/c", size: 0, mtimeMs: null, ino: null },
    { name: ".", path: "/elsewhere/w.bin", size: 2 ** 40, mtimeMs: 0, ino: 0 },
  ];
  const list = FileList.of("/m", files);
  assertEquals(list.length, 3);
  assertEquals(list.toArray(), files);
  assertEquals(list.totalBytes(), 2 ** 40 + 3);
  list.sortByName();
  assertEquals(list.names, [".", "a/c", "b"]);
  assertEquals(list.toArray(), [files[2], files[1], files[0]]);
  // A renamed file keeps its path; renamed back, the path is the root's again.
  list.rename(2, "x");
  assertEquals(list.file(2), { ...files[0]!, name: "x" });
  assertEquals(FileList.of("/", [{ ...files[0]!, path: "/b" }]).path(0), "/b");
});

Deno.test("FileList grows past its first capacity and sorts many files by name", () => {
  const list = new FileList("/root/");
  const count = 1000;
  for (let i = 0; i < count; i++) list.add(`f${(count - i) * 7 % 1009}`, i, i * 1.5, i);
  list.sortByName();
  const names = [...list.names];
  assertEquals(names, [...names].sort());
  for (let i = 0; i < count; i++) {
    const file = list.file(i);
    assertEquals(file.path, "/root/" + file.name);
    assertEquals(file.mtimeMs, file.size * 1.5);
    assertEquals(file.ino, file.size);
    assertEquals(file.name, `f${(count - file.size) * 7 % 1009}`);
  }
});

Deno.test("walkModelList() lists what the walk lists, paths from the model root", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), {
    "b.bin": "bb",
    "a/z.txt": "z",
    "a-b": "ab",
    "a.txt": "",
    "a/b/c.txt": "",
    "B.txt": "B",
  });
  const { root, kind, list } = await walkModelList(model, STRICT);
  assertEquals(kind, "directory");
  assertEquals(list.names, ["B.txt", "a-b", "a.txt", "a/b/c.txt", "a/z.txt", "b.bin"]);
  for (const [i, name] of list.names.entries()) {
    const info = await Deno.stat(join(root, name));
    assertEquals(list.file(i), {
      name,
      path: join(root, name),
      size: info.size,
      mtimeMs: info.mtime?.getTime() ?? null,
      ino: info.ino,
    });
  }
  const single = await walkModelList(join(model, "b.bin"), STRICT);
  assertEquals(single.kind, "file");
  assertEquals(single.list.toArray().map((f) => [f.name, f.path]), [[".", single.root]]);
});

Deno.test("walkModelList() keeps the string keptName() gives for each listed name", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), { "b": "b", "a/c": "c", "a/d": "" });
  const asked: string[] = [];
  const { list } = await walkModelList(model, {
    ...STRICT,
    keptName: (name) => {
      asked.push(name);
      return name;
    },
  });
  assertEquals(asked.sort(), ["a/c", "a/d", "b"]);
  assertEquals(list.names, ["a/c", "a/d", "b"]);
});
