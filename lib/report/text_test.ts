import { assertEquals, assertStringIncludes } from "../../tests/_assert.ts";
import type { VerifyResult } from "../verify_model.ts";
import { formatBytes, formatDigest, formatDigestSummary, formatVerifySuccess } from "./text.ts";
import { counted } from "./plural.ts";

Deno.test("counted() is singular for exactly one", () => {
  assertEquals([0, 1, 2].map((n) => counted(n, "file")), ["0 files", "1 file", "2 files"]);
  assertEquals(formatBytes(1), "1 byte");
  assertEquals(formatBytes(2), "2 bytes");
});

Deno.test("text reports say '1 file' and '1 resource', never '1 files'", () => {
  const one = { modelPath: "/m", rootDigest: "sha256:00", files: 1, bytes: 7 };
  assertEquals(formatDigest(one), "sha256:00");
  assertEquals(formatDigestSummary(one), "1 file, 7 bytes in /m");
  const result: VerifyResult = {
    method: "key",
    signer: { method: "key", description: "EC P-256 key 00…" },
    modelPath: "/m",
    modelName: "m",
    rootDigest: "sha256:00",
    serialization: { method: "files", hashType: "sha256", allowSymlinks: false, ignorePaths: [] },
    resources: 1,
    files: 1,
    bytes: 1,
    seconds: 0.01,
    warnings: [],
  };
  const text = formatVerifySuccess(result);
  assertStringIncludes(text, "files:       1 (1 resource, files/sha256), 1 byte");
});
