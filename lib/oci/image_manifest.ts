/**
 * Parses an OCI image manifest (or Docker v2 schema 2 manifest) from attacker-supplied bytes,
 * with bounds, into the few fields model signing reads: the config descriptor and the layers.
 *
 * @module
 */

import { concatBytes } from "../_concat_bytes.ts";
import { escapeName, quoteValue } from "../_escape.ts";
import { isObject } from "../bundle/statement.ts";
import { InputError } from "../errors.ts";

/** Largest manifest accepted, in bytes (the distribution spec's 4 MiB). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
/** Most layers accepted in one manifest. */
export const MAX_LAYERS = 4096;
/** Title annotation that names a layer's file (ORAS, image volumes of artifacts). */
export const TITLE_ANNOTATION = "org.opencontainers.image.title";

/** Media types of a single-platform manifest. */
export const IMAGE_MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
] as const;
/** Media types of a multi-platform index. */
export const INDEX_TYPES = [
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
] as const;

/** A content descriptor: a blob's media type, digest and size. */
export interface Descriptor {
  mediaType: string;
  /** `sha256:<64 lowercase hex>`. */
  digest: string;
  size: number;
  annotations: Record<string, string>;
}

/** The parts of an image manifest model signing uses. */
export interface ImageManifest {
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
  annotations: Record<string, string>;
}

/**
 * Parses and validates an image manifest: JSON object, `schemaVersion` 2, a config descriptor,
 * one to {@link MAX_LAYERS} layers, every digest `sha256:` and 64 hex digits (the only digest
 * model signing can put in a sha256 manifest), sizes non-negative integers.
 *
 * @param where names the source in messages (a file or `oci://` reference)
 * @throws {InputError} `OCI_MANIFEST_INVALID`, `OCI_MANIFEST_TOO_LARGE`
 */
export function parseImageManifest(bytes: Uint8Array, where: string): ImageManifest {
  if (bytes.length > MAX_MANIFEST_BYTES) {
    throw new InputError(
      "OCI_MANIFEST_TOO_LARGE",
      `OCI manifest ${where} is ${bytes.length} bytes, more than the ${MAX_MANIFEST_BYTES} accepted`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    throw invalid(where, `is not JSON (${error instanceof Error ? error.name : "error"})`);
  }
  if (!isObject(json)) throw invalid(where, "is not a JSON object");
  const mediaType = json.mediaType === undefined ? IMAGE_MANIFEST_TYPES[0] : json.mediaType;
  if (typeof mediaType !== "string") throw invalid(where, "has a mediaType that is not a string");
  if ((INDEX_TYPES as readonly string[]).includes(mediaType) || Array.isArray(json.manifests)) {
    throw invalid(
      where,
      "is an image index, not an image manifest; pick the platform's manifest from it",
    );
  }
  if (json.schemaVersion !== 2) {
    throw invalid(where, `has schemaVersion ${quoteValue(json.schemaVersion)}, expected 2`);
  }
  if (!isObject(json.config)) throw invalid(where, "has no config descriptor");
  const config = parseDescriptor(json.config, where, "config");
  if (!Array.isArray(json.layers) || json.layers.length === 0) {
    throw invalid(where, "has no layers (a model image needs at least one)");
  }
  if (json.layers.length > MAX_LAYERS) {
    throw invalid(where, `has ${json.layers.length} layers, more than the ${MAX_LAYERS} accepted`);
  }
  const layers = json.layers.map((layer: unknown, i: number) => {
    if (!isObject(layer)) throw invalid(where, `layers[${i}] is not an object`);
    return parseDescriptor(layer, where, `layers[${i}]`);
  });
  return { mediaType, config, layers, annotations: parseAnnotations(json.annotations, where, "") };
}

/**
 * Whether a path names an OCI image manifest, by the Go implementation's rule: a regular file
 * whose name ends in `.json` holding a JSON object with layers or a schemaVersion. A file that
 * passes is then parsed strictly by {@link parseImageManifest}; one larger than
 * {@link MAX_MANIFEST_BYTES} is a model file, not a manifest.
 */
export async function isOciManifestFile(path: string): Promise<boolean> {
  if (!path.toLowerCase().endsWith(".json")) return false;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile || info.size > MAX_MANIFEST_BYTES) return false;
    const json = JSON.parse(await Deno.readTextFile(path));
    return isObject(json) &&
      ((Array.isArray(json.layers) && json.layers.length > 0) ||
        (typeof json.schemaVersion === "number" && json.schemaVersion > 0));
  } catch {
    return false;
  }
}

/** Reads a manifest file with the size bound, then parses it. */
export async function readImageManifestFile(path: string): Promise<ImageManifest> {
  let bytes: Uint8Array;
  try {
    const file = await Deno.open(path);
    try {
      bytes = await readBounded(
        file.readable,
        MAX_MANIFEST_BYTES,
        `OCI manifest '${escapeName(path)}'`,
      );
    } finally {
      try {
        file.close();
      } catch { /* closed by the stream */ }
    }
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(
      "OCI_MANIFEST_UNREADABLE",
      `Cannot read OCI manifest '${escapeName(path)}': ${
        escapeName(error instanceof Error ? error.message : String(error))
      }`,
      { cause: error },
    );
  }
  return parseImageManifest(bytes, `'${escapeName(path)}'`);
}

/** Reads a stream into memory, failing once it passes `limit` bytes. */
export async function readBounded(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  for await (const chunk of stream) {
    length += chunk.length;
    if (length > limit) {
      throw new InputError("OCI_MANIFEST_TOO_LARGE", `${what} is more than ${limit} bytes`);
    }
    chunks.push(chunk);
  }
  return concatBytes(chunks, length);
}

/** Whether a string is a `sha256:` digest with 64 lowercase hex digits. */
export function isSha256Digest(value: unknown): value is string {
  return typeof value === "string" && /^sha256:[0-9a-f]{64}$/.test(value);
}

function parseDescriptor(
  value: Record<string, unknown>,
  where: string,
  field: string,
): Descriptor {
  if (typeof value.digest !== "string" || value.digest === "") {
    throw invalid(where, `${field} has no digest`);
  }
  if (!isSha256Digest(value.digest)) {
    throw invalid(
      where,
      `${field}.digest ${quoteValue(value.digest)} is not 'sha256:' and 64 lowercase hex digits`,
    );
  }
  const size = value.size ?? 0;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    throw invalid(where, `${field}.size is not a non-negative integer`);
  }
  const mediaType = value.mediaType ?? "";
  if (typeof mediaType !== "string") throw invalid(where, `${field}.mediaType is not a string`);
  return {
    mediaType,
    digest: value.digest,
    size,
    annotations: parseAnnotations(value.annotations, where, `${field}.`),
  };
}

function parseAnnotations(value: unknown, where: string, field: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) throw invalid(where, `${field}annotations is not an object`);
  const out: Record<string, string> = {};
  for (const [key, text] of Object.entries(value)) {
    if (typeof text !== "string") {
      throw invalid(where, `${field}annotations[${quoteValue(key)}] is not a string`);
    }
    out[key] = text;
  }
  return out;
}

function invalid(where: string, reason: string): InputError {
  return new InputError("OCI_MANIFEST_INVALID", `OCI manifest ${where} ${reason}`);
}
