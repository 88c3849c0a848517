import { assert, assertEquals, assertThrows } from "../../tests/_assert.ts";
import { HAS_OPENSSL, issue } from "../../tests/_fixtures/pki.ts";
import { tempDir } from "../../tests/_helpers.ts";
import { formatName, hasKeyUsage, KEY_USAGE, OID, parseCertificate } from "./x509.ts";

function pemToDer(pem: string): Uint8Array {
  return Uint8Array.fromBase64(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
}

Deno.test("parseCertificate() refuses malformed DER with a TypeError", async (t) => {
  const cases: [string, number[]][] = [
    ["empty input", []],
    ["empty SEQUENCE", [0x30, 0x00]],
    ["indefinite length", [0x30, 0x80, 0x00, 0x00]],
    ["length past the end", [0x30, 0x05, 0x30, 0x00]],
    ["non-minimal length", [0x30, 0x81, 0x02, 0x30, 0x00]],
    ["trailing bytes", [0x30, 0x00, 0x00]],
    ["not a SEQUENCE", [0x04, 0x00]],
    ["three empty SEQUENCEs", [0x30, 0x06, 0x30, 0x00, 0x30, 0x00, 0x03, 0x00]],
    ["five-byte length", [0x30, 0x85, 0x01, 0x00, 0x00, 0x00, 0x00]],
  ];
  for (const [name, bytes] of cases) {
    await t.step(name, () => {
      assertThrows(() => parseCertificate(new Uint8Array(bytes)), TypeError);
    });
  }
});

Deno.test({
  name: "parseCertificate() reads an OpenSSL certificate and refuses its mutants",
  ignore: !HAS_OPENSSL,
  async fn(t) {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "X Root", ca: true, pathLen: 2 });
    const der = pemToDer(await Deno.readTextFile(root.cert));
    const cert = parseCertificate(der);
    assertEquals(cert.version, 3);
    assertEquals(cert.basicConstraints, { ca: true, pathLength: 2 });
    assert(hasKeyUsage(cert, KEY_USAGE.keyCertSign));
    assert(!hasKeyUsage(cert, KEY_USAGE.digitalSignature));
    assertEquals(cert.extensions.get(OID.basicConstraints)?.critical, true);
    assertEquals(formatName(cert.subject), "CN=X Root");
    assertEquals(cert.signatureAlgorithmOid, "1.2.840.10045.4.3.2");
    await t.step("every truncation fails", () => {
      for (let n = 0; n < der.length; n += 7) {
        assertThrows(() => parseCertificate(der.subarray(0, n)), TypeError);
      }
    });
    await t.step("a duplicated extension fails", () => {
      // Find the basicConstraints OID and point a second extension at it by renaming keyUsage.
      const hex = der.toHex();
      const ku = "0603551d0f"; // OID 2.5.29.15
      const bc = "0603551d13"; // OID 2.5.29.19
      assert(hex.includes(ku) && hex.includes(bc));
      const mutated = Uint8Array.fromHex(hex.replace(ku, bc));
      assertThrows(() => parseCertificate(mutated), TypeError);
    });
  },
});

Deno.test("formatName() escapes and never throws", () => {
  assertEquals(formatName(new Uint8Array([0x30, 0x00])), "(empty name)");
  assertEquals(formatName(new Uint8Array([0x31])), "(unreadable name)");
  // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "a\nb\u001b" } } }
  const value = [0x61, 0x0a, 0x62, 0x1b];
  const atv = [0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, value.length, ...value];
  const name = [0x30, atv.length + 4, 0x31, atv.length + 2, 0x30, atv.length, ...atv];
  assertEquals(formatName(new Uint8Array(name)), "CN=a\\nb\\u001b");
});
