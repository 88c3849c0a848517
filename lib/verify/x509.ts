/**
 * A strict X.509 v1-v3 certificate decoder (RFC 5280 section 4) for the certificate method: DER
 * only, every length and tag checked, the whole input consumed, the extensions model-verify acts
 * on decoded up front. A certificate it returns has every field the path validator reads; one it
 * cannot decode throws a `TypeError` with the reason, which callers turn into their own error
 * (a malformed certificate in a signature is a verification failure, in a `--certificate_chain`
 * file a configuration error).
 *
 * @module
 */

import { escapeName } from "../_escape.ts";

/** One decoded DER element. */
interface Element {
  tag: number;
  /** The whole element (tag, length and contents). */
  der: Uint8Array;
  /** The contents. */
  body: Uint8Array;
}

/** Deepest nesting read; certificates nest about eight levels. */
const MAX_DER_DEPTH = 32;

/** An extension as it appears in the certificate. */
export interface Extension {
  critical: boolean;
  /** The extnValue OCTET STRING's contents. */
  value: Uint8Array;
}

/** The fields of a certificate the certificate method reads. */
export interface Certificate {
  der: Uint8Array;
  /** The DER of tbsCertificate: what the issuer signed. */
  tbs: Uint8Array;
  /** 1, 2 or 3. */
  version: number;
  /** The signature AlgorithmIdentifier inside tbsCertificate (DER). */
  tbsSignatureAlgorithm: Uint8Array;
  /** The outer signatureAlgorithm (DER); RFC 5280 requires it to equal the inner one. */
  signatureAlgorithm: Uint8Array;
  /** OID of the outer signature algorithm, dotted. */
  signatureAlgorithmOid: string;
  /** The signature bytes (BIT STRING contents without the unused-bits byte). */
  signature: Uint8Array;
  /** DER of the issuer and subject Names. */
  issuer: Uint8Array;
  subject: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** DER of subjectPublicKeyInfo. */
  spki: Uint8Array;
  /** Extensions by dotted OID. */
  extensions: Map<string, Extension>;
  /** basicConstraints, when present. */
  basicConstraints?: { ca: boolean; pathLength?: number };
  /** keyUsage bits (bit 0 = digitalSignature, 5 = keyCertSign), when present. */
  keyUsage?: number;
  /** extKeyUsage purposes, dotted OIDs, when present. */
  extKeyUsage?: string[];
}

/** keyUsage bit numbers (RFC 5280 4.2.1.3). */
export const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5 } as const;

/** Extension OIDs. */
export const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyIdentifier: "2.5.29.14",
  authorityKeyIdentifier: "2.5.29.35",
  nameConstraints: "2.5.29.30",
  certificatePolicies: "2.5.29.32",
  policyMappings: "2.5.29.33",
  policyConstraints: "2.5.29.36",
  inhibitAnyPolicy: "2.5.29.54",
  codeSigning: "1.3.6.1.5.5.7.3.3",
} as const;

/**
 * Decodes one DER certificate.
 *
 * @throws {TypeError} naming what is wrong, when the bytes are not a well-formed certificate
 */
export function parseCertificate(der: Uint8Array): Certificate {
  const cert = readOne(der, 0x30, "certificate");
  const [tbsEl, outerAlg, sigValue, ...rest] = children(cert, 0);
  if (!tbsEl || !outerAlg || !sigValue || rest.length > 0) {
    throw new TypeError("certificate is not a SEQUENCE of tbsCertificate, algorithm, signature");
  }
  expectTag(tbsEl, 0x30, "tbsCertificate");
  expectTag(outerAlg, 0x30, "signatureAlgorithm");
  expectTag(sigValue, 0x03, "signatureValue");
  if (sigValue.body.length < 2 || sigValue.body[0] !== 0) {
    throw new TypeError("signatureValue is not a whole-byte BIT STRING");
  }
  const fields = children(tbsEl, 1);
  let i = 0;
  let version = 1;
  if (fields[0]?.tag === 0xa0) {
    const [v, ...extra] = children(fields[0], 2);
    if (!v || extra.length > 0) throw new TypeError("version is malformed");
    version = Number(readInteger(v, "version")) + 1;
    if (version !== 2 && version !== 3) {
      throw new TypeError(`version ${version} is not 2 or 3 (version 1 is written by omission)`);
    }
    i++;
  }
  const serial = fields[i++];
  const innerAlg = fields[i++];
  const issuer = fields[i++];
  const validity = fields[i++];
  const subject = fields[i++];
  const spki = fields[i++];
  if (!serial || !innerAlg || !issuer || !validity || !subject || !spki) {
    throw new TypeError("tbsCertificate misses a required field");
  }
  expectTag(serial, 0x02, "serialNumber");
  expectTag(innerAlg, 0x30, "signature");
  expectTag(issuer, 0x30, "issuer");
  expectTag(validity, 0x30, "validity");
  expectTag(subject, 0x30, "subject");
  expectTag(spki, 0x30, "subjectPublicKeyInfo");
  if (issuer.body.length === 0) throw new TypeError("issuer is empty");
  const [notBefore, notAfter, ...moreTimes] = children(validity, 2);
  if (!notBefore || !notAfter || moreTimes.length > 0) throw new TypeError("validity is malformed");
  const extensions = new Map<string, Extension>();
  for (const field of fields.slice(i)) {
    if (field.tag === 0xa1 || field.tag === 0xa2) {
      if (version < 2) throw new TypeError("unique identifiers need version 2 or 3");
    } else if (field.tag === 0xa3) {
      if (version !== 3) throw new TypeError("extensions need version 3");
      if (extensions.size > 0) throw new TypeError("extensions appear twice");
      readExtensions(field, extensions);
    } else {
      throw new TypeError(
        `unexpected field with tag 0x${field.tag.toString(16)} in tbsCertificate`,
      );
    }
  }
  const algorithm = children(outerAlg, 2)[0];
  if (!algorithm) throw new TypeError("signatureAlgorithm has no OID");
  const certificate: Certificate = {
    der: cert.der,
    tbs: tbsEl.der,
    version,
    tbsSignatureAlgorithm: innerAlg.der,
    signatureAlgorithm: outerAlg.der,
    signatureAlgorithmOid: readOid(algorithm),
    signature: sigValue.body.subarray(1),
    issuer: issuer.der,
    subject: subject.der,
    notBefore: readTime(notBefore),
    notAfter: readTime(notAfter),
    spki: spki.der,
    extensions,
  };
  decodeKnownExtensions(certificate);
  return certificate;
}

function readExtensions(field: Element, out: Map<string, Extension>): void {
  const [list, ...extra] = children(field, 2);
  if (!list || extra.length > 0) throw new TypeError("extensions are malformed");
  expectTag(list, 0x30, "extensions");
  const entries = children(list, 3);
  if (entries.length === 0) throw new TypeError("extensions list is empty");
  for (const entry of entries) {
    expectTag(entry, 0x30, "extension");
    const parts = children(entry, 4);
    const oid = parts[0] && readOid(parts[0]);
    let critical = false;
    let next = 1;
    if (parts[1]?.tag === 0x01) {
      critical = readBoolean(parts[1]);
      if (!critical) throw new TypeError(`extension ${oid} encodes the default critical=FALSE`);
      next = 2;
    }
    const value = parts[next];
    if (!oid || !value || parts.length !== next + 1) {
      throw new TypeError("an extension is malformed");
    }
    expectTag(value, 0x04, `extension ${oid} value`);
    if (out.has(oid)) throw new TypeError(`extension ${oid} appears twice`);
    out.set(oid, { critical, value: value.body });
  }
}

function decodeKnownExtensions(cert: Certificate): void {
  const bc = cert.extensions.get(OID.basicConstraints);
  if (bc) {
    const seq = readOne(bc.value, 0x30, "basicConstraints");
    const parts = children(seq, 1);
    let ca = false;
    let next = 0;
    if (parts[0]?.tag === 0x01) {
      ca = readBoolean(parts[0]);
      if (!ca) throw new TypeError("basicConstraints encodes the default cA=FALSE");
      next = 1;
    }
    let pathLength: number | undefined;
    if (parts[next]) {
      const n = readInteger(parts[next]!, "pathLenConstraint");
      if (n < 0n) throw new TypeError("pathLenConstraint is negative");
      if (!ca) throw new TypeError("pathLenConstraint is set on a certificate that is not a CA");
      pathLength = n > 1000n ? 1000 : Number(n);
      next++;
    }
    if (parts.length !== next) throw new TypeError("basicConstraints is malformed");
    cert.basicConstraints = pathLength === undefined ? { ca } : { ca, pathLength };
  }
  const ku = cert.extensions.get(OID.keyUsage);
  if (ku) {
    const bits = readOne(ku.value, 0x03, "keyUsage");
    if (bits.body.length < 2 || bits.body.length > 3 || bits.body[0]! > 7) {
      throw new TypeError("keyUsage is malformed");
    }
    let value = 0;
    for (let b = 0; b < 16; b++) {
      const byte = bits.body[1 + (b >> 3)];
      if (byte !== undefined && (byte & (0x80 >> (b & 7))) !== 0) value |= 1 << b;
    }
    if (value === 0) throw new TypeError("keyUsage has no bit set");
    cert.keyUsage = value;
  }
  const eku = cert.extensions.get(OID.extKeyUsage);
  if (eku) {
    const seq = readOne(eku.value, 0x30, "extKeyUsage");
    const purposes = children(seq, 1).map(readOid);
    if (purposes.length === 0) throw new TypeError("extKeyUsage is empty");
    cert.extKeyUsage = purposes;
  }
}

/** True when keyUsage is present and has bit `bit`. */
export function hasKeyUsage(cert: Certificate, bit: number): boolean {
  return cert.keyUsage !== undefined && (cert.keyUsage & (1 << bit)) !== 0;
}

/** Same bytes. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// --- DER ---------------------------------------------------------------------------------

function readOne(bytes: Uint8Array, tag: number, what: string): Element {
  const { element, end } = readElement(bytes, 0);
  if (end !== bytes.length) throw new TypeError(`${what} has trailing bytes`);
  expectTag(element, tag, what);
  return element;
}

function readElement(bytes: Uint8Array, start: number): { element: Element; end: number } {
  const tag = bytes[start];
  if (tag === undefined) throw new TypeError("DER ends early");
  if ((tag & 0x1f) === 0x1f) throw new TypeError("DER high tag numbers are not used here");
  let pos = start + 1;
  const first = bytes[pos++];
  if (first === undefined) throw new TypeError("DER ends early");
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new TypeError("DER length is indefinite or too large");
    length = 0;
    for (let k = 0; k < count; k++) {
      const b = bytes[pos++];
      if (b === undefined) throw new TypeError("DER ends early");
      if (k === 0 && b === 0) throw new TypeError("DER length is not minimal");
      length = length * 256 + b;
    }
    if (length < 0x80) throw new TypeError("DER length is not minimal");
  }
  const end = pos + length;
  if (end > bytes.length) throw new TypeError("DER element is longer than its container");
  return {
    element: { tag, der: bytes.subarray(start, end), body: bytes.subarray(pos, end) },
    end,
  };
}

function children(parent: Element, depth: number): Element[] {
  if ((parent.tag & 0x20) === 0) throw new TypeError("expected a constructed DER element");
  if (depth > MAX_DER_DEPTH) throw new TypeError("DER nests too deep");
  const out: Element[] = [];
  let pos = 0;
  while (pos < parent.body.length) {
    const { element, end } = readElement(parent.body, pos);
    out.push(element);
    pos = end;
  }
  return out;
}

function expectTag(element: Element, tag: number, what: string): void {
  if (element.tag !== tag) {
    throw new TypeError(
      `${what} has DER tag 0x${element.tag.toString(16)}, expected 0x${tag.toString(16)}`,
    );
  }
}

function readInteger(element: Element, what: string): bigint {
  expectTag(element, 0x02, what);
  const b = element.body;
  if (b.length === 0) throw new TypeError(`${what} is an empty INTEGER`);
  if (b.length > 1 && ((b[0] === 0 && b[1]! < 0x80) || (b[0] === 0xff && b[1]! >= 0x80))) {
    throw new TypeError(`${what} is not a minimal INTEGER`);
  }
  if (b.length > 8) throw new TypeError(`${what} is too large`);
  let value = 0n;
  for (const byte of b) value = (value << 8n) | BigInt(byte);
  if (b[0]! >= 0x80) value -= 1n << BigInt(8 * b.length);
  return value;
}

function readBoolean(element: Element): boolean {
  if (element.body.length !== 1 || (element.body[0] !== 0 && element.body[0] !== 0xff)) {
    throw new TypeError("BOOLEAN is not DER");
  }
  return element.body[0] === 0xff;
}

function readOid(element: Element): string {
  expectTag(element, 0x06, "OID");
  const b = element.body;
  if (b.length === 0 || b.length > 64) throw new TypeError("OID is empty or too long");
  const arcs: number[] = [];
  let value = 0;
  for (let i = 0; i < b.length; i++) {
    if (value === 0 && b[i] === 0x80) throw new TypeError("OID is not minimal");
    value = value * 128 + (b[i]! & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) throw new TypeError("OID arc too large");
    if ((b[i]! & 0x80) === 0) {
      arcs.push(value);
      value = 0;
    } else if (i === b.length - 1) throw new TypeError("OID ends early");
  }
  const first = arcs[0]!;
  const head = first < 40 ? [0, first] : first < 80 ? [1, first - 40] : [2, first - 80];
  return [...head, ...arcs.slice(1)].join(".");
}

function readTime(element: Element): Date {
  const text = String.fromCharCode(...element.body);
  let match: RegExpExecArray | null;
  let year: number;
  if (element.tag === 0x17) {
    match = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!match) throw new TypeError(`UTCTime ${escapeName(text)} is not YYMMDDHHMMSSZ`);
    const yy = Number(match[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (element.tag === 0x18) {
    match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!match) throw new TypeError(`GeneralizedTime ${escapeName(text)} is not YYYYMMDDHHMMSSZ`);
    year = Number(match[1]);
  } else {
    throw new TypeError("validity time is neither UTCTime nor GeneralizedTime");
  }
  const [month, day, hour, minute, second] = match.slice(2).map(Number) as [
    number,
    number,
    number,
    number,
    number,
  ];
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  if (
    date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day || hour > 23 || minute > 59 ||
    second > 59
  ) {
    throw new TypeError(`validity time ${escapeName(text)} is not a real date`);
  }
  return date;
}

// --- names -------------------------------------------------------------------------------

const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  "2.5.4.3": "CN",
  "2.5.4.5": "serialNumber",
  "2.5.4.6": "C",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "1.2.840.113549.1.9.1": "emailAddress",
};

/** Longest name shown in a message. */
const MAX_NAME_SHOWN = 200;

/**
 * A Name (DER) as one escaped line, e.g. `CN=Test Root CA, O=Example`: attribute values are
 * escaped like file names and the whole cut to 200 characters, since certificates in a
 * signature are attacker input. Never throws.
 */
export function formatName(der: Uint8Array): string {
  try {
    const parts: string[] = [];
    for (const rdn of children(readOne(der, 0x30, "Name"), 1)) {
      for (const atv of children(rdn, 2)) {
        const [type, value] = children(atv, 3);
        if (!type || !value) continue;
        const oid = readOid(type);
        const text = value.tag === 0x1e
          ? String.fromCharCode(
            ...Array.from(
              { length: value.body.length >> 1 },
              (_, k) => (value.body[2 * k]! << 8) | value.body[2 * k + 1]!,
            ),
          )
          : new TextDecoder().decode(value.body);
        parts.push(`${ATTRIBUTE_NAMES[oid] ?? oid}=${text}`);
      }
    }
    const line = escapeName(parts.join(", "));
    if (line === "") return "(empty name)";
    return line.length > MAX_NAME_SHOWN ? `${line.slice(0, MAX_NAME_SHOWN)}…` : line;
  } catch {
    return "(unreadable name)";
  }
}
