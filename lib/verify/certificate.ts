/**
 * The `certificate` method: the bundle's X.509 chain (leaf first) must reach a self-signed
 * certificate among the user's trust anchors under the rules of `cert_path.ts` (RFC 5280 path
 * validation as OpenSSL enforces it for model_signing), at the leaf's notBefore time (as
 * upstream); the leaf must allow signing; then the DSSE signature must verify with the leaf's
 * key. Certificates are decoded strictly (`x509.ts`): a malformed one in the signature fails the
 * verification (exit 1), one in a `--certificate_chain` file is a configuration error (exit 2).
 *
 * @module
 */

import { escapeName } from "../_escape.ts";
import type { ParsedBundle } from "../bundle/types.ts";
import { InputError, SignatureError, TrustMaterialError } from "../errors.ts";
import { publicKeyOf, validatePath } from "./cert_path.ts";
import { verifyDsseSignature } from "./dsse_signature.ts";
import { describeKey } from "./node_public_key.ts";
import type { VerifiedSignature } from "./types.ts";
import {
  type Certificate,
  formatName,
  hasKeyUsage,
  KEY_USAGE,
  OID,
  parseCertificate,
} from "./x509.ts";

/** Most certificates read from one `--certificate_chain` file. */
export const MAX_ANCHORS_PER_FILE = 1000;

/** A trusted certificate from a `--certificate_chain` file. */
export interface TrustAnchor {
  certificate: Certificate;
  source: string;
}

/**
 * Reads every PEM certificate of a `--certificate_chain` file.
 *
 * @throws {TrustMaterialError} `CERTIFICATE_INVALID` when the file holds no certificate, too
 * many, or a block that is not a well-formed certificate
 */
export function loadTrustAnchors(bytes: Uint8Array, source: string): TrustAnchor[] {
  const where = `'${escapeName(source)}'`;
  const text = new TextDecoder().decode(bytes);
  const blocks = text.match(
    /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g,
  ) ?? [];
  if (blocks.length === 0) {
    throw new TrustMaterialError(
      "CERTIFICATE_INVALID",
      `Certificate chain file ${where} holds no PEM certificate ('-----BEGIN CERTIFICATE-----')`,
    );
  }
  if (blocks.length > MAX_ANCHORS_PER_FILE) {
    throw new TrustMaterialError(
      "CERTIFICATE_INVALID",
      `Certificate chain file ${where} holds ${blocks.length} certificates, more than the ` +
        `${MAX_ANCHORS_PER_FILE} accepted`,
    );
  }
  return blocks.map((pem, i) => {
    try {
      const body = pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, "").replace(/\s+/g, "");
      return { certificate: parseCertificate(Uint8Array.fromBase64(body)), source };
    } catch (error) {
      throw new TrustMaterialError(
        "CERTIFICATE_INVALID",
        `Certificate ${i + 1} in ${where} is not a valid X.509 certificate: ${
          escapeName(error instanceof Error ? error.message : String(error))
        }`,
        { cause: error },
      );
    }
  });
}

/**
 * Verifies a bundle made with `model_signing sign certificate`.
 *
 * @throws {InputError} `SIGNATURE_MALFORMED` for a certificate that cannot be decoded
 * @throws {SignatureError} `CHAIN_UNTRUSTED`, `CERTIFICATE_EXPIRED`, `CERTIFICATE_INVALID`,
 * `CERTIFICATE_USAGE`, `SIGNATURE_INVALID`
 */
export function verifyWithCertificate(
  bundle: ParsedBundle,
  anchors: readonly TrustAnchor[],
  /** Verified RFC 3161 timestamp times: the chain must be valid at each, not at notBefore. */
  verifiedTimes: readonly Date[] = [],
): VerifiedSignature {
  const chain = bundleCertificates(bundle);
  const leaf = chain[0]!;
  const sources = [...new Set(anchors.map((a) => `'${escapeName(a.source)}'`))].join(", ");
  // At the leaf's notBefore, or (RFC 3161 timestamps verified) at every timestamp's time.
  const times = verifiedTimes.length > 0 ? verifiedTimes : [leaf.notBefore];
  let path: ReturnType<typeof validatePath> = [];
  for (const at of times) {
    path = validatePath(leaf, chain.slice(1), anchors.map((a) => a.certificate), at, sources);
  }
  if (!canSign(leaf)) {
    throw new SignatureError(
      "CERTIFICATE_USAGE",
      `Signing certificate '${
        formatName(leaf.subject)
      }' allows neither digital signature nor code ` +
        "signing",
    );
  }
  const key = describeKey(publicKeyOf(leaf), "the signing certificate");
  verifyDsseSignature(bundle.envelope, key.key, key.hash, "sha256", "the signing certificate");
  const root = path[path.length - 1]!;
  return {
    payloadType: bundle.envelope.payloadType,
    payload: bundle.envelope.payload,
    signer: {
      method: "certificate",
      description: `certificate '${formatName(leaf.subject)}' (${key.description}) issued ` +
        `under '${formatName(root.subject)}'`,
    },
    warnings: [],
  };
}

function bundleCertificates(bundle: ParsedBundle): Certificate[] {
  const material = bundle.material;
  const ders = material.kind === "x509CertificateChain"
    ? material.certificates
    : material.kind === "certificate"
    ? [material.certificate]
    : [];
  if (ders.length === 0) {
    throw new SignatureError(
      "MATERIAL_MISMATCH",
      `Signature '${escapeName(bundle.source)}' holds a public key, not a certificate chain: ` +
        "verify it with the key method",
    );
  }
  return ders.map((der, i) => {
    try {
      return parseCertificate(der);
    } catch (error) {
      throw new InputError(
        "SIGNATURE_MALFORMED",
        `Certificate ${i} in signature '${
          escapeName(bundle.source)
        }' is not a valid X.509 certificate: ${
          escapeName(error instanceof Error ? error.message : String(error))
        }`,
        { cause: error },
      );
    }
  });
}

/** keyUsage digitalSignature, or else extKeyUsage codeSigning, as model_signing checks. */
function canSign(leaf: Certificate): boolean {
  return hasKeyUsage(leaf, KEY_USAGE.digitalSignature) ||
    (leaf.extKeyUsage?.includes(OID.codeSigning) ?? false);
}

/** The certificate's subject as text, e.g. `CN=intermediate-ca`, escaped. */
export function subjectOf(cert: Certificate): string {
  return formatName(cert.subject);
}
