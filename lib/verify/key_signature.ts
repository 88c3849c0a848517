/**
 * Checks the DSSE signature of a `key`-method bundle with WebCrypto, so that `verify key` loads
 * no `node:crypto` on the main thread (20-50 ms of CPU before hashing starts, on a run that is
 * CPU-bound). It accepts what dsse_signature.ts accepts with `node:crypto`:
 *
 * - ECDSA with the curve's hash (P-256 SHA-256, P-384 SHA-384, P-521 SHA-512), signatures in
 *   strict DER (ecdsa_der.ts), the standard PAE, then model_signing 0.2's encoding;
 * - Ed25519;
 * - a plain RSA key: PKCS#1 v1.5 with SHA-256, or PSS with SHA-256 and a salt as long as the
 *   hash or as long as possible (what signers write) — any other salt length goes to
 *   `node:crypto`, loaded then, which takes every salt length as before;
 * - an RSA-PSS key (id-RSASSA-PSS, whose parameters WebCrypto does not read): `node:crypto`.
 *
 * @module
 */

import { pae, paeCompat } from "../bundle/dsse.ts";
import type { DsseEnvelope } from "../bundle/types.ts";
import { type PaeVariant, signatureInvalid, singleSignature } from "./dsse_envelope.ts";
import { derToP1363 } from "./ecdsa_der.ts";
import type { LoadedKey, SignatureScheme } from "./key_types.ts";

const SUBTLE_HASH = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" } as const;
const HASH_BYTES = { sha256: 32, sha384: 48, sha512: 64 } as const;

/**
 * Verifies `envelope.signatures[0]` with `key`, for each scheme the key allows; for ECDSA keys
 * also over model_signing 0.2's encoding, with the curve's hash.
 *
 * @throws {InputError} `SIGNATURE_COUNT` for zero or several signatures
 * @throws {SignatureError} `SIGNATURE_INVALID` when neither encoding verifies
 */
export async function verifyDsseWithKey(
  envelope: DsseEnvelope,
  key: LoadedKey,
  signerName: string,
): Promise<PaeVariant> {
  const sig = singleSignature(envelope);
  const data = pae(envelope.payloadType, envelope.payload);
  for (const scheme of key.schemes) {
    if (await checkSignature(scheme, key, data, sig)) return "standard";
  }
  if (key.schemes.includes("ecdsa")) {
    const compat = paeCompat(envelope.payloadType, envelope.payload);
    if (await checkSignature("ecdsa", key, compat, sig)) return "compat-v0.2";
  }
  throw signatureInvalid(signerName);
}

/**
 * One signature check; false (never a throw) when it does not verify, including for a key or a
 * signature WebCrypto refuses to read.
 */
export async function checkSignature(
  scheme: SignatureScheme,
  key: LoadedKey,
  data: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  try {
    switch (scheme) {
      case "ecdsa": {
        if (key.type !== "ec" || key.curve === undefined) return false;
        const p1363 = derToP1363(sig, key.curve);
        if (!p1363) return false;
        const cryptoKey = await importSpki(key, { name: "ECDSA", namedCurve: key.curve });
        const algorithm = { name: "ECDSA", hash: SUBTLE_HASH[key.hash] };
        return await crypto.subtle.verify(algorithm, cryptoKey, p1363, bufferOf(data));
      }
      case "ed25519": {
        if (key.type !== "ed25519") return false;
        const cryptoKey = await importSpki(key, { name: "Ed25519" });
        return await crypto.subtle.verify("Ed25519", cryptoKey, bufferOf(sig), bufferOf(data));
      }
      case "rsa-pkcs1v15": {
        if (key.type !== "rsa") return false;
        const name = "RSASSA-PKCS1-v1_5";
        const cryptoKey = await importSpki(key, { name, hash: SUBTLE_HASH[key.hash] });
        return await crypto.subtle.verify(name, cryptoKey, bufferOf(sig), bufferOf(data));
      }
      case "rsa-pss":
        return (key.type === "rsa" && await checkPss(key, data, sig)) ||
          await checkWithNodeCrypto(scheme, key, data, sig);
    }
  } catch {
    return false;
  }
}

/** PSS with the two salt lengths signers use: the hash's length, and the longest possible. */
async function checkPss(key: LoadedKey, data: Uint8Array, sig: Uint8Array): Promise<boolean> {
  const cryptoKey = await importSpki(key, { name: "RSA-PSS", hash: SUBTLE_HASH[key.hash] });
  const hashBytes = HASH_BYTES[key.hash];
  const encodedBytes = Math.ceil(((key.bits ?? 0) - 1) / 8); // emLen of RFC 8017 9.1
  for (const saltLength of new Set([hashBytes, encodedBytes - hashBytes - 2])) {
    if (saltLength < 0) continue;
    const algorithm = { name: "RSA-PSS", saltLength };
    if (await crypto.subtle.verify(algorithm, cryptoKey, bufferOf(sig), bufferOf(data))) {
      return true;
    }
  }
  return false;
}

/** The `node:crypto` check of dsse_signature.ts, loaded only now. */
async function checkWithNodeCrypto(
  scheme: SignatureScheme,
  key: LoadedKey,
  data: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  const [{ createPublicKey }, { Buffer }, { checkWithNode }] = await Promise.all([
    import("node:crypto"),
    import("node:buffer"),
    import("./dsse_signature.ts"),
  ]);
  const keyObject = createPublicKey({ key: Buffer.from(key.spki), format: "der", type: "spki" });
  return checkWithNode(scheme, key.hash, data, keyObject, sig);
}

function importSpki(
  key: LoadedKey,
  algorithm: EcKeyImportParams | RsaHashedImportParams | { name: string },
): Promise<CryptoKey> {
  return crypto.subtle.importKey("spki", bufferOf(key.spki), algorithm, false, ["verify"]);
}

/** The bytes as WebCrypto takes them (copied only if they sit in a SharedArrayBuffer). */
function bufferOf(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return bytes.buffer instanceof ArrayBuffer
    ? bytes as Uint8Array<ArrayBuffer>
    : new Uint8Array(bytes);
}
