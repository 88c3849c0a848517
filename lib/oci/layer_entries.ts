/**
 * The resources a signature of an OCI image manifest lists, exactly as the Go implementation
 * (`pkg/oci` `CreateManifestFromOCILayersWithIgnore`, include config on) defines them:
 *
 * - the config blob as `config.json` (unless `config.json` is ignored);
 * - each layer under its `org.opencontainers.image.title` annotation, or `layer_NNN.tar.gz`
 *   (NNN its zero-padded index) when it has none; its digest is the layer digest;
 * - a layer is left out when an ignore path equals its name or its base name, when an ignore
 *   path's base name equals either, or when its name starts with an ignore path and `/`;
 * - a layer named `config.json` replaces the config blob's entry (Go keeps the last).
 *
 * Two layers with the same name are rejected (Go silently keeps the last one).
 *
 * @module
 */

import { posix } from "node:path";
import { quoteValue } from "../_escape.ts";
import { InputError } from "../errors.ts";
import { byteOrder, type ManifestEntry } from "../manifest/manifest.ts";
import { type Descriptor, type ImageManifest, TITLE_ANNOTATION } from "./image_manifest.ts";

/** Name of the config blob's entry. */
export const CONFIG_ENTRY = "config.json";

/** One signed entry and the blob it stands for. */
export interface LayerEntry extends ManifestEntry {
  /** The blob: config or a layer. */
  descriptor: Descriptor;
  /** `config`, `titled` (a file by its title) or `untitled` (`layer_NNN.tar.gz`). */
  kind: "config" | "titled" | "untitled";
}

/** The name Go gives a layer: its title, else `layer_NNN.tar.gz`. */
export function layerName(layer: Descriptor, index: number): string {
  const title = layer.annotations[TITLE_ANNOTATION];
  return title ? title : `layer_${String(index).padStart(3, "0")}.tar.gz`;
}

/**
 * The entries of a manifest's signature, sorted by name (bytewise, as Go sorts).
 *
 * @param ignorePaths ignore paths as the user wrote them (relative layer names)
 * @throws {InputError} `OCI_MANIFEST_INVALID` for a title that is not a safe relative path or
 * two layers of one name; `OCI_MANIFEST_EMPTY` when every entry is ignored
 */
export function layerEntries(
  manifest: ImageManifest,
  ignorePaths: readonly string[],
): LayerEntry[] {
  const ignoreSet = new Set<string>();
  for (const path of ignorePaths) {
    ignoreSet.add(path);
    ignoreSet.add(posix.basename(path));
  }
  const byName = new Map<string, LayerEntry>();
  if (!ignoreSet.has(CONFIG_ENTRY)) {
    byName.set(CONFIG_ENTRY, entry(CONFIG_ENTRY, manifest.config, "config"));
  }
  const layerNames = new Set<string>();
  manifest.layers.forEach((layer, i) => {
    const name = layerName(layer, i);
    const titled = name === layer.annotations[TITLE_ANNOTATION];
    checkTitle(name, i);
    if (layerNames.has(name)) {
      throw new InputError(
        "OCI_MANIFEST_INVALID",
        `OCI manifest names two layers ${quoteValue(name)}; a model image needs one file per name`,
      );
    }
    layerNames.add(name);
    if (isIgnored(name, ignoreSet)) return;
    byName.set(name, entry(name, layer, titled ? "titled" : "untitled"));
  });
  if (byName.size === 0) {
    throw new InputError(
      "OCI_MANIFEST_EMPTY",
      "Every entry of the OCI manifest is ignored (--ignore-paths); nothing is left to sign",
    );
  }
  return [...byName.values()].sort((a, b) => byteOrder(a.name, b.name));
}

/** A title must be a relative POSIX path inside the model: it becomes a file name on `--pull`. */
function checkTitle(name: string, index: number): void {
  const problem = name.length > 4096
    ? "is longer than 4096 characters"
    : name.startsWith("/")
    ? "is absolute"
    : name.includes("\\")
    ? "contains a backslash"
    : [...name].some((c) => c.charCodeAt(0) < 0x20)
    ? "contains a control character"
    : name.split("/").some((c) => c === "" || c === "." || c === "..")
    ? "has an empty, '.' or '..' component"
    : undefined;
  if (problem) {
    throw new InputError(
      "OCI_MANIFEST_INVALID",
      `OCI manifest layer ${index} title ${quoteValue(name)} ${problem}`,
    );
  }
}

function isIgnored(name: string, ignoreSet: ReadonlySet<string>): boolean {
  if (ignoreSet.has(name) || ignoreSet.has(posix.basename(name))) return true;
  for (const path of ignoreSet) if (name.startsWith(path + "/")) return true;
  return false;
}

function entry(name: string, descriptor: Descriptor, kind: LayerEntry["kind"]): LayerEntry {
  return { name, digest: descriptor.digest.slice("sha256:".length), descriptor, kind };
}
