/**
 * Public keys through `node:crypto`: the keys the WebCrypto path of `public_key.ts` leaves
 * (JWK, PKCS#1 `RSA PUBLIC KEY`, RSA-PSS keys, unusual PEM), certificate keys and signing keys.
 * Maps an EC key to the hash model_signing signs with for its curve. The `key` method also
 * takes RSA (2048 bits or more; PKCS#1 v1.5 or PSS with SHA-256) and Ed25519 keys, as the Go
 * validation agent does; certificates stay EC-only ({@link describeKey}).
 *
 * @module
 */

import { createHash, createPublicKey, KeyObject } from "node:crypto";
import type { JWK } from "jose";
import { TrustMaterialError } from "../errors.ts";
import type { EcCurve } from "./ecdsa_der.ts";
import { type LoadedKey, MIN_RSA_BITS, type SignatureScheme } from "./key_types.ts";

/** Curves model_signing supports (OpenSSL names), with the hash it uses on each. */
export const CURVE_HASH: Readonly<Record<string, "sha256" | "sha384" | "sha512">> = {
  prime256v1: "sha256",
  secp384r1: "sha384",
  secp521r1: "sha512",
};

const CURVE_NAME: Readonly<Record<string, EcCurve>> = {
  prime256v1: "P-256",
  secp384r1: "P-384",
  secp521r1: "P-521",
};

/** A {@link LoadedKey} that also carries its `node:crypto` key object. */
export interface NodeLoadedKey extends LoadedKey {
  key: KeyObject;
}

/**
 * Parses a public key file with `node:crypto` (the caller has refused private PEM keys).
 *
 * @throws {TrustMaterialError} `KEY_INVALID` when it is not a key, `KEY_UNSUPPORTED` for other
 * key types
 */
export async function loadPublicKeyWithNode(text: string, source: string): Promise<NodeLoadedKey> {
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
  return describePublicKey(key, source);
}

/**
 * Like {@link describeKey}, and also accepts RSA keys of {@link MIN_RSA_BITS} bits or more
 * (a plain RSA key verifies PKCS#1 v1.5 or PSS signatures, an RSA-PSS key only PSS) and Ed25519.
 *
 * @throws {TrustMaterialError} `KEY_UNSUPPORTED` for other types and small RSA keys
 */
export function describePublicKey(key: KeyObject, source: string): NodeLoadedKey {
  const type = key.asymmetricKeyType;
  if (type === "ec") return describeKey(key, source);
  const schemes: SignatureScheme[] | undefined = type === "rsa"
    ? ["rsa-pkcs1v15", "rsa-pss"]
    : type === "rsa-pss"
    ? ["rsa-pss"]
    : type === "ed25519"
    ? ["ed25519"]
    : undefined;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  if (!schemes || (type !== "ed25519" && bits < MIN_RSA_BITS)) {
    const kind = type === "rsa" || type === "rsa-pss" ? `RSA ${bits}-bit` : type;
    throw new TrustMaterialError(
      "KEY_UNSUPPORTED",
      `Public key '${source}' is ${kind ?? "of an unknown type"}; the key method takes elliptic ` +
        `curve (P-256, P-384, P-521), RSA (${MIN_RSA_BITS} bits or more) or Ed25519 keys`,
    );
  }
  const hint = hintOf(key);
  const label = type === "ed25519"
    ? "Ed25519"
    : `${type === "rsa-pss" ? "RSA-PSS" : "RSA"} ${bits}`;
  return {
    key,
    spki: spkiOf(key),
    type: type as "rsa" | "rsa-pss" | "ed25519",
    ...(type === "ed25519" ? {} : { bits }),
    hash: "sha256",
    schemes,
    hint,
    description: `${label} key ${hint.slice(0, 16)}…`,
  };
}

/** Checks the key type and computes its hint; also used for certificate keys. */
export function describeKey(key: KeyObject, source: string): NodeLoadedKey {
  const curve = key.asymmetricKeyDetails?.namedCurve;
  const hash = key.asymmetricKeyType === "ec" && curve ? CURVE_HASH[curve] : undefined;
  if (!hash || !curve) {
    const kind = key.asymmetricKeyType === "ec" ? `EC ${curve}` : key.asymmetricKeyType;
    throw new TrustMaterialError(
      "KEY_UNSUPPORTED",
      `Public key '${source}' is ${kind ?? "of an unknown type"}; model signatures use elliptic ` +
        "curve keys (P-256, P-384 or P-521)",
    );
  }
  const hint = hintOf(key);
  const name = CURVE_NAME[curve]!;
  return {
    key,
    spki: spkiOf(key),
    type: "ec",
    curve: name,
    hash,
    schemes: ["ecdsa"],
    hint,
    description: `EC ${name} key ${hint.slice(0, 16)}…`,
  };
}

/** SHA-256 hex of the key's SPKI PEM: model_signing's `publicKey.hint`. */
function hintOf(key: KeyObject): string {
  const pem = key.export({ type: "spki", format: "pem" }) as string;
  return createHash("sha256").update(pem).digest("hex");
}

function spkiOf(key: KeyObject): Uint8Array {
  return new Uint8Array(key.export({ type: "spki", format: "der" }));
}

async function fromJwk(text: string): Promise<KeyObject> {
  const jwk = JSON.parse(text) as JWK;
  if (jwk.kty === "RSA" || (jwk.kty === "OKP" && jwk.crv === "Ed25519")) {
    if (jwk.d !== undefined) throw new Error("JWK holds a private key; give the public key");
    return createPublicKey({ key: jwk as Record<string, unknown>, format: "jwk" });
  }
  const alg = { "P-256": "ES256", "P-384": "ES384", "P-521": "ES512" }[jwk.crv ?? ""];
  if (jwk.kty !== "EC" || !alg) throw new Error(`JWK is ${jwk.kty} ${jwk.crv ?? ""}`);
  if (jwk.d !== undefined) throw new Error("JWK holds a private key; give the public key");
  const { importJWK } = await import("jose"); // only JWK keys need it
  const imported = await importJWK(jwk, alg);
  if (!(imported instanceof CryptoKey)) throw new Error("JWK is not an asymmetric key");
  return KeyObject.from(imported);
}
