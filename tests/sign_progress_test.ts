/**
 * Hashing progress of `sign sigstore` and `sign key`: shown as for `verify` (plain lines, or JSON
 * events with `--log-format json`), hidden by `--quiet`.
 */

import { join } from "node:path";
import { run } from "../main.ts";
import { startKeylessStack } from "../scripts/oms_local_sigstore.ts";
import { assert, assertEquals } from "./_assert.ts";
import { SAMPLE_MODEL, tempDir, writeKeyPair, writeModel } from "./_helpers.ts";

/** Runs the CLI with a progress sink whose clock jumps a minute per reading (every update due). */
async function runWithProgress(argv: string[], env: Record<string, string> = {}) {
  let clock = 0;
  const progress: string[] = [];
  const stderr: string[] = [];
  const code = await run(argv, {
    env,
    cwd: Deno.cwd(),
    stdout: () => {},
    stderr: (text) => stderr.push(text),
    progress: {
      write: (text) => progress.push(text),
      isTerminal: false,
      now: () => clock += 60_000,
    },
  });
  return { code, progress: progress.join(""), stderr: stderr.join("\n") };
}

function events(text: string): { event: string }[] {
  return text.split("\n").filter((line) => line !== "").map((line) => JSON.parse(line));
}

Deno.test("sign sigstore shows hashing progress (JSON events in JSON mode); --quiet hides it", async () => {
  await using dir = await tempDir();
  await using stack = await startKeylessStack(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const argv = (...extra: string[]) => [
    "sign",
    "sigstore",
    "--trust-config",
    stack.trustConfigPath,
    "--identity-token",
    "TOKEN",
    "--max-workers",
    "1",
    ...extra,
    model,
  ];
  const withToken = async (words: string[]) => {
    const token = await stack.token();
    return words.map((w) => w === "TOKEN" ? token : w);
  };
  const json = await runWithProgress(await withToken(argv("--log-format", "json")));
  assertEquals(json.code, 0, json.stderr);
  const seen = events(json.progress);
  assert(seen.length >= 2, json.progress);
  assertEquals(seen.at(-1)!.event, "hashing_finished");
  assert(seen.slice(0, -1).every((e) => e.event === "hashing_progress"), json.progress);
  const text = await runWithProgress(await withToken(argv()));
  assertEquals(text.code, 0, text.stderr);
  assert(text.progress.startsWith("Hashing: "), text.progress);
  const quiet = await runWithProgress(await withToken(argv("--quiet")));
  assertEquals(quiet.code, 0, quiet.stderr);
  assertEquals(quiet.progress, "");
});

Deno.test("sign key shows hashing progress too; --quiet hides it", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const keys = await writeKeyPair(dir.path);
  const argv = (...extra: string[]) => [
    "sign",
    "key",
    "--private-key",
    keys.privateKey,
    "--max-workers",
    "1",
    ...extra,
    model,
  ];
  const shown = await runWithProgress(argv());
  assertEquals(shown.code, 0, shown.stderr);
  assert(shown.progress.includes("Hashed "), shown.progress);
  const quiet = await runWithProgress(argv("--quiet"));
  assertEquals(quiet.code, 0, quiet.stderr);
  assertEquals(quiet.progress, "");
});
