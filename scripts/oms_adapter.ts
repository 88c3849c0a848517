/**
 * The OMS conformance adapter: the CLI protocol of the OpenSSF model-signing conformance suite
 * (`sign-model`, `verify-model`, `capabilities`, `benchmark-model`) translated into model-verify
 * invocations. Run the suite with `scripts/oms-adapter` as its `--entrypoint` (README
 * "Conformance suite"). Exit codes are model-verify's: 0 success, 1 verification failed, 2 usage.
 *
 * Sigstore verification uses the embedded production trusted root (`--offline`) unless
 * `--use-staging` is given, so the suite runs without network. `sign-model --method sigstore`
 * signs keylessly (`model-verify sign sigstore`, never interactive) with `--identity-token`, else
 * `SIGSTORE_ID_TOKEN` / `MODEL_SIGNING_IDENTITY_TOKEN`. `MODEL_SIGNING_TRUST_CONFIG` (a
 * ClientTrustConfig with a signingConfig) names a private Sigstore for both directions; it wins
 * over `--use-staging` and `--offline`, so the suite's keyless roundtrips can run against a local
 * stack (docs/oms_semantics.md).
 * `benchmark-model --operation hash` times the manifest alone (walk and hash, no signature), as
 * the suite's benchmark harness asks for its hash scenarios (docs/oms_semantics.md).
 *
 * @module
 */

import { join } from "node:path";
import { run } from "../main.ts";
import { DEFAULT_SIGNATURE_NAME } from "../lib/config/config.ts";
import { InputError } from "../lib/errors.ts";
import { buildManifest } from "../lib/manifest/build_manifest.ts";
import { HASH_ALGORITHMS, type HashAlgorithm, isHashAlgorithm } from "../lib/manifest/engines.ts";
import { computeRootDigest, type Serialization } from "../lib/manifest/manifest.ts";
import { escapeName } from "../lib/_escape.ts";
import { explainError } from "../lib/report/explain_error.ts";
import { buildIgnoreList } from "../lib/tree/ignore.ts";
import { resolveModelRoot, walkModel } from "../lib/tree/walk_model.ts";

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
  "--warmup": "one",
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

/** The env twin of `--trust-config`: a private Sigstore for keyless sign and verify. */
export const TRUST_CONFIG_ENV = "MODEL_SIGNING_TRUST_CONFIG";

/** The adapter's surroundings that change a plan. */
export interface PlanEnv {
  env?: Readonly<Record<string, string | undefined>>;
}

function trustConfigFromEnv(where: PlanEnv): boolean {
  return (where.env?.[TRUST_CONFIG_ENV]?.trim() ?? "") !== "";
}

/**
 * Translates `sign-model` flags into `model-verify sign ...`. For `--method sigstore` the
 * token comes from `--identity-token` or the environment, and `MODEL_SIGNING_TRUST_CONFIG`
 * (read by `sign sigstore` itself) replaces `--use-staging`.
 */
export function planSign(args: AdapterArgs, where: PlanEnv = {}): AdapterPlan {
  const method = need(args, "--method", "key, certificate or sigstore");
  const model = need(args, "--model-path", "the model");
  const bundle = need(args, "--output-bundle", "where to write the signature");
  if (method !== "key" && method !== "certificate" && method !== "sigstore") {
    throw new AdapterUsageError(`Unknown --method '${method}' (key, certificate or sigstore)`);
  }
  const argv = ["sign", method, "--signature", bundle, "--quiet"];
  if (method === "sigstore") {
    const token = one(args, "--identity-token");
    if (token !== undefined) argv.push("--identity_token", token);
    if (args.booleans.has("--use-staging") && !trustConfigFromEnv(where)) {
      argv.push("--use_staging");
    }
  } else {
    argv.push("--private_key", need(args, "--private-key", `needed by --method ${method}`));
  }
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

/**
 * Translates `verify-model` flags into `model-verify verify ...`. Sigstore verifies offline
 * against the embedded production root, or staging, or `MODEL_SIGNING_TRUST_CONFIG` when set.
 */
export function planVerify(args: AdapterArgs, where: PlanEnv = {}): AdapterPlan {
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
      if (!trustConfigFromEnv(where)) {
        argv.push(args.booleans.has("--use-staging") ? "--use_staging" : "--offline");
      }
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

/** What `benchmark-model --operation hash` hashes: the model's manifest, with no signature. */
export interface HashPlan {
  modelPath: string;
  ignorePaths: string[];
  serialization: Pick<Serialization, "method" | "hashType" | "shardSize">;
  maxWorkers?: number;
}

/**
 * Translates `benchmark-model --operation hash` flags: the hash algorithm (default sha256), shard
 * serialization when `--shard-size` is given (BLAKE3 always hashes whole files, as `sign` does),
 * and the worker count. `--method` and key material are not needed.
 */
export function planHash(args: AdapterArgs): HashPlan {
  const modelPath = need(args, "--model-path", "the model");
  const algorithm = one(args, "--hash-algorithm") ?? "sha256";
  if (!isHashAlgorithm(algorithm)) {
    throw new AdapterUsageError(
      `--hash-algorithm must be one of ${HASH_ALGORITHMS.join(", ")}, got '${algorithm}'`,
    );
  }
  const hashType: HashAlgorithm = algorithm;
  const shardSize = positive(args, "--shard-size");
  const maxWorkers = positive(args, "--max-workers");
  const serialization = shardSize === undefined || hashType === "blake3"
    ? { method: "files" as const, hashType }
    : { method: "shards" as const, hashType, shardSize };
  return {
    modelPath,
    ignorePaths: args.values.get("--ignore-paths") ?? [],
    serialization,
    ...(maxWorkers === undefined ? {} : { maxWorkers }),
  };
}

/** An optional positive whole number flag. */
function positive(args: AdapterArgs, flag: string): number | undefined {
  const value = one(args, flag);
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new AdapterUsageError(`${flag} must be a positive whole number, got '${value}'`);
  }
  return n;
}

/** Hashes the model once as `plan` says; returns its root digest. */
export async function hashModel(plan: HashPlan, cwd: string): Promise<string> {
  const { root, kind } = await resolveModelRoot(plan.modelPath);
  const { ignored } = buildIgnoreList({
    modelRoot: root,
    userPaths: kind === "directory" ? plan.ignorePaths : [],
    cwd,
    internalPaths: [join(root, DEFAULT_SIGNATURE_NAME)],
    recordedPaths: [],
    ignoreGitPaths: true,
  });
  const tree = await walkModel(plan.modelPath, { ignored, allowSymlinks: false });
  if (tree.files.length === 0) {
    throw new InputError(
      "MODEL_EMPTY",
      `Cannot hash '${escapeName(plan.modelPath)}' (--model-path): the model holds no regular file`,
    );
  }
  const { entries } = await buildManifest(
    tree.files,
    plan.serialization,
    plan.maxWorkers === undefined ? {} : { maxWorkers: plan.maxWorkers },
  );
  return computeRootDigest(entries);
}

/** The `capabilities` answer. */
export function capabilities(version: string): Record<string, unknown> {
  return {
    flags: ["--hash-algorithm", "--shard-size", "--max-workers"],
    methods: {
      sign: ["key", "certificate", "sigstore"],
      verify: ["key", "certificate", "sigstore"],
    },
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
        return await run(planSign(parseAdapterArgs(rest), io).argv, io);
      case "verify-model":
        return await run(planVerify(parseAdapterArgs(rest), io).argv, io);
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

/**
 * `benchmark-model`: runs the sign, verify or hash `--warmup` times untimed (default 1, as the
 * suite's reference adapters do: the first run pays for compiling and starting workers), then
 * `--repeat` times timed, and prints `{"times_ms": [...]}`.
 */
async function benchmark(args: AdapterArgs, io: AdapterIo): Promise<number> {
  const operation = need(args, "--operation", "sign, verify or hash");
  const repeat = count(args, "--repeat", 1, undefined);
  const warmup = count(args, "--warmup", 0, 1);
  let once: () => Promise<number>;
  const quiet = { ...io, stdout: () => {} };
  if (operation === "sign" || operation === "verify") {
    const plan = operation === "sign" ? planSign(args, io) : planVerify(args, io);
    once = () => run(plan.argv, quiet);
  } else if (operation === "hash") {
    const plan = planHash(args);
    once = async () => {
      try {
        await hashModel(plan, io.cwd);
        return 0;
      } catch (thrown) {
        const error = explainError(thrown);
        io.stderr(`oms_adapter: hashing failed: ${error.message}`);
        return error.exitCode;
      }
    };
  } else {
    throw new AdapterUsageError("--operation must be sign, verify or hash");
  }
  const timed = await timeRuns(once, { warmup, repeat, now: io.now ?? (() => performance.now()) });
  if (typeof timed === "number") return timed;
  io.stdout(JSON.stringify({ times_ms: timed }));
  return 0;
}

/**
 * Calls `once` `warmup` times untimed, then `repeat` times timed; stops at the first non-zero
 * exit code and returns it, else the times in milliseconds (one decimal).
 */
export async function timeRuns(
  once: () => Promise<number>,
  options: { warmup: number; repeat: number; now: () => number },
): Promise<number[] | number> {
  for (let i = 0; i < options.warmup; i++) {
    const code = await once();
    if (code !== 0) return code;
  }
  const times: number[] = [];
  for (let i = 0; i < options.repeat; i++) {
    const start = options.now();
    const code = await once();
    if (code !== 0) return code;
    times.push(Math.round((options.now() - start) * 10) / 10);
  }
  return times;
}

/** A run count flag from 0 or 1 to 1000. */
function count(args: AdapterArgs, flag: string, min: number, fallback: number | undefined): number {
  const value = fallback === undefined ? need(args, flag, "number of timed runs") : one(args, flag);
  if (value === undefined) return fallback!;
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > 1000) {
    throw new AdapterUsageError(`${flag} must be a whole number from ${min} to 1000`);
  }
  return n;
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
