import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { CAN, sh, unless, withUnixSocket } from "../../tests/_fixtures/special_files.ts";
import { tempDir, writeModel } from "../../tests/_helpers.ts";
import { InputError } from "../errors.ts";
import { listNamedFiles, walkModel, type WalkOptions } from "./walk_model.ts";

const STRICT: WalkOptions = { ignored: [], allowSymlinks: false };
const LINKS: WalkOptions = { ignored: [], allowSymlinks: true };

async function names(model: string, options: WalkOptions = STRICT): Promise<string[]> {
  return (await walkModel(model, options)).files.map((f) => f.name);
}

Deno.test("walkModel() lists regular files by relative POSIX name in byte order", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), {
    "b.bin": "bb",
    "a/z.txt": "z",
    "a/b/c.txt": "",
    "B.txt": "B",
    ".git/HEAD": "ref",
  });
  await Deno.mkdir(join(model, "empty"));
  const tree = await walkModel(model, { ignored: [".git"], allowSymlinks: false });
  assertEquals(tree.kind, "directory");
  assertEquals(tree.files.map((f) => [f.name, f.size]), [
    ["B.txt", 1],
    ["a/b/c.txt", 0],
    ["a/z.txt", 1],
    ["b.bin", 2],
  ]);
  assertEquals(tree.files[0]!.path, join(tree.root, "B.txt"));
});

Deno.test("walkModel() takes a single file as the model named '.'", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(join(dir.path, "weights.bin"), "abc");
  const tree = await walkModel(join(dir.path, "weights.bin"), STRICT);
  assertEquals(tree.kind, "file");
  assertEquals(tree.files.map((f) => [f.name, f.size]), [[".", 3]]);
});

Deno.test("walkModel() accepts an empty directory as a model with no files", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(join(dir.path, "m"));
  assertEquals(await names(join(dir.path, "m")), []);
});

Deno.test("walkModel() fails clearly on a missing model path", async () => {
  await using dir = await tempDir();
  const error = await assertFailsWith(
    () => walkModel(join(dir.path, "nope"), STRICT),
    InputError,
    "MODEL_NOT_FOUND",
  );
  assertStringIncludes(error.message, "does not exist");
});

Deno.test("walkModel() rejects every symlink unless symlinks are allowed", async (t) => {
  await using dir = await tempDir();
  await writeModel(join(dir.path, "outside"), { "secret.txt": "outside the model" });
  const cases: [string, string][] = [
    ["a link to a file inside the model", "real.txt"],
    ["a link to a file outside the model", "../outside/secret.txt"],
    ["a link to a directory", "../outside"],
    ["a dangling link", "does-not-exist"],
    ["a link to itself", "link"],
  ];
  for (const [what, target] of cases) {
    await t.step(what, async () => {
      const model = await writeModel(join(dir.path, crypto.randomUUID()), { "real.txt": "x" });
      await Deno.symlink(target, join(model, "link"));
      const error = await assertFailsWith(
        () => walkModel(model, STRICT),
        InputError,
        "SYMLINK_NOT_ALLOWED",
      );
      assertStringIncludes(error.message, "'link'");
      assertStringIncludes(error.message, "--allow-symlinks");
    });
  }
});

Deno.test("walkModel() with symlinks allowed hashes a link to a file under the link's name", async () => {
  await using dir = await tempDir();
  // The layout of a Hugging Face cache snapshot: links into a blob store outside the snapshot.
  const blobs = await writeModel(join(dir.path, "blobs"), { "9f2c": "weights", "77ab": "{}" });
  const snapshot = join(dir.path, "snapshots", "rev");
  await Deno.mkdir(join(snapshot, "sub"), { recursive: true });
  await Deno.symlink("../../blobs/9f2c", join(snapshot, "model.safetensors"));
  await Deno.symlink(join(blobs, "77ab"), join(snapshot, "sub", "config.json"));
  const tree = await walkModel(snapshot, LINKS);
  assertEquals(
    tree.files.map((f) => [f.name, f.size]),
    [["model.safetensors", 7], ["sub/config.json", 2]],
  );
  assertEquals(tree.files[0]!.path, join(tree.root, "model.safetensors"));
});

Deno.test("walkModel() with symlinks allowed still fails on loops, dangling links and directory links", async (t) => {
  await using dir = await tempDir();
  const cases: [string, (model: string) => Promise<void>, string][] = [
    ["a link to itself", (m) => Deno.symlink("self", join(m, "self")), "SYMLINK_BROKEN"],
    ["a two-link loop", async (m) => {
      await Deno.symlink("b", join(m, "a"));
      await Deno.symlink("a", join(m, "b"));
    }, "SYMLINK_BROKEN"],
    ["a dangling link", (m) => Deno.symlink("gone", join(m, "dangling")), "SYMLINK_BROKEN"],
    ["a link to a directory", async (m) => {
      await Deno.mkdir(join(m, "real"));
      await Deno.symlink("real", join(m, "alias"));
    }, "SYMLINK_TO_DIRECTORY"],
    [
      "a link to an ancestor (a directory loop)",
      (m) => Deno.symlink("..", join(m, "up")),
      "SYMLINK_TO_DIRECTORY",
    ],
    [
      "a link to a character device",
      (m) => Deno.symlink("/dev/null", join(m, "null")),
      "SPECIAL_FILE",
    ],
  ];
  for (const [what, make, code] of cases) {
    await t.step(what, async () => {
      const model = await writeModel(join(dir.path, crypto.randomUUID()), { "ok.txt": "ok" });
      await make(model);
      await assertFailsWith(() => walkModel(model, LINKS), InputError, code);
    });
  }
});

Deno.test("walkModel() leaves an ignored symlink alone, allowed or not", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), { "a.txt": "a" });
  await Deno.symlink("..", join(model, "up"));
  assertEquals(
    (await walkModel(model, { ignored: ["up"], allowSymlinks: false })).files.map((f) => f.name),
    ["a.txt"],
  );
});

Deno.test("walkModel() rejects a model path that is itself a symlink unless allowed, as upstream", async () => {
  await using dir = await tempDir();
  const real = await writeModel(join(dir.path, "real"), { "a.txt": "a" });
  await Deno.symlink(real, join(dir.path, "link"));
  await Deno.symlink(join(real, "a.txt"), join(dir.path, "file-link"));
  for (
    const path of [
      join(dir.path, "link"),
      join(dir.path, "link") + "/",
      join(dir.path, "file-link"),
    ]
  ) {
    await assertFailsWith(() => walkModel(path, STRICT), InputError, "SYMLINK_NOT_ALLOWED");
  }
  assertEquals(await names(join(dir.path, "link"), LINKS), ["a.txt"]);
  assertEquals(await names(join(dir.path, "file-link"), LINKS), ["."]);
});

Deno.test({
  ...unless(CAN.mkfifo, "walkModel() rejects a FIFO without opening it", "mkfifo unavailable"),
}, async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), { "a.txt": "a" });
  const fifo = join(model, "pipe");
  assert(await sh("mkfifo pipe", model));
  // Holding the FIFO open for writing with one byte in it: a reader would neither block nor
  // leave the byte behind, so the byte still being there proves nobody opened it to read.
  const writer = await open(fifo, constants.O_RDWR | constants.O_NONBLOCK);
  try {
    await writer.write(new Uint8Array([42]));
    for (const options of [STRICT, LINKS]) {
      const error = await assertFailsWith(
        () => walkModel(model, options),
        InputError,
        "SPECIAL_FILE",
      );
      assertStringIncludes(error.message, "'pipe'");
    }
    await assertFailsWith(() => walkModel(fifo, STRICT), InputError, "SPECIAL_FILE");
    await assertFailsWith(
      () => listNamedFiles(model, ["pipe"], STRICT),
      InputError,
      "SPECIAL_FILE",
    );
    const left = new Uint8Array(2);
    const { bytesRead } = await writer.read(left, 0, 2, null);
    assertEquals([...left.subarray(0, bytesRead)], [42]);
  } finally {
    await writer.close();
  }
});

Deno.test("walkModel() rejects a socket", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), { "a.txt": "a" });
  await withUnixSocket(join(model, "sock"), async () => {
    await assertFailsWith(() => walkModel(model, STRICT), InputError, "SPECIAL_FILE");
  });
});

Deno.test("walkModel() rejects character and block devices", async (t) => {
  await using dir = await tempDir();
  for (const [kind, args] of [["character", "c 1 3"], ["block", "b 7 200"]] as const) {
    await t.step({
      ...unless(CAN.mknod, `a ${kind} device`, "mknod not permitted"),
      fn: async () => {
        const model = await writeModel(join(dir.path, kind), { "a.txt": "a" });
        assert(await sh(`mknod dev ${args}`, model));
        await assertFailsWith(() => walkModel(model, STRICT), InputError, "SPECIAL_FILE");
      },
    });
  }
  await t.step("a device as the model path", async () => {
    await assertFailsWith(() => walkModel("/dev/null", LINKS), InputError, "SPECIAL_FILE");
  });
});

Deno.test({
  ...unless(
    CAN.sh,
    "walkModel() rejects names that are not UTF-8 instead of hashing them under another name",
    "no POSIX shell to create such names",
  ),
}, async (t) => {
  await using dir = await tempDir();
  // Deno decodes such names lossily (each bad sequence becomes U+FFFD), so only a shell can
  // create one.
  const cases: [string, string, string | undefined][] = [
    ["a lone invalid byte", `: > "$(printf 'a\\377b')"`, "NAME_NOT_UTF8"],
    ["a truncated sequence", `: > "$(printf 'c\\303')"`, "NAME_NOT_UTF8"],
    ["a directory", `mkdir "$(printf 'd\\377')" && : > "$(printf 'd\\377')/f"`, "NAME_NOT_UTF8"],
    [
      "a name that collides with a real U+FFFD name",
      `: > "$(printf 'a\\377b')" && : > "$(printf 'a\\357\\277\\275b')"`,
      "NAME_NOT_UTF8",
    ],
    ["a genuine U+FFFD name (valid UTF-8)", `: > "$(printf 'a\\357\\277\\275b')"`, undefined],
  ];
  for (const [what, script, code] of cases) {
    await t.step(what, async () => {
      const model = join(dir.path, crypto.randomUUID());
      await Deno.mkdir(model);
      assert(await sh(script, model), script);
      if (code === undefined) {
        assertEquals(await names(model), ["a\uFFFDb"]);
        return;
      }
      const error = await assertFailsWith(() => walkModel(model, STRICT), InputError, code);
      assertStringIncludes(error.message, "\\ufffd");
      assert(!error.message.includes("\uFFFD"), "U+FFFD is escaped in the message");
    });
  }
  await t.step("inside an ignored directory", async () => {
    const model = join(dir.path, crypto.randomUUID());
    await Deno.mkdir(join(model, "cache"), { recursive: true });
    assert(await sh(`: > "cache/$(printf 'x\\377')" && : > ok`, model));
    assertEquals(await names(model, { ignored: ["cache"], allowSymlinks: false }), ["ok"]);
  });
});

Deno.test("walkModel() keeps odd but valid names exactly and escapes them in messages", async () => {
  await using dir = await tempDir();
  const long = "x".repeat(255);
  const deep = Array.from({ length: 12 }, (_, i) => `${i}`.padStart(200, "d")).join("/");
  const odd = ["new\nline", "tab\there", "esc\u001b[2J", "bidi\u202etxt.exe", "space name", long];
  const model = await writeModel(
    join(dir.path, "m"),
    Object.fromEntries([...odd, `${deep}/f`].map((n) => [n, n])),
  );
  assertEquals(await names(model), [...odd, `${deep}/f`].sort());
  await Deno.symlink("new\nline", join(model, "link\nname\u001b[31m"));
  const error = await assertFailsWith(
    () => walkModel(model, STRICT),
    InputError,
    "SYMLINK_NOT_ALLOWED",
  );
  assertStringIncludes(error.message, "'link\\nname\\u001b[31m'");
  assert(!error.message.includes("\n") && !error.message.includes("\u001b"));
});

Deno.test("walkModel() fails with the path and the OS error on an unreadable directory", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), { "sub/a.txt": "a" });
  const sub = join(model, "sub");
  // deno-lint-ignore no-sync-fn-in-async-fn -- replaces the walk's own call, not a call
  const readDir = Deno.readDirSync;
  // Root reads everything, so the OS refusal is simulated here; tests/hostile_model_test.ts
  // provokes the real one in a subprocess without the capability.
  // deno-lint-ignore no-sync-fn-in-async-fn -- as above
  Deno.readDirSync = (path) => {
    if (String(path) === sub) {
      throw new Deno.errors.PermissionDenied(`Permission denied (os error 13): readdir '${path}'`);
    }
    return readDir(path);
  };
  try {
    const error = await assertFailsWith(
      () => walkModel(model, STRICT),
      InputError,
      "MODEL_UNREADABLE",
    );
    assertStringIncludes(error.message, `'${sub}'`);
    assertStringIncludes(error.message, "Permission denied (os error 13)");
  } finally {
    // deno-lint-ignore no-sync-fn-in-async-fn -- as above
    Deno.readDirSync = readDir;
  }
  if (Deno.uid() !== 0) {
    await Deno.chmod(sub, 0o000);
    const error = await assertFailsWith(
      () => walkModel(model, STRICT),
      InputError,
      "MODEL_UNREADABLE",
    );
    assertStringIncludes(error.message, "os error 13");
  }
});

Deno.test("walkModel() lets timers run during a slow walk (the agent's health server)", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), { "a/f": "1", "b/f": "2", "c/f": "3" });
  // deno-lint-ignore no-sync-fn-in-async-fn -- replaces the walk's own call, not a call
  const readDir = Deno.readDirSync;
  // Each directory takes 30 ms to list, longer than the walk may go without yielding.
  // deno-lint-ignore no-sync-fn-in-async-fn -- as above
  Deno.readDirSync = (path) => {
    const until = performance.now() + 30;
    while (performance.now() < until) { /* a slow file system */ }
    return readDir(path);
  };
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  try {
    assertEquals(await names(model), ["a/f", "b/f", "c/f"]);
    assert(ticks >= 2, `the event loop ran ${ticks} times during a 120 ms walk`);
  } finally {
    clearInterval(timer);
    // deno-lint-ignore no-sync-fn-in-async-fn -- as above
    Deno.readDirSync = readDir;
  }
});

Deno.test("listNamedFiles() finds only the listed files and reports the rest as missing", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), {
    "a.txt": "a",
    "dir/b.txt": "b",
    "unlisted.txt": "u",
  });
  const tree = await listNamedFiles(
    model,
    ["dir/b.txt", "a.txt", "gone.txt", "a.txt/below", "dir", "a.txt"],
    STRICT,
  );
  assertEquals(tree.files.map((f) => f.name), ["a.txt", "dir/b.txt"]);
  assertEquals(tree.missing, ["a.txt/below", "dir", "gone.txt"]);
});

Deno.test("listNamedFiles() applies the symlink rule to the listed file and its parents", async () => {
  await using dir = await tempDir();
  const outside = await writeModel(join(dir.path, "outside"), { "b.txt": "b" });
  const model = await writeModel(join(dir.path, "m"), { "a.txt": "a" });
  await Deno.symlink(outside, join(model, "linked"));
  await Deno.symlink(join(outside, "b.txt"), join(model, "file-link"));
  for (const name of ["linked/b.txt", "file-link"]) {
    await assertFailsWith(
      () => listNamedFiles(model, [name], STRICT),
      InputError,
      "SYMLINK_NOT_ALLOWED",
    );
  }
  const tree = await listNamedFiles(model, ["linked/b.txt", "file-link", "linked"], LINKS);
  assertEquals(tree.files.map((f) => f.name), ["file-link", "linked/b.txt"]);
  assertEquals(tree.missing, ["linked"]);
});
