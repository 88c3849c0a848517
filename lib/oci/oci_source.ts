/**
 * Where an OCI image manifest comes from: a JSON file (`sign|verify MANIFEST.json`) or a registry
 * (`oci://REGISTRY/REPO@sha256:...` or `:tag`). Both end as the same {@link OciSource}.
 *
 * @module
 */

import { basename } from "../_posix_path.ts";
import { escapeName } from "../_escape.ts";
import type { RegistryOptions } from "../config/config.ts";
import { type ImageManifest, isOciManifestFile, readImageManifestFile } from "./image_manifest.ts";

/** A loaded manifest and where it came from. */
export interface OciSource {
  manifest: ImageManifest;
  /** The subject name a signature gets (Go: the file name without `.json`). */
  modelName: string;
  /** For messages and reports: the file, or `oci://.../repo@sha256:...`. */
  display: string;
  /** Registry sources only: the client and the manifest's digest. */
  registry?: import("./registry_source.ts").RegistrySource;
}

/** A signature to try and where it came from. */
export interface SignatureCandidate {
  where: string;
  bytes: Uint8Array;
}

/** Whether the model path is an OCI manifest file or an `oci://` reference. */
export async function isOciModelPath(modelPath: string): Promise<boolean> {
  return modelPath.startsWith("oci://") || await isOciManifestFile(modelPath);
}

/**
 * Loads the manifest a model path names.
 *
 * @throws {InputError} for an unreadable, malformed or oversized manifest or registry failures
 */
export async function loadOciSource(
  modelPath: string,
  registry: RegistryOptions | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<OciSource> {
  if (modelPath.startsWith("oci://")) {
    const { openRegistrySource } = await import("./registry_source.ts");
    const source = await openRegistrySource(
      modelPath,
      registry ?? { insecure: false, timeoutMs: 30_000 },
      env,
    );
    return {
      manifest: source.manifest,
      modelName: source.reference.repository,
      display: source.display,
      registry: source,
    };
  }
  const manifest = await readImageManifestFile(modelPath);
  return {
    manifest,
    modelName: basename(modelPath).replace(/\.[^.]*$/, ""),
    display: escapeName(modelPath),
  };
}
