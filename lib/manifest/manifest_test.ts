import { createHash } from "node:crypto";
import { assertEquals } from "../../tests/_assert.ts";
import {
  compareResourceNames,
  computeRootDigest,
  describeDiff,
  diffManifests,
  diffNames,
  hexToBytes,
  isEmptyDiff,
} from "./manifest.ts";

Deno.test("computeRootDigest() hashes the raw digests in order; none gives SHA-256 of ''", () => {
  assertEquals(
    computeRootDigest([]),
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  const a = { name: "a", digest: "00".repeat(32) };
  const b = { name: "b", digest: "ff".repeat(32) };
  assertEquals(computeRootDigest([a, b]) === computeRootDigest([b, a]), false);
  const raw = createHash("sha256").update(hexToBytes(a.digest)).update(hexToBytes(b.digest));
  assertEquals(computeRootDigest([a, b]), raw.digest("hex"));
});

Deno.test("compareResourceNames() orders by path component, then shard start, as upstream", () => {
  const names = ["d0/x", "d0.txt", "a/b", "a"];
  assertEquals(names.sort(compareResourceNames), ["a", "a/b", "d0/x", "d0.txt"]);
  const shards = ["f:16:24", "f:0:8", "f:8:16", "e:0:1"];
  assertEquals(
    shards.sort((x, y) => compareResourceNames(x, y, true)),
    ["e:0:1", "f:0:8", "f:8:16", "f:16:24"],
  );
});

Deno.test("diffManifests() lists extra, missing and changed names, sorted", () => {
  const expected = new Map([["a", "1"], ["b", "2"], ["c", "3"]]);
  const actual = new Map([["c", "9"], ["b", "2"], ["z", "0"], ["d", "4"]]);
  const diff = diffManifests(expected, actual);
  assertEquals(diff, {
    extra: ["d", "z"],
    missing: ["a"],
    mismatched: [{ name: "c", expected: "3", actual: "9" }],
  });
  assertEquals(isEmptyDiff(diff), false);
  assertEquals(isEmptyDiff(diffManifests(expected, new Map(expected))), true);
  assertEquals(
    describeDiff(diff, (n) => n),
    "extra files not in the signature: d, z; missing files listed in the signature: a; " +
      "hash mismatch for 'c': expected 3, actual 9",
  );
});

Deno.test("diffNames() lists extra and missing names, sorted, and compares no digest", () => {
  const expected = new Map([["a", "1"], ["b", "2"], ["c", "3"]]);
  assertEquals(diffNames(expected, ["c", "b", "z", "d"]), {
    extra: ["d", "z"],
    missing: ["a"],
    mismatched: [],
  });
  assertEquals(isEmptyDiff(diffNames(expected, ["b", "a", "c"])), true);
  // The same names as diffManifests() finds, whatever the digests.
  const actual = new Map([["c", "9"], ["\u{1F600}", "0"], ["\uE000", "0"]]);
  const full = diffManifests(expected, actual);
  assertEquals(diffNames(expected, actual.keys()), { ...full, mismatched: [] });
});
