/**
 * Checks the single DSSE signature of an envelope against a `node:crypto` key, with the standard
 * PAE and, for signatures made by model_signing 0.2, its faulty encoding. The certificate method
 * uses it; the `key` method checks with WebCrypto (key_signature.ts) and comes here only for
 * what WebCrypto cannot check (RSA-PSS keys, PSS salt lengths other than the usual two).
 *
 * @module
 */

import { constants, type KeyObject, verify } from "node:crypto";
import { pae, paeCompat } from "../bundle/dsse.ts";
import type { DsseEnvelope } from "../bundle/types.ts";
import { type PaeVariant, signatureInvalid, singleSignature } from "./dsse_envelope.ts";
import type { SignatureScheme } from "./key_types.ts";

export type { PaeVariant } from "./dsse_envelope.ts";

/**
 * Verifies `envelope.signatures[0]`. The envelope must hold exactly one signature.
 *
 * @param hash hash for the standard PAE (the curve's hash)
 * @param compatHash hash for the 0.2 encoding (upstream: the curve's hash for keys, SHA-256 for
 * certificates); tried for ECDSA only, the one scheme model_signing 0.2 had
 * @param schemes how the signature may be made: ECDSA (default), RSA PKCS#1 v1.5, RSA-PSS (any
 * salt length), Ed25519
 * @throws {InputError} `SIGNATURE_COUNT` for zero or several signatures
 * @throws {SignatureError} `SIGNATURE_INVALID` when neither encoding verifies
 */
export function verifyDsseSignature(
  envelope: DsseEnvelope,
  key: KeyObject,
  hash: string,
  compatHash: string,
  signerName: string,
  schemes: readonly SignatureScheme[] = ["ecdsa"],
): PaeVariant {
  const sig = singleSignature(envelope);
  const data = pae(envelope.payloadType, envelope.payload);
  if (schemes.some((scheme) => checkWithNode(scheme, hash, data, key, sig))) return "standard";
  const compat = () => paeCompat(envelope.payloadType, envelope.payload);
  if (schemes.includes("ecdsa") && checkWithNode("ecdsa", compatHash, compat(), key, sig)) {
    return "compat-v0.2";
  }
  throw signatureInvalid(signerName);
}

/** One signature check with `node:crypto`; false (never a throw) when it does not verify. */
export function checkWithNode(
  scheme: SignatureScheme,
  hash: string,
  data: Uint8Array,
  key: KeyObject,
  sig: Uint8Array,
): boolean {
  try {
    switch (scheme) {
      case "ecdsa":
      case "rsa-pkcs1v15":
        return verify(hash, data, key, sig);
      case "ed25519":
        return verify(null, data, key, sig);
      case "rsa-pss":
        // An RSA-PSS key implies PSS padding; a plain RSA key needs it spelled out.
        return (key.asymmetricKeyType === "rsa-pss" && verify(hash, data, key, sig)) ||
          verify(hash, data, {
            key,
            padding: constants.RSA_PKCS1_PSS_PADDING,
            saltLength: constants.RSA_PSS_SALTLEN_AUTO,
          }, sig);
    }
  } catch {
    return false;
  }
}
