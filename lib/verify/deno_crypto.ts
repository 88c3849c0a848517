/**
 * Makes `node:crypto.verify` behave as in Node when no digest is named, so that `@sigstore/core`
 * works under Deno.
 *
 * Node lets `crypto.verify(null, data, key, signature)` pick the key's default digest; for EC and
 * RSA keys that is SHA-256 (OpenSSL's default). Deno 2.9 throws "no default digest" instead.
 * `@sigstore/core` calls `verify` without a digest for Rekor SETs, checkpoint signatures and DSSE
 * signatures, and turns the exception into `false`, so every Sigstore bundle would fail with a
 * misleading "invalid inclusion promise". The fix wraps `verify` on the shared `node:crypto`
 * module object (the one `require("crypto")` returns to npm packages): when the algorithm is null
 * or undefined and the key is an EC or RSA key, it passes `"sha256"`. Every other call (a named
 * digest, Ed25519, Ed448, RSA-PSS, unparsable keys) goes through untouched.
 *
 * @module
 */

import nodeCrypto from "node:crypto";

type VerifyFunction = typeof nodeCrypto.verify;
type VerifyKey = Parameters<VerifyFunction>[2];

/** The digest Node picks for EC and RSA keys when none is given. */
export const NODE_DEFAULT_DIGEST = "sha256";

const KEY_TYPES_WITH_DEFAULT_DIGEST: ReadonlySet<string> = new Set(["ec", "rsa"]);

const originalVerify: VerifyFunction = nodeCrypto.verify;
let installed = false;

/**
 * The digest to hand to `crypto.verify`: the given one, or Node's default for EC and RSA keys
 * when none is given.
 *
 * @param algorithm the algorithm the caller passed (null or undefined: "the key's default")
 * @param key the verification key, in any form `crypto.verify` accepts
 * @returns the algorithm unchanged, or `"sha256"` where Node would default to it
 */
export function digestForVerify(
  algorithm: string | null | undefined,
  key: VerifyKey,
): string | null | undefined {
  if (algorithm !== null && algorithm !== undefined) return algorithm;
  const type = asymmetricKeyType(key);
  return type !== undefined && KEY_TYPES_WITH_DEFAULT_DIGEST.has(type)
    ? NODE_DEFAULT_DIGEST
    : algorithm;
}

/**
 * Installs the wrapper around `node:crypto.verify`, once per process, and only under Deno.
 *
 * @returns true when this call installed it
 */
export function installDenoCryptoFix(): boolean {
  if (installed || !("Deno" in globalThis)) return false;
  const patched = function verify(
    this: unknown,
    algorithm: string | null | undefined,
    ...rest: unknown[]
  ): unknown {
    const key = rest[1] as VerifyKey;
    return Reflect.apply(originalVerify, this, [digestForVerify(algorithm, key), ...rest]);
  };
  (nodeCrypto as { verify: unknown }).verify = patched;
  installed = true;
  return true;
}

/** Restores the original `node:crypto.verify`. For tests that show what the fix changes. */
export function uninstallDenoCryptoFix(): void {
  (nodeCrypto as { verify: unknown }).verify = originalVerify;
  installed = false;
}

/** Whether the wrapper is currently installed. */
export function isDenoCryptoFixInstalled(): boolean {
  return installed;
}

function asymmetricKeyType(key: VerifyKey): string | undefined {
  if (key instanceof nodeCrypto.KeyObject) return key.asymmetricKeyType;
  try {
    return nodeCrypto.createPublicKey(key as Parameters<typeof nodeCrypto.createPublicKey>[0])
      .asymmetricKeyType;
  } catch {
    return undefined;
  }
}
