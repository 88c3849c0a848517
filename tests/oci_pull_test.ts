/**
 * `verify oci://... --pull DIR` against small servers: image indexes and Docker v2 manifests, a
 * blob that stalls half-way, and the compiled binary's permissions (a process with the compile
 * task's flags pulls under /tmp and refuses elsewhere with a usage error).
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { compilePermissionFlags } from "./_compile_flags.ts";
import { orasImage, sha256Digest, type TestImage } from "./_fixtures/registry.ts";
import { REPO_ROOT, runCli, tempDir, writeKeyPair } from "./_helpers.ts";
import { blobDeadline, MIN_PULL_RATE } from "../lib/oci/pull.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

interface Served {
  /** Manifests by tag or digest: bytes and content type. */
  manifests: Map<string, [Uint8Array, string]>;
  blobs: Map<string, Uint8Array>;
  /** A blob digest whose body stops half-way and never ends. */
  stall?: string;
  /**
   * A blob digest whose body comes one byte per 50 ms (each well inside the chunk deadline),
   * and after 200 bytes fails: a pull that only had chunk deadlines would end with that
   * failure, not with the whole-blob deadline.
   */
  trickle?: string;
}

function serve(served: Served) {
  const stalled: ReadableStreamDefaultController<Uint8Array>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const path = new URL(request.url).pathname;
    const manifest = /^\/v2\/m\/manifests\/(.+)$/.exec(path);
    if (manifest) {
      const found = served.manifests.get(manifest[1]!);
      if (!found) return new Response("no", { status: 404 });
      return new Response(found[0] as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": found[1] },
      });
    }
    const blob = /^\/v2\/m\/blobs\/(.+)$/.exec(path);
    const bytes = blob ? served.blobs.get(blob[1]!) : undefined;
    if (!blob || !bytes) return new Response("no", { status: 404 });
    if (blob[1] === served.trickle) {
      let sent = 0;
      return new Response(
        new ReadableStream<Uint8Array>({
          async pull(controller) {
            await new Promise((resolve) => setTimeout(resolve, 50));
            if (sent === 200) controller.error(new Error("trickle over"));
            else controller.enqueue(bytes.subarray(sent, ++sent));
          },
        }, { highWaterMark: 0 }),
        { headers: { "content-length": String(bytes.length) } },
      );
    }
    if (blob[1] === served.stall) {
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(bytes.subarray(0, bytes.length >> 1));
            stalled.push(controller);
          },
        }),
      );
    }
    return new Response(bytes as Uint8Array<ArrayBuffer>);
  });
  return {
    host: `127.0.0.1:${server.addr.port}`,
    async [Symbol.asyncDispose]() {
      for (const controller of stalled) controller.error(new Error("test over"));
      await server.shutdown();
    },
  };
}

function served(image: TestImage, tag: string, mediaType = OCI_MANIFEST): Served {
  const digest = sha256Digest(image.manifestBytes);
  return {
    manifests: new Map([
      [tag, [image.manifestBytes, mediaType]],
      [digest, [image.manifestBytes, mediaType]],
    ]),
    blobs: image.blobs,
  };
}

async function signFile(dir: string, image: TestImage, privateKey: string): Promise<string> {
  const manifest = join(dir, "manifest.json");
  await Deno.writeFile(manifest, image.manifestBytes);
  const signature = join(dir, "model.sig");
  const result = await runCli([
    "sign",
    "key",
    "--private-key",
    privateKey,
    "--signature",
    signature,
    manifest,
  ]);
  assertEquals(result.code, 0, result.stderr);
  return signature;
}

/** `verify key --insecure-registry ... --pull DIR oci://...`, as a user runs it. */
function verifyPull(
  publicKey: string,
  signature: string,
  pulled: string,
  reference: string,
  ...extra: string[]
) {
  return runCli([
    "verify",
    "key",
    "--public-key",
    publicKey,
    "--signature",
    signature,
    "--insecure-registry",
    ...extra,
    "--pull",
    pulled,
    reference,
  ]);
}

Deno.test("an image index leads to this platform's manifest, which is what gets verified", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const image = orasImage({ "w.bin": "weights" });
  const decoy = orasImage({ "w.bin": "other platform" });
  const arch = Deno.build.arch === "x86_64" ? "amd64" : "arm64";
  const platform = sha256Digest(image.manifestBytes);
  const index = new TextEncoder().encode(JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_INDEX,
    manifests: [
      {
        mediaType: OCI_MANIFEST,
        digest: sha256Digest(decoy.manifestBytes),
        size: 1,
        platform: { os: "linux", architecture: "s390x" },
      },
      {
        mediaType: OCI_MANIFEST,
        digest: platform,
        size: 1,
        platform: { os: Deno.build.os, architecture: arch },
      },
    ],
  }));
  const content = served(image, "v1");
  content.manifests.set("v1", [index, OCI_INDEX]);
  content.manifests.set(sha256Digest(decoy.manifestBytes), [decoy.manifestBytes, OCI_MANIFEST]);
  await using server = serve(content);
  const signature = await signFile(dir.path, image, keys.privateKey);
  const ok = await runCli([
    "verify",
    "key",
    "--public-key",
    keys.publicKey,
    "--signature",
    signature,
    "--insecure-registry",
    `oci://${server.host}/m:v1`,
  ]);
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, `@${platform} (tag 'v1')`);
});

Deno.test("a Docker v2 manifest verifies with its untitled layers as layer_NNN.tar.gz", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const layer = new TextEncoder().encode("a tar.gz layer");
  const image = orasImage({}, { untitled: [layer], mediaType: DOCKER_MANIFEST });
  await using server = serve(served(image, "v1", DOCKER_MANIFEST));
  const signature = await signFile(dir.path, image, keys.privateKey);
  const pulled = join(dir.path, "pulled");
  const ok = await verifyPull(keys.publicKey, signature, pulled, `oci://${server.host}/m:v1`);
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(await Deno.readFile(join(pulled, "layer_000.tar.gz")), layer);
  assertEquals(await Deno.readTextFile(join(pulled, "config.json")), "{}");
});

Deno.test("a blob that stalls half-way times out and nothing lands in the pull folder", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const image = orasImage({ "a.bin": "first file", "b.bin": "x".repeat(100_000) });
  const content = served(image, "v1");
  content.stall = sha256Digest("x".repeat(100_000));
  await using server = serve(content);
  const signature = await signFile(dir.path, image, keys.privateKey);
  const pulled = join(dir.path, "pulled");
  const result = await verifyPull(
    keys.publicKey,
    signature,
    pulled,
    `oci://${server.host}/m:v1`,
    "--registry-timeout",
    "1",
  );
  assertEquals(result.code, 1, result.stderr);
  assertStringIncludes(result.stderr, "did not answer");
  assertEquals(await Array.fromAsync(Deno.readDir(pulled)), []);
});

Deno.test("a blob trickled byte by byte inside each chunk deadline hits the whole-blob deadline", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const big = "y".repeat(100_000);
  const image = orasImage({ "a.bin": "first file", "b.bin": big });
  const content = served(image, "v1");
  content.trickle = sha256Digest(big);
  await using server = serve(content);
  const signature = await signFile(dir.path, image, keys.privateKey);
  const pulled = join(dir.path, "pulled");
  const result = await verifyPull(
    keys.publicKey,
    signature,
    pulled,
    `oci://${server.host}/m:v1`,
    "--registry-timeout",
    "1",
  );
  assertEquals(result.code, 1, result.stderr);
  assertStringIncludes(result.stderr, `did not send all of blob ${sha256Digest(big)}`);
  assertStringIncludes(
    result.stderr,
    "2 s for 100000 bytes (--registry-timeout plus 1 s per 256 KiB",
  );
  assertEquals(await Array.fromAsync(Deno.readDir(pulled)), []);
});

Deno.test("blobDeadline() gives --registry-timeout plus a second per 256 KiB of the signed size", () => {
  assertEquals(blobDeadline(0, 30_000, 1000).at, 31_000);
  assertEquals(blobDeadline(MIN_PULL_RATE * 3600, 30_000, 0).at, 3_630_000);
  assertStringIncludes(blobDeadline(MIN_PULL_RATE, 1000, 0).limit, "2 s for 262144 bytes");
});

Deno.test("with the compiled binary's permissions, --pull works under /tmp and fails elsewhere with exit 2", async () => {
  await using dir = await tempDir();
  assert(dir.path.startsWith("/tmp/"), "temp dirs live under /tmp");
  const keys = await writeKeyPair(dir.path);
  const image = orasImage({ "w.bin": "weights" });
  await using server = serve(served(image, "v1"));
  const signature = await signFile(dir.path, image, keys.privateKey);
  const run = async (pull: string) => {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        "--no-lock",
        ...compilePermissionFlags(),
        join(REPO_ROOT, "main.ts"),
        "verify",
        "key",
        "--public-key",
        keys.publicKey,
        "--signature",
        signature,
        "--insecure-registry",
        "--pull",
        pull,
        `oci://${server.host}/m:v1`,
      ],
      cwd: dir.path,
      env: { NO_COLOR: "1" },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
  };
  const ok = await run(join(dir.path, "pulled"));
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(await Deno.readTextFile(join(dir.path, "pulled", "w.bin")), "weights");
  const outside = `/var/tmp/model-verify-pull-${crypto.randomUUID()}`;
  const denied = await run(outside);
  assertEquals(denied.code, 2, denied.stderr);
  assertStringIncludes(denied.stderr, "docs/oci.md");
});

const HAS_OPENSSL = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name:
    "HTTPS: a registry certificate from the CA bundle (SSL_CERT_FILE) verifies; without it, refused",
  ignore: !HAS_OPENSSL,
  async fn() {
    await using dir = await tempDir();
    const keys = await writeKeyPair(dir.path);
    const openssl = async (...args: string[]) => {
      const made = await new Deno.Command("openssl", {
        args,
        cwd: dir.path,
        stdout: "null",
        stderr: "piped",
      }).output();
      assert(made.success, new TextDecoder().decode(made.stderr));
    };
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    await openssl(
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-days",
      "2",
      "-subj",
      "/CN=test registry CA",
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign",
    );
    await openssl("req", ...ec, "-keyout", "tls.key", "-out", "leaf.csr", "-subj", "/CN=127.0.0.1");
    await Deno.writeTextFile(
      join(dir.path, "leaf.ext"),
      "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    );
    await openssl(
      "x509",
      "-req",
      "-in",
      "leaf.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "cert.pem",
      "-days",
      "2",
      "-extfile",
      "leaf.ext",
    );
    const image = orasImage({ "w.bin": "weights" });
    const content = served(image, "v1");
    const server = Deno.serve({
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      cert: await Deno.readTextFile(join(dir.path, "cert.pem")),
      key: await Deno.readTextFile(join(dir.path, "tls.key")),
    }, (request) => {
      const path = new URL(request.url).pathname;
      const found = content.manifests.get(path.split("/manifests/")[1] ?? "");
      return found
        ? new Response(found[0] as Uint8Array<ArrayBuffer>, {
          headers: { "content-type": found[1] },
        })
        : new Response("no", { status: 404 });
    });
    try {
      const signature = await signFile(dir.path, image, keys.privateKey);
      const args = [
        "verify",
        "key",
        "--public-key",
        keys.publicKey,
        "--signature",
        signature,
        `oci://127.0.0.1:${server.addr.port}/m:v1`,
      ];
      const ok = await runCli(args, { env: { SSL_CERT_FILE: join(dir.path, "ca.pem") } });
      assertEquals(ok.code, 0, ok.stderr);
      const untrusted = await runCli(args, { env: { SSL_CERT_FILE: join(dir.path, "none.pem") } });
      assertEquals(untrusted.code, 1, untrusted.stderr);
      assertStringIncludes(untrusted.stderr, "Cannot reach registry");
    } finally {
      await server.shutdown();
    }
  },
});

Deno.test("the continuous agent refuses --pull (once only) and --watch (no local files) for oci://", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const base = ["verify", "key", "--public-key", keys.publicKey, "oci://127.0.0.1:1/m:v1"];
  const pull = await runCli(["--interval=5m", ...base, "--pull", join(dir.path, "out")]);
  assertEquals(pull.code, 2, pull.stderr);
  assertStringIncludes(pull.stderr, "--pull");
  const watch = await runCli(["--interval=5m", "--watch", ...base]);
  assertEquals(watch.code, 2, watch.stderr);
  assertStringIncludes(watch.stderr, "--watch");
});
