/**
 * Certificate path validation for the certificate method, after RFC 5280 section 6.1 and what
 * OpenSSL's default verification (which model_signing uses through pyOpenSSL) enforces:
 *
 * - the path runs from the leaf through the bundle's certificates and the trust anchors to a
 *   self-signed anchor (no partial chains; a self-signed leaf that is itself an anchor is a path
 *   of one), each issuer found by its subject name (DER equal to the child's issuer) and
 *   confirmed by the child's signature;
 * - every certificate on the path is valid at the verification time (the leaf's notBefore);
 * - signature algorithms are ECDSA, RSA PKCS#1 v1.5 with SHA-256/384/512 or Ed25519, the inner
 *   and outer algorithm identifiers equal, no SHA-1 or MD5; RSA keys of 2048 bits or more;
 * - every issuer is a CA: basicConstraints cA=TRUE (a version 1 self-signed anchor counts, as in
 *   OpenSSL), keyUsage, when present, with keyCertSign; pathLenConstraint holds (self-issued
 *   intermediates do not count);
 * - no certificate carries a critical extension this code does not enforce; name constraints
 *   fail closed, since they are not enforced.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createPublicKey, type KeyObject, verify as verifySignature } from "node:crypto";
import { SignatureError } from "../errors.ts";
import { bytesEqual, type Certificate, formatName, hasKeyUsage, KEY_USAGE, OID } from "./x509.ts";

/** Longest path followed, leaf and anchor included. */
export const MAX_PATH_LENGTH = 10;
/** Most issuer signatures checked while searching for a path. */
const MAX_SIGNATURE_CHECKS = 64;

/** Critical extensions the validator understands and enforces. */
const HANDLED_CRITICAL = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.certificatePolicies,
]);

/** Signature algorithms accepted on certificates, by OID. */
const SIGNATURE_ALGORITHMS: Readonly<
  Record<string, { hash: "sha256" | "sha384" | "sha512" | null; key: "ec" | "rsa" | "ed25519" }>
> = {
  "1.2.840.10045.4.3.2": { hash: "sha256", key: "ec" },
  "1.2.840.10045.4.3.3": { hash: "sha384", key: "ec" },
  "1.2.840.10045.4.3.4": { hash: "sha512", key: "ec" },
  "1.2.840.113549.1.1.11": { hash: "sha256", key: "rsa" },
  "1.2.840.113549.1.1.12": { hash: "sha384", key: "rsa" },
  "1.2.840.113549.1.1.13": { hash: "sha512", key: "rsa" },
  "1.3.101.112": { hash: null, key: "ed25519" },
};

const WEAK_ALGORITHMS: Readonly<Record<string, string>> = {
  "1.2.840.113549.1.1.4": "MD5 with RSA",
  "1.2.840.113549.1.1.5": "SHA-1 with RSA",
  "1.2.840.10045.4.1": "ECDSA with SHA-1",
  "1.2.840.10040.4.3": "DSA with SHA-1",
};

/** Smallest RSA modulus accepted on a CA, in bits (OpenSSL security level 2). */
const MIN_RSA_BITS = 2048;

/**
 * Finds and validates a path from `leaf` to a self-signed certificate among `anchors`.
 *
 * @param leaf the signing certificate
 * @param intermediates the other certificates of the bundle, in any order
 * @param anchors the trusted certificates (`--certificate_chain`)
 * @param at the verification time
 * @param anchorSources the files the anchors came from, named in errors
 * @returns the path, leaf first, anchor last
 * @throws {SignatureError} `CHAIN_UNTRUSTED`, `CERTIFICATE_EXPIRED`, `CERTIFICATE_INVALID`
 */
export function validatePath(
  leaf: Certificate,
  intermediates: readonly Certificate[],
  anchors: readonly Certificate[],
  at: Date,
  anchorSources: string,
): Certificate[] {
  checkCertificate(leaf, at, "signing certificate");
  const budget = { checks: MAX_SIGNATURE_CHECKS };
  let firstProblem: SignatureError | undefined;
  const search = (path: Certificate[]): Certificate[] | undefined => {
    const current = path[path.length - 1]!;
    if (path.length > 1 && isTrustedSelfSigned(current, anchors)) return path;
    if (path.length >= MAX_PATH_LENGTH) return undefined;
    const candidates = [...anchors, ...intermediates].filter((c, i, all) =>
      all.findIndex((o) => bytesEqual(o.der, c.der)) === i &&
      bytesEqual(c.subject, current.issuer) && !path.some((p) => bytesEqual(p.der, c.der))
    );
    for (const issuer of candidates) {
      if (budget.checks-- <= 0) return undefined;
      if (!signedBy(current, issuer)) continue;
      try {
        checkCertificate(issuer, at, "issuing certificate");
        checkIssuer(issuer, [...path, issuer]);
      } catch (error) {
        if (!(error instanceof SignatureError)) throw error;
        firstProblem ??= error;
        continue;
      }
      const found = search([...path, issuer]);
      if (found) return found;
    }
    return undefined;
  };
  // A self-signed leaf that is itself a trust anchor is a path of one, as in OpenSSL.
  if (isTrustedSelfSigned(leaf, anchors)) return [leaf];
  const path = search([leaf]);
  if (path) return path;
  if (firstProblem) throw firstProblem;
  throw new SignatureError(
    "CHAIN_UNTRUSTED",
    `The signing certificate '${formatName(leaf.subject)}' does not chain to a self-signed ` +
      `certificate in ${anchorSources} (issuer '${formatName(leaf.issuer)}')`,
  );
}

function isTrustedSelfSigned(cert: Certificate, anchors: readonly Certificate[]): boolean {
  return anchors.some((a) => bytesEqual(a.der, cert.der)) &&
    bytesEqual(cert.subject, cert.issuer) && signedBy(cert, cert);
}

/** Checks of every certificate on a path: time, algorithms, critical extensions. */
function checkCertificate(cert: Certificate, at: Date, role: string): void {
  const name = formatName(cert.subject);
  if (!(cert.notBefore <= at && at <= cert.notAfter)) {
    throw new SignatureError(
      "CERTIFICATE_EXPIRED",
      `The ${role} '${name}' is not valid at the signing time ${at.toISOString()} (valid ` +
        `${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`,
    );
  }
  if (!bytesEqual(cert.signatureAlgorithm, cert.tbsSignatureAlgorithm)) {
    throw invalid(cert, role, "its two signature algorithm fields differ (RFC 5280 4.1.1.2)");
  }
  const weak = WEAK_ALGORITHMS[cert.signatureAlgorithmOid];
  if (weak) throw invalid(cert, role, `it is signed with ${weak}, which is too weak`);
  if (!SIGNATURE_ALGORITHMS[cert.signatureAlgorithmOid]) {
    throw invalid(
      cert,
      role,
      `its signature algorithm ${cert.signatureAlgorithmOid} is not supported (ECDSA, RSA ` +
        "PKCS#1 v1.5 with SHA-256/384/512, or Ed25519)",
    );
  }
  for (const [oid, ext] of cert.extensions) {
    if (ext.critical && !HANDLED_CRITICAL.has(oid)) {
      throw invalid(cert, role, `it has the unrecognised critical extension ${oid}`);
    }
  }
  if (cert.extensions.has(OID.nameConstraints)) {
    throw invalid(cert, role, "it has name constraints, which model-verify does not enforce");
  }
}

/** Checks that `issuer`, the last certificate of `path`, may issue the ones before it. */
function checkIssuer(issuer: Certificate, path: readonly Certificate[]): void {
  const selfSigned = bytesEqual(issuer.subject, issuer.issuer);
  const isCa = issuer.basicConstraints?.ca === true ||
    (issuer.version === 1 && selfSigned);
  if (!isCa) {
    throw new SignatureError(
      "CHAIN_UNTRUSTED",
      `Certificate '${formatName(issuer.subject)}' signs another certificate but is not a CA ` +
        "(basicConstraints cA=TRUE)",
    );
  }
  if (issuer.keyUsage !== undefined && !hasKeyUsage(issuer, KEY_USAGE.keyCertSign)) {
    throw new SignatureError(
      "CHAIN_UNTRUSTED",
      `Certificate '${formatName(issuer.subject)}' signs another certificate but its key usage ` +
        "lacks keyCertSign",
    );
  }
  const limit = issuer.basicConstraints?.pathLength;
  if (limit !== undefined) {
    // Intermediates between this CA and the leaf, not counting self-issued ones (RFC 5280 6.1.4).
    const below = path.slice(1, -1).filter((c) => !bytesEqual(c.subject, c.issuer)).length;
    if (below > limit) {
      throw new SignatureError(
        "CHAIN_UNTRUSTED",
        `Certificate '${formatName(issuer.subject)}' allows ${limit} intermediate ` +
          `certificate(s) below it (pathLenConstraint), but the path has ${below}`,
      );
    }
  }
  const key = publicKeyOf(issuer);
  if (
    key.asymmetricKeyType === "rsa" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < MIN_RSA_BITS
  ) {
    throw invalid(
      issuer,
      "issuing certificate",
      `its RSA key is shorter than ${MIN_RSA_BITS} bits`,
    );
  }
}

/** True when `issuer`'s key verifies `cert`'s signature with `cert`'s algorithm. */
function signedBy(cert: Certificate, issuer: Certificate): boolean {
  const algorithm = SIGNATURE_ALGORITHMS[cert.signatureAlgorithmOid];
  if (!algorithm) return false;
  try {
    const key = publicKeyOf(issuer);
    const type = key.asymmetricKeyType;
    if (type !== (algorithm.key === "ed25519" ? "ed25519" : algorithm.key)) return false;
    return verifySignature(algorithm.hash, cert.tbs, key, cert.signature);
  } catch {
    return false;
  }
}

/** The certificate's public key. */
export function publicKeyOf(cert: Certificate): KeyObject {
  return createPublicKey({ key: Buffer.from(cert.spki), format: "der", type: "spki" });
}

function invalid(cert: Certificate, role: string, reason: string): SignatureError {
  return new SignatureError(
    "CERTIFICATE_INVALID",
    `The ${role} '${formatName(cert.subject)}' cannot be used: ${reason}`,
  );
}
