/**
 * The `certificate` method: the bundle's X.509 chain (leaf first) must reach a self-signed
 * certificate among the user's trust anchors, every certificate on the path valid at the leaf's
 * notBefore time (as upstream), the leaf allowed to sign; then the DSSE signature must verify with
 * the leaf's key.
 *
 * @module
 */

import { createPublicKey, X509Certificate as NodeX509 } from "node:crypto";
import { X509Certificate } from "@sigstore/core";
import type { ParsedBundle } from "../bundle/types.ts";
import { InputError, SignatureError, TrustMaterialError } from "../errors.ts";
import { verifyDsseSignature } from "./dsse_signature.ts";
import { describeKey } from "./public_key.ts";
import type { VerifiedSignature } from "./types.ts";

const EKU_OID = "2.5.29.37";
const CODE_SIGNING_OID = "1.3.6.1.5.5.7.3.3";
/** Longest certificate path followed. */
const MAX_PATH = 10;

/** A trusted certificate from a `--certificate_chain` file. */
export interface TrustAnchor {
  certificate: X509Certificate;
  source: string;
}

/**
 * Reads every PEM certificate of a `--certificate_chain` file.
 *
 * @throws {TrustMaterialError} `CERTIFICATE_INVALID` when the file holds no certificate or a
 * block cannot be parsed
 */
export function loadTrustAnchors(bytes: Uint8Array, source: string): TrustAnchor[] {
  const text = new TextDecoder().decode(bytes);
  const blocks = text.match(
    /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g,
  ) ?? [];
  if (blocks.length === 0) {
    throw new TrustMaterialError(
      "CERTIFICATE_INVALID",
      `Certificate chain file '${source}' holds no PEM certificate ('-----BEGIN CERTIFICATE-----')`,
    );
  }
  return blocks.map((pem, i) => {
    try {
      return { certificate: X509Certificate.parse(pem), source };
    } catch (error) {
      throw new TrustMaterialError(
        "CERTIFICATE_INVALID",
        `Certificate ${i + 1} in '${source}' cannot be parsed: ${
          error instanceof Error ? error.message : error
        }`,
        { cause: error },
      );
    }
  });
}

/**
 * Verifies a bundle made with `model_signing sign certificate`.
 *
 * @throws {SignatureError} `CHAIN_UNTRUSTED`, `CERTIFICATE_EXPIRED`, `CERTIFICATE_USAGE`,
 * `SIGNATURE_INVALID`
 */
export function verifyWithCertificate(
  bundle: ParsedBundle,
  anchors: readonly TrustAnchor[],
  /** Verified RFC 3161 timestamp times: the chain must be valid at each, not at notBefore. */
  verifiedTimes: readonly Date[] = [],
): VerifiedSignature {
  const chain = bundleCertificates(bundle);
  const leaf = chain[0]!;
  const times = verifiedTimes.length > 0 ? verifiedTimes : [leaf.notBefore];
  const path = buildPath(leaf, chain.slice(1), anchors);
  path.forEach((cert, i) => {
    const at = times.find((t) => !cert.validForDate(t));
    if (at !== undefined) {
      throw new SignatureError(
        "CERTIFICATE_EXPIRED",
        `Certificate '${subjectOf(cert)}' is not valid at the signing time ${at.toISOString()} ` +
          `(valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`,
      );
    }
    if (i > 0 && (!cert.isCA || cert.extKeyUsage?.keyCertSign === false)) {
      throw new SignatureError(
        "CHAIN_UNTRUSTED",
        `Certificate '${subjectOf(cert)}' signs another certificate but is not a CA`,
      );
    }
  });
  if (!canSign(leaf)) {
    throw new SignatureError(
      "CERTIFICATE_USAGE",
      `Signing certificate '${subjectOf(leaf)}' allows neither digital signature nor code signing`,
    );
  }
  const key = describeKey(
    createPublicKey({ key: leaf.publicKey, format: "der", type: "spki" }),
    "the signing certificate",
  );
  verifyDsseSignature(bundle.envelope, key.key, key.hash, "sha256", "the signing certificate");
  const root = path[path.length - 1]!;
  return {
    payloadType: bundle.envelope.payloadType,
    payload: bundle.envelope.payload,
    signer: {
      method: "certificate",
      description: `certificate '${subjectOf(leaf)}' (${key.description}) issued under ` +
        `'${subjectOf(root)}'`,
    },
    warnings: [],
  };
}

function bundleCertificates(bundle: ParsedBundle): X509Certificate[] {
  const material = bundle.material;
  const ders = material.kind === "x509CertificateChain"
    ? material.certificates
    : material.kind === "certificate"
    ? [material.certificate]
    : [];
  if (ders.length === 0) {
    throw new SignatureError(
      "MATERIAL_MISMATCH",
      `Signature '${bundle.source}' holds a public key, not a certificate chain: verify it with ` +
        "the key method",
    );
  }
  return ders.map((der, i) => {
    try {
      return X509Certificate.parse(Buffer.from(der));
    } catch (error) {
      throw new InputError(
        "SIGNATURE_MALFORMED",
        `Certificate ${i} in signature '${bundle.source}' cannot be parsed`,
        { cause: error },
      );
    }
  });
}

/**
 * Follows issuers from the leaf through the bundle's certificates and the anchors until a
 * self-signed anchor. Issuers are found by name and confirmed by signature, never by name alone.
 */
function buildPath(
  leaf: X509Certificate,
  intermediates: readonly X509Certificate[],
  anchors: readonly TrustAnchor[],
): X509Certificate[] {
  const path = [leaf];
  let current = leaf;
  while (path.length <= MAX_PATH) {
    const anchor = anchors.find((a) => a.certificate.equals(current));
    if (anchor && isSelfSigned(current)) return path;
    const issuer = [...anchors.map((a) => a.certificate), ...intermediates].find((candidate) =>
      !candidate.equals(current) && !path.some((p) => p.equals(candidate)) &&
      Buffer.compare(candidate.subject, current.issuer) === 0 && safeVerify(current, candidate)
    );
    if (!issuer) break;
    path.push(issuer);
    current = issuer;
  }
  const sources = [...new Set(anchors.map((a) => a.source))].join(", ");
  throw new SignatureError(
    "CHAIN_UNTRUSTED",
    `The signing certificate '${subjectOf(leaf)}' does not chain to a self-signed certificate ` +
      `in ${sources}; the path ends at '${subjectOf(current)}'`,
  );
}

function isSelfSigned(cert: X509Certificate): boolean {
  return Buffer.compare(cert.subject, cert.issuer) === 0 && safeVerify(cert, cert);
}

function safeVerify(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer);
  } catch {
    return false;
  }
}

function canSign(leaf: X509Certificate): boolean {
  if (leaf.extKeyUsage?.digitalSignature) return true;
  const eku = leaf.extension(EKU_OID);
  if (!eku) return false;
  try {
    // extnValue is an OCTET STRING wrapping SEQUENCE OF KeyPurposeId.
    return eku.valueObj.subs[0]?.subs.some((oid) => oid.toOID() === CODE_SIGNING_OID) ?? false;
  } catch {
    return false;
  }
}

/** The certificate's subject as text, e.g. `CN=intermediate-ca`. */
export function subjectOf(cert: X509Certificate): string {
  try {
    return new NodeX509(cert.root.toDER()).subject.replaceAll("\n", ", ");
  } catch {
    return "(unreadable subject)";
  }
}
