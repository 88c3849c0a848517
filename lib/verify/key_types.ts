/**
 * What a loaded verification key is, shared by the WebCrypto and `node:crypto` loaders.
 *
 * @module
 */

import type { EcCurve } from "./ecdsa_der.ts";

/** How a signature is checked with a key. */
export type SignatureScheme = "ecdsa" | "rsa-pkcs1v15" | "rsa-pss" | "ed25519";

/** Smallest RSA modulus accepted, in bits. */
export const MIN_RSA_BITS = 2048;

/** The hash model_signing signs with on each curve. */
export const EC_CURVE_HASH: Readonly<Record<EcCurve, "sha256" | "sha384" | "sha512">> = {
  "P-256": "sha256",
  "P-384": "sha384",
  "P-521": "sha512",
};

/** A usable verification key. */
export interface LoadedKey {
  /** The key's DER SubjectPublicKeyInfo. */
  spki: Uint8Array;
  type: "ec" | "rsa" | "rsa-pss" | "ed25519";
  /** EC keys: the curve. */
  curve?: EcCurve;
  /** RSA keys: the modulus length in bits. */
  bits?: number;
  /** Hash of the signatures: the curve's for ECDSA, SHA-256 for RSA (unused for Ed25519). */
  hash: "sha256" | "sha384" | "sha512";
  /** Schemes a signature by this key may use; ECDSA keys: `["ecdsa"]`. */
  schemes: readonly SignatureScheme[];
  /** SHA-256 hex of the key's SPKI PEM: model_signing's `publicKey.hint`. */
  hint: string;
  /** Short description for reports, e.g. `EC P-384 key sha256:e845…`. */
  description: string;
}
