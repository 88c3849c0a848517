/**
 * Signatures stored in the registry as OCI 1.1 referrers of the model's manifest, in the shape
 * cosign uses for Sigstore bundles: an artifact manifest with `artifactType`
 * {@link SIGNATURE_ARTIFACT_TYPE}, the empty config, one layer holding the bundle JSON, `subject`
 * the model's manifest, and the annotation `dev.sigstore.bundle.predicateType` set to the OMS
 * predicate type. Found through the referrers API, or the referrers tag schema
 * (`sha256-<hex>` index) on registries without it.
 *
 * @module
 */

import { escapeName } from "../_escape.ts";
import { MAX_SIGNATURE_BYTES } from "../bundle/parse_bundle.ts";
import { PREDICATE_TYPE } from "../bundle/statement.ts";
import { isObject } from "../bundle/statement.ts";
import { InputError, IntegrityError } from "../errors.ts";
import { isSha256Digest, MAX_MANIFEST_BYTES } from "./image_manifest.ts";
import { pushBlob, pushManifest } from "./registry_push.ts";
import { fetchManifest, type RegistrySource, sha256, statusError } from "./registry_source.ts";
import type { SignatureCandidate } from "./oci_source.ts";

/** `artifactType` of a signature referrer (cosign's Sigstore bundle type). */
export const SIGNATURE_ARTIFACT_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
/** Annotation that tells model signatures from other Sigstore bundles. */
export const PREDICATE_ANNOTATION = "dev.sigstore.bundle.predicateType";
/** Most referrers tried. */
export const MAX_REFERRERS = 16;

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const EMPTY_CONFIG = new TextEncoder().encode("{}");

/**
 * The model signatures attached to the source's manifest, newest first as listed, at most
 * {@link MAX_REFERRERS}; each referrer manifest and bundle blob checked against its digest.
 */
export async function findReferrerSignatures(
  source: RegistrySource,
): Promise<SignatureCandidate[]> {
  const listed = await listReferrers(source);
  const ours = listed.filter((d) =>
    d.artifactType === SIGNATURE_ARTIFACT_TYPE &&
    (d.annotations?.[PREDICATE_ANNOTATION] ?? PREDICATE_TYPE) === PREDICATE_TYPE
  ).slice(0, MAX_REFERRERS);
  const out: SignatureCandidate[] = [];
  for (const descriptor of ours) {
    const fetched = await fetchManifest(source.client, descriptor.digest);
    if (fetched.digest !== descriptor.digest) continue;
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(fetched.bytes));
    } catch {
      continue;
    }
    if (!isObject(json) || !isObject(json.subject) || json.subject.digest !== source.digest) {
      continue;
    }
    const layer = Array.isArray(json.layers) ? json.layers[0] : undefined;
    if (!isObject(layer) || !isSha256Digest(layer.digest)) continue;
    const response = await source.client.request("GET", `blobs/${layer.digest}`);
    if (response.status !== 200) {
      await response.body?.cancel();
      continue;
    }
    const bytes = await source.client.readBody(
      response,
      MAX_SIGNATURE_BYTES,
      "a referrer signature",
    );
    if (sha256(bytes) !== layer.digest) continue;
    out.push({ where: `referrer ${descriptor.digest} of ${source.display}`, bytes });
  }
  return out;
}

interface ListedDescriptor {
  digest: string;
  artifactType?: string;
  annotations?: Record<string, string>;
}

async function listReferrers(source: RegistrySource): Promise<ListedDescriptor[]> {
  const query = `?artifactType=${encodeURIComponent(SIGNATURE_ARTIFACT_TYPE)}`;
  const response = await source.client.request("GET", `referrers/${source.digest}${query}`, {
    accept: OCI_INDEX,
  });
  let bytes: Uint8Array | undefined;
  if (response.status === 200) {
    bytes = await source.client.readBody(response, MAX_MANIFEST_BYTES, "the referrers list");
  } else {
    await response.body?.cancel();
    if (response.status !== 404) throw statusError(response.status, "the referrers list");
    bytes = await fallbackIndex(source);
  }
  if (bytes === undefined) return [];
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new InputError(
      "OCI_MANIFEST_INVALID",
      `The referrers list of ${source.display} is not JSON`,
    );
  }
  const manifests = isObject(json) && Array.isArray(json.manifests) ? json.manifests : [];
  return manifests.filter((m): m is ListedDescriptor => isObject(m) && isSha256Digest(m.digest));
}

/** The referrers tag schema: an index under the tag `sha256-<hex>`; undefined when absent. */
async function fallbackIndex(source: RegistrySource): Promise<Uint8Array | undefined> {
  try {
    return (await fetchManifest(source.client, fallbackTag(source.digest))).bytes;
  } catch (error) {
    if (error instanceof InputError && error.code === "OCI_NOT_FOUND") return undefined;
    throw error;
  }
}

function fallbackTag(digest: string): string {
  return digest.replace(":", "-");
}

/**
 * Pushes a signature as a referrer of the source's manifest; returns the referrer's digest.
 * Without the referrers API (no `OCI-Subject` header) the tag schema index is updated too.
 */
export async function attachSignature(source: RegistrySource, bundle: Uint8Array): Promise<string> {
  const client = source.client;
  const layerDigest = await pushBlob(client, bundle);
  const configDigest = await pushBlob(client, EMPTY_CONFIG);
  const annotations = {
    [PREDICATE_ANNOTATION]: PREDICATE_TYPE,
    "org.opencontainers.image.created": new Date().toISOString(),
  };
  const manifest = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    artifactType: SIGNATURE_ARTIFACT_TYPE,
    config: { mediaType: "application/vnd.oci.empty.v1+json", digest: configDigest, size: 2 },
    layers: [{ mediaType: SIGNATURE_ARTIFACT_TYPE, digest: layerDigest, size: bundle.length }],
    subject: {
      mediaType: source.mediaType,
      digest: source.digest,
      size: source.manifestBytes.length,
    },
    annotations,
  }));
  const digest = sha256(manifest);
  const headers = await pushManifest(client, digest, manifest, OCI_MANIFEST);
  if (headers.get("oci-subject") === source.digest) return digest;
  // Tag schema: add the descriptor to the index under sha256-<hex>.
  const existing = await fallbackIndex(source);
  let manifests: unknown[] = [];
  if (existing) {
    try {
      const json = JSON.parse(new TextDecoder().decode(existing));
      if (isObject(json) && Array.isArray(json.manifests)) manifests = json.manifests;
    } catch { /* replaced */ }
  }
  manifests = manifests.filter((m) => !isObject(m) || m.digest !== digest);
  manifests.unshift({
    mediaType: OCI_MANIFEST,
    digest,
    size: manifest.length,
    artifactType: SIGNATURE_ARTIFACT_TYPE,
    annotations,
  });
  const index = new TextEncoder().encode(
    JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests }),
  );
  if (index.length > MAX_MANIFEST_BYTES) {
    throw new IntegrityError(
      "OCI_REFERRERS_FULL",
      `The referrers index of ${escapeName(source.display)} is full; remove old signatures`,
      { extra: [], missing: [], mismatched: [] },
    );
  }
  await pushManifest(client, fallbackTag(source.digest), index, OCI_INDEX);
  return digest;
}
