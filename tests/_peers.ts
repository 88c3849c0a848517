/**
 * The other implementations of the format, as installed by `scripts/install_peers.sh`: model_signing
 * (Python, PyPI) and the Go CLI (module github.com/sigstore/model-signing). Locates them, runs them
 * as subprocesses with bounded time, and says in one line why a peer is missing.
 *
 * @module
 */

import { join } from "node:path";

/** The cache folder the install script fills (same default as the script). */
export const PEERS_DIR: string = (() => {
  const env = Deno.env.get("MODEL_VERIFY_PEERS");
  if (env) return env;
  const cache = Deno.env.get("XDG_CACHE_HOME") ?? join(Deno.env.get("HOME") ?? "/tmp", ".cache");
  return join(cache, "model-verify", "peers");
})();

/** Versions pinned by scripts/install_peers.sh (kept in step by a test). */
export const PYTHON_PEER_VERSION = "1.1.1";
export const GO_PEER_VERSION = "v0.0.3";

function executable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** A located peer: the program to run, or why it is missing. */
export interface PeerInstall {
  /** Path of the CLI, or undefined when not installed. */
  cli: string | undefined;
  /** Path of the venv's python (model_signing only). */
  python?: string;
  /** One-line skip reason when `cli` is undefined. */
  missing: string;
}

const INSTALL_HINT = "run scripts/install_peers.sh";

/** model_signing in the peers venv. */
export const PYTHON_PEER: PeerInstall = (() => {
  const cli = join(PEERS_DIR, "python", "bin", "model_signing");
  const python = join(PEERS_DIR, "python", "bin", "python");
  const ok = executable(cli) && executable(python);
  return {
    cli: ok ? cli : undefined,
    python: ok ? python : undefined,
    missing:
      `model_signing ${PYTHON_PEER_VERSION} is not installed in ${PEERS_DIR}/python (${INSTALL_HINT}): peer tests skipped`,
  } as PeerInstall;
})();

/** The Go CLI in the peers folder. */
export const GO_PEER: PeerInstall = (() => {
  const cli = join(PEERS_DIR, "go", "bin", "model-signing");
  return {
    cli: executable(cli) ? cli : undefined,
    missing:
      `Go model-signing ${GO_PEER_VERSION} is not installed in ${PEERS_DIR}/go (${INSTALL_HINT}): peer tests skipped`,
  };
})();

/** Output of one subprocess run. */
export interface ProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with a time limit (killed after `timeoutMs`), a clean environment and `cwd`. */
export async function runProcess(
  program: string,
  args: readonly string[],
  options: { cwd?: string; stdin?: string; timeoutMs?: number; env?: Record<string, string> } = {},
): Promise<ProcessResult> {
  const child = new Deno.Command(program, {
    args: [...args],
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    clearEnv: true,
    env: {
      PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
      HOME: Deno.env.get("HOME") ?? "/tmp",
      LANG: "C.UTF-8",
      ...options.env,
    },
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, options.timeoutMs ?? 120_000);
  try {
    if (options.stdin !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(new TextEncoder().encode(options.stdin));
      await writer.close();
    }
    const out = await child.output();
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `tasks` with at most `limit` at a time; results in input order. */
export async function inParallel<T>(limit: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/**
 * A tiny driver over model_signing's public API (hashing.Config, signing.Config), for what its
 * 1.1.1 CLI cannot do: sign with another hash or with shards, verify such signatures (the API reads
 * the hashing from the signature; the 1.1.1 CLI always hashes files/sha256), print root digests.
 * Requests come as one JSON document on stdin; one JSON line per request goes to stdout.
 */
export const PYTHON_DRIVER = `
import hashlib, json, sys
from model_signing import hashing, signing, verifying

ALG = {"sha256": "sha256", "blake2b": "blake2", "blake3": "blake3"}

def config(req):
    cfg = hashing.Config()
    alg = ALG[req.get("hash", "sha256")]
    if req.get("shard"):
        cfg.use_shard_serialization(hashing_algorithm=alg, shard_size=req["shard"])
    else:
        cfg.use_file_serialization(hashing_algorithm=alg)
    cfg.set_ignored_paths(paths=req.get("ignore", []), ignore_git_paths=True)
    cfg.set_allow_symlinks(bool(req.get("allow_symlinks")))
    return cfg

out = []
for req in json.load(sys.stdin):
    try:
        if req["op"] == "digest":
            manifest = config(req).hash(req["model"])
            h = hashlib.sha256()
            for d in manifest.resource_descriptors():
                h.update(d.digest.digest_value)
            out.append({"digest": "sha256:" + h.hexdigest()})
        elif req["op"] == "sign":
            signing.Config().use_elliptic_key_signer(private_key=req["key"]).set_hashing_config(
                config(req)).sign(req["model"], req["signature"])
            out.append({"ok": True})
        elif req["op"] == "verify":
            verifying.Config().use_elliptic_key_verifier(public_key=req["key"]).verify(
                req["model"], req["signature"])
            out.append({"ok": True})
    except Exception as err:
        out.append({"error": type(err).__name__ + ": " + str(err)})
    print(json.dumps(out[-1]), flush=True)
`;

/** Runs the Python driver over `requests`; one result object per request. */
export async function runPythonDriver(
  requests: readonly Record<string, unknown>[],
  timeoutMs = 300_000,
): Promise<Record<string, unknown>[]> {
  if (!PYTHON_PEER.python) throw new Error(PYTHON_PEER.missing);
  const result = await runProcess(PYTHON_PEER.python, ["-c", PYTHON_DRIVER], {
    stdin: JSON.stringify(requests),
    timeoutMs,
  });
  const lines = result.stdout.split("\n").filter((line) => line.trim() !== "");
  if (lines.length !== requests.length) {
    throw new Error(
      `python driver answered ${lines.length} of ${requests.length} requests (exit ${result.code}): ${
        result.stderr.slice(-2000)
      }`,
    );
  }
  return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
}
