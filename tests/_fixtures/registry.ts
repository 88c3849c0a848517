/**
 * Test fixtures for OCI images: build ORAS-style images (one titled layer per file) in memory,
 * and start Debian's `docker-registry` on a random loopback port with a temporary storage folder.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";

/** The empty JSON config ORAS uses for artifacts. */
export const EMPTY_CONFIG = new TextEncoder().encode("{}");

/** A manifest and the blobs it references. */
export interface TestImage {
  manifest: Record<string, unknown>;
  manifestBytes: Uint8Array;
  blobs: Map<string, Uint8Array>;
}

/** `sha256:<hex>` of bytes. */
export function sha256Digest(bytes: Uint8Array | string): string {
  return "sha256:" + createHash("sha256").update(bytes).digest("hex");
}

/**
 * An ORAS-style image: the empty config, then one layer per file titled with its name, then
 * the `untitled` blobs as layers without a title (as a modelcar's tar.gz layers).
 */
export function orasImage(
  files: Record<string, string | Uint8Array>,
  options: { untitled?: Uint8Array[]; config?: Uint8Array; mediaType?: string } = {},
): TestImage {
  const blobs = new Map<string, Uint8Array>();
  const add = (bytes: Uint8Array) => {
    const digest = sha256Digest(bytes);
    blobs.set(digest, bytes);
    return digest;
  };
  const config = options.config ?? EMPTY_CONFIG;
  const layers: Record<string, unknown>[] = [];
  for (const [name, content] of Object.entries(files)) {
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    layers.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      digest: add(bytes),
      size: bytes.length,
      annotations: { "org.opencontainers.image.title": name },
    });
  }
  for (const bytes of options.untitled ?? []) {
    layers.push({
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      digest: add(bytes),
      size: bytes.length,
    });
  }
  const manifest = {
    schemaVersion: 2,
    mediaType: options.mediaType ?? "application/vnd.oci.image.manifest.v1+json",
    artifactType: "application/vnd.model-verify.test.model",
    config: {
      mediaType: "application/vnd.oci.empty.v1+json",
      digest: add(config),
      size: config.length,
    },
    layers,
  };
  return {
    manifest,
    manifestBytes: new TextEncoder().encode(JSON.stringify(manifest)),
    blobs,
  };
}

/** A running registry on 127.0.0.1. */
export interface TestRegistry extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** The registry's storage root (to tamper with blobs behind its back). */
  storage: string;
}

/** Path of Debian's registry binary. */
export const REGISTRY_BINARY = "/usr/bin/docker-registry";

/** Why registry tests skip, or undefined when the binary is there. */
export const NO_REGISTRY: string | undefined = (() => {
  try {
    Deno.statSync(REGISTRY_BINARY);
    return undefined;
  } catch {
    return `${REGISTRY_BINARY} is missing (apt-get install docker-registry): registry tests skipped`;
  }
})();

/**
 * Starts `docker-registry serve` on a random free loopback port with a temporary storage folder;
 * waits until `/v2/` answers. Disposing stops it and removes the storage.
 */
export async function startRegistry(): Promise<TestRegistry> {
  const dir = await Deno.makeTempDir({ prefix: "model-verify-registry-" });
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = freePort();
    const config = join(dir, `config-${port}.yml`);
    await Deno.writeTextFile(
      config,
      [
        "version: 0.1",
        "log:",
        "  level: error",
        "storage:",
        "  filesystem:",
        `    rootdirectory: ${join(dir, "storage")}`,
        "  delete:",
        "    enabled: true",
        "http:",
        `  addr: 127.0.0.1:${port}`,
        "",
      ].join("\n"),
    );
    const child = new Deno.Command(REGISTRY_BINARY, {
      args: ["serve", config],
      stdout: "null",
      stderr: "null",
      env: { OTEL_TRACES_EXPORTER: "none" },
    }).spawn();
    const host = `127.0.0.1:${port}`;
    if (await waitUntilUp(host, child)) {
      return {
        host,
        storage: join(dir, "storage"),
        async [Symbol.asyncDispose]() {
          try {
            child.kill("SIGTERM");
          } catch { /* already gone */ }
          await child.status;
          await Deno.remove(dir, { recursive: true }).catch(() => {});
        },
      };
    }
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
  }
  await Deno.remove(dir, { recursive: true }).catch(() => {});
  throw new Error("docker-registry did not start on a loopback port");
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

async function waitUntilUp(host: string, child: Deno.ChildProcess): Promise<boolean> {
  let exited = false;
  child.status.then(() => exited = true);
  for (let i = 0; i < 100 && !exited; i++) {
    try {
      const response = await fetch(`http://${host}/v2/`);
      await response.body?.cancel();
      if (response.status === 200) return true;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
