/**
 * `verify|sign oci://...` against a real registry (Debian's docker-registry on 127.0.0.1, started
 * here) and against small hostile servers (huge or malformed manifests, a server that never
 * answers, the token flow with docker config credentials).
 */

import { join } from "node:path";
import { RegistryClient } from "../lib/oci/registry_client.ts";
import { pushBlob, pushManifest } from "../lib/oci/registry_push.ts";
import { parseReference } from "../lib/oci/reference.ts";
import { ConfigError } from "../lib/errors.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import {
  NO_REGISTRY,
  orasImage,
  sha256Digest,
  startRegistry,
  type TestImage,
} from "./_fixtures/registry.ts";
import { runCli, SAMPLE_MODEL, tempDir, writeKeyPair } from "./_helpers.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

async function pushImage(host: string, repository: string, image: TestImage, tag: string) {
  const client = new RegistryClient({ registry: host, repository }, {
    insecure: true,
    timeoutMs: 10_000,
    env: {},
  });
  for (const bytes of image.blobs.values()) await pushBlob(client, bytes);
  await pushManifest(client, tag, image.manifestBytes, OCI_MANIFEST);
  return sha256Digest(image.manifestBytes);
}

function cli(...args: string[]) {
  return runCli(["--insecure-registry", "--registry-timeout", "10", ...args]);
}

Deno.test("parseReference() reads tags and digests and rejects the rest", () => {
  const digest = "sha256:" + "a".repeat(64);
  assertEquals(parseReference(`oci://127.0.0.1:5000/models/bert@${digest}`), {
    registry: "127.0.0.1:5000",
    repository: "models/bert",
    digest,
  });
  assertEquals(parseReference("oci://docker.io/bert:v1"), {
    registry: "registry-1.docker.io",
    repository: "library/bert",
    tag: "v1",
  });
  for (
    const bad of [
      "oci://host",
      "oci://host/Repo:v1",
      "oci://host/r",
      "oci://host/r@sha256:12",
      "oci://h/r:bad tag",
    ]
  ) {
    assertThrows(() => parseReference(bad), ConfigError);
  }
});

Deno.test("--insecure-registry is refused for a registry that is not on loopback", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const result = await cli(
    "verify",
    "key",
    "--public-key",
    keys.publicKey,
    "--signature",
    "x",
    "oci://example.com/m:v1",
  );
  assertEquals(result.code, 2);
  assertStringIncludes(result.stderr, "loopback");
});

Deno.test({
  name:
    "a real registry: sign --attach, verify by digest, tag and referrer, pull, and every attack",
  ignore: NO_REGISTRY !== undefined,
  sanitizeResources: false,
  async fn(t) {
    await using registry = await startRegistry();
    await using dir = await tempDir();
    const keys = await writeKeyPair(dir.path);
    const other = await writeKeyPair(dir.path, "P-256", "other");
    const image = orasImage(SAMPLE_MODEL);
    const digest = await pushImage(registry.host, "models/tiny", image, "v1");
    const byTag = `oci://${registry.host}/models/tiny:v1`;
    const byDigest = `oci://${registry.host}/models/tiny@${digest}`;
    const signature = join(dir.path, "tiny.sig");

    await t.step("sign --attach pushes a referrer and writes the signature", async () => {
      const signed = await cli(
        "sign",
        "key",
        "--private-key",
        keys.privateKey,
        "--signature",
        signature,
        "--attach",
        byTag,
      );
      assertEquals(signed.code, 0, signed.stderr);
      assertStringIncludes(signed.stdout, "referrer:    sha256:");
    });

    await t.step("verify by digest with --signature", async () => {
      const ok = await cli(
        "verify",
        "key",
        "--public-key",
        keys.publicKey,
        "--signature",
        signature,
        byDigest,
      );
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stdout, byDigest);
    });

    await t.step("verify a tag through the referrer, printing the digest", async () => {
      const ok = await cli("verify", "key", "--public-key", keys.publicKey, byTag);
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stdout, `${byDigest} (tag 'v1')`);
    });

    await t.step(
      "--pull downloads the verified files; the folder then verifies on its own",
      async () => {
        const pulled = join(dir.path, "pulled");
        const ok = await cli(
          "verify",
          "key",
          "--public-key",
          keys.publicKey,
          "--pull",
          pulled,
          byTag,
        );
        assertEquals(ok.code, 0, ok.stderr);
        for (const [name, content] of Object.entries(SAMPLE_MODEL)) {
          assertEquals(await Deno.readTextFile(join(pulled, name)), content);
        }
        const local = await runCli([
          "verify",
          "key",
          "--public-key",
          keys.publicKey,
          "--signature",
          signature,
          pulled,
        ]);
        assertEquals(local.code, 0, local.stderr);
        const again = await cli(
          "verify",
          "key",
          "--public-key",
          keys.publicKey,
          "--pull",
          pulled,
          byTag,
        );
        assertEquals(again.code, 2);
        assertStringIncludes(again.stderr, "empty directory");
      },
    );

    await t.step("a referrer signature from another signer fails", async () => {
      const image2 = orasImage({ "weights.bin": "other weights" });
      const digest2 = await pushImage(registry.host, "models/tiny", image2, "v2");
      const ref2 = `oci://${registry.host}/models/tiny@${digest2}`;
      const theirs = join(dir.path, "theirs.sig");
      const signed = await cli(
        "sign",
        "key",
        "--private-key",
        other.privateKey,
        "--signature",
        theirs,
        "--attach",
        ref2,
      );
      assertEquals(signed.code, 0, signed.stderr);
      const bad = await cli("verify", "key", "--public-key", keys.publicKey, ref2);
      assertEquals(bad.code, 1, bad.stderr);
      assertStringIncludes(bad.stderr, "referrer sha256:");
      // ...while the other key's holder verifies it.
      const good = await cli("verify", "key", "--public-key", other.publicKey, ref2);
      assertEquals(good.code, 0, good.stderr);
      // An image without any referrer says how to get a signature.
      const image3 = orasImage({ "w.bin": "3" });
      const digest3 = await pushImage(registry.host, "models/tiny", image3, "v3");
      const none = await cli(
        "verify",
        "key",
        "--public-key",
        keys.publicKey,
        `oci://${registry.host}/models/tiny@${digest3}`,
      );
      assertEquals(none.code, 1);
      assertStringIncludes(none.stderr, "--signature");
    });

    await t.step("a manifest swapped under the tag fails; the digest still verifies", async () => {
      const evil = orasImage({ ...SAMPLE_MODEL, "model.safetensors": "backdoored weights" });
      await pushImage(registry.host, "models/tiny", evil, "v1");
      const bad = await cli(
        "verify",
        "key",
        "--public-key",
        keys.publicKey,
        "--signature",
        signature,
        byTag,
      );
      assertEquals(bad.code, 1);
      assertStringIncludes(bad.stderr, "model.safetensors");
      const pinned = await cli(
        "verify",
        "key",
        "--public-key",
        keys.publicKey,
        "--signature",
        signature,
        byDigest,
      );
      assertEquals(pinned.code, 0, pinned.stderr);
    });

    await t.step(
      "a layer changed in the registry's storage never lands in the pull folder",
      async () => {
        const layer = sha256Digest(SAMPLE_MODEL["model.safetensors"]!).slice(7);
        const data = join(
          registry.storage,
          "docker/registry/v2/blobs/sha256",
          layer.slice(0, 2),
          layer,
          "data",
        );
        const original = await Deno.readFile(data);
        const tampered = original.slice();
        tampered[0] = tampered[0]! ^ 1;
        await Deno.writeFile(data, tampered);
        const pulled = join(dir.path, "tampered");
        const bad = await cli(
          "verify",
          "key",
          "--public-key",
          keys.publicKey,
          "--signature",
          signature,
          "--pull",
          pulled,
          byDigest,
        );
        assertEquals(bad.code, 1, bad.stderr);
        assertStringIncludes(
          bad.stderr,
          "blob for 'model.safetensors' does not match its signature",
        );
        assertStringIncludes(bad.stderr, "nothing was pulled");
        assertEquals(await Array.fromAsync(Deno.readDir(pulled)), []);
      },
    );
  },
});

/** A tiny registry that serves what a test says, for hostile answers. */
function fakeRegistry(handler: (request: Request) => Response | Promise<Response>) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, handler);
  return {
    host: `127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

Deno.test("huge and malformed manifests from a registry fail closed", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  await using server = fakeRegistry((request) => {
    const path = new URL(request.url).pathname;
    if (path.endsWith("/manifests/huge")) {
      return new Response(new Uint8Array(5 * 1024 * 1024).fill(0x20), {
        headers: { "content-type": OCI_MANIFEST },
      });
    }
    if (path.endsWith("/manifests/streamed")) {
      const chunk = new Uint8Array(1024 * 1024).fill(0x20);
      let sent = 0;
      return new Response(
        new ReadableStream({
          pull(c) {
            if (sent++ < 6) c.enqueue(chunk);
            else c.close();
          },
        }),
        { headers: { "content-type": OCI_MANIFEST } },
      );
    }
    if (path.endsWith("/manifests/trickle")) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      return new Response(
        new ReadableStream({
          pull(c) {
            return new Promise((resolve) => {
              timer = setTimeout(() => {
                c.enqueue(new Uint8Array([0x20]));
                resolve();
              }, 200);
            });
          },
          cancel() {
            clearTimeout(timer);
          },
        }),
        { headers: { "content-type": OCI_MANIFEST } },
      );
    }
    if (path.endsWith("/manifests/bad")) {
      return new Response("{not json", { headers: { "content-type": OCI_MANIFEST } });
    }
    return new Response("not found", { status: 404 });
  });
  const run = (tag: string) =>
    cli(
      "verify",
      "key",
      "--public-key",
      keys.publicKey,
      "--signature",
      "x",
      `oci://${server.host}/m:${tag}`,
    );
  for (const tag of ["huge", "streamed"]) {
    const result = await run(tag);
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, "more than");
  }
  // One byte every 200 ms never misses the 1 s chunk deadline, but the whole read has one too.
  const trickle = await cli(
    "verify",
    "key",
    "--public-key",
    keys.publicKey,
    "--signature",
    "x",
    "--registry-timeout",
    "1",
    `oci://${server.host}/m:trickle`,
  );
  assertEquals(trickle.code, 1, trickle.stderr);
  assertStringIncludes(trickle.stderr, "did not send all of the manifest");
  const bad = await run("bad");
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, "not JSON");
  const missing = await run("missing");
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "has no manifest");
});

Deno.test("a registry that accepts and never answers times out", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) held.push(conn);
    } catch { /* closed */ }
  })();
  try {
    const port = (listener.addr as Deno.NetAddr).port;
    const result = await runCli([
      "verify",
      "key",
      "--public-key",
      keys.publicKey,
      "--signature",
      "x",
      "--insecure-registry",
      "--registry-timeout",
      "1",
      `oci://127.0.0.1:${port}/m:v1`,
    ]);
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, "did not answer");
  } finally {
    listener.close();
    for (const conn of held) conn.close();
    await accepting;
  }
});

Deno.test("token auth with docker config credentials; credentials never follow a redirect", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const image = orasImage({ "w.bin": "weights" });
  const digest = sha256Digest(image.manifestBytes);
  const seen: string[] = [];
  await using blobs = fakeRegistry((request) => {
    seen.push(`blob-host auth=${request.headers.get("authorization") ?? "none"}`);
    const hex = new URL(request.url).pathname.split("sha256:")[1]!;
    return new Response(image.blobs.get(`sha256:${hex}`)! as Uint8Array<ArrayBuffer>);
  });
  let host = "";
  await using server = fakeRegistry((request) => {
    const url = new URL(request.url);
    if (url.pathname === "/token") {
      const ok = request.headers.get("authorization") === `Basic ${btoa("alice:s3cret")}`;
      assert(url.searchParams.get("scope") === "repository:m:pull", url.search);
      return ok ? Response.json({ token: "tok123" }) : new Response("no", { status: 401 });
    }
    if (request.headers.get("authorization") !== "Bearer tok123") {
      return new Response("auth", {
        status: 401,
        headers: { "www-authenticate": `Bearer realm="http://${host}/token",service="fake"` },
      });
    }
    if (url.pathname.startsWith("/v2/m/manifests/")) {
      return new Response(image.manifestBytes as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": OCI_MANIFEST },
      });
    }
    if (url.pathname.startsWith("/v2/m/blobs/")) {
      return new Response(null, {
        status: 307,
        headers: { location: `http://${blobs.host}${url.pathname}` },
      });
    }
    return new Response("nope", { status: 404 });
  });
  host = server.host;
  const manifest = join(dir.path, "m.json");
  await Deno.writeFile(manifest, image.manifestBytes);
  const signature = join(dir.path, "m.sig");
  const signed = await runCli([
    "sign",
    "key",
    "--private-key",
    keys.privateKey,
    "--signature",
    signature,
    manifest,
  ]);
  assertEquals(signed.code, 0, signed.stderr);
  const docker = join(dir.path, "docker");
  await Deno.mkdir(docker);
  await Deno.writeTextFile(
    join(docker, "config.json"),
    JSON.stringify({ auths: { [host]: { auth: btoa("alice:s3cret") } } }),
  );
  const ref = `oci://${host}/m:v1`;
  const args = [
    "verify",
    "key",
    "--public-key",
    keys.publicKey,
    "--signature",
    signature,
    "--insecure-registry",
    "--pull",
    join(dir.path, "out"),
    ref,
  ];
  const ok = await runCli(args, { env: { DOCKER_CONFIG: docker } });
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, digest);
  assertEquals(await Deno.readTextFile(join(dir.path, "out", "w.bin")), "weights");
  assert(seen.length > 0 && seen.every((s) => s === "blob-host auth=none"), seen.join("; "));
  const anonymous = await runCli(args, { env: {} });
  assertEquals(anonymous.code, 2, anonymous.stderr);
  assertStringIncludes(anonymous.stderr, "MODEL_SIGNING_REGISTRY_USERNAME");
});

Deno.test("signatures found through the referrers API; a referrer for another subject is skipped", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const image = orasImage({ "w.bin": "weights" });
  const digest = sha256Digest(image.manifestBytes);
  const manifest = join(dir.path, "m.json");
  await Deno.writeFile(manifest, image.manifestBytes);
  const signature = join(dir.path, "m.sig");
  const signed = await runCli([
    "sign",
    "key",
    "--private-key",
    keys.privateKey,
    "--signature",
    signature,
    manifest,
  ]);
  assertEquals(signed.code, 0, signed.stderr);
  const bundle = await Deno.readFile(signature);
  const artifactType = "application/vnd.dev.sigstore.bundle.v0.3+json";
  const referrer = (subject: string) =>
    new TextEncoder().encode(JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType,
      config: {
        mediaType: "application/vnd.oci.empty.v1+json",
        digest: sha256Digest("{}"),
        size: 2,
      },
      layers: [{ mediaType: artifactType, digest: sha256Digest(bundle), size: bundle.length }],
      subject: { mediaType: OCI_MANIFEST, digest: subject, size: 1 },
    }));
  const good = referrer(digest);
  const stray = referrer("sha256:" + "0".repeat(64));
  const manifests = new Map<string, Uint8Array>([
    [digest, image.manifestBytes],
    ["v1", image.manifestBytes],
    [sha256Digest(good), good],
    [sha256Digest(stray), stray],
  ]);
  let listed: Uint8Array[] = [stray, good];
  await using server = fakeRegistry((request) => {
    const path = new URL(request.url).pathname;
    if (path === `/v2/m/referrers/${digest}`) {
      return Response.json({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: listed.map((m) => ({
          mediaType: OCI_MANIFEST,
          digest: sha256Digest(m),
          size: m.length,
          artifactType,
        })),
      });
    }
    const name = path.split("/manifests/")[1];
    if (name && manifests.has(name)) {
      return new Response(manifests.get(name)! as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": OCI_MANIFEST },
      });
    }
    if (path === `/v2/m/blobs/${sha256Digest(bundle)}`) {
      return new Response(bundle as Uint8Array<ArrayBuffer>);
    }
    return new Response("no", { status: 404 });
  });
  const run = () =>
    runCli([
      "verify",
      "key",
      "--public-key",
      keys.publicKey,
      "--insecure-registry",
      `oci://${server.host}/m:v1`,
    ]);
  const ok = await run();
  assertEquals(ok.code, 0, ok.stderr);
  listed = [stray];
  const none = await run();
  assertEquals(none.code, 1);
  assertStringIncludes(none.stderr, "No signature");
});
