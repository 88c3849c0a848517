/**
 * ECDSA signatures from their DER form (`SEQUENCE { INTEGER r, INTEGER s }`, what model_signing
 * and OpenSSL write) to the fixed-width IEEE P1363 form (`r || s`) WebCrypto verifies. Strict:
 * only the one DER encoding of a signature is taken, as `node:crypto` (and OpenSSL) take it.
 *
 * @module
 */

/** The NIST curves of the `key` method. */
export type EcCurve = "P-256" | "P-384" | "P-521";

/** The order n of each curve's base point: r and s must lie in [1, n - 1]. */
export const CURVE_ORDER: Readonly<Record<EcCurve, bigint>> = {
  "P-256": 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
  "P-384":
    0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
  "P-521":
    0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};

/** Bytes of r and of s in the P1363 form. */
export const SCALAR_BYTES: Readonly<Record<EcCurve, number>> = {
  "P-256": 32,
  "P-384": 48,
  "P-521": 66,
};

/**
 * The P1363 form of a DER ECDSA signature, or undefined when `der` is not exactly one minimal
 * DER encoding of two integers in [1, n - 1]: indefinite or long-form lengths that a short form
 * could hold, leading zero bytes an integer does not need, negative integers, other tags, and
 * trailing bytes are all refused.
 */
export function derToP1363(der: Uint8Array, curve: EcCurve): Uint8Array<ArrayBuffer> | undefined {
  const size = SCALAR_BYTES[curve];
  if (der.length < 2 || der[0] !== 0x30) return undefined;
  const sequence = readLength(der, 1);
  if (!sequence || sequence.end !== der.length) return undefined;
  const r = readInteger(der, sequence.start);
  if (!r) return undefined;
  const s = readInteger(der, r.end);
  if (!s || s.end !== der.length) return undefined;
  const out = new Uint8Array(2 * size);
  for (const [i, part] of [r, s].entries()) {
    const value = toBigInt(part.bytes);
    if (value < 1n || value >= CURVE_ORDER[curve]) return undefined;
    const digits = part.bytes[0] === 0 ? part.bytes.subarray(1) : part.bytes;
    if (digits.length > size) return undefined;
    out.set(digits, (i + 1) * size - digits.length);
  }
  return out;
}

/** A DER length at `at`: where the content starts and ends; minimal forms only. */
function readLength(der: Uint8Array, at: number): { start: number; end: number } | undefined {
  const first = der[at];
  if (first === undefined) return undefined;
  if (first < 0x80) return { start: at + 1, end: at + 1 + first };
  // Signatures are below 256 bytes: one length byte, and only for lengths of 128 or more.
  const second = der[at + 1];
  if (first !== 0x81 || second === undefined || second < 0x80) return undefined;
  return { start: at + 2, end: at + 2 + second };
}

/** A non-negative, minimally encoded INTEGER at `at`. */
function readInteger(der: Uint8Array, at: number): { bytes: Uint8Array; end: number } | undefined {
  if (der[at] !== 0x02) return undefined;
  const length = readLength(der, at + 1);
  if (!length || length.end > der.length || length.end === length.start) return undefined;
  const bytes = der.subarray(length.start, length.end);
  if (bytes[0]! & 0x80) return undefined; // negative
  if (bytes[0] === 0 && bytes.length > 1 && !(bytes[1]! & 0x80)) return undefined; // padded
  return { bytes, end: length.end };
}

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}
