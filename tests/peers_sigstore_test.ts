/**
 * The Sigstore method across implementations, against the local mock Sigstore
 * (tests/_fixtures/virtual_sigstore.ts): model-verify makes the statement (sign key), the mock
 * Fulcio and Rekor sign it into a Sigstore bundle, and each verifier checks it with the mock's
 * ClientTrustConfig (must pass), then a tampered copy (must fail). Neither peer can sign against
 * the mock (no OIDC flow offline), so this is the verify direction only.
 *
 * @module
 */

import { join } from "node:path";
import { runCli, signWithKey, tempDir, writeKeyPair, writeModel } from "./_helpers.ts";
import { DEFAULT_IDENTITY, DEFAULT_ISSUER, VirtualSigstore } from "./_fixtures/virtual_sigstore.ts";
import { GO_PEER, PYTHON_PEER, runProcess } from "./_peers.ts";
import { expected, type Impl, type MatrixCase, type VerifyOutcome } from "./peers_known.ts";

const CASE: MatrixCase = {
  name: "sigstore-mock",
  files: { "config.json": "{}\n", "weights/w.bin": "weights\n", "caf\u00e9.txt": "nfc\n" },
  tamper: "weights/w.bin",
  hash: "sha256",
  method: "sigstore",
};

const VERIFIERS: { impl: Impl; cli: string | undefined; missing: string }[] = [
  { impl: "model-verify", cli: "in-process", missing: "" },
  { impl: "model_signing", cli: PYTHON_PEER.cli, missing: PYTHON_PEER.missing },
  { impl: "go", cli: GO_PEER.cli, missing: GO_PEER.missing },
];

async function verify(
  impl: Impl,
  cli: string,
  model: string,
  signature: string,
  trustConfig: string,
): Promise<{ outcome: VerifyOutcome; text: string }> {
  const flags = impl === "model_signing"
    ? ["--trust_config", trustConfig, "--identity", DEFAULT_IDENTITY, "--identity_provider"]
    : ["--trust-config", trustConfig, "--identity", DEFAULT_IDENTITY, "--identity-provider"];
  const args = ["verify", "sigstore", ...flags, DEFAULT_ISSUER, "--signature", signature, model];
  const r = impl === "model-verify" ? await runCli(args) : await runProcess(cli, args);
  return { outcome: r.code === 0 ? "pass" : "fail", text: `${r.stdout}\n${r.stderr}`.trim() };
}

for (const verifier of VERIFIERS) {
  Deno.test({
    name: verifier.cli
      ? `peer sigstore: mock Sigstore bundle of a model-verify statement, verified by ${verifier.impl}`
      : `peer sigstore: ${verifier.missing}`,
    ignore: verifier.cli === undefined,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await using dir = await tempDir();
      const model = await writeModel(join(dir.path, "model"), CASE.files);
      const keys = await writeKeyPair(dir.path);
      const keySignature = join(dir.path, "key.sig");
      await signWithKey(model, keys.privateKey, "--signature", keySignature, "--quiet");
      const envelope = JSON.parse(await Deno.readTextFile(keySignature)).dsseEnvelope;
      const payload = Uint8Array.from(atob(envelope.payload), (c) => c.charCodeAt(0));

      await using sigstore = await VirtualSigstore.start();
      const bundle = await sigstore.attest(payload) as {
        verificationMaterial: { tlogEntries: { inclusionProof: Record<string, unknown> }[] };
      };
      // Fields proto3 JSON leaves out when zero or empty, which sigstore-python's parser requires.
      for (const entry of bundle.verificationMaterial.tlogEntries) {
        entry.inclusionProof.logIndex ??= "0";
        entry.inclusionProof.hashes ??= [];
      }
      const signature = join(dir.path, "model.sig");
      await Deno.writeTextFile(signature, JSON.stringify(bundle));
      const config = sigstore.clientTrustConfig() as {
        signingConfig: Record<string, unknown>;
      };
      for (const urls of Object.values(config.signingConfig)) {
        if (!Array.isArray(urls)) continue;
        for (const url of urls as Record<string, unknown>[]) url.operator ??= "mock.example";
      }
      const trustConfig = join(dir.path, "trust_config.json");
      await Deno.writeTextFile(trustConfig, JSON.stringify(config));
      const tampered = join(dir.path, "tampered");
      await writeModel(tampered, CASE.files);
      await Deno.writeFile(join(tampered, CASE.tamper), new Uint8Array([0x58]), { append: true });

      const good = await verify(verifier.impl, verifier.cli!, model, signature, trustConfig);
      const bad = await verify(verifier.impl, verifier.cli!, tampered, signature, trustConfig);
      const want = expected(CASE, "model-verify", verifier.impl);
      if (good.outcome !== want.outcome.verify || bad.outcome !== want.outcome.tamper) {
        throw new Error(
          `${verifier.impl}: expected verify ${want.outcome.verify}, tampered ${want.outcome.tamper}` +
            `${
              want.names.length ? ` (known: ${want.names.join(", ")})` : ""
            }; got ${good.outcome}, ` +
            `${bad.outcome}\n  verify: ${good.text.slice(-800)}\n  tampered: ${
              bad.text.slice(-800)
            }`,
        );
      }
    },
  });
}
