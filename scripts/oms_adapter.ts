/**
 * The OMS conformance adapter: the CLI protocol of the OpenSSF model-signing conformance suite
 * (`sign-model`, `verify-model`, `capabilities`, `benchmark-model`) translated into model-verify
 * invocations. Run the suite with `scripts/oms-adapter` as its `--entrypoint` (README
 * "Conformance suite"). Exit codes are model-verify's: 0 success, 1 verification failed, 2 usage.
 *
 * Sigstore verification uses the embedded production trusted root (`--offline`) unless
 * `--use-staging` is given, so the suite runs without network; keyless signing is not offered.
 *
 * @module
 */

import { run } from "../main.ts";

/** What one adapter invocation turned into. */
export interface AdapterPlan {
  /** model-verify argv (without the program name). */
  argv: string[];
}

/** Adapter flags that take a value, and whether they repeat. */
const VALUE_FLAGS: Record<string, "one" | "many"> = {
  "--method": "one",
  "--model-path": "one",
  "--output-bundle": "one",
  "--bundle": "one",
  "--private-key": "one",
  "--signing-cert": "one",
  "--cert-chain": "many",
  "--public-key": "one",
  "--ignore-paths": "many",
  "--identity-token": "one",
  "--identity": "one",
  "--identity-provider": "one",
  "--operation": "one",
  "--repeat": "one",
  "--hash-algorithm": "one",
  "--shard-size": "one",
  "--chunk-size": "one",
  "--max-workers": "one",
};
const BOOLEAN_FLAGS = new Set(["--ignore-unsigned-files", "--use-staging"]);

/** Parsed adapter flags. */
export interface AdapterArgs {
  values: Map<string, string[]>;
  booleans: Set<string>;
}

/** A usage error of the adapter (exit 2). */
export class AdapterUsageError extends Error {
  override name = "AdapterUsageError";
}

/** Parses `--flag value` / `--flag=value` pairs; unknown flags are a usage error. */
export function parseAdapterArgs(argv: readonly string[]): AdapterArgs {
  const values = new Map<string, string[]>();
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (BOOLEAN_FLAGS.has(flag)) {
      booleans.add(flag);
      continue;
    }
    const kind = VALUE_FLAGS[flag];
    if (kind === undefined) throw new AdapterUsageError(`Unknown adapter flag '${arg}'`);
    const value = flag !== arg ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new AdapterUsageError(`Flag ${flag} needs a value`);
    const list = values.get(flag) ?? [];
    if (kind === "one" && list.length > 0) {
      throw new AdapterUsageError(`Flag ${flag} given twice`);
    }
    values.set(flag, [...list, value]);
  }
  return { values, booleans };
}

function one(args: AdapterArgs, flag: string): string | undefined {
  return args.values.get(flag)?.[0];
}

function need(args: AdapterArgs, flag: string, why: string): string {
  const value = one(args, flag);
  if (value === undefined) throw new AdapterUsageError(`Missing ${flag} (${why})`);
  return value;
}

function many(args: AdapterArgs, option: string, flag: string): string[] {
  return (args.values.get(flag) ?? []).flatMap((v) => [option, v]);
}

/** Translates `sign-model` flags into `model-verify sign ...`. */
export function planSign(args: AdapterArgs): AdapterPlan {
  const method = need(args, "--method", "key, certificate or sigstore");
  const model = need(args, "--model-path", "the model");
  const bundle = need(args, "--output-bundle", "where to write the signature");
  if (method !== "key" && method !== "certificate") {
    throw new AdapterUsageError(
      `sign-model --method ${method} is not offered: model-verify signs with a key or a certificate`,
    );
  }
  const argv = ["sign", method, "--signature", bundle, "--quiet"];
  argv.push("--private_key", need(args, "--private-key", `needed by --method ${method}`));
  if (method === "certificate") {
    argv.push("--signing_certificate", need(args, "--signing-cert", "needed by certificate"));
    argv.push(...many(args, "--certificate_chain", "--cert-chain"));
  }
  argv.push(...many(args, "--ignore_paths", "--ignore-paths"));
  const hash = one(args, "--hash-algorithm");
  if (hash !== undefined) argv.push("--hash_type", hash);
  const shard = one(args, "--shard-size");
  if (shard !== undefined) argv.push("--shard_size", shard);
  const workers = one(args, "--max-workers");
  if (workers !== undefined) argv.push("--max_workers", workers);
  argv.push(model);
  return { argv };
}

/** Translates `verify-model` flags into `model-verify verify ...`. */
export function planVerify(args: AdapterArgs): AdapterPlan {
  const method = need(args, "--method", "key, certificate or sigstore");
  const model = need(args, "--model-path", "the model");
  const bundle = one(args, "--bundle") ?? one(args, "--output-bundle");
  if (bundle === undefined) throw new AdapterUsageError("Missing --bundle (the signature)");
  const argv = ["verify", method, "--signature", bundle, "--quiet"];
  switch (method) {
    case "key":
      argv.push("--public_key", need(args, "--public-key", "needed by --method key"));
      break;
    case "certificate": {
      const chain = many(args, "--certificate_chain", "--cert-chain");
      if (chain.length === 0) throw new AdapterUsageError("Missing --cert-chain (trust anchors)");
      argv.push(...chain);
      break;
    }
    case "sigstore":
      argv.push("--identity", need(args, "--identity", "needed by --method sigstore"));
      argv.push(
        "--identity_provider",
        need(args, "--identity-provider", "needed by --method sigstore"),
      );
      argv.push(args.booleans.has("--use-staging") ? "--use_staging" : "--offline");
      break;
    default:
      throw new AdapterUsageError(`Unknown --method '${method}' (key, certificate or sigstore)`);
  }
  argv.push(...many(args, "--ignore_paths", "--ignore-paths"));
  if (args.booleans.has("--ignore-unsigned-files")) argv.push("--ignore_unsigned_files");
  const workers = one(args, "--max-workers");
  if (workers !== undefined) argv.push("--max_workers", workers);
  argv.push(model);
  return { argv };
}

/** The `capabilities` answer. */
export function capabilities(version: string): Record<string, unknown> {
  return {
    flags: ["--hash-algorithm", "--shard-size", "--max-workers"],
    hash_algorithms: ["sha256", "blake2b", "blake3"],
    benchmark_model: true,
    client_version: version,
  };
}

/** Output sinks of the adapter. */
export interface AdapterIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
  cwd: string;
  now?: () => number;
}

/** Runs one adapter invocation; returns the exit code. */
export async function runAdapter(argv: readonly string[], io: AdapterIo): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "capabilities": {
        const { VERSION } = await import("../main.ts");
        io.stdout(JSON.stringify(capabilities(VERSION)));
        return 0;
      }
      case "sign-model":
        return await run(planSign(parseAdapterArgs(rest)).argv, io);
      case "verify-model":
        return await run(planVerify(parseAdapterArgs(rest)).argv, io);
      case "benchmark-model":
        return await benchmark(parseAdapterArgs(rest), io);
      default:
        throw new AdapterUsageError(
          `Unknown command '${command ?? ""}' (sign-model, verify-model, capabilities, ` +
            "benchmark-model)",
        );
    }
  } catch (error) {
    if (!(error instanceof AdapterUsageError)) throw error;
    io.stderr(`oms_adapter: ${error.message}`);
    return 2;
  }
}

/** `benchmark-model`: runs the sign or verify `--repeat` times, prints `{"times_ms": [...]}`. */
async function benchmark(args: AdapterArgs, io: AdapterIo): Promise<number> {
  const operation = need(args, "--operation", "sign or verify");
  const repeat = Number(need(args, "--repeat", "number of timed runs"));
  if (!Number.isSafeInteger(repeat) || repeat < 1 || repeat > 1000) {
    throw new AdapterUsageError("--repeat must be a whole number from 1 to 1000");
  }
  let plan: AdapterPlan;
  if (operation === "sign") plan = planSign(args);
  else if (operation === "verify") plan = planVerify(args);
  else throw new AdapterUsageError("--operation must be sign or verify");
  const now = io.now ?? (() => performance.now());
  const times: number[] = [];
  const quiet = { ...io, stdout: () => {} };
  for (let i = 0; i < repeat; i++) {
    const start = now();
    const code = await run(plan.argv, quiet);
    if (code !== 0) return code;
    times.push(Math.round((now() - start) * 10) / 10);
  }
  io.stdout(JSON.stringify({ times_ms: times }));
  return 0;
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const code = await runAdapter(Deno.args, {
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    stdout: (text) => Deno.stdout.writeSync(encoder.encode(text + "\n")),
    stderr: (text) => Deno.stderr.writeSync(encoder.encode(text + "\n")),
  });
  Deno.exit(code);
}
