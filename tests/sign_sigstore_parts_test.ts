/**
 * The parts of keyless signing one at a time: token checks, the identity Fulcio is expected to
 * certify, service selection from a signing config, the `sign sigstore` configuration and the
 * signature writer.
 */

import { SigningConfig } from "@sigstore/protobuf-specs";
import { assertEquals, assertFailsWith, assertStringIncludes } from "./_assert.ts";
import { ConfigError, TrustMaterialError } from "../lib/errors.ts";
import { parseArgs } from "../lib/config/parse_args.ts";
import { resolveSigstoreSignConfig } from "../lib/config/resolve_config.ts";
import {
  expectedIdentity,
  GITHUB_ACTIONS_ISSUER,
  parseIdentityToken,
} from "../lib/sign/identity_token.ts";
import { SigningError } from "../lib/sign/signing_error.ts";
import { interactiveIdentityToken } from "../lib/sign/oidc_flow.ts";
import { OidcProvider } from "./_fixtures/oidc_provider.ts";
import { chooseServices } from "../lib/trust/signing_config.ts";

const NOW = new Date("2026-06-01T00:00:00Z");
const SECONDS = NOW.getTime() / 1000;

function jwt(claims: Record<string, unknown>): string {
  const part = (v: unknown) => btoa(JSON.stringify(v)).replaceAll("=", "").replaceAll("+", "-");
  return `${part({ alg: "ES256" })}.${part(claims)}.c2ln`;
}

const BASE = { iss: "https://issuer.example", sub: "alice", aud: "sigstore", exp: SECONDS + 60 };

function parse(claims: Record<string, unknown>) {
  return parseIdentityToken(jwt(claims), { audience: "sigstore", source: "test", now: NOW });
}

Deno.test("parseIdentityToken() checks expiry, not-before, audience and required claims", async () => {
  assertEquals(parse(BASE).subject, "alice");
  assertEquals(parse({ ...BASE, aud: ["other", "sigstore"] }).issuer, "https://issuer.example");
  const failures: [Record<string, unknown>, string][] = [
    [{ ...BASE, exp: SECONDS }, "TOKEN_EXPIRED"],
    [{ ...BASE, nbf: SECONDS + 3600 }, "TOKEN_NOT_YET_VALID"],
    [{ ...BASE, aud: "other" }, "TOKEN_WRONG_AUDIENCE"],
    [{ ...BASE, aud: undefined }, "TOKEN_WRONG_AUDIENCE"],
    [{ ...BASE, exp: "soon" }, "TOKEN_MALFORMED"],
    [{ ...BASE, iss: "" }, "TOKEN_MALFORMED"],
    [{ ...BASE, sub: undefined }, "TOKEN_MALFORMED"],
    [{ ...BASE, email: "a@b.c" }, "TOKEN_EMAIL_UNVERIFIED"],
  ];
  for (const [claims, code] of failures) {
    await assertFailsWith(() => parse(claims), SigningError, code);
  }
  for (const raw of ["", "a.b", "a.b.c.d", "a!.b.c", `x.${btoa("[1]")}.y`, "x".repeat(70_000)]) {
    await assertFailsWith(
      () => parseIdentityToken(raw, { audience: "sigstore", source: "t", now: NOW }),
      SigningError,
      "TOKEN_MALFORMED",
    );
  }
});

Deno.test("expectedIdentity() maps email, GitHub Actions, Kubernetes and federated tokens", () => {
  assertEquals(
    expectedIdentity(parse({ ...BASE, email: "a@b.c", email_verified: true })),
    { identity: "a@b.c", issuer: BASE.iss },
  );
  assertEquals(
    expectedIdentity(parse({
      ...BASE,
      iss: GITHUB_ACTIONS_ISSUER,
      sub: "repo:acme/models:ref:refs/heads/main",
      job_workflow_ref: "acme/models/.github/workflows/sign.yml@refs/heads/main",
    })),
    {
      identity: "https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main",
      issuer: GITHUB_ACTIONS_ISSUER,
    },
  );
  assertEquals(
    expectedIdentity(parse({ ...BASE, sub: "system:serviceaccount:ml:signer" })),
    { identity: "https://kubernetes.io/namespaces/ml/serviceaccounts/signer", issuer: BASE.iss },
  );
  assertEquals(
    expectedIdentity(parse({
      ...BASE,
      iss: "https://oauth2.sigstore.dev/auth",
      email: "a@b.c",
      email_verified: true,
      federated_claims: { connector_id: "https://github.com/login/oauth", user_id: "1" },
    })),
    { identity: "a@b.c", issuer: "https://github.com/login/oauth" },
  );
  assertEquals(expectedIdentity(parse(BASE)), { issuer: BASE.iss });
});

function signingConfig(json: Record<string, unknown>): SigningConfig {
  return SigningConfig.fromJSON({
    mediaType: "application/vnd.dev.sigstore.signingconfig.v0.2+json",
    caUrls: [{
      url: "https://fulcio",
      majorApiVersion: 1,
      validFor: { start: "2020-01-01T00:00:00Z" },
    }],
    ...json,
  });
}

const V = (url: string, version: number, start: string, extra: Record<string, unknown> = {}) => ({
  url,
  majorApiVersion: version,
  validFor: { start, ...extra },
  operator: extra.operator ?? url,
});

Deno.test("chooseServices() picks valid services, highest version and newest first, per selector", async () => {
  const config = signingConfig({
    caUrls: [
      V("https://old-ca", 1, "2020-01-01T00:00:00Z"),
      V("https://new-ca", 1, "2025-01-01T00:00:00Z"),
      V("https://ended-ca", 1, "2025-06-01T00:00:00Z", { end: "2026-01-01T00:00:00Z" }),
      V("https://future-ca", 1, "2027-01-01T00:00:00Z"),
      V("https://v2-ca", 2, "2025-01-01T00:00:00Z"),
    ],
    rekorTlogUrls: [
      V("https://rekor-v1", 1, "2022-01-01T00:00:00Z"),
      V("https://rekor-v2", 2, "2025-01-01T00:00:00Z"),
      V("https://rekor-v3", 3, "2025-01-01T00:00:00Z"),
    ],
    rekorTlogConfig: { selector: "ANY" },
    tsaUrls: [
      V("https://tsa-a", 1, "2024-01-01T00:00:00Z"),
      V("https://tsa-b", 1, "2024-01-01T00:00:00Z"),
    ],
    tsaConfig: { selector: "ALL" },
    oidcUrls: [V("https://oauth2", 1, "2020-01-01T00:00:00Z")],
  });
  const chosen = chooseServices(config, "test", NOW);
  assertEquals(chosen.ca.url, "https://new-ca");
  assertEquals(chosen.tlogs.map((s) => s.url), ["https://rekor-v2"]);
  assertEquals(chosen.tsas.map((s) => s.url), ["https://tsa-a", "https://tsa-b"]);
  assertEquals(chosen.oidc?.url, "https://oauth2");
  const exact = signingConfig({
    tsaUrls: [V("https://tsa-a", 1, "2024-01-01T00:00:00Z")],
    tsaConfig: { selector: "EXACT", count: 2 },
  });
  await assertFailsWith(
    () => chooseServices(exact, "test", NOW),
    TrustMaterialError,
    "SIGNING_CONFIG_INVALID",
  );
  const noCa = signingConfig({ caUrls: [V("https://v2-ca", 2, "2025-01-01T00:00:00Z")] });
  await assertFailsWith(
    () => chooseServices(noCa, "test", NOW),
    TrustMaterialError,
    "SIGNING_CONFIG_NO_CA",
  );
  await assertFailsWith(
    () => chooseServices(signingConfig({}), "test", NOW),
    TrustMaterialError,
    "SIGNING_CONFIG_NO_TIME",
  );
  const v2Only = signingConfig({
    rekorTlogUrls: [V("https://rekor-v2", 2, "2025-01-01T00:00:00Z")],
    rekorTlogConfig: { selector: "ANY" },
  });
  await assertFailsWith(
    () => chooseServices(v2Only, "test", NOW),
    TrustMaterialError,
    "SIGNING_CONFIG_NO_TIME",
  );
});

Deno.test("resolveSigstoreSignConfig() reads flags and MODEL_SIGNING_* twins", async () => {
  const resolve = (argv: string[], env: Record<string, string> = {}) =>
    resolveSigstoreSignConfig(parseArgs(argv), { env, cwd: "/w" });
  const fromEnv = resolve(["sign", "m"], {
    MODEL_SIGNING_IDENTITY_TOKEN_FILE: "tok",
    MODEL_SIGNING_USE_AMBIENT_CREDENTIALS: "yes",
    MODEL_SIGNING_CLIENT_ID: "kube",
    MODEL_SIGNING_CLIENT_SECRET: "s",
    MODEL_SIGNING_TRUST_CONFIG: "tc.json",
    MODEL_SIGNING_OAUTH_FORCE_OOB: "1",
  });
  assertEquals(
    [
      fromEnv.identityTokenPath,
      fromEnv.useAmbientCredentials,
      fromEnv.clientId,
      fromEnv.clientSecret,
      fromEnv.trustConfigPath,
      fromEnv.oauthForceOob,
      fromEnv.signaturePath,
    ],
    ["/w/tok", true, "kube", "s", "/w/tc.json", true, "/w/m/model.sig"],
  );
  const flags = resolve([
    "sign",
    "sigstore",
    "--identity_token",
    "t",
    "--hash-type",
    "blake3",
    "m",
  ]);
  assertEquals([flags.identityToken, flags.clientId, flags.hashType], ["t", "sigstore", "blake3"]);
  await assertFailsWith(
    () => resolve(["sign", "--identity-token", "t", "--identity-token-file", "f", "m"]),
    ConfigError,
    "CONFLICTING_OPTIONS",
  );
  await assertFailsWith(
    () => resolve(["sign", "--use-staging", "--trust-config", "x", "m"]),
    ConfigError,
    "CONFLICTING_OPTIONS",
  );
  await assertFailsWith(
    () => resolve(["sign", "--offline", "m"]),
    ConfigError,
    "OPTION_NOT_APPLICABLE",
  );
});

Deno.test("interactiveIdentityToken() fails on a refused sign-in and times out on a forged state", async () => {
  await using oidc = await OidcProvider.start();
  const flow = (browser: (url: URL) => Promise<void>, timeoutMs = 30_000) =>
    interactiveIdentityToken({
      issuer: oidc.issuer,
      clientId: "sigstore",
      forceOob: false,
      print: () => {},
      openBrowser: (url) => browser(new URL(url)),
      timeoutMs,
    });
  const callback = (url: URL, params: Record<string, string>) => {
    const target = new URL(url.searchParams.get("redirect_uri")!);
    for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
    return fetch(target).then((r) => r.body?.cancel());
  };
  const refused = await assertFailsWith(
    () =>
      flow((url) =>
        callback(url, { error: "access_denied", state: url.searchParams.get("state")! })
      ),
    SigningError,
    "OAUTH_FAILED",
  );
  assertStringIncludes(refused.message, "access_denied");
  // A callback with another state is answered 400 and ignored; the flow ends at its deadline.
  await assertFailsWith(
    () => flow((url) => callback(url, { code: "stolen", state: "forged" }), 300),
    SigningError,
    "OAUTH_TIMEOUT",
  );
  // The regular flow: the provider redirects to the listener, the code is redeemed with PKCE.
  const token = await flow(async (url) => {
    const response = await fetch(url);
    await response.body?.cancel();
  });
  assertEquals(
    parseIdentityToken(token, { audience: "sigstore", source: "t" }).issuer,
    oidc.issuer,
  );
});
