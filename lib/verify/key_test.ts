import { createPublicKey, generateKeyPairSync, sign } from "node:crypto";
import { exportJWK } from "jose";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { editBundle, signedModel, tempDir } from "../../tests/_helpers.ts";
import { parseBundle } from "../bundle/parse_bundle.ts";
import { paeCompat } from "../bundle/dsse.ts";
import { InputError, SignatureError, TrustMaterialError } from "../errors.ts";
import { NO_HINT_WARNING, verifyWithKey } from "./key.ts";
import { loadPublicKey } from "./public_key.ts";

async function load(path: string) {
  return parseBundle(await Deno.readFile(path), path);
}

async function key(path: string) {
  return loadPublicKey(await Deno.readFile(path), path);
}

Deno.test("verifyWithKey() accepts signatures by P-256, P-384 and P-521 keys", async (t) => {
  for (const curve of ["P-256", "P-384", "P-521"] as const) {
    await t.step(curve, async () => {
      await using dir = await tempDir();
      const fixture = await signedModel(dir.path, { curve });
      const result = await verifyWithKey(
        await load(fixture.signature),
        await key(fixture.publicKey),
      );
      assertEquals(result.signer.method, "key");
      assertEquals(result.warnings, []);
      assertStringIncludes(result.signer.description, curve);
    });
  }
});

Deno.test("loadPublicKey() reads a JWK public key like its PEM twin", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path, { curve: "P-384" });
  const pem = await key(fixture.publicKey);
  const jwkPath = `${dir.path}/key.jwk`;
  const keyObject = createPublicKey(await Deno.readTextFile(fixture.publicKey));
  await Deno.writeTextFile(jwkPath, JSON.stringify(await exportJWK(keyObject)));
  const jwk = await key(jwkPath);
  assertEquals(jwk.hint, pem.hint);
  await verifyWithKey(await load(fixture.signature), jwk);
});

Deno.test("loadPublicKey() rejects files that are not supported public keys", async (t) => {
  await using dir = await tempDir();
  // RSA is supported from 2048 bits (see public_key_test.ts); smaller keys are not.
  const rsa = generateKeyPairSync("rsa", { modulusLength: 1024 });
  const ec = generateKeyPairSync("ec", { namedCurve: "secp256k1" });
  const cases: [string, string, string][] = [
    ["garbage", "not a key", "KEY_INVALID"],
    ["empty", "", "KEY_INVALID"],
    ["rsa", rsa.publicKey.export({ type: "spki", format: "pem" }) as string, "KEY_UNSUPPORTED"],
    [
      "secp256k1",
      ec.publicKey.export({ type: "spki", format: "pem" }) as string,
      "KEY_UNSUPPORTED",
    ],
    ["rsa-jwk", JSON.stringify(await exportJWK(rsa.publicKey)), "KEY_UNSUPPORTED"],
    [
      "private-jwk",
      JSON.stringify(
        await exportJWK(generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey),
      ),
      "KEY_INVALID",
    ],
  ];
  for (const [name, text, code] of cases) {
    await t.step(name, async () => {
      const path = `${dir.path}/${name}.pem`;
      await Deno.writeTextFile(path, text);
      const error = await assertFailsWith(() => key(path), TrustMaterialError, code);
      assertStringIncludes(error.message, path);
    });
  }
});

Deno.test("verifyWithKey() rejects a bundle whose key hint names another key", async () => {
  await using dir = await tempDir();
  const a = await signedModel(`${dir.path}/a`);
  const b = await signedModel(`${dir.path}/b`);
  const error = await assertFailsWith(
    async () => verifyWithKey(await load(a.signature), await key(b.publicKey)),
    SignatureError,
    "KEY_HINT_MISMATCH",
  );
  assertStringIncludes(error.message, "Key mismatch");
});

Deno.test("verifyWithKey() without a hint warns and still checks the signature", async () => {
  await using dir = await tempDir();
  const a = await signedModel(`${dir.path}/a`);
  const b = await signedModel(`${dir.path}/b`);
  await editBundle(a.signature, (bundle) => {
    (bundle.verificationMaterial as Record<string, unknown>).publicKey = {};
  });
  const ok = await verifyWithKey(await load(a.signature), await key(a.publicKey));
  assertEquals(ok.warnings, [NO_HINT_WARNING]);
  await assertFailsWith(
    async () => verifyWithKey(await load(a.signature), await key(b.publicKey)),
    SignatureError,
    "SIGNATURE_INVALID",
  );
});

Deno.test("verifyWithKey() rejects an altered payload or signature", async (t) => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const original = await Deno.readTextFile(fixture.signature);
  const mutations: [
    string,
    (b: { dsseEnvelope: { payload: string; signatures: { sig: string }[] } }) => void,
  ][] = [
    ["payload", (b) => (b.dsseEnvelope.payload = btoa(atob(b.dsseEnvelope.payload) + " "))],
    ["signature", (b) => {
      const sig = atob(b.dsseEnvelope.signatures[0]!.sig);
      b.dsseEnvelope.signatures[0]!.sig = btoa(
        sig.slice(0, -1) + String.fromCharCode(sig.charCodeAt(sig.length - 1) ^ 1),
      );
    }],
  ];
  for (const [name, mutate] of mutations) {
    await t.step(name, async () => {
      await Deno.writeTextFile(fixture.signature, original);
      await editBundle(fixture.signature, (b) => mutate(b as never));
      await assertFailsWith(
        async () => verifyWithKey(await load(fixture.signature), await key(fixture.publicKey)),
        SignatureError,
        "SIGNATURE_INVALID",
      );
    });
  }
});

Deno.test("verifyWithKey() requires exactly one DSSE signature", async (t) => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const original = await Deno.readTextFile(fixture.signature);
  for (const count of [0, 2]) {
    await t.step(`${count} signatures`, async () => {
      await Deno.writeTextFile(fixture.signature, original);
      await editBundle(fixture.signature, (b) => {
        const envelope = b.dsseEnvelope as { signatures: unknown[] };
        envelope.signatures = count === 0 ? [] : [envelope.signatures[0], envelope.signatures[0]];
      });
      await assertFailsWith(
        async () => verifyWithKey(await load(fixture.signature), await key(fixture.publicKey)),
        InputError,
        "SIGNATURE_COUNT",
      );
    });
  }
});

Deno.test("verifyWithKey() accepts model_signing 0.2's faulty encoding, hashed per curve", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path, { curve: "P-384" });
  const privateKey = await Deno.readTextFile(fixture.privateKey);
  await editBundle(fixture.signature, (b) => {
    const envelope = b.dsseEnvelope as {
      payload: string;
      payloadType: string;
      signatures: { sig: string }[];
    };
    const payload = Uint8Array.from(atob(envelope.payload), (c) => c.charCodeAt(0));
    const sig = sign("sha384", paeCompat(envelope.payloadType, payload), privateKey);
    envelope.signatures[0]!.sig = btoa(String.fromCharCode(...sig));
  });
  const result = await verifyWithKey(await load(fixture.signature), await key(fixture.publicKey));
  assert(result.warnings.some((w) => w.includes("0.2")));
});
