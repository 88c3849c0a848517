import { assert, assertEquals, assertFailsWith } from "../../tests/_assert.ts";
import { TrustMaterialError } from "../errors.ts";
import { embeddedProductionTrustedRootJson } from "./embedded.ts";
import { CLIENT_TRUST_CONFIG_MEDIA_TYPE, parseTrustConfig } from "./trust_config.ts";

type Json = Record<string, unknown>;

function productionRoot(): Json {
  return JSON.parse(embeddedProductionTrustedRootJson());
}

function clientTrustConfig(trustedRoot: unknown): Json {
  return {
    mediaType: CLIENT_TRUST_CONFIG_MEDIA_TYPE,
    trustedRoot,
    signingConfig: { mediaType: "application/vnd.dev.sigstore.signingconfig.v0.2+json" },
  };
}

Deno.test("parseTrustConfig() reads a bare trusted_root.json", () => {
  const { trustedRoot, trustMaterial } = parseTrustConfig(
    JSON.stringify(productionRoot()),
    "root.json",
  );
  assert(trustedRoot.certificateAuthorities.length >= 1);
  assert(trustedRoot.tlogs.length >= 1);
  assertEquals(trustMaterial.tlogs.length, trustedRoot.tlogs.length);
});

Deno.test("parseTrustConfig() reads the trustedRoot of a ClientTrustConfig", () => {
  const { trustedRoot } = parseTrustConfig(
    JSON.stringify(clientTrustConfig(productionRoot())),
    "config.json",
  );
  assertEquals(trustedRoot.ctlogs.length, (productionRoot().ctlogs as unknown[]).length);
});

Deno.test("parseTrustConfig() accepts the v0.2 trusted root media type", () => {
  const root = {
    ...productionRoot(),
    mediaType: "application/vnd.dev.sigstore.trustedroot.v0.2+json",
  };
  assert(parseTrustConfig(JSON.stringify(root), "root.json").trustedRoot.tlogs.length > 0);
});

Deno.test("parseTrustConfig() rejects malformed or unusable trust configurations", async (t) => {
  const withoutTlogs = { ...productionRoot(), tlogs: [] };
  const badCertificate = productionRoot();
  (badCertificate.certificateAuthorities as Json[])[0] = {
    ...(badCertificate.certificateAuthorities as Json[])[0],
    certChain: { certificates: [{ rawBytes: btoa("not a certificate") }] },
  };
  const tlogWithoutStart = productionRoot();
  const tlog = (tlogWithoutStart.tlogs as Json[])[0]!;
  (tlog.publicKey as Json).validFor = {};
  const cases: [string, string][] = [
    ["not JSON", "{"],
    ["a JSON array", "[]"],
    ["no mediaType", JSON.stringify({ ...productionRoot(), mediaType: undefined })],
    ["an unknown mediaType", JSON.stringify({ ...productionRoot(), mediaType: "text/plain" })],
    [
      "a ClientTrustConfig without trustedRoot",
      JSON.stringify({ mediaType: CLIENT_TRUST_CONFIG_MEDIA_TYPE }),
    ],
    [
      "a ClientTrustConfig whose trustedRoot has a wrong mediaType",
      JSON.stringify(clientTrustConfig({ ...productionRoot(), mediaType: "x" })),
    ],
    ["a root without transparency logs", JSON.stringify(withoutTlogs)],
    ["a root with an unparsable CA certificate", JSON.stringify(badCertificate)],
    ["a tlog key without validFor.start", JSON.stringify(tlogWithoutStart)],
  ];
  for (const [name, text] of cases) {
    await t.step(name, async () => {
      await assertFailsWith(
        () => parseTrustConfig(text, "trust.json"),
        TrustMaterialError,
        "TRUST_CONFIG_INVALID",
      );
    });
  }
});
