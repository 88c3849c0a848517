/**
 * Every row of ../shared/interop/model-transparency/CASES.tsv (signatures made by every released
 * model_signing) through the argv form and the env-only form of the CLI.
 *
 * Sigstore rows run without network: `--trust_config` points at the corpus's production trusted
 * root (a bare trusted_root.json), and `--use_staging` becomes `--trust_config` with the staging
 * root, as the corpus README prescribes.
 */

import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { join } from "node:path";
import { findOption } from "../lib/config/options.ts";
import { INTEROP_DIR, NO_INTEROP, runCli } from "./_helpers.ts";

interface Case {
  id: string;
  method: string;
  modelDir: string;
  args: string[];
  expect: "pass" | "fail";
}

function readCases(dir: string): Case[] {
  const lines = Deno.readTextFileSync(join(dir, "model-transparency", "CASES.tsv"))
    .split("\n").filter((l) => l.trim() !== "");
  return lines.slice(1).map((line) => {
    const [id, method, modelDir, args, expect] = line.split("\t") as [
      string,
      string,
      string,
      string,
      string,
    ];
    return { id, method, modelDir, args: args.split(" "), expect: expect as "pass" | "fail" };
  });
}

/** Sigstore rows: pin the trusted root to the corpus's offline copies. */
function withTrustRoot(args: string[], method: string, interop: string): string[] {
  if (method !== "sigstore") return args;
  const trust = join(interop, "trust");
  const staging = args.includes("--use_staging");
  const root = staging
    ? join(trust, "staging-trusted_root.sigstore-python.json")
    : join(trust, "production-trusted_root.sigstore-js.json");
  const rest = args.filter((a) => a !== "--use_staging");
  return [...rest.slice(0, -1), "--trust_config", root, rest[rest.length - 1]!];
}

/** Turns `verify METHOD --flag value ... MODEL` into MODEL_SIGNING_* variables. */
function toEnv(args: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  assertEquals(args[0], "verify");
  env.MODEL_SIGNING_METHOD = args[1]!;
  let i = 2;
  for (; i < args.length - 1; i++) {
    const option = findOption(args[i]!.slice(2));
    assert(option, `unknown option ${args[i]}`);
    if (option.kind === "boolean") {
      env[option.env] = "true";
      continue;
    }
    const value = args[++i]!;
    env[option.env] = option.kind === "list" && env[option.env]
      ? `${env[option.env]},${value}`
      : value;
  }
  env.MODEL_SIGNING_MODEL_PATH = args[args.length - 1]!;
  return env;
}

function cwdFor(c: Case, interop: string): string {
  const base = join(interop, "model-transparency");
  return c.args[c.args.length - 1] === "." ? join(base, c.modelDir) : base;
}

function assertOutcome(c: Case, result: { code: number; stdout: string; stderr: string }) {
  const context = `${c.id}: exit ${result.code}\n${result.stdout}\n${result.stderr}`;
  if (c.expect === "pass") {
    assertEquals(result.code, 0, context);
    assertStringIncludes(result.stdout, "Verification succeeded", context);
  } else {
    assertEquals(result.code, 1, context);
    assert(result.stderr.startsWith("Verification failed with error: "), context);
    assert(!/\n\s+at /.test(result.stderr), `stack trace printed: ${context}`);
  }
}

Deno.test({
  name: "CASES.tsv rows give the expected result through argv",
  ignore: INTEROP_DIR === undefined,
  async fn(t) {
    for (const c of readCases(INTEROP_DIR!)) {
      await t.step(c.id, async () => {
        const args = withTrustRoot(c.args, c.method, INTEROP_DIR!);
        assertOutcome(c, await runCli(args, { cwd: cwdFor(c, INTEROP_DIR!) }));
      });
    }
  },
});

Deno.test({
  name: "CASES.tsv rows give the expected result through MODEL_SIGNING_* env alone",
  ignore: INTEROP_DIR === undefined,
  async fn(t) {
    for (const c of readCases(INTEROP_DIR!)) {
      await t.step(c.id, async () => {
        const env = toEnv(withTrustRoot(c.args, c.method, INTEROP_DIR!));
        assertOutcome(c, await runCli([], { cwd: cwdFor(c, INTEROP_DIR!), env }));
      });
    }
  },
});

// deno-lint-ignore no-console
if (INTEROP_DIR === undefined) console.warn(NO_INTEROP);
