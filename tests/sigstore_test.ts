/**
 * `verifyWithSigstore()` end to end: bundles signed by an in-process Sigstore (fake Fulcio, CT
 * log, Rekor v1, a Rekor v2 style log and a TSA), broken one field at a time, and the real
 * model_signing fixtures of ../shared/interop when present.
 */

import { join } from "node:path";
import { Buffer } from "node:buffer";
import { bundleFromJSON } from "@sigstore/bundle";
import { TrustedRoot } from "@sigstore/protobuf-specs";
import { toSignedEntity, toTrustMaterial, VerificationError, Verifier } from "@sigstore/verify";
import { parseBundle } from "../lib/bundle/parse_bundle.ts";
import type { ParsedBundle } from "../lib/bundle/types.ts";
import {
  ConfigError,
  InputError,
  PolicyError,
  SignatureError,
  TrustMaterialError,
} from "../lib/errors.ts";
import { productionTufRootBytes } from "../lib/trust/embedded.ts";
import {
  installDenoCryptoFix,
  isDenoCryptoFixInstalled,
  uninstallDenoCryptoFix,
} from "../lib/verify/deno_crypto.ts";
import { type SigstoreOptions, verifyWithSigstore } from "../lib/verify/sigstore.ts";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
  assertThrows,
} from "./_assert.ts";
import { INTEROP_DIR, NO_INTEROP, tempDir } from "./_helpers.ts";
import {
  type BundleJson,
  cloneBundle,
  DEFAULT_IDENTITY,
  DEFAULT_ISSUER,
  flipBase64,
  IN_TOTO_PAYLOAD_TYPE,
  statementBytes,
  toParsedBundle,
  VirtualSigstore,
  writeTempJson,
} from "./_fixtures/virtual_sigstore.ts";

type Json = Record<string, unknown>;

// One instance signs the shared bundles, then stops: verification needs no service, only the
// trusted root. Tests that need special clocks start their own.
const sigstore = await VirtualSigstore.start();
const rootPath = await writeTempJson(sigstore.trustedRoot());
const PAYLOAD = statementBytes();
const bundles = {
  rekorV1: await sigstore.attest(PAYLOAD),
  rekorV1AndTsa: await sigstore.attest(PAYLOAD, { tsa: true }),
  rekorV2AndTsa: await sigstore.attest(PAYLOAD, { tlog: false, tsa: true, rekorV2: true }),
  rekorV2Only: await sigstore.attest(PAYLOAD, { tlog: false, rekorV2: true }),
  tsaOnly: await sigstore.attest(PAYLOAD, { tlog: false, tsa: true }),
  nothing: await sigstore.attest(PAYLOAD, { tlog: false }),
};
await sigstore[Symbol.asyncDispose]();

/** Options for the shared instance; `trustConfigPath: null` leaves the trust config out. */
function options(
  overrides: Partial<Omit<SigstoreOptions, "trustConfigPath">> & {
    trustConfigPath?: string | null;
  } = {},
): SigstoreOptions {
  const { trustConfigPath = rootPath, ...rest } = overrides;
  return {
    identity: DEFAULT_IDENTITY,
    identityProvider: DEFAULT_ISSUER,
    useStaging: false,
    offline: false,
    env: {},
    ...rest,
    ...(trustConfigPath === null ? {} : { trustConfigPath }),
  };
}

function verify(bundle: BundleJson | ParsedBundle, overrides: Parameters<typeof options>[0] = {}) {
  const parsed = "envelope" in bundle ? bundle as ParsedBundle : toParsedBundle(bundle);
  return verifyWithSigstore(parsed, options(overrides));
}

function entry(bundle: BundleJson, index = 0): Json {
  const material = bundle.verificationMaterial as { tlogEntries: Json[] };
  return material.tlogEntries[index]!;
}

function tampered(bundle: BundleJson, edit: (copy: BundleJson) => void): BundleJson {
  const copy = cloneBundle(bundle);
  edit(copy);
  return copy;
}

Deno.test("verifyWithSigstore() accepts a DSSE bundle logged in Rekor and returns its payload", async () => {
  const verified = await verify(bundles.rekorV1);
  assertEquals(verified.payloadType, IN_TOTO_PAYLOAD_TYPE);
  assertEquals(verified.payload, PAYLOAD);
  assertEquals(verified.signer.method, "sigstore");
  assertEquals(verified.signer.identity, DEFAULT_IDENTITY);
  assertEquals(verified.signer.issuer, DEFAULT_ISSUER);
  assertEquals(verified.signer.timestamps?.length, 1);
  assertStringIncludes(verified.signer.description, DEFAULT_IDENTITY);
});

Deno.test("verifyWithSigstore() counts a Rekor SET and an RFC 3161 timestamp as two verified times", async () => {
  const verified = await verify(bundles.rekorV1AndTsa);
  assertEquals(verified.signer.timestamps?.length, 2);
});

Deno.test("verifyWithSigstore() accepts a Rekor v2 entry when a TSA timestamp gives the time", async () => {
  const verified = await verify(bundles.rekorV2AndTsa);
  assertEquals(verified.signer.timestamps?.length, 1);
});

Deno.test("verifyWithSigstore() reads the trusted root from a ClientTrustConfig", async () => {
  const path = await writeTempJson(sigstore.clientTrustConfig());
  const verified = await verify(bundles.rekorV1, { trustConfigPath: path });
  assertStringIncludes(verified.signer.description, path);
});

Deno.test("verifyWithSigstore() rejects an identity that is not exactly the certificate's", async (t) => {
  const nearMisses = [
    ["one char dropped", DEFAULT_IDENTITY.slice(0, -1)],
    ["one char dropped at the start", DEFAULT_IDENTITY.slice(1)],
    ["suffix added", `${DEFAULT_IDENTITY}.evil`],
    ["substring", "github.com/acme/models"],
    ["regex dot for a char", DEFAULT_IDENTITY.replace("sign.yml", "sign.ym.")],
    ["regex wildcard", ".*"],
    ["upper case", DEFAULT_IDENTITY.toUpperCase()],
    ["other repository", DEFAULT_IDENTITY.replace("acme", "evil")],
  ] as const;
  for (const [name, identity] of nearMisses) {
    await t.step(name, async () => {
      const error = await assertFailsWith(
        () => verify(bundles.rekorV1, { identity }),
        PolicyError,
        "IDENTITY_MISMATCH",
      );
      assertStringIncludes(error.message, DEFAULT_IDENTITY);
      assertStringIncludes(error.message, DEFAULT_ISSUER);
    });
  }
});

Deno.test("verifyWithSigstore() rejects an issuer that is not exactly the certificate's", async (t) => {
  for (
    const issuer of [
      "https://token.actions.githubusercontent.co",
      `${DEFAULT_ISSUER}/`,
      "https://token.actions.githubusercontent.com.evil",
      "https://accounts.google.com",
    ]
  ) {
    await t.step(issuer, async () => {
      await assertFailsWith(
        () => verify(bundles.rekorV1, { identityProvider: issuer }),
        PolicyError,
        "ISSUER_MISMATCH",
      );
    });
  }
});

Deno.test("verifyWithSigstore() refuses an empty expected identity or issuer", async () => {
  await assertFailsWith(
    () => verify(bundles.rekorV1, { identity: "" }),
    ConfigError,
    "IDENTITY_REQUIRED",
  );
  await assertFailsWith(
    () => verify(bundles.rekorV1, { identityProvider: "" }),
    ConfigError,
    "ISSUER_REQUIRED",
  );
});

Deno.test("verifyWithSigstore() fails when nothing gives a verified signing time", async (t) => {
  const cases = [
    ["no tlog entry and no timestamp", bundles.nothing],
    ["a Rekor v2 entry without a TSA timestamp", bundles.rekorV2Only],
    [
      "a Rekor v1 entry whose inclusion promise was removed",
      tampered(bundles.rekorV1, (b) => delete entry(b).inclusionPromise),
    ],
  ] as const;
  for (const [name, bundle] of cases) {
    await t.step(name, async () => {
      await assertFailsWith(() => verify(bundle), SignatureError, "NO_VERIFIED_TIMESTAMP");
    });
  }
});

Deno.test("verifyWithSigstore() requires a transparency log entry even with a TSA timestamp", async () => {
  await assertFailsWith(() => verify(bundles.tsaOnly), SignatureError, "SIGSTORE_TLOG_ERROR");
});

Deno.test("verifyWithSigstore() detects a tampered DSSE envelope", async (t) => {
  const envelope = (b: BundleJson) =>
    b.dsseEnvelope as { payload: string; payloadType: string; signatures: { sig: string }[] };
  const cases = [
    [
      "payload changed",
      tampered(bundles.rekorV1, (b) => {
        envelope(b).payload = Buffer.from(statementBytes("other")).toString("base64");
      }),
      "SIGSTORE_TLOG_BODY_ERROR",
    ],
    [
      "signature changed",
      tampered(bundles.rekorV1, (b) => {
        envelope(b).signatures[0]!.sig = flipBase64(envelope(b).signatures[0]!.sig, 20);
      }),
      "SIGSTORE_TLOG_BODY_ERROR",
    ],
    [
      "payload type changed (the log entry still matches, the signature does not)",
      tampered(bundles.rekorV1, (b) => {
        envelope(b).payloadType = "application/json";
      }),
      "SIGSTORE_SIGNATURE_ERROR",
    ],
  ] as const;
  for (const [name, bundle, code] of cases) {
    await t.step(name, async () => {
      await assertFailsWith(() => verify(bundle), SignatureError, code);
    });
  }
});

Deno.test("verifyWithSigstore() detects a tampered transparency log entry", async (t) => {
  const cases = [
    [
      "SET changed",
      tampered(bundles.rekorV1, (b) => {
        const promise = entry(b).inclusionPromise as { signedEntryTimestamp: string };
        promise.signedEntryTimestamp = flipBase64(promise.signedEntryTimestamp, 30);
      }),
      "SIGSTORE_TLOG_INCLUSION_PROMISE_ERROR",
    ],
    [
      "integrated time changed",
      tampered(bundles.rekorV1, (b) => {
        entry(b).integratedTime = String(Number(entry(b).integratedTime) + 1);
      }),
      "SIGSTORE_TLOG_INCLUSION_PROMISE_ERROR",
    ],
    [
      "log index changed",
      tampered(bundles.rekorV1, (b) => {
        entry(b).logIndex = String(Number(entry(b).logIndex) + 1);
      }),
      "SIGSTORE_TLOG_INCLUSION_PROMISE_ERROR",
    ],
    [
      "checkpoint of the Rekor v2 entry changed",
      tampered(bundles.rekorV2AndTsa, (b) => {
        const proof = entry(b).inclusionProof as { checkpoint: { envelope: string } };
        proof.checkpoint.envelope = proof.checkpoint.envelope.replace("\n1\n", "\n2\n");
      }),
      "SIGSTORE_TLOG_INCLUSION_PROOF_ERROR",
    ],
    [
      "body of the Rekor v2 entry changed",
      tampered(bundles.rekorV2AndTsa, (b) => {
        entry(b).canonicalizedBody = flipBase64(entry(b).canonicalizedBody as string, 40);
      }),
      "SIGSTORE_TLOG_INCLUSION_PROOF_ERROR",
    ],
  ] as const;
  for (const [name, bundle, code] of cases) {
    await t.step(name, async () => {
      await assertFailsWith(() => verify(bundle), SignatureError, code);
    });
  }
});

Deno.test("verifyWithSigstore() rejects a bundle whose authorities are not in the trusted root", async (t) => {
  await using other = await VirtualSigstore.start();
  const mixed = (part: string) => ({
    ...sigstore.trustedRoot(),
    [part]: other.trustedRoot()[part],
  });
  const cases = [
    [
      "certificate chains to an unrelated CA",
      "certificateAuthorities",
      "SIGSTORE_CERTIFICATE_ERROR",
    ],
    ["SCT from an unknown CT log", "ctlogs", "SIGSTORE_CERTIFICATE_ERROR"],
    ["SET from an unknown Rekor", "tlogs", "SIGSTORE_TLOG_INCLUSION_PROMISE_ERROR"],
  ] as const;
  for (const [name, part, code] of cases) {
    await t.step(name, async () => {
      const path = await writeTempJson(mixed(part));
      await assertFailsWith(
        () => verify(bundles.rekorV1, { trustConfigPath: path }),
        SignatureError,
        code,
      );
    });
  }
  await t.step("TSA timestamp from an unknown TSA", async () => {
    const path = await writeTempJson(mixed("timestampAuthorities"));
    await assertFailsWith(
      () => verify(bundles.rekorV2AndTsa, { trustConfigPath: path }),
      SignatureError,
      "SIGSTORE_TIMESTAMP_ERROR",
    );
  });
});

Deno.test("the certificate is checked at the verified time, not now", async (t) => {
  const start = Date.now();
  await t.step("expired at the Rekor integrated time: fails", async () => {
    await using late = await VirtualSigstore.start({
      fulcio: new Date(start + 60_000),
      rekor: new Date(start + 3_600_000),
    });
    const path = await writeTempJson(late.trustedRoot());
    await assertFailsWith(
      async () => verify(await late.attest(PAYLOAD), { trustConfigPath: path }),
      SignatureError,
      "SIGSTORE_CERTIFICATE_ERROR",
    );
  });
  await t.step("TSA time after the certificate expired, with a Rekor v2 entry: fails", async () => {
    await using late = await VirtualSigstore.start({
      fulcio: new Date(start + 60_000),
      tsa: new Date(start + 3_600_000),
    });
    const path = await writeTempJson(late.trustedRoot());
    const bundle = await late.attest(PAYLOAD, { tlog: false, tsa: true, rekorV2: true });
    await assertFailsWith(
      () => verify(bundle, { trustConfigPath: path }),
      SignatureError,
      "SIGSTORE_CERTIFICATE_ERROR",
    );
  });
  await t.step("not yet valid now but valid at the integrated time: passes", async () => {
    await using early = await VirtualSigstore.start({
      fulcio: new Date(start + 60_000),
      rekor: new Date(start + 120_000),
    });
    const path = await writeTempJson(early.trustedRoot());
    const verified = await verify(await early.attest(PAYLOAD), { trustConfigPath: path });
    assertEquals(verified.signer.timestamps, [
      new Date(Math.floor((start + 120_000) / 1000) * 1000),
    ]);
  });
});

Deno.test("verifyWithSigstore() reports unusable trust configuration files as TrustMaterialError", async () => {
  await using dir = await tempDir();
  const malformed = join(dir.path, "malformed.json");
  await Deno.writeTextFile(malformed, '{"mediaType": "application/json"}');
  await assertFailsWith(
    () => verify(bundles.rekorV1, { trustConfigPath: malformed }),
    TrustMaterialError,
    "TRUST_CONFIG_INVALID",
  );
  await assertFailsWith(
    () => verify(bundles.rekorV1, { trustConfigPath: join(dir.path, "missing.json") }),
    TrustMaterialError,
    "TRUST_CONFIG_UNREADABLE",
  );
});

Deno.test("verifyWithSigstore() fails fast with TUF_FETCH_FAILED when TUF is unreachable", async () => {
  await using dir = await tempDir();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const mirrorURL = `http://127.0.0.1:${listener.addr.port}`;
  listener.close();
  const started = performance.now();
  const error = await assertFailsWith(
    () =>
      verifyWithSigstore(
        toParsedBundle(bundles.rekorV1),
        options({ trustConfigPath: null, tufCacheDir: dir.path }),
        { tufRepository: { name: "test", mirrorURL, initialRoot: productionTufRootBytes() } },
      ),
    TrustMaterialError,
    "TUF_FETCH_FAILED",
  );
  assertStringIncludes(error.message, "--offline");
  assertStringIncludes(error.message, "--trust-config");
  assert(performance.now() - started < 5_000);
});

Deno.test("verifyWithSigstore() refuses a bundle signed with a public key", async () => {
  const parsed = toParsedBundle(bundles.rekorV1);
  await assertFailsWith(
    () => verify({ ...parsed, material: { kind: "publicKey" } }),
    InputError,
    "SIGSTORE_BUNDLE_WITHOUT_CERTIFICATE",
  );
});

Deno.test("without the Deno crypto fix the library rejects a valid bundle; with it, accepts", () => {
  const wasInstalled = isDenoCryptoFixInstalled();
  const trustMaterial = toTrustMaterial(TrustedRoot.fromJSON(sigstore.trustedRoot()));
  const verifyRaw = () =>
    new Verifier(trustMaterial).verify(toSignedEntity(bundleFromJSON(bundles.rekorV1)));
  try {
    uninstallDenoCryptoFix();
    const error = assertThrows(verifyRaw, VerificationError);
    assertEquals(error.code, "TLOG_INCLUSION_PROMISE_ERROR");
    installDenoCryptoFix();
    verifyRaw();
  } finally {
    if (!wasInstalled) uninstallDenoCryptoFix();
  }
});

// Real signatures made by model_signing releases (../shared/interop), when present.

interface SigstoreRow {
  id: string;
  signature: string;
  identity: string;
  issuer: string;
  staging: boolean;
  expect: "pass" | "fail";
}

/** Rows that fail on the model's files, not on the signature: they pass at this level. */
const MODEL_LEVEL_FAILURES = new Set(["x-sigstore-v1.0.1-missing-ignore-paths"]);

function sigstoreRows(interop: string): SigstoreRow[] {
  const base = join(interop, "model-transparency");
  const lines = Deno.readTextFileSync(join(base, "CASES.tsv")).split("\n").slice(1);
  const rows: SigstoreRow[] = [];
  for (const line of lines.filter((l) => l.trim() !== "")) {
    const [id, method, modelDir, argText, expect] = line.split("\t") as string[];
    if (method !== "sigstore") continue;
    const args = argText!.split(" ");
    const value = (flag: string) => args[args.indexOf(flag) + 1]!;
    const cwd = args[args.length - 1] === "." ? join(base, modelDir!) : base;
    rows.push({
      id: id!,
      signature: join(cwd, value("--signature")),
      identity: value("--identity"),
      issuer: value("--identity_provider"),
      staging: args.includes("--use_staging"),
      expect: MODEL_LEVEL_FAILURES.has(id!) ? "pass" : expect as "pass" | "fail",
    });
  }
  return rows;
}

async function checkRow(row: SigstoreRow, overrides: Parameters<typeof options>[0]) {
  const parsed = parseBundle(await Deno.readFile(row.signature), row.signature);
  const run = () =>
    verify(parsed, { identity: row.identity, identityProvider: row.issuer, ...overrides });
  if (row.expect === "pass") {
    const verified = await run();
    assertEquals(verified.signer.identity, row.identity);
    return;
  }
  let error: unknown;
  try {
    await run();
  } catch (e) {
    error = e;
  }
  assert(
    error instanceof PolicyError || error instanceof SignatureError,
    `${row.id}: expected a verification failure, got ${error}`,
  );
}

Deno.test({
  name: "model_signing's Sigstore fixtures verify against the production root, not staging",
  ignore: INTEROP_DIR === undefined,
  async fn(t) {
    const trust = join(INTEROP_DIR!, "trust");
    for (const row of sigstoreRows(INTEROP_DIR!)) {
      await t.step(row.id, async () => {
        const root = row.staging
          ? "staging-trusted_root.sigstore-python.json"
          : "production-trusted_root.sigstore-js.json";
        await checkRow(row, { trustConfigPath: join(trust, root) });
      });
    }
  },
});

Deno.test({
  name: "model_signing's Sigstore fixtures verify offline with the embedded production root",
  ignore: INTEROP_DIR === undefined,
  async fn(t) {
    for (const row of sigstoreRows(INTEROP_DIR!).filter((r) => !r.staging)) {
      await t.step(row.id, async () => {
        await checkRow(row, { offline: true, trustConfigPath: null });
      });
    }
  },
});

Deno.test({
  name: "a real fixture fails without the Deno crypto fix and passes with it",
  ignore: INTEROP_DIR === undefined,
  fn() {
    const base = join(INTEROP_DIR!, "model-transparency", "v1.1.0-sigstore", "model.sig");
    const root = join(INTEROP_DIR!, "trust", "production-trusted_root.sigstore-js.json");
    const trustMaterial = toTrustMaterial(
      TrustedRoot.fromJSON(JSON.parse(Deno.readTextFileSync(root))),
    );
    const bundle = bundleFromJSON(JSON.parse(Deno.readTextFileSync(base)));
    const verifyRaw = () => new Verifier(trustMaterial).verify(toSignedEntity(bundle));
    const wasInstalled = isDenoCryptoFixInstalled();
    try {
      uninstallDenoCryptoFix();
      assertEquals(assertThrows(verifyRaw, VerificationError).code, "TLOG_INCLUSION_PROMISE_ERROR");
      installDenoCryptoFix();
      verifyRaw();
    } finally {
      if (!wasInstalled) uninstallDenoCryptoFix();
    }
  },
});

// deno-lint-ignore no-console
if (INTEROP_DIR === undefined) console.warn(NO_INTEROP);
