import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import { X509Certificate } from "@sigstore/core";
import { assertEquals, assertFailsWith, assertStringIncludes } from "../../tests/_assert.ts";
import { ConfigError, PolicyError } from "../errors.ts";
import {
  checkIdentityPolicy,
  OID_FULCIO_ISSUER_V1,
  OID_FULCIO_ISSUER_V2,
  OID_FULCIO_USERNAME,
  readCertificateIdentity,
} from "./policy.ts";

// A tiny DER writer: enough to build certificates whose SAN and issuer extensions we control.
// The signature is not valid; policy checks never look at it (the chain is verified elsewhere).

function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const body = Buffer.concat(content);
  const length = body.length < 0x80
    ? Buffer.from([body.length])
    : body.length < 0x100
    ? Buffer.from([0x81, body.length])
    : Buffer.from([0x82, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, body]);
}

function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const base128 = [arc & 0x7f];
    for (let rest = Math.floor(arc / 128); rest > 0; rest = Math.floor(rest / 128)) {
      base128.unshift((rest & 0x7f) | 0x80);
    }
    bytes.push(...base128);
  }
  return tlv(0x06, Uint8Array.from(bytes));
}

const seq = (...content: Uint8Array[]) => tlv(0x30, ...content);
const utf8 = (text: string) => tlv(0x0c, Buffer.from(text));
const octets = (bytes: Uint8Array) => tlv(0x04, bytes);

type San =
  | { email: string }
  | { uri: string }
  | { otherName: string; oid?: string }
  | { rawEmail: Uint8Array };

function generalName(san: San): Uint8Array {
  if ("email" in san) return tlv(0x81, Buffer.from(san.email));
  if ("rawEmail" in san) return tlv(0x81, san.rawEmail);
  if ("uri" in san) return tlv(0x86, Buffer.from(san.uri));
  return tlv(0xa0, oid(san.oid ?? OID_FULCIO_USERNAME), tlv(0xa0, utf8(san.otherName)));
}

const SPKI = nodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey
  .export({ format: "der", type: "spki" });

function makeCert(options: { sans: San[]; issuerV2?: string; issuerV1?: string }): X509Certificate {
  const extensions: Uint8Array[] = [];
  if (options.sans.length > 0) {
    extensions.push(seq(oid("2.5.29.17"), octets(seq(...options.sans.map(generalName)))));
  }
  if (options.issuerV1 !== undefined) {
    extensions.push(seq(oid(OID_FULCIO_ISSUER_V1), octets(Buffer.from(options.issuerV1))));
  }
  if (options.issuerV2 !== undefined) {
    extensions.push(seq(oid(OID_FULCIO_ISSUER_V2), octets(utf8(options.issuerV2))));
  }
  const algorithm = seq(oid("1.2.840.10045.4.3.2"));
  const name = seq(tlv(0x31, seq(oid("2.5.4.3"), utf8("test-ca"))));
  const validity = seq(
    tlv(0x17, Buffer.from("250101000000Z")),
    tlv(0x17, Buffer.from("350101000000Z")),
  );
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Uint8Array.of(2))),
    tlv(0x02, Uint8Array.of(1)),
    algorithm,
    name,
    validity,
    seq(),
    SPKI,
    tlv(0xa3, seq(...extensions)),
  );
  const der = seq(tbs, algorithm, tlv(0x03, Uint8Array.of(0, 0x30, 0)));
  return X509Certificate.parse(Buffer.from(der));
}

const EMAIL = "stefanb@us.ibm.com";
const ISSUER = "https://sigstore.verify.ibm.com/oauth2";
const EMAIL_CERT = makeCert({ sans: [{ email: EMAIL }], issuerV2: ISSUER, issuerV1: ISSUER });

Deno.test("checkIdentityPolicy() accepts the exact email and issuer", () => {
  assertEquals(checkIdentityPolicy(EMAIL_CERT, { identity: EMAIL, issuer: ISSUER }), {
    identity: EMAIL,
    issuer: ISSUER,
  });
});

Deno.test("checkIdentityPolicy() rejects near-miss identities", async (t) => {
  const nearMisses = [
    ["one char substituted", "stefanb@us.ibm.con"],
    ["one char dropped at the end", "stefanb@us.ibm.co"],
    ["one char dropped at the start", "tefanb@us.ibm.com"],
    ["regex dot", "stefanb@us.ibm.c.m"],
    ["regex wildcard", ".*"],
    ["anchored regex", "^stefanb@us\\.ibm\\.com$"],
    ["suffix added", "stefanb@us.ibm.com.evil"],
    ["substring", "us.ibm.com"],
    ["upper case", "Stefanb@us.ibm.com"],
    ["trailing space", "stefanb@us.ibm.com "],
  ] as const;
  for (const [name, identity] of nearMisses) {
    await t.step(name, async () => {
      await assertFailsWith(
        () => checkIdentityPolicy(EMAIL_CERT, { identity, issuer: ISSUER }),
        PolicyError,
        "IDENTITY_MISMATCH",
      );
    });
  }
});

Deno.test("checkIdentityPolicy() rejects near-miss issuers", async (t) => {
  const nearMisses = [
    ["path shortened", "https://sigstore.verify.ibm.com/oauth"],
    ["trailing slash", "https://sigstore.verify.ibm.com/oauth2/"],
    ["other issuer", "https://accounts.google.com"],
    ["regex dot", "https://sigstore.verify.ibm.com/oauth."],
    ["http scheme", "http://sigstore.verify.ibm.com/oauth2"],
  ] as const;
  for (const [name, issuer] of nearMisses) {
    await t.step(name, async () => {
      await assertFailsWith(
        () => checkIdentityPolicy(EMAIL_CERT, { identity: EMAIL, issuer }),
        PolicyError,
        "ISSUER_MISMATCH",
      );
    });
  }
});

Deno.test("a policy error names the certificate's identity and issuer and the expected ones", async () => {
  const error = await assertFailsWith(
    () => checkIdentityPolicy(EMAIL_CERT, { identity: "alice@example.com", issuer: ISSUER }),
    PolicyError,
    "IDENTITY_MISMATCH",
  );
  assertStringIncludes(error.message, `'${EMAIL}' (email)`);
  assertStringIncludes(error.message, `'${ISSUER}'`);
  assertStringIncludes(error.message, "'alice@example.com'");
});

Deno.test("checkIdentityPolicy() refuses an empty expected identity or issuer", async () => {
  await assertFailsWith(
    () => checkIdentityPolicy(EMAIL_CERT, { identity: "", issuer: ISSUER }),
    ConfigError,
    "IDENTITY_REQUIRED",
  );
  await assertFailsWith(
    () => checkIdentityPolicy(EMAIL_CERT, { identity: EMAIL, issuer: "" }),
    ConfigError,
    "ISSUER_REQUIRED",
  );
});

Deno.test("the identity may be a SAN URI or a Fulcio username otherName", () => {
  const uri = "https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main";
  const cert = makeCert({ sans: [{ uri }, { otherName: "alice" }], issuerV2: ISSUER });
  for (const identity of [uri, "alice"]) {
    assertEquals(checkIdentityPolicy(cert, { identity, issuer: ISSUER }).identity, identity);
  }
});

Deno.test("an otherName with another type id is not an identity", async () => {
  const cert = makeCert({ sans: [{ otherName: "alice", oid: "1.2.3.4" }], issuerV2: ISSUER });
  assertEquals(readCertificateIdentity(cert).sans, []);
  await assertFailsWith(
    () => checkIdentityPolicy(cert, { identity: "alice", issuer: ISSUER }),
    PolicyError,
    "IDENTITY_MISMATCH",
  );
});

Deno.test("a SAN that is not valid UTF-8 never matches", () => {
  const cert = makeCert({
    sans: [{ rawEmail: Uint8Array.of(0x61, 0xff, 0x62) }, { email: EMAIL }],
    issuerV2: ISSUER,
  });
  assertEquals(readCertificateIdentity(cert).sans, [{ kind: "email", value: EMAIL }]);
});

Deno.test("the issuer comes from extension .1.8, else from the legacy .1.1", () => {
  const legacyOnly = makeCert({ sans: [{ email: EMAIL }], issuerV1: ISSUER });
  assertEquals(readCertificateIdentity(legacyOnly).issuer, ISSUER);
  const both = makeCert({
    sans: [{ email: EMAIL }],
    issuerV2: ISSUER,
    issuerV1: "https://legacy.example.com",
  });
  assertEquals(readCertificateIdentity(both).issuer, ISSUER);
});

Deno.test("a certificate without an issuer extension fails the issuer check", async () => {
  const cert = makeCert({ sans: [{ email: EMAIL }] });
  const error = await assertFailsWith(
    () => checkIdentityPolicy(cert, { identity: EMAIL, issuer: ISSUER }),
    PolicyError,
    "ISSUER_MISMATCH",
  );
  assertStringIncludes(error.message, "issuer (none)");
});
