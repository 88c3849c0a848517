/**
 * A message signature known only by its artifact's digest (`verify-bundle ... sha256:HEX`).
 * `@sigstore/verify` checks a message signature over the artifact bytes; here there are none, so
 * this implements the library's signature-content interface and verifies the ECDSA signature
 * over the prehashed digest with `@noble/curves` (neither Node's nor Deno's crypto verifies a
 * prehashed digest).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type KeyObject, timingSafeEqual } from "node:crypto";
import type { SignedEntity } from "@sigstore/verify";
import { p256, p384, p521 } from "@noble/curves/nist.js";

type SignatureContent = SignedEntity["signature"];

const CURVES = { prime256v1: p256, secp384r1: p384, secp521r1: p521 } as const;

/** Signature content for a message signature whose artifact is given by digest alone. */
export class MessageDigestContent implements SignatureContent {
  readonly signature: Buffer;
  readonly #bundleDigest: Buffer;
  readonly #artifactDigest: Buffer;

  /**
   * @param signature the bundle's `messageSignature.signature`
   * @param bundleDigest the bundle's `messageSignature.messageDigest.digest`
   * @param artifactDigest the digest the caller says the artifact has
   */
  constructor(signature: Buffer, bundleDigest: Buffer, artifactDigest: Uint8Array) {
    this.signature = signature;
    this.#bundleDigest = bundleDigest;
    this.#artifactDigest = Buffer.from(artifactDigest);
  }

  compareSignature(signature: Buffer): boolean {
    return signature.length === this.signature.length && timingSafeEqual(signature, this.signature);
  }

  /** The log entry's digest must be the bundle's, and the bundle's the artifact's. */
  compareDigest(digest: Buffer): boolean {
    return equal(digest, this.#bundleDigest) && equal(this.#bundleDigest, this.#artifactDigest);
  }

  compareSignedDigest(digest: Buffer): boolean {
    return this.compareDigest(digest);
  }

  /** ECDSA (DER) over the artifact digest; only EC keys can sign a prehashed digest here. */
  verifySignature(key: KeyObject): boolean {
    const curve = CURVES[key.asymmetricKeyDetails?.namedCurve as keyof typeof CURVES];
    if (key.asymmetricKeyType !== "ec" || curve === undefined) return false;
    const jwk = key.export({ format: "jwk" });
    const point = Buffer.concat([
      Buffer.from([4]),
      Buffer.from(jwk.x!, "base64url"),
      Buffer.from(jwk.y!, "base64url"),
    ]);
    try {
      return curve.verify(this.signature, this.#artifactDigest, point, {
        prehash: false,
        format: "der",
        lowS: false,
      });
    } catch {
      return false;
    }
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
