/**
 * Checks the single DSSE signature of an envelope against a key, with the standard PAE and, for
 * signatures made by model_signing 0.2, its faulty encoding.
 *
 * @module
 */

import { type KeyObject, verify } from "node:crypto";
import { pae, paeCompat } from "../bundle/dsse.ts";
import type { DsseEnvelope } from "../bundle/types.ts";
import { InputError, SignatureError } from "../errors.ts";

/** Which encoding a verified signature used. */
export type PaeVariant = "standard" | "compat-v0.2";

/**
 * Verifies `envelope.signatures[0]`. The envelope must hold exactly one signature.
 *
 * @param hash hash for the standard PAE (the curve's hash)
 * @param compatHash hash for the 0.2 encoding (upstream: the curve's hash for keys, SHA-256 for
 * certificates)
 * @throws {InputError} `SIGNATURE_COUNT` for zero or several signatures
 * @throws {SignatureError} `SIGNATURE_INVALID` when neither encoding verifies
 */
export function verifyDsseSignature(
  envelope: DsseEnvelope,
  key: KeyObject,
  hash: string,
  compatHash: string,
  signerName: string,
): PaeVariant {
  if (envelope.signatures.length !== 1) {
    throw new InputError(
      "SIGNATURE_COUNT",
      `Signature envelope holds ${envelope.signatures.length} signatures; expected exactly one`,
    );
  }
  const sig = envelope.signatures[0]!.sig;
  if (check(hash, pae(envelope.payloadType, envelope.payload), key, sig)) return "standard";
  if (check(compatHash, paeCompat(envelope.payloadType, envelope.payload), key, sig)) {
    return "compat-v0.2";
  }
  throw new SignatureError(
    "SIGNATURE_INVALID",
    `The signature does not verify with ${signerName}: the model signature was made by another ` +
      "key, or the signed payload was altered",
  );
}

function check(hash: string, data: Uint8Array, key: KeyObject, sig: Uint8Array): boolean {
  try {
    return verify(hash, data, key, sig);
  } catch {
    return false;
  }
}
