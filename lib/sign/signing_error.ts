/**
 * The error of a keyless signing that could not be completed: the identity token is unusable, or
 * a Sigstore service (Fulcio, Rekor, the timestamp authority, the OIDC provider) failed. Exit 1,
 * like a failed verification; a missing or invalid option stays a `ConfigError` (exit 2).
 *
 * @module
 */

import { EXIT_VERIFICATION_FAILED, ModelVerifyError } from "../errors.ts";

/** Signing failed; nothing was written. */
export class SigningError extends ModelVerifyError {
  override readonly name = "SigningError";
  readonly exitCode = EXIT_VERIFICATION_FAILED;
}
