/**
 * The argv shapes the newest model-validation-operator webhook builds for
 * `/usr/local/bin/validation-agent` (internal/webhooks/pod_webhook.go: validationConfigToArgs,
 * buildValidationContainer, buildLegacySidecarContainer), verbatim:
 *
 * - one-shot init container (no continuous validation, and the pre-1.28 init container):
 *   `verify <method> --signature=<sig> <method flags> [--trust_config P] [--ignore-paths P]...
 *   [--ignore-git-paths|--no-ignore-git-paths] [--ignore_unsigned_files|--no-ignore_unsigned_files]
 *   [--allow_symlinks] <model>`
 * - native sidecar (1.28+, restartPolicy Always, probes /ready and /healthz on 8080):
 *   `--interval=<5m or the CR's> <the one-shot args>`
 * - pre-1.28 container `model-validation-sidecar`: `--interval=<...> --skip-initial <args>`
 *
 * @module
 */

import { join } from "node:path";
import { splitAgentArgs } from "../lib/agent/agent_options.ts";
import { parseArgs } from "../lib/config/parse_args.ts";
import { resolveVerifyConfig } from "../lib/config/resolve_config.ts";
import { run } from "../main.ts";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { runCli, signedModel, tempDir } from "./_helpers.ts";

const SIGSTORE = [
  "verify",
  "sigstore",
  "--signature=/data/model.sig",
  "--identity",
  "legacy@example.com",
  "--identity_provider",
  "https://accounts.google.com",
  "/data",
];
const KEY = [
  "verify",
  "key",
  "--signature=/data/model.sig",
  "--public_key",
  "/keys/pub.pem",
  "/data",
];
const CERTIFICATE = [
  "verify",
  "certificate",
  "--signature=/data/model.sig",
  "--certificate_chain",
  "/keys/ca.pem",
  "/data",
];
const MODEL_FLAGS = [
  "verify",
  "key",
  "--signature=/data/model.sig",
  "--public_key",
  "/keys/pub.pem",
  "--ignore-paths",
  "/data/README.md",
  "--ignore-paths",
  "/data/.cache",
  "--no-ignore-git-paths",
  "--ignore_unsigned_files",
  "--allow_symlinks",
  "/data",
];
const TRUST = [
  "verify",
  "sigstore",
  "--signature=/data/model.sig",
  "--identity",
  "a@b.c",
  "--identity_provider",
  "https://issuer",
  "--trust_config",
  "/trust/config.json",
  "--ignore-git-paths",
  "--no-ignore_unsigned_files",
  "/data",
];

Deno.test("webhook argv shapes parse to the intended agent options and verify config", async (t) => {
  const shapes: [string, string[], number, boolean, Record<string, unknown>][] = [
    ["one-shot sigstore", SIGSTORE, 0, false, {
      method: "sigstore",
      identity: "legacy@example.com",
      identityProvider: "https://accounts.google.com",
    }],
    ["one-shot key", KEY, 0, false, { method: "key", publicKeyPath: "/keys/pub.pem" }],
    ["one-shot certificate", CERTIFICATE, 0, false, {
      method: "certificate",
      certificateChainPaths: ["/keys/ca.pem"],
    }],
    ["one-shot with model flags", MODEL_FLAGS, 0, false, {
      ignorePaths: ["/data/README.md", "/data/.cache"],
      ignoreGitPaths: false,
      ignoreUnsignedFiles: true,
      allowSymlinks: true,
    }],
    ["one-shot with trust config", TRUST, 0, false, {
      trustConfigPath: "/trust/config.json",
      ignoreGitPaths: true,
      ignoreUnsignedFiles: false,
    }],
    ["native sidecar, default interval", ["--interval=5m", ...SIGSTORE], 300_000, false, {
      method: "sigstore",
    }],
    ["native sidecar, CR interval", ["--interval=10m", ...KEY], 600_000, false, { method: "key" }],
    ["pre-1.28 sidecar", ["--interval=15m", "--skip-initial", ...SIGSTORE], 900_000, true, {
      modelPath: "/data",
      signaturePath: "/data/model.sig",
    }],
    ["pre-1.28 init container", [...SIGSTORE], 0, false, { method: "sigstore" }],
  ];
  for (const [name, argv, intervalMs, skipInitial, expected] of shapes) {
    await t.step(name, () => {
      const { options, rest } = splitAgentArgs(argv, {});
      assertEquals([options.intervalMs, options.skipInitial], [intervalMs, skipInitial]);
      assertEquals(options.healthPort, 8080);
      const args = parseArgs(rest);
      assertEquals(args.command, "verify");
      const config = resolveVerifyConfig(args, { env: {}, cwd: "/" });
      assertEquals(config.modelPath, "/data");
      assertEquals(config.signaturePath, "/data/model.sig");
      for (const [key, value] of Object.entries(expected)) {
        assertEquals((config as unknown as Record<string, unknown>)[key], value, key);
      }
    });
  }
});

/** The webhook's key-method args for a real signed model. */
function keyArgs(f: { signature: string; publicKey: string; model: string }): string[] {
  return ["verify", "key", `--signature=${f.signature}`, "--public_key", f.publicKey, f.model];
}

Deno.test("the one-shot shape verifies with model_signing's messages and exit codes", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const ok = await runCli(keyArgs(fixture));
  assertEquals(ok.code, 0, ok.stderr);
  assert(ok.stdout.startsWith("Verification succeeded"));
  await Deno.writeTextFile(join(fixture.model, "tokenizer.json"), "{}");
  const bad = await runCli(keyArgs(fixture));
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, "Verification failed with error: ");
});

/** Runs a continuous shape verbatim (health server via env twins) until it is ready. */
async function runUntilReady(argv: string[]) {
  const stop = new AbortController();
  const lines: string[] = [];
  let seen!: () => void;
  const ready = new Promise<void>((resolve) => (seen = resolve));
  const code = run(argv, {
    env: { MODEL_SIGNING_HEALTH_PORT: "0", MODEL_SIGNING_HEALTH_ADDRESS: "127.0.0.1" },
    cwd: Deno.cwd(),
    stdout: (text) => lines.push(text),
    stderr: (text) => {
      lines.push(text);
      if (/ INFO (Ready|Skipping the initial verification)/.test(text)) seen();
    },
    onStop: () => stop.signal,
  });
  await Promise.race([ready, code]);
  const port = /health_port=(\d+)/.exec(lines.join("\n"))?.[1];
  assert(port, lines.join("\n"));
  const response = await fetch(`http://127.0.0.1:${port}/ready`);
  const status = response.status;
  await response.body?.cancel();
  stop.abort();
  return { status, code: await code, log: lines.join("\n") };
}

Deno.test("the native sidecar shape runs continuous mode and becomes ready", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const result = await runUntilReady(["--interval=5m", ...keyArgs(fixture)]);
  assertEquals([result.status, result.code], [200, 0], result.log);
  assertStringIncludes(result.log, "interval_seconds=300");
});

Deno.test("the pre-1.28 sidecar shape skips the initial check and is ready at once", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const result = await runUntilReady(["--interval=10m", "--skip-initial", ...keyArgs(fixture)]);
  assertEquals([result.status, result.code], [200, 0], result.log);
  assert(!result.log.includes("Verification succeeded"), "no verification before the interval");
});
