import {
  constants,
  createPrivateKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
} from "node:crypto";
import { join } from "node:path";
import { exportJWK } from "jose";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { runCli, tempDir, writeModel } from "../../tests/_helpers.ts";
import { pae } from "../bundle/dsse.ts";
import type { DsseEnvelope } from "../bundle/types.ts";
import { SignatureError, TrustMaterialError } from "../errors.ts";
import { verifyDsseSignature } from "./dsse_signature.ts";
import {
  describeKey,
  describePublicKey,
  loadPublicKeyWithNode,
  type NodeLoadedKey,
} from "./node_public_key.ts";
import { loadPublicKey, loadWithWebCrypto } from "./public_key.ts";

function pem(key: KeyObject, type: "spki" | "pkcs8"): string {
  return key.export({ type, format: "pem" }) as string;
}

/**
 * The same RSA key as an RSA-PSS key (PKCS#8 algorithm id-RSASSA-PSS, no parameters), as
 * `openssl genpkey -algorithm RSA-PSS` writes it; Deno cannot export one itself.
 */
function asRsaPss(privateKey: KeyObject): string {
  const der = privateKey.export({ type: "pkcs8", format: "der" }) as Uint8Array;
  const hex = Array.from(der, (b) => b.toString(16).padStart(2, "0")).join("");
  const rsaEncryption = "300d06092a864886f70d0101010500";
  const rsassaPss = "300b06092a864886f70d01010a";
  let out = hex.replace(rsaEncryption, rsassaPss);
  const length = parseInt(out.slice(4, 8), 16) - 2; // 30 82 LLLL: two bytes shorter
  out = out.slice(0, 4) + length.toString(16).padStart(4, "0") + out.slice(8);
  const bytes = Uint8Array.from(out.match(/../g)!, (h) => parseInt(h, 16));
  const b64 = btoa(String.fromCharCode(...bytes)).match(/.{1,64}/g)!.join("\n");
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

Deno.test("sign key and verify key work with RSA PKCS#1 v1.5, RSA-PSS and Ed25519 keys", async (t) => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const keys: [string, string, string][] = [
    ["RSA PKCS#1 v1.5", pem(rsa.privateKey, "pkcs8"), "RSA 2048 key"],
    ["RSA-PSS", asRsaPss(rsa.privateKey), "RSA-PSS 2048 key"],
    ["Ed25519", pem(generateKeyPairSync("ed25519").privateKey, "pkcs8"), "Ed25519 key"],
  ];
  for (const [name, privatePem, description] of keys) {
    await t.step(name, async () => {
      await using dir = await tempDir();
      const model = await writeModel(join(dir.path, "model"), {
        "w.bin": "weights",
        "c.json": "{}",
      });
      const privateKey = join(dir.path, "key.pem");
      const publicKey = join(dir.path, "key.pub.pem");
      await Deno.writeTextFile(privateKey, privatePem);
      const { createPublicKey } = await import("node:crypto");
      await Deno.writeTextFile(
        publicKey,
        pem(createPublicKey(createPrivateKey(privatePem)), "spki"),
      );
      const signed = await runCli(["sign", "key", "--private_key", privateKey, model]);
      assertEquals(signed.code, 0, signed.stderr);
      const ok = await runCli(["verify", "key", "--public_key", publicKey, model]);
      assertEquals(ok.code, 0, ok.stderr);
      assertStringIncludes(ok.stdout, description);
      await Deno.writeTextFile(join(model, "c.json"), "{ }");
      const bad = await runCli(["verify", "key", "--public_key", publicKey, model]);
      assertEquals(bad.code, 1);
    });
  }
});

Deno.test("verifyDsseSignature() with a plain RSA key accepts PKCS#1 v1.5 and PSS, not others", async () => {
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const key = describePublicKey(publicKey, "rsa.pem");
  assertEquals(key.schemes, ["rsa-pkcs1v15", "rsa-pss"]);
  const payload = new TextEncoder().encode('{"_type":"x"}');
  const envelope = (sig: Uint8Array): DsseEnvelope => ({
    payloadType: "application/vnd.in-toto+json",
    payload,
    signatures: [{ sig, keyid: "" }],
  });
  const data = pae("application/vnd.in-toto+json", payload);
  const pss = sign("sha256", data, {
    key: privateKey,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
  });
  for (const sig of [sign("sha256", data, privateKey), pss]) {
    assertEquals(
      verifyDsseSignature(envelope(sig), key.key, key.hash, key.hash, "k", key.schemes),
      "standard",
    );
  }
  await assertFailsWith(
    () =>
      verifyDsseSignature(
        envelope(sign("sha512", data, privateKey)),
        key.key,
        key.hash,
        key.hash,
        "k",
        key.schemes,
      ),
    SignatureError,
    "SIGNATURE_INVALID",
  );
  // The EC-only default (certificates) does not take RSA signatures.
  await assertFailsWith(
    () => verifyDsseSignature(envelope(pss), key.key, key.hash, key.hash, "k"),
    SignatureError,
    "SIGNATURE_INVALID",
  );
});

Deno.test("loadPublicKey() reads RSA and Ed25519 JWKs like their PEM twins", async (t) => {
  await using dir = await tempDir();
  for (
    const pair of [
      generateKeyPairSync("rsa", { modulusLength: 2048 }),
      generateKeyPairSync("ed25519"),
    ]
  ) {
    await t.step(pair.publicKey.asymmetricKeyType!, async () => {
      const pemPath = join(dir.path, "k.pem");
      const jwkPath = join(dir.path, "k.jwk");
      await Deno.writeTextFile(pemPath, pem(pair.publicKey, "spki"));
      await Deno.writeTextFile(jwkPath, JSON.stringify(await exportJWK(pair.publicKey)));
      const fromPem = await loadPublicKey(await Deno.readFile(pemPath), pemPath);
      const fromJwk = await loadPublicKey(await Deno.readFile(jwkPath), jwkPath);
      assertEquals(fromJwk.hint, fromPem.hint);
      assertEquals(fromJwk.schemes, fromPem.schemes);
    });
  }
});

Deno.test("describeKey() stays EC-only for certificates; describePublicKey() rejects others", async () => {
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
  await assertFailsWith(() => describeKey(rsa, "leaf"), TrustMaterialError, "KEY_UNSUPPORTED");
  const x25519 = generateKeyPairSync("x25519").publicKey;
  const error = await assertFailsWith(
    () => describePublicKey(x25519, "x.pem"),
    TrustMaterialError,
    "KEY_UNSUPPORTED",
  );
  assertStringIncludes(error.message, "x.pem");
});

Deno.test("loadWithWebCrypto() gives what node:crypto gives: key, hint, description", async (t) => {
  const pairs: [string, KeyObject][] = [
    ["P-256", generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey],
    ["P-384", generateKeyPairSync("ec", { namedCurve: "P-384" }).publicKey],
    ["P-521", generateKeyPairSync("ec", { namedCurve: "P-521" }).publicKey],
    ["Ed25519", generateKeyPairSync("ed25519").publicKey],
    ["RSA 2048", generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey],
    ["RSA 3072", generateKeyPairSync("rsa", { modulusLength: 3072 }).publicKey],
  ];
  for (const [name, publicKey] of pairs) {
    await t.step(name, async () => {
      const text = pem(publicKey, "spki");
      const fast = await loadWithWebCrypto(text);
      assert(fast, "the WebCrypto path refused the key");
      const { key: _, ...node } = await loadPublicKeyWithNode(text, "k.pem");
      assertEquals(fast, node);
      // The shapes node:crypto takes too: descriptive text first, CRLF, other line lengths.
      const body = text.split("\n").slice(1, -2).join("");
      for (
        const variant of [
          `My signing key (2026)\n${text}`,
          text.replaceAll("\n", "\r\n"),
          `-----BEGIN PUBLIC KEY-----\n${body}\n-----END PUBLIC KEY-----`,
          `-----BEGIN PUBLIC KEY-----\n${
            body.match(/.{1,76}/g)!.join("\n")
          }\n-----END PUBLIC KEY-----\n\n`,
        ]
      ) {
        assertEquals(await loadWithWebCrypto(variant), fast, JSON.stringify(variant));
        const { key: __, ...again } = await loadPublicKeyWithNode(variant, "k.pem");
        assertEquals(again, node, JSON.stringify(variant));
      }
    });
  }
});

Deno.test("loadWithWebCrypto() leaves other files to node:crypto, which decides as before", async (t) => {
  const ec = generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
  const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 }).publicKey;
  const text = pem(ec, "spki");
  const der = ec.export({ type: "spki", format: "der" }) as Uint8Array;
  // The same point, compressed (WebCrypto exports it uncompressed: another hint).
  const point = der.subarray(der.length - 65);
  const compressed = new Uint8Array([
    ...der.subarray(2, 2 + 21),
    0x03,
    0x22,
    0x00,
    point[64]! & 1 ? 0x03 : 0x02,
    ...point.subarray(1, 33),
  ]);
  const compressedPem = `-----BEGIN PUBLIC KEY-----\n${
    btoa(String.fromCharCode(0x30, compressed.length, ...compressed))
  }\n-----END PUBLIC KEY-----\n`;
  const cases: [string, string, string | undefined][] = [
    ["text after the block", `${text}trailing words\n`, "KEY_INVALID"],
    ["two blocks", text + text, "KEY_INVALID"],
    [
      "a certificate block first",
      `-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n${text}`,
      "KEY_INVALID",
    ],
    ["bad base64", text.replace(/\n([A-Za-z0-9+/])/, "\n!$1"), "KEY_INVALID"],
    [
      "RSA 1024",
      pem(generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey, "spki"),
      "KEY_UNSUPPORTED",
    ],
    [
      "secp256k1",
      pem(generateKeyPairSync("ec", { namedCurve: "secp256k1" }).publicKey, "spki"),
      "KEY_UNSUPPORTED",
    ],
    ["X25519", pem(generateKeyPairSync("x25519").publicKey, "spki"), "KEY_UNSUPPORTED"],
    ["PKCS#1 RSA PUBLIC KEY", rsa.export({ type: "pkcs1", format: "pem" }) as string, undefined],
    ["a compressed EC point", compressedPem, undefined],
  ];
  for (const [name, variant, code] of cases) {
    await t.step(name, async () => {
      assertEquals(await loadWithWebCrypto(variant), undefined);
      const bytes = new TextEncoder().encode(variant);
      if (code === undefined) {
        // Keys node:crypto reads: loadPublicKey() gives node's key.
        const { key: _, ...node } = await loadPublicKeyWithNode(variant, "k.pem");
        const { key: __, ...loaded } = (await loadPublicKey(bytes, "k.pem")) as NodeLoadedKey;
        assertEquals(loaded, node);
      } else {
        await assertFailsWith(() => loadPublicKey(bytes, "k.pem"), TrustMaterialError, code);
      }
    });
  }
});
