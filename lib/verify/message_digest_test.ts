import { Buffer } from "node:buffer";
import { createHash, generateKeyPairSync, sign } from "node:crypto";
import { assertEquals } from "../../tests/_assert.ts";
import { MessageDigestContent } from "./message_digest.ts";

const data = new TextEncoder().encode("artifact");
const digest = createHash("sha256").update(data).digest();

Deno.test("MessageDigestContent verifies ECDSA over a prehashed digest on P-256 and P-384", () => {
  for (const namedCurve of ["P-256", "P-384"]) {
    const pair = generateKeyPairSync("ec", { namedCurve });
    const hash = namedCurve === "P-256" ? "sha256" : "sha384";
    const prehashed = createHash(hash).update(data).digest();
    const signature = sign(hash, data, pair.privateKey);
    const content = new MessageDigestContent(signature, prehashed, prehashed);
    assertEquals(content.verifySignature(pair.publicKey), true, namedCurve);
    assertEquals(content.compareDigest(prehashed), true);
    assertEquals(content.compareSignature(signature), true);
  }
});

Deno.test("MessageDigestContent rejects other digests, other keys and non-EC keys", () => {
  const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const signature = sign("sha256", data, pair.privateKey);
  const other = createHash("sha256").update("other").digest();
  const content = new MessageDigestContent(signature, digest, other);
  assertEquals(content.verifySignature(pair.publicKey), false);
  assertEquals(content.compareDigest(digest), false, "bundle digest differs from the artifact's");
  const good = new MessageDigestContent(signature, digest, digest);
  assertEquals(
    good.verifySignature(generateKeyPairSync("ec", { namedCurve: "P-256" }).publicKey),
    false,
  );
  assertEquals(good.verifySignature(generateKeyPairSync("ed25519").publicKey), false);
  assertEquals(good.compareSignature(Buffer.from("x")), false);
});
