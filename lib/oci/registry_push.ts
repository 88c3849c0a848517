/**
 * Uploads to a registry: blobs (monolithic POST then PUT) and manifests. Used by
 * `sign --attach` and by the tests to push model images.
 *
 * @module
 */

import { InputError } from "../errors.ts";
import type { RegistryClient } from "./registry_client.ts";
import { sha256, statusError } from "./registry_source.ts";

/** Uploads a blob unless the registry has it; returns its digest. */
export async function pushBlob(client: RegistryClient, bytes: Uint8Array): Promise<string> {
  const digest = sha256(bytes);
  const head = await client.request("HEAD", `blobs/${digest}`, { push: true });
  await head.body?.cancel();
  if (head.status === 200) return digest;
  const start = await client.request("POST", "blobs/uploads/", { push: true });
  await start.body?.cancel();
  const location = start.headers.get("location");
  if (start.status !== 202 || location === null) {
    throw statusError(start.status, `a blob upload to ${client.repository}`);
  }
  const url = new URL(location, start.url);
  url.searchParams.set("digest", digest);
  const put = await client.request("PUT", url.href, {
    push: true,
    body: bytes,
    contentType: "application/octet-stream",
  });
  await put.body?.cancel();
  if (put.status !== 201) throw statusError(put.status, `the blob ${digest}`);
  return digest;
}

/** Uploads a manifest under a tag or its digest; returns the response headers. */
export async function pushManifest(
  client: RegistryClient,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
): Promise<Headers> {
  const put = await client.request("PUT", `manifests/${reference}`, {
    push: true,
    body: bytes,
    contentType: mediaType,
  });
  await put.body?.cancel();
  if (put.status !== 201) {
    throw new InputError(
      "REGISTRY_ERROR",
      `The registry answered ${put.status} when the manifest ${reference} was pushed`,
    );
  }
  return put.headers;
}
