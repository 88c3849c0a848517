/**
 * Continuous mode end to end: the real health server on 127.0.0.1, real verifications of signed
 * models in temp dirs, and a fake clock for the interval and the watch debounce. One test runs
 * the program as a process to check the SIGTERM contract.
 *
 * @module
 */

import { join } from "node:path";
import { splitAgentArgs } from "../lib/agent/agent_options.ts";
import type { RoundReport } from "../lib/agent/agent_loop.ts";
import { runAgent } from "../lib/agent/run_agent.ts";
import { FakeTimers } from "../lib/agent/_test_timers.ts";
import { parseArgs } from "../lib/config/parse_args.ts";
import { resolveVerifyConfig } from "../lib/config/resolve_config.ts";
import { run } from "../main.ts";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { programArgv } from "./_compile_flags.ts";
import { signedModel, tempDir } from "./_helpers.ts";

const MINUTE = 60_000;

/** An async queue: push now, take later. */
function queue<T>() {
  const items: T[] = [];
  const waiters: ((item: T) => void)[] = [];
  return {
    push(item: T) {
      const waiter = waiters.shift();
      if (waiter) waiter(item);
      else items.push(item);
    },
    next(): Promise<T> {
      const item = items.shift();
      return item !== undefined
        ? Promise.resolve(item)
        : new Promise<T>((resolve) => waiters.push(resolve));
    },
  };
}

/** Starts the agent in-process with `agentFlags` before `verify key ... MODEL`. */
async function startAgent(
  fixture: { model: string; signature: string; publicKey: string },
  agentFlags: string[],
) {
  const argv = [
    ...agentFlags,
    "--health-port=0",
    "verify",
    "key",
    "--signature",
    fixture.signature,
    "--public_key",
    fixture.publicKey,
    fixture.model,
  ];
  const { options, rest } = splitAgentArgs(argv, {});
  const config = resolveVerifyConfig(parseArgs(rest), { env: {}, cwd: Deno.cwd() });
  const timers = new FakeTimers();
  const stop = new AbortController();
  const log: string[] = [];
  const rounds = queue<RoundReport>();
  const events = queue<string[]>();
  let listening!: (port: number) => void;
  const port = new Promise<number>((resolve) => (listening = resolve));
  const done = runAgent(config, options, {
    env: {},
    stderr: (line) => log.push(line),
    stop: stop.signal,
    timers,
    hostname: "127.0.0.1",
    onListen: listening,
    onRound: (report) => rounds.push(report),
    onWatchEvent: (paths) => events.push(paths),
    // Test files are seconds old; a clock a minute ahead lets the identity cache trust them.
    cache: { now: () => Date.now() + MINUTE },
    debounceMs: 2000,
  });
  const base = `http://127.0.0.1:${await port}`;
  return {
    timers,
    log,
    rounds,
    events,
    async probe(path: "/ready" | "/healthz") {
      const response = await fetch(base + path);
      return { status: response.status, body: await response.text() };
    },
    async stop() {
      stop.abort();
      const code = await done;
      await assertRejects(fetch(base + "/healthz"), TypeError);
      return code;
    },
  };
}

async function tamper(model: string): Promise<string> {
  const path = join(model, "config.json");
  const original = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, original.replace("8", "9"));
  return original;
}

Deno.test("agent: /ready is 503 until a verification succeeds, 200 after, /healthz 200 throughout", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const original = await tamper(fixture.model);
  const agent = await startAgent(fixture, ["--interval=5m"]);

  const initial = await agent.rounds.next();
  assertEquals([initial.trigger, initial.ok, initial.error?.code], [
    "initial",
    false,
    "MODEL_MODIFIED",
  ]);
  const before = await agent.probe("/ready");
  assertEquals(before.status, 503);
  assertStringIncludes(before.body, "not ready");
  assertStringIncludes(before.body, "config.json");
  assertEquals((await agent.probe("/healthz")).status, 200);

  await Deno.writeTextFile(join(fixture.model, "config.json"), original);
  agent.timers.tick(5 * MINUTE);
  const second = await agent.rounds.next();
  assertEquals([second.trigger, second.ok], ["periodic", true]);
  const after = await agent.probe("/ready");
  assertEquals(after.status, 200);
  assertStringIncludes(after.body, "ready");
  assertEquals(await agent.stop(), 0);
  assert(agent.log.some((l) => l.includes("Readiness restored")));
  assert(agent.log.at(-1)!.includes("Stopped"));
});

Deno.test("agent: a tamper during continuous mode withdraws readiness and says why", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const agent = await startAgent(fixture, ["--interval=5m"]);
  assertEquals((await agent.rounds.next()).ok, true);
  assertEquals((await agent.probe("/ready")).status, 200);

  await tamper(fixture.model);
  agent.timers.tick(5 * MINUTE);
  const round = await agent.rounds.next();
  assertEquals([round.ok, round.ready, round.error?.code], [false, false, "MODEL_MODIFIED"]);
  const ready = await agent.probe("/ready");
  assertEquals(ready.status, 503);
  assertStringIncludes(ready.body, "hash mismatch for 'config.json'");
  assertStringIncludes(ready.body, "round 2, periodic");
  assertEquals((await agent.probe("/healthz")).status, 200);
  assert(agent.log.some((l) => l.includes("ERROR Readiness withdrawn")));
  assert(agent.log.some((l) => l.includes("Verification failed with error: ")));
  assertEquals(await agent.stop(), 0);
});

Deno.test("agent: --sticky-ready stays ready after a failed re-check, as the Go agent", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const agent = await startAgent(fixture, ["--interval=5m", "--sticky-ready"]);
  assertEquals((await agent.rounds.next()).ok, true);
  await tamper(fixture.model);
  agent.timers.tick(5 * MINUTE);
  assertEquals((await agent.rounds.next()).ok, false);
  const ready = await agent.probe("/ready");
  assertEquals(ready.status, 200);
  assertStringIncludes(ready.body, "verification failed");
  assert(agent.log.some((l) => l.includes("WARNING Staying ready")));
  assertEquals(await agent.stop(), 0);
});

Deno.test("agent: --skip-initial is ready at once and checks first at the interval", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  await tamper(fixture.model);
  const agent = await startAgent(fixture, ["--interval=10m", "--skip-initial"]);
  assertEquals((await agent.probe("/ready")).status, 200);
  agent.timers.tick(10 * MINUTE - 1);
  assertEquals((await agent.probe("/ready")).status, 200);
  agent.timers.tick(1);
  const round = await agent.rounds.next();
  assertEquals([round.trigger, round.ok], ["periodic", false]);
  assertEquals((await agent.probe("/ready")).status, 503);
  assertEquals(await agent.stop(), 0);
});

Deno.test("agent: --watch re-verifies soon after a file under the model changes", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const agent = await startAgent(fixture, ["--interval=1h", "--watch"]);
  assertEquals((await agent.rounds.next()).ok, true);
  await tamper(fixture.model);
  const changed = await agent.events.next();
  assert(changed.some((p) => p.endsWith("config.json")), `events: ${changed}`);
  agent.timers.tick(2000);
  const round = await agent.rounds.next();
  assertEquals([round.trigger, round.ok, round.error?.code], [
    "file-change",
    false,
    "MODEL_MODIFIED",
  ]);
  assertEquals((await agent.probe("/ready")).status, 503);
  assertEquals(await agent.stop(), 0);
});

Deno.test("run() with --interval runs continuous mode until the stop signal", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const stop = new AbortController();
  const lines: string[] = [];
  let ready!: () => void;
  const readySeen = new Promise<void>((resolve) => (ready = resolve));
  const code = run([
    "--interval=1m",
    "--health-port=0",
    "--health-address=127.0.0.1",
    "verify",
    "key",
    "--public_key",
    fixture.publicKey,
    fixture.model,
  ], {
    env: {},
    cwd: dir.path,
    stdout: (text) => lines.push(text),
    stderr: (text) => {
      lines.push(text);
      if (text.includes(" INFO Ready")) ready();
    },
    onStop: () => stop.signal,
  });
  await Promise.race([readySeen, code]);
  const port = /health_port=(\d+)/.exec(lines.join("\n"))?.[1];
  const response = await fetch(`http://127.0.0.1:${port}/ready`);
  assertEquals(response.status, 200);
  await response.body?.cancel();
  stop.abort();
  assertEquals(await code, 0);
});

Deno.test("run() rejects agent flags before another command and a bad health port", async () => {
  const io = { env: {}, cwd: Deno.cwd(), stdout: () => {}, stderr: () => {} };
  assertEquals(await run(["--interval=5m", "digest", "/nonexistent"], io), 2);
  assertEquals(await run(["--skip-initial", "verify", "key", "--public_key", "k", "/m"], io), 2);
});

Deno.test("process: SIGTERM stops continuous mode cleanly (exit 0, health server closed)", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const [program, ...programArgs] = programArgv([
    "--interval=5m",
    "--health-port=0",
    "--health-address=127.0.0.1",
    "verify",
    "key",
    "--public_key",
    fixture.publicKey,
    fixture.model,
  ]);
  const child = new Deno.Command(program!, {
    args: programArgs,
    cwd: dir.path,
    env: { NO_COLOR: "1" },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let stderr = "";
  const reader = child.stderr.getReader();
  while (!stderr.includes(" INFO Ready")) {
    const chunk = await reader.read();
    if (chunk.done) break;
    stderr += decoder.decode(chunk.value);
  }
  assert(
    !stderr.includes("Requires net access"),
    "The compile task's permissions must let the agent listen for probes (and reach an OTLP " +
      `collector): use a plain --allow-net in deno.json's compile task.\n${stderr}`,
  );
  assertStringIncludes(stderr, " INFO Ready");
  const port = /health_port=(\d+)/.exec(stderr)?.[1];
  const healthz = await fetch(`http://127.0.0.1:${port}/healthz`);
  assertEquals([healthz.status, await healthz.text()], [200, "ok\n"]);
  child.kill("SIGTERM");
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    stderr += decoder.decode(chunk.value);
  }
  const status = await child.status;
  await child.stdout.cancel();
  assertEquals(status.code, 0, stderr);
  const last = stderr.trimEnd().split("\n").at(-1)!;
  assert(last.endsWith(" INFO Stopped"), stderr);
  await assertRejects(fetch(`http://127.0.0.1:${port}/healthz`), TypeError);
});
