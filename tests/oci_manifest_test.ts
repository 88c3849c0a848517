/**
 * `sign|verify MANIFEST.json` (signatures of OCI image manifests, the Go implementation's format)
 * and `verify DIR --oci-manifest MANIFEST.json` (local files matched by layer title).
 */

import { join } from "node:path";
import { layerEntries } from "../lib/oci/layer_entries.ts";
import { parseImageManifest } from "../lib/oci/image_manifest.ts";
import { InputError } from "../lib/errors.ts";
import { buildStatement } from "../lib/bundle/build_bundle.ts";
import { OCI_SERIALIZATION } from "../lib/oci/sign_oci.ts";
import { HAS_OPENSSL, issue } from "./_fixtures/pki.ts";
import { DEFAULT_IDENTITY, DEFAULT_ISSUER, VirtualSigstore } from "./_fixtures/virtual_sigstore.ts";
import { assert, assertEquals, assertStringIncludes, assertThrows } from "./_assert.ts";
import { orasImage, sha256Digest, type TestImage } from "./_fixtures/registry.ts";
import { GO_PEER } from "./_peers.ts";
import { REPO_ROOT, runCli, SAMPLE_MODEL, tempDir, writeKeyPair, writeModel } from "./_helpers.ts";

/** The Go CLI where scripts/install_peers.sh puts it (or links MODEL_VERIFY_GO_BIN). */
const GO_CLI = GO_PEER.cli;
const NO_GO = GO_CLI === undefined ? GO_PEER.missing : undefined;

async function writeImage(dir: string, image: TestImage, name = "manifest.json"): Promise<string> {
  const path = join(dir, name);
  await Deno.writeFile(path, image.manifestBytes);
  return path;
}

function statementOf(bundlePath: string): Record<string, unknown> {
  const bundle = JSON.parse(Deno.readTextFileSync(bundlePath));
  return JSON.parse(atob(bundle.dsseEnvelope.payload));
}

async function signManifest(
  manifest: string,
  privateKey: string,
  signature: string,
  ...extra: string[]
) {
  const result = await runCli([
    "sign",
    "key",
    "--private_key",
    privateKey,
    "--signature",
    signature,
    ...extra,
    manifest,
  ]);
  assertEquals(result.code, 0, result.stderr);
  return result;
}

function verifyManifest(
  manifest: string,
  publicKey: string,
  signature: string,
  ...extra: string[]
) {
  return runCli([
    "verify",
    "key",
    "--public_key",
    publicKey,
    "--signature",
    signature,
    ...extra,
    manifest,
  ]);
}

const UNTITLED = new TextEncoder().encode("pretend this is a tar.gz layer");

Deno.test("sign MANIFEST.json lists the config blob, titled layers and layer_NNN.tar.gz; verify passes", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const image = orasImage({ "model.safetensors": "weights", "nested/tok.json": "{}" }, {
    untitled: [UNTITLED],
  });
  const manifest = await writeImage(dir.path, image);
  const signature = join(dir.path, "model.sig");
  await signManifest(manifest, keys.privateKey, signature);
  const statement = statementOf(signature) as {
    subject: { name: string }[];
    predicate: { serialization: Record<string, unknown>; resources: Record<string, string>[] };
  };
  assertEquals(statement.subject[0]!.name, "manifest");
  assertEquals(statement.predicate.serialization, {
    method: "files",
    hash_type: "sha256",
    allow_symlinks: false,
  });
  assertEquals(
    statement.predicate.resources.map((r) => [r.name, "sha256:" + r.digest, r.algorithm]),
    [
      ["config.json", sha256Digest("{}"), "sha256"],
      ["layer_002.tar.gz", sha256Digest(UNTITLED), "sha256"],
      ["model.safetensors", sha256Digest("weights"), "sha256"],
      ["nested/tok.json", sha256Digest("{}"), "sha256"],
    ],
  );
  const ok = await verifyManifest(manifest, keys.publicKey, signature);
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, "Verification succeeded");
});

Deno.test("verify MANIFEST.json fails when a layer digest, title or the config changed", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const files = { "model.safetensors": "weights", "tokenizer.json": "{}" };
  const manifest = await writeImage(dir.path, orasImage(files));
  const signature = join(dir.path, "model.sig");
  await signManifest(manifest, keys.privateKey, signature);
  const cases: [string, TestImage, string][] = [
    ["layer", orasImage({ ...files, "model.safetensors": "evil" }), "model.safetensors"],
    ["config", orasImage(files, { config: new TextEncoder().encode('{"a":1}') }), "config.json"],
    ["extra layer", orasImage({ ...files, "extra.bin": "x" }), "extra.bin"],
    ["missing layer", orasImage({ "model.safetensors": "weights" }), "tokenizer.json"],
  ];
  for (const [what, image, name] of cases) {
    const changed = await writeImage(dir.path, image, `changed-${what.replace(" ", "-")}.json`);
    const result = await verifyManifest(changed, keys.publicKey, signature);
    assertEquals(result.code, 1, `${what}: ${result.stderr}`);
    assertStringIncludes(result.stderr, name);
    assertStringIncludes(result.stderr, "does not match its signature");
  }
});

Deno.test("--ignore-paths leaves out layers by name, base name and folder, and config.json", () => {
  const image = parseImageManifest(
    orasImage({ "a/b.bin": "1", "c/b.bin": "2", "d/e.txt": "3", "keep.txt": "4" }).manifestBytes,
    "test",
  );
  assertEquals(layerEntries(image, ["x/b.bin", "d", "config.json"]).map((e) => e.name), [
    "keep.txt",
  ]);
  assertEquals(layerEntries(image, []).map((e) => e.name), [
    "a/b.bin",
    "c/b.bin",
    "config.json",
    "d/e.txt",
    "keep.txt",
  ]);
  // A layer titled config.json replaces the config blob's entry (Go keeps the last one).
  const hf = parseImageManifest(orasImage({ "config.json": '{"hidden": 8}' }).manifestBytes, "t");
  assertEquals(layerEntries(hf, []).map((e) => [e.name, e.kind]), [["config.json", "titled"]]);
});

Deno.test("sign and verify of a manifest follow --ignore-paths as Go does", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const manifest = await writeImage(dir.path, orasImage({ "model.bin": "w", "README.md": "r" }));
  const signature = join(dir.path, "model.sig");
  await signManifest(manifest, keys.privateKey, signature, "--ignore-paths", "config.json");
  const names = (statementOf(signature) as { predicate: { resources: { name: string }[] } })
    .predicate.resources.map((r) => r.name);
  assertEquals(names, ["README.md", "model.bin"]);
  const extra = await verifyManifest(manifest, keys.publicKey, signature);
  assertEquals(extra.code, 1);
  assertStringIncludes(extra.stderr, "config.json");
  const same = await verifyManifest(
    manifest,
    keys.publicKey,
    signature,
    "--ignore-paths",
    "config.json",
  );
  assertEquals(same.code, 0, same.stderr);
  const unsigned = await verifyManifest(
    manifest,
    keys.publicKey,
    signature,
    "--ignore-unsigned-files",
  );
  assertEquals(unsigned.code, 0, unsigned.stderr);
});

Deno.test("malformed, huge and ambiguous manifests fail closed with a named reason", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const good = orasImage({ "m.bin": "w" }).manifest;
  const layer = (good.layers as Record<string, unknown>[])[0]!;
  const cases: [string, unknown, string][] = [
    ["index", {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [],
    }, "image index"],
    ["schema", { ...good, schemaVersion: 1 }, "schemaVersion"],
    ["no-layers", { ...good, layers: [] }, "no layers"],
    ["bad-digest", { ...good, layers: [{ ...layer, digest: "sha256:xyz" }] }, "layers[0].digest"],
    ["sha512", { ...good, layers: [{ ...layer, digest: "sha512:" + "a".repeat(128) }] }, "sha256"],
    ["dup", { ...good, layers: [layer, layer] }, "two layers"],
    ["escape", {
      ...good,
      layers: [{ ...layer, annotations: { "org.opencontainers.image.title": "../../etc/passwd" } }],
    }, "'..'"],
    ["many", { ...good, layers: Array.from({ length: 5000 }, () => layer) }, "5000 layers"],
  ];
  for (const [name, json, reason] of cases) {
    const path = join(dir.path, `${name}.json`);
    await Deno.writeTextFile(path, JSON.stringify(json));
    const result = await runCli([
      "sign",
      "key",
      "--private_key",
      keys.privateKey,
      "--signature",
      join(dir.path, "s.sig"),
      path,
    ]);
    assertEquals(result.code, 1, `${name}: ${result.stderr}`);
    assertStringIncludes(result.stderr, reason);
  }
  const huge = join(dir.path, "huge.json");
  await Deno.writeTextFile(huge, JSON.stringify({ ...good, pad: "x".repeat(5 * 1024 * 1024) }));
  assertThrows(
    () => parseImageManifest(Deno.readFileSync(huge), "huge"),
    InputError,
  );
});

Deno.test("a signature of a model folder does not verify an OCI manifest", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), { "m.bin": "w" });
  const signature = join(dir.path, "folder.sig");
  const signed = await runCli([
    "sign",
    "key",
    "--private_key",
    keys.privateKey,
    "--signature",
    signature,
    "--shard-size",
    "1024",
    model,
  ]);
  assertEquals(signed.code, 0, signed.stderr);
  const manifest = await writeImage(dir.path, orasImage({ "m.bin": "w" }));
  const result = await verifyManifest(manifest, keys.publicKey, signature);
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, "files/sha256");
});

Deno.test("verify DIR --oci-manifest checks titled layers as files (an ORAS pull)", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const image = orasImage(SAMPLE_MODEL, { untitled: [UNTITLED] });
  const manifest = await writeImage(dir.path, image);
  const signature = join(dir.path, "model.sig");
  await signManifest(manifest, keys.privateKey, signature);
  const model = await writeModel(join(dir.path, "pulled"), SAMPLE_MODEL);
  const run = (...extra: string[]) =>
    verifyManifest(model, keys.publicKey, signature, "--oci-manifest", manifest, ...extra);
  const ok = await run();
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, `files:       ${Object.keys(SAMPLE_MODEL).length} `);

  // The plain folder check (Go's rule) needs every signed name as a file: config.json is the
  // HF config here (titled layer), but layer_004.tar.gz is no file.
  const plain = await verifyManifest(model, keys.publicKey, signature);
  assertEquals(plain.code, 1);
  assertStringIncludes(plain.stderr, "layer_004.tar.gz");

  await Deno.writeTextFile(join(model, "model.safetensors"), "tampered");
  const tampered = await run();
  assertEquals(tampered.code, 1);
  assertStringIncludes(tampered.stderr, "model.safetensors");
  await Deno.writeTextFile(join(model, "model.safetensors"), SAMPLE_MODEL["model.safetensors"]!);

  await Deno.writeTextFile(join(model, "evil.py"), "import os");
  const extra = await run();
  assertEquals(extra.code, 1);
  assertStringIncludes(extra.stderr, "evil.py");
  assertEquals((await run("--ignore-unsigned-files")).code, 0);
  await Deno.remove(join(model, "evil.py"));

  await Deno.remove(join(model, "tokenizer.json"));
  const missing = await run();
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "tokenizer.json");

  // A manifest that differs from the signed one is caught before any file is read.
  const other = await writeImage(dir.path, orasImage({ ...SAMPLE_MODEL, "x": "y" }), "other.json");
  const swapped = await verifyManifest(model, keys.publicKey, signature, "--oci-manifest", other);
  assertEquals(swapped.code, 1);
  assertStringIncludes(swapped.stderr, "OCI manifest");
});

Deno.test({
  name: NO_GO === undefined
    ? "Go model-signing verifies our manifest signatures and we verify its"
    : `OCI Go cross-check: ${NO_GO}`,
  ignore: NO_GO !== undefined,
  async fn() {
    await using dir = await tempDir();
    const keys = await writeKeyPair(dir.path);
    const image = orasImage({ "model.safetensors": "weights", "a/b.txt": "b" }, {
      untitled: [UNTITLED],
    });
    const manifest = await writeImage(dir.path, image);
    const ours = join(dir.path, "ours.sig");
    await signManifest(manifest, keys.privateKey, ours);
    const go = (...args: string[]) =>
      new Deno.Command(GO_CLI!, { args, stdout: "piped", stderr: "piped" }).output();
    const goVerify = await go(
      "verify",
      "key",
      "--public-key",
      keys.publicKey,
      "--signature",
      ours,
      manifest,
    );
    assert(
      goVerify.success,
      new TextDecoder().decode(goVerify.stderr) + new TextDecoder().decode(goVerify.stdout),
    );

    const theirs = join(dir.path, "theirs.sig");
    const goSign = await go(
      "sign",
      "key",
      "--private-key",
      keys.privateKey,
      "--signature",
      theirs,
      manifest,
    );
    assert(goSign.success, new TextDecoder().decode(goSign.stderr));
    const result = await verifyManifest(manifest, keys.publicKey, theirs);
    assertEquals(result.code, 0, result.stderr);
    // ... and a tampered manifest fails in both.
    const changed = await writeImage(
      dir.path,
      orasImage({ "model.safetensors": "evil", "a/b.txt": "b" }, {
        untitled: [UNTITLED],
      }),
      "changed.json",
    );
    assertEquals((await verifyManifest(changed, keys.publicKey, theirs)).code, 1);
    const goBad = await go(
      "verify",
      "key",
      "--public-key",
      keys.publicKey,
      "--signature",
      ours,
      changed,
    );
    assert(!goBad.success);
  },
});

Deno.test("a Sigstore signature of a manifest verifies with --identity and fails for another", async () => {
  await using dir = await tempDir();
  await using sigstore = await VirtualSigstore.start();
  const image = orasImage({ "model.safetensors": "weights" });
  const manifest = await writeImage(dir.path, image);
  const entries = layerEntries(parseImageManifest(image.manifestBytes, "t"), []);
  const bundle = await sigstore.attest(buildStatement("manifest", entries, OCI_SERIALIZATION));
  const signature = join(dir.path, "sigstore.sig");
  await Deno.writeTextFile(signature, JSON.stringify(bundle));
  const root = join(dir.path, "trusted_root.json");
  await Deno.writeTextFile(root, JSON.stringify(sigstore.trustedRoot()));
  const run = (identity: string, path = manifest) =>
    runCli([
      "verify",
      "sigstore",
      "--identity",
      identity,
      "--identity-provider",
      DEFAULT_ISSUER,
      "--trust-config",
      root,
      "--signature",
      signature,
      path,
    ]);
  const ok = await run(DEFAULT_IDENTITY);
  assertEquals(ok.code, 0, ok.stderr);
  const other = await run("mallory@example.com");
  assertEquals(other.code, 1);
  const changed = await writeImage(dir.path, orasImage({ "model.safetensors": "evil" }), "c.json");
  assertEquals((await run(DEFAULT_IDENTITY, changed)).code, 1);
});

Deno.test({
  name: "sign certificate / verify certificate of a manifest",
  ignore: !HAS_OPENSSL,
  async fn() {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "root", ca: true });
    const leaf = await issue(dir.path, {
      cn: "leaf",
      issuer: root,
      keyUsage: "digitalSignature",
      extendedKeyUsage: "codeSigning",
    });
    const manifest = await writeImage(dir.path, orasImage({ "m.bin": "w" }));
    const signature = join(dir.path, "cert.sig");
    const signed = await runCli([
      "sign",
      "certificate",
      "--private-key",
      leaf.key,
      "--signing-certificate",
      leaf.cert,
      "--certificate-chain",
      root.cert,
      "--signature",
      signature,
      manifest,
    ]);
    assertEquals(signed.code, 0, signed.stderr);
    const ok = await runCli([
      "verify",
      "certificate",
      "--certificate-chain",
      root.cert,
      "--signature",
      signature,
      manifest,
    ]);
    assertEquals(ok.code, 0, ok.stderr);
  },
});

Deno.test("a signature the Go CLI made (committed fixture) verifies, by manifest and by files", async () => {
  const fixture = join(REPO_ROOT, "tests/_fixtures/oci_go");
  const manifest = join(fixture, "manifest.json");
  const signature = join(fixture, "go-manifest.sig");
  const publicKey = join(fixture, "key.pub.pem");
  const statement = statementOf(signature) as {
    predicate: { resources: Record<string, string>[] };
  };
  // The layer titled config.json replaced the config blob's entry, in Go as here.
  assertEquals(
    statement.predicate.resources.find((r) => r.name === "config.json")?.digest,
    sha256Digest('{"hidden_size": 8}').slice(7),
  );
  const ok = await verifyManifest(manifest, publicKey, signature);
  assertEquals(ok.code, 0, ok.stderr);
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "pulled"), {
    "model.safetensors": "weights",
    "config.json": '{"hidden_size": 8}',
    "nested/tok.json": "{}",
  });
  const files = await verifyManifest(model, publicKey, signature, "--oci-manifest", manifest);
  assertEquals(files.code, 0, files.stderr);
  await Deno.writeTextFile(join(model, "config.json"), '{"hidden_size": 9}');
  const bad = await verifyManifest(model, publicKey, signature, "--oci-manifest", manifest);
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, "config.json");
});
