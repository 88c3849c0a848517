/**
 * Keyless signatures made by `sign sigstore` verified by the Go model-signing CLI (a peer built
 * into `~/.cache/model-verify/peers`), against the same local Sigstore and trust config. Skipped
 * when the peer is not installed.
 */

import { join } from "node:path";
import { assertEquals, assertStringIncludes } from "./_assert.ts";
import { runCli, SAMPLE_MODEL, tempDir, writeModel } from "./_helpers.ts";
import { OidcProvider } from "./_fixtures/oidc_provider.ts";
import { VirtualSigstore } from "./_fixtures/virtual_sigstore.ts";

const GO_PEER = join(Deno.env.get("HOME") ?? "/", ".cache/model-verify/peers/go/bin/model-signing");
const HAS_GO_PEER = await Deno.stat(GO_PEER).then((s) => s.isFile, () => false);

Deno.test({
  name: HAS_GO_PEER
    ? "the Go model-signing CLI verifies a keyless signature of sign sigstore"
    : `Go peer interop skipped: ${GO_PEER} is absent`,
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
