import { generateKeyPairSync, sign, verify } from "node:crypto";
import { p256, p384, p521 } from "@noble/curves/nist.js";
import { assert, assertEquals } from "../../tests/_assert.ts";
import { CURVE_ORDER, derToP1363, type EcCurve, SCALAR_BYTES } from "./ecdsa_der.ts";

const CURVES: [EcCurve, string][] = [["P-256", "sha256"], ["P-384", "sha384"], ["P-521", "sha512"]];
const DATA = new TextEncoder().encode("signed bytes");

/** DER of a signature with r and s given as unsigned big-endian integers (minimal encoding). */
function derOf(r: bigint, s: bigint): Uint8Array {
  const body = [...integer(r), ...integer(s)];
  return new Uint8Array([0x30, ...length(body.length), ...body]);
}

function integer(value: bigint): number[] {
  let hex = value.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const bytes = hex.match(/../g)!.map((h) => parseInt(h, 16));
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return [0x02, ...length(bytes.length), ...bytes];
}

function length(n: number): number[] {
  return n < 0x80 ? [n] : [0x81, n];
}

function scalars(p1363: Uint8Array, curve: EcCurve): [bigint, bigint] {
  const size = SCALAR_BYTES[curve];
  const big = (b: Uint8Array) =>
    BigInt(`0x${Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("")}`);
  return [big(p1363.subarray(0, size)), big(p1363.subarray(size))];
}

Deno.test("CURVE_ORDER holds each curve's order (checked against @noble/curves)", () => {
  const orders = { "P-256": p256, "P-384": p384, "P-521": p521 };
  for (const [curve] of CURVES) {
    assertEquals(CURVE_ORDER[curve], orders[curve].Point.Fn.ORDER, curve);
  }
});

Deno.test("derToP1363() converts node:crypto's DER signatures to what node reads as IEEE P1363", () => {
  for (const [curve, hash] of CURVES) {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: curve });
    for (let i = 0; i < 20; i++) {
      const der = sign(hash, DATA, privateKey);
      const p1363 = derToP1363(der, curve);
      assert(p1363, `${curve}: refused a valid signature`);
      assertEquals(p1363.length, 2 * SCALAR_BYTES[curve]);
      assert(verify(hash, DATA, { key: publicKey, dsaEncoding: "ieee-p1363" }, p1363), curve);
      // And back: the scalars re-encoded minimally are the very same DER bytes.
      const [r, s] = scalars(p1363, curve);
      assertEquals(derOf(r, s), new Uint8Array(der));
    }
  }
});

Deno.test("derToP1363() refuses every encoding but the one minimal DER of r, s in [1, n - 1]", async (t) => {
  for (const [curve, hash] of CURVES) {
    const { privateKey } = generateKeyPairSync("ec", { namedCurve: curve });
    const der = new Uint8Array(sign(hash, DATA, privateKey));
    const [r, s] = scalars(derToP1363(der, curve)!, curve);
    const n = CURVE_ORDER[curve];
    const withBody = (body: number[]) => new Uint8Array([0x30, ...length(body.length), ...body]);
    const rInt = integer(r);
    const sInt = integer(s);
    const padded = (int: number[]) => [0x02, int[1]! + 1, 0x00, ...int.slice(2)];
    const cases: [string, Uint8Array][] = [
      ["a trailing byte", new Uint8Array([...der, 0])],
      ["a byte cut off", der.subarray(0, der.length - 1)],
      ["empty", new Uint8Array()],
      ["another outer tag", new Uint8Array([0x31, ...der.subarray(1)])],
      ["an indefinite length", new Uint8Array([0x30, 0x80, ...der.subarray(2), 0, 0])],
      [
        "a long-form length a short one could hold",
        new Uint8Array([0x30, 0x81, 0x06, ...integer(1n), ...integer(1n)]),
      ],
      ["a non-minimal r (leading zero)", withBody([...padded(rInt), ...sInt])],
      ["a non-minimal s (leading zero)", withBody([...rInt, ...padded(sInt)])],
      ["a negative r", withBody([0x02, 1, 0xff, ...sInt])],
      ["an empty r", withBody([0x02, 0, ...sInt])],
      ["r = 0", derOf(0n, s)],
      ["s = 0", derOf(r, 0n)],
      ["r = n", derOf(n, s)],
      ["s = n", derOf(r, n)],
      ["s = n + s", derOf(r, n + s)],
      ["r longer than the curve's scalars", derOf(r + (1n << BigInt(8 * SCALAR_BYTES[curve])), s)],
      ["a third integer", withBody([...rInt, ...sInt, ...integer(1n)])],
      ["one integer", withBody([...rInt])],
      ["an OCTET STRING for s", withBody([...rInt, 0x04, ...sInt.slice(1)])],
    ];
    await t.step(curve, () => {
      for (const [name, bytes] of cases) {
        assertEquals(derToP1363(bytes, curve), undefined, `${curve}: ${name}`);
      }
      // The high-s twin is a valid encoding: ECDSA verification itself decides (node accepts it).
      assert(derToP1363(derOf(r, n - s), curve));
      assert(derToP1363(derOf(1n, n - 1n), curve));
    });
  }
});
