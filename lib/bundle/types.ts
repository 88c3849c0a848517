/**
 * Neutral shapes of a parsed signature file. The wire JSON is read once by `parse_bundle.ts`;
 * nothing after that reads JSON again, except the Sigstore verifier, which hands `raw` to
 * `@sigstore/bundle` so that the library sees exactly what was signed.
 *
 * @module
 */

/** One DSSE signature. */
export interface DsseSignature {
  /** Raw signature bytes (base64-decoded). */
  sig: Uint8Array;
  /** The key id the signer recorded, often empty. */
  keyid: string;
}

/** A DSSE envelope with its payload decoded from base64. */
export interface DsseEnvelope {
  payloadType: string;
  /** Raw payload bytes (base64-decoded), exactly as signed. */
  payload: Uint8Array;
  /** The decoded signatures (at most two are decoded). */
  signatures: DsseSignature[];
  /** How many signatures the envelope listed, when more than were decoded. */
  declaredSignatures?: number;
}

/** The verification material of a bundle, tagged by kind. */
export type VerificationMaterial =
  | {
    kind: "publicKey";
    /** `publicKey.hint` (upstream: SHA-256 hex of the signer's SPKI PEM), if present. */
    hint?: string;
    /** `publicKey.rawBytes` decoded, written by model_signing 0.3 to 1.0 (a PEM text). */
    rawBytes?: Uint8Array;
  }
  | {
    kind: "x509CertificateChain";
    /** DER certificates, leaf first. */
    certificates: Uint8Array[];
  }
  | {
    kind: "certificate";
    /** The single DER leaf certificate of a v0.3 bundle. */
    certificate: Uint8Array;
  };

/** A Sigstore bundle as model-verify understands it. */
export interface ParsedBundle {
  /** Where it was read from, for messages. */
  source: string;
  mediaType: string;
  envelope: DsseEnvelope;
  material: VerificationMaterial;
  /** Number of transparency log entries in the bundle. */
  tlogEntryCount: number;
  /** The parsed JSON document, for `@sigstore/bundle`'s own parser. */
  raw: Record<string, unknown>;
}
