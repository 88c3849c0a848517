import {
  constants,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  type SignKeyObjectInput,
} from "node:crypto";
import { assert, assertEquals, assertFailsWith } from "../../tests/_assert.ts";
import { pae, paeCompat } from "../bundle/dsse.ts";
import type { DsseEnvelope } from "../bundle/types.ts";
import { InputError, SignatureError } from "../errors.ts";
import { checkWithNode } from "./dsse_signature.ts";
import { checkSignature, verifyDsseWithKey } from "./key_signature.ts";
import type { LoadedKey } from "./key_types.ts";
import { loadWithWebCrypto } from "./public_key.ts";

const PAYLOAD_TYPE = "application/vnd.in-toto+json";
const PAYLOAD = new TextEncoder().encode('{"_type":"https://in-toto.io/Statement/v1"}');
const DATA = pae(PAYLOAD_TYPE, PAYLOAD);

function envelope(sig: Uint8Array, payload = PAYLOAD): DsseEnvelope {
  return { payloadType: PAYLOAD_TYPE, payload, signatures: [{ sig, keyid: "" }] };
}

/** The key as `verify key` reads it: through WebCrypto (the test fails if it fell back). */
async function load(publicKey: KeyObject): Promise<LoadedKey> {
  const key = await loadWithWebCrypto(publicKey.export({ type: "spki", format: "pem" }) as string);
  assert(key, "the WebCrypto path refused the key");
  return key;
}

interface KeyCase {
  name: string;
  pair: () => { publicKey: KeyObject; privateKey: KeyObject };
  sign: (data: Uint8Array, privateKey: KeyObject) => Uint8Array;
}

const pss = (saltLength: number) => (data: Uint8Array, key: KeyObject) =>
  sign("sha256", data, {
    key,
    padding: constants.RSA_PKCS1_PSS_PADDING,
    saltLength,
  } as SignKeyObjectInput);
const rsa = () => generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = (namedCurve: string) => () => generateKeyPairSync("ec", { namedCurve });

const CASES: KeyCase[] = [
  { name: "EC P-256", pair: ec("P-256"), sign: (d, k) => sign("sha256", d, k) },
  { name: "EC P-384", pair: ec("P-384"), sign: (d, k) => sign("sha384", d, k) },
  { name: "EC P-521", pair: ec("P-521"), sign: (d, k) => sign("sha512", d, k) },
  { name: "Ed25519", pair: () => generateKeyPairSync("ed25519"), sign: (d, k) => sign(null, d, k) },
  { name: "RSA PKCS#1 v1.5", pair: rsa, sign: (d, k) => sign("sha256", d, k) },
  { name: "RSA-PSS, salt of the hash's length", pair: rsa, sign: pss(32) },
  { name: "RSA-PSS, longest salt", pair: rsa, sign: pss(constants.RSA_PSS_SALTLEN_MAX_SIGN) },
  // Neither length WebCrypto tries: node:crypto, loaded then, takes it as before.
  { name: "RSA-PSS, salt of 20 bytes", pair: rsa, sign: pss(20) },
  { name: "RSA-PSS, no salt", pair: rsa, sign: pss(0) },
];

Deno.test("verifyDsseWithKey() takes what node:crypto signs with every key type, and nothing altered", async (t) => {
  for (const c of CASES) {
    await t.step(c.name, async () => {
      const pair = c.pair();
      const key = await load(pair.publicKey);
      const sig = c.sign(DATA, pair.privateKey);
      assertEquals(await verifyDsseWithKey(envelope(sig), key, "k"), "standard");
      const altered = new TextEncoder().encode('{"_type":"https://in-toto.io/Statement/v2"}');
      const other = await load(c.pair().publicKey);
      const flipped = new Uint8Array(sig);
      flipped[flipped.length >> 1]! ^= 1;
      for (
        const [what, env, with_] of [
          ["a tampered payload", envelope(sig, altered), key],
          ["another key", envelope(sig), other],
          ["a flipped signature bit", envelope(flipped), key],
          ["an empty signature", envelope(new Uint8Array()), key],
        ] as const
      ) {
        const error = await assertFailsWith(
          () => verifyDsseWithKey(env, with_, "the given public key"),
          SignatureError,
          "SIGNATURE_INVALID",
        );
        assert(error.message.includes("the given public key"), what);
      }
    });
  }
});

Deno.test("verifyDsseWithKey() keeps each curve to its own hash and its own keys", async () => {
  const p256 = ec("P-256")();
  const p384 = ec("P-384")();
  const key256 = await load(p256.publicKey);
  // P-256 signs with SHA-256 only (model_signing's choice), as node:crypto's check did.
  for (const hash of ["sha384", "sha512", "sha1"]) {
    await assertFailsWith(
      () => verifyDsseWithKey(envelope(sign(hash, DATA, p256.privateKey)), key256, "k"),
      SignatureError,
      "SIGNATURE_INVALID",
    );
  }
  // A P-384 signature (other curve, other hash) checked with a P-256 key, and the other way.
  const sig384 = sign("sha384", DATA, p384.privateKey);
  await assertFailsWith(
    () => verifyDsseWithKey(envelope(sig384), key256, "k"),
    SignatureError,
    "SIGNATURE_INVALID",
  );
  await assertFailsWith(
    () =>
      verifyDsseWithKey(
        envelope(sign("sha384", DATA, p256.privateKey)),
        { ...key256, hash: "sha384", curve: "P-384" },
        "k",
      ),
    SignatureError,
    "SIGNATURE_INVALID",
  );
  // RSA signatures with SHA-512, and IEEE P1363 (not DER) ECDSA signatures, are not taken.
  const pair = rsa();
  const rsaKey = await load(pair.publicKey);
  await assertFailsWith(
    () => verifyDsseWithKey(envelope(sign("sha512", DATA, pair.privateKey)), rsaKey, "k"),
    SignatureError,
    "SIGNATURE_INVALID",
  );
  const p1363 = sign("sha256", DATA, { key: p256.privateKey, dsaEncoding: "ieee-p1363" });
  await assertFailsWith(
    () => verifyDsseWithKey(envelope(p1363), key256, "k"),
    SignatureError,
    "SIGNATURE_INVALID",
  );
});

Deno.test("verifyDsseWithKey() takes model_signing 0.2's encoding for ECDSA keys only", async () => {
  const p384 = ec("P-384")();
  const compat = paeCompat(PAYLOAD_TYPE, PAYLOAD);
  const sig = sign("sha384", compat, p384.privateKey);
  assertEquals(
    await verifyDsseWithKey(envelope(sig), await load(p384.publicKey), "k"),
    "compat-v0.2",
  );
  const ed = generateKeyPairSync("ed25519");
  const edKey = await load(ed.publicKey);
  await assertFailsWith(
    () => verifyDsseWithKey(envelope(sign(null, compat, ed.privateKey)), edKey, "k"),
    SignatureError,
    "SIGNATURE_INVALID",
  );
});

Deno.test("verifyDsseWithKey() requires exactly one signature", async () => {
  const pair = ec("P-256")();
  const key = await load(pair.publicKey);
  const sig = sign("sha256", DATA, pair.privateKey);
  for (const signatures of [[], [{ sig, keyid: "" }, { sig, keyid: "" }]]) {
    await assertFailsWith(
      () =>
        verifyDsseWithKey({ payloadType: PAYLOAD_TYPE, payload: PAYLOAD, signatures }, key, "k"),
      InputError,
      "SIGNATURE_COUNT",
    );
  }
});

/** A tiny deterministic generator (xorshift32), so a failure names a reproducible mutant. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

function mutate(sig: Uint8Array, next: () => number): Uint8Array {
  const bytes = Array.from(sig);
  const at = Math.floor(next() * bytes.length);
  switch (Math.floor(next() * 6)) {
    case 0:
      bytes[at] = bytes[at]! ^ (1 << Math.floor(next() * 8));
      break;
    case 1:
      bytes.splice(at, 1);
      break;
    case 2:
      bytes.splice(at, 0, Math.floor(next() * 256));
      break;
    case 3:
      bytes.push(0);
      break;
    case 4: // a length byte or a tag of the DER structure, for ECDSA
      bytes[Math.floor(next() * 4)] = Math.floor(next() * 256);
      break;
    default:
      bytes[at] = 0;
  }
  return new Uint8Array(bytes);
}

Deno.test("the WebCrypto check and node:crypto's agree on valid and mutated signatures", async (t) => {
  for (const c of CASES.slice(0, 6)) {
    await t.step(c.name, async () => {
      const pair = c.pair();
      const key = await load(pair.publicKey);
      const keyObject = createPublicKey(pair.publicKey.export({ type: "spki", format: "pem" }));
      const valid = c.sign(DATA, pair.privateKey);
      const next = random(0x5eed + c.name.length);
      const sigs = [valid, ...Array.from({ length: 150 }, () => mutate(valid, next))];
      let accepted = 0;
      for (const [i, sig] of sigs.entries()) {
        for (const scheme of key.schemes) {
          const subtle = await checkSignature(scheme, key, DATA, sig);
          const node = checkWithNode(scheme, key.hash, DATA, keyObject, sig);
          assertEquals(subtle, node, `${c.name}, ${scheme}, signature ${i}: ${sig.join(",")}`);
          if (subtle) accepted++;
        }
      }
      assert(accepted >= 1);
    });
  }
});
