import { createHash } from "node:crypto";
import { assertEquals, assertStringIncludes, assertThrows } from "../../tests/_assert.ts";
import { DigestList } from "./digest_list.ts";
import { diffDigests, ExpectedDigests } from "./expected_digests.ts";
import { computeRootDigest, diffManifests, hexToBytes, type ManifestEntry } from "./manifest.ts";

function hexOf(seed: number, width = 32): string {
  let hex = "";
  for (let i = 0; i < width; i++) {
    hex += ((seed * 131 + i * 7) & 0xff).toString(16).padStart(2, "0");
  }
  return hex;
}

/** Actual digests as diffDigests takes them: names in job order and one buffer. */
function actualOf(pairs: [string, string][], width = 32) {
  const digests = new DigestList(pairs.length, width);
  pairs.forEach(([, hex], i) => digests.set(i, hexToBytes(hex)));
  return { jobs: { length: pairs.length, name: (i: number) => pairs[i]![0] }, digests };
}

Deno.test("diffDigests() gives diffManifests()'s result: equal, extra, missing, mismatched", async (t) => {
  const signed: ManifestEntry[] = [
    { name: "b", digest: hexOf(1) },
    { name: "a/c", digest: hexOf(2) },
    { name: "é", digest: hexOf(3) },
    { name: "z", digest: hexOf(4) },
  ];
  const cases: [string, [string, string][]][] = [
    ["the same files, another order", [["z", hexOf(4)], ["a/c", hexOf(2)], ["b", hexOf(1)], [
      "é",
      hexOf(3),
    ]]],
    ["one changed, one missing, two extra", [["b", hexOf(9)], ["y", hexOf(5)], ["a/c", hexOf(2)], [
      "x",
      hexOf(6),
    ], ["é", hexOf(3)]]],
    ["nothing on disk", []],
    ["every digest changed", signed.map((e, i) => [e.name, hexOf(10 + i)])],
  ];
  const expected = new ExpectedDigests(signed, 32);
  const expectedMap = new Map(signed.map((e) => [e.name, e.digest]));
  for (const [what, pairs] of cases) {
    await t.step(what, () => {
      const { jobs, digests } = actualOf(pairs);
      assertEquals(
        diffDigests(expected, jobs, digests),
        diffManifests(expectedMap, new Map(pairs)),
      );
    });
  }
});

Deno.test("ExpectedDigests keeps names in signature order and digests of any engine's width", () => {
  const signed = [{ name: "w", digest: hexOf(7, 64) }, { name: "a", digest: hexOf(8, 64) }];
  const expected = new ExpectedDigests(signed, 64);
  assertEquals(expected.names(), ["w", "a"]);
  assertEquals(expected.size, 2);
  assertEquals(expected.digests.hex(expected.index.get("a")!), hexOf(8, 64));
  assertEquals(
    new ExpectedDigests([{ name: "u", digest: "AB".repeat(32) }], 32).digests.hex(0),
    "ab".repeat(32),
  );
  assertThrows(() => new ExpectedDigests([{ name: "x", digest: "zz".repeat(32) }], 32), Error);
  assertThrows(() => new ExpectedDigests([{ name: "x", digest: "00".repeat(31) }], 32), Error);
});

Deno.test("computeRootDigest() hashes every raw digest across its 64 KiB buffer's refills", () => {
  for (const [count, width] of [[2047, 32], [2048, 32], [2049, 32], [3000, 64]] as const) {
    const entries = Array.from({ length: count }, (_, i) => ({
      name: `f${i}`,
      digest: hexOf(i, width),
    }));
    const whole = createHash("sha256").update(entries.map((e) => e.digest).join(""), "hex");
    assertEquals(computeRootDigest(entries), whole.digest("hex"));
  }
  const odd = assertThrows(() => computeRootDigest([{ name: "a", digest: "abc" }]), Error);
  assertStringIncludes(odd.message, "odd number");
  const notHex = assertThrows(() => computeRootDigest([{ name: "a", digest: "zz" }]), Error);
  assertStringIncludes(notHex.message, "not hex");
});
