import { join } from "node:path";
import nodeCrypto from "node:crypto";
import { assertEquals, assertFailsWith, assertStringIncludes } from "../../tests/_assert.ts";
import { tempDir } from "../../tests/_helpers.ts";
import {
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  statementBytes,
  VirtualSigstore,
  writeTempJson,
} from "../../tests/_fixtures/virtual_sigstore.ts";
import {
  ConfigError,
  InputError,
  PolicyError,
  SignatureError,
  TrustMaterialError,
} from "../errors.ts";
import { inVerifyBundleTerms, parseVerifyBundleArgs, runVerifyBundle } from "./verify_bundle.ts";

const ARTIFACT = new TextEncoder().encode("the artifact\n");
const ARTIFACT_SHA256 = nodeCrypto.createHash("sha256").update(ARTIFACT).digest("hex");

// Signed once, then the services stop: verification only needs the trusted root.
const sigstore = await VirtualSigstore.start();
const trustedRoot = await writeTempJson(sigstore.trustedRoot());
const dsseBundle = await writeTempJson(
  await sigstore.attest(statementBytes("artifact", ARTIFACT_SHA256)),
);
const messageBundle = await writeTempJson(await sigstore.sign(ARTIFACT));
await sigstore[Symbol.asyncDispose]();

function identityArgs(identity = DEFAULT_IDENTITY, issuer = DEFAULT_ISSUER): string[] {
  return ["--certificate-identity", identity, "--certificate-oidc-issuer", issuer];
}

async function withArtifact(fn: (path: string) => Promise<void>, bytes = ARTIFACT) {
  await using dir = await tempDir();
  const path = join(dir.path, "artifact.txt");
  await Deno.writeFile(path, bytes);
  await fn(path);
}

Deno.test("parseVerifyBundleArgs() reads both protocol forms", () => {
  assertEquals(
    parseVerifyBundleArgs([
      "--staging",
      "--bundle",
      "b.json",
      ...identityArgs("id", "iss"),
      "--trusted-root",
      "root.json",
      "a.txt",
    ]),
    {
      staging: true,
      bundlePath: "b.json",
      identity: "id",
      issuer: "iss",
      trustedRootPath: "root.json",
      fileOrDigest: "a.txt",
    },
  );
  assertEquals(parseVerifyBundleArgs(["--bundle=b.json", "--key", "k.pem", "sha256:ab"]), {
    staging: false,
    bundlePath: "b.json",
    keyPath: "k.pem",
    fileOrDigest: "sha256:ab",
  });
});

Deno.test("parseVerifyBundleArgs() rejects incomplete or conflicting arguments", async (t) => {
  const cases: [string, string[]][] = [
    ["no bundle", [...identityArgs(), "a.txt"]],
    ["no artifact", ["--bundle", "b.json", ...identityArgs()]],
    ["two artifacts", ["--bundle", "b.json", ...identityArgs(), "a.txt", "b.txt"]],
    ["identity without issuer", ["--bundle", "b.json", "--certificate-identity", "x", "a.txt"]],
    ["neither key nor identity", ["--bundle", "b.json", "a.txt"]],
    ["key and identity", ["--bundle", "b.json", "--key", "k", ...identityArgs(), "a.txt"]],
    ["unknown option", ["--bundle", "b.json", "--offline", ...identityArgs(), "a.txt"]],
    ["option without value", ["--bundle"]],
    ["option given twice", ["--bundle", "b", "--bundle", "c", ...identityArgs(), "a.txt"]],
  ];
  for (const [name, argv] of cases) {
    await t.step(name, async () => {
      await assertFailsWith(() => parseVerifyBundleArgs(argv), ConfigError, "CONFORMANCE_USAGE");
    });
  }
});

Deno.test("runVerifyBundle() verifies a DSSE bundle whose statement names the artifact", async () => {
  await withArtifact(async (artifact) => {
    for (const target of [artifact, `sha256:${ARTIFACT_SHA256}`]) {
      const message = await runVerifyBundle([
        "--bundle",
        dsseBundle,
        ...identityArgs(),
        "--trusted-root",
        trustedRoot,
        target,
      ]);
      assertStringIncludes(message, DEFAULT_IDENTITY);
    }
  });
});

Deno.test("runVerifyBundle() rejects an artifact that is not a subject of the statement", async () => {
  await withArtifact(async (artifact) => {
    await assertFailsWith(
      () =>
        runVerifyBundle([
          "--bundle",
          dsseBundle,
          ...identityArgs(),
          "--trusted-root",
          trustedRoot,
          artifact,
        ]),
      SignatureError,
      "ARTIFACT_NOT_A_SUBJECT",
    );
  }, new TextEncoder().encode("another artifact\n"));
});

Deno.test("runVerifyBundle() verifies a message signature over the artifact file", async () => {
  await withArtifact(async (artifact) => {
    const message = await runVerifyBundle([
      "--bundle",
      messageBundle,
      ...identityArgs(),
      "--trusted-root",
      trustedRoot,
      artifact,
    ]);
    assertStringIncludes(message, "OK");
  });
});

Deno.test("runVerifyBundle() rejects a message signature over another artifact", async () => {
  await withArtifact(async (artifact) => {
    await assertFailsWith(
      () =>
        runVerifyBundle([
          "--bundle",
          messageBundle,
          ...identityArgs(),
          "--trusted-root",
          trustedRoot,
          artifact,
        ]),
      SignatureError,
      "SIGSTORE_SIGNATURE_ERROR",
    );
  }, new TextEncoder().encode("tampered\n"));
});

Deno.test("runVerifyBundle() verifies a message signature from the artifact digest alone", async () => {
  const ok = await runVerifyBundle([
    "--bundle",
    messageBundle,
    ...identityArgs(),
    "--trusted-root",
    trustedRoot,
    `sha256:${ARTIFACT_SHA256}`,
  ]);
  assertStringIncludes(ok, "OK");
  await assertFailsWith(
    () =>
      runVerifyBundle([
        "--bundle",
        messageBundle,
        ...identityArgs(),
        "--trusted-root",
        trustedRoot,
        `sha256:${"0".repeat(64)}`,
      ]),
    SignatureError,
    "SIGSTORE_TLOG_BODY_ERROR", // the log entry records the real digest
  );
});

Deno.test("runVerifyBundle() applies the exact identity policy", async () => {
  await assertFailsWith(
    () =>
      runVerifyBundle([
        "--bundle",
        dsseBundle,
        ...identityArgs(`${DEFAULT_IDENTITY}x`),
        "--trusted-root",
        trustedRoot,
        `sha256:${ARTIFACT_SHA256}`,
      ]),
    PolicyError,
    "IDENTITY_MISMATCH",
  );
});

Deno.test("runVerifyBundle() refuses --key for a certificate-signed bundle", async () => {
  await assertFailsWith(
    () =>
      runVerifyBundle([
        "--bundle",
        dsseBundle,
        "--key",
        "/nonexistent.pem",
        "--trusted-root",
        trustedRoot,
        `sha256:${ARTIFACT_SHA256}`,
      ]),
    InputError,
    "BUNDLE_NOT_KEY_SIGNED",
  );
});

Deno.test("runVerifyBundle() reports an unreadable or malformed bundle as InputError", async () => {
  await using dir = await tempDir();
  const broken = join(dir.path, "broken.json");
  await Deno.writeTextFile(broken, "{");
  const cases = [
    [broken, "SIGSTORE_BUNDLE_INVALID"],
    [join(dir.path, "missing"), "BUNDLE_UNREADABLE"],
  ] as const;
  for (const [path, code] of cases) {
    await assertFailsWith(
      () =>
        runVerifyBundle(["--bundle", path, ...identityArgs(), "--trusted-root", trustedRoot, "a"]),
      InputError,
      code,
    );
  }
});

Deno.test("runVerifyBundle() names only options it accepts in its messages", async () => {
  await using dir = await tempDir();
  const error = await assertFailsWith(
    () =>
      runVerifyBundle([
        "--bundle",
        dsseBundle,
        ...identityArgs(),
        "--trusted-root",
        join(dir.path, "missing-root.json"),
        "a",
      ]),
    TrustMaterialError,
    "TRUST_CONFIG_UNREADABLE",
  );
  assertStringIncludes(error.message, "--trusted-root");
  assertEquals(/--trust[-_]config|--offline|--use[-_]staging/.test(error.message), false);
});

Deno.test("inVerifyBundleTerms() turns the TUF advice into --trusted-root", () => {
  const tuf = "Cannot fetch the production Sigstore trusted root through TUF from https://x: " +
    "timeout. Without network access use --offline (the production trusted root built into " +
    "model-verify) or --trust-config FILE (a ClientTrustConfig or trusted_root.json)";
  assertEquals(
    inVerifyBundleTerms(tuf),
    "Cannot fetch the production Sigstore trusted root through TUF from https://x: timeout. " +
      "Without network access pass --trusted-root FILE (a trusted_root.json)",
  );
  assertEquals(
    inVerifyBundleTerms("--use_staging and --trust_config"),
    "--staging and --trusted-root",
  );
});

Deno.test("verify-bundle refuses a bundle of millions of values before parsing it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/hostile.json`;
    await Deno.writeTextFile(path, `{"x":[${new Array(200_000).fill("{}").join(",")}]}`);
    const { runVerifyBundle } = await import("./verify_bundle.ts");
    const { InputError } = await import("../errors.ts");
    let error: unknown;
    try {
      await runVerifyBundle([
        "--bundle",
        path,
        "--key",
        `${dir}/none.pem`,
        "sha256:" + "0".repeat(64),
      ], {
        env: {},
      });
    } catch (e) {
      error = e;
    }
    if (!(error instanceof InputError) || error.code !== "SIGSTORE_BUNDLE_INVALID") {
      throw new Error(`expected SIGSTORE_BUNDLE_INVALID, got ${String(error)}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
