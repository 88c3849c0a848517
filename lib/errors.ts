/**
 * Typed errors of model-verify. Every expected failure is one of these classes; each carries a
 * stable `code` (asserted by tests) and the process `exitCode` it maps to.
 *
 * Exit codes: 0 everything was checked and passed; 1 verification failed (also a malformed
 * signature or an unreadable model file, as in model_signing); 2 usage or configuration error
 * (bad flag or env value, missing or unusable key, CA or trust file).
 *
 * @module
 */

/** Process exit code for a successful verification. */
export const EXIT_OK = 0;
/** Process exit code for a failed verification. */
export const EXIT_VERIFICATION_FAILED = 1;
/** Process exit code for a usage or configuration error. */
export const EXIT_USAGE = 2;

/** Base class of every error model-verify raises on purpose. */
export abstract class ModelVerifyError extends Error {
  /** Machine-readable reason, stable across releases; tests assert on it. */
  readonly code: string;
  /** Exit code of the process when this error ends it. */
  abstract readonly exitCode: number;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** A flag, argument or environment variable is missing or invalid. */
export class ConfigError extends ModelVerifyError {
  override readonly name = "ConfigError";
  readonly exitCode = EXIT_USAGE;
}

/**
 * A file the user named (key, certificate chain, trust configuration) cannot be read or used.
 * This is a configuration problem, not a verdict about the model.
 */
export class TrustMaterialError extends ModelVerifyError {
  override readonly name = "TrustMaterialError";
  readonly exitCode = EXIT_USAGE;
}

/** The model or the signature file cannot be read, or the signature is malformed. */
export class InputError extends ModelVerifyError {
  override readonly name = "InputError";
  readonly exitCode = EXIT_VERIFICATION_FAILED;
}

/** A cryptographic check failed: the signature, the certificate chain or a log entry. */
export class SignatureError extends ModelVerifyError {
  override readonly name = "SignatureError";
  readonly exitCode = EXIT_VERIFICATION_FAILED;
}

/** The signature is valid, but not by whom the policy demands (identity, issuer). */
export class PolicyError extends ModelVerifyError {
  override readonly name = "PolicyError";
  readonly exitCode = EXIT_VERIFICATION_FAILED;
}

/** What differs between the signed manifest and the model on disk. */
export interface ManifestDiff {
  /** Files (or shards) present on disk but not in the signature, sorted. */
  extra: string[];
  /** Files (or shards) in the signature but not on disk, sorted. */
  missing: string[];
  /** Names whose digest differs, with both digests in hex, sorted by name. */
  mismatched: { name: string; expected: string; actual: string }[];
}

/** The model on disk does not match the signed manifest. */
export class IntegrityError extends ModelVerifyError {
  override readonly name = "IntegrityError";
  readonly exitCode = EXIT_VERIFICATION_FAILED;
  /** The full difference, for reports. */
  readonly diff: ManifestDiff;

  constructor(code: string, message: string, diff: ManifestDiff, options?: ErrorOptions) {
    super(code, message, options);
    this.diff = diff;
  }
}

/** A bug: something that should not happen. Never exits 0. */
export class InternalError extends ModelVerifyError {
  override readonly name = "InternalError";
  readonly exitCode = EXIT_VERIFICATION_FAILED;
}

/**
 * Turns anything thrown into a ModelVerifyError: typed errors pass through, an AggregateError is
 * unwrapped to its first typed member, anything else becomes an InternalError.
 */
export function toModelVerifyError(error: unknown): ModelVerifyError {
  if (error instanceof ModelVerifyError) return error;
  if (error instanceof AggregateError) {
    const typed = error.errors.find((e) => e instanceof ModelVerifyError);
    if (typed) return typed as ModelVerifyError;
  }
  const message = error instanceof Error ? error.message : String(error);
  return new InternalError("INTERNAL", `Unexpected error: ${message}`, { cause: error });
}
