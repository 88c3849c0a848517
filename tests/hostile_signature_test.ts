/**
 * A hostile signature file, end to end: what cannot be parsed, what is too big, what is shaped
 * wrong, and what is validly signed but describes something that is not a model (the key holder
 * is not trusted to name files outside the model either). Every case fails with its own code,
 * exit 1 and one line, never a stack trace.
 */

import { sign } from "node:crypto";
import { constants } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { encodeBase64 } from "../lib/_base64.ts";
import { pae } from "../lib/bundle/dsse.ts";
import { MAX_SIGNATURE_BYTES } from "../lib/bundle/parse_bundle.ts";
import { PREDICATE_TYPE } from "../lib/bundle/statement.ts";
import {
  InputError,
  IntegrityError,
  type ModelVerifyError,
  SignatureError,
} from "../lib/errors.ts";
import { computeRootDigest } from "../lib/manifest/manifest.ts";
import { readSignatureFile, resetOpenFallback } from "../lib/read_files.ts";
import { verifyModel } from "../lib/verify_model.ts";
import { assert, assertEquals, assertFailsWith, assertStringIncludes } from "./_assert.ts";
import { programArgv } from "./_compile_flags.ts";
import { keyConfig, REPO_ROOT, runCli, signedModel, tempDir } from "./_helpers.ts";

type Fixture = Awaited<ReturnType<typeof signedModel>>;

const HAS_MKFIFO = await (async () => {
  const probe = join(await Deno.makeTempDir(), "fifo");
  try {
    return (await new Deno.Command("mkfifo", { args: [probe] }).output()).success;
  } catch {
    return false;
  } finally {
    await Deno.remove(join(probe, ".."), { recursive: true });
  }
})();
type Json = Record<string, unknown>;

/** Expects `type`/`code` in-process and exit 1 with one clean line through the CLI. */
async function expectFailure(
  f: Fixture,
  type: abstract new (...args: never[]) => ModelVerifyError,
  code: string,
): Promise<string> {
  const error = await assertFailsWith(() => verifyModel(keyConfig(f)), type, code);
  const cli = await runCli([
    "verify",
    "key",
    "--signature",
    f.signature,
    "--public_key",
    f.publicKey,
    f.model,
  ]);
  assertEquals(cli.code, 1, cli.stderr);
  assertEquals(cli.stdout, "");
  assert(cli.stderr.startsWith("Verification failed with error: "), cli.stderr);
  assertEquals(cli.stderr.split("\n").length, 1, JSON.stringify(cli.stderr));
  assert(cli.stderr.length < 2000, `${cli.stderr.length} characters on stderr`);
  return error.message;
}

async function readBundle(f: Fixture): Promise<Json> {
  return JSON.parse(await Deno.readTextFile(f.signature));
}

function envelope(
  bundle: Json,
): { payload: string; payloadType: string; signatures: { sig: string }[] } {
  return bundle.dsseEnvelope as never;
}

function statementOf(bundle: Json): Json {
  return JSON.parse(atob(envelope(bundle).payload));
}

/**
 * Replaces the bundle's payload (and payload type) and signs it again with the model's key, so
 * the signature is valid and only the decoder stands between the payload and the verdict.
 */
async function resign(
  f: Fixture,
  payload: string | Json,
  payloadType = "application/vnd.in-toto+json",
): Promise<void> {
  const bundle = await readBundle(f);
  const bytes = new TextEncoder().encode(
    typeof payload === "string" ? payload : JSON.stringify(payload),
  );
  const key = await Deno.readTextFile(f.privateKey);
  envelope(bundle).payload = encodeBase64(bytes);
  envelope(bundle).payloadType = payloadType;
  envelope(bundle).signatures[0]!.sig = encodeBase64(sign("sha256", pae(payloadType, bytes), key));
  await Deno.writeTextFile(f.signature, JSON.stringify(bundle));
}

/** Sets resources (name -> digest) and a consistent root digest. */
function withResources(statement: Json, resources: [string, string][]): Json {
  const predicate = statement.predicate as Json;
  const entries = resources.map(([name, digest]) => ({ name, digest }));
  return {
    ...statement,
    subject: [{ name: "model", digest: { sha256: computeRootDigest(entries) } }],
    predicate: {
      ...predicate,
      resources: entries.map((e) => ({ name: e.name, algorithm: "sha256", digest: e.digest })),
    },
  };
}

function resourcesOf(statement: Json): [string, string][] {
  const resources = (statement.predicate as Json).resources as { name: string; digest: string }[];
  return resources.map((r) => [r.name, r.digest]);
}

Deno.test("signature files that cannot be a bundle fail with SIGNATURE_MALFORMED", async (t) => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const original = await Deno.readTextFile(f.signature);
  const cases: [string, string][] = [
    ["empty", ""],
    ["truncated", original.slice(0, original.length / 2)],
    ["not JSON", "-----BEGIN SIGNATURE-----\nAAAA\n"],
    ["a JSON list", "[]"],
    ["deeply nested", "[".repeat(500_000) + "]".repeat(500_000)],
    ["a media type from elsewhere", original.replace("bundle.v0.3+json", "bundle.v9+json")],
  ];
  for (const [what, text] of cases) {
    await t.step(what, async () => {
      await Deno.writeTextFile(f.signature, text);
      await expectFailure(f, InputError, "SIGNATURE_MALFORMED");
    });
  }
  await t.step("bytes that are not UTF-8", async () => {
    const bytes = new TextEncoder().encode(original);
    bytes[30] = 0xfe;
    await Deno.writeFile(f.signature, bytes);
    await expectFailure(f, InputError, "SIGNATURE_MALFORMED");
  });
});

Deno.test("a signature file above 64 MiB is refused before it is read", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await Deno.truncate(f.signature, MAX_SIGNATURE_BYTES + 1); // sparse: costs no disk or time
  const message = await expectFailure(f, InputError, "SIGNATURE_TOO_LARGE");
  assertStringIncludes(message, String(MAX_SIGNATURE_BYTES + 1));
});

Deno.test("readSignatureFile() reads at most one byte past its limit", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "sig");
  await Deno.writeTextFile(path, "12345");
  assertEquals(new TextDecoder().decode(await readSignatureFile(path, 5)), "12345");
  await assertFailsWith(() => readSignatureFile(path, 4), InputError, "SIGNATURE_TOO_LARGE");
});

Deno.test("a signature path that is missing or not a regular file fails without blocking", async (t) => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await t.step("missing", async () => {
    await expectFailure(
      { ...f, signature: join(dir.path, "absent.sig") },
      InputError,
      "SIGNATURE_NOT_FOUND",
    );
  });
  await t.step("a directory", async () => {
    await expectFailure({ ...f, signature: dir.path }, InputError, "SIGNATURE_UNREADABLE");
  });
  await t.step("an endless character device", async () => {
    await expectFailure({ ...f, signature: "/dev/zero" }, InputError, "SIGNATURE_UNREADABLE");
  });
  await t.step({
    name: HAS_MKFIFO ? "a FIFO" : "a FIFO (skipped: mkfifo unavailable)",
    ignore: !HAS_MKFIFO,
    fn: async () => {
      const fifo = join(dir.path, "fifo.sig");
      assert((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
      // With no writer, a blocking open would wait forever.
      await expectFailure({ ...f, signature: fifo }, InputError, "SIGNATURE_UNREADABLE");
      // And with a writer holding it open, nothing is read from it either.
      const writer = await open(fifo, constants.O_RDWR | constants.O_NONBLOCK);
      try {
        await writer.write(new TextEncoder().encode("{}"));
        await expectFailure({ ...f, signature: fifo }, InputError, "SIGNATURE_UNREADABLE");
      } finally {
        await writer.close();
      }
    },
  });
});

Deno.test({
  name: HAS_MKFIFO
    ? "a FIFO swapped in after the type check neither blocks the read nor gets read"
    : "a FIFO swapped in after the type check (skipped: mkfifo unavailable)",
  ignore: !HAS_MKFIFO,
  // The plain open of the FIFO waits for a writer until the test gives it one, at the end.
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    await using dir = await tempDir();
    const fifo = join(dir.path, "fifo.sig");
    assert((await new Deno.Command("mkfifo", { args: [fifo] }).output()).success);
    let stats = 0;
    // The stat sees the regular file that was there; the open then meets the FIFO.
    const stat = () => (stats++, Promise.resolve({ isFile: true }));
    try {
      const error = await assertFailsWith(
        () => readSignatureFile(fifo, MAX_SIGNATURE_BYTES, { stat, openTimeoutMs: 50 }),
        InputError,
        "SIGNATURE_UNREADABLE",
      );
      assertStringIncludes(error.message, "is not a regular file");
      assertEquals(stats, 1);
      // From then on this process opens with O_NONBLOCK at once: no second open left waiting.
      await assertFailsWith(
        () => readSignatureFile(fifo, MAX_SIGNATURE_BYTES, { stat }),
        InputError,
        "SIGNATURE_UNREADABLE",
      );
      assertEquals(stats, 1);
      const path = join(dir.path, "sig");
      await Deno.writeTextFile(path, "{}");
      assertEquals(new TextDecoder().decode(await readSignatureFile(path)), "{}");
    } finally {
      resetOpenFallback();
      // A writer lets the waiting open finish; the read closes what it opened late.
      const writer = await open(fifo, constants.O_RDWR | constants.O_NONBLOCK);
      await writer.close();
    }
  },
});

Deno.test("zero or several DSSE signatures fail with SIGNATURE_COUNT", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const bundle = await readBundle(f);
  const [one] = envelope(bundle).signatures;
  for (const signatures of [[], [one, one], [one, { sig: "MEUCIQ", keyid: "other" }]]) {
    envelope(bundle).signatures = signatures as { sig: string }[];
    await Deno.writeTextFile(f.signature, JSON.stringify(bundle));
    await expectFailure(f, InputError, "SIGNATURE_COUNT");
  }
});

Deno.test("a payload changed without signing it again fails the signature check", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const bundle = await readBundle(f);
  const statement = statementOf(bundle);
  const resources = resourcesOf(statement).filter(([name]) => name !== "config.json");
  envelope(bundle).payload = btoa(JSON.stringify(withResources(statement, resources)));
  await Deno.writeTextFile(f.signature, JSON.stringify(bundle));
  await expectFailure(f, SignatureError, "SIGNATURE_INVALID");
});

Deno.test("validly signed payloads that are not model statements fail with PAYLOAD_INVALID", async (t) => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const original = statementOf(await readBundle(f));
  const subject = (original.subject as Json[])[0]!;
  const cases: [string, string | Json, string?][] = [
    ["a wrong payload type", original, "application/json"],
    ["a payload that is not JSON", '{"_type": '],
    ["an empty payload", ""],
    ["a deeply nested payload", { ...original, x: JSON.parse("[".repeat(100) + "]".repeat(100)) }],
    ["an unknown predicate type", { ...original, predicateType: "https://example.com/other/v1" }],
    ["the predicate type of another tool", {
      ...original,
      predicateType: "https://slsa.dev/provenance/v1",
    }],
    ["an older statement type", { ...original, _type: "https://in-toto.io/Statement/v0.1" }],
    ["no subject", { ...original, subject: [] }],
    ["several subjects", { ...original, subject: [subject, { ...subject, name: "other" }] }],
    ["no predicate", { ...original, predicate: null }],
    ["an inconsistent root digest", {
      ...original,
      subject: [{ ...subject, digest: { sha256: "00".repeat(32) } }],
    }],
  ];
  for (const [what, payload, payloadType] of cases) {
    await t.step(what, async () => {
      await resign(f, payload, payloadType);
      await expectFailure(f, InputError, "PAYLOAD_INVALID");
    });
  }
  await t.step(
    "the untouched payload signed again still verifies (the harness is sound)",
    async () => {
      assertEquals(PREDICATE_TYPE, original.predicateType);
      await resign(f, original);
      assertEquals((await verifyModel(keyConfig(f))).files, 4);
    },
  );
});

Deno.test("validly signed resource names outside the model, or listed twice, are refused before any file is read", async (t) => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const original = statementOf(await readBundle(f));
  const resources = resourcesOf(original);
  const digest = resources[0]![1];
  const names = [
    "/etc/passwd",
    "../key.pem",
    "nested/../../key.pem",
    "nested//extra.txt",
    "./config.json",
    "nested/",
    "",
    "config.json\0.txt",
  ];
  for (const name of names) {
    await t.step(`the name ${JSON.stringify(name)}`, async () => {
      await resign(f, withResources(original, [...resources, [name, digest]]));
      const message = await expectFailure(f, InputError, "PAYLOAD_INVALID");
      assert(!message.includes("\0"));
    });
  }
  await t.step("a name listed twice", async () => {
    await resign(f, withResources(original, [...resources, resources[0]!]));
    await expectFailure(f, InputError, "PAYLOAD_INVALID");
  });
  await t.step("a file left out of a validly signed manifest is an extra file", async () => {
    await resign(f, withResources(original, resources.slice(1)));
    const message = await expectFailure(f, IntegrityError, "MODEL_FILES_DIFFER");
    assertStringIncludes(message, resources[0]![0]);
  });
});

// ---------------------------------------------------------------------------------------------
// The same through a real process: no stack trace, no partial output.

Deno.test("hostile signatures through a real process exit 1 with one line and no stack trace", async (t) => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const original = await Deno.readTextFile(f.signature);
  const cases: [string, () => Promise<void>][] = [
    ["not JSON", () => Deno.writeTextFile(f.signature, "garbage\u001b[2J")],
    ["nested a million deep", () => Deno.writeTextFile(f.signature, '{"a":'.repeat(1e6))],
    ["too large", () => Deno.truncate(f.signature, MAX_SIGNATURE_BYTES + 1)],
    ["two signatures", async () => {
      const bundle = JSON.parse(original);
      bundle.dsseEnvelope.signatures.push(bundle.dsseEnvelope.signatures[0]);
      await Deno.writeTextFile(f.signature, JSON.stringify(bundle));
    }],
  ];
  for (const [what, plant] of cases) {
    await t.step(what, async () => {
      await plant();
      const [program, ...args] = programArgv([
        "verify",
        "key",
        "--public_key",
        f.publicKey,
        f.model,
      ]);
      const output = await new Deno.Command(program!, {
        args,
        cwd: REPO_ROOT,
        env: { NO_COLOR: "1" },
      }).output();
      const stderr = new TextDecoder().decode(output.stderr);
      assertEquals(output.code, 1, stderr);
      assertEquals(output.stdout.length, 0);
      assert(stderr.startsWith("Verification failed with error: "), stderr);
      assertEquals(stderr.trimEnd().split("\n").length, 1, stderr);
      assert(!stderr.includes("\u001b"), "escape sequences are escaped");
    });
  }
});

/** Runs `fn` with `JSON.parse` replaced by a function that fails the test when called. */
function withoutJsonParse<T>(fn: () => T): T {
  const original = JSON.parse;
  JSON.parse = () => {
    throw new Error("JSON.parse was called on a document the shape scan should have refused");
  };
  try {
    return fn();
  } finally {
    JSON.parse = original;
  }
}

Deno.test("bundles of millions of tiny values are refused by the shape scan, before JSON.parse", async (t) => {
  const { parseBundle, BUNDLE_JSON_LIMITS, PAYLOAD_JSON_LIMITS } = await import(
    "../lib/bundle/parse_bundle.ts"
  );
  const { parseStatement } = await import("../lib/bundle/statement.ts");
  const many = (item: string, n: number) => new Array(n).fill(item).join(",");
  const bundle = (inner: string) =>
    new TextEncoder().encode(
      `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",${inner}}`,
    );
  const n = BUNDLE_JSON_LIMITS.maxValues + 1;
  const cases: [string, Uint8Array][] = [
    ["DSSE signatures", bundle(`"dsseEnvelope":{"signatures":[${many('{"sig":"AA=="}', n)}]}`)],
    ["log entries", bundle(`"verificationMaterial":{"tlogEntries":[${many("{}", n)}]}`)],
    [
      "certificates",
      bundle(
        `"verificationMaterial":{"x509CertificateChain":{"certificates":[${
          many('{"rawBytes":"MAA="}', n)
        }]}}`,
      ),
    ],
    ["numbers in an unknown field", bundle(`"x":[${many("0", n)}]`)],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, async () => {
      await assertFailsWith(
        () => withoutJsonParse(() => parseBundle(bytes, "hostile.sig")),
        InputError,
        "SIGNATURE_TOO_COMPLEX",
      );
    });
  }
  await t.step("a signed payload of too many resources", async () => {
    const resources = many(
      '{"name":"a","algorithm":"sha256","digest":"00"}',
      Math.ceil(PAYLOAD_JSON_LIMITS.maxValues / 4) + 1,
    );
    const payload = new TextEncoder().encode(
      `{"_type":"https://in-toto.io/Statement/v1","predicate":{"resources":[${resources}]}}`,
    );
    const error = await assertFailsWith(
      () => withoutJsonParse(() => parseStatement("application/vnd.in-toto+json", payload)),
      InputError,
      "PAYLOAD_INVALID",
    );
    assertStringIncludes(error.message, "JSON values");
  });
});

Deno.test("lists within the shape limit but longer than a bundle needs are refused", async (t) => {
  const { parseBundle, MAX_BUNDLE_CERTIFICATES, MAX_BUNDLE_TLOG_ENTRIES } = await import(
    "../lib/bundle/parse_bundle.ts"
  );
  const envelope =
    `"dsseEnvelope":{"payload":"e30=","payloadType":"x","signatures":[{"sig":"AA=="}]}`;
  const bundle = (material: string) =>
    new TextEncoder().encode(
      `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json",${envelope},` +
        `"verificationMaterial":${material}}`,
    );
  const cert = '{"rawBytes":"MAA="}';
  const cases: [string, Uint8Array, string][] = [
    [
      "certificates",
      bundle(
        `{"x509CertificateChain":{"certificates":[${
          new Array(MAX_BUNDLE_CERTIFICATES + 1).fill(cert).join(",")
        }]}}`,
      ),
      "certificates, more than",
    ],
    [
      "log entries",
      bundle(
        `{"publicKey":{},"tlogEntries":[${
          new Array(MAX_BUNDLE_TLOG_ENTRIES + 1).fill("{}").join(",")
        }]}`,
      ),
      "entries, more than",
    ],
  ];
  for (const [name, bytes, text] of cases) {
    await t.step(name, async () => {
      const error = await assertFailsWith(
        () => parseBundle(bytes, "hostile.sig"),
        InputError,
        "SIGNATURE_MALFORMED",
      );
      assertStringIncludes(error.message, text);
    });
  }
  await t.step("three signatures: only two decoded, the count reported", async () => {
    const three = new TextEncoder().encode(
      `{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":` +
        `{"publicKey":{}},"dsseEnvelope":{"payload":"e30=","payloadType":"x","signatures":` +
        `[{"sig":"AA=="},{"sig":"AA=="},{"sig":"!!"}]}}`,
    );
    const error = await assertFailsWith(
      () => parseBundle(three, "hostile.sig"),
      InputError,
      "SIGNATURE_COUNT",
    );
    assertStringIncludes(error.message, "holds 3 DSSE signatures");
  });
});

Deno.test("a signed statement of 100,000 resources with realistic names passes every shape limit", async () => {
  const { parseBundle } = await import("../lib/bundle/parse_bundle.ts");
  const { parseStatement } = await import("../lib/bundle/statement.ts");
  const { toSignedManifest } = await import("../lib/bundle/predicate.ts");
  const { verifyWithKey } = await import("../lib/verify/key.ts");
  const { loadPublicKey } = await import("../lib/verify/public_key.ts");
  const { generateKeyPairSync } = await import("node:crypto");
  const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const digest = "ab".repeat(32);
  const entries = Array.from({ length: 100_000 }, (_, i) => ({
    name: `shard-${String(i % 100).padStart(3, "0")}/model-${String(i).padStart(6, "0")}` +
      "-of-100000.safetensors",
    digest,
  }));
  const statement = {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "big-model", digest: { sha256: computeRootDigest(entries) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      serialization: {
        method: "files",
        hash_type: "sha256",
        allow_symlinks: false,
        ignore_paths: [],
      },
      resources: entries.map((e) => ({ name: e.name, algorithm: "sha256", digest: e.digest })),
    },
  };
  // model_signing indents the payload; the indented form is the larger one.
  const payload = new TextEncoder().encode(JSON.stringify(statement, null, 2));
  const payloadType = "application/vnd.in-toto+json";
  const bundle = {
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: { publicKey: {} },
    dsseEnvelope: {
      payload: encodeBase64(payload),
      payloadType,
      signatures: [{
        sig: encodeBase64(sign("sha256", pae(payloadType, payload), pair.privateKey)),
      }],
    },
  };
  const bytes = new TextEncoder().encode(JSON.stringify(bundle));
  assert(bytes.length < MAX_SIGNATURE_BYTES);
  const parsed = parseBundle(bytes, "big.sig");
  const key = await loadPublicKey(
    new TextEncoder().encode(pair.publicKey.export({ type: "spki", format: "pem" }) as string),
    "key.pem",
  );
  const verified = await verifyWithKey(parsed, key);
  const manifest = await toSignedManifest(parseStatement(verified.payloadType, verified.payload));
  assertEquals(manifest.entries.length, 100_000);
});
