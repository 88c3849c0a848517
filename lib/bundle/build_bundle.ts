/**
 * Builds the OMS v1.0 statement and the Sigstore bundle model_signing 1.1 writes for the key and
 * certificate methods (media type v0.3, DSSE envelope, no transparency log entries).
 *
 * @module
 */

import { encodeBase64 } from "../_base64.ts";
import { computeRootDigest, type ManifestEntry, type Serialization } from "../manifest/manifest.ts";
import { resourceAlgorithmName } from "../manifest/engines.ts";
import { IN_TOTO_PAYLOAD_TYPE } from "./dsse.ts";
import { PREDICATE_TYPE, STATEMENT_TYPE } from "./statement.ts";

/** The bundle media type model_signing 1.x writes. */
export const BUNDLE_MEDIA_TYPE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json";

/** The in-toto statement for a manifest, as pretty-printed JSON bytes. */
export function buildStatement(
  modelName: string,
  entries: readonly ManifestEntry[],
  serialization: Serialization,
): Uint8Array {
  const algorithm = resourceAlgorithmName(serialization.hashType, serialization.shardSize);
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: modelName, digest: { sha256: computeRootDigest(entries) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      serialization: {
        method: serialization.method,
        hash_type: serialization.hashType,
        allow_symlinks: serialization.allowSymlinks,
        ...(serialization.shardSize === undefined ? {} : { shard_size: serialization.shardSize }),
        ...(serialization.ignorePaths.length > 0
          ? { ignore_paths: serialization.ignorePaths }
          : {}),
      },
      resources: entries.map((e) => ({ name: e.name, algorithm, digest: e.digest })),
    },
  };
  return new TextEncoder().encode(JSON.stringify(statement, null, 2));
}

/** Verification material of a key or certificate bundle. */
export type BundleMaterial =
  | { kind: "publicKey"; hint: string }
  | { kind: "x509CertificateChain"; certificates: Uint8Array[] };

/** The bundle JSON text. */
export function buildBundle(
  payload: Uint8Array,
  signature: Uint8Array,
  material: BundleMaterial,
  /** DER RFC 3161 TimeStampResps over the signature (`--tsa-url`), as the Go CLI writes them. */
  timestamps: readonly Uint8Array[] = [],
): string {
  const timestampVerificationData = timestamps.length === 0 ? {} : {
    timestampVerificationData: {
      rfc3161Timestamps: timestamps.map((der) => ({ signedTimestamp: encodeBase64(der) })),
    },
  };
  const verificationMaterial = material.kind === "publicKey"
    ? { publicKey: { hint: material.hint }, tlogEntries: [], ...timestampVerificationData }
    : {
      x509CertificateChain: {
        certificates: material.certificates.map((der) => ({ rawBytes: encodeBase64(der) })),
      },
      tlogEntries: [],
      ...timestampVerificationData,
    };
  return JSON.stringify(
    {
      mediaType: BUNDLE_MEDIA_TYPE_V03,
      verificationMaterial,
      dsseEnvelope: {
        payload: encodeBase64(payload),
        payloadType: IN_TOTO_PAYLOAD_TYPE,
        signatures: [{ sig: encodeBase64(signature), keyid: "" }],
      },
    },
    null,
    2,
  ) + "\n";
}
