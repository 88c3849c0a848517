/**
 * Who signed: the identity and OIDC issuer recorded in a Fulcio certificate, compared with what
 * the user expects as exact strings. No regular expressions, no substrings, no case folding:
 * `alice@example.co` does not match `alice@example.com`.
 *
 * `@sigstore/verify`'s own `subjectAlternativeName` policy is an unanchored RegExp and an empty
 * string skips it, so it is not used.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { ASN1Obj, type X509Certificate } from "@sigstore/core";
import { escapeName } from "../_escape.ts";
import { ConfigError, PolicyError } from "../errors.ts";

/** subjectAltName extension. */
export const OID_SUBJECT_ALT_NAME = "2.5.29.17";
/** Fulcio: OIDC issuer as a DER UTF8String (current). */
export const OID_FULCIO_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8";
/** Fulcio: OIDC issuer as raw bytes (deprecated, still in older certificates). */
export const OID_FULCIO_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
/** Fulcio: otherName SAN carrying a username. */
export const OID_FULCIO_USERNAME = "1.3.6.1.4.1.57264.1.7";

/** What the user demands of the signer. */
export interface IdentityPolicy {
  /** Expected SAN: an email, a URI or a Fulcio username (otherName). */
  identity: string;
  /** Expected OIDC issuer. */
  issuer: string;
}

/** One subject alternative name that can carry a Sigstore identity. */
export interface SanEntry {
  kind: "email" | "uri" | "otherName";
  value: string;
}

/** The identity facts of a certificate. */
export interface CertificateIdentity {
  /** Email, URI and Fulcio-username SANs, in certificate order. */
  sans: SanEntry[];
  /** The OIDC issuer extension, if present and valid UTF-8. */
  issuer?: string;
}

/** The identity and issuer that satisfied the policy. */
export interface MatchedIdentity {
  identity: string;
  issuer: string;
}

/**
 * Reads the SANs and the OIDC issuer of a Fulcio certificate. Values that are not valid UTF-8
 * are left out: they can never equal an expected string.
 *
 * @param cert the signing (leaf) certificate
 */
export function readCertificateIdentity(cert: X509Certificate): CertificateIdentity {
  const result: CertificateIdentity = { sans: readSans(cert) };
  const issuer = readIssuer(cert);
  if (issuer !== undefined) result.issuer = issuer;
  return result;
}

/**
 * Checks that the certificate names exactly the expected identity and issuer. Call it only after
 * the certificate chain and signature were verified.
 *
 * @param cert the verified signing certificate
 * @param policy the expected identity and issuer
 * @returns the matched identity and issuer
 * @throws {ConfigError} `IDENTITY_REQUIRED` or `ISSUER_REQUIRED` when an expected value is empty
 * @throws {PolicyError} `IDENTITY_MISMATCH` or `ISSUER_MISMATCH`, naming the actual values
 */
export function checkIdentityPolicy(
  cert: X509Certificate,
  policy: IdentityPolicy,
): MatchedIdentity {
  if (policy.identity === "") {
    throw new ConfigError("IDENTITY_REQUIRED", "The expected identity (--identity) is empty");
  }
  if (policy.issuer === "") {
    throw new ConfigError(
      "ISSUER_REQUIRED",
      "The expected OIDC issuer (--identity-provider) is empty",
    );
  }
  const actual = readCertificateIdentity(cert);
  const identityMatches = actual.sans.some((san) => san.value === policy.identity);
  const issuerMatches = actual.issuer === policy.issuer;
  if (identityMatches && issuerMatches) {
    return { identity: policy.identity, issuer: policy.issuer };
  }
  const facts = `the certificate has identity ${describeSans(actual.sans)} and issuer ` +
    `${quote(actual.issuer)}; expected identity ${quote(policy.identity)} and issuer ` +
    `${quote(policy.issuer)} (exact match)`;
  if (!identityMatches) {
    throw new PolicyError("IDENTITY_MISMATCH", `Signer identity does not match: ${facts}`);
  }
  throw new PolicyError("ISSUER_MISMATCH", `Signer OIDC issuer does not match: ${facts}`);
}

/** One line naming a certificate's identity, for reports. */
export function describeSans(sans: SanEntry[]): string {
  if (sans.length === 0) return "(none)";
  return sans.map((san) => `${quote(san.value)} (${san.kind})`).join(", ");
}

function quote(value: string | undefined): string {
  return value === undefined ? "(none)" : `'${escapeName(value)}'`;
}

const STRICT_UTF8 = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Uint8Array): string | undefined {
  try {
    return STRICT_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function readSans(cert: X509Certificate): SanEntry[] {
  const extension = cert.extension(OID_SUBJECT_ALT_NAME);
  if (!extension) return [];
  let generalNames: ASN1Obj;
  try {
    generalNames = ASN1Obj.parseBuffer(Buffer.from(extension.value));
  } catch {
    return [];
  }
  const sans: SanEntry[] = [];
  for (const name of generalNames.subs) {
    const entry = readGeneralName(name);
    if (entry) sans.push(entry);
  }
  return sans;
}

// GeneralName ::= CHOICE { otherName [0], rfc822Name [1] IA5String, ..., uniformResourceIdentifier
// [6] IA5String, ... } (RFC 5280, 4.2.1.6)
function readGeneralName(name: ASN1Obj): SanEntry | undefined {
  if (name.tag.isContextSpecific(1)) return entry("email", decodeUtf8(name.value));
  if (name.tag.isContextSpecific(6)) return entry("uri", decodeUtf8(name.value));
  if (name.tag.isContextSpecific(0)) {
    // OtherName ::= SEQUENCE { type-id OID, value [0] EXPLICIT ANY } (implicit SEQUENCE here)
    const [typeId, explicitValue] = name.subs;
    if (!typeId || !explicitValue) return undefined;
    let oid: string;
    try {
      oid = typeId.toOID();
    } catch {
      return undefined;
    }
    const inner = explicitValue.subs[0];
    if (oid !== OID_FULCIO_USERNAME || !inner) return undefined;
    return entry("otherName", decodeUtf8(inner.value));
  }
  return undefined;
}

function entry(kind: SanEntry["kind"], value: string | undefined): SanEntry | undefined {
  return value === undefined ? undefined : { kind, value };
}

function readIssuer(cert: X509Certificate): string | undefined {
  // When the current extension is present it is the only one read, even if malformed.
  const v2 = cert.extension(OID_FULCIO_ISSUER_V2);
  if (v2) {
    try {
      const utf8String = ASN1Obj.parseBuffer(Buffer.from(v2.value));
      // UTF8String, universal tag 12
      const isUtf8String = utf8String.tag.isUniversal() && utf8String.tag.number === 12;
      return isUtf8String ? decodeUtf8(utf8String.value) : undefined;
    } catch {
      return undefined;
    }
  }
  const v1 = cert.extension(OID_FULCIO_ISSUER_V1);
  return v1 ? decodeUtf8(v1.value) : undefined;
}
