/**
 * The command line as a person and a log pipeline meet it (issue 15): JSON logs in one schema,
 * per-command help, hints for mistakes, and no "Unexpected error" for foreseeable conditions.
 * In-process through `run()`; the subprocess cases (the compiled binary's sandbox) live in
 * main_test.ts.
 */

import { join } from "node:path";
import { faultReport, run } from "../main.ts";
import { LOG_EVENTS } from "../lib/report/log_record.ts";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { REPO_ROOT, runCli, signedModel, tempDir, writeKeyPair, writeModel } from "./_helpers.ts";

/** Parses every line of a stream as one log-schema object. */
function jsonLines(text: string): Record<string, unknown>[] {
  return text.split("\n").filter((l) => l !== "").map((line) => {
    const parsed = JSON.parse(line);
    assertEquals(Object.keys(parsed).slice(0, 4), ["timestamp", "level", "event", "message"]);
    assertMatch(parsed.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert(parsed.event in LOG_EVENTS, `undocumented event ${parsed.event}`);
    return parsed;
  });
}

function keyArgs(f: { publicKey: string; model: string }): string[] {
  return ["verify", "key", "--public-key", f.publicKey, f.model];
}

Deno.test("--log-format json: every line of both streams is a log-schema object", async (t) => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const bundle = JSON.parse(await Deno.readTextFile(f.signature));
  bundle.verificationMaterial.publicKey = {}; // pre-1.1 format: a warning on stderr
  await Deno.writeTextFile(f.signature, JSON.stringify(bundle));
  const env = { MODEL_SIGNING_LOG_FORMAT: "json", MODEL_SIGNING_SOMETHING_NEW: "1" };
  await t.step("verify: success, warnings and the unknown variable", async () => {
    const result = await runCli(keyArgs(f), { env });
    assertEquals(result.code, 0, result.stderr);
    const [success] = jsonLines(result.stdout);
    assertEquals(success!.event, "verification_succeeded");
    assertEquals(typeof success!.seconds, "number");
    assertEquals(success!.files, 4);
    assertMatch(String(success!.root_digest), /^sha256:[0-9a-f]{64}$/);
    const errs = jsonLines(result.stderr);
    assertEquals(errs.map((e) => e.event), ["warning", "warning"]);
    assertEquals(errs[0]!.variables, [{ name: "MODEL_SIGNING_SOMETHING_NEW" }]);
  });
  await t.step("digest", async () => {
    const result = await runCli(["digest", f.model], { env });
    assertEquals(result.code, 0, result.stderr);
    const [digest] = jsonLines(result.stdout);
    assertEquals(digest!.event, "digest");
    assertEquals(digest!.files, 4);
  });
  await t.step("sign", async () => {
    const signature = join(dir.path, "again.sig");
    const result = await runCli(
      ["sign", "key", "--private-key", f.privateKey, "--signature", signature, f.model],
      { env },
    );
    assertEquals(result.code, 0, result.stderr);
    const [signed] = jsonLines(result.stdout);
    assertEquals(signed!.event, "signing_succeeded");
    assertEquals(signed!.signature, signature);
  });
  await t.step("a usage error of sign", async () => {
    const result = await runCli(["sign", "key", "--bogus", f.model], { env });
    assertEquals(result.code, 2);
    const [failed] = jsonLines(result.stderr).filter((e) => e.event !== "warning");
    assertEquals(failed!.event, "signing_failed");
    assertEquals((failed!.error as { code: string }).code, "UNKNOWN_OPTION");
  });
});

Deno.test("continuous mode logs in the same JSON schema, with typed fields", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const stop = new AbortController();
  const lines: string[] = [];
  let seen!: () => void;
  const ready = new Promise<void>((resolve) => (seen = resolve));
  const code = run(["--interval=5m", "verify", "key", "--public-key", f.publicKey, f.model], {
    env: {
      MODEL_SIGNING_HEALTH_PORT: "0",
      MODEL_SIGNING_HEALTH_ADDRESS: "127.0.0.1",
      MODEL_SIGNING_LOG_FORMAT: "json",
    },
    cwd: Deno.cwd(),
    stdout: (text) => lines.push(text),
    stderr: (text) => {
      lines.push(text);
      if (text.includes('"event":"ready"')) seen();
    },
    onStop: () => stop.signal,
  });
  await Promise.race([ready, code]);
  stop.abort();
  assertEquals(await code, 0);
  const events = jsonLines(lines.join("\n"));
  assertEquals(events.map((e) => e.event), [
    "agent_started",
    "verification_succeeded",
    "ready",
    "shutting_down",
    "stopped",
  ]);
  const started = events[0]!;
  assertEquals(started.level, "info");
  assertEquals(started.interval_seconds, 300);
  assertEquals(typeof started.health_port, "number");
  const verified = events[1]!;
  assertEquals(verified.files, 4);
  assertEquals(typeof verified.bytes, "number");
  assertEquals(typeof verified.seconds, "number");
  assertMatch(String(verified.root_digest), /^sha256:[0-9a-f]{64}$/);
  assertEquals([verified.round, verified.trigger, verified.full_rehash], [1, "initial", true]);
});

Deno.test("docs/logs.md documents every event and the common fields", async () => {
  const doc = await Deno.readTextFile(join(REPO_ROOT, "docs", "logs.md"));
  for (const field of ["timestamp", "level", "event", "message"]) {
    assertStringIncludes(doc, `\`${field}\``);
  }
  for (const [event, fields] of Object.entries(LOG_EVENTS)) {
    assertStringIncludes(doc, `\`${event}\``);
    for (const field of fields.match(/[a-z_]+/g) ?? []) {
      if (/^(in|the|agent|also|and|other|commands|optional|verify|bundle)$/.test(field)) continue;
      assertStringIncludes(doc, `\`${field}\``, `field ${field} of ${event}`);
    }
  }
});

Deno.test("COMMAND --help prints that command's help and exits 0", async (t) => {
  const cases: [string[], string, string][] = [
    [["verify", "key", "--help"], "--public-key", "--identity "],
    [["verify", "--help"], "MODEL_SIGNING_IDENTITY_PROVIDER", "--private-key"],
    [["sign", "--help"], "--private-key", "--public-key"],
    [["digest", "--help"], "--ignore-paths", "--signature"],
    [["verify-bundle", "--help"], "--trusted-root", "--trust-config"],
    [["--interval=5m", "verify", "--help"], "--identity", "--private-key"],
  ];
  for (const [argv, present, absent] of cases) {
    await t.step(argv.join(" "), async () => {
      const result = await runCli(argv);
      assertEquals(result.code, 0, result.stderr);
      assertStringIncludes(result.stdout, present);
      assert(!result.stdout.includes(absent), `${absent} in:\n${result.stdout}`);
      assertStringIncludes(result.stdout, "Example");
    });
  }
});

Deno.test("mistakes get a hint: nearest option, misspelled method word", async () => {
  const option = await runCli(["verify", "key", "--publickey", "k.pem", "m"]);
  assertEquals(option.code, 2);
  assertStringIncludes(option.stderr, "did you mean --public-key?");
  const method = await runCli(["verify", "keys", "--public-key", "k.pem", "m"]);
  assertEquals(method.code, 2);
  assertStringIncludes(method.stderr, "did you mean 'verify key'?");
  assert(!method.stderr.includes("Expected one MODEL_PATH"), method.stderr);
});

Deno.test("an unknown MODEL_SIGNING_* variable is a warning naming the nearest, never a failure", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const typo = await runCli([], {
    env: { MODEL_SIGNING_MODEL_PATH: f.model, MODEL_SIGNING_PUBLICKEY: f.publicKey },
  });
  assertEquals(typo.code, 2, "without the key the method is sigstore, which lacks an identity");
  assertEquals(
    typo.stderr.split("\n")[0],
    "WARNING: Ignoring unknown environment variable MODEL_SIGNING_PUBLICKEY " +
      "(did you mean MODEL_SIGNING_PUBLIC_KEY?)",
  );
  const usage = await runCli(["verify", "--bogus"], { env: { MODEL_SIGNING_PUBLICKEY: "k" } });
  assertEquals(usage.code, 2);
  assertStringIncludes(usage.stderr.split("\n")[0]!, "MODEL_SIGNING_PUBLICKEY");
  const help = await runCli(["verify", "--help"], { env: { MODEL_SIGNING_PUBLICKEY: "k" } });
  assertEquals([help.code, help.stderr], [0, ""]);
  const extra = await runCli(keyArgs(f), { env: { MODEL_SIGNING_FUTURE_SETTING: "x" } });
  assertEquals(extra.code, 0, extra.stderr);
  assertStringIncludes(extra.stderr, "MODEL_SIGNING_FUTURE_SETTING");
  const quiet = await runCli(["--log-level", "error", ...keyArgs(f)], {
    env: { MODEL_SIGNING_FUTURE_SETTING: "x" },
  });
  assertEquals([quiet.code, quiet.stderr], [0, ""]);
});

Deno.test("the model path is checked before the signature path", async (t) => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await t.step("a model path that does not exist", async () => {
    const result = await runCli(keyArgs({ ...f, model: join(dir.path, "nosuch") }));
    assertEquals(result.code, 1);
    assertStringIncludes(result.stderr, `Model path '${join(dir.path, "nosuch")}' does not exist`);
    assert(!result.stderr.includes("model.sig"), result.stderr);
  });
  await t.step("a file as model path without --signature", async () => {
    const file = join(f.model, "config.json");
    const result = await runCli(keyArgs({ ...f, model: file }));
    assertEquals(result.code, 2, result.stderr);
    assertStringIncludes(result.stderr, "is a single file");
    assertStringIncludes(result.stderr, "--signature");
    assert(!/ENOTDIR|Not a directory|Unexpected/.test(result.stderr), result.stderr);
  });
});

Deno.test("a private key given as --public-key is a configuration error saying so", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const result = await runCli(["verify", "key", "--public_key", f.privateKey, f.model]);
  assertEquals(result.code, 2, result.stdout);
  assertStringIncludes(result.stderr, "holds a private key");
  assertStringIncludes(result.stderr, "--public-key");
});

Deno.test("signing a single file: no 'Unexpected error', the fix is named", async (t) => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "m"), { "w.bin": "weights" });
  const file = join(model, "w.bin");
  await t.step("default signature inside a file", async () => {
    const result = await runCli(["sign", "key", "--private-key", keys.privateKey, file]);
    assertEquals(result.code, 2, result.stderr);
    assert(result.stderr.startsWith("Signing failed with error: "), result.stderr);
    assertStringIncludes(result.stderr, "--signature");
    assert(!result.stderr.includes("Unexpected"), result.stderr);
  });
  await t.step("--signature naming a folder", async () => {
    const result = await runCli([
      "sign",
      "key",
      "--private-key",
      keys.privateKey,
      "--signature",
      dir.path,
      file,
    ]);
    assertEquals(result.code, 2, result.stderr);
    assertStringIncludes(result.stderr, "is a directory");
    assertStringIncludes(result.stderr, join(dir.path, "model.sig"));
  });
  await t.step("with --signature it signs, and verifies", async () => {
    const signature = join(dir.path, "w.sig");
    const signed = await runCli([
      "sign",
      "key",
      "--private-key",
      keys.privateKey,
      "--signature",
      signature,
      file,
    ]);
    assertEquals(signed.code, 0, signed.stderr);
    const verified = await runCli([
      "verify",
      "key",
      "--public-key",
      keys.publicKey,
      "--signature",
      signature,
      file,
    ]);
    assertEquals(verified.code, 0, verified.stderr);
  });
});

Deno.test("digest prints one line on stdout and the summary on stderr, '1 file'", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), { "w.bin": "weights" });
  const result = await runCli(["digest", model]);
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stdout, /^sha256:[0-9a-f]{64}$/);
  assertStringIncludes(result.stderr, "1 file, 7 bytes in ");
  const quiet = await runCli(["digest", "--log-level", "warning", model]);
  assertEquals([quiet.stdout, quiet.stderr], [result.stdout, ""]);
});

Deno.test("usage errors of sign and digest are reported as theirs", async (t) => {
  const cases: [string[], string][] = [
    [["sign", "key", "--bogus", "m"], "Signing failed with error: No such option: --bogus"],
    [["digest", "--bogus", "m"], "Digest failed with error: No such option: --bogus"],
    [["--quiet", "sign", "key", "--public-key", "k", "m"], "Signing failed with error: "],
  ];
  for (const [argv, start] of cases) {
    await t.step(argv.join(" "), async () => {
      const result = await runCli(argv);
      assertEquals(result.code, 2);
      assert(result.stderr.startsWith(start), result.stderr);
      assert(!result.stderr.includes("Verification failed"), result.stderr);
    });
  }
});

Deno.test("an unwritable MODEL_SIGNING_TERMINATION_LOG gives one warning", async () => {
  const path = "/nonexistent-dir/termination-log";
  const result = await runCli(["verify", "key", "--bogus", "m"], {
    env: { MODEL_SIGNING_TERMINATION_LOG: path },
  });
  assertEquals(result.code, 2);
  const warnings = result.stderr.split("\n").filter((l) => l.startsWith("WARNING: "));
  assertEquals(warnings.length, 1, result.stderr);
  assertStringIncludes(warnings[0]!, `Cannot write the termination message to '${path}'`);
  assertStringIncludes(warnings[0]!, "MODEL_SIGNING_TERMINATION_LOG");
});

Deno.test("extra files are named before hashing; changed files once the names match (README)", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await Deno.writeTextFile(join(f.model, "config.json"), "BACKDOOR", { append: true });
  await Deno.writeTextFile(join(f.model, "planted.bin"), "x");
  const both = await runCli(keyArgs(f));
  assertEquals(both.code, 1);
  assertStringIncludes(both.stderr, "planted.bin");
  await Deno.remove(join(f.model, "planted.bin"));
  const changed = await runCli(keyArgs(f));
  assertEquals(changed.code, 1);
  assertStringIncludes(changed.stderr, "config.json");
  const readme = await Deno.readTextFile(join(REPO_ROOT, "README.md"));
  assert(!readme.includes("Every\n   extra, missing and changed file is named in one message"));
  assertStringIncludes(readme, "names differ");
});

Deno.test("a fault that escaped the run is reported in the command's words and log format", () => {
  const text = faultReport(["sign", "key", "m"], {}, new TypeError("x is not a function"));
  assertEquals(text.line, "Signing failed with error: Unexpected error: x is not a function");
  assertEquals(text.exitCode, 1);
  const json = faultReport(["verify", "m"], { MODEL_SIGNING_LOG_FORMAT: "json" }, new Error("y"));
  const [line] = jsonLines(json.line);
  assertEquals(line!.event, "verification_failed");
  assertEquals((line!.error as { code: string }).code, "INTERNAL");
});

Deno.test("--log-format json: hashing progress on stderr is JSON events, never text", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), { "a.bin": "a", "b.bin": "b", "c.bin": "c" });
  let clock = 0;
  const progress: string[] = [];
  const out: string[] = [];
  const code = await run(["digest", "--log-format", "json", "--max-workers", "1", model], {
    env: {},
    cwd: Deno.cwd(),
    stdout: (text) => out.push(text),
    stderr: (text) => progress.push(text),
    // A clock that jumps a minute per reading: every update is due.
    progress: {
      write: (text) => progress.push(text),
      isTerminal: false,
      now: () => clock += 60_000,
    },
  });
  assertEquals(code, 0, progress.join(""));
  const events = jsonLines(progress.join(""));
  assert(events.length >= 2, progress.join(""));
  assertEquals(events.at(-1)!.event, "hashing_finished");
  assert(events.slice(0, -1).every((e) => e.event === "hashing_progress"), progress.join(""));
  assertEquals(events.at(-1)!.files_total, 3);
  assertEquals(jsonLines(out.join("\n"))[0]!.event, "digest");
});
