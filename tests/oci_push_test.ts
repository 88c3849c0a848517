/**
 * `sign --attach` against registries Debian's cannot imitate (an in-process fake registry): one
 * that wants Bearer tokens from a token service for every request and a `push` scope for
 * uploads, and one with the OCI 1.1 referrers API that answers a pushed referrer with
 * `OCI-Subject` (no tag-schema index is written then).
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import {
  type FakeRegistry,
  orasImage,
  startFakeRegistry,
  storeImage,
} from "./_fixtures/registry.ts";
import { runCli, tempDir, writeKeyPair } from "./_helpers.ts";

async function signAttach(
  registry: FakeRegistry,
  dir: string,
  privateKey: string,
  env: Record<string, string> = {},
  signature = join(dir, `${crypto.randomUUID()}.sig`),
) {
  const image = orasImage({ "w.bin": "weights" });
  const digest = storeImage(registry, "m", image, "v1");
  const signed = await runCli([
    "sign",
    "key",
    "--private-key",
    privateKey,
    "--signature",
    signature,
    "--insecure-registry",
    "--attach",
    `oci://${registry.host}/m:v1`,
  ], { env });
  return { signed, digest, signature, fallbackTag: `m:${digest.replace(":", "-")}` };
}

function verifyArgs(registry: FakeRegistry, publicKey: string): string[] {
  return [
    "verify",
    "key",
    "--public-key",
    publicKey,
    "--insecure-registry",
    `oci://${registry.host}/m:v1`,
  ];
}

Deno.test("sign --attach with token auth: a pull,push token for uploads; the referrer verifies", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  await using registry = startFakeRegistry({
    tokenAuth: { username: "alice", password: "s3cret-pw" },
  });
  const docker = join(dir.path, "docker");
  await Deno.mkdir(docker);
  await Deno.writeTextFile(
    join(docker, "config.json"),
    JSON.stringify({ auths: { [registry.host]: { auth: btoa("alice:s3cret-pw") } } }),
  );
  const { signed, fallbackTag } = await signAttach(registry, dir.path, keys.privateKey, {
    DOCKER_CONFIG: docker,
  });
  assertEquals(signed.code, 0, signed.stderr);
  assertStringIncludes(signed.stdout, "referrer:    sha256:");
  assert(registry.tokens.includes("repository:m:pull,push"), registry.tokens.join("; "));
  assert(registry.requests.some((r) => r.startsWith("PUT /v2/m/blobs/uploads/")));
  // No referrers API here: the tag-schema index was written, and verify finds the signature.
  assert(registry.manifests.has(fallbackTag), [...registry.manifests.keys()].join(" "));
  const ok = await runCli(verifyArgs(registry, keys.publicKey), { env: { DOCKER_CONFIG: docker } });
  assertEquals(ok.code, 0, ok.stderr);
  // Explicit credentials from the environment work too.
  const byEnv = await signAttach(registry, dir.path, keys.privateKey, {
    MODEL_SIGNING_REGISTRY_USERNAME: "alice",
    MODEL_SIGNING_REGISTRY_PASSWORD: "s3cret-pw",
  });
  assertEquals(byEnv.signed.code, 0, byEnv.signed.stderr);
});

Deno.test("sign --attach with refused or missing credentials fails with exit 2, the secret unsaid", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  await using registry = startFakeRegistry({
    tokenAuth: { username: "alice", password: "s3cret-pw" },
  });
  const wrong = await signAttach(registry, dir.path, keys.privateKey, {
    MODEL_SIGNING_REGISTRY_USERNAME: "alice",
    MODEL_SIGNING_REGISTRY_PASSWORD: "not-the-Password-42",
  });
  assertEquals(wrong.signed.code, 2, wrong.signed.stderr);
  assertStringIncludes(wrong.signed.stderr, "token service answered 401");
  assertStringIncludes(wrong.signed.stderr, "MODEL_SIGNING_REGISTRY_USERNAME");
  assert(!wrong.signed.stderr.includes("not-the-Password-42"), wrong.signed.stderr);
  assert(registry.tokens.some((t) => t.startsWith("refused ")), registry.tokens.join("; "));
  const anonymous = await signAttach(registry, dir.path, keys.privateKey, {});
  assertEquals(anonymous.signed.code, 2, anonymous.signed.stderr);
  assertStringIncludes(anonymous.signed.stderr, "no credentials");
  assert(![...registry.manifests.keys()].some((k) => k.includes("sha256-")));
});

Deno.test("sign --attach to a registry with the referrers API: OCI-Subject, so no tag-schema index", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  await using registry = startFakeRegistry({ referrersApi: true });
  const { signed, digest, fallbackTag } = await signAttach(registry, dir.path, keys.privateKey);
  assertEquals(signed.code, 0, signed.stderr);
  assert(!registry.manifests.has(fallbackTag), [...registry.manifests.keys()].join(" "));
  const ok = await runCli(verifyArgs(registry, keys.publicKey));
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, digest);
  assert(registry.requests.includes(`GET /v2/m/referrers/${digest}`), registry.requests.join(" "));
});

Deno.test("sign --attach refused by the registry: fails, keeps the written signature and says so", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  await using registry = startFakeRegistry({ readOnly: true });
  // A link planted at the signature path is replaced, never written through.
  const elsewhere = join(dir.path, "elsewhere.txt");
  await Deno.writeTextFile(elsewhere, "untouched");
  const signature = join(dir.path, "model.sig");
  await Deno.symlink(elsewhere, signature);
  const { signed } = await signAttach(registry, dir.path, keys.privateKey, {}, signature);
  assert(signed.code !== 0, signed.stdout);
  assertStringIncludes(signed.stderr, "403");
  assertStringIncludes(signed.stderr, `signature was written to '${signature}' but not attached`);
  assertEquals(await Deno.readTextFile(elsewhere), "untouched");
  assert(!(await Deno.lstat(signature)).isSymlink);
  assert(![...registry.manifests.keys()].some((k) => k.includes("sha256-")));
  // The kept signature is a good one.
  const ok = await runCli([...verifyArgs(registry, keys.publicKey), "--signature", signature]);
  assertEquals(ok.code, 0, ok.stderr);
});
