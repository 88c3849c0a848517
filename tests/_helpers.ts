/**
 * Shared test helpers: run the CLI in-process, build temp models, make keys, locate the interop
 * corpus.
 *
 * @module
 */

import { generateKeyPairSync } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { VerifyConfig } from "../lib/config/config.ts";
import { run } from "../main.ts";
import { MODEL_VERIFY_BIN, programArgv } from "./_compile_flags.ts";

/** Output of one CLI run. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `main.ts` in-process with the given argv, working directory and environment only. With
 * `MODEL_VERIFY_BIN` set, runs that binary as a process instead, with the same argv, directory
 * and nothing but the given environment.
 */
export async function runCli(
  argv: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  if (MODEL_VERIFY_BIN) return await runProgram(argv, options);
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {
    cwd: options.cwd ?? Deno.cwd(),
    env: options.env ?? {},
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

/**
 * Runs model-verify as a process ({@link programArgv}: `MODEL_VERIFY_BIN` or `deno run` with the
 * compile task's flags) with the given argv, working directory and only the given environment.
 * Each output line ends in a newline; the last one is dropped, so the result reads as
 * {@link runCli}'s in-process one does. `PATH` is passed on (a wrapper script may need it to find
 * `deno`); the program itself reads no `PATH`.
 */
export async function runProgram(
  argv: readonly string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const [command, ...args] = programArgv(argv);
  const output = await new Deno.Command(command!, {
    args,
    cwd: options.cwd ?? Deno.cwd(),
    env: { ...pathOnly(), ...options.env },
    clearEnv: true,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replace(/\n$/, "");
  return { code: output.code, stdout: text(output.stdout), stderr: text(output.stderr) };
}

function pathOnly(): Record<string, string> {
  const path = Deno.env.get("PATH");
  return path === undefined ? {} : { PATH: path };
}

/** The repository root. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** `../shared/interop` beside the checkout, or undefined when absent (fresh clone elsewhere). */
export const INTEROP_DIR: string | undefined = (() => {
  const dir = resolve(REPO_ROOT, "..", "shared", "interop");
  try {
    return Deno.statSync(dir).isDirectory ? dir : undefined;
  } catch {
    return undefined;
  }
})();

/** Message for tests skipped without the interop corpus. */
export const NO_INTEROP = "../shared/interop is absent: interop tests skipped";

/** A temporary directory removed at the end of the scope (`await using dir = await tempDir()`). */
export async function tempDir(): Promise<AsyncDisposable & { path: string }> {
  const path = await Deno.makeTempDir({ prefix: "model-verify-test-" });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.chmod(path, 0o700).catch(() => {});
      await Deno.remove(path, { recursive: true }).catch(() => {});
    },
  };
}

/** Writes files (relative POSIX path -> text or bytes) under `root`, creating folders. */
export async function writeModel(
  root: string,
  files: Record<string, string | Uint8Array>,
): Promise<string> {
  await Deno.mkdir(root, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, ...name.split("/"));
    await Deno.mkdir(dirname(path), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(path, content);
    else await Deno.writeFile(path, content);
  }
  return root;
}

/** A small model like the demo's. */
export const SAMPLE_MODEL: Record<string, string> = {
  "config.json": '{"architectures": ["TinyModel"], "hidden_size": 8}\n',
  "model.safetensors": "weights ".repeat(512),
  "tokenizer.json": '{"version": "1.0", "vocab": {"a": 0, "b": 1}}\n',
  "nested/extra.txt": "nested file\n",
};

/** An EC key pair written as PEM files; returns their paths. */
export async function writeKeyPair(
  dir: string,
  curve: "P-256" | "P-384" | "P-521" = "P-256",
  name = "key",
): Promise<{ privateKey: string; publicKey: string }> {
  const pair = generateKeyPairSync("ec", { namedCurve: curve });
  const privateKey = join(dir, `${name}.pem`);
  const publicKey = join(dir, `${name}.pub.pem`);
  await Deno.writeTextFile(
    privateKey,
    pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  );
  await Deno.writeTextFile(
    publicKey,
    pair.publicKey.export({ type: "spki", format: "pem" }) as string,
  );
  return { privateKey, publicKey };
}

/**
 * Signs `model` through the CLI (`sign key --private_key <key> <extra...> <model>`); throws with
 * the CLI's stderr unless it exits 0.
 */
export async function signWithKey(
  model: string,
  privateKey: string,
  ...extra: string[]
): Promise<void> {
  const result = await runCli(["sign", "key", "--private_key", privateKey, ...extra, model]);
  if (result.code !== 0) {
    throw new Error(`signing '${model}' failed (exit ${result.code}): ${result.stderr}`);
  }
}

/**
 * A signed sample model in `dir/model` with its key pair in `dir`; the signature is the default
 * `dir/model/model.sig`.
 */
export async function signedModel(
  dir: string,
  options: { curve?: "P-256" | "P-384" | "P-521"; extraArgs?: string[] } = {},
): Promise<{ model: string; signature: string; privateKey: string; publicKey: string }> {
  const model = await writeModel(join(dir, "model"), SAMPLE_MODEL);
  const keys = await writeKeyPair(dir, options.curve ?? "P-256");
  await signWithKey(model, keys.privateKey, ...(options.extraArgs ?? []));
  return { model, signature: join(model, "model.sig"), ...keys };
}

/** Reads a bundle, lets `edit` change its JSON, writes it back. */
export async function editBundle(
  path: string,
  edit: (bundle: Record<string, unknown>) => void,
): Promise<void> {
  const bundle = JSON.parse(await Deno.readTextFile(path));
  edit(bundle);
  await Deno.writeTextFile(path, JSON.stringify(bundle));
}

/** Decodes, edits and re-encodes the statement of a bundle (the signature then no longer fits). */
export async function editStatement(
  path: string,
  edit: (statement: Record<string, unknown>) => unknown,
): Promise<void> {
  await editBundle(path, (bundle) => {
    const envelope = bundle.dsseEnvelope as { payload: string };
    const statement = JSON.parse(atob(envelope.payload));
    const replaced = edit(statement) ?? statement;
    envelope.payload = btoa(JSON.stringify(replaced));
  });
}

/** A key-method VerifyConfig for a fixture, with upstream defaults; `extra` overrides fields. */
export function keyConfig(
  fixture: { model: string; signature: string; publicKey: string },
  extra: Partial<VerifyConfig> = {},
): VerifyConfig {
  return {
    method: "key",
    modelPath: fixture.model,
    signaturePath: fixture.signature,
    publicKeyPath: fixture.publicKey,
    certificateChainPaths: [],
    useStaging: false,
    offline: false,
    ignorePaths: [],
    ignoreGitPaths: true,
    ignoreUnsignedFiles: false,
    allowSymlinks: false,
    logFingerprints: false,
    logLevel: "INFO",
    logFormat: "text",
    quiet: true,
    ...extra,
  };
}
