import { join } from "node:path";
import { assert, assertEquals, assertMatch } from "../../tests/_assert.ts";
import { ConfigError, InputError, IntegrityError } from "../errors.ts";
import {
  DEFAULT_TERMINATION_LOG,
  formatTerminationMessage,
  MAX_TERMINATION_MESSAGE_BYTES,
  TERMINATION_LOG_ENV,
  terminationLogPath,
  writeTerminationMessage,
} from "./termination.ts";

const bytes = (text: string) => new TextEncoder().encode(text).length;

Deno.test("formatTerminationMessage() puts the code first on one line", () => {
  const error = new InputError("SIGNATURE_UNREADABLE", "Cannot read\nthe signature\t'x'");
  assertEquals(
    formatTerminationMessage(error, `Verification failed with error: ${error.message}`),
    "[SIGNATURE_UNREADABLE] Verification failed with error: Cannot read the signature 'x'\n",
  );
});

Deno.test("formatTerminationMessage() stays within Kubernetes' 4096 bytes", async (t) => {
  const diff = { extra: [], missing: [], mismatched: [] };
  for (const [name, filler] of [["ASCII", "a"], ["two-byte", "é"], ["four-byte", "🙂"]]) {
    await t.step(`${name} text`, () => {
      const error = new IntegrityError("MODEL_MODIFIED", filler!.repeat(5000), diff);
      const message = formatTerminationMessage(error, `Verification failed: ${error.message}`);
      assert(bytes(message) <= MAX_TERMINATION_MESSAGE_BYTES, `${bytes(message)} bytes`);
      assert(bytes(message) > MAX_TERMINATION_MESSAGE_BYTES - 8, "uses the room it has");
      assertMatch(message, /^\[MODEL_MODIFIED\] .*…\n$/u);
      assertEquals(message.split("\n").length, 2);
      assert(!message.includes("\uFFFD"), "no character cut in half");
    });
  }
});

Deno.test("terminationLogPath() prefers MODEL_SIGNING_TERMINATION_LOG", async () => {
  const exists = () => Promise.resolve(true);
  assertEquals(await terminationLogPath({ [TERMINATION_LOG_ENV]: "/tmp/t" }, { exists }), "/tmp/t");
});

Deno.test("terminationLogPath() uses the default file only when it exists", async (t) => {
  const cases = [
    { env: {}, exists: true, expected: DEFAULT_TERMINATION_LOG },
    { env: {}, exists: false, expected: undefined },
    { env: { [TERMINATION_LOG_ENV]: "  " }, exists: true, expected: DEFAULT_TERMINATION_LOG },
  ] as const;
  for (const c of cases) {
    await t.step(`env ${JSON.stringify(c.env)}, default exists: ${c.exists}`, async () => {
      const exists = (path: string) =>
        Promise.resolve(c.exists && path === DEFAULT_TERMINATION_LOG);
      assertEquals(await terminationLogPath(c.env, { exists }), c.expected);
    });
  }
  await t.step("a failing existence check means none", async () => {
    const exists = () => Promise.reject(new Error("boom"));
    assertEquals(await terminationLogPath({}, { exists }), undefined);
  });
});

Deno.test("writeTerminationMessage() replaces the file's content", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "termination-log");
    await Deno.writeTextFile(path, "an older, longer message\n");
    const written = await writeTerminationMessage("[X] new\n", { [TERMINATION_LOG_ENV]: path });
    assertEquals(written, path);
    assertEquals(await Deno.readTextFile(path), "[X] new\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeTerminationMessage() writes the default file when it exists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "termination-log");
    await Deno.writeTextFile(path, "");
    assertEquals(await writeTerminationMessage("[X] m\n", {}, { defaultPath: path }), path);
    assertEquals(await Deno.readTextFile(path), "[X] m\n");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("writeTerminationMessage() never throws", async (t) => {
  await t.step("nowhere to write", async () => {
    const exists = () => Promise.resolve(false);
    assertEquals(await writeTerminationMessage("m\n", {}, { exists }), undefined);
  });
  await t.step("a directory that does not exist", async () => {
    const env = { [TERMINATION_LOG_ENV]: "/nonexistent-dir/termination-log" };
    assertEquals(await writeTerminationMessage("m\n", env), undefined);
  });
  await t.step(
    "a write that fails (as Deno's rule for /dev does without --allow-all)",
    async () => {
      const writeTextFile = () => Promise.reject(new Deno.errors.NotCapable("Requires all access"));
      const deps = { exists: () => Promise.resolve(true), writeTextFile };
      assertEquals(await writeTerminationMessage("m\n", {}, deps), undefined);
    },
  );
  await t.step("a ConfigError message is just text too", () => {
    const error = new ConfigError("UNKNOWN_OPTION", "No such option: --x");
    assertEquals(
      formatTerminationMessage(error, "Error: No such option: --x"),
      "[UNKNOWN_OPTION] Error: No such option: --x\n",
    );
  });
});

Deno.test("writeTerminationMessage() tells onError once about a file it cannot write", async () => {
  const seen: string[] = [];
  const env = { [TERMINATION_LOG_ENV]: "/nonexistent-dir/termination-log" };
  const onError = (path: string) => seen.push(path);
  assertEquals(await writeTerminationMessage("m\n", env, { onError }), undefined);
  assertEquals(seen, ["/nonexistent-dir/termination-log"]);
  await writeTerminationMessage("m\n", {}, { exists: () => Promise.resolve(false), onError });
  assertEquals(seen.length, 1, "no file, no error");
});
