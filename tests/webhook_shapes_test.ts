/**
 * Every argument shape the model-validation operator's webhook gives the init container (command
 * `/usr/local/bin/model_signing`, model path always last), run in-process against real fixtures:
 * the ../shared/interop corpus (signatures made by upstream model_signing) where present, and
 * models signed here otherwise.
 *
 * Older operators:
 *   verify sigstore --signature=<sig> --identity <id> --identity_provider <issuer> <model>
 *   verify key --signature=<sig> --public_key <key> <model>
 *   verify certificate --signature=<sig> --certificate_chain <ca> <model>
 *   verify <model>                      (no method configured)
 * Newer ones append, in this order: --trust_config <f> (whenever the resource has a
 * clientTrustConfig, whatever the method; ignored with a warning for key and certificate), --ignore-paths <p> (repeated),
 * --ignore-git-paths | --no-ignore-git-paths, --ignore_unsigned_files |
 * --no-ignore_unsigned_files, --allow_symlinks.
 *
 * The operator's end-to-end tests grep the log for `Verification succeeded` and `Verification
 * failed with error` and expect exit code 1 on failure; every case checks those too. Each run
 * names a termination log file (MODEL_SIGNING_TERMINATION_LOG), whose `[CODE]` gives the reason.
 */

import { join } from "node:path";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { HAS_OPENSSL, issue, signWithCertificate } from "./_fixtures/pki.ts";
import {
  INTEROP_DIR,
  NO_INTEROP,
  runCli,
  SAMPLE_MODEL,
  signedModel,
  signWithKey,
  tempDir,
  writeKeyPair,
  writeModel,
} from "./_helpers.ts";

interface ShapeResult {
  code: number;
  stdout: string;
  stderr: string;
  /** The error code from the termination message; undefined when none was written. */
  reason: string | undefined;
}

/** Runs one argv as the webhook would, with a termination log file beside it. */
async function runShape(
  argv: string[],
  env: Record<string, string> = {},
): Promise<ShapeResult> {
  await using dir = await tempDir();
  const terminationLog = join(dir.path, "termination-log");
  const result = await runCli(argv, {
    cwd: "/",
    env: { MODEL_SIGNING_TERMINATION_LOG: terminationLog, ...env },
  });
  let reason: string | undefined;
  try {
    const message = await Deno.readTextFile(terminationLog);
    assertEquals(message.split("\n").length, 2, `one line: ${message}`);
    reason = /^\[([A-Z0-9_]+)\] /.exec(message)?.[1];
    assert(reason, `termination message without a code: ${message}`);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return { ...result, reason };
}

function assertPasses(result: ShapeResult): void {
  assertEquals(result.code, 0, result.stderr);
  assert(result.stdout.startsWith("Verification succeeded\n"), result.stdout);
  assertEquals(result.reason, undefined, "no termination message on success");
}

function assertFails(result: ShapeResult, exitCode: number, reason: string): void {
  assertEquals(result.code, exitCode, result.stderr || result.stdout);
  assertEquals(result.stdout, "");
  assert(result.stderr.startsWith("Verification failed with error: "), result.stderr);
  assertEquals(result.reason, reason, result.stderr);
}

// --- models signed here ------------------------------------------------------------------------

/** A signed sample model plus its key, with room for files added after signing. */
async function keyModel(dir: string, extraArgs: string[] = []) {
  const f = await signedModel(dir, { extraArgs });
  const key = (model = f.model) => [
    "verify",
    "key",
    `--signature=${join(model, "model.sig")}`,
    "--public_key",
    f.publicKey,
  ];
  return { ...f, key };
}

Deno.test("verify key --signature=<sig> --public_key <key> <model>", async (t) => {
  await using dir = await tempDir();
  const f = await keyModel(dir.path);
  await t.step("a signed model passes", async () => {
    assertPasses(await runShape([...f.key(), f.model]));
  });
  await t.step("a changed file fails with exit 1", async () => {
    await Deno.writeTextFile(join(f.model, "config.json"), "{}\n");
    assertFails(await runShape([...f.key(), f.model]), 1, "MODEL_MODIFIED");
  });
});

Deno.test("verify <model>: no method in argv, the environment decides", async (t) => {
  await using dir = await tempDir();
  const f = await keyModel(dir.path);
  await t.step("MODEL_SIGNING_PUBLIC_KEY selects the key method", async () => {
    assertPasses(await runShape(["verify", f.model], { MODEL_SIGNING_PUBLIC_KEY: f.publicKey }));
  });
  await t.step("MODEL_SIGNING_METHOD=key with the key in env", async () => {
    const env = { MODEL_SIGNING_METHOD: "key", MODEL_SIGNING_PUBLIC_KEY: f.publicKey };
    assertPasses(await runShape(["verify", f.model], env));
  });
  await t.step(
    "nothing configured: Sigstore (the default) asks for an identity, exit 2",
    async () => {
      const result = await runShape(["verify", f.model]);
      assertFails(result, 2, "MISSING_OPTION");
      assertStringIncludes(result.stderr, "--identity");
      assertStringIncludes(result.stderr, "MODEL_SIGNING_IDENTITY");
    },
  );
});

Deno.test("appended --ignore-paths (repeated) leaves those paths out", async (t) => {
  await using dir = await tempDir();
  const f = await keyModel(dir.path);
  await writeModel(f.model, { "cache/tmp.bin": "scratch", "notes.txt": "added later\n" });
  const ignore = [
    "--ignore-paths",
    join(f.model, "cache"),
    "--ignore-paths",
    join(f.model, "notes.txt"),
  ];
  await t.step("both ignored: passes", async () => {
    assertPasses(await runShape([...f.key(), ...ignore, f.model]));
  });
  await t.step("one ignored: the other is an extra file, exit 1", async () => {
    const result = await runShape([...f.key(), ...ignore.slice(0, 2), f.model]);
    assertFails(result, 1, "MODEL_FILES_DIFFER");
    assertStringIncludes(result.stderr, "notes.txt");
  });
});

Deno.test("appended --ignore-git-paths / --no-ignore-git-paths", async (t) => {
  await using dir = await tempDir();
  const git = { ".git/HEAD": "ref: refs/heads/main\n", ".gitignore": "*.tmp\n" };
  await t.step(
    "git files added after a default signing: the signature's ignore list rules",
    async () => {
      // model_signing 1.1 records the git paths it left out; verification honours that record,
      // except that an explicit --no-ignore-git-paths makes them count (docs/oms_semantics.md).
      const f = await keyModel(join(dir.path, "default"));
      await writeModel(f.model, git);
      assertPasses(await runShape([...f.key(), "--ignore-git-paths", f.model]));
      const counted = await runShape([...f.key(), "--no-ignore-git-paths", f.model]);
      assertFails(counted, 1, "MODEL_FILES_DIFFER");
      assertStringIncludes(counted.stderr, ".git/HEAD");
    },
  );
  await t.step("git files signed with --no-ignore-git-paths", async () => {
    const model = await writeModel(join(dir.path, "with-git", "model"), {
      ...SAMPLE_MODEL,
      ...git,
    });
    const keys = await writeKeyPair(join(dir.path, "with-git"));
    await signWithKey(model, keys.privateKey, "--no-ignore-git-paths");
    const argv = ["verify", "key", `--signature=${join(model, "model.sig")}`, "--public_key"];
    assertPasses(await runShape([...argv, keys.publicKey, "--no-ignore-git-paths", model]));
    const ignored = await runShape([...argv, keys.publicKey, "--ignore-git-paths", model]);
    assertFails(ignored, 1, "MODEL_FILES_DIFFER");
    assertStringIncludes(ignored.stderr, ".git");
    await Deno.writeTextFile(join(model, ".git", "HEAD"), "ref: refs/heads/evil\n");
    const changed = await runShape([...argv, keys.publicKey, "--no-ignore-git-paths", model]);
    assertFails(changed, 1, "MODEL_MODIFIED");
  });
});

Deno.test("appended --ignore_unsigned_files / --no-ignore_unsigned_files", async (t) => {
  await using dir = await tempDir();
  const f = await keyModel(dir.path);
  await writeModel(f.model, { "README.md": "added after signing\n" });
  await t.step("--ignore_unsigned_files: only signed files count", async () => {
    assertPasses(await runShape([...f.key(), "--ignore_unsigned_files", f.model]));
  });
  await t.step("--no-ignore_unsigned_files: the new file is extra, exit 1", async () => {
    const result = await runShape([...f.key(), "--no-ignore_unsigned_files", f.model]);
    assertFails(result, 1, "MODEL_FILES_DIFFER");
    assertStringIncludes(result.stderr, "README.md");
  });
  await t.step("--ignore_unsigned_files still fails a changed signed file", async () => {
    await Deno.writeTextFile(join(f.model, "tokenizer.json"), "{}\n");
    const result = await runShape([...f.key(), "--ignore_unsigned_files", f.model]);
    assertFails(result, 1, "MODEL_MODIFIED");
  });
});

Deno.test("appended --allow_symlinks", async (t) => {
  await using dir = await tempDir();
  const shared = join(dir.path, "shared-weights.bin");
  await Deno.writeTextFile(shared, "weights kept outside the model\n");
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  await Deno.symlink(shared, join(model, "weights.bin"));
  const keys = await writeKeyPair(dir.path);
  await signWithKey(model, keys.privateKey, "--allow_symlinks");
  const argv = [
    "verify",
    "key",
    `--signature=${join(model, "model.sig")}`,
    "--public_key",
    keys.publicKey,
  ];
  await t.step("--allow_symlinks: the link is followed and verified", async () => {
    assertPasses(await runShape([...argv, "--allow_symlinks", model]));
  });
  await t.step("without it the signature's recorded allow_symlinks applies: passes", async () => {
    assertPasses(await runShape([...argv, model]));
  });
  await t.step("--allow_symlinks does not excuse a changed target", async () => {
    await Deno.writeTextFile(shared, "swapped\n");
    assertFails(await runShape([...argv, "--allow_symlinks", model]), 1, "MODEL_MODIFIED");
  });
});

Deno.test("every appended flag at once, in the webhook's order", async () => {
  await using dir = await tempDir();
  const f = await keyModel(dir.path);
  await writeModel(f.model, { "logs/run.txt": "x\n", ".git/HEAD": "ref\n", "extra.txt": "y\n" });
  const argv = [
    ...f.key(),
    "--ignore-paths",
    join(f.model, "logs"),
    "--ignore-paths",
    join(f.model, "does-not-exist"),
    "--ignore-git-paths",
    "--ignore_unsigned_files",
    "--allow_symlinks",
    f.model,
  ];
  assertPasses(await runShape(argv));
});

Deno.test("--trust_config after a key method is ignored with a warning, as the Go agent does", async () => {
  // The operator appends --trust_config whenever clientTrustConfig is set, whatever the method.
  // model_signing's `verify key` has no such option (click exits 2); the operator's Go agent
  // accepts and ignores it. A pod must not fail on it: accept, warn, verify with the key.
  await using dir = await tempDir();
  const f = await keyModel(dir.path);
  const trust = join(dir.path, "trust.json");
  await Deno.writeTextFile(trust, "not read");
  const ok = await runShape([...f.key(), "--trust_config", trust, f.model]);
  assertPasses(ok);
  assertMatch(
    ok.stderr,
    /^WARNING: --trust_config applies to Sigstore only; ignored for 'verify key'/m,
  );
  // Still a real verification: a tampered model fails as without the option.
  await Deno.writeTextFile(join(f.model, "config.json"), "BACKDOOR INJECTION\n", { append: true });
  assertFails(await runShape([...f.key(), "--trust_config", trust, f.model]), 1, "MODEL_MODIFIED");
});

Deno.test({
  name: "verify certificate --signature=<sig> --certificate_chain <ca> <model> (openssl PKI)",
  ignore: !HAS_OPENSSL,
  async fn(t) {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "model-root", ca: true });
    const leaf = await issue(dir.path, {
      cn: "model-signer",
      issuer: root,
      keyUsage: "digitalSignature",
      extendedKeyUsage: "codeSigning",
    });
    const { model } = await signWithCertificate(dir.path, leaf, [root]);
    const argv = [
      "verify",
      "certificate",
      `--signature=${join(model, "model.sig")}`,
      "--certificate_chain",
      root.cert,
    ];
    await t.step("passes", async () => {
      assertPasses(await runShape([...argv, model]));
    });
    await t.step("with the appended flags", async () => {
      await writeModel(model, { "scratch/a.txt": "a\n" });
      const appended = ["--ignore-paths", join(model, "scratch"), "--ignore-git-paths"];
      assertPasses(await runShape([...argv, ...appended, "--no-ignore_unsigned_files", model]));
    });
    await t.step("a CA that did not issue the signer fails with exit 1", async () => {
      const other = await issue(dir.path, { cn: "other-root", ca: true });
      const result = await runShape([
        ...argv.slice(0, 3),
        "--certificate_chain",
        other.cert,
        model,
      ]);
      assertEquals(result.code, 1, result.stderr);
      assert(result.stderr.startsWith("Verification failed with error: "));
    });
  },
});

// --- the interop corpus: signatures made by upstream model_signing ------------------------------

const IDENTITY = "stefanb@us.ibm.com";
const ISSUER = "https://sigstore.verify.ibm.com/oauth2";

function corpus(...parts: string[]): string {
  return join(INTEROP_DIR!, "model-transparency", ...parts);
}

function sigstoreArgs(model: string): string[] {
  return [
    "verify",
    "sigstore",
    `--signature=${join(model, "model.sig")}`,
    "--identity",
    IDENTITY,
    "--identity_provider",
    ISSUER,
  ];
}

/** A writable copy of a corpus folder (the corpus itself is read-only). */
async function copyOf(source: string, into: string): Promise<string> {
  await Deno.mkdir(into, { recursive: true });
  for await (const entry of Deno.readDir(source)) {
    if (!entry.isFile) continue;
    const target = join(into, entry.name);
    await Deno.writeFile(target, await Deno.readFile(join(source, entry.name)));
  }
  return into;
}

const interop = { ignore: INTEROP_DIR === undefined };

Deno.test({
  name:
    "interop: verify sigstore --signature=<sig> --identity <id> --identity_provider <iss> <model>",
  ...interop,
  async fn(t) {
    const model = corpus("v1.1.0-sigstore");
    // No network here: MODEL_SIGNING_OFFLINE selects the embedded production trusted root.
    const offline = { MODEL_SIGNING_OFFLINE: "true" };
    await t.step("passes with the embedded root (env)", async () => {
      const result = await runShape([...sigstoreArgs(model), model], offline);
      assertPasses(result);
      assertStringIncludes(result.stdout, IDENTITY);
    });
    await t.step("a wrong identity fails with exit 1", async () => {
      const argv = sigstoreArgs(model).map((a) => a === IDENTITY ? "stefanb@us.ibm.co" : a);
      const result = await runShape([...argv, model], offline);
      assertEquals(result.code, 1, result.stderr);
      assert(result.stderr.startsWith("Verification failed with error: "));
    });
    await t.step("a tampered copy fails with exit 1", async () => {
      await using dir = await tempDir();
      const copy = await copyOf(model, join(dir.path, "v1.1.0-sigstore"));
      await Deno.writeTextFile(join(copy, "signme-1"), "tampered");
      assertFails(await runShape([...sigstoreArgs(copy), copy], offline), 1, "MODEL_MODIFIED");
    });
  },
});

Deno.test({
  name: "interop: sigstore with the appended --trust_config, --ignore-paths and booleans",
  ...interop,
  async fn(t) {
    const model = corpus("v1.1.0-sigstore");
    const trust = join(INTEROP_DIR!, "trust", "production-trusted_root.sigstore-js.json");
    await t.step("--trust_config <trusted_root.json>", async () => {
      assertPasses(await runShape([...sigstoreArgs(model), "--trust_config", trust, model]));
    });
    await t.step("everything appended", async () => {
      const argv = [
        ...sigstoreArgs(model),
        "--trust_config",
        trust,
        "--ignore-paths",
        join(model, "ignore-me"),
        "--no-ignore-git-paths",
        "--no-ignore_unsigned_files",
        model,
      ];
      assertPasses(await runShape(argv));
    });
    await t.step("v1.0.1 signature without the --ignore-paths it needs fails, exit 1", async () => {
      const old = corpus("v1.0.1-sigstore");
      const result = await runShape([...sigstoreArgs(old), "--trust_config", trust, old]);
      assertFails(result, 1, "MODEL_FILES_DIFFER");
      assertStringIncludes(result.stderr, "ignore-me");
    });
  },
});

Deno.test({
  name: "interop: verify key and verify certificate shapes on upstream signatures",
  ...interop,
  async fn(t) {
    const publicKey = corpus("keys", "certificate", "signing-key-pub.pem");
    const ca = corpus("keys", "certificate", "ca-cert.pem");
    await t.step("key, v1.1.0", async () => {
      const model = corpus("v1.1.0-elliptic-key");
      const argv = ["verify", "key", `--signature=${join(model, "model.sig")}`, "--public_key"];
      assertPasses(await runShape([...argv, publicKey, model]));
    });
    await t.step("key, v1.0.1 with the appended --ignore-paths", async () => {
      const model = corpus("v1.0.1-elliptic-key");
      const argv = ["verify", "key", `--signature=${join(model, "model.sig")}`, "--public_key"];
      const ignore = ["--ignore-paths", join(model, "ignore-me")];
      assertPasses(await runShape([...argv, publicKey, ...ignore, model]));
    });
    await t.step("key, tampered", async () => {
      const model = corpus("tampered-v1.1.0-elliptic-key");
      const argv = ["verify", "key", `--signature=${join(model, "model.sig")}`, "--public_key"];
      assertFails(await runShape([...argv, publicKey, model]), 1, "MODEL_MODIFIED");
    });
    await t.step("certificate, v1.1.0", async () => {
      const model = corpus("v1.1.0-certificate");
      const argv = ["verify", "certificate", `--signature=${join(model, "model.sig")}`];
      assertPasses(await runShape([...argv, "--certificate_chain", ca, model]));
    });
    await t.step("certificate, v1.1.0, an unrelated CA", async () => {
      const model = corpus("v1.1.0-certificate");
      const unrelated = corpus("keys", "extra", "unrelated-ca-cert.pem");
      const argv = ["verify", "certificate", `--signature=${join(model, "model.sig")}`];
      const result = await runShape([...argv, "--certificate_chain", unrelated, model]);
      assertEquals(result.code, 1, result.stderr);
      assert(result.stderr.startsWith("Verification failed with error: "));
      assertMatch(result.reason ?? "", /^[A-Z_]+$/);
    });
  },
});

if (INTEROP_DIR === undefined) {
  Deno.test({ name: `interop webhook shapes skipped: ${NO_INTEROP}`, ignore: true, fn() {} });
}

// --- log format and termination message, through the same shapes -----------------------------

Deno.test("MODEL_SIGNING_LOG_FORMAT=json keeps the operator's grep lines inside JSON", async (t) => {
  await using dir = await tempDir();
  const f = await keyModel(dir.path);
  const json = { MODEL_SIGNING_LOG_FORMAT: "json" };
  await t.step("success: one verification_succeeded object", async () => {
    const result = await runShape([...f.key(), f.model], json);
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.split("\n");
    assertEquals(lines.length, 1);
    const event = JSON.parse(lines[0]!);
    assertEquals(event.event, "verification_succeeded");
    assertEquals(event.message, "Verification succeeded");
    assertEquals(event.files, Object.keys(SAMPLE_MODEL).length);
    assertEquals(event.signer.method, "key");
    assertEquals(typeof event.seconds, "number");
    assertStringIncludes(result.stdout, "Verification succeeded");
  });
  await t.step("failure: one verification_failed object with the error code", async () => {
    await Deno.writeTextFile(join(f.model, "notes.txt"), "extra\n");
    const result = await runShape([...f.key(), f.model], json);
    assertEquals(result.code, 1);
    const event = JSON.parse(result.stderr);
    assertEquals(event.event, "verification_failed");
    assertEquals(event.error.code, "MODEL_FILES_DIFFER");
    assertEquals(event.error.diff.extra_files, ["notes.txt"]);
    assertEquals(event.exit_code, 1);
    assertStringIncludes(result.stderr, "Verification failed with error");
    assertEquals(result.reason, "MODEL_FILES_DIFFER");
  });
  await t.step("a bad flag, before the config exists, is JSON too", async () => {
    const result = await runShape([...f.key(), "--no-such-flag", f.model], json);
    assertEquals(result.code, 2);
    assertEquals(JSON.parse(result.stderr).error.code, "UNKNOWN_OPTION");
    assertEquals(result.reason, "UNKNOWN_OPTION");
  });
  await t.step("--log-format json in argv", async () => {
    const result = await runShape([...f.key(), "--log-format", "json", f.model]);
    assertEquals(JSON.parse(result.stderr).event, "verification_failed");
  });
});
