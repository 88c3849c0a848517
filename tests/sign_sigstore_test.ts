// deno-lint-ignore-file no-explicit-any -- bundle JSON is walked by field name in assertions
/**
 * `sign [sigstore]` end to end against a Sigstore on 127.0.0.1 (`@sigstore/mock` Fulcio, Rekor
 * v1 and TSA) and a local OIDC provider: every signature made is verified by `verify sigstore`
 * with the same trust config and the exact identity and issuer.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { compilePermissionFlags } from "./_compile_flags.ts";
import { TrustMaterialError } from "../lib/errors.ts";
import { SigningError } from "../lib/sign/signing_error.ts";
import {
  INTEROP_DIR,
  REPO_ROOT,
  runCli,
  SAMPLE_MODEL,
  tempDir,
  writeKeyPair,
  writeModel,
} from "./_helpers.ts";
import { parseArgs } from "../lib/config/parse_args.ts";
import { signSigstoreCommand } from "../lib/sign/sigstore_command.ts";
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

Deno.test("the keyless bundle has model_signing 1.1's structure and sign key's payload", async () => {
  await using s = await stack();
  const signed = await runCli([
    "sign",
    "sigstore",
    "--trust_config",
    s.trustConfig,
    "--identity_token",
    await s.oidc.token(),
    s.model,
  ]);
  assertEquals(signed.code, 0, signed.stderr);
  const ours = JSON.parse(await Deno.readTextFile(s.signature));
  // The payload is byte for byte what `sign key` writes for the same model.
  await Deno.remove(s.signature);
  const keys = await writeKeyPair(s.dir.path);
  const byKey = await runCli(["sign", "key", "--private-key", keys.privateKey, s.model]);
  assertEquals(byKey.code, 0, byKey.stderr);
  const keyBundle = JSON.parse(await Deno.readTextFile(s.signature));
  assertEquals(ours.dsseEnvelope.payload, keyBundle.dsseEnvelope.payload);
  const reference = INTEROP_DIR
    ? JSON.parse(
      await Deno.readTextFile(
        join(INTEROP_DIR, "model-transparency", "v1.1.0-sigstore", "model.sig"),
      ),
    )
    : undefined;
  for (const bundle of reference ? [ours, reference] : [ours]) {
    assertEquals(shape(bundle), {
      keys: ["dsseEnvelope", "mediaType", "verificationMaterial"],
      mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
      material: ["certificate", "timestampVerificationData", "tlogEntries"],
      tlog: [{
        kind: "dsse",
        version: "0.0.1",
        promise: true,
        proof: true,
        proofFields: ["checkpoint", "hashes", "logIndex", "rootHash", "treeSize"],
        body: true,
      }],
      timestamps: 1,
      payloadType: "application/vnd.in-toto+json",
      signatures: [["sig"]],
    });
  }
});

/** The parts of a bundle model_signing's structure fixes. */
function shape(bundle: Record<string, any>) {
  const material = bundle.verificationMaterial;
  return {
    keys: Object.keys(bundle).sort(),
    mediaType: bundle.mediaType,
    material: Object.keys(material).sort(),
    tlog: material.tlogEntries.map((e: Record<string, any>) => ({
      kind: e.kindVersion.kind,
      version: e.kindVersion.version,
      promise: typeof e.inclusionPromise?.signedEntryTimestamp === "string",
      proof: typeof e.inclusionProof?.checkpoint?.envelope === "string",
      proofFields: Object.keys(e.inclusionProof ?? {}).sort(),
      body: typeof e.canonicalizedBody === "string",
    })),
    timestamps: material.timestampVerificationData.rfc3161Timestamps.length,
    payloadType: bundle.dsseEnvelope.payloadType,
    signatures: bundle.dsseEnvelope.signatures.map((s: object) => Object.keys(s)),
  };
}

Deno.test("the token comes from MODEL_SIGNING_IDENTITY_TOKEN, SIGSTORE_ID_TOKEN or a token file", async () => {
  await using s = await stack();
  const tokenFile = join(s.dir.path, "token");
  await Deno.writeTextFile(tokenFile, (await s.oidc.token()) + "\n");
  const cases: [string[], Record<string, string>][] = [
    [[], { MODEL_SIGNING_IDENTITY_TOKEN: await s.oidc.token() }],
    [[], { SIGSTORE_ID_TOKEN: await s.oidc.token() }],
    [["--identity-token-file", tokenFile], {}],
    [[], { MODEL_SIGNING_IDENTITY_TOKEN_FILE: tokenFile }],
  ];
  for (const [flags, env] of cases) {
    await Deno.remove(s.signature).catch(() => {});
    const signed = await runCli(["sign", "--trust-config", s.trustConfig, ...flags, s.model], {
      env: { ...env, MODEL_SIGNING_QUIET: "true" },
    });
    assertEquals(signed.code, 0, `${JSON.stringify(env)} ${flags}: ${signed.stderr}`);
    assertEquals((await runCli(verifyArgs(s, s.oidc.subject))).code, 0);
  }
});

Deno.test("--use-ambient-credentials takes a GitHub Actions token for audience sigstore", async () => {
  await using s = await stack();
  s.oidc.subject = "https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main";
  const env = s.oidc.actionsEnv();
  const without = await runCli(["sign", "--trust-config", s.trustConfig, s.model], { env });
  assertEquals(without.code, 2, "ambient credentials are used only when asked for");
  assertStringIncludes(without.stderr, "--use_ambient_credentials");
  const signed = await runCli(
    ["sign", "--trust-config", s.trustConfig, "--use-ambient-credentials", s.model],
    { env },
  );
  assertEquals(signed.code, 0, signed.stderr);
  assert(s.oidc.requests.includes("GET /actions/token"));
  assertEquals((await runCli(verifyArgs(s, s.oidc.subject))).code, 0);
  const denied = await runCli(
    ["sign", "--trust-config", s.trustConfig, "--use-ambient-credentials", s.model],
    { env: { ...env, ACTIONS_ID_TOKEN_REQUEST_TOKEN: "wrong" } },
  );
  assertEquals(denied.code, 1);
  assertStringIncludes(denied.stderr, "GitHub Actions token service");
  assertStringIncludes(denied.stderr, "HTTP 401");
});

Deno.test("--use-ambient-credentials reads the Kubernetes token file", async () => {
  await using s = await stack();
  const k8sToken = join(s.dir.path, "oidc-token");
  s.oidc.subject = "system:serviceaccount:models:signer";
  await Deno.writeTextFile(k8sToken, await s.oidc.token());
  const text = await signSigstoreCommand(
    parseArgs(["sign", "--trust-config", s.trustConfig, "--use-ambient-credentials", s.model]),
    {
      env: {},
      cwd: s.dir.path,
      stderr: () => {},
      signDeps: { kubernetesTokenPath: k8sToken },
    },
  ).then((signed) => signed.text, (error) => String(error));
  // The mock Fulcio certifies `sub` as a URI; real Fulcio writes the service-account URI, which
  // is what the signer expects for a Kubernetes token, so it refuses to write this signature.
  assertStringIncludes(text, "https://kubernetes.io/namespaces/models/serviceaccounts/signer");
  await assertMissing(s.signature);
});

Deno.test("no token and no terminal is a usage error, never a wait", async () => {
  await using s = await stack();
  const result = await runCli(["sign", "--trust-config", s.trustConfig, s.model]);
  assertEquals(result.code, 2);
  assertStringIncludes(result.stderr, "No identity token");
  await assertMissing(s.signature);
});

Deno.test("expired, malformed and wrong-audience tokens fail before any service is called", async () => {
  await using s = await stack();
  const cases: [string, string][] = [
    [await s.oidc.token({ expiresIn: -10 }), "expired"],
    ["not-a-jwt", "not a usable OIDC token"],
    [await s.oidc.token({ audience: "kubernetes" }), "not 'sigstore'"],
    [
      await s.oidc.token({ claims: { email: "a@example.com", email_verified: false } }),
      "not verified",
    ],
  ];
  for (const [token, message] of cases) {
    const result = await runCli(
      ["sign", "--trust-config", s.trustConfig, "--identity-token", token, s.model],
    );
    assertEquals(result.code, 1, message);
    assertStringIncludes(result.stderr, message);
    assertStringIncludes(result.stderr, "--identity_token");
    await assertMissing(s.signature);
  }
  // --client-id changes the audience the token must carry.
  const custom = await runCli([
    "sign",
    "--trust-config",
    s.trustConfig,
    "--client-id",
    "kubernetes",
    "--identity-token",
    await s.oidc.token({ audience: ["x", "kubernetes"] }),
    s.model,
  ]);
  assertEquals(custom.code, 0, custom.stderr);
});

Deno.test("a certificate for another identity than the token's is never written", async () => {
  await using s = await stack();
  // The mock Fulcio certifies `sub`; real Fulcio would certify the verified email.
  const token = await s.oidc.token({
    claims: { email: "alice@example.com", email_verified: true },
  });
  const result = await runCli(
    ["sign", "--trust-config", s.trustConfig, "--identity-token", token, s.model],
  );
  assertEquals(result.code, 1);
  assertStringIncludes(result.stderr, "certified another identity");
  assertStringIncludes(result.stderr, "alice@example.com");
  await assertMissing(s.signature);
});

Deno.test("an unreachable or failing Fulcio, Rekor or TSA is named with its URL", async () => {
  const closed = await closedPort();
  const cases: [string, (config: Record<string, any>, oidc: string) => void, string][] = [
    ["Fulcio", (c) => c.signingConfig.caUrls[0].url = `http://127.0.0.1:${closed}`, "Fulcio at"],
    ["Rekor", (c, oidc) => c.signingConfig.rekorTlogUrls[0].url = oidc, "Rekor v1 at"],
    ["TSA", (c, oidc) => c.signingConfig.tsaUrls[0].url = oidc, "timestamp authority at"],
  ];
  for (const [name, edit, message] of cases) {
    await using s = await stack();
    const oidcURL = s.oidc.issuer;
    const config = JSON.parse(await Deno.readTextFile(s.trustConfig));
    edit(config, oidcURL);
    await Deno.writeTextFile(s.trustConfig, JSON.stringify(config));
    const token = await s.oidc.token();
    const result = await runCli(
      ["sign", "--trust-config", s.trustConfig, "--identity-token", token, s.model],
    );
    assertEquals(result.code, 1, name);
    assert(!result.stderr.includes(token), "the token never appears in a message");
    assertStringIncludes(result.stderr, message);
    assertStringIncludes(result.stderr, name === "Fulcio" ? `:${closed}` : oidcURL);
    await assertMissing(s.signature);
    assertEquals(await leftovers(s.model), []);
  }
});

Deno.test("a trust config without a signingConfig or without a CA is a configuration error", async () => {
  await using s = await stack((config) => {
    (config.signingConfig as Record<string, unknown>).caUrls = [];
  });
  const token = await s.oidc.token();
  const noCa = await runCli(
    ["sign", "--trust-config", s.trustConfig, "--identity-token", token, s.model],
  );
  assertEquals(noCa.code, 2);
  assertStringIncludes(noCa.stderr, "no certificate authority");
  const bare = join(s.dir.path, "trusted_root.json");
  await Deno.writeTextFile(bare, JSON.stringify(s.sigstore.trustedRoot()));
  const noSigning = await runCli([
    "sign",
    "--trust-config",
    bare,
    "--identity-token",
    token,
    s.model,
  ]);
  assertEquals(noSigning.code, 2);
  assertStringIncludes(noSigning.stderr, "no signingConfig");
  const both = await runCli(["sign", "--use-staging", "--trust-config", bare, s.model]);
  assertEquals(both.code, 2);
  const keyOnly = await runCli(["sign", "--public-key", "k.pem", s.model]);
  assertEquals(keyOnly.code, 2);
  assertStringIncludes(keyOnly.stderr, "does not apply to 'sign sigstore'");
  await assertMissing(s.signature);
});

Deno.test("a symbolic link at the signature path is replaced, never written through", async () => {
  await using s = await stack();
  const target = join(s.dir.path, "elsewhere.txt");
  await Deno.writeTextFile(target, "keep");
  await Deno.symlink(target, s.signature);
  const result = await runCli(
    ["sign", "--trust-config", s.trustConfig, "--identity-token", await s.oidc.token(), s.model],
  );
  assertEquals(result.code, 0, result.stderr);
  assertEquals((await Deno.lstat(s.signature)).isSymlink, false);
  assertEquals(await Deno.readTextFile(target), "keep");
  assertEquals(await leftovers(s.model), []);
});

Deno.test("on a terminal, the browser sign-in (auth code + PKCE, loopback redirect) signs", async () => {
  await using s = await stack();
  const printed: string[] = [];
  const { text } = await signSigstoreCommand(
    parseArgs(["sign", "--trust-config", s.trustConfig, s.model]),
    {
      env: {},
      cwd: s.dir.path,
      stderr: (line) => printed.push(line),
      isInteractive: true,
      // The "browser": follows the provider's redirect to the loopback listener.
      openBrowser: async (url) => {
        const response = await fetch(url);
        await response.body?.cancel();
      },
    },
  );
  assertStringIncludes(printed.join("\n"), `${s.oidc.issuer}/authorize?`);
  assertStringIncludes(text, `identity:    ${s.oidc.subject}`);
  assert(s.oidc.requests.includes("POST /token"));
  assertEquals((await runCli(verifyArgs(s, s.oidc.subject))).code, 0);
});

Deno.test("--oauth-force-oob prints the URL and reads the code", async () => {
  await using s = await stack();
  let url = "";
  const { text } = await signSigstoreCommand(
    parseArgs(["sign", "--trust-config", s.trustConfig, "--oauth-force-oob", s.model]),
    {
      env: {},
      cwd: s.dir.path,
      stderr: (line) => {
        const found = /https?:\/\/\S+/.exec(line);
        if (found) url = found[0];
      },
      isInteractive: true,
      openBrowser: () => Promise.reject(new Error("no browser in the out-of-band flow")),
      readLine: async () => {
        const page = await (await fetch(url)).text();
        return /Your code: (\S+)/.exec(page)?.[1] ?? null;
      },
    },
  );
  assertStringIncludes(url, "redirect_uri=urn");
  assertStringIncludes(text, "Signing succeeded");
  assertEquals((await runCli(verifyArgs(s, s.oidc.subject))).code, 0);
});

async function assertMissing(path: string): Promise<void> {
  const found = await Deno.lstat(path).then(() => true, () => false);
  assert(!found, `${path} must not exist`);
}

/** Temporary files the writer left in a directory. */
async function leftovers(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.endsWith(".tmp")) names.push(entry.name);
  }
  return names;
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await Promise.resolve();
  return port;
}

Deno.test("process: the compiled binary's permissions suffice for sign sigstore, no TTY no wait", async () => {
  await using s = await stack();
  const run = async (...argv: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...compilePermissionFlags(), join(REPO_ROOT, "main.ts"), ...argv],
      cwd: s.dir.path,
      env: { NO_COLOR: "1" },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
  };
  const signed = await run(
    "sign",
    "--trust-config",
    s.trustConfig,
    "--identity-token",
    await s.oidc.token(),
    s.model,
  );
  assertEquals(signed.code, 0, signed.stderr);
  assertEquals((await runCli(verifyArgs(s, s.oidc.subject))).code, 0);
  const noToken = await run("sign", "--trust-config", s.trustConfig, s.model);
  assertEquals(noToken.code, 2, noToken.stderr);
  assertStringIncludes(noToken.stderr, "No identity token");
});

Deno.test("the production signing config comes through TUF; a TUF failure names --trust_config", async () => {
  await using s = await stack();
  const closed = await closedPort();
  const error = await signSigstoreCommand(
    parseArgs(["sign", "--identity-token", await s.oidc.token(), s.model]),
    {
      env: { MODEL_SIGNING_TUF_CACHE: s.dir.path },
      cwd: s.dir.path,
      stderr: () => {},
      signDeps: {
        tufRepository: { name: "test", mirrorURL: `http://127.0.0.1:${closed}` },
      },
    },
  ).then(() => undefined, (e) => e);
  assert(error instanceof TrustMaterialError, String(error));
  assertEquals(error.code, "TUF_FETCH_FAILED");
  assertStringIncludes(error.message, "--trust-config");
  await assertMissing(s.signature);
});

Deno.test("the browser sign-in needs an OIDC provider that answers discovery", async () => {
  const closed = await closedPort();
  const cases: [(config: Record<string, any>) => void, string, string][] = [
    [(c) => delete c.signingConfig.oidcUrls, "NO_OIDC_ISSUER", "names no OIDC provider"],
    [
      (c) => c.signingConfig.oidcUrls[0].url = `http://127.0.0.1:${closed}`,
      "OIDC_DISCOVERY_FAILED",
      `http://127.0.0.1:${closed}/.well-known/openid-configuration`,
    ],
  ];
  for (const [edit, code, message] of cases) {
    await using s = await stack(edit);
    const error = await signSigstoreCommand(
      parseArgs(["sign", "--trust-config", s.trustConfig, s.model]),
      { env: {}, cwd: s.dir.path, stderr: () => {}, isInteractive: true },
    ).then(() => undefined, (e) => e);
    assert(error instanceof SigningError, String(error));
    assertEquals(error.code, code);
    assertStringIncludes(error.message, message);
    await assertMissing(s.signature);
  }
});

Deno.test("a missing token source or a bad explicit token fails before the model is hashed", async () => {
  await using s = await stack();
  const absent = join(s.dir.path, "no-such-model");
  const noToken = await runCli(["sign", "--trust-config", s.trustConfig, absent]);
  assertEquals(noToken.code, 2);
  assertStringIncludes(noToken.stderr, "No identity token");
  const expired = await runCli([
    "sign",
    "--trust-config",
    s.trustConfig,
    "--identity-token",
    await s.oidc.token({ expiresIn: -1 }),
    absent,
  ]);
  assertEquals(expired.code, 1);
  assertStringIncludes(expired.stderr, "expired");
  // With a good token the model is hashed first, and its absence is what fails.
  const good = await runCli(
    ["sign", "--trust-config", s.trustConfig, "--identity-token", await s.oidc.token(), absent],
  );
  assertEquals(good.code, 1);
  assertStringIncludes(good.stderr, "no-such-model");
});
