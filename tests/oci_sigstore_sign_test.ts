/**
 * `sign [sigstore] MANIFEST.json` and `sign sigstore oci://... --attach`: keyless signatures of
 * OCI image manifests against a Sigstore on 127.0.0.1 (virtual Fulcio, Rekor, TSA) and a local
 * OIDC provider, each verified by `verify sigstore` with the exact identity and issuer.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { orasImage, sha256Digest, startFakeRegistry, storeImage } from "./_fixtures/registry.ts";
import { OidcProvider } from "./_fixtures/oidc_provider.ts";
import { TRUST_START, VirtualSigstore } from "./_fixtures/virtual_sigstore.ts";
import { runCli, tempDir, writeKeyPair } from "./_helpers.ts";

async function stack() {
  const now = Date.now();
  const sigstore = await VirtualSigstore.start({
    fulcio: new Date(now),
    tsa: new Date(now + 30_000),
  });
  const oidc = await OidcProvider.start();
  const dir = await tempDir();
  const config = sigstore.clientTrustConfig();
  const signing = config.signingConfig as Record<string, unknown>;
  signing.oidcUrls = [{ url: oidc.issuer, majorApiVersion: 1, validFor: { start: TRUST_START } }];
  const trustConfig = join(dir.path, "trust_config.json");
  await Deno.writeTextFile(trustConfig, JSON.stringify(config));
  return {
    oidc,
    dir,
    trustConfig,
    async [Symbol.asyncDispose]() {
      await sigstore[Symbol.asyncDispose]();
      await oidc[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

type Stack = Awaited<ReturnType<typeof stack>>;

function verify(s: Stack, identity: string, model: string, ...more: string[]) {
  return runCli([
    "verify",
    "sigstore",
    "--identity",
    identity,
    "--identity-provider",
    s.oidc.issuer,
    "--trust-config",
    s.trustConfig,
    ...more,
    model,
  ]);
}

function payloadOf(path: string): string {
  return JSON.parse(Deno.readTextFileSync(path)).dsseEnvelope.payload;
}

Deno.test("sign MANIFEST.json without a method word signs keylessly; verify sigstore checks the identity", async () => {
  await using s = await stack();
  const image = orasImage({ "model.safetensors": "weights", "config.json": "{}" });
  const manifest = join(s.dir.path, "manifest.json");
  await Deno.writeFile(manifest, image.manifestBytes);
  const signature = join(s.dir.path, "manifest.sig");
  const signed = await runCli([
    "sign",
    "--trust-config",
    s.trustConfig,
    "--identity-token",
    await s.oidc.token(),
    "--signature",
    signature,
    manifest,
  ]);
  assertEquals(signed.code, 0, signed.stderr);
  assertStringIncludes(signed.stdout, `identity:    ${s.oidc.subject}`);
  assertStringIncludes(signed.stdout, `--signature ${signature} ${manifest}`);
  const ok = await verify(s, s.oidc.subject, manifest, "--signature", signature);
  assertEquals(ok.code, 0, ok.stderr);
  const other = await verify(
    s,
    "https://example.com/users/mallory",
    manifest,
    "--signature",
    signature,
  );
  assertEquals(other.code, 1, other.stderr);
  // The statement is the one `sign key` makes of the manifest: the layers, in Go's format.
  const keys = await writeKeyPair(s.dir.path);
  const byKey = join(s.dir.path, "key.sig");
  const keySigned = await runCli([
    "sign",
    "key",
    "--private-key",
    keys.privateKey,
    "--signature",
    byKey,
    manifest,
  ]);
  assertEquals(keySigned.code, 0, keySigned.stderr);
  assertEquals(payloadOf(signature), payloadOf(byKey));
  // A changed layer digest fails.
  const changed = join(s.dir.path, "changed.json");
  await Deno.writeFile(
    changed,
    orasImage({ "model.safetensors": "evil", "config.json": "{}" }).manifestBytes,
  );
  const bad = await verify(s, s.oidc.subject, changed, "--signature", signature);
  assertEquals(bad.code, 1, bad.stderr);
});

Deno.test("sign sigstore of a manifest refuses a missing --signature and folder-only options (exit 2)", async () => {
  await using s = await stack();
  const manifest = join(s.dir.path, "manifest.json");
  await Deno.writeFile(manifest, orasImage({ "w.bin": "w" }).manifestBytes);
  const base = [
    "sign",
    "sigstore",
    "--trust-config",
    s.trustConfig,
    "--identity-token",
    await s.oidc.token(),
  ];
  const noSignature = await runCli([...base, manifest]);
  assertEquals(noSignature.code, 2, noSignature.stderr);
  assertStringIncludes(noSignature.stderr, "--signature");
  const sharded = await runCli([
    ...base,
    "--shard-size",
    "1000",
    "--signature",
    join(s.dir.path, "x.sig"),
    manifest,
  ]);
  assertEquals(sharded.code, 2, sharded.stderr);
  assertStringIncludes(sharded.stderr, "--shard-size");
  const attachFile = await runCli([
    ...base,
    "--attach",
    "--signature",
    join(s.dir.path, "x.sig"),
    manifest,
  ]);
  assertEquals(attachFile.code, 2, attachFile.stderr);
  assertStringIncludes(attachFile.stderr, "oci://");
  const ociNoSignature = await runCli([...base, "--insecure-registry", "oci://127.0.0.1:1/m:v1"]);
  assertEquals(ociNoSignature.code, 2, ociNoSignature.stderr);
  assertStringIncludes(ociNoSignature.stderr, "--signature");
});

Deno.test("sign sigstore oci://... --attach pushes the bundle as a referrer; verify sigstore finds it", async () => {
  await using s = await stack();
  await using registry = startFakeRegistry({ referrersApi: true });
  const image = orasImage({ "model.safetensors": "weights" });
  const digest = storeImage(registry, "models/tiny", image, "v1");
  const signature = join(s.dir.path, "tiny.sig");
  const byTag = `oci://${registry.host}/models/tiny:v1`;
  const signed = await runCli([
    "sign",
    "sigstore",
    "--trust-config",
    s.trustConfig,
    "--identity-token",
    await s.oidc.token(),
    "--insecure-registry",
    "--signature",
    signature,
    "--attach",
    byTag,
  ]);
  assertEquals(signed.code, 0, signed.stderr);
  const referrer = /referrer: {4}(sha256:[0-9a-f]{64})/.exec(signed.stdout)?.[1];
  assert(referrer, signed.stdout);
  assert(registry.manifests.has(`models/tiny@${referrer}`));
  const pushed = JSON.parse(
    new TextDecoder().decode(registry.manifests.get(`models/tiny@${referrer}`)!.bytes),
  );
  assertEquals(pushed.subject.digest, digest);
  assertEquals(registry.blobs.get(pushed.layers[0].digest), await Deno.readFile(signature));
  // Found through the referrers API (no --signature), with the exact identity only.
  const ok = await verify(s, s.oidc.subject, byTag, "--insecure-registry");
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, digest);
  const other = await verify(s, "https://example.com/users/mallory", byTag, "--insecure-registry");
  assertEquals(other.code, 1, other.stderr);
  // JSON output names the referrer too.
  const json = await runCli([
    "sign",
    "--log-format",
    "json",
    "--trust-config",
    s.trustConfig,
    "--identity-token",
    await s.oidc.token(),
    "--insecure-registry",
    "--signature",
    join(s.dir.path, "again.sig"),
    "--attach",
    `oci://${registry.host}/models/tiny@${digest}`,
  ]);
  assertEquals(json.code, 0, json.stderr);
  assertEquals(JSON.parse(json.stdout).referrer?.startsWith("sha256:"), true, json.stdout);
  assert(sha256Digest(image.manifestBytes) === digest);
});
