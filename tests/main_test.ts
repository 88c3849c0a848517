/**
 * The process contract, through a real subprocess: exit codes, which stream carries which line,
 * no stack traces, and verification configured by MODEL_SIGNING_* env alone (as the webhook does).
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { programArgv } from "./_compile_flags.ts";
import { REPO_ROOT, signedModel, tempDir } from "./_helpers.ts";

interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function spawn(
  args: string[],
  env: Record<string, string> = {},
  cwd = REPO_ROOT,
): Promise<ProcessResult> {
  // `deno run` with the compile task's flags, or the binary in MODEL_VERIFY_BIN.
  const [program, ...programArgs] = programArgv(args);
  const command = new Deno.Command(program!, {
    args: programArgs,
    cwd,
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
  const out = await command.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

function assertNoStackTrace(result: ProcessResult) {
  assert(!/^\s+at /m.test(result.stderr), `stack trace on stderr:\n${result.stderr}`);
}

Deno.test("exit 0 and 'Verification succeeded' on stdout for a good model", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const result = await spawn(["verify", "key", "--public_key", f.publicKey, f.model]);
  assertEquals(result.code, 0, result.stderr);
  assert(result.stdout.startsWith("Verification succeeded\n"));
  assertEquals(result.stderr, "");
});

Deno.test("exit 1 and one failure line on stderr for a tampered model", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await Deno.writeTextFile(join(f.model, "config.json"), "BACKDOOR INJECTION", { append: true });
  const result = await spawn(["verify", "key", "--public_key", f.publicKey, f.model]);
  assertEquals(result.code, 1);
  assertEquals(result.stdout, "");
  assert(result.stderr.startsWith("Verification failed with error: "));
  assertStringIncludes(result.stderr, "config.json");
  assertEquals(result.stderr.trim().split("\n").length, 1);
  assertNoStackTrace(result);
});

Deno.test("exit 2 for usage and configuration errors, naming the flag or variable", async (t) => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const cases: [string, string[], Record<string, string>, string][] = [
    ["missing --public-key", ["verify", "key", f.model], {}, "--public-key"],
    ["unknown option", ["verify", "key", "--frobnicate", f.model], {}, "--frobnicate"],
    [
      "unreadable key",
      ["verify", "key", "--public_key", "/no/such.pem", f.model],
      {},
      "/no/such.pem",
    ],
    ["bad boolean env", [], {
      MODEL_SIGNING_PUBLIC_KEY: f.publicKey,
      MODEL_SIGNING_ALLOW_SYMLINKS: "sometimes",
    }, "MODEL_SIGNING_ALLOW_SYMLINKS"],
    ["no configuration at all", [], {}, "--identity"],
  ];
  for (const [name, args, env, mention] of cases) {
    await t.step(name, async () => {
      const result = await spawn(args, env);
      assertEquals(result.code, 2, result.stderr);
      assertStringIncludes(result.stderr, mention);
      assertNoStackTrace(result);
    });
  }
});

Deno.test("with no arguments, verify runs from MODEL_SIGNING_* env alone", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const env = {
    MODEL_SIGNING_METHOD: "key",
    MODEL_SIGNING_MODEL_PATH: f.model,
    MODEL_SIGNING_PUBLIC_KEY: f.publicKey,
  };
  const ok = await spawn([], env);
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, "Verification succeeded");
  await Deno.writeTextFile(join(f.model, "extra.bin"), "planted");
  const bad = await spawn([], env);
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, "extra.bin");
});

Deno.test("relative paths resolve against the working directory", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const result = await spawn(
    ["verify", "key", "--signature=model/model.sig", "--public-key", "key.pub.pem", "model"],
    {},
    dir.path,
  );
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stdout, f.model);
});

Deno.test("--help prints the option table and exits 0", async () => {
  const result = await spawn(["--help"]);
  assertEquals(result.code, 0);
  assertStringIncludes(result.stdout, "MODEL_SIGNING_PUBLIC_KEY");
  assertStringIncludes(result.stdout, "--ignore-unsigned-files");
});

Deno.test("--log-level ERROR hides warnings; the default shows them on stderr", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const bundle = JSON.parse(await Deno.readTextFile(f.signature));
  bundle.verificationMaterial.publicKey = {}; // pre-1.1 format: no key hint, a warning
  await Deno.writeTextFile(f.signature, JSON.stringify(bundle));
  const shown = await spawn(["verify", "key", "--public_key", f.publicKey, f.model]);
  assertEquals(shown.code, 0, shown.stderr);
  assertStringIncludes(shown.stderr, "WARNING: This model's signature uses an older");
  const hidden = await spawn([
    "--log-level",
    "error",
    "verify",
    "key",
    "--public_key",
    f.publicKey,
    f.model,
  ]);
  assertEquals(hidden.code, 0, hidden.stderr);
  assertEquals(hidden.stderr, "");
});

Deno.test("the binary's sandbox refusals say what to do, not 'run again with --allow-write'", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  // A folder outside /tmp and /.sigstore, where the binary may not write (the checkout may itself
  // be under /tmp).
  const where = /^\/(tmp|\.sigstore)(\/|$)/.test(REPO_ROOT) ? "/" : REPO_ROOT;
  const outside = join(where, ".sandbox-test-never-written.sig");
  const result = await spawn(
    ["sign", "key", "--private-key", f.privateKey, "--signature", outside, f.model],
    { MODEL_SIGNING_TERMINATION_LOG: join(where, ".sandbox-test-termination-log") },
  );
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assert(lines[0]!.startsWith("Signing failed with error: "), result.stderr);
  assertStringIncludes(lines[0]!, `Cannot write the signature '${outside}'`);
  assertStringIncludes(lines[0]!, "may write only below /tmp and /.sigstore");
  assertStringIncludes(lines[0]!, "--signature");
  assertEquals(lines[0]!.split("/tmp and /.sigstore").length, 2, "the advice once");
  assertEquals(lines.length, 2, "the failure, then one warning about the termination log");
  assert(lines[1]!.startsWith("WARNING: Cannot write the termination message"), lines[1]);
  assert(!/--allow-write|Unexpected error/.test(result.stderr), result.stderr);
  assertNoStackTrace(result);
});
