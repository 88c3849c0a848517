/**
 * The continuous-mode loop: verifies once (unless `--skip-initial`), then again every interval
 * and, with `--watch`, soon after the model's files change. It owns the readiness state the probes
 * report. Time comes from injected {@link Timers}, so tests advance a fake clock instead of
 * sleeping.
 *
 * Readiness: not ready until the first success. A later failure withdraws readiness (the
 * workload is taken out of service) and says why; `stickyReady` keeps the Go agent's behaviour,
 * ready forever once ready. A later success restores readiness.
 *
 * @module
 */

import type { ModelVerifyError } from "../errors.ts";
import { explainError } from "../report/explain_error.ts";
import { errorFields } from "../report/json.ts";
import type { LogEvent } from "../report/log_record.ts";

/** Clock and timers; the real ones are {@link REAL_TIMERS}. */
export interface Timers {
  /** Milliseconds since the epoch. */
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
}

/** The process's clock and timers. */
export const REAL_TIMERS: Timers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (id) => clearTimeout(id as ReturnType<typeof setTimeout>),
};

/** Why a round ran. */
export type Trigger = "initial" | "periodic" | "file-change";

/** What a round reports on success, for logs and traces. */
export interface RoundSuccess {
  /** One line for the log. */
  summary: string;
  /** Typed fields of the `verification_succeeded` event (files, bytes, root_digest, ...). */
  fields?: Record<string, unknown>;
}

/** One finished round. */
export interface RoundReport {
  round: number;
  trigger: Trigger;
  full: boolean;
  ok: boolean;
  /** The summary on success, the error message on failure. */
  detail: string;
  error?: ModelVerifyError;
  ready: boolean;
  /** Typed log fields of a success (from {@link RoundSuccess}). */
  fields?: Record<string, unknown>;
}

/** Log sink of the loop: an event of the log schema (docs/logs.md), its message and fields. */
export interface AgentLog {
  info(event: LogEvent, message: string, fields?: Record<string, unknown>): void;
  warn(event: LogEvent, message: string, fields?: Record<string, unknown>): void;
  error(event: LogEvent, message: string, fields?: Record<string, unknown>): void;
}

/** Options of {@link AgentLoop}. */
export interface AgentLoopOptions {
  intervalMs: number;
  skipInitial: boolean;
  stickyReady: boolean;
  /** Every Nth round re-hashes all files. */
  fullRehashEvery: number;
  /** Quiet time after the last file event before a watch-triggered round; default 2 s. */
  debounceMs?: number;
}

/** Collaborators of {@link AgentLoop}. */
export interface AgentLoopDeps {
  timers: Timers;
  log: AgentLog;
  /** Runs one verification; throws on failure. `full`: ignore remembered digests. */
  verify(trigger: Trigger, full: boolean): Promise<RoundSuccess>;
  onRound?(report: RoundReport): void;
}

/** Default debounce of watch events, as the Go agent. */
export const DEFAULT_DEBOUNCE_MS = 2_000;

/** The loop and its readiness state. */
export class AgentLoop {
  readonly #options: AgentLoopOptions;
  readonly #deps: AgentLoopDeps;
  #ready = false;
  #reason = "waiting for the first verification";
  #alive = false;
  #stopped = false;
  #running: Promise<void> | undefined;
  #pending: Trigger | undefined;
  #rounds = 0;
  #sinceFull = 0;
  #periodic: unknown;
  #debounce: unknown;

  constructor(options: AgentLoopOptions, deps: AgentLoopDeps) {
    this.#options = options;
    this.#deps = deps;
  }

  /** What the probes report. */
  get state(): { alive: boolean; ready: boolean; reason: string } {
    return { alive: this.#alive, ready: this.#ready, reason: this.#reason };
  }

  /** Rounds finished so far. */
  get rounds(): number {
    return this.#rounds;
  }

  /** Starts: the initial round now (or readiness at once with `skipInitial`), then the timer. */
  start(): void {
    this.#alive = true;
    if (this.#options.skipInitial) {
      this.#ready = true;
      this.#reason = "initial verification skipped (--skip-initial: the init container did it)";
      this.#deps.log.info(
        "initial_verification_skipped",
        "Skipping the initial verification; ready",
        {
          next_in_seconds: this.#options.intervalMs / 1000,
        },
      );
      this.#schedule();
      return;
    }
    this.#trigger("initial");
  }

  /** A file under the model changed: re-verify once events have been quiet for the debounce. */
  notifyChange(): void {
    if (this.#stopped) return;
    const timers = this.#deps.timers;
    if (this.#debounce !== undefined) timers.clearTimeout(this.#debounce);
    this.#debounce = timers.setTimeout(() => {
      this.#debounce = undefined;
      this.#trigger("file-change");
    }, this.#options.debounceMs ?? DEFAULT_DEBOUNCE_MS);
  }

  /** Waits for the round in progress, if any (tests). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /**
   * Stops: no new rounds, timers cleared, probes report not alive. A round in progress is not
   * awaited (its result is dropped), so a SIGTERM is answered at once.
   */
  stop(): void {
    this.#stopped = true;
    this.#alive = false;
    const timers = this.#deps.timers;
    if (this.#periodic !== undefined) timers.clearTimeout(this.#periodic);
    if (this.#debounce !== undefined) timers.clearTimeout(this.#debounce);
    this.#periodic = this.#debounce = undefined;
  }

  #schedule(): void {
    if (this.#stopped) return;
    const timers = this.#deps.timers;
    if (this.#periodic !== undefined) timers.clearTimeout(this.#periodic);
    this.#periodic = timers.setTimeout(() => {
      this.#periodic = undefined;
      this.#trigger("periodic");
    }, this.#options.intervalMs);
  }

  #trigger(trigger: Trigger): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#pending ??= trigger;
      return;
    }
    this.#running = this.#round(trigger).finally(() => {
      this.#running = undefined;
      const next = this.#pending;
      this.#pending = undefined;
      if (next && !this.#stopped) this.#trigger(next);
      else this.#schedule();
    });
  }

  async #round(trigger: Trigger): Promise<void> {
    const full = this.#rounds === 0 || this.#sinceFull + 1 >= this.#options.fullRehashEvery;
    const round = this.#rounds + 1;
    let report: RoundReport;
    try {
      const success = await this.#deps.verify(trigger, full);
      if (this.#stopped) return;
      report = { round, trigger, full, ok: true, detail: success.summary, ready: true };
      if (success.fields) report.fields = success.fields;
      this.#succeeded(report);
    } catch (thrown) {
      if (this.#stopped) return;
      const error = explainError(thrown);
      report = { round, trigger, full, ok: false, detail: error.message, error, ready: false };
      this.#failed(report, error);
    }
    this.#rounds = round;
    this.#sinceFull = full ? 0 : this.#sinceFull + 1;
    report.ready = this.#ready;
    this.#deps.onRound?.(report);
  }

  #succeeded(report: RoundReport): void {
    const log = this.#deps.log;
    const fields = { round: report.round, trigger: report.trigger, full_rehash: report.full };
    log.info("verification_succeeded", `Verification succeeded: ${report.detail}`, {
      ...fields,
      ...report.fields,
    });
    if (!this.#ready) {
      if (report.round === 1) log.info("ready", "Ready", fields);
      else log.info("readiness_restored", "Readiness restored", fields);
    }
    this.#ready = true;
    this.#reason = `verified at ${new Date(this.#deps.timers.now()).toISOString()} ` +
      `(round ${report.round}, ${report.trigger})`;
  }

  #failed(report: RoundReport, error: ModelVerifyError): void {
    const log = this.#deps.log;
    const fields = {
      round: report.round,
      trigger: report.trigger,
      exit_code: error.exitCode,
      ...errorFields(error),
    };
    const when = new Date(this.#deps.timers.now()).toISOString();
    log.error("verification_failed", `Verification failed with error: ${error.message}`, fields);
    if (this.#ready && this.#options.stickyReady) {
      log.warn(
        "staying_ready",
        "Staying ready although the verification failed (--sticky-ready)",
        fields,
      );
      this.#reason = `ready (sticky); verification failed at ${when}: ${error.message}`;
      return;
    }
    if (this.#ready) {
      log.error("readiness_withdrawn", "Readiness withdrawn: the model no longer verifies", fields);
    }
    this.#ready = false;
    this.#reason = `verification failed at ${when} (round ${report.round}, ${report.trigger}): ` +
      error.message;
  }
}
