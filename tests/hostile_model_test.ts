/**
 * A hostile model volume, end to end: symlinks, special files, names, files that change while
 * they are hashed, unreadable files, odd model paths, and faults inside the verifier itself. Each
 * case must fail with its own code and a one-line message, never hang and never exit 0.
 */

import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { InputError, IntegrityError, type ModelVerifyError } from "../lib/errors.ts";
import { prepareEngine } from "../lib/manifest/engines.ts";
import { hashBlocking } from "../lib/manifest/hash_blocking.ts";
import type { HashJob } from "../lib/manifest/hash_file.ts";
import { type VerifyDeps, verifyModel } from "../lib/verify_model.ts";
import { assert, assertEquals, assertFailsWith, assertStringIncludes } from "./_assert.ts";
import { compilePermissionFlags, programArgv } from "./_compile_flags.ts";
import {
  keyConfig,
  REPO_ROOT,
  runCli,
  SAMPLE_MODEL,
  signWithKey,
  tempDir,
  writeKeyPair,
  writeModel,
} from "./_helpers.ts";
import { CAN, sh, unless, withUnixSocket } from "./_fixtures/special_files.ts";

type Fixture = { model: string; signature: string; publicKey: string };

/**
 * Expects verification to fail with `type` and `code`, both in-process (the typed error) and
 * through the CLI (exit 1, one escaped line on stderr, nothing on stdout).
 */
async function expectFailure(
  f: Fixture,
  type: abstract new (...args: never[]) => ModelVerifyError,
  code: string,
  options: { allowSymlinks?: boolean; deps?: VerifyDeps } = {},
): Promise<string> {
  const allow = options.allowSymlinks ?? false;
  const error = await assertFailsWith(
    () => verifyModel(keyConfig(f, { allowSymlinks: allow }), options.deps),
    type,
    code,
  );
  if (options.deps) return error.message;
  const cli = await runCli([
    "verify",
    "key",
    "--signature",
    f.signature,
    "--public_key",
    f.publicKey,
    ...(allow ? ["--allow-symlinks"] : []),
    f.model,
  ]);
  assertEquals(cli.code, 1, cli.stderr);
  assertEquals(cli.stdout, "");
  assert(cli.stderr.startsWith("Verification failed with error: "), cli.stderr);
  assertEquals(cli.stderr.split("\n").length, 1, `one line: ${JSON.stringify(cli.stderr)}`);
  return error.message;
}

/** Signs `files` (plus symlinks made by `prepare`) as `dir/model`, signature outside the model. */
async function signed(
  dir: string,
  files: Record<string, string> = SAMPLE_MODEL,
  options: { prepare?: (model: string) => Promise<void>; sign?: string[] } = {},
): Promise<Fixture & { privateKey: string }> {
  const model = await writeModel(join(dir, "model"), files);
  await options.prepare?.(model);
  const keys = await writeKeyPair(dir);
  const signature = join(dir, "model.sig");
  await signWithKey(model, keys.privateKey, "--signature", signature, ...(options.sign ?? []));
  return { model, signature, ...keys };
}

const HAS_SH = CAN.mkfifo;

// ---------------------------------------------------------------------------------------------
// Symlinks

Deno.test("a Hugging Face style snapshot of file links verifies only with symlinks allowed", async () => {
  await using dir = await tempDir();
  const blobs = await writeModel(join(dir.path, "blobs"), { "aa11": "weights", "bb22": "{}" });
  const f = await signed(dir.path, { "README.md": "plain file" }, {
    prepare: async (model) => {
      await Deno.symlink(join(blobs, "aa11"), join(model, "model.safetensors"));
      await Deno.mkdir(join(model, "sub"));
      await Deno.symlink("../../blobs/bb22", join(model, "sub", "config.json"));
    },
    sign: ["--allow-symlinks"],
  });
  const ok = await verifyModel(keyConfig(f, { allowSymlinks: true }));
  assertEquals(ok.files, 3);
  // The signature records allow_symlinks=true: that policy applies without the flag too.
  assertEquals((await verifyModel(keyConfig(f))).files, 3);
  // Signed without symlinks allowed, the same links fail even with the flag.
  const strict = { ...f, signature: join(dir.path, "strict.sig") };
  await Deno.rename(join(f.model, "model.safetensors"), join(dir.path, "link"));
  await Deno.rename(join(f.model, "sub"), join(dir.path, "sub"));
  await signWithKey(f.model, f.privateKey, "--signature", strict.signature);
  await Deno.rename(join(dir.path, "link"), join(f.model, "model.safetensors"));
  await Deno.rename(join(dir.path, "sub"), join(f.model, "sub"));
  await expectFailure(strict, InputError, "SYMLINK_NOT_ALLOWED", { allowSymlinks: true });
  // The link's target is hashed: changing the blob changes the model.
  await Deno.writeTextFile(join(blobs, "aa11"), "WEIGHTS");
  const message = await expectFailure(f, IntegrityError, "MODEL_MODIFIED", { allowSymlinks: true });
  assertStringIncludes(message, "model.safetensors");
});

Deno.test("symlinks planted in a signed model fail cleanly, allowed or not", async (t) => {
  const cases: [string, (model: string) => Promise<void>, string, string][] = [
    [
      "a link to a file outside",
      (m) => Deno.symlink("/etc/hostname", join(m, "x")),
      "SYMLINK_NOT_ALLOWED",
      "MODEL_FILES_DIFFER",
    ],
    [
      "a link to a directory",
      (m) => Deno.symlink("/etc", join(m, "etc")),
      "SYMLINK_NOT_ALLOWED",
      "SYMLINK_TO_DIRECTORY",
    ],
    [
      "a loop",
      (m) => Deno.symlink("loop", join(m, "loop")),
      "SYMLINK_NOT_ALLOWED",
      "SYMLINK_BROKEN",
    ],
    [
      "a dangling link",
      (m) => Deno.symlink("nowhere", join(m, "gone")),
      "SYMLINK_NOT_ALLOWED",
      "SYMLINK_BROKEN",
    ],
    [
      "a link replacing a signed file",
      async (m) => {
        await Deno.remove(join(m, "config.json"));
        await Deno.symlink("tokenizer.json", join(m, "config.json"));
      },
      "SYMLINK_NOT_ALLOWED",
      "MODEL_MODIFIED",
    ],
  ];
  for (const [what, plant, strict, allowed] of cases) {
    await t.step(what, async () => {
      await using dir = await tempDir();
      const f = await signed(join(dir.path, "strict"));
      await plant(f.model);
      await expectFailure(f, InputError, strict);
      // The policy is the signature's (OMS v1.0 6.1.1): links are followed only for a model
      // signed with --allow-symlinks, flag or not.
      await expectFailure(f, InputError, strict, { allowSymlinks: true });
      const g = await signed(join(dir.path, "allowed"), SAMPLE_MODEL, {
        sign: ["--allow-symlinks"],
      });
      await plant(g.model);
      const type = allowed.startsWith("MODEL_") ? IntegrityError : InputError;
      await expectFailure(g, type, allowed, { allowSymlinks: true });
      await expectFailure(g, type, allowed);
    });
  }
});

// ---------------------------------------------------------------------------------------------
// Special files

Deno.test({
  ...unless(HAS_SH, "a FIFO in the model fails without being opened or blocking", "no mkfifo"),
}, async () => {
  await using dir = await tempDir();
  const f = await signed(dir.path);
  assert(await sh("mkfifo weights.bin", f.model));
  // A writer holds the FIFO open with one byte in it, so an accidental reader would not block
  // the test, and would consume the byte; the byte still being there proves nobody read it.
  const writer = await open(join(f.model, "weights.bin"), constants.O_RDWR | constants.O_NONBLOCK);
  try {
    await writer.write(new Uint8Array([7]));
    const message = await expectFailure(f, InputError, "SPECIAL_FILE");
    assertStringIncludes(message, "weights.bin");
    const left = new Uint8Array(2);
    assertEquals((await writer.read(left, 0, 2, null)).bytesRead, 1);
  } finally {
    await writer.close();
  }
});

Deno.test("a socket in the model fails", async () => {
  await using dir = await tempDir();
  const f = await signed(dir.path);
  await withUnixSocket(join(f.model, "control.sock"), async () => {
    await expectFailure(f, InputError, "SPECIAL_FILE");
  });
});

// ---------------------------------------------------------------------------------------------
// Names

Deno.test({
  ...unless(HAS_SH, "a file name that is not UTF-8 fails and is reported escaped", "no shell"),
}, async () => {
  await using dir = await tempDir();
  const f = await signed(dir.path);
  assert(await sh(`printf x > "$(printf 'payload\\377.bin')"`, f.model));
  const message = await expectFailure(f, InputError, "NAME_NOT_UTF8");
  assertStringIncludes(message, "payload\\ufffd.bin");
});

Deno.test("names with newlines, escapes and great length verify, and stay one line in messages", async () => {
  await using dir = await tempDir();
  const odd = {
    "line\nbreak.txt": "a",
    "esc\u001b[2J.txt": "b",
    [`${"d".repeat(200)}/${"e".repeat(200)}/${"f".repeat(255)}`]: "c",
  };
  const f = await signed(dir.path, { ...SAMPLE_MODEL, ...odd });
  assertEquals((await verifyModel(keyConfig(f))).files, 7);
  await Deno.writeTextFile(join(f.model, "x\nVerification succeeded"), "planted");
  const message = await expectFailure(f, IntegrityError, "MODEL_FILES_DIFFER");
  assertStringIncludes(message, "x\\nVerification succeeded");
});

// ---------------------------------------------------------------------------------------------
// Model paths

Deno.test("a missing, special or empty model path fails with a clear message", async (t) => {
  await using dir = await tempDir();
  const f = await signed(dir.path);
  await t.step("missing", async () => {
    const message = await expectFailure(
      { ...f, model: join(dir.path, "absent") },
      InputError,
      "MODEL_NOT_FOUND",
    );
    assertStringIncludes(message, "does not exist");
  });
  await t.step("a character device", async () => {
    await expectFailure({ ...f, model: "/dev/null" }, InputError, "SPECIAL_FILE");
  });
  await t.step("an empty directory where the signature lists files", async () => {
    const empty = join(dir.path, "empty");
    await Deno.mkdir(empty);
    const message = await expectFailure({ ...f, model: empty }, InputError, "MODEL_EMPTY");
    assertStringIncludes(message, "is empty");
    assertStringIncludes(message, "volume was not populated");
  });
  await t.step("a file where a directory was signed", async () => {
    await expectFailure(
      { ...f, model: join(f.model, "config.json") },
      IntegrityError,
      "MODEL_FILES_DIFFER",
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Files that change while they are hashed

Deno.test("hashBlocking() fails when the file differs from its listing or changes while read", async (t) => {
  await using dir = await tempDir();
  const path = join(dir.path, "big.bin");
  const CHUNK_SIZE = 1 << 20;
  const size = 2 * CHUNK_SIZE + 5;
  const buffer = new Uint8Array(CHUNK_SIZE);
  await prepareEngine("sha256");
  const reset = async () => {
    await Deno.writeFile(path, new Uint8Array(size));
    await Deno.utime(path, 1_000_000, 1_000_000);
  };
  const job = (): HashJob => ({
    name: "big.bin",
    path,
    start: 0,
    end: size,
    fileSize: size,
    mtimeMs: 1_000_000_000,
  });
  await reset();
  assertEquals(hashBlocking(job(), "sha256", buffer).length, 32);
  const cases: [string, () => HashJob, ((n: number) => void) | undefined][] = [
    [
      "size differs from the listing",
      () => ({ ...job(), fileSize: size - 1, end: size - 1 }),
      undefined,
    ],
    [
      "modification time differs from the listing",
      () => ({ ...job(), mtimeMs: 2_000_000_000 }),
      undefined,
    ],
    [
      "appended to while read",
      job,
      () => Deno.writeFileSync(path, new Uint8Array(1), { append: true }),
    ],
    ["truncated while read", job, () => Deno.truncateSync(path, CHUNK_SIZE)],
    ["rewritten in place while read (same size, new time)", job, () => Deno.utimeSync(path, 5, 5)],
  ];
  for (const [what, make, onBytes] of cases) {
    await t.step(what, async () => {
      await reset();
      let fired = false;
      const hook = onBytes && ((_: number) => {
        if (!fired) onBytes(0);
        fired = true;
      });
      const error = await assertFailsWith(
        () =>
          Promise.resolve().then(() =>
            hashBlocking(make(), "sha256", buffer, hook ? { onBytes: hook } : {})
          ),
        InputError,
        "FILE_CHANGED",
      );
      assertStringIncludes(error.message, "big.bin");
    });
  }
});

Deno.test("verifyModel() fails when a file changes between listing and hashing", async (t) => {
  const edits: [string, (path: string) => void][] = [
    ["content appended", (p) => Deno.writeTextFileSync(p, "!", { append: true })],
    ["same size, new modification time", (p) => Deno.utimeSync(p, 12345, 12345)],
  ];
  for (const [what, edit] of edits) {
    for (
      const [where, files, maxWorkers] of [
        ["in this thread", SAMPLE_MODEL, undefined],
        [
          "on the worker pool",
          // Past the in-process path's bound (isSerialWork): the workers hash.
          Object.fromEntries(Array.from({ length: 2100 }, (_, i) => [`f${i}.bin`, `file ${i}`])),
          2,
        ],
      ] as const
    ) {
      await t.step(`${what}, ${where}`, async () => {
        await using dir = await tempDir();
        const f = await signed(dir.path, files);
        const victim = join(f.model, Object.keys(files).sort().at(-1)!);
        await assertFailsWith(
          () =>
            verifyModel(keyConfig(f, maxWorkers ? { maxWorkers } : {}), {
              onHashingStart: () => edit(victim),
            }),
          InputError,
          "FILE_CHANGED",
        );
      });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Unreadable files and directories, and faults, through a real process

/**
 * Root ignores file permissions through CAP_DAC_OVERRIDE; without that capability (dropped by
 * `setpriv` from the bounding set) it obeys them like anyone. Undefined when neither works.
 */
const UNPRIVILEGED: string[] | undefined = await (async () => {
  if (Deno.uid() !== 0) return [];
  const dropped = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"];
  const probe = await Deno.makeTempFile();
  try {
    await Deno.chmod(probe, 0o000);
    const command = new Deno.Command(dropped[0]!, {
      args: [...dropped.slice(1), "cat", probe],
      stdout: "null",
      stderr: "null",
    });
    return (await command.output()).success ? undefined : dropped;
  } catch {
    return undefined;
  } finally {
    await Deno.remove(probe);
  }
})();

interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function spawn(
  args: string[],
  options: { prefix?: string[]; preload?: string } = {},
): Promise<ProcessResult> {
  // A preload script only works with `deno run`; everything else also runs against the binary
  // in MODEL_VERIFY_BIN.
  const program = options.preload
    ? [
      Deno.execPath(),
      "run",
      "--quiet",
      ...compilePermissionFlags(),
      "--preload",
      options.preload,
      join(REPO_ROOT, "main.ts"),
      ...args,
    ]
    : programArgv(args);
  const argv = [...(options.prefix ?? []), ...program];
  const output = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

function verifyArgs(f: Fixture): string[] {
  return ["verify", "key", "--signature", f.signature, "--public_key", f.publicKey, f.model];
}

/** A fault outside the awaited chain: reported as an internal error, not as Deno's crash dump. */
function assertCleanFault(result: ProcessResult, reason: string): void {
  assertStringIncludes(
    result.stderr,
    `Verification failed with error: Unexpected error: ${reason}`,
  );
  assert(!/^\s+at /m.test(result.stderr), `stack trace on stderr:\n${result.stderr}`);
  assert(!result.stderr.includes("Uncaught"), result.stderr);
}

function assertCleanFailure(result: ProcessResult, code = 1): void {
  assertEquals(result.code, code, result.stderr);
  assertEquals(result.stdout, "");
  assert(result.stderr.startsWith("Verification failed with error: "), result.stderr);
  assert(!/^\s+at /m.test(result.stderr), `stack trace on stderr:\n${result.stderr}`);
  assert(!result.stderr.includes("Uncaught"), result.stderr);
}

Deno.test({
  ...unless(
    UNPRIVILEGED !== undefined,
    "unreadable files and directories fail with the path and the OS error",
    "running as root without setpriv, so permissions cannot be enforced",
  ),
}, async (t) => {
  await using dir = await tempDir();
  const f = await signed(dir.path);
  const cases: [string, string, string][] = [
    ["an unreadable file", join(f.model, "config.json"), "FILE_UNREADABLE"],
    ["an unreadable directory", join(f.model, "nested"), "MODEL_UNREADABLE"],
  ];
  for (const [what, path, code] of cases) {
    await t.step(`${what} (${code})`, async () => {
      const mode = (await Deno.stat(path)).mode! & 0o777;
      await Deno.chmod(path, 0o000);
      try {
        const result = await spawn(verifyArgs(f), { prefix: UNPRIVILEGED! });
        assertCleanFailure(result);
        assertStringIncludes(result.stderr, path);
        assertStringIncludes(result.stderr, "Permission denied (os error 13)");
      } finally {
        await Deno.chmod(path, mode);
      }
    });
  }
});

Deno.test("a crash inside the verifier is never exit 0 and never an unhandled rejection", async (t) => {
  await using dir = await tempDir();
  const f = await signed(dir.path);
  const good = await spawn(verifyArgs(f));
  assertEquals(good.code, 0, good.stderr);
  // Each preload breaks the runtime the way a bug in model-verify or a dependency could.
  const faults: [string, string, (r: ProcessResult) => void][] = [
    [
      "a TypeError from inside the pipeline becomes an internal error, exit 1",
      // The signature file's own stat (before its open) still works: the fault hits the model.
      `Deno.realPath = () => Promise.resolve(42);
       const stat = Deno.stat;
       Deno.stat = (p) =>
         String(p).endsWith(".sig") ? stat(p) : Promise.resolve({ isFile: false, isDirectory: true });`,
      (r) => {
        assertCleanFailure(r);
        assertStringIncludes(r.stderr, "Unexpected error");
      },
    ],
    [
      "a rejected promise nobody awaits during the run fails it",
      `const realPath = Deno.realPath;
       Deno.realPath = (p) => { Promise.reject(new Error("floating rejection")); return realPath(p); };`,
      (r) => {
        assertEquals(r.code, 1, r.stderr);
        assertCleanFault(r, "floating rejection");
      },
    ],
    [
      "a rejected promise nobody awaits, left as the verdict is written, still fails the run",
      `const write = Deno.stdout.writeSync.bind(Deno.stdout);
       Deno.stdout.writeSync = (b) => { Promise.reject(new Error("late rejection")); return write(b); };`,
      (r) => {
        assertEquals(r.code, 1, `exit ${r.code} after an unhandled rejection`);
        assertCleanFault(r, "late rejection");
      },
    ],
    [
      "an exception thrown from a timer fails the run",
      // The verification goes on only after a later timer, so the throwing one fires first.
      `const realPath = Deno.realPath;
       Deno.realPath = async (p) => {
         setTimeout(() => { throw new Error("timer fault"); });
         await new Promise((resolve) => setTimeout(resolve));
         return await realPath(p);
       };`,
      (r) => {
        assertEquals(r.code, 1, r.stderr);
        assertCleanFault(r, "timer fault");
      },
    ],
  ];
  for (const [what, source, check] of faults) {
    await t.step(what, async () => {
      const preload = join(dir.path, `fault-${crypto.randomUUID()}.ts`);
      await Deno.writeTextFile(preload, source);
      check(await spawn(verifyArgs(f), { preload }));
    });
  }
});

Deno.test("every hostile-model failure through a real process is exit 1 with one clean line", async () => {
  await using dir = await tempDir();
  const f = await signed(dir.path);
  await Deno.symlink("..", join(f.model, "up"));
  assertCleanFailure(await spawn(verifyArgs(f)));
  await Deno.remove(join(f.model, "up"));
  await Deno.writeTextFile(join(f.model, "config.json"), "tampered");
  assertCleanFailure(await spawn(verifyArgs(f)));
  assertCleanFailure(await spawn(verifyArgs({ ...f, model: join(dir.path, "absent") })));
});
