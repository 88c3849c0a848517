/**
 * Parses `oci://REGISTRY/REPOSITORY(:TAG|@sha256:HEX)` model references.
 *
 * @module
 */

import { quoteValue } from "../_escape.ts";
import { ConfigError } from "../errors.ts";
import { isSha256Digest } from "./image_manifest.ts";

/** A parsed reference. */
export interface Reference {
  /** `host[:port]` as given (Docker Hub's `docker.io` becomes `registry-1.docker.io`). */
  registry: string;
  /** Repository path, lower case (`library/` added for one-part Docker Hub names). */
  repository: string;
  tag?: string;
  /** `sha256:<hex>`; when both are given the digest wins. */
  digest?: string;
}

const REPOSITORY =
  /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$/;
const HOST =
  /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?)(?::\d{1,5})?$/;

/**
 * Parses a reference.
 *
 * @throws {ConfigError} `INVALID_REFERENCE` naming what is wrong
 */
export function parseReference(text: string): Reference {
  const bad = (why: string) =>
    new ConfigError(
      "INVALID_REFERENCE",
      `Model reference ${quoteValue(text)} ${why}; expected oci://REGISTRY/REPOSITORY@sha256:HEX ` +
        "or oci://REGISTRY/REPOSITORY:TAG",
    );
  if (!text.startsWith("oci://")) throw bad("does not start with oci://");
  let rest = text.slice("oci://".length);
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isSha256Digest(digest)) throw bad("has a digest that is not sha256: and 64 hex digits");
  }
  const slash = rest.indexOf("/");
  if (slash <= 0) throw bad("has no registry host");
  let registry = rest.slice(0, slash);
  let path = rest.slice(slash + 1);
  let tag: string | undefined;
  const colon = path.lastIndexOf(":");
  if (colon >= 0 && !path.slice(colon).includes("/")) {
    tag = path.slice(colon + 1);
    path = path.slice(0, colon);
    if (!TAG.test(tag)) throw bad("has an invalid tag");
  }
  if (!HOST.test(registry)) throw bad("has an invalid registry host");
  if (path.length > 255 || !REPOSITORY.test(path)) throw bad("has an invalid repository name");
  if (registry === "docker.io" || registry === "index.docker.io") {
    registry = "registry-1.docker.io";
    if (!path.includes("/")) path = `library/${path}`;
  }
  if (digest === undefined && tag === undefined) throw bad("names neither a tag nor a digest");
  return {
    registry,
    repository: path,
    ...(tag === undefined ? {} : { tag }),
    ...(digest === undefined ? {} : { digest }),
  };
}

/** `oci://registry/repository@digest`. */
export function formatReference(reference: Reference, digest: string): string {
  return `oci://${reference.registry}/${reference.repository}@${digest}`;
}

/** Whether a registry host is a loopback address (where `--insecure-registry` is allowed). */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.startsWith("[")
    ? registry.slice(1, registry.indexOf("]"))
    : registry.replace(/:\d+$/, "");
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
