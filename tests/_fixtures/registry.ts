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

/** Options of {@link startFakeRegistry}. */
export interface FakeRegistryOptions {
  /**
   * The distribution token flow: every request needs `Bearer <token>` from `/token`, which
   * wants these Basic credentials; a push needs a token with the `push` action.
   */
  tokenAuth?: { username: string; password: string; refreshToken?: string };
  /** Serve the referrers API and answer a pushed referrer with `OCI-Subject` (OCI 1.1). */
  referrersApi?: boolean;
  /** Refuse every upload with 403 `DENIED` (a pull-only mirror or account). */
  readOnly?: boolean;
}

/** A registry in this process, for what Debian's registry cannot show. */
export interface FakeRegistry extends AsyncDisposable {
  /** `127.0.0.1:PORT`. */
  host: string;
  /** Manifests by repository and tag or digest: `repo:ref` (or `repo@sha256:...`). */
  manifests: Map<string, { bytes: Uint8Array; type: string }>;
  blobs: Map<string, Uint8Array>;
  /** One line per token issued: `scope` as asked (or `refused <scope>`). */
  tokens: string[];
  /** One line per registry request: `METHOD path`. */
  requests: string[];
}

/**
 * A minimal OCI distribution registry on 127.0.0.1: blob uploads (POST then PUT), manifests,
 * the referrers API (optional), and the Bearer token flow (optional). Holds everything in memory.
 */
export function startFakeRegistry(options: FakeRegistryOptions = {}): FakeRegistry {
  const manifests = new Map<string, { bytes: Uint8Array; type: string }>();
  const blobs = new Map<string, Uint8Array>();
  const tokens: string[] = [];
  const requests: string[] = [];
  /** Issued tokens and their scopes. */
  const issued = new Map<string, string>();
  let host = "";
  const key = (repo: string, ref: string) =>
    `${repo}${ref.startsWith("sha256:") ? "@" : ":"}${ref}`;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const url = new URL(request.url);
    if (url.pathname === "/token" && options.tokenAuth) {
      const { username, password, refreshToken } = options.tokenAuth;
      // GET with Basic credentials, or POST of an OAuth2 refresh token (an identity token).
      const form = request.method === "POST"
        ? new URLSearchParams(await request.text())
        : undefined;
      const scope = (form ?? url.searchParams).get("scope") ?? "";
      const refreshed = form !== undefined && refreshToken !== undefined &&
        form.get("grant_type") === "refresh_token" && form.get("refresh_token") === refreshToken;
      const basic = request.headers.get("authorization") ===
        `Basic ${btoa(`${username}:${password}`)}`;
      if (!(form ? refreshed : basic)) {
        tokens.push(`refused ${scope}`);
        return new Response("bad credentials", { status: 401 });
      }
      tokens.push(scope);
      const token = `tok-${crypto.randomUUID()}`;
      issued.set(token, scope);
      return Response.json({ token });
    }
    requests.push(`${request.method} ${url.pathname}`);
    if (url.pathname === "/v2/") return new Response("{}");
    const route = /^\/v2\/(.+?)\/(blobs\/uploads|blobs|manifests|referrers)\/?(.*)$/.exec(
      url.pathname,
    );
    if (!route) return new Response("not found", { status: 404 });
    const [, repo, kind, ref] = route as unknown as [string, string, string, string];
    const writes = !["GET", "HEAD"].includes(request.method);
    if (options.tokenAuth) {
      const token = (request.headers.get("authorization") ?? "").replace(/^Bearer /, "");
      const scope = issued.get(token);
      const needed = `repository:${repo}:${writes ? "pull,push" : "pull"}`;
      if (scope !== needed && !(scope === `repository:${repo}:pull,push` && !writes)) {
        await request.body?.cancel();
        return new Response("auth", {
          status: 401,
          headers: {
            "www-authenticate":
              `Bearer realm="http://${host}/token",service="fake",scope="${needed}"`,
          },
        });
      }
    }
    if (writes && options.readOnly) {
      await request.body?.cancel();
      return Response.json({ errors: [{ code: "DENIED", message: "read-only" }] }, {
        status: 403,
      });
    }
    const body = writes ? new Uint8Array(await request.arrayBuffer()) : undefined;
    switch (kind) {
      case "blobs": {
        const bytes = blobs.get(ref);
        if (!bytes) return new Response(null, { status: 404 });
        return new Response(request.method === "HEAD" ? null : bytes as Uint8Array<ArrayBuffer>, {
          headers: { "content-length": String(bytes.length) },
        });
      }
      case "blobs/uploads": {
        if (request.method === "POST") {
          return new Response(null, {
            status: 202,
            headers: { location: `/v2/${repo}/blobs/uploads/${crypto.randomUUID()}` },
          });
        }
        const digest = url.searchParams.get("digest") ?? "";
        if (request.method !== "PUT" || sha256Digest(body!) !== digest) {
          return new Response("bad upload", { status: 400 });
        }
        blobs.set(digest, body!);
        return new Response(null, { status: 201, headers: { "docker-content-digest": digest } });
      }
      case "manifests": {
        if (request.method === "PUT") {
          const type = request.headers.get("content-type") ?? "";
          const digest = sha256Digest(body!);
          manifests.set(key(repo, ref), { bytes: body!, type });
          manifests.set(key(repo, digest), { bytes: body!, type });
          const headers = new Headers({ "docker-content-digest": digest });
          const subject = JSON.parse(new TextDecoder().decode(body)).subject?.digest;
          if (options.referrersApi && typeof subject === "string") {
            headers.set("oci-subject", subject);
          }
          return new Response(null, { status: 201, headers });
        }
        const found = manifests.get(key(repo, ref));
        if (!found) return new Response("no manifest", { status: 404 });
        return new Response(
          request.method === "HEAD" ? null : found.bytes as Uint8Array<ArrayBuffer>,
          { headers: { "content-type": found.type } },
        );
      }
      default: {
        if (!options.referrersApi) return new Response("no referrers API", { status: 404 });
        const listed = new Map<string, Record<string, unknown>>();
        for (const [name, { bytes, type }] of manifests) {
          if (!name.startsWith(`${repo}@`)) continue;
          const json = JSON.parse(new TextDecoder().decode(bytes));
          if (json.subject?.digest !== ref) continue;
          listed.set(name, {
            mediaType: type,
            digest: sha256Digest(bytes),
            size: bytes.length,
            artifactType: json.artifactType,
            annotations: json.annotations,
          });
        }
        return Response.json({
          schemaVersion: 2,
          mediaType: "application/vnd.oci.image.index.v1+json",
          manifests: [...listed.values()],
        });
      }
    }
  });
  host = `127.0.0.1:${server.addr.port}`;
  return {
    host,
    manifests,
    blobs,
    tokens,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

/** Puts an image into a fake registry under `repo:tag`; returns the manifest's digest. */
export function storeImage(
  registry: FakeRegistry,
  repo: string,
  image: TestImage,
  tag: string,
): string {
  const type = String(image.manifest.mediaType);
  for (const [digest, bytes] of image.blobs) registry.blobs.set(digest, bytes);
  const digest = sha256Digest(image.manifestBytes);
  registry.manifests.set(`${repo}:${tag}`, { bytes: image.manifestBytes, type });
  registry.manifests.set(`${repo}@${digest}`, { bytes: image.manifestBytes, type });
  return digest;
}
