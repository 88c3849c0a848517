/**
 * `sign [sigstore]` end to end against a Sigstore on 127.0.0.1 (`@sigstore/mock` Fulcio, Rekor
 * v1 and TSA) and a local OIDC provider: every signature made is verified by `verify sigstore`
 * with the same trust config and the exact identity and issuer.
 */

import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { runCli, SAMPLE_MODEL, tempDir, writeModel } from "./_helpers.ts";
import { OidcProvider } from "./_fixtures/oidc_provider.ts";
import { TRUST_START, VirtualSigstore } from "./_fixtures/virtual_sigstore.ts";

/** A Sigstore, an OIDC provider, a model and a ClientTrustConfig naming both. */
async function stack(edit: (config: Record<string, unknown>) => void = () => {}) {
  const now = Date.now();
  // Fixed clocks: the certificate from now on, the TSA 30 s later (inside its 10 minutes).
  const sigstore = await VirtualSigstore.start({
    fulcio: new Date(now),
    tsa: new Date(now + 30_000),
  });
  const oidc = await OidcProvider.start();
  const dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const config = sigstore.clientTrustConfig();
  const signing = config.signingConfig as Record<string, unknown>;
  signing.oidcUrls = [{ url: oidc.issuer, majorApiVersion: 1, validFor: { start: TRUST_START } }];
  edit(config);
  const trustConfig = join(dir.path, "trust_config.json");
  await Deno.writeTextFile(trustConfig, JSON.stringify(config));
  return {
    sigstore,
    oidc,
    dir,
    model,
    trustConfig,
    signature: join(model, "model.sig"),
    async [Symbol.asyncDispose]() {
      await sigstore[Symbol.asyncDispose]();
      await oidc[Symbol.asyncDispose]();
      await dir[Symbol.asyncDispose]();
    },
  };
}

type Stack = Awaited<ReturnType<typeof stack>>;

function verifyArgs(s: Stack, identity: string, issuer = s.oidc.issuer): string[] {
  return [
    "verify",
    "sigstore",
    "--identity",
    identity,
    "--identity-provider",
    issuer,
    "--trust-config",
    s.trustConfig,
    s.model,
  ];
}

Deno.test("sign with --identity-token, then verify sigstore with the printed identity", async () => {
  await using s = await stack();
  const token = await s.oidc.token();
  const signed = await runCli([
    "sign",
    "--trust-config",
    s.trustConfig,
    "--identity-token",
    token,
    s.model,
  ]);
  assertEquals(signed.code, 0, signed.stderr);
  assertStringIncludes(signed.stdout, `identity:    ${s.oidc.subject}`);
  assertStringIncludes(signed.stdout, `issuer:      ${s.oidc.issuer}`);
  assertStringIncludes(signed.stdout, "model-verify verify sigstore --identity");
  const verified = await runCli(verifyArgs(s, s.oidc.subject));
  assertEquals(verified.code, 0, verified.stderr);
  const wrong = await runCli(verifyArgs(s, "https://example.com/users/mallory"));
  assertEquals(wrong.code, 1);
  assertStringIncludes(wrong.stderr, "identity");
});
