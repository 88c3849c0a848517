// deno-lint-ignore-file no-explicit-any -- trust config JSON is edited by field name
/**
 * `sign sigstore` with a signing config that lists a Rekor v2 log (as staging does): the entry
 * goes through the v2 API (`/api/v2/log/entries`, a `dsse` 0.0.2 body, a checkpoint and an
 * inclusion proof, no SET), the TSA supplies the signing time, and `verify sigstore` accepts it.
 * The v2 log here is a small server in this file with its own key, added to the trusted root.
 */

import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import { join } from "node:path";
import { HashAlgorithm } from "@sigstore/protobuf-specs";
import { CreateEntryRequest, Entry } from "@sigstore/protobuf-specs/rekor/v2";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { runCli, SAMPLE_MODEL, tempDir, writeModel } from "./_helpers.ts";
import { OidcProvider } from "./_fixtures/oidc_provider.ts";
import { TRUST_START, VirtualSigstore } from "./_fixtures/virtual_sigstore.ts";

/** A one-entry-per-tree Rekor v2: every entry is the whole log of size 1, checkpoint signed. */
function startRekorV2() {
  const keys = nodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const spki = keys.publicKey.export({ format: "der", type: "spki" });
  const logId = sha256(spki);
  const requests: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    requests.push(`${req.method} ${path}`);
    if (req.method !== "POST" || path !== "/api/v2/log/entries") {
      return new Response("not found", { status: 404 });
    }
    const request = CreateEntryRequest.fromJSON(await req.json());
    if (request.spec?.$case !== "dsseRequestV002") return new Response("", { status: 400 });
    const { envelope, verifiers } = request.spec.dsseRequestV002;
    const body = Buffer.from(JSON.stringify(Entry.toJSON({
      kind: "dsse",
      apiVersion: "0.0.2",
      spec: {
        spec: {
          $case: "dsseV002",
          dsseV002: {
            payloadHash: { algorithm: HashAlgorithm.SHA2_256, digest: sha256(envelope!.payload) },
            signatures: [{ content: envelope!.signatures[0]!.sig, verifier: verifiers[0]! }],
          },
        },
      },
    })));
    const rootHash = sha256(Buffer.concat([Buffer.from([0]), body]));
    const origin = new URL(req.url).host;
    const note = `${origin}\n1\n${b64(rootHash)}\n`;
    const signature = nodeCrypto.sign("sha256", Buffer.from(note), keys.privateKey);
    const checkpoint = `${note}\n\u2014 ${origin} ${
      b64(Buffer.concat([logId.subarray(0, 4), signature]))
    }\n`;
    return Response.json({
      logIndex: "0",
      logId: { keyId: b64(logId) },
      kindVersion: { kind: "dsse", version: "0.0.2" },
      integratedTime: "0",
      inclusionProof: {
        logIndex: "0",
        rootHash: b64(rootHash),
        treeSize: "1",
        hashes: [],
        checkpoint: { envelope: checkpoint },
      },
      canonicalizedBody: b64(body),
    }, { status: 201 });
  });
  const url = `http://127.0.0.1:${server.addr.port}`;
  return {
    url,
    requests,
    tlog: {
      baseUrl: url,
      hashAlgorithm: "SHA2_256",
      publicKey: {
        rawBytes: b64(spki),
        keyDetails: "PKIX_ECDSA_P256_SHA_256",
        validFor: { start: TRUST_START },
      },
      logId: { keyId: b64(logId) },
    },
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("a Rekor v2 log in the signing config gets a v2 entry; TSA time; verify passes", async () => {
  const now = Date.now();
  await using sigstore = await VirtualSigstore.start({
    fulcio: new Date(now),
    tsa: new Date(now + 30_000),
  });
  await using oidc = await OidcProvider.start();
  await using rekor = startRekorV2();
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const config = sigstore.clientTrustConfig() as Record<string, any>;
  config.trustedRoot.tlogs.push(rekor.tlog);
  // v1 and v2 listed: the client takes the highest API version it speaks.
  config.signingConfig.rekorTlogUrls.push({
    url: rekor.url,
    majorApiVersion: 2,
    validFor: { start: TRUST_START },
  });
  const trustConfig = join(dir.path, "trust_config.json");
  await Deno.writeTextFile(trustConfig, JSON.stringify(config));
  const signed = await runCli(
    ["sign", "--trust-config", trustConfig, "--identity-token", await oidc.token(), model],
  );
  assertEquals(signed.code, 0, signed.stderr);
  assertEquals(rekor.requests, ["POST /api/v2/log/entries"]);
  const bundle = JSON.parse(await Deno.readTextFile(join(model, "model.sig")));
  const entries = bundle.verificationMaterial.tlogEntries;
  assertEquals(entries.length, 1);
  assertEquals(entries[0].kindVersion, { kind: "dsse", version: "0.0.2" });
  assertEquals(entries[0].inclusionPromise, undefined);
  assertEquals(bundle.verificationMaterial.timestampVerificationData.rfc3161Timestamps.length, 1);
  const verify = (identity: string) =>
    runCli([
      "verify",
      "sigstore",
      "--identity",
      identity,
      "--identity-provider",
      oidc.issuer,
      "--trust-config",
      trustConfig,
      model,
    ]);
  const verified = await verify(oidc.subject);
  assertEquals(verified.code, 0, verified.stderr);
  const wrong = await verify("https://example.com/users/mallory");
  assertEquals(wrong.code, 1);
  assertStringIncludes(wrong.stderr, "identity");
});

function sha256(data: Uint8Array): Buffer {
  return nodeCrypto.createHash("sha256").update(data).digest();
}

function b64(data: Uint8Array): string {
  return Buffer.from(data).toString("base64");
}
