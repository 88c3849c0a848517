/**
 * What both DSSE signature checks share (`node:crypto` in dsse_signature.ts, WebCrypto in
 * key_signature.ts): the one-signature rule and the failure they report.
 *
 * @module
 */

import type { DsseEnvelope } from "../bundle/types.ts";
import { InputError, SignatureError } from "../errors.ts";

/** Which encoding a verified signature used. */
export type PaeVariant = "standard" | "compat-v0.2";

/**
 * The envelope's only signature.
 *
 * @throws {InputError} `SIGNATURE_COUNT` for zero or several signatures
 */
export function singleSignature(envelope: DsseEnvelope): Uint8Array {
  if (envelope.signatures.length !== 1) {
    throw new InputError(
      "SIGNATURE_COUNT",
      `Signature envelope holds ${envelope.signatures.length} signatures; expected exactly one`,
    );
  }
  return envelope.signatures[0]!.sig;
}

/** `SIGNATURE_INVALID`: the signature verifies with neither encoding. */
export function signatureInvalid(signerName: string): SignatureError {
  return new SignatureError(
    "SIGNATURE_INVALID",
    `The signature does not verify with ${signerName}: the model signature was made by another ` +
      "key, or the signed payload was altered",
  );
}
