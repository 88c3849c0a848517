import { assert, assertEquals, assertStringIncludes } from "../../tests/_assert.ts";
import { IntegrityError } from "../errors.ts";
import { AgentLoop, type AgentLoopOptions, type RoundReport, type Trigger } from "./agent_loop.ts";
import { FakeTimers } from "./_test_timers.ts";

const MINUTE = 60_000;

/** A loop whose verifications succeed or fail as the test says, with every round recorded. */
function harness(options: Partial<AgentLoopOptions> = {}) {
  const timers = new FakeTimers();
  const rounds: RoundReport[] = [];
  const calls: { trigger: Trigger; full: boolean }[] = [];
  const logs: string[] = [];
  let fail: string | undefined;
  let release: (() => void) | undefined;
  let hold = false;
  const loop = new AgentLoop(
    {
      intervalMs: 5 * MINUTE,
      skipInitial: false,
      stickyReady: false,
      fullRehashEvery: 12,
      ...options,
    },
    {
      timers,
      log: {
        info: (_e, m) => logs.push(`INFO ${m}`),
        warn: (_e, m) => logs.push(`WARN ${m}`),
        error: (_e, m) => logs.push(`ERROR ${m}`),
      },
      verify: async (trigger, full) => {
        calls.push({ trigger, full });
        if (hold) await new Promise<void>((resolve) => (release = resolve));
        if (fail) {
          throw new IntegrityError("MODEL_MODIFIED", fail, {
            extra: [],
            missing: [],
            mismatched: [],
          });
        }
        return { summary: "2 files" };
      },
      onRound: (report) => rounds.push(report),
    },
  );
  return {
    timers,
    loop,
    rounds,
    calls,
    logs,
    setFail: (message: string | undefined) => (fail = message),
    holdNext: () => (hold = true),
    release: () => {
      hold = false;
      release?.();
    },
  };
}

Deno.test("AgentLoop is not ready until the first success, then re-verifies every interval", async () => {
  const h = harness();
  assertEquals(h.loop.state, {
    alive: false,
    ready: false,
    reason: "waiting for the first verification",
  });
  h.loop.start();
  await h.loop.idle();
  assertEquals(h.loop.state.ready, true);
  assertEquals(h.calls, [{ trigger: "initial", full: true }]);
  h.timers.tick(5 * MINUTE - 1);
  assertEquals(h.calls.length, 1);
  h.timers.tick(1);
  await h.loop.idle();
  assertEquals(h.calls[1], { trigger: "periodic", full: false });
  h.loop.stop();
  assertEquals(h.timers.pending, 0);
  assertEquals(h.loop.state.alive, false);
});

Deno.test("AgentLoop keeps retrying when the initial verification fails", async () => {
  const h = harness();
  h.setFail("bad model");
  h.loop.start();
  await h.loop.idle();
  assertEquals(h.loop.state.ready, false);
  assertStringIncludes(h.loop.state.reason, "bad model");
  h.setFail(undefined);
  h.timers.tick(5 * MINUTE);
  await h.loop.idle();
  assertEquals(h.loop.state.ready, true);
  assert(h.logs.includes("INFO Readiness restored"));
  h.loop.stop();
});

Deno.test("AgentLoop withdraws readiness when a later verification fails, and says why", async () => {
  const h = harness();
  h.loop.start();
  await h.loop.idle();
  h.setFail("hash mismatch for 'weights.bin'");
  h.timers.tick(5 * MINUTE);
  await h.loop.idle();
  assertEquals(h.loop.state.ready, false);
  assertStringIncludes(h.loop.state.reason, "hash mismatch for 'weights.bin'");
  assertStringIncludes(h.loop.state.reason, "round 2, periodic");
  assert(h.logs.includes("ERROR Readiness withdrawn: the model no longer verifies"));
  assertEquals(h.rounds.map((r) => [r.ok, r.ready, r.error?.code]), [
    [true, true, undefined],
    [false, false, "MODEL_MODIFIED"],
  ]);
  h.loop.stop();
});

Deno.test("AgentLoop with stickyReady stays ready after a failure, as the Go agent", async () => {
  const h = harness({ stickyReady: true });
  h.loop.start();
  await h.loop.idle();
  h.setFail("tampered");
  h.timers.tick(5 * MINUTE);
  await h.loop.idle();
  assertEquals(h.loop.state.ready, true);
  assertStringIncludes(h.loop.state.reason, "tampered");
  assert(h.logs.some((l) => l.startsWith("WARN Staying ready")));
  h.loop.stop();
});

Deno.test("AgentLoop with skipInitial is ready at once and verifies first at the interval", async () => {
  const h = harness({ skipInitial: true });
  h.loop.start();
  assertEquals(h.loop.state.ready, true);
  assertEquals(h.calls, []);
  h.setFail("tampered after the init container ran");
  h.timers.tick(5 * MINUTE);
  await h.loop.idle();
  assertEquals(h.calls, [{ trigger: "periodic", full: true }]);
  assertEquals(h.loop.state.ready, false);
  h.loop.stop();
});

Deno.test("AgentLoop re-hashes everything every Nth round", async () => {
  const h = harness({ fullRehashEvery: 3 });
  h.loop.start();
  await h.loop.idle();
  for (let i = 0; i < 6; i++) {
    h.timers.tick(5 * MINUTE);
    await h.loop.idle();
  }
  assertEquals(h.calls.map((c) => c.full), [true, false, false, true, false, false, true]);
  h.loop.stop();
});

Deno.test("AgentLoop debounces file changes and runs one round after they settle", async () => {
  const h = harness({ debounceMs: 2000 });
  h.loop.start();
  await h.loop.idle();
  h.loop.notifyChange();
  h.timers.tick(1500);
  h.loop.notifyChange();
  h.timers.tick(1999);
  assertEquals(h.calls.length, 1);
  h.timers.tick(1);
  await h.loop.idle();
  assertEquals(h.calls.map((c) => c.trigger), ["initial", "file-change"]);
  h.loop.stop();
});

Deno.test("AgentLoop runs a change seen during a round right after it", async () => {
  const h = harness({ debounceMs: 10 });
  h.holdNext();
  h.loop.start();
  h.loop.notifyChange();
  h.timers.tick(10);
  assertEquals(h.calls.length, 1);
  h.release();
  await h.loop.idle();
  assertEquals(h.calls.map((c) => c.trigger), ["initial", "file-change"]);
  h.loop.stop();
});

Deno.test("AgentLoop.stop() drops the result of a round in progress", async () => {
  const h = harness();
  h.holdNext();
  h.loop.start();
  h.loop.stop();
  h.release();
  await h.loop.idle();
  assertEquals(h.rounds, []);
  assertEquals(h.loop.state.ready, false);
  assertEquals(h.timers.pending, 0);
});

Deno.test("AgentLoop explains a sandbox refusal in a round instead of 'run again with'", async () => {
  const timers = new FakeTimers();
  const rounds: RoundReport[] = [];
  const events: string[] = [];
  const loop = new AgentLoop(
    { intervalMs: 5 * MINUTE, skipInitial: false, stickyReady: false, fullRehashEvery: 12 },
    {
      timers,
      log: {
        info: (event) => events.push(event),
        warn: (event) => events.push(event),
        error: (event) => events.push(event),
      },
      verify: () =>
        Promise.reject(
          new Deno.errors.NotCapable(
            'Requires write access to "/cache/x", run again with the --allow-write flag',
          ),
        ),
      onRound: (report) => rounds.push(report),
    },
  );
  loop.start();
  await loop.idle();
  loop.stop();
  assertEquals(rounds[0]!.error?.code, "SANDBOX_DENIED");
  assert(!rounds[0]!.detail.includes("--allow-write"), rounds[0]!.detail);
  assertEquals(events, ["verification_failed"]);
});
