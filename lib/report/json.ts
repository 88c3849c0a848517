/**
 * JSON rendering for log pipelines (`--log-format json`, `MODEL_SIGNING_LOG_FORMAT=json`): one
 * JSON object per line. Pure: values in, strings out.
 *
 * Every line has `event`, `level` and `message`; `message` carries the same text as the text
 * format's first line (`Verification succeeded`, `Verification failed with error: …`), so tools
 * that grep the log (the model-validation operator's end-to-end tests) work in both formats.
 *
 * Events:
 * - `verification_succeeded`: `method`, `model`, `model_name`, `files`, `resources`, `bytes`,
 *   `seconds`, `root_digest`, `hashing`, `signer`
 * - `verification_failed` (and `digest_failed`, `sign_failed`, `failed`): `exit_code`, `error`
 *   (`kind`, `code`, `message`, and for a model that differs from its signature `diff` with
 *   counts and up to {@link MAX_DIFF_NAMES} names of each kind)
 * - `warning`: `message`
 * - `digest`: `model`, `root_digest`, `files`, `bytes`
 *
 * @module
 */

import { stringifyLine } from "../_escape.ts";
import { findOption } from "../config/options.ts";
import type { DigestResult } from "../digest_model.ts";
import { IntegrityError, type ModelVerifyError } from "../errors.ts";
import type { VerifyResult } from "../verify_model.ts";
import type { SignerInfo } from "../verify/types.ts";

/** At most this many names of each kind (extra, missing, mismatched) go into a failure line. */
export const MAX_DIFF_NAMES = 20;

/** The values `--log-format` takes. */
export type LogFormat = "text" | "json";

/**
 * One log line: a JSON object without newlines, long strings cut and invisible or bidirectional
 * characters written as `\u` escapes ({@link stringifyLine}).
 */
export function toJsonLine(event: Record<string, unknown>): string {
  return stringifyLine(event);
}

/** The success line of `verify`. */
export function formatVerifySuccessJson(result: VerifyResult): string {
  const s = result.serialization;
  return toJsonLine({
    event: "verification_succeeded",
    level: "info",
    message: "Verification succeeded",
    method: result.method,
    model: result.modelPath,
    model_name: result.modelName,
    files: result.files,
    resources: result.resources,
    bytes: result.bytes,
    seconds: result.seconds,
    root_digest: result.rootDigest,
    hashing: {
      method: s.method,
      hash_type: s.hashType,
      ...(s.shardSize === undefined ? {} : { shard_size: s.shardSize }),
    },
    signer: signerJson(result.signer),
  });
}

/**
 * The failure line of any command.
 *
 * @param command the command that failed (`verify`, `digest`, `sign`, …)
 * @param error the error that ends the process
 * @param headline the text format's failure line, kept as `message`
 */
export function formatFailureJson(
  command: string,
  error: ModelVerifyError,
  headline: string,
): string {
  const known = ["verify", "digest", "sign"];
  const event = command === "verify"
    ? "verification_failed"
    : known.includes(command)
    ? `${command}_failed`
    : "failed";
  return toJsonLine({
    event,
    level: "error",
    message: headline,
    exit_code: error.exitCode,
    error: {
      kind: error.name,
      code: error.code,
      message: error.message,
      ...(error instanceof IntegrityError ? { diff: diffJson(error) } : {}),
    },
  });
}

/** A warning line. */
export function formatWarningJson(message: string): string {
  return toJsonLine({ event: "warning", level: "warning", message });
}

/** The result line of `digest`. */
export function formatDigestJson(result: DigestResult): string {
  return toJsonLine({
    event: "digest",
    level: "info",
    message: result.rootDigest,
    model: result.modelPath,
    root_digest: result.rootDigest,
    files: result.files,
    bytes: result.bytes,
  });
}

/**
 * The log format asked for, read without the full parser, for errors raised before the
 * configuration exists (a bad flag): `--log-format json`, `--log-format=json` (or `_`), else
 * `MODEL_SIGNING_LOG_FORMAT`. Anything else is text.
 */
export function requestedLogFormat(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): LogFormat {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const match = /^--log[-_]format(?:=(.*))?$/.exec(arg);
    if (!match) continue;
    const value = match[1] ?? argv[i + 1];
    return value?.trim().toLowerCase() === "json" ? "json" : "text";
  }
  const name = findOption("log-format")?.env ?? "";
  return env[name]?.trim().toLowerCase() === "json" ? "json" : "text";
}

function signerJson(signer: SignerInfo): Record<string, unknown> {
  return {
    method: signer.method,
    description: signer.description,
    ...(signer.identity === undefined ? {} : { identity: signer.identity }),
    ...(signer.issuer === undefined ? {} : { issuer: signer.issuer }),
    ...(signer.timestamps === undefined
      ? {}
      : { timestamps: signer.timestamps.map((t) => t.toISOString()) }),
  };
}

function diffJson(error: IntegrityError): Record<string, unknown> {
  const { extra, missing, mismatched } = error.diff;
  return {
    extra: extra.length,
    missing: missing.length,
    mismatched: mismatched.length,
    extra_files: extra.slice(0, MAX_DIFF_NAMES),
    missing_files: missing.slice(0, MAX_DIFF_NAMES),
    mismatched_files: mismatched.slice(0, MAX_DIFF_NAMES).map((m) => m.name),
  };
}
