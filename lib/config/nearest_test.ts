import { assertEquals } from "../../tests/_assert.ts";
import { editDistance, nearestName } from "./nearest.ts";

Deno.test("editDistance() counts insertions, deletions, substitutions and swaps", async (t) => {
  const cases = [
    ["key", "key", 0],
    ["keys", "key", 1],
    ["publickey", "public-key", 1],
    ["pubilc-key", "public-key", 1],
    ["", "abc", 3],
  ] as const;
  for (const [a, b, expected] of cases) {
    await t.step(`${a} -> ${b}`, () => assertEquals(editDistance(a, b), expected));
  }
});

Deno.test("nearestName() finds a close name and nothing for a far one", () => {
  const names = ["public-key", "signature", "identity", "identity-provider"];
  assertEquals(nearestName("public_kye", names), "public-key");
  assertEquals(nearestName("PUBLICKEY", names), "public-key");
  assertEquals(nearestName("identity-providr", names), "identity-provider");
  assertEquals(nearestName("frobnicate", names), undefined);
});
