/**
 * The one log schema of `--log-format json`, shared by one-shot commands, progress and the
 * continuous agent: every line is one JSON object with `timestamp` (ISO 8601, UTC), `level`,
 * `event` and `message`, then typed fields in snake_case. docs/logs.md describes every event;
 * a test keeps it in step with {@link LOG_EVENTS}.
 *
 * @module
 */

import { stringifyLine } from "../_escape.ts";

/** Levels of a log line, lower case. */
export type LogLevelName = "debug" | "info" | "warning" | "error";

/** One log line before it gets its timestamp. */
export interface LogRecord {
  level: LogLevelName;
  event: LogEvent;
  message: string;
  [field: string]: unknown;
}

/** Every event the program logs, with the typed fields it carries (beyond the four common). */
export const LOG_EVENTS = {
  verification_succeeded: "method, model, model_name, files, resources, bytes, seconds, " +
    "root_digest, hashing, signer; in the agent also round, trigger, full_rehash, files_hashed, " +
    "bytes_hashed, files_reused",
  verification_failed: "exit_code, error; in the agent also round, trigger",
  signing_succeeded: "signature, files, resources, root_digest",
  signing_failed: "exit_code, error",
  digest: "model, root_digest, files, bytes",
  digest_failed: "exit_code, error",
  failed: "exit_code, error (verify-bundle and other commands)",
  bundle_verified: "",
  warning: "optional: path, variables",
  hashing_progress: "files_done, files_total, bytes_done, bytes_total, percent, " +
    "bytes_per_second, eta_seconds",
  hashing_finished: "files_done, files_total, bytes_done, bytes_total, seconds, bytes_per_second",
  agent_started: "interval_seconds, health_port, skip_initial, watch, sticky_ready, " +
    "full_rehash_every, tracing, model",
  initial_verification_skipped: "next_in_seconds",
  ready: "round, trigger",
  readiness_restored: "round, trigger",
  readiness_withdrawn: "round, trigger, error",
  staying_ready: "round, trigger, error",
  watching: "path",
  shutting_down: "",
  stopped: "",
} as const;

/** The name of a logged event. */
export type LogEvent = keyof typeof LOG_EVENTS;

/**
 * One JSON line: `timestamp`, `level`, `event`, `message` first, then the record's fields.
 *
 * @param record the line's content
 * @param now when it happened (tests pass a fixed date)
 */
export function jsonLine(record: LogRecord, now: Date = new Date()): string {
  const { level, event, message, ...fields } = record;
  // Escaped and length-capped: messages and fields carry names from the model and the signature.
  return stringifyLine({ timestamp: now.toISOString(), level, event, message, ...fields });
}

/** Seconds rounded to milliseconds, as a number (`0.25`, not `0.2500001`). */
export function roundSeconds(seconds: number): number {
  return Math.round(seconds * 1000) / 1000;
}
