/**
 * Text rendering of results and errors. Pure: values in, strings out. Every value that can come
 * from a signature, a certificate, a file name or an error message passes through
 * {@link escapeLine} here, so no line can carry a control sequence or a second line.
 *
 * @module
 */

import { escapeLine } from "../_escape.ts";
import type { DigestResult } from "../digest_model.ts";
import type { ModelVerifyError } from "../errors.ts";
import type { SignResult } from "../sign/sign_model.ts";
import type { VerifyResult } from "../verify_model.ts";
import { counted } from "./plural.ts";

/** The success report: the line operators grep for, then what was verified. */
export function formatVerifySuccess(result: VerifyResult): string {
  const s = result.serialization;
  const hashing = `${s.method}/${s.hashType}` +
    (s.shardSize === undefined ? "" : ` shard ${s.shardSizeExact ?? s.shardSize}`);
  const lines = [
    "Verification succeeded",
    `  method:      ${result.method}`,
    `  signer:      ${escapeLine(result.signer.description)}`,
    `  model:       ${escapeLine(result.modelPath)}` +
    (result.modelName ? ` (signed as '${escapeLine(result.modelName, 200)}')` : ""),
    `  files:       ${result.files} (${counted(result.resources, "resource")}, ${hashing}), ` +
    `${formatBytes(result.bytes)}`,
    `  root digest: ${result.rootDigest}`,
    `  time:        ${result.seconds.toFixed(2)} s`,
  ];
  return lines.join("\n");
}

/** The failure line model_signing prints, followed by nothing else. */
export function formatVerifyFailure(error: ModelVerifyError): string {
  return `Verification failed with error: ${escapeLine(error.message)}`;
}

/** Warnings, one `WARNING:` line each. */
export function formatWarnings(warnings: readonly string[]): string[] {
  return warnings.map((w) => `WARNING: ${escapeLine(w)}`);
}

/** `digest` output on stdout: the root digest alone (`sha256:<hex>`), one line. */
export function formatDigest(result: DigestResult): string {
  return result.rootDigest;
}

/** `digest`'s summary for stderr: `3 files, 1.00 MiB (1048726 bytes) in /work/model`. */
export function formatDigestSummary(result: DigestResult): string {
  return `${counted(result.files, "file")}, ${formatBytes(result.bytes)} in ` +
    escapeLine(result.modelPath);
}

/** `sign` output. */
export function formatSignSuccess(result: SignResult): string {
  return `Signing succeeded\n  signature:   ${escapeLine(result.signaturePath)}\n` +
    `  files:       ${result.files} (${counted(result.resources, "resource")})\n` +
    `  root digest: ${result.rootDigest}`;
}

/** Human-readable byte count, exact below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return counted(bytes, "byte");
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 2 : 1)} ${units[unit]} (${bytes} bytes)`;
}

/** The failure line of `sign`, `digest` and the other commands. */
export function formatCommandFailure(command: string, error: ModelVerifyError): string {
  const message = escapeLine(error.message);
  return command === "sign" ? `Signing failed with error: ${message}` : `Error: ${message}`;
}
