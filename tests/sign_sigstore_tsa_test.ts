// deno-lint-ignore-file no-explicit-any -- bundle JSON is edited by field name
/**
 * RFC 3161 timestamps on key and certificate signatures: `sign key|certificate --tsa-url` asks a
 * timestamp authority (the `@sigstore/mock` TSA of the virtual Sigstore behind a DER front end,
 * as real TSAs speak `application/timestamp-query`), and `verify key|certificate` checks the
 * timestamps against `--tsa-certificate-chain`, validating a certificate
 * chain at the timestamp's time. Go-made bundles (committed fixtures) verify the same way.
 */

import { Buffer } from "node:buffer";
import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import {
  editBundle,
  REPO_ROOT,
  runCli,
  SAMPLE_MODEL,
  tempDir,
  writeKeyPair,
  writeModel,
} from "./_helpers.ts";
import { HAS_OPENSSL, issue } from "./_fixtures/pki.ts";
import { flipBase64, VirtualSigstore } from "./_fixtures/virtual_sigstore.ts";
import { timeStampReq } from "../lib/sign/timestamp_request.ts";

/** A DER-speaking TSA in front of the virtual Sigstore's JSON TSA. */
function derTsa(sigstore: VirtualSigstore) {
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests.push(req.headers.get("content-type") ?? "");
    const body = new Uint8Array(await req.arrayBuffer());
    const at = findDigest(body);
    if (req.headers.get("content-type") !== "application/timestamp-query" || at < 0) {
      return new Response("bad request", { status: 400 });
    }
    const answer = await fetch(`${sigstore.baseURL}/api/v1/timestamp`, {
      method: "POST",
      body: JSON.stringify({
        artifactHash: Buffer.from(body.subarray(at, at + 32)).toString("base64"),
        hashAlgorithm: "sha256",
        certificates: true,
      }),
    });
    return new Response(await answer.arrayBuffer(), {
      status: answer.ok ? 200 : 500,
      headers: { "content-type": "application/timestamp-reply" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/api/v1/timestamp`,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

/** Where the SHA-256 message imprint starts in a TimeStampReq (after `04 20`). */
function findDigest(req: Uint8Array): number {
  for (let i = 0; i + 34 <= req.length; i++) {
    if (req[i] === 0x04 && req[i + 1] === 0x20) return i + 2;
  }
  return -1;
}

/** The TSA chain of the virtual Sigstore as a PEM file (signing certificate first). */
async function writeTsaChain(sigstore: VirtualSigstore, path: string): Promise<string> {
  const root = sigstore.trustedRoot() as {
    timestampAuthorities: { certChain: { certificates: { rawBytes: string }[] } }[];
  };
  const pem = root.timestampAuthorities[0]!.certChain.certificates.map((c) =>
    `-----BEGIN CERTIFICATE-----\n${
      c.rawBytes.match(/.{1,64}/g)!.join("\n")
    }\n-----END CERTIFICATE-----\n`
  ).join("");
  await Deno.writeTextFile(path, pem);
  return path;
}

Deno.test("timeStampReq() is a v1 request with a SHA-256 imprint, nonce and certReq", () => {
  const req = timeStampReq(new Uint8Array(32).fill(7), Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  assertEquals(req.length, 69);
  assertEquals([...req.subarray(0, 5)], [0x30, 67, 0x02, 0x01, 0x01]);
  assertEquals(findDigest(req), 24);
  assertEquals([...req.subarray(-3)], [0x01, 0x01, 0xff]);
});

Deno.test("sign key --tsa-url adds a timestamp; verify key checks it against the TSA chain", async () => {
  await using dir = await tempDir();
  await using sigstore = await VirtualSigstore.start();
  await using other = await VirtualSigstore.start();
  await using tsa = await derTsa(sigstore);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const keys = await writeKeyPair(dir.path);
  const signed = await runCli(
    ["sign", "key", "--private-key", keys.privateKey, "--tsa-url", tsa.url, model],
  );
  assertEquals(signed.code, 0, signed.stderr);
  assertEquals(tsa.requests, ["application/timestamp-query"]);
  const signature = join(model, "model.sig");
  const bundle = JSON.parse(await Deno.readTextFile(signature));
  assertEquals(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
  const chain = await writeTsaChain(sigstore, join(dir.path, "tsa.pem"));
  const otherChain = await writeTsaChain(other, join(dir.path, "other-tsa.pem"));
  const verify = (...extra: string[]) =>
    runCli(["verify", "key", "--public-key", keys.publicKey, ...extra, model]);
  assertEquals((await verify()).code, 0, "without TSA trust the timestamp is not required");
  const withChain = await verify("--tsa-certificate-chain", chain);
  assertEquals(withChain.code, 0, withChain.stderr);
  // The operator passes --trust_config to every method: its timestamp authorities verify the
  // timestamps (a trust config of another Sigstore fails, exit 1); the "ignored" warning goes.
  const trust = await writeTrustConfig(sigstore.clientTrustConfig(), join(dir.path, "t.json"));
  const otherTrust = await writeTrustConfig(other.clientTrustConfig(), join(dir.path, "o.json"));
  const byTrust = await verify("--trust-config", trust);
  assertEquals(byTrust.code, 0, byTrust.stderr);
  assert(!byTrust.stderr.includes("ignored"), byTrust.stderr);
  const wrongTrust = await verify("--trust-config", otherTrust);
  assertEquals(wrongTrust.code, 1, wrongTrust.stderr);
  assertStringIncludes(wrongTrust.stderr, `--trust-config '${otherTrust}'`);
  // Together with --tsa-certificate-chain, an authority of either verifies.
  assertEquals(
    (await verify("--trust-config", otherTrust, "--tsa-certificate-chain", chain)).code,
    0,
  );
  // A trust config that is not one is a configuration error, not an ignored flag.
  assertEquals((await verify("--trust-config", chain)).code, 2);
  const untrusted = await verify("--tsa-certificate-chain", otherChain);
  assertEquals(untrusted.code, 1);
  assertStringIncludes(untrusted.stderr, "does not verify against the timestamp authorities");
  // A timestamp over another signature fails too.
  const copy = join(dir.path, "copy.sig");
  await Deno.copyFile(signature, copy);
  await editBundle(copy, (b) => {
    const envelope = b.dsseEnvelope as { signatures: { sig: string }[] };
    const stamps = (b.verificationMaterial as Record<string, any>).timestampVerificationData;
    const other = JSON.parse(Deno.readTextFileSync(signature));
    stamps.rfc3161Timestamps[0].signedTimestamp = flipBase64(
      stamps.rfc3161Timestamps[0].signedTimestamp,
      40,
    );
    envelope.signatures[0]!.sig = other.dsseEnvelope.signatures[0].sig;
  });
  const tampered = await verify("--signature", copy, "--tsa-certificate-chain", chain);
  assertEquals(tampered.code, 1, tampered.stderr);
  // Without a timestamp, TSA trust makes verification fail.
  await editBundle(signature, (b) => {
    delete (b.verificationMaterial as Record<string, unknown>).timestampVerificationData;
  });
  const missing = await verify("--tsa-certificate-chain", chain);
  assertEquals(missing.code, 1);
  assertStringIncludes(missing.stderr, "has no RFC 3161 timestamp");
  // Without a timestamp, --trust-config is ignored with the warning (no timestamp to check).
  const ignored = await verify("--trust-config", otherTrust);
  assertEquals(ignored.code, 0, ignored.stderr);
  assertStringIncludes(ignored.stderr, "ignored for 'verify key'");
});

/** Writes a trust config (ClientTrustConfig or trusted root JSON) to `path`. */
async function writeTrustConfig(config: unknown, path: string): Promise<string> {
  await Deno.writeTextFile(path, JSON.stringify(config));
  return path;
}

Deno.test("sign key --tsa-url with an unreachable or failing TSA writes nothing", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const keys = await writeKeyPair(dir.path);
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closed = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const failing = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("no", { status: 403 }),
  );
  for (const url of [`http://127.0.0.1:${closed}/tsa`, `http://127.0.0.1:${failing.addr.port}/`]) {
    const result = await runCli(
      ["sign", "key", "--private-key", keys.privateKey, "--tsa-url", url, model],
    );
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, `timestamp authority at ${url}`);
    assert(!(await Deno.lstat(join(model, "model.sig")).then(() => true, () => false)));
  }
  await failing.shutdown();
  const usage = await runCli(
    ["sign", "key", "--private-key", keys.privateKey, "--tsa-url", "ftp://x", model],
  );
  assertEquals(usage.code, 2);
});

Deno.test({
  name: "verify certificate checks the chain at the timestamp's time, not at notBefore",
  ignore: !HAS_OPENSSL,
  async fn() {
    await using dir = await tempDir();
    const now = Date.now();
    // The leaf is valid from tomorrow for four days (the mock TSA's own certificates start now,
    // so its times must lie ahead). Inside the window the timestamp verifies the chain; a
    // timestamp after the leaf's end must fail, though notBefore semantics would pass.
    const root = await issue(dir.path, { cn: "root", ca: true });
    const stamp = (t: number) => new Date(t).toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
    const leaf = await issue(dir.path, {
      cn: "leaf",
      issuer: root,
      keyUsage: "digitalSignature",
      startDate: stamp(now + 86400_000),
      endDate: stamp(now + 5 * 86400_000),
    });
    const cases: [Date, number][] = [
      [new Date(now + 2 * 86400_000), 0],
      [new Date(now + 10 * 86400_000), 1],
    ];
    for (const [tsaTime, expected] of cases) {
      await using sigstore = await VirtualSigstore.start({ tsa: tsaTime });
      await using tsa = await derTsa(sigstore);
      const model = await writeModel(join(dir.path, `model-${expected}`), SAMPLE_MODEL);
      const signed = await runCli([
        "sign",
        "certificate",
        "--private-key",
        leaf.key,
        "--signing-certificate",
        leaf.cert,
        "--tsa-url",
        tsa.url,
        model,
      ]);
      assertEquals(signed.code, 0, signed.stderr);
      const chain = await writeTsaChain(sigstore, join(dir.path, `tsa-${expected}.pem`));
      const base = ["verify", "certificate", "--certificate-chain", root.cert];
      assertEquals((await runCli([...base, model])).code, 0, "notBefore semantics without TSA");
      const result = await runCli([...base, "--tsa-certificate-chain", chain, model]);
      assertEquals(result.code, expected, result.stderr);
      if (expected === 1) assertStringIncludes(result.stderr, "not valid at the signing time");
      // The same with the TSA from a trust config (the operator's --trust_config).
      const trust = await writeTrustConfig(
        sigstore.clientTrustConfig(),
        join(dir.path, `trust-${expected}.json`),
      );
      const byTrust = await runCli([...base, "--trust-config", trust, model]);
      assertEquals(byTrust.code, expected, byTrust.stderr);
    }
  },
});

const GO_FIXTURES = join(REPO_ROOT, "tests", "_fixtures", "go_tsa");

Deno.test("bundles made by the Go model-signing CLI with --tsa-url verify", async () => {
  const key = join(GO_FIXTURES, "key.pub.pem");
  const model = join(GO_FIXTURES, "model");
  const chain = join(GO_FIXTURES, "tsa-chain.pem");
  const result = await runCli([
    "verify",
    "key",
    "--public-key",
    key,
    "--tsa-certificate-chain",
    chain,
    "--signature",
    join(GO_FIXTURES, "key-tsa.sig"),
    model,
  ]);
  assertEquals(result.code, 0, result.stderr);
  const bundle = JSON.parse(await Deno.readTextFile(join(GO_FIXTURES, "key-tsa.sig")));
  assertEquals(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
});

Deno.test("a Go-made key bundle's timestamp verifies against a --trust-config's timestampAuthorities", async () => {
  await using dir = await tempDir();
  await using sigstore = await VirtualSigstore.start();
  const base = [
    "verify",
    "key",
    "--public-key",
    join(GO_FIXTURES, "key.pub.pem"),
    "--signature",
    join(GO_FIXTURES, "key-tsa.sig"),
  ];
  // A trusted root whose only TSA is the one that stamped the Go bundle.
  const pem = await Deno.readTextFile(join(GO_FIXTURES, "tsa-chain.pem"));
  const certificates = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END/g)]
    .map((m) => ({ rawBytes: m[1]!.replace(/\s+/g, "") }));
  const root = sigstore.trustedRoot() as Record<string, any>;
  const goTrust = structuredClone(root);
  goTrust.timestampAuthorities[0].certChain = { certificates };
  const good = await writeTrustConfig(goTrust, join(dir.path, "go.json"));
  const bad = await writeTrustConfig(root, join(dir.path, "other.json"));
  const ok = await runCli([...base, "--trust-config", good, join(GO_FIXTURES, "model")]);
  assertEquals(ok.code, 0, ok.stderr);
  assert(!ok.stderr.includes("ignored"), ok.stderr);
  const wrong = await runCli([...base, "--trust-config", bad, join(GO_FIXTURES, "model")]);
  assertEquals(wrong.code, 1, wrong.stderr);
  assertStringIncludes(wrong.stderr, "does not verify against the timestamp authorities");
  // A trust config without timestampAuthorities cannot verify a timestamp either.
  delete root.timestampAuthorities;
  const none = await writeTrustConfig(root, join(dir.path, "none.json"));
  const noTsa = await runCli([...base, "--trust-config", none, join(GO_FIXTURES, "model")]);
  assertEquals(noTsa.code, 1, noTsa.stderr);
});
