import { assert, assertEquals, assertStringIncludes } from "../../tests/_assert.ts";
import type { HashProgress } from "../manifest/hash_jobs.ts";
import {
  BAR_INTERVAL_MS,
  createProgressReporter,
  formatDuration,
  formatRate,
  formatSize,
  LINE_INTERVAL_MS,
  progressEta,
  progressHooks,
  progressPercent,
  type ProgressSnapshot,
  renderProgressBar,
  renderProgressLine,
  renderProgressSummary,
} from "./progress.ts";

const GIB = 1024 ** 3;

/** A clock the test moves by hand. */
function fakeClock(start = 0) {
  let t = start;
  return { now: () => t, tick: (ms: number) => void (t += ms) };
}

function progress(bytesDone: number, filesDone = 0, bytesTotal = 20 * GIB): HashProgress {
  return {
    jobsDone: filesDone,
    jobsTotal: 3000,
    filesDone,
    filesTotal: 3000,
    bytesDone,
    bytesTotal,
  };
}

const SNAPSHOT: ProgressSnapshot = { ...progress(1.5 * GIB, 120), elapsedMs: 1250 };

Deno.test("formatSize() is compact and binary", async (t) => {
  const rows = [
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.00 KiB"],
    [1.5 * GIB, "1.50 GiB"],
    [12.34 * 1024 ** 2, "12.3 MiB"],
    [640 * 1024 ** 2, "640 MiB"],
    [3 * 1024 ** 4, "3.00 TiB"],
  ] as const;
  for (const [bytes, text] of rows) {
    await t.step(text, () => assertEquals(formatSize(bytes), text));
  }
  assertEquals(formatRate(1.21 * GIB), "1.21 GiB/s");
});

Deno.test("formatDuration() rounds up to seconds, then minutes and hours", async (t) => {
  const rows = [[0, "0s"], [0.2, "1s"], [59, "59s"], [60, "1m00s"], [187, "3m07s"], [
    3720,
    "1h02m",
  ]] as const;
  for (const [seconds, text] of rows) {
    await t.step(text, () => assertEquals(formatDuration(seconds), text));
  }
});

Deno.test("progress figures: rate, ETA and percent", () => {
  assertEquals(progressPercent(SNAPSHOT), 7);
  assertEquals(progressEta(SNAPSHOT), (18.5 * GIB) / (1.5 * GIB / 1.25));
  assertEquals(progressEta({ ...SNAPSHOT, bytesDone: 0 }), undefined);
  assertEquals(progressEta({ ...SNAPSHOT, elapsedMs: 0 }), undefined);
  const noBytes = { ...progress(0, 3, 0), filesTotal: 4, elapsedMs: 10 };
  assertEquals(progressPercent(noBytes), 75);
  assertEquals(progressPercent({ ...noBytes, filesTotal: 0, filesDone: 0 }), 100);
});

Deno.test("renderProgressLine() shows files, bytes, percent, rate and ETA", () => {
  assertEquals(
    renderProgressLine(SNAPSHOT),
    "Hashing: 120/3000 files, 1.50 GiB/20.0 GiB (7%), 1.20 GiB/s, ETA 16s",
  );
  assertEquals(
    renderProgressLine({ ...SNAPSHOT, bytesDone: 0, filesDone: 0 }),
    "Hashing: 0/3000 files, 0 B/20.0 GiB (0%), 0 B/s, ETA --",
  );
  assertEquals(
    renderProgressSummary({ ...progress(20 * GIB, 3000), elapsedMs: 16_000 }),
    "Hashed 3000/3000 files, 20.0 GiB in 16s (1.25 GiB/s)",
  );
});

Deno.test("renderProgressBar() fills with progress and never wraps", async (t) => {
  for (const columns of [200, 120, 80, 60, 20]) {
    await t.step(`${columns} columns`, () => {
      for (const done of [0, 0.5, 1]) {
        const bar = renderProgressBar({ ...SNAPSHOT, bytesDone: done * 20 * GIB }, columns);
        assert(bar.length <= columns - 1, `${bar.length} > ${columns - 1}: ${bar}`);
      }
    });
  }
  const full = renderProgressBar({ ...SNAPSHOT, bytesDone: 20 * GIB }, 200);
  assert(full.startsWith(`[${"#".repeat(40)}] `), full);
  const half = renderProgressBar({ ...SNAPSHOT, bytesDone: 10 * GIB }, 200);
  assert(half.startsWith(`[${"#".repeat(20)}${".".repeat(20)}] 120/3000 files`), half);
});

Deno.test("a plain reporter prints a line at most every few seconds, then a summary", () => {
  const clock = fakeClock(1000);
  const out: string[] = [];
  const reporter = createProgressReporter({
    write: (text) => out.push(text),
    isTerminal: false,
    now: clock.now,
  });
  reporter.update(progress(GIB));
  clock.tick(LINE_INTERVAL_MS - 1);
  reporter.update(progress(2 * GIB));
  assertEquals(out, [], "nothing before the first interval");
  clock.tick(1);
  reporter.update(progress(5 * GIB, 700));
  assertEquals(out, ["Hashing: 700/3000 files, 5.00 GiB/20.0 GiB (25%), 1.00 GiB/s, ETA 15s\n"]);
  clock.tick(LINE_INTERVAL_MS - 1);
  reporter.update(progress(9 * GIB, 900));
  assertEquals(out.length, 1);
  clock.tick(1);
  reporter.update(progress(10 * GIB, 1000));
  assertEquals(out.length, 2);
  reporter.update(progress(20 * GIB, 3000));
  reporter.finish();
  reporter.finish();
  reporter.update(progress(20 * GIB, 3000));
  assertEquals(out.length, 3);
  assertEquals(out[2], "Hashed 3000/3000 files, 20.0 GiB in 10s (2.00 GiB/s)\n");
});

Deno.test("progress lines say '1 file', not '1 files'", () => {
  const one = { ...SNAPSHOT, filesDone: 1, filesTotal: 1 };
  assertStringIncludes(renderProgressLine(one), " 1/1 file,");
  assertStringIncludes(renderProgressSummary(one), "Hashed 1/1 file,");
});

Deno.test("a JSON reporter writes log-schema events, never text, even on a terminal", () => {
  const clock = fakeClock(1000);
  const out: string[] = [];
  const reporter = createProgressReporter({
    write: (text) => out.push(text),
    isTerminal: true,
    format: "json",
    now: clock.now,
  });
  clock.tick(BAR_INTERVAL_MS);
  reporter.update(progress(GIB));
  assertEquals(out, [], "the JSON interval is the plain one, not the bar's");
  clock.tick(LINE_INTERVAL_MS);
  reporter.update(progress(5 * GIB, 700));
  reporter.finish();
  assertEquals(out.length, 2);
  for (const line of out as string[]) assert(line.endsWith("}\n") && !line.includes("\r"), line);
  const [first, last] = (out as string[]).map((l) => JSON.parse(l));
  assertEquals(first.event, "hashing_progress");
  assertEquals(first.level, "info");
  assertEquals(typeof first.timestamp, "string");
  assertEquals(first.files_done, 700);
  assertEquals(first.files_total, 3000);
  assertEquals(first.bytes_done, 5 * GIB);
  assertEquals(first.percent, 25);
  assertEquals(typeof first.bytes_per_second, "number");
  assertEquals(typeof first.eta_seconds, "number");
  assertEquals(last.event, "hashing_finished");
  assertEquals(last.seconds, 5.2);
});

Deno.test("a reporter stays silent for a run shorter than its first interval", () => {
  for (const isTerminal of [false, true]) {
    const clock = fakeClock();
    const out: string[] = [];
    const reporter = createProgressReporter({
      write: (t) => out.push(t),
      isTerminal,
      now: clock.now,
    });
    reporter.update(progress(GIB));
    clock.tick(BAR_INTERVAL_MS - 1);
    reporter.update(progress(20 * GIB, 3000));
    reporter.finish();
    assertEquals(out, []);
  }
});

Deno.test("a terminal reporter redraws one bar in place and clears it at the end", () => {
  const clock = fakeClock();
  const out: string[] = [];
  const reporter = createProgressReporter({
    write: (text) => out.push(text),
    isTerminal: true,
    columns: 100,
    now: clock.now,
  });
  for (let i = 1; i <= 10; i++) {
    clock.tick(BAR_INTERVAL_MS / 2);
    reporter.update(progress(i * GIB, i * 10));
  }
  assertEquals(out.length, 5);
  for (const text of out) {
    assert(text.startsWith("\r[") && text.endsWith("\x1b[K"), JSON.stringify(text));
    assert(!text.includes("\n"));
    assert(text.length - "\r\x1b[K".length <= 99);
  }
  reporter.finish();
  assertEquals(out.at(-1), "\r\x1b[K");
});

Deno.test("a terminal reporter without a known width draws 80 columns", () => {
  const clock = fakeClock();
  const out: string[] = [];
  const reporter = createProgressReporter({
    write: (text) => out.push(text),
    isTerminal: true,
    columns: 0,
    now: clock.now,
  });
  clock.tick(BAR_INTERVAL_MS);
  reporter.update(progress(10 * GIB, 1500));
  assertEquals(out, [
    `\r${renderProgressBar({ ...progress(10 * GIB, 1500), elapsedMs: 200 }, 80)}\x1b[K`,
  ]);
  assert(out[0]!.includes("[#"));
});

Deno.test("progressHooks() does nothing without a sink or when quiet", () => {
  const out: string[] = [];
  const sink = { write: (text: string) => out.push(text), isTerminal: false };
  for (const hooks of [progressHooks(undefined, false), progressHooks(sink, true)]) {
    assertEquals(hooks.hooks, {});
    hooks.finish();
  }
  assertEquals(out, []);
});

Deno.test("progressHooks() starts the clock when hashing starts", () => {
  const clock = fakeClock();
  const out: string[] = [];
  const hooks = progressHooks({ write: (t) => out.push(t), isTerminal: false }, false, clock.now);
  clock.tick(60_000); // signature checks, TUF, the file walk: not hashing time
  hooks.hooks.onHashingStart!();
  clock.tick(LINE_INTERVAL_MS);
  hooks.hooks.onProgress!(progress(5 * GIB, 10));
  hooks.finish();
  assertEquals(out, [
    "Hashing: 10/3000 files, 5.00 GiB/20.0 GiB (25%), 1.00 GiB/s, ETA 15s\n",
    "Hashed 10/3000 files, 5.00 GiB in 5s (1.00 GiB/s)\n",
  ]);
});
