/**
 * Large models without writing large files: sparse files stand in for weights.
 *
 * Memory: the CLI's `digest` runs in a subprocess (the permissions of the compiled binary) on a
 * 256 MiB and a 2 GiB sparse model, and reports its peak RSS (all threads). Both must stay under
 * the 150 MB target, and the 8x bigger model may not take more than a few MiB more: memory is
 * bounded by workers x read buffers, not by model size, so 2 GiB stands for 20 GiB (the bench
 * measures a 20 GiB sparse file too, see BENCHMARKS.md) while hashing in about 2 s.
 *
 * Failure mid-hash: a signed model whose weights file becomes a 4 GiB sparse file is truncated or
 * removed while it is being hashed; verification fails naming it, promptly, with no hang.
 */

import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { InputError } from "../lib/errors.ts";
import { verifyModel } from "../lib/verify_model.ts";
import { assert, assertEquals, assertFailsWith, assertStringIncludes } from "./_assert.ts";
import { keyConfig, REPO_ROOT, signedModel, tempDir, writeModel } from "./_helpers.ts";

const MIB = 1 << 20;
/** The target for a 20 GiB model. */
const RSS_LIMIT = 150 * 1000 * 1000;
/** Peak RSS may grow this much from 256 MiB to 2 GiB (allocator noise, not buffers). */
const RSS_GROWTH_LIMIT = 16 * MIB;

async function sparseFile(path: string, size: number): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    await file.truncate(size);
  } finally {
    file.close();
  }
}

/**
 * Runs `main.ts digest` in a subprocess with the compiled binary's read and env permissions and
 * returns its output and peak RSS in bytes: from GNU time when installed (exact), else the
 * largest `Deno.memoryUsage().rss` (process-wide, all threads) sampled every 2 ms while it ran
 * (Deno lets only --allow-all read /proc/self/status).
 */
async function digestPeakRss(dir: string, model: string): Promise<{ stdout: string; rss: number }> {
  const script = join(dir, "digest_rss.ts");
  await Deno.writeTextFile(
    script,
    `import { run } from ${JSON.stringify(pathToFileURL(join(REPO_ROOT, "main.ts")).href)};
let peak = Deno.memoryUsage().rss;
const timer = setInterval(() => peak = Math.max(peak, Deno.memoryUsage().rss), 2);
const out: string[] = [];
const code = await run(["digest", "--quiet", ${JSON.stringify(model)}], {
  env: {}, cwd: Deno.cwd(), stdout: (t) => out.push(t), stderr: (t) => out.push(t),
});
clearInterval(timer);
peak = Math.max(peak, Deno.memoryUsage().rss);
Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify({ code, out, peak })));
`,
  );
  const deno = [Deno.execPath(), "run", "--allow-read", "--allow-env", "--config"];
  const argv = [...deno, join(REPO_ROOT, "deno.json"), script];
  const timeOut = join(dir, "time.txt");
  const time = await hasGnuTime();
  const output = await new Deno.Command(time ? GNU_TIME : argv[0]!, {
    args: time ? ["-f", "%M", "-o", timeOut, ...argv] : argv.slice(1),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(output.success, new TextDecoder().decode(output.stderr));
  const result = JSON.parse(new TextDecoder().decode(output.stdout));
  assertEquals(result.code, 0, result.out.join("\n"));
  const rss = time ? Number((await Deno.readTextFile(timeOut)).trim()) * 1024 : result.peak;
  return { stdout: result.out.join("\n"), rss };
}

const GNU_TIME = "/usr/bin/time";

async function hasGnuTime(): Promise<boolean> {
  try {
    return (await new Deno.Command(GNU_TIME, { args: ["-f", "%M", "true"], stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

Deno.test({
  name: "digest of a 2 GiB sparse model stays under 150 MB RSS, as much as for 256 MiB",
  ignore: Deno.build.os !== "linux",
  async fn() {
    await using dir = await tempDir();
    const peaks: number[] = [];
    for (const size of [256 * MIB, 2048 * MIB]) {
      const model = join(dir.path, `model-${size}`);
      await writeModel(model, { "config.json": '{"hidden_size": 4096}\n' });
      await sparseFile(join(model, "model.safetensors"), size);
      const { stdout, rss } = await digestPeakRss(dir.path, model);
      assertStringIncludes(stdout, `(${size + 22} bytes)`);
      assert(rss < RSS_LIMIT, `peak RSS ${(rss / MIB).toFixed(1)} MiB for ${size / MIB} MiB`);
      peaks.push(rss);
    }
    assert(
      peaks[1]! - peaks[0]! < RSS_GROWTH_LIMIT,
      `peak RSS grew from ${(peaks[0]! / MIB).toFixed(1)} to ${(peaks[1]! / MIB).toFixed(1)} MiB`,
    );
  },
});

for (
  const [what, change] of [
    ["truncated", (path: string) => Deno.truncate(path, 10)],
    ["removed", (path: string) => Deno.remove(path)],
  ] as const
) {
  Deno.test(`verify fails naming a weights file ${what} while it is hashed`, async () => {
    await using dir = await tempDir();
    const f = await signedModel(dir.path);
    // The names still match the signature, so hashing starts; the bytes are 4 GiB of zeros.
    const weights = join(f.model, "model.safetensors");
    await sparseFile(weights, 4096 * MIB);
    let changed: Promise<void> | undefined;
    let started = false;
    const error = await assertFailsWith(
      () =>
        verifyModel(keyConfig(f), {
          onHashingStart: () => started = true,
          onProgress: (p) => {
            // Only the weights have this many bytes: their worker is reading them now.
            if (p.bytesDone >= 32 * MIB && p.filesDone < p.filesTotal) changed ??= change(weights);
          },
        }),
      InputError,
      "FILE_CHANGED",
    );
    await changed;
    assert(started, "hashing had started");
    assert(changed !== undefined, "the file was changed mid-hash");
    assertStringIncludes(error.message, weights);
  });
}
