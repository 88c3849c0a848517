/**
 * Peak RSS of the CLI's `digest` and `verify key` on a model of many small files (issue 16's
 * bound: < 150 MiB at any model size), run as the compiled binary runs: `deno run` with the
 * compile task's permission and V8 flags (or `--bin` for a compiled binary), peak RSS from GNU
 * `time -f %M` (whole process, all threads).
 *
 * Usage: deno run -A scripts/bench_memory.ts [--files 100000] [--runs 3] [--dir DIR] [--bin PATH]
 *
 * The model (files of 1-4 KiB, 200 a folder, like `deno task bench --shapes many`) and its
 * signature are made once under DIR (default `.bench/memory-<files>`) and reused.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import { type PeerSetup, preparePeerBench } from "./bench_peers.ts";
import { ourVerifyCommand } from "./bench_peers.ts";
import { compilePermissionFlags, compileTaskWords } from "../tests/_compile_flags.ts";

const REPO_ROOT = new URL("..", import.meta.url).pathname;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    files: { type: "string", default: "100000" },
    runs: { type: "string", default: "3" },
    dir: { type: "string" },
    bin: { type: "string" },
  },
});
const files = Number(values.files);
const runs = Number(values.runs);
if (!Number.isSafeInteger(files) || files < 1 || !Number.isSafeInteger(runs) || runs < 1) {
  throw new Error("--files and --runs take positive integers");
}
const dir = values.dir ?? join(REPO_ROOT, ".bench", `memory-${files}`);
const model = join(dir, "model");
const stamp = join(dir, "model.stamp");

if (!await exists(stamp)) {
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  say(`making ${files} files under ${model}...`);
  const data = crypto.getRandomValues(new Uint8Array(4096));
  let seed = 1;
  for (let i = 0; i < files; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    const folder = join(model, `d${String(Math.floor(i / 200)).padStart(4, "0")}`);
    if (i % 200 === 0) await Deno.mkdir(folder, { recursive: true });
    const name = join(folder, `f${String(i).padStart(7, "0")}.bin`);
    await Deno.writeFile(name, data.subarray(0, 1024 + (seed % 3072)));
  }
  await Deno.writeTextFile(stamp, String(files));
}
say("signing...");
const setup: PeerSetup = await preparePeerBench(model, join(dir, "key"));
const sigBytes = (await Deno.stat(setup.signature)).size;

const v8 = compileTaskWords().filter((word) => word.startsWith("--v8-flags="));
const digest: [string, string[]] = values.bin
  ? [values.bin, ["digest", "--quiet", model]]
  : [Deno.execPath(), [
    "run",
    ...compilePermissionFlags(),
    ...v8,
    join(REPO_ROOT, "main.ts"),
    "digest",
    "--quiet",
    model,
  ]];
const verify = ourVerifyCommand(model, setup, values.bin);

const rows: string[] = [];
for (const [label, [command, args]] of [["digest", digest], ["verify key", verify]] as const) {
  const measured: { seconds: number; kib: number }[] = [];
  for (let run = 0; run < runs; run++) measured.push(await peak(command, args));
  const kib = measured.map((m) => m.kib);
  const seconds = measured.map((m) => m.seconds.toFixed(2)).join(", ");
  rows.push(
    `| ${files} files | \`${label}\` | ${mib(Math.min(...kib))}-${mib(Math.max(...kib))} MiB | ` +
      `${seconds} s |`,
  );
  say(rows.at(-1)!);
}
say(
  `\n${v8.join(" ") || "no V8 flags"}; signature ${(sigBytes / 1e6).toFixed(1)} MB; ${runs} runs\n`,
);
say("| model | command | peak RSS (min-max) | seconds |");
say("|---|---|---|---|");
for (const row of rows) say(row);

async function peak(command: string, args: string[]): Promise<{ seconds: number; kib: number }> {
  const out = await Deno.makeTempFile();
  try {
    const started = performance.now();
    const result = await new Deno.Command("/usr/bin/time", {
      args: ["-f", "%M", "-o", out, command, ...args],
      stdout: "null",
      stderr: "piped",
    }).output();
    const seconds = (performance.now() - started) / 1000;
    if (!result.success) {
      throw new Error(`${command} failed: ${new TextDecoder().decode(result.stderr).slice(-2000)}`);
    }
    const kib = Number((await Deno.readTextFile(out)).trim().split("\n").at(-1));
    return { seconds, kib };
  } finally {
    await Deno.remove(out);
  }
}

function mib(kib: number): number {
  return Math.round(kib / 1024);
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function say(text: string): void {
  Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
}
