import { assertEquals, assertRejects, assertStringIncludes } from "../../tests/_assert.ts";
import { computeRootDigest, type ManifestEntry } from "./manifest.ts";
import { rootDigestOf } from "./root_digest.ts";

function entry(name: string, seed: number, length = 32): ManifestEntry {
  let hex = "";
  for (let i = 0; i < length; i++) {
    hex += ((seed * 31 + i * 7) & 0xff).toString(16).padStart(2, "0");
  }
  return { name, digest: hex };
}

Deno.test("rootDigestOf() equals computeRootDigest(): none, one, many, order, 64-byte digests", async () => {
  const cases: ManifestEntry[][] = [
    [],
    [entry("a", 1)],
    [entry("a", 1), entry("b", 2)],
    [entry("b", 2), entry("a", 1)],
    Array.from({ length: 1000 }, (_, i) => entry(`f${i}`, i)),
    [entry("blake2b", 9, 64), entry("x", 10, 64)],
    [{ name: "upper", digest: "AB".repeat(32) }],
  ];
  for (const entries of cases) {
    assertEquals(await rootDigestOf(entries), computeRootDigest(entries));
  }
  assertEquals(
    await rootDigestOf([]),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
});

Deno.test("rootDigestOf() rejects a digest that is not hex or has an odd length", async () => {
  const cases: [string, string][] = [["zz", "not hex"], ["\u00e90", "not hex"], [
    "abc",
    "odd number",
  ]];
  for (const [digest, message] of cases) {
    const error = await assertRejects(() => rootDigestOf([{ name: "a", digest }]), Error);
    assertStringIncludes(error.message, message);
  }
});
