/**
 * JSON rendering for log pipelines (`--log-format json`, `MODEL_SIGNING_LOG_FORMAT=json`): one
 * JSON object per line, in the schema of `log_record.ts` (docs/logs.md). Pure: values in,
 * strings out; the time is passed in.
 *
 * `message` carries the same text as the text format's first line (`Verification succeeded`,
 * `Verification failed with error: …`), so tools that grep the log (the model-validation
 * operator's end-to-end tests) work in both formats.
 *
 * @module
 */

import { findOption } from "../config/options.ts";
import type { DigestResult } from "../digest_model.ts";
import { IntegrityError, type ModelVerifyError } from "../errors.ts";
import type { SignResult } from "../sign/sign_model.ts";
import type { VerifyResult } from "../verify_model.ts";
import type { SignerInfo } from "../verify/types.ts";
import { jsonLine, type LogEvent, roundSeconds } from "./log_record.ts";

export { jsonLine } from "./log_record.ts";

/** At most this many names of each kind (extra, missing, mismatched) go into a failure line. */
export const MAX_DIFF_NAMES = 20;

/** The values `--log-format` takes. */
export type LogFormat = "text" | "json";

/** The typed fields of a successful verification (also used by the agent). */
export function verifyResultFields(result: VerifyResult): Record<string, unknown> {
  const s = result.serialization;
  return {
    method: result.method,
    model: result.modelPath,
    model_name: result.modelName,
    files: result.files,
    resources: result.resources,
    bytes: result.bytes,
    seconds: roundSeconds(result.seconds),
    root_digest: result.rootDigest,
    hashing: {
      method: s.method,
      hash_type: s.hashType,
      ...(s.shardSize === undefined ? {} : { shard_size: s.shardSize }),
    },
    signer: signerJson(result.signer),
  };
}

/** The success line of `verify`. */
export function formatVerifySuccessJson(result: VerifyResult, now?: Date): string {
  return jsonLine({
    level: "info",
    event: "verification_succeeded",
    message: "Verification succeeded",
    ...verifyResultFields(result),
  }, now);
}

/** The typed fields of an error: `error` with kind, code, message and a diff when there is one. */
export function errorFields(error: ModelVerifyError): Record<string, unknown> {
  return {
    error: {
      kind: error.name,
      code: error.code,
      message: error.message,
      ...(error instanceof IntegrityError ? { diff: diffJson(error) } : {}),
    },
  };
}

/** The failure event of a command. */
export function failureEvent(command: string): LogEvent {
  switch (command) {
    case "verify":
      return "verification_failed";
    case "sign":
      return "signing_failed";
    case "digest":
      return "digest_failed";
    default:
      return "failed";
  }
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
  now?: Date,
): string {
  return jsonLine({
    level: "error",
    event: failureEvent(command),
    message: headline,
    exit_code: error.exitCode,
    ...errorFields(error),
  }, now);
}

/** A warning line, with optional typed fields. */
export function formatWarningJson(
  message: string,
  fields: Record<string, unknown> = {},
  now?: Date,
): string {
  return jsonLine({ level: "warning", event: "warning", message, ...fields }, now);
}

/** The result line of `digest`. */
export function formatDigestJson(result: DigestResult, now?: Date): string {
  return jsonLine({
    level: "info",
    event: "digest",
    message: result.rootDigest,
    model: result.modelPath,
    root_digest: result.rootDigest,
    files: result.files,
    bytes: result.bytes,
  }, now);
}

/** The result line of `sign`. */
export function formatSignSuccessJson(
  result: SignResult,
  extra: Record<string, unknown> = {},
  now?: Date,
): string {
  return jsonLine({
    level: "info",
    event: "signing_succeeded",
    message: "Signing succeeded",
    signature: result.signaturePath,
    files: result.files,
    resources: result.resources,
    root_digest: result.rootDigest,
    ...extra,
  }, now);
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
