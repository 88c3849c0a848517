/**
 * What a signature verifier hands on: the payload it proved was signed, and who signed it.
 *
 * @module
 */

/** The verification method, as named on the command line. */
export type Method = "sigstore" | "key" | "certificate";

/** Who signed, as far as the method can tell. */
export interface SignerInfo {
  method: Method;
  /** One line for reports: the key fingerprint, the certificate subject or the identity. */
  description: string;
  /** Sigstore: the identity that matched the policy (SAN email, URI or otherName). */
  identity?: string;
  /** Sigstore: the OIDC issuer recorded in the certificate. */
  issuer?: string;
  /** Verified signing times (Sigstore: from SETs and RFC 3161 timestamps). */
  timestamps?: Date[];
}

/** The outcome of a successful signature check. */
export interface VerifiedSignature {
  payloadType: string;
  /** The DSSE payload bytes whose signature was verified. */
  payload: Uint8Array;
  signer: SignerInfo;
  /** Non-fatal notes for the user (for example an old bundle format). */
  warnings: string[];
}
