/**
 * The PEM `PUBLIC KEY` block of a key file and the algorithm its SubjectPublicKeyInfo names,
 * without `node:crypto`: enough to hand the key to WebCrypto. Anything unusual (another PEM
 * type, several blocks, text after the block, an algorithm not listed here) gives undefined, and
 * the caller then parses the file with `node:crypto` as before.
 *
 * @module
 */

import { encodeBase64 } from "../_base64.ts";
import { toHex } from "../manifest/hex.ts";
import type { EcCurve } from "./ecdsa_der.ts";

/** What a SubjectPublicKeyInfo holds, for the types the fast path takes. */
export type SpkiAlgorithm =
  | { type: "ec"; curve: EcCurve }
  | { type: "rsa" }
  | { type: "ed25519" };

const BEGIN = "-----BEGIN PUBLIC KEY-----";
const END = "-----END PUBLIC KEY-----";

/**
 * The DER bytes of the one `PUBLIC KEY` block of `text`, which may follow descriptive text (as
 * `node:crypto` allows); undefined for any other shape.
 */
export function pemPublicKeyDer(text: string): Uint8Array<ArrayBuffer> | undefined {
  const begin = text.indexOf(BEGIN);
  // One block only: node:crypto refuses a file with several (a certificate, then the key).
  if (begin < 0 || text.indexOf("-----BEGIN") !== begin) return undefined;
  if (text.indexOf("-----BEGIN", begin + 1) >= 0) return undefined;
  const end = text.indexOf(END, begin);
  if (end < 0 || text.slice(end + END.length).trim() !== "") return undefined;
  const body = text.slice(begin + BEGIN.length, end).replace(/\s+/g, "");
  if (body.length === 0 || body.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(body)) {
    return undefined;
  }
  const binary = atob(body);
  const der = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) der[i] = binary.charCodeAt(i);
  return der;
}

/** The PEM text `node:crypto` exports for a DER SubjectPublicKeyInfo (64-character lines). */
export function spkiPem(der: Uint8Array): string {
  const lines = encodeBase64(der).match(/.{1,64}/g) ?? [];
  return `${BEGIN}\n${lines.join("\n")}\n${END}\n`;
}

// Object identifiers, as their DER content bytes.
const EC_PUBLIC_KEY = "2a8648ce3d0201"; // 1.2.840.10045.2.1
const RSA_ENCRYPTION = "2a864886f70d010101"; // 1.2.840.113549.1.1.1
const ED25519 = "2b6570"; // 1.3.101.112
const NAMED_CURVES: Readonly<Record<string, EcCurve>> = {
  "2a8648ce3d030107": "P-256", // prime256v1
  "2b81040022": "P-384", // secp384r1
  "2b81040023": "P-521", // secp521r1
};

/**
 * The algorithm a DER SubjectPublicKeyInfo names: EC on P-256, P-384 or P-521, RSA
 * (rsaEncryption) or Ed25519; undefined for anything else. Only the algorithm identifier is
 * read: WebCrypto's import checks the rest.
 */
export function spkiAlgorithm(der: Uint8Array): SpkiAlgorithm | undefined {
  const outer = readTlv(der, 0);
  if (!outer || outer.tag !== 0x30 || outer.end !== der.length) return undefined;
  const identifier = readTlv(der, outer.start);
  if (!identifier || identifier.tag !== 0x30) return undefined;
  const oid = readTlv(der, identifier.start);
  if (!oid || oid.tag !== 0x06 || oid.end > identifier.end) return undefined;
  const algorithm = toHex(der.subarray(oid.start, oid.end));
  if (algorithm === RSA_ENCRYPTION) return { type: "rsa" };
  if (algorithm === ED25519) return { type: "ed25519" };
  if (algorithm !== EC_PUBLIC_KEY) return undefined;
  const parameter = readTlv(der, oid.end);
  if (!parameter || parameter.tag !== 0x06 || parameter.end !== identifier.end) return undefined;
  const curve = NAMED_CURVES[toHex(der.subarray(parameter.start, parameter.end))];
  return curve ? { type: "ec", curve } : undefined;
}

/** One DER tag-length-value at `at` (lengths of up to 3 bytes); undefined past the end. */
function readTlv(
  der: Uint8Array,
  at: number,
): { tag: number; start: number; end: number } | undefined {
  const tag = der[at];
  const first = der[at + 1];
  if (tag === undefined || first === undefined) return undefined;
  let start = at + 2;
  let length = first;
  if (first >= 0x80) {
    const count = first - 0x80;
    if (count < 1 || count > 3 || start + count > der.length) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[start + i]!;
    start += count;
  }
  const end = start + length;
  return end > der.length ? undefined : { tag, start, end };
}
