/**
 * A model in a registry: resolves `oci://REGISTRY/REPO:TAG` or `@sha256:...` to the image
 * manifest (OCI or Docker v2; an index or manifest list leads to this platform's manifest, or
 * its only one), and checks that the bytes have the digest asked for.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { quoteValue } from "../_escape.ts";
import { isObject } from "../bundle/statement.ts";
import type { RegistryOptions } from "../config/config.ts";
import { InputError, IntegrityError } from "../errors.ts";
import {
  IMAGE_MANIFEST_TYPES,
  type ImageManifest,
  INDEX_TYPES,
  isSha256Digest,
  MAX_MANIFEST_BYTES,
  parseImageManifest,
} from "./image_manifest.ts";
import { formatReference, parseReference, type Reference } from "./reference.ts";
import { RegistryClient } from "./registry_client.ts";

/** Most entries read from an image index. */
const MAX_INDEX_ENTRIES = 1024;

/** Every manifest media type this client reads. */
export const MANIFEST_ACCEPT = [...IMAGE_MANIFEST_TYPES, ...INDEX_TYPES].join(", ");

/** The model's manifest in a registry. */
export interface RegistrySource {
  reference: Reference;
  client: RegistryClient;
  /** `sha256:<hex>` of the image manifest's bytes. */
  digest: string;
  mediaType: string;
  manifestBytes: Uint8Array;
  manifest: ImageManifest;
  /** `oci://registry/repo@sha256:...`, with the tag it came from. */
  display: string;
}

/** Manifest bytes fetched from a registry. */
export interface FetchedManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

/**
 * Resolves a reference to its image manifest.
 *
 * @throws {ModelVerifyError} for a bad reference, registry failures, a digest mismatch or a
 * malformed manifest
 */
export async function openRegistrySource(
  text: string,
  options: RegistryOptions,
  env: Readonly<Record<string, string | undefined>>,
): Promise<RegistrySource> {
  const reference = parseReference(text);
  const client = new RegistryClient(reference, {
    insecure: options.insecure,
    timeoutMs: options.timeoutMs,
    env,
  });
  let fetched = await fetchManifest(client, reference.digest ?? reference.tag!);
  if (reference.digest && fetched.digest !== reference.digest) {
    throw digestMismatch(text, reference.digest, fetched.digest);
  }
  if (isIndex(fetched)) {
    const child = choosePlatform(fetched, text);
    const childFetched = await fetchManifest(client, child);
    if (childFetched.digest !== child) throw digestMismatch(text, child, childFetched.digest);
    fetched = childFetched;
  }
  const display = formatReference(reference, fetched.digest) +
    (reference.tag && !reference.digest ? ` (tag '${reference.tag}')` : "");
  const manifest = parseImageManifest(fetched.bytes, formatReference(reference, fetched.digest));
  return {
    reference,
    client,
    digest: fetched.digest,
    mediaType: fetched.mediaType,
    manifestBytes: fetched.bytes,
    manifest,
    display,
  };
}

/**
 * GETs a manifest by tag or digest, bounded by {@link MAX_MANIFEST_BYTES}.
 *
 * @throws {InputError} `OCI_NOT_FOUND` for a 404, `REGISTRY_ERROR` for other statuses
 */
export async function fetchManifest(
  client: RegistryClient,
  tagOrDigest: string,
): Promise<FetchedManifest> {
  const response = await client.request("GET", `manifests/${tagOrDigest}`, {
    accept: MANIFEST_ACCEPT,
  });
  const where = `oci://${client.registry}/${client.repository}` +
    (tagOrDigest.startsWith("sha256:") ? "@" : ":") + tagOrDigest;
  if (response.status !== 200) {
    await response.body?.cancel();
    throw statusError(response.status, `manifest ${where}`);
  }
  const bytes = await client.readBody(response, MAX_MANIFEST_BYTES, `the manifest ${where}`);
  const contentType = (response.headers.get("content-type") ?? "").split(";")[0]!.trim();
  let mediaType = contentType;
  try {
    const json = JSON.parse(new TextDecoder().decode(bytes));
    if (isObject(json) && typeof json.mediaType === "string") mediaType = json.mediaType;
  } catch { /* parseImageManifest reports it */ }
  return { bytes, mediaType, digest: sha256(bytes) };
}

/** `sha256:<hex>` of bytes. */
export function sha256(bytes: Uint8Array): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

/** An error for an unexpected registry status. */
export function statusError(status: number, what: string): InputError {
  return new InputError(
    status === 404 ? "OCI_NOT_FOUND" : "REGISTRY_ERROR",
    status === 404 ? `The registry has no ${what}` : `The registry answered ${status} for ${what}`,
  );
}

function isIndex(fetched: FetchedManifest): boolean {
  return (INDEX_TYPES as readonly string[]).includes(fetched.mediaType);
}

/** The digest of this platform's manifest in an index (or its only manifest). */
function choosePlatform(fetched: FetchedManifest, where: string): string {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(fetched.bytes));
  } catch {
    json = undefined;
  }
  const manifests = isObject(json) ? json.manifests : undefined;
  if (!Array.isArray(manifests) || manifests.length === 0) {
    throw new InputError(
      "OCI_MANIFEST_INVALID",
      `The image index ${quoteValue(where)} lists no manifests`,
    );
  }
  if (manifests.length > MAX_INDEX_ENTRIES) {
    throw new InputError(
      "OCI_MANIFEST_INVALID",
      `The image index ${quoteValue(where)} lists more than ${MAX_INDEX_ENTRIES} manifests`,
    );
  }
  const arch = { x86_64: "amd64", aarch64: "arm64" }[Deno.build.arch as string] ?? Deno.build.arch;
  const candidates = manifests.filter((m) =>
    isObject(m) && isSha256Digest(m.digest) &&
    (m.mediaType === undefined ||
      (IMAGE_MANIFEST_TYPES as readonly string[]).includes(m.mediaType as string))
  ) as { digest: string; platform?: { os?: unknown; architecture?: unknown } }[];
  const matching = candidates.filter((m) =>
    !isObject(m.platform) || (m.platform.os === Deno.build.os && m.platform.architecture === arch)
  );
  const chosen = candidates.length === 1 ? candidates[0] : matching[0];
  if (!chosen) {
    throw new InputError(
      "OCI_NO_PLATFORM",
      `The image index ${quoteValue(where)} has no manifest for ${Deno.build.os}/${arch}; ` +
        "name the platform's manifest by its digest",
    );
  }
  return chosen.digest;
}

function digestMismatch(where: string, expected: string, actual: string): IntegrityError {
  return new IntegrityError(
    "OCI_MANIFEST_DIGEST_MISMATCH",
    `The registry sent a manifest for ${quoteValue(where)} whose digest is ${actual}, not ` +
      `${expected}; refused`,
    { extra: [], missing: [], mismatched: [] },
  );
}
