import { assert, assertEquals, assertThrows } from "../../tests/_assert.ts";
import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import {
  digestForVerify,
  installDenoCryptoFix,
  isDenoCryptoFixInstalled,
  uninstallDenoCryptoFix,
} from "./deno_crypto.ts";

const DATA = Buffer.from("signed bytes");

function withoutFix<T>(fn: () => T): T {
  const wasInstalled = isDenoCryptoFixInstalled();
  uninstallDenoCryptoFix();
  try {
    return fn();
  } finally {
    if (wasInstalled) installDenoCryptoFix();
  }
}

function withFix<T>(fn: () => T): T {
  const installedNow = installDenoCryptoFix();
  try {
    return fn();
  } finally {
    if (installedNow) uninstallDenoCryptoFix();
  }
}

Deno.test("Deno's crypto.verify still has no default digest for EC keys (the trap the fix covers)", () => {
  const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signature = nodeCrypto.sign("sha256", DATA, privateKey);
  withoutFix(() => {
    const error = assertThrows(() => nodeCrypto.verify(null, DATA, publicKey, signature), Error);
    assert(/digest/i.test(error.message), error.message);
  });
});

Deno.test("with the fix, crypto.verify without a digest uses SHA-256 for EC keys, like Node", () => {
  for (const namedCurve of ["P-256", "P-384"]) {
    const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync("ec", { namedCurve });
    const signature = nodeCrypto.sign("sha256", DATA, privateKey);
    withFix(() => {
      assert(nodeCrypto.verify(null, DATA, publicKey, signature), namedCurve);
      assert(nodeCrypto.verify(undefined as unknown as null, DATA, publicKey, signature));
      assert(!nodeCrypto.verify(null, Buffer.from("other bytes"), publicKey, signature));
    });
  }
});

Deno.test("with the fix, crypto.verify without a digest uses SHA-256 for RSA keys, like Node", () => {
  const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 2048 });
  const signature = nodeCrypto.sign("sha256", DATA, privateKey);
  withFix(() => assert(nodeCrypto.verify(null, DATA, publicKey, signature)));
});

Deno.test("the fix leaves named digests and Ed25519 untouched", () => {
  const ec = nodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-384" });
  const sha384 = nodeCrypto.sign("sha384", DATA, ec.privateKey);
  const ed = nodeCrypto.generateKeyPairSync("ed25519");
  const edSignature = nodeCrypto.sign(null, DATA, ed.privateKey);
  withFix(() => {
    assert(nodeCrypto.verify("sha384", DATA, ec.publicKey, sha384));
    assert(!nodeCrypto.verify(null, DATA, ec.publicKey, sha384));
    assert(nodeCrypto.verify(null, DATA, ed.publicKey, edSignature));
  });
});

Deno.test("digestForVerify() picks sha256 only for EC and RSA keys without a digest", () => {
  const ec = nodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey;
  const rsa = nodeCrypto.generateKeyPairSync("rsa", { modulusLength: 1024 }).publicKey;
  const ed = nodeCrypto.generateKeyPairSync("ed25519").publicKey;
  const ecPem = ec.export({ format: "pem", type: "spki" }) as string;
  const table = [
    [null, ec, "sha256"],
    [undefined, ec, "sha256"],
    [null, ecPem, "sha256"],
    [null, rsa, "sha256"],
    ["sha512", ec, "sha512"],
    [null, ed, null],
    [undefined, ed, undefined],
    [null, "not a key", null],
  ] as const;
  for (const [algorithm, key, expected] of table) {
    assertEquals(digestForVerify(algorithm, key), expected);
  }
});

Deno.test("installDenoCryptoFix() installs once and patches the object npm packages require", async () => {
  const { createRequire } = await import("node:module");
  const required = createRequire(import.meta.url)("crypto") as typeof nodeCrypto;
  assert(required === nodeCrypto);
  withoutFix(() => {
    assert(installDenoCryptoFix());
    assert(!installDenoCryptoFix());
    assert(isDenoCryptoFixInstalled());
    const { publicKey, privateKey } = nodeCrypto.generateKeyPairSync("ec", {
      namedCurve: "P-256",
    });
    assert(required.verify(null, DATA, publicKey, nodeCrypto.sign("sha256", DATA, privateKey)));
    uninstallDenoCryptoFix();
  });
});
