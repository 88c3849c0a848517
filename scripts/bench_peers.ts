/**
 * Peer rows of `deno task bench`: `verify key` of a model signed once per shape, timed for
 * model-verify's CLI, the model_signing 1.1.1 CLI and the Go CLI (installed by
 * scripts/install_peers.sh), so the ratios are against the peers as users run them. A peer that is
 * not installed is left out with a one-line reason.
 *
 * @module
 */

import { generateKeyPairSync } from "node:crypto";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { run } from "../main.ts";
import { compilePermissionFlags, compileTaskWords } from "../tests/_compile_flags.ts";
import { GO_PEER, PYTHON_PEER } from "../tests/_peers.ts";

/** A tool timed by the peer rows: the command that verifies `model` with `signature` and `key`. */
export interface PeerTool {
  key: string;
  label: string;
  /** Name in the ratio column. */
  short: string;
  command(model: string, signature: string, publicKey: string): [string, string[]];
}

/** What one shape needs: a key and a signature made by model-verify, outside the model folder. */
export interface PeerSetup {
  signature: string;
  publicKey: string;
}

/** The peers that are installed, and one line for each that is not. */
export function peerTools(): { tools: PeerTool[]; missing: string[] } {
  const tools: PeerTool[] = [];
  const missing: string[] = [];
  if (PYTHON_PEER.cli) {
    const cli = PYTHON_PEER.cli;
    tools.push({
      key: "py-verify",
      label: "model_signing 1.1.1 CLI `verify key`",
      short: "model_signing",
      command: (model, signature, key) => [cli, [
        "verify",
        "key",
        "--signature",
        signature,
        "--public_key",
        key,
        model,
      ]],
    });
  } else missing.push(PYTHON_PEER.missing.replace("peer tests", "bench rows"));
  if (GO_PEER.cli) {
    const cli = GO_PEER.cli;
    tools.push({
      key: "go-verify",
      label: "Go model-signing v0.0.3 CLI `verify key`",
      short: "Go",
      command: (model, signature, key) => [cli, [
        "verify",
        "key",
        "--signature",
        signature,
        "--public-key",
        key,
        model,
      ]],
    });
  } else missing.push(GO_PEER.missing.replace("peer tests", "bench rows"));
  return { tools, missing };
}

/** model-verify's `verify key` as the compiled binary runs it (or `bin`), like the bench's `digest`. */
export function ourVerifyCommand(
  model: string,
  setup: PeerSetup,
  bin?: string,
): [string, string[]] {
  const verify = [
    "verify",
    "key",
    "--public_key",
    setup.publicKey,
    "--signature",
    setup.signature,
    "--quiet",
    model,
  ];
  if (bin) return [resolve(bin), verify];
  const main = fileURLToPath(new URL("../main.ts", import.meta.url));
  const v8 = compileTaskWords().filter((word) => word.startsWith("--v8-flags="));
  return [Deno.execPath(), ["run", ...compilePermissionFlags(), ...v8, main, ...verify]];
}

/** A peer-row measurement: wall-clock seconds, CPU seconds (user + system) and peak RSS. */
export interface PeerMeasurement {
  seconds: number;
  cpuSeconds?: number;
  rssKiB?: number;
}

/**
 * Runs a command; wall-clock timed here, CPU time and peak RSS from GNU time when available. CPU
 * seconds are shown too because on a shared machine the wall clock mostly measures the neighbours.
 */
export async function timedCpu(
  timeBin: string | undefined,
  command: string,
  args: string[],
): Promise<PeerMeasurement> {
  const out = timeBin ? await Deno.makeTempFile() : undefined;
  const argv = timeBin ? ["-f", "%U %S %M", "-o", out!, command, ...args] : args;
  const started = performance.now();
  const result = await new Deno.Command(timeBin ?? command, {
    args: argv,
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  if (!result.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(result.stderr).slice(-2000)}`);
  }
  if (!out) return { seconds };
  const last = (await Deno.readTextFile(out)).trim().split("\n").at(-1) ?? "";
  await Deno.remove(out);
  const [user, system, rss] = last.split(" ").map(Number);
  return { seconds, cpuSeconds: user! + system!, rssKiB: rss! };
}

/** Median by wall clock, with the median CPU time and the largest RSS. */
export function peerMedian(values: PeerMeasurement[]): PeerMeasurement | undefined {
  if (values.length === 0) return undefined;
  const mid = <T>(xs: T[]) => xs[Math.floor(xs.length / 2)]!;
  const seconds = mid(values.map((v) => v.seconds).sort((a, b) => a - b));
  const cpus = values.flatMap((v) => (v.cpuSeconds === undefined ? [] : [v.cpuSeconds]));
  const rss = values.flatMap((v) => (v.rssKiB === undefined ? [] : [v.rssKiB]));
  return {
    seconds,
    ...(cpus.length ? { cpuSeconds: mid(cpus.sort((a, b) => a - b)) } : {}),
    ...(rss.length ? { rssKiB: Math.max(...rss) } : {}),
  };
}

/** Signs `modelDir` (files, sha256) with a fresh key; files go to `workDir`. */
export async function preparePeerBench(modelDir: string, workDir: string): Promise<PeerSetup> {
  await Deno.mkdir(workDir, { recursive: true });
  const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const privateKey = join(workDir, "bench-key.pem");
  const publicKey = join(workDir, "bench-key.pub.pem");
  const signature = join(workDir, "bench-model.sig");
  await Deno.writeTextFile(
    privateKey,
    pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
  );
  await Deno.writeTextFile(
    publicKey,
    pair.publicKey.export({ type: "spki", format: "pem" }) as string,
  );
  const errors: string[] = [];
  const code = await run(
    ["sign", "key", "--private_key", privateKey, "--signature", signature, "--quiet", modelDir],
    { cwd: Deno.cwd(), env: {}, stdout: () => {}, stderr: (text) => errors.push(text) },
  );
  if (code !== 0) {
    throw new Error(`signing ${modelDir} for the peer rows failed: ${errors.join(" ")}`);
  }
  return { signature, publicKey };
}

/**
 * Table rows: each peer's `verify key` (with its CPU seconds), then model-verify's with its ratio
 * to each peer: peer seconds over model-verify's, wall clock and CPU (above 1, model-verify is
 * faster / uses less CPU).
 */
export function peerRows(
  shape: string,
  bytes: number,
  ours: PeerMeasurement | undefined,
  peers: { label: string; short: string; m: PeerMeasurement | undefined }[],
  row: (bytes: number, m: { seconds: number; rssKiB?: number }) => string,
  /**
   * Seconds of parallel openssl and of the Deno floor loop in the same run: the row then shows
   * model-verify's rate against them too.
   */
  baselines: { opensslSeconds?: number; floorSeconds?: number } = {},
): string[] {
  if (!ours) return [];
  const cpu = (m: PeerMeasurement) =>
    m.cpuSeconds === undefined ? "" : `CPU ${m.cpuSeconds.toFixed(2)} s`;
  const measured = peers.filter((peer) => peer.m !== undefined);
  const rows = measured.map((peer) =>
    `| ${shape} | ${peer.label} | ${row(bytes, peer.m!)} | ${cpu(peer.m!)} |`
  );
  const ratios = measured.map((peer) => {
    const wall = `${(peer.m!.seconds / ours.seconds).toFixed(2)}x ${peer.short}`;
    const both = peer.m!.cpuSeconds !== undefined && ours.cpuSeconds !== undefined;
    return both ? `${wall} (CPU ${(peer.m!.cpuSeconds! / ours.cpuSeconds!).toFixed(2)}x)` : wall;
  });
  if (baselines.floorSeconds !== undefined) {
    ratios.unshift(`${(baselines.floorSeconds / ours.seconds).toFixed(2)}x Deno floor`);
  }
  if (baselines.opensslSeconds !== undefined) {
    ratios.unshift(`${(baselines.opensslSeconds / ours.seconds).toFixed(2)}x parallel openssl`);
  }
  const lead = cpu(ours) ? `${cpu(ours)}; ` : "";
  rows.push(
    `| ${shape} | model-verify CLI \`verify key\` | ${row(bytes, ours)} | ${lead}${
      ratios.join(", ")
    } |`,
  );
  return rows;
}
