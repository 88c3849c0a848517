/**
 * Loads the user's public key (PEM SPKI, possibly after descriptive text, or a JWK) for the
 * `key` method. A PEM `PUBLIC KEY` of a type WebCrypto takes (EC P-256, P-384, P-521, RSA,
 * Ed25519) is read without `node:crypto`, which costs 20-50 ms of CPU to load before hashing
 * starts; every other file goes through `node_public_key.ts`, loaded then, which also gives the
 * errors. Both give the same key, hint and description (a test compares them).
 *
 * @module
 */

import { TrustMaterialError } from "../errors.ts";
import { escapeName } from "../_escape.ts";
import { toHex } from "../manifest/hex.ts";
import { EC_CURVE_HASH, type LoadedKey, MIN_RSA_BITS } from "./key_types.ts";
import { pemPublicKeyDer, type SpkiAlgorithm, spkiAlgorithm, spkiPem } from "./spki.ts";

export type { LoadedKey, SignatureScheme } from "./key_types.ts";
export { MIN_RSA_BITS } from "./key_types.ts";

/**
 * Parses a public key file.
 *
 * @param bytes the file content
 * @param source the file path (or flag) named in errors
 * @throws {TrustMaterialError} `KEY_INVALID` when it is not a key, `KEY_IS_PRIVATE` for a PEM
 * private key, `KEY_UNSUPPORTED` when it is not EC P-256, P-384 or P-521, RSA of 2048 bits or
 * more, or Ed25519
 */
export async function loadPublicKey(bytes: Uint8Array, source: string): Promise<LoadedKey> {
  const text = new TextDecoder().decode(bytes);
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
    // Node derives the public half, so it would verify; but a private key handed to verifiers
    // is a leaked key and a mistake in the configuration.
    throw new TrustMaterialError(
      "KEY_IS_PRIVATE",
      `'${
        escapeName(source)
      }' holds a private key, but --public-key (MODEL_SIGNING_PUBLIC_KEY) needs the ` +
        "public key; derive it with 'openssl pkey -in KEY -pubout -out key.pub.pem' and keep " +
        "the private key away from verifiers",
    );
  }
  const fast = await loadWithWebCrypto(text);
  if (fast) return fast;
  const { loadPublicKeyWithNode } = await import("./node_public_key.ts");
  return await loadPublicKeyWithNode(text, source);
}

/**
 * The key of a plain PEM `PUBLIC KEY` block, read with WebCrypto; undefined for anything
 * WebCrypto does not import, or does not export back to the very same bytes (so the hint is
 * what `node:crypto` gives), and for RSA keys below {@link MIN_RSA_BITS} (whose error the
 * `node:crypto` path gives).
 */
export async function loadWithWebCrypto(text: string): Promise<LoadedKey | undefined> {
  const der = pemPublicKeyDer(text);
  const algorithm = der && spkiAlgorithm(der);
  if (!der || !algorithm) return undefined;
  let bits: number | undefined;
  try {
    const key = await crypto.subtle.importKey("spki", der, importAlgorithm(algorithm), true, [
      "verify",
    ]);
    const exported = new Uint8Array(await crypto.subtle.exportKey("spki", key));
    if (!sameBytes(exported, der)) return undefined;
    if (algorithm.type === "rsa") bits = (key.algorithm as RsaHashedKeyAlgorithm).modulusLength;
  } catch {
    return undefined;
  }
  const pem = new TextEncoder().encode(spkiPem(der));
  const hint = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", pem)));
  const short = `${hint.slice(0, 16)}…`;
  switch (algorithm.type) {
    case "ec":
      return {
        spki: der,
        type: "ec",
        curve: algorithm.curve,
        hash: EC_CURVE_HASH[algorithm.curve],
        schemes: ["ecdsa"],
        hint,
        description: `EC ${algorithm.curve} key ${short}`,
      };
    case "ed25519":
      return {
        spki: der,
        type: "ed25519",
        hash: "sha256",
        schemes: ["ed25519"],
        hint,
        description: `Ed25519 key ${short}`,
      };
    case "rsa":
      if (bits === undefined || bits < MIN_RSA_BITS) return undefined;
      return {
        spki: der,
        type: "rsa",
        bits,
        hash: "sha256",
        schemes: ["rsa-pkcs1v15", "rsa-pss"],
        hint,
        description: `RSA ${bits} key ${short}`,
      };
  }
}

function importAlgorithm(algorithm: SpkiAlgorithm): EcKeyImportParams | RsaHashedImportParams | {
  name: string;
} {
  switch (algorithm.type) {
    case "ec":
      return { name: "ECDSA", namedCurve: algorithm.curve };
    case "rsa":
      return { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
    case "ed25519":
      return { name: "Ed25519" };
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}
