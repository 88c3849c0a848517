/**
 * `deno task bench`: how fast model-verify hashes models compared with `openssl dgst -sha256`.
 *
 * Generates deterministic synthetic models once (reused by later runs) under `.bench/` or
 * `--dir`, warms the page cache, then for each shape times, `--runs` times (median reported):
 * - openssl per-file parallel on all CPUs (`xargs -P`), and single-core on the largest file;
 * - model-verify in this process (walk + plan + `hashJobs`), and through the CLI
 *   (`deno run main.ts digest`, or `--bin` for a compiled binary), with peak RSS.
 * It checks that both tools agree on every file's digest, and measures peak RSS of the CLI on a
 * sparse file of `--sparse-gib` GiB. Peer rows (scripts/bench_peers.ts): `verify key` timed for
 * model-verify, model_signing 1.1.1 and the Go CLI. Prints a Markdown table for BENCHMARKS.md.
 *
 * Usage: deno task bench [--dir DIR] [--runs 3] [--shapes big,shards,small,big-sharded,many]
 *        [--big-gib 2] [--sparse-gib 20] [--bin dist/model-verify]
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { availableCpus } from "../lib/manifest/cpu_count.ts";
import { hashJobs } from "../lib/manifest/hash_jobs.ts";
import { planJobs } from "../lib/manifest/plan_jobs.ts";
import { walkModel } from "../lib/tree/walk_model.ts";
import { compilePermissionFlags, compileTaskWords } from "../tests/_compile_flags.ts";
import {
  ourVerifyCommand,
  type PeerMeasurement,
  peerMedian,
  peerRows,
  peerTools,
  preparePeerBench,
  timedCpu,
} from "./bench_peers.ts";

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const MIB = 1 << 20;
const GIB = 1 << 30;
const encoder = new TextEncoder();

/** A synthetic model: files with sizes, generated from a seed. */
export interface Shape {
  name: string;
  description: string;
  /** Relative path -> size in bytes. */
  files: [string, number][];
  /** Hash the directory in shards mode with this shard size (library only). */
  shardSize?: number;
  /** Generate the files of this other shape instead of new ones. */
  dataOf?: string;
}

export interface Measurement {
  seconds: number;
  rssKiB?: number;
}

function shapes(bigGiB: number): Shape[] {
  const json: [string, number][] = [
    ["config.json", 4 * 1024],
    ["generation_config.json", 256],
    ["special_tokens_map.json", 512],
    ["tokenizer.json", 2 * MIB],
    ["tokenizer_config.json", 16 * 1024],
  ];
  const small: [string, number][] = [];
  const random = xorshift(20_000);
  for (let i = 0; i < 20_000; i++) {
    const path = `d${pad(i % 20, 2)}/e${pad(Math.floor(i / 20) % 10, 2)}/f${pad(i, 5)}.bin`;
    small.push([path, 256 + (random() % (32 * 1024))]);
  }
  const many: [string, number][] = [];
  const randomMany = xorshift(100_000);
  for (let i = 0; i < 100_000; i++) {
    many.push([`d${pad(Math.floor(i / 200), 3)}/f${pad(i, 6)}.bin`, 1024 + (randomMany() % 3072)]);
  }
  return [
    {
      name: "big",
      description: `one ${bigGiB} GiB file + 5 json files`,
      files: [["model.safetensors", bigGiB * GIB], ...json],
    },
    {
      name: "shards",
      description: "8 shards of 256 MiB + json",
      files: [
        ...Array.from(
          { length: 8 },
          (_, i) => [`model-${pad(i + 1, 5)}-of-00008.safetensors`, 256 * MIB] as [string, number],
        ),
        ["model.safetensors.index.json", 64 * 1024],
        ...json.slice(0, 1),
      ],
    },
    {
      name: "small",
      description: "20,000 small files (256 B-32 KiB) in nested folders",
      files: small,
    },
    {
      // Not in the default --shapes: for the memory bound (peak RSS) at a large file count.
      name: "many",
      description: "100,000 files (1-4 KiB) in 500 folders",
      files: many,
    },
    {
      name: "big-sharded",
      description: `the ${bigGiB} GiB file, shards mode (256 MiB shards)`,
      files: [],
      dataOf: "big",
      shardSize: 256 * MIB,
    },
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      dir: { type: "string", default: join(REPO_ROOT, ".bench") },
      runs: { type: "string", default: "3" },
      shapes: { type: "string", default: "big,shards,small,big-sharded" },
      "big-gib": { type: "string", default: "2" },
      "sparse-gib": { type: "string", default: "20" },
      bin: { type: "string" },
    },
  });
  const dir = resolve(values.dir);
  const runs = positive(values.runs, "--runs");
  const bigGiB = positive(values["big-gib"], "--big-gib");
  const sparseGiB = Number(values["sparse-gib"]);
  const cpus = await availableCpus();
  const timeBin = await findTime();
  const all = shapes(bigGiB);
  const wanted = values.shapes.split(",").map((s) => s.trim()).filter(Boolean);

  say(`# machine\n${(await machine(cpus)).join("\n")}\n`);
  const peers = peerTools();
  for (const line of peers.missing) say(line);
  const rows: string[] = [];
  for (const name of wanted) {
    const shape = all.find((s) => s.name === name);
    if (!shape) throw new Error(`Unknown shape '${name}'`);
    const data = shape.dataOf ? all.find((s) => s.name === shape.dataOf)! : shape;
    const modelDir = await ensureShape(dir, data);
    const files = data.files.map(([path]) => join(modelDir, path));
    const bytes = data.files.reduce((sum, [, size]) => sum + size, 0);
    const largest = data.files.reduce((a, b) => (b[1] > a[1] ? b : a));
    say(`\n## ${shape.name}: ${shape.description} (${data.files.length} files, ${gib(bytes)})`);
    say("warming the page cache and cross-checking digests with openssl...");
    await crossCheck(modelDir, files, shape.shardSize);
    const peerSetup = shape.shardSize
      ? undefined
      : await preparePeerBench(modelDir, join(dir, "peers", shape.name));

    const results = new Map<string, Measurement[]>();
    const add = (key: string, m: Measurement) => results.set(key, [...results.get(key) ?? [], m]);
    for (let run = 1; run <= runs; run++) {
      if (!shape.shardSize) add("openssl-par", await opensslParallel(modelDir, cpus, timeBin));
      if (largest[1] >= 64 * MIB) {
        const path = join(modelDir, largest[0]);
        add("openssl-1", await timed(timeBin, "openssl", ["dgst", "-sha256", path]));
      }
      const lib = await hashInProcess(modelDir, shape.shardSize);
      add("mv-hash", lib.hashing);
      add("mv-lib", lib.all);
      if (!shape.shardSize) add("mv-cli", await cliDigest(modelDir, timeBin, values.bin));
      if (data.files.length >= 1000) add("deno-floor", await denoFloor(files, cpus));
      if (peerSetup) {
        const [ours, ourArgs] = ourVerifyCommand(modelDir, peerSetup, values.bin);
        add("mv-verify", await timedCpu(timeBin, ours, ourArgs));
        for (const tool of peers.tools) {
          const [command, args] = tool.command(modelDir, peerSetup.signature, peerSetup.publicKey);
          add(tool.key, await timedCpu(timeBin, command, args));
        }
      }
      say(
        `  run ${run}: ` +
          [...results].map(([k, v]) => `${k} ${v.at(-1)!.seconds.toFixed(2)} s`).join(", "),
      );
    }
    rows.push(...tableRows(shape, bytes, largest[1], results));
    const peerMed = (key: string) => peerMedian(results.get(key) as PeerMeasurement[] ?? []);
    const peerMeasures = peers.tools.map((tool) => ({ ...tool, m: peerMed(tool.key) }));
    const par = median(results.get("openssl-par") ?? []);
    const floor = median(results.get("deno-floor") ?? []);
    rows.push(
      ...peerRows(shape.name, bytes, peerMed("mv-verify"), peerMeasures, row, {
        ...(par ? { opensslSeconds: par.seconds } : {}),
        ...(floor ? { floorSeconds: floor.seconds } : {}),
      }),
    );
  }

  if (sparseGiB > 0) {
    say(`\n## sparse: one ${sparseGiB} GiB sparse file (memory bound)`);
    const sparseDir = join(dir, `sparse-${sparseGiB}`);
    await Deno.mkdir(sparseDir, { recursive: true });
    const path = join(sparseDir, "model.safetensors");
    const file = await Deno.open(path, { write: true, create: true });
    await file.truncate(sparseGiB * GIB);
    file.close();
    const cli: Measurement[] = [];
    const ssl: Measurement[] = [];
    for (let run = 1; run <= runs; run++) {
      ssl.push(await timed(timeBin, "openssl", ["dgst", "-sha256", path]));
      cli.push(await cliDigest(sparseDir, timeBin, values.bin));
      say(
        `  run ${run}: openssl-1 ${ssl.at(-1)!.seconds.toFixed(2)} s, ` +
          `mv-cli ${cli.at(-1)!.seconds.toFixed(2)} s`,
      );
    }
    const m = median(cli)!;
    const one = median(ssl)!;
    const bytes = sparseGiB * GIB;
    rows.push(`| sparse ${sparseGiB} GiB | openssl, 1 core | ${row(bytes, one)} | |`);
    rows.push(
      `| sparse ${sparseGiB} GiB | model-verify CLI \`digest\` | ${row(bytes, m)} | ` +
        `${(one.seconds / m.seconds).toFixed(2)}x 1-core |`,
    );
  }

  say("\n# results (median of " + runs + " runs; GB/s = 10^9 bytes per second)\n");
  say("| shape | tool | seconds | GB/s | peak RSS | model-verify / baseline |");
  say("| --- | --- | ---: | ---: | ---: | --- |");
  for (const row of rows) say(row);
}

/** Table rows of one shape: baselines, then model-verify with its ratios. */
export function tableRows(
  shape: Shape,
  bytes: number,
  largestBytes: number,
  results: Map<string, Measurement[]>,
): string[] {
  const med = (key: string) => median(results.get(key) ?? []);
  const rows: string[] = [];
  const par = med("openssl-par");
  const one = med("openssl-1");
  const parRate = par ? bytes / par.seconds : undefined;
  const oneRate = one ? largestBytes / one.seconds : undefined;
  const name = shape.name;
  if (par) {
    rows.push(`| ${name} | openssl, per-file parallel | ${row(bytes, par)} | |`);
  }
  if (one) rows.push(`| ${name} | openssl, 1 core, largest file | ${row(largestBytes, one)} | |`);
  const tools = [
    ["deno-floor", "Deno floor: open, read, hash, close per file"],
    ["mv-hash", "model-verify hashJobs, hashing only"],
    ["mv-lib", "model-verify walk + hashJobs"],
    ["mv-cli", "model-verify CLI `digest`"],
  ] as const;
  const floor = med("deno-floor");
  for (const [key, label] of tools) {
    const m = med(key);
    if (!m) continue;
    const mvRate = bytes / m.seconds;
    const ratios = [
      parRate ? `${(mvRate / parRate).toFixed(2)}x parallel` : "",
      oneRate && (name === "big" || shape.shardSize)
        ? `${(mvRate / oneRate).toFixed(2)}x 1-core`
        : "",
      // model-verify against what any Deno program pays per file (issue 16).
      floor && key !== "deno-floor" ? `${(floor.seconds / m.seconds).toFixed(2)}x Deno floor` : "",
    ].filter(Boolean).join(", ");
    rows.push(
      `| ${name} | ${label}${shape.shardSize ? " (shards)" : ""} | ${row(bytes, m)} | ${ratios} |`,
    );
  }
  return rows;
}

function row(bytes: number, m: Measurement): string {
  return `${m.seconds.toFixed(2)} | ${rate(bytes, m.seconds)} | ${rss(m)}`;
}

/** Generates a shape's files unless a stamp says they are already there. */
async function ensureShape(dir: string, shape: Shape): Promise<string> {
  const modelDir = join(dir, shape.name);
  const stamp = join(dir, `${shape.name}.stamp.json`);
  const spec = JSON.stringify({ version: 1, files: shape.files });
  if (await readOr(stamp) === spec) return modelDir;
  say(`generating ${shape.name} in ${modelDir}...`);
  await Deno.remove(modelDir, { recursive: true }).catch(() => {});
  const noise = noiseBlock();
  for (const [i, [path, size]] of shape.files.entries()) {
    const full = join(modelDir, path);
    await Deno.mkdir(dirname(full), { recursive: true });
    await writeSynthetic(full, size, i, noise);
  }
  await Deno.writeTextFile(stamp, spec);
  return modelDir;
}

/** 8 MiB of deterministic pseudo-random bytes. */
function noiseBlock(): Uint8Array {
  const words = new Uint32Array(2 * MIB);
  const random = xorshift(0x5eed);
  for (let i = 0; i < words.length; i++) words[i] = random();
  return new Uint8Array(words.buffer);
}

/** Writes `size` bytes: noise with the file and chunk index stamped into every chunk. */
async function writeSynthetic(path: string, size: number, index: number, noise: Uint8Array) {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    const offset = (index * 4099) % (noise.length - Math.min(size, noise.length) + 1);
    const chunk = noise.slice(0, Math.min(size, noise.length - offset) || 1);
    let written = 0;
    for (let n = 0; written < size; n++) {
      chunk.set(noise.subarray(offset, offset + chunk.length));
      const view = new DataView(chunk.buffer);
      if (chunk.length >= 8) {
        view.setUint32(0, index);
        view.setUint32(4, n);
      }
      const part = chunk.subarray(0, Math.min(chunk.length, size - written));
      let done = 0;
      while (done < part.length) done += await file.write(part.subarray(done));
      written += part.length;
    }
  } finally {
    file.close();
  }
}

/** Warms the cache and checks that model-verify and openssl agree on every file. */
async function crossCheck(modelDir: string, files: string[], shardSize?: number) {
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      'find "$1" -type f -print0 | xargs -0 -n 256 openssl dgst -sha256 -r',
      "_",
      modelDir,
    ],
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("openssl failed");
  const expected = new Map<string, string>();
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    const match = /^([0-9a-f]{64}) \*?(.*)$/.exec(line);
    if (match) expected.set(relative(modelDir, match[2]!), match[1]!);
  }
  if (shardSize) return;
  const tree = await walkModel(modelDir, { ignored: [], allowSymlinks: false });
  const digests = await hashJobs(planJobs(tree.files, { method: "files" }), {
    algorithm: "sha256",
  });
  let compared = 0;
  for (const path of files) {
    const name = relative(modelDir, path);
    if (digests.get(name) !== expected.get(name)) {
      throw new Error(`Digest of '${name}' differs: ${digests.get(name)} vs ${expected.get(name)}`);
    }
    compared++;
  }
  say(`  ${compared} file digests identical to openssl's`);
}

/**
 * openssl on every file, `cpus` processes at a time, each given a quarter of a CPU's share of
 * the files: few enough processes that starting them costs openssl little (20,000 files in
 * batches of 64 took 0.8 s, in batches of 2,500 0.25 s), enough that no core idles at the end.
 */
async function opensslParallel(modelDir: string, cpus: number, timeBin?: string) {
  const count = await fileCount(modelDir);
  const perCall = Math.max(1, Math.ceil(count / (cpus * 4)));
  return await timed(timeBin, "bash", [
    "-c",
    'find "$1" -type f -print0 | xargs -0 -P "$2" -n "$3" openssl dgst -sha256 >/dev/null',
    "_",
    modelDir,
    String(cpus),
    String(perCall),
  ]);
}

/** Walk + plan + hash in this process; also the hashing alone. */
async function hashInProcess(
  modelDir: string,
  shardSize?: number,
): Promise<{ all: Measurement; hashing: Measurement }> {
  const started = performance.now();
  const tree = await walkModel(modelDir, { ignored: [], allowSymlinks: false });
  const jobs = planJobs(
    tree.files,
    shardSize ? { method: "shards", shardSize } : { method: "files" },
  );
  const hashing = performance.now();
  await hashJobs(jobs, { algorithm: "sha256" });
  const ended = performance.now();
  return {
    all: { seconds: (ended - started) / 1000 },
    hashing: { seconds: (ended - hashing) / 1000 },
  };
}

/** `digest` through the CLI, with the permission and V8 flags the compiled binary gets. */
async function cliDigest(modelDir: string, timeBin?: string, bin?: string): Promise<Measurement> {
  const command = bin ? resolve(bin) : Deno.execPath();
  const flags = compileTaskWords().filter((word) => word.startsWith("--v8-flags="));
  const args = bin ? [] : [
    "run",
    ...compilePermissionFlags(),
    ...flags,
    join(REPO_ROOT, "main.ts"),
  ];
  return await timed(timeBin, command, [...args, "digest", "--quiet", modelDir]);
}

/**
 * The least any Deno program needs to hash these files on `cpus` workers
 * (`bench_floor_worker.ts`: no walk, no checks), started before the clock starts. Shows how much
 * of a gap on many small files is the runtime's cost per file operation.
 */
async function denoFloor(files: string[], cpus: number): Promise<Measurement> {
  const url = new URL("./bench_floor_worker.ts", import.meta.url);
  const workers = Array.from({ length: cpus }, () => new Worker(url, { type: "module" }));
  try {
    const run = (worker: Worker, paths: string[]) =>
      new Promise<void>((resolve, reject) => {
        worker.onmessage = () => resolve();
        worker.onerror = (event) => reject(new Error(event.message));
        worker.postMessage(paths);
      });
    await Promise.all(workers.map((worker) => run(worker, []))); // started and loaded
    const started = performance.now();
    await Promise.all(workers.map((w, i) => run(w, files.filter((_, j) => j % cpus === i))));
    return { seconds: (performance.now() - started) / 1000 };
  } finally {
    for (const worker of workers) worker.terminate();
  }
}

/** Runs a command, wall-clock timed here, peak RSS from GNU time when available. */
async function timed(timeBin: string | undefined, command: string, args: string[]) {
  const rssFile = timeBin ? await Deno.makeTempFile() : undefined;
  const argv = timeBin ? ["-f", "%M", "-o", rssFile!, command, ...args] : args;
  const started = performance.now();
  const out = await new Deno.Command(timeBin ?? command, {
    args: argv,
    stdout: "null",
    stderr: "piped",
  }).output();
  const seconds = (performance.now() - started) / 1000;
  if (!out.success) {
    throw new Error(`${command} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  if (!rssFile) return { seconds };
  const rssKiB = Number((await Deno.readTextFile(rssFile)).trim().split("\n").at(-1));
  await Deno.remove(rssFile);
  return { seconds, rssKiB };
}

async function findTime(): Promise<string | undefined> {
  try {
    const out = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M", "true"],
      stderr: "null",
    }).output();
    return out.success ? "/usr/bin/time" : undefined;
  } catch {
    return undefined;
  }
}

async function fileCount(dir: string): Promise<number> {
  let count = 0;
  for await (const entry of Deno.readDir(dir)) {
    count += entry.isDirectory ? await fileCount(join(dir, entry.name)) : 1;
  }
  return count;
}

/** What the table ran on (Deno reads /proc only with --allow-all: ask lscpu and free). */
async function machine(cpus: number): Promise<string[]> {
  const lscpu = await commandOutput("lscpu", []);
  const free = await commandOutput("free", ["-b"]);
  const model = /^Model name:\s*(.*)$/m.exec(lscpu)?.[1] ?? "unknown CPU";
  const memBytes = Number(/^Mem:\s+(\d+)/m.exec(free)?.[1] ?? 0);
  return [
    `- date: ${new Date().toISOString().slice(0, 10)}`,
    `- CPU: ${model}, ${navigator.hardwareConcurrency} cores (${cpus} used)`,
    `- memory: ${(memBytes / GIB).toFixed(1)} GiB`,
    `- Deno ${Deno.version.deno} (V8 ${Deno.version.v8}), ${
      (await commandOutput("openssl", ["version"])).trim()
    }`,
  ];
}

async function commandOutput(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).output();
    return new TextDecoder().decode(out.stdout);
  } catch {
    return "";
  }
}

function median(values: Measurement[]): Measurement | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a.seconds - b.seconds);
  const mid = sorted[Math.floor(sorted.length / 2)]!;
  const rssValues = values.flatMap((v) => (v.rssKiB === undefined ? [] : [v.rssKiB]));
  return rssValues.length === 0 ? { seconds: mid.seconds } : {
    seconds: mid.seconds,
    rssKiB: Math.max(...rssValues),
  };
}

function xorshift(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function rate(bytes: number, seconds: number): string {
  return (bytes / seconds / 1e9).toFixed(2);
}

function rss(m: Measurement): string {
  return m.rssKiB === undefined ? "-" : `${Math.round(m.rssKiB / 1024)} MiB`;
}

function gib(bytes: number): string {
  return `${(bytes / GIB).toFixed(2)} GiB`;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

function positive(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} must be a positive integer`);
  return n;
}

async function readOr(path: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return "";
  }
}

function say(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

if (import.meta.main) await main();
