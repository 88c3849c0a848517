/**
 * Keyless signatures made by `sign sigstore` verified by the Go model-signing CLI and by Python
 * model_signing (peers installed by scripts/install_peers.sh, located by `_peers.ts`), against the same local
 * Sigstore and trust config. Each test is skipped when its peer is not installed.
 */

import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { runCli, SAMPLE_MODEL, tempDir, writeModel } from "./_helpers.ts";
import { OidcProvider } from "./_fixtures/oidc_provider.ts";
import { VirtualSigstore } from "./_fixtures/virtual_sigstore.ts";
import { GO_PEER as GO, PYTHON_PEER as PYTHON } from "./_peers.ts";

const GO_PEER = GO.cli ?? "";
const HAS_GO_PEER = GO.cli !== undefined;

Deno.test({
  name: HAS_GO_PEER
    ? "the Go model-signing CLI verifies a keyless signature of sign sigstore"
    : `Go peer interop skipped: ${GO.missing}`,
  ignore: !HAS_GO_PEER,
  async fn() {
    const now = Date.now();
    await using sigstore = await VirtualSigstore.start({
      fulcio: new Date(now),
      tsa: new Date(now + 30_000),
    });
    await using oidc = await OidcProvider.start();
    await using dir = await tempDir();
    const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
    const trustConfig = join(dir.path, "trust_config.json");
    await Deno.writeTextFile(trustConfig, JSON.stringify(sigstore.clientTrustConfig()));
    const signed = await runCli(
      ["sign", "--trust-config", trustConfig, "--identity-token", await oidc.token(), model],
    );
    assertEquals(signed.code, 0, signed.stderr);
    const goVerify = async (identity: string) => (await new Deno.Command(GO_PEER, {
      args: [
        "verify",
        "sigstore",
        "--identity",
        identity,
        "--identity-provider",
        oidc.issuer,
        "--trust-config",
        trustConfig,
        "--signature",
        join(model, "model.sig"),
        model,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output());
    const good = await goVerify(oidc.subject);
    assertEquals(good.code, 0, new TextDecoder().decode(good.stderr));
    const wrong = await goVerify("https://example.com/users/mallory");
    assertEquals(wrong.code !== 0, true);
    assertStringIncludes(new TextDecoder().decode(wrong.stderr).toLowerCase(), "identit");
  },
});

const PYTHON_PEER = PYTHON.cli ?? "";
const HAS_PYTHON_PEER = PYTHON.cli !== undefined;

/**
 * A Rekor front end that stores verifiers as real Rekor does: the certificate re-encoded as
 * canonical PEM (64-column lines, final newline). The mock stores the client's PEM as sent, which
 * sigstore-python compares byte for byte.
 */
function canonicalRekor(sigstore: VirtualSigstore) {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const proposed = JSON.parse(await req.text());
    const content = proposed?.spec?.proposedContent;
    if (content?.verifiers) {
      content.verifiers = content.verifiers.map((v: string) => {
        const pem = atob(v);
        const body = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
        const canonical = `-----BEGIN CERTIFICATE-----\n${
          body.match(/.{1,64}/g)!.join("\n")
        }\n-----END CERTIFICATE-----\n`;
        return btoa(canonical);
      });
    }
    const answer = await fetch(`${sigstore.baseURL}${path}`, {
      method: "POST",
      body: JSON.stringify(proposed),
      headers: { "content-type": "application/json" },
    });
    return new Response(await answer.arrayBuffer(), {
      status: answer.status,
      headers: { "content-type": answer.headers.get("content-type") ?? "application/json" },
    });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test({
  name: HAS_PYTHON_PEER
    ? "model_signing (Python) verifies a keyless signature of sign sigstore"
    : `Python peer interop skipped: ${PYTHON.missing}`,
  ignore: !HAS_PYTHON_PEER,
  async fn() {
    const now = Date.now();
    await using sigstore = await VirtualSigstore.start({
      fulcio: new Date(now),
      tsa: new Date(now + 30_000),
    });
    await using rekor = canonicalRekor(sigstore);
    await using oidc = await OidcProvider.start();
    await using dir = await tempDir();
    const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
    const config = sigstore.clientTrustConfig() as {
      signingConfig: Record<string, { url: string; operator?: string }[]>;
    };
    config.signingConfig.rekorTlogUrls![0]!.url = rekor.url;
    // sigstore-python requires an operator on every service.
    for (const list of ["caUrls", "rekorTlogUrls", "tsaUrls"]) {
      for (const service of config.signingConfig[list]!) service.operator = "test";
    }
    const trustConfig = join(dir.path, "trust_config.json");
    await Deno.writeTextFile(trustConfig, JSON.stringify(config));
    const signed = await runCli(
      ["sign", "--trust-config", trustConfig, "--identity-token", await oidc.token(), model],
    );
    assertEquals(signed.code, 0, signed.stderr);
    const pyVerify = async (identity: string) =>
      await new Deno.Command(PYTHON_PEER, {
        args: [
          "verify",
          "sigstore",
          "--identity",
          identity,
          "--identity_provider",
          oidc.issuer,
          "--trust_config",
          trustConfig,
          "--signature",
          join(model, "model.sig"),
          model,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const good = await pyVerify(oidc.subject);
    assertEquals(good.code, 0, new TextDecoder().decode(good.stderr));
    const wrong = await pyVerify("https://example.com/users/mallory");
    assertEquals(wrong.code !== 0, true);
    assertStringIncludes(new TextDecoder().decode(wrong.stderr), "mallory");
  },
});
