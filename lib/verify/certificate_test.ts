import { join } from "node:path";
import { assertEquals, assertFailsWith, assertStringIncludes } from "../../tests/_assert.ts";
import { HAS_OPENSSL, issue, type Issued, signWithCertificate } from "../../tests/_fixtures/pki.ts";
import { runCli, signedModel, tempDir } from "../../tests/_helpers.ts";
import { parseBundle } from "../bundle/parse_bundle.ts";
import { SignatureError, TrustMaterialError } from "../errors.ts";
import { loadTrustAnchors, verifyWithCertificate } from "./certificate.ts";

const ignore = !HAS_OPENSSL;

/** Signs a sample model with `leaf`, the bundle carrying `leaf` and `chain`. */
async function signWith(dir: string, leaf: Issued, chain: Issued[]): Promise<string> {
  return (await signWithCertificate(dir, leaf, chain)).signature;
}

async function verify(signature: string, anchors: Issued[]) {
  const bundle = parseBundle(await Deno.readFile(signature), signature);
  const trust = [];
  for (const a of anchors) trust.push(...loadTrustAnchors(await Deno.readFile(a.cert), a.cert));
  return verifyWithCertificate(bundle, trust);
}

async function pki(dir: string) {
  const root = await issue(dir, { cn: "Test Root CA", ca: true });
  const intermediate = await issue(dir, { cn: "Test Intermediate CA", ca: true, issuer: root });
  const leaf = await issue(dir, {
    cn: "model-signer",
    issuer: intermediate,
    keyUsage: "digitalSignature",
  });
  return { root, intermediate, leaf };
}

Deno.test({
  name: "verifyWithCertificate() accepts a leaf chaining through the bundle to a trusted root",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const { root, intermediate, leaf } = await pki(dir.path);
    const signature = await signWith(dir.path, leaf, [intermediate]);
    const result = await verify(signature, [root]);
    assertEquals(result.signer.method, "certificate");
    assertStringIncludes(result.signer.description, "CN=model-signer");
    assertStringIncludes(result.signer.description, "CN=Test Root CA");
  },
});

Deno.test({
  name: "verifyWithCertificate() finds the intermediate among the trust anchors too",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const { root, intermediate, leaf } = await pki(dir.path);
    const signature = await signWith(dir.path, leaf, []);
    await verify(signature, [intermediate, root]);
  },
});

Deno.test({
  name: "verifyWithCertificate() rejects chains that do not end at a trusted self-signed root",
  ignore,
  async fn(t) {
    await using dir = await tempDir();
    const { root, intermediate, leaf } = await pki(dir.path);
    const other = await issue(dir.path, { cn: "Unrelated CA", ca: true });
    const signature = await signWith(dir.path, leaf, [intermediate]);
    await t.step("unrelated root", async () => {
      await assertFailsWith(() => verify(signature, [other]), SignatureError, "CHAIN_UNTRUSTED");
    });
    await t.step("intermediate only (no partial chains, as OpenSSL's default)", async () => {
      await assertFailsWith(
        () => verify(signature, [intermediate]),
        SignatureError,
        "CHAIN_UNTRUSTED",
      );
    });
    await t.step("missing intermediate", async () => {
      const bare = await signWith(join(dir.path, "bare"), leaf, []);
      await assertFailsWith(() => verify(bare, [root]), SignatureError, "CHAIN_UNTRUSTED");
    });
  },
});

Deno.test({
  name: "verifyWithCertificate() rejects a path through a certificate that is not a CA",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "Root", ca: true });
    const notCa = await issue(dir.path, {
      cn: "Not a CA",
      issuer: root,
      keyUsage: "digitalSignature,keyCertSign",
    });
    const leaf = await issue(dir.path, { cn: "leaf", issuer: notCa, keyUsage: "digitalSignature" });
    const signature = await signWith(dir.path, leaf, [notCa]);
    await assertFailsWith(() => verify(signature, [root]), SignatureError, "CHAIN_UNTRUSTED");
  },
});

Deno.test({
  name: "verifyWithCertificate() checks validity at the leaf's notBefore, not now",
  ignore,
  async fn(t) {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "Root", ca: true, startDate: "20190101000000Z" });
    await t.step("an intermediate expired before the leaf was issued fails", async () => {
      const old = await issue(dir.path, {
        cn: "Expired Intermediate",
        ca: true,
        issuer: root,
        startDate: "20200101000000Z",
        endDate: "20210101000000Z",
      });
      const leaf = await issue(dir.path, {
        cn: "leaf1",
        issuer: old,
        keyUsage: "digitalSignature",
      });
      const signature = await signWith(join(dir.path, "a"), leaf, [old]);
      await assertFailsWith(
        () => verify(signature, [root]),
        SignatureError,
        "CERTIFICATE_EXPIRED",
      );
    });
    await t.step("a leaf that has expired since signing passes, as upstream", async () => {
      const intermediate = await issue(dir.path, {
        cn: "Intermediate",
        ca: true,
        issuer: root,
        startDate: "20200101000000Z",
      });
      const leaf = await issue(dir.path, {
        cn: "leaf2",
        issuer: intermediate,
        keyUsage: "digitalSignature",
        startDate: "20240101000000Z",
        endDate: "20240201000000Z",
      });
      const signature = await signWith(join(dir.path, "b"), leaf, [intermediate]);
      await verify(signature, [root]);
    });
  },
});

Deno.test({
  name: "verifyWithCertificate() requires digitalSignature or codeSigning on the leaf",
  ignore,
  async fn(t) {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "Root", ca: true });
    await t.step("keyEncipherment only fails", async () => {
      const leaf = await issue(dir.path, { cn: "enc", issuer: root, keyUsage: "keyAgreement" });
      const signature = await signWith(join(dir.path, "a"), leaf, []);
      await assertFailsWith(() => verify(signature, [root]), SignatureError, "CERTIFICATE_USAGE");
    });
    await t.step("no key usage at all fails", async () => {
      const leaf = await issue(dir.path, { cn: "none", issuer: root });
      const signature = await signWith(join(dir.path, "b"), leaf, []);
      await assertFailsWith(() => verify(signature, [root]), SignatureError, "CERTIFICATE_USAGE");
    });
    await t.step("extended key usage codeSigning passes", async () => {
      const leaf = await issue(dir.path, {
        cn: "code",
        issuer: root,
        extendedKeyUsage: "codeSigning",
      });
      const signature = await signWith(join(dir.path, "c"), leaf, []);
      await verify(signature, [root]);
    });
  },
});

Deno.test({
  name: "verifyWithCertificate() rejects a bundle that carries a public key, not a chain",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const { root } = await pki(dir.path);
    const fixture = await signedModel(join(dir.path, "k"));
    await assertFailsWith(
      () => verify(fixture.signature, [root]),
      SignatureError,
      "MATERIAL_MISMATCH",
    );
  },
});

Deno.test("loadTrustAnchors() rejects files without a PEM certificate", async () => {
  const error = await assertFailsWith(
    () => loadTrustAnchors(new TextEncoder().encode("hello"), "ca.pem"),
    TrustMaterialError,
    "CERTIFICATE_INVALID",
  );
  assertStringIncludes(error.message, "ca.pem");
  await assertFailsWith(
    () =>
      loadTrustAnchors(
        new TextEncoder().encode("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"),
        "ca.pem",
      ),
    TrustMaterialError,
    "CERTIFICATE_INVALID",
  );
});

Deno.test({
  name: "verify certificate exits 2 for an unreadable CA file and 1 for an untrusted chain",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const { root, intermediate, leaf } = await pki(dir.path);
    const other = await issue(dir.path, { cn: "Other", ca: true });
    const signature = await signWith(dir.path, leaf, [intermediate]);
    const model = join(dir.path, "model");
    const missing = await runCli([
      "verify",
      "certificate",
      "--certificate_chain",
      "/nope.pem",
      model,
    ]);
    assertEquals(missing.code, 2);
    assertStringIncludes(missing.stderr, "/nope.pem");
    const untrusted = await runCli([
      "verify",
      "certificate",
      "--signature",
      signature,
      "--certificate_chain",
      other.cert,
      model,
    ]);
    assertEquals(untrusted.code, 1);
    const ok = await runCli(["verify", "certificate", "--certificate_chain", root.cert, model]);
    assertEquals(ok.code, 0, ok.stderr);
  },
});
