/**
 * `verify oci://... --pull DIR`: downloads every signed blob of a verified manifest, hashing it
 * while it streams to a staging folder inside DIR, and moves the files into DIR (under their
 * signed names) only after every blob had the signed digest and size. A tampered or truncated
 * blob never lands in DIR; the staging folder is removed either way.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { escapeName, quoteValue } from "../_escape.ts";
import { ConfigError, IntegrityError } from "../errors.ts";
import type { LayerEntry } from "./layer_entries.ts";
import type { Deadline } from "./registry_client.ts";
import type { RegistrySource } from "./registry_source.ts";
import { statusError } from "./registry_source.ts";

/**
 * Pulls the entries into `dir`; returns the bytes downloaded.
 *
 * @throws {ConfigError} `PULL_TARGET_EXISTS` (DIR not empty), `PULL_DIR_UNWRITABLE`
 * @throws {IntegrityError} `MODEL_MODIFIED` for a blob whose digest or size differs
 */
export async function pullVerified(
  source: RegistrySource,
  entries: readonly LayerEntry[],
  dir: string,
): Promise<number> {
  const staging = await prepare(dir, entries);
  let bytes = 0;
  try {
    for (const entry of entries) {
      bytes += await download(source, entry, join(staging, ...entry.name.split("/")));
    }
    for (const entry of entries) {
      const target = join(dir, ...entry.name.split("/"));
      await Deno.mkdir(dirname(target), { recursive: true });
      await Deno.rename(join(staging, ...entry.name.split("/")), target);
    }
  } finally {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
  }
  return bytes;
}

async function prepare(dir: string, entries: readonly LayerEntry[]): Promise<string> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    // An empty folder only: every sub-folder is then made here, so no symbolic link planted in
    // DIR can send a signed file elsewhere.
    for await (const entry of Deno.readDir(dir)) {
      throw new ConfigError(
        "PULL_TARGET_EXISTS",
        `--pull: '${escapeName(dir)}' is not empty (it has '${escapeName(entry.name)}'); pull ` +
          `${entries.length} files into an empty directory`,
      );
    }
    return await Deno.makeTempDir({ dir, prefix: ".model-verify-pull-" });
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const denied = error instanceof Deno.errors.NotCapable ||
      error instanceof Deno.errors.PermissionDenied;
    throw new ConfigError(
      "PULL_DIR_UNWRITABLE",
      `--pull: cannot write to '${escapeName(dir)}': ${
        escapeName(error instanceof Error ? error.message : String(error))
      }` + (denied ? " (the compiled binary writes only under /tmp; see docs/oci.md)" : ""),
      { cause: error },
    );
  }
}

/**
 * The slowest download accepted, in bytes per second: a blob must arrive within
 * `--registry-timeout` plus one second per {@link MIN_PULL_RATE} bytes of its signed size, so a
 * registry trickling bytes just inside each chunk's deadline cannot hold a pull forever.
 */
export const MIN_PULL_RATE = 256 * 1024;

/** The deadline of a whole blob of `size` bytes (see {@link MIN_PULL_RATE}). */
export function blobDeadline(size: number, timeoutMs: number, now = Date.now()): Deadline {
  const ms = timeoutMs + Math.ceil((size / MIN_PULL_RATE) * 1000);
  return {
    at: now + ms,
    limit: `${Math.ceil(ms / 1000)} s for ${size} bytes (--registry-timeout plus 1 s per ` +
      `${MIN_PULL_RATE / 1024} KiB: a registry slower than ${MIN_PULL_RATE / 1024} KiB/s is ` +
      "given up)",
  };
}

/** Streams one blob to `path`, hashing as it goes; returns its size. */
async function download(source: RegistrySource, entry: LayerEntry, path: string): Promise<number> {
  const { digest, size } = entry.descriptor;
  const response = await source.client.request("GET", `blobs/${digest}`);
  if (response.status !== 200 || !response.body) {
    await response.body?.cancel();
    throw statusError(response.status, `blob ${digest} (${quoteValue(entry.name)})`);
  }
  await Deno.mkdir(dirname(path), { recursive: true });
  const file = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
  const hash = createHash("sha256");
  let length = 0;
  try {
    const deadline = blobDeadline(size, source.client.timeoutMs);
    for await (const chunk of source.client.chunks(response, `blob ${digest}`, deadline)) {
      length += chunk.length;
      if (length > size) throw changed(entry, `is larger than the ${size} bytes the manifest says`);
      hash.update(chunk);
      let written = 0;
      while (written < chunk.length) written += await file.write(chunk.subarray(written));
    }
  } finally {
    file.close();
  }
  const actual = hash.digest("hex");
  if (length !== size) {
    throw changed(entry, `has ${length} bytes, not the ${size} the manifest says`);
  }
  if (`sha256:${actual}` !== digest) {
    throw new IntegrityError(
      "MODEL_MODIFIED",
      `The registry's blob for ${quoteValue(entry.name)} does not match its signature: ` +
        `expected ${digest.slice(7, 15)}…, actual ${actual.slice(0, 8)}…; nothing was pulled`,
      {
        extra: [],
        missing: [],
        mismatched: [{ name: entry.name, expected: digest.slice(7), actual }],
      },
    );
  }
  return length;
}

function changed(entry: LayerEntry, why: string): IntegrityError {
  return new IntegrityError(
    "MODEL_MODIFIED",
    `The registry's blob for ${quoteValue(entry.name)} ${why}; nothing was pulled`,
    { extra: [], missing: [], mismatched: [] },
  );
}
