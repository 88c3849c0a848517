/**
 * Hashing progress for stderr: pure rendering functions (a terminal bar, a plain log line) and a
 * reporter that decides when to draw, on an injected clock. It never decides anything about the
 * verification and never writes anywhere but the `write` it is given.
 *
 * On a terminal the bar is redrawn in place at most every {@link BAR_INTERVAL_MS} and cleared at
 * the end; elsewhere (container logs) a plain line appears at most every {@link LINE_INTERVAL_MS}
 * and a summary line at the end. With `--log-format json` those lines are `hashing_progress`
 * and `hashing_finished` events of the log schema instead, never text. Runs shorter than the
 * first interval show nothing.
 *
 * @module
 */

import type { HashProgress } from "../manifest/hash_jobs.ts";
import { jsonLine, roundSeconds } from "./log_record.ts";
import { counted } from "./plural.ts";

/** Progress plus the time it took so far. */
export interface ProgressSnapshot extends HashProgress {
  /** Milliseconds since hashing started. */
  elapsedMs: number;
}

/** Minimum milliseconds between two redraws of the terminal bar (and before the first). */
export const BAR_INTERVAL_MS = 200;
/** Minimum milliseconds between two plain progress lines (and before the first). */
export const LINE_INTERVAL_MS = 5000;

const KIB = 1024;
const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/** A compact size: `512 B`, `1.50 GiB`, `12.3 MiB`, `640 MiB`. */
export function formatSize(bytes: number): string {
  let value = Math.max(0, bytes);
  let unit = 0;
  while (value >= KIB && unit < UNITS.length - 1) {
    value /= KIB;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)} B`;
  const digits = value < 10 ? 2 : value < 100 ? 1 : 0;
  return `${value.toFixed(digits)} ${UNITS[unit]}`;
}

/** A rate: `1.21 GiB/s`. */
export function formatRate(bytesPerSecond: number): string {
  return `${formatSize(bytesPerSecond)}/s`;
}

/** A duration, rounded up to whole seconds: `7s`, `3m07s`, `1h02m`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.ceil(seconds));
  if (total < 60) return `${total}s`;
  const minutes = Math.floor(total / 60);
  if (minutes < 60) return `${minutes}m${String(total % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** Bytes per second so far, 0 before any time passed. */
export function progressRate(s: ProgressSnapshot): number {
  return s.elapsedMs > 0 ? s.bytesDone / (s.elapsedMs / 1000) : 0;
}

/** Estimated seconds left at the average rate so far; undefined while nothing was hashed. */
export function progressEta(s: ProgressSnapshot): number | undefined {
  const rate = progressRate(s);
  return rate > 0 ? Math.max(0, s.bytesTotal - s.bytesDone) / rate : undefined;
}

/** Whole percent of bytes done (files when there are no bytes), 0-100. */
export function progressPercent(s: ProgressSnapshot): number {
  const [done, total] = s.bytesTotal > 0
    ? [s.bytesDone, s.bytesTotal]
    : [s.filesDone, s.filesTotal];
  return total > 0 ? Math.min(100, Math.floor((done / total) * 100)) : 100;
}

/** The fields after the bar: `7% 120/3000 files 1.50 GiB/20.00 GiB 1.21 GiB/s ETA 15s`. */
function details(s: ProgressSnapshot, separator: string): string {
  const eta = progressEta(s);
  return [
    `${s.filesDone}/${counted(s.filesTotal, "file")}`,
    `${formatSize(s.bytesDone)}/${formatSize(s.bytesTotal)} (${progressPercent(s)}%)`,
    formatRate(progressRate(s)),
    `ETA ${eta === undefined ? "--" : formatDuration(eta)}`,
  ].join(separator);
}

/** One log line: `Hashing: 120/3000 files, 1.50 GiB/20.00 GiB (7%), 1.21 GiB/s, ETA 15s`. */
export function renderProgressLine(s: ProgressSnapshot): string {
  return `Hashing: ${details(s, ", ")}`;
}

/** The summary line once hashing ended: `Hashed 3000 files, 20.00 GiB in 16s (1.25 GiB/s)`. */
export function renderProgressSummary(s: ProgressSnapshot): string {
  return `Hashed ${s.filesDone}/${counted(s.filesTotal, "file")}, ${formatSize(s.bytesDone)} in ` +
    `${formatDuration(s.elapsedMs / 1000)} (${formatRate(progressRate(s))})`;
}

/**
 * The terminal bar, at most `columns - 1` characters (so it never wraps):
 * `[#######.............] 120/3000 files 1.50 GiB/20.00 GiB (7%) 1.21 GiB/s ETA 15s`.
 * The bar shrinks first, then the text is cut.
 */
export function renderProgressBar(s: ProgressSnapshot, columns: number): string {
  const text = details(s, "  ");
  const room = columns - 1 - text.length - 3;
  const width = Math.min(40, room);
  if (width < 10) return text.slice(0, Math.max(0, columns - 1));
  const filled = Math.round((progressPercent(s) / 100) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${text}`;
}

/** The `hashing_progress` event: the same figures as the text line, as numbers. */
export function renderProgressJson(s: ProgressSnapshot, now?: Date): string {
  const eta = progressEta(s);
  return jsonLine({
    level: "info",
    event: "hashing_progress",
    message: renderProgressLine(s),
    files_done: s.filesDone,
    files_total: s.filesTotal,
    bytes_done: s.bytesDone,
    bytes_total: s.bytesTotal,
    percent: progressPercent(s),
    bytes_per_second: Math.round(progressRate(s)),
    eta_seconds: eta === undefined ? null : Math.ceil(eta),
  }, now);
}

/** The `hashing_finished` event. */
export function renderProgressSummaryJson(s: ProgressSnapshot, now?: Date): string {
  return jsonLine({
    level: "info",
    event: "hashing_finished",
    message: renderProgressSummary(s),
    files_done: s.filesDone,
    files_total: s.filesTotal,
    bytes_done: s.bytesDone,
    bytes_total: s.bytesTotal,
    seconds: roundSeconds(s.elapsedMs / 1000),
    bytes_per_second: Math.round(progressRate(s)),
  }, now);
}

/** Where progress goes: stderr in the process, a collector in tests. */
export interface ProgressSink {
  /** Writes text as is (no newline added). */
  write: (text: string) => void;
  /** A live bar on a terminal; plain lines otherwise. */
  isTerminal: boolean;
  /** Width of the terminal; 80 when unknown or 0 (a pseudo-terminal without a size). */
  columns?: number;
  /** `json`: log-schema events, one per line, even on a terminal. Default text. */
  format?: "text" | "json";
  /** Milliseconds clock; defaults to `performance.now` (tests pass a fake one). */
  now?: () => number;
}

/** Options of {@link createProgressReporter}. */
export interface ProgressReporterOptions extends ProgressSink {
  /** Milliseconds clock; defaults to `performance.now`. */
  now?: () => number;
  /** Minimum milliseconds between two outputs, and before the first. */
  intervalMs?: number;
}

/** Receives progress and draws it when due. */
export interface ProgressReporter {
  update(progress: HashProgress): void;
  /** Ends the display: clears the bar, or prints a summary line if lines were printed. */
  finish(): void;
}

/** A reporter whose clock starts now. */
export function createProgressReporter(options: ProgressReporterOptions): ProgressReporter {
  const now = options.now ?? (() => performance.now());
  const json = options.format === "json";
  const bar = options.isTerminal && !json;
  const interval = options.intervalMs ?? (bar ? BAR_INTERVAL_MS : LINE_INTERVAL_MS);
  const columns = options.columns && options.columns > 0 ? options.columns : 80;
  const started = now();
  let lastShown = started;
  let shown = false;
  let finished = false;
  let last: HashProgress | undefined;
  const snapshot = (p: HashProgress): ProgressSnapshot => ({ ...p, elapsedMs: now() - started });
  return {
    update(progress) {
      if (finished) return;
      last = progress;
      const t = now();
      if (t - lastShown < interval) return;
      lastShown = t;
      shown = true;
      const s = snapshot(progress);
      options.write(
        json
          ? `${renderProgressJson(s)}\n`
          : bar
          ? `\r${renderProgressBar(s, columns)}\x1b[K`
          : `${renderProgressLine(s)}\n`,
      );
    },
    finish() {
      if (finished) return;
      finished = true;
      if (!shown) return;
      if (bar) options.write("\r\x1b[K");
      else if (last) {
        const s = snapshot(last);
        options.write(`${json ? renderProgressSummaryJson(s) : renderProgressSummary(s)}\n`);
      }
    },
  };
}

/** Hooks for `verifyModel` / `digestModel` deps, and the call that ends the display. */
export interface ProgressHooks {
  hooks: { onHashingStart?: () => void; onProgress?: (progress: HashProgress) => void };
  /** Clears the bar or prints the summary; call before printing the result or the error. */
  finish(): void;
}

/**
 * Progress hooks that draw on `sink`, with a reporter whose clock starts when hashing starts
 * (the first hook called). No sink, or `quiet`: hooks that do nothing.
 */
export function progressHooks(
  sink: ProgressSink | undefined,
  quiet: boolean,
  now?: () => number,
): ProgressHooks {
  if (!sink || quiet) return { hooks: {}, finish() {} };
  let reporter: ProgressReporter | undefined;
  const start = () => reporter ??= createProgressReporter({ ...sink, ...(now ? { now } : {}) });
  return {
    hooks: {
      onHashingStart: () => void start(),
      onProgress: (progress) => start().update(progress),
    },
    finish: () => reporter?.finish(),
  };
}
