import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { HAS_OPENSSL, issue, type Issued, signWithCertificate } from "../../tests/_fixtures/pki.ts";
import { editBundle, runCli, signedModel, tempDir } from "../../tests/_helpers.ts";
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

/** Signs with `leaf` carrying `chain`, verifies against `root`; returns the error or undefined. */
async function outcome(dir: string, leaf: Issued, chain: Issued[], anchors: Issued[]) {
  const signature = await signWith(dir, leaf, chain);
  try {
    await verify(signature, anchors);
    return undefined;
  } catch (error) {
    return error as SignatureError;
  }
}

Deno.test({
  name: "verifyWithCertificate() enforces pathLenConstraint on every CA, root included",
  ignore,
  async fn(t) {
    await using dir = await tempDir();
    const d = (name: string) => join(dir.path, name);
    await t.step(
      "an intermediate with pathlen 0 cannot have an intermediate below it",
      async () => {
        const root = await issue(dir.path, { cn: "PL Root", ca: true });
        const a = await issue(dir.path, { cn: "PL A", ca: true, issuer: root, pathLen: 0 });
        const b = await issue(dir.path, { cn: "PL B", ca: true, issuer: a });
        const leaf = await issue(dir.path, {
          cn: "pl-leaf",
          issuer: b,
          keyUsage: "digitalSignature",
        });
        const error = await outcome(d("a"), leaf, [b, a], [root]);
        assertEquals(error?.code, "CHAIN_UNTRUSTED", error?.message);
        assertStringIncludes(error!.message, "pathLenConstraint");
      },
    );
    await t.step("a root with pathlen 0 admits no intermediate; pathlen 1 admits one", async () => {
      const zero = await issue(dir.path, { cn: "PL Zero Root", ca: true, pathLen: 0 });
      const under0 = await issue(dir.path, { cn: "PL Under Zero", ca: true, issuer: zero });
      const leaf0 = await issue(dir.path, {
        cn: "pl-leaf0",
        issuer: under0,
        keyUsage: "digitalSignature",
      });
      assertEquals((await outcome(d("b"), leaf0, [under0], [zero]))?.code, "CHAIN_UNTRUSTED");
      const one = await issue(dir.path, { cn: "PL One Root", ca: true, pathLen: 1 });
      const under1 = await issue(dir.path, { cn: "PL Under One", ca: true, issuer: one });
      const leaf1 = await issue(dir.path, {
        cn: "pl-leaf1",
        issuer: under1,
        keyUsage: "digitalSignature",
      });
      assertEquals(await outcome(d("c"), leaf1, [under1], [one]), undefined);
    });
  },
});

Deno.test({
  name: "verifyWithCertificate() rejects unrecognised critical extensions anywhere on the path",
  ignore,
  async fn(t) {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "CE Root", ca: true });
    const unknown = "1.3.6.1.4.1.55555.1=critical,ASN1:UTF8String:must-understand";
    await t.step("on an intermediate", async () => {
      const mid = await issue(dir.path, {
        cn: "CE Mid",
        ca: true,
        issuer: root,
        extraExtensions: [unknown],
      });
      const leaf = await issue(dir.path, { cn: "ce-1", issuer: mid, keyUsage: "digitalSignature" });
      const error = await outcome(join(dir.path, "a"), leaf, [mid], [root]);
      assertEquals(error?.code, "CERTIFICATE_INVALID", error?.message);
      assertStringIncludes(error!.message, "1.3.6.1.4.1.55555.1");
    });
    await t.step("on the leaf", async () => {
      const leaf = await issue(dir.path, {
        cn: "ce-2",
        issuer: root,
        keyUsage: "digitalSignature",
        extraExtensions: [unknown],
      });
      assertEquals(
        (await outcome(join(dir.path, "b"), leaf, [], [root]))?.code,
        "CERTIFICATE_INVALID",
      );
    });
    await t.step("the same extension, not critical, passes", async () => {
      const leaf = await issue(dir.path, {
        cn: "ce-3",
        issuer: root,
        keyUsage: "digitalSignature",
        extraExtensions: ["1.3.6.1.4.1.55555.1=ASN1:UTF8String:optional"],
      });
      assertEquals(await outcome(join(dir.path, "c"), leaf, [], [root]), undefined);
    });
    await t.step("name constraints fail closed", async () => {
      const mid = await issue(dir.path, {
        cn: "CE NC",
        ca: true,
        issuer: root,
        extraExtensions: ["nameConstraints=critical,permitted;DNS:example.com"],
      });
      const leaf = await issue(dir.path, { cn: "ce-4", issuer: mid, keyUsage: "digitalSignature" });
      const error = await outcome(join(dir.path, "d"), leaf, [mid], [root]);
      assertEquals(error?.code, "CERTIFICATE_INVALID", error?.message);
    });
  },
});

Deno.test({
  name: "verifyWithCertificate() requires keyCertSign on a CA whose key usage is given",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "KU Root", ca: true });
    const mid = await issue(dir.path, {
      cn: "KU Mid",
      ca: true,
      issuer: root,
      caKeyUsage: "digitalSignature,cRLSign",
    });
    const leaf = await issue(dir.path, {
      cn: "ku-leaf",
      issuer: mid,
      keyUsage: "digitalSignature",
    });
    const error = await outcome(dir.path, leaf, [mid], [root]);
    assertEquals(error?.code, "CHAIN_UNTRUSTED", error?.message);
    assertStringIncludes(error!.message, "keyCertSign");
  },
});

Deno.test({
  name: "verifyWithCertificate() rejects certificates signed with SHA-1",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "SHA1 Root", ca: true });
    let leaf: Issued;
    try {
      leaf = await issue(dir.path, {
        cn: "sha1-leaf",
        issuer: root,
        keyUsage: "digitalSignature",
        md: "sha1",
      });
    } catch {
      return; // this OpenSSL refuses to sign with SHA-1 at all
    }
    const error = await outcome(dir.path, leaf, [], [root]);
    assertEquals(error?.code, "CERTIFICATE_INVALID", error?.message);
    assertStringIncludes(error!.message, "SHA-1");
  },
});

Deno.test({
  name: "verifyWithCertificate() rejects an intermediate whose signature was altered",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const { root, intermediate, leaf } = await pki(dir.path);
    const signature = await signWith(dir.path, leaf, [intermediate]);
    await editBundle(signature, (bundle) => {
      const certs = (bundle.verificationMaterial as {
        x509CertificateChain: { certificates: { rawBytes: string }[] };
      }).x509CertificateChain.certificates;
      const der = Uint8Array.fromBase64(certs[1]!.rawBytes);
      der[der.length - 2]! ^= 0x01;
      certs[1]!.rawBytes = der.toBase64();
    });
    await assertFailsWith(() => verify(signature, [root]), SignatureError, "CHAIN_UNTRUSTED");
  },
});

Deno.test({
  name:
    "a malformed certificate fails verification (1) in a signature and configuration (2) in a CA file",
  ignore,
  async fn(t) {
    await using dir = await tempDir();
    const { root, intermediate, leaf } = await pki(dir.path);
    const signature = await signWith(dir.path, leaf, [intermediate]);
    const model = join(dir.path, "model");
    const malformed = ["MAA=", "MAMCAQE=", "MIIBAA==", ""];
    for (const [i, raw] of malformed.entries()) {
      await t.step(`in the signature: ${JSON.stringify(raw)}`, async () => {
        const copy = join(dir.path, `bad-${i}.sig`);
        await Deno.copyFile(signature, copy);
        await editBundle(copy, (bundle) => {
          const certs = (bundle.verificationMaterial as {
            x509CertificateChain: { certificates: { rawBytes: string }[] };
          }).x509CertificateChain.certificates;
          certs[i % 2]!.rawBytes = raw;
        });
        const cli = await runCli([
          "verify",
          "certificate",
          "--signature",
          copy,
          "--certificate_chain",
          root.cert,
          model,
        ]);
        assertEquals(cli.code, 1, cli.stderr);
        assert(!cli.stderr.includes("Unexpected error"), cli.stderr);
        assert(!cli.stderr.includes("INTERNAL"), cli.stderr);
      });
    }
    await t.step("in --certificate_chain", async () => {
      for (const body of ["MAA=", "MAMCAQE=", "AAAA"]) {
        const ca = join(dir.path, "bad-ca.pem");
        await Deno.writeTextFile(
          ca,
          `-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`,
        );
        const cli = await runCli([
          "verify",
          "certificate",
          "--signature",
          signature,
          "--certificate_chain",
          ca,
          model,
        ]);
        assertEquals(cli.code, 2, cli.stderr);
        assertStringIncludes(cli.stderr, "bad-ca.pem");
      }
    });
  },
});

Deno.test({
  name: "verifyWithCertificate() names certificates with their subjects escaped",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "Esc Root", ca: true });
    const other = await issue(dir.path, { cn: "Esc Other", ca: true });
    const leaf = await issue(dir.path, {
      cn: "evil\u202eenilb \u001b[32mok",
      issuer: root,
      keyUsage: "digitalSignature",
    });
    const error = await outcome(dir.path, leaf, [], [other]);
    assertEquals(error?.code, "CHAIN_UNTRUSTED");
    // OpenSSL stores the name's UTF-8 bytes as a T61String: shown as Latin-1, still escaped.
    assert(!/[\u202e\u0080-\u009f]/.test(error!.message), error!.message);
    assert(!error!.message.includes("\u001b"), error!.message);
    assertStringIncludes(error!.message, "\\u001b[32mok");
  },
});

Deno.test({
  name: "verifyWithCertificate() accepts a self-signed leaf that is itself trusted, as OpenSSL",
  ignore,
  async fn() {
    await using dir = await tempDir();
    const self = await issue(dir.path, { cn: "self-signer", keyUsage: "digitalSignature" });
    const other = await issue(dir.path, { cn: "Self Other", ca: true });
    assertEquals(await outcome(join(dir.path, "a"), self, [], [self]), undefined);
    const error = await outcome(join(dir.path, "b"), self, [], [other]);
    assertEquals(error?.code, "CHAIN_UNTRUSTED");
  },
});
