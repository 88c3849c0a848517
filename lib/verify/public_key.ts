/**
 * Loads the user's public key (PEM SPKI, possibly after descriptive text, or a JWK) and maps an
 * EC key to the hash model_signing signs with for its curve.
 *
 * @module
 */

import { createHash, createPublicKey, KeyObject } from "node:crypto";
import { importJWK, type JWK } from "jose";
import { TrustMaterialError } from "../errors.ts";

/** Curves model_signing supports, with the hash it uses on each. */
export const CURVE_HASH: Readonly<Record<string, "sha256" | "sha384" | "sha512">> = {
  prime256v1: "sha256",
  secp384r1: "sha384",
  secp521r1: "sha512",
};

/** A usable verification key. */
export interface LoadedKey {
  key: KeyObject;
  /** Hash of the ECDSA signatures for this curve. */
  hash: "sha256" | "sha384" | "sha512";
  /** SHA-256 hex of the key's SPKI PEM: model_signing's `publicKey.hint`. */
  hint: string;
  /** Short description for reports, e.g. `EC P-384 key sha256:e845…`. */
  description: string;
}

/**
 * Parses a public key file.
 *
 * @param bytes the file content
 * @param source the file path (or flag) named in errors
 * @throws {TrustMaterialError} `KEY_INVALID` when it is not a key, `KEY_UNSUPPORTED` when it is
 * not EC P-256, P-384 or P-521
 */
export async function loadPublicKey(bytes: Uint8Array, source: string): Promise<LoadedKey> {
  const text = new TextDecoder().decode(bytes);
  let key: KeyObject;
  try {
    key = text.trimStart().startsWith("{") ? await fromJwk(text) : createPublicKey(text);
  } catch (error) {
    throw new TrustMaterialError(
      "KEY_INVALID",
      `Cannot read public key '${source}': expected a PEM public key or a JWK ` +
        `(${error instanceof Error ? error.message : error})`,
      { cause: error },
    );
  }
  if (key.type === "private") key = createPublicKey(key);
  return describeKey(key, source);
}

/** Checks the key type and computes its hint; also used for certificate keys. */
export function describeKey(key: KeyObject, source: string): LoadedKey {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const hash = key.asymmetricKeyType === "ec" && curve ? CURVE_HASH[curve] : undefined;
  if (!hash) {
    const kind = key.asymmetricKeyType === "ec" ? `EC ${curve}` : key.asymmetricKeyType;
    throw new TrustMaterialError(
      "KEY_UNSUPPORTED",
      `Public key '${source}' is ${kind ?? "of an unknown type"}; model signatures use elliptic ` +
        "curve keys (P-256, P-384 or P-521)",
    );
  }
  const pem = key.export({ type: "spki", format: "pem" }) as string;
  const hint = createHash("sha256").update(pem).digest("hex");
  const size = { sha256: "P-256", sha384: "P-384", sha512: "P-521" }[hash];
  return { key, hash, hint, description: `EC ${size} key ${hint.slice(0, 16)}…` };
}

async function fromJwk(text: string): Promise<KeyObject> {
  const jwk = JSON.parse(text) as JWK;
  const alg = { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" }[jwk.crv ?? ""];
  if (jwk.kty !== "EC" || !alg) throw new Error(`JWK is ${jwk.kty} ${jwk.crv ?? ""}`);
  if (jwk.d !== undefined) throw new Error("JWK holds a private key; give the public key");
  const imported = await importJWK(jwk, alg);
  if (!(imported instanceof CryptoKey)) throw new Error("JWK is not an asymmetric key");
  return KeyObject.from(imported);
}
