import { assert, assertEquals } from "../../tests/_assert.ts";
import type { DigestResult } from "../digest_model.ts";
import { ConfigError, IntegrityError, PolicyError } from "../errors.ts";
import type { VerifyResult } from "../verify_model.ts";
import {
  formatDigestJson,
  formatFailureJson,
  formatSignSuccessJson,
  formatVerifySuccessJson,
  formatWarningJson,
  MAX_DIFF_NAMES,
  requestedLogFormat,
} from "./json.ts";

const RESULT: VerifyResult = {
  method: "sigstore",
  signer: {
    method: "sigstore",
    description: "jane@example.com (issuer https://accounts.example.com)",
    identity: "jane@example.com",
    issuer: "https://accounts.example.com",
    timestamps: [new Date("2025-05-01T12:00:00Z")],
  },
  modelPath: "/data",
  modelName: "bert",
  rootDigest: "sha256:" + "ab".repeat(32),
  serialization: {
    method: "shards",
    hashType: "sha256",
    shardSize: 1024,
    allowSymlinks: false,
    ignorePaths: [],
  },
  resources: 9,
  files: 3,
  bytes: 8192,
  seconds: 0.25,
  warnings: [],
};

const NOW = new Date("2026-01-02T03:04:05.678Z");

/** Parses one line, checks the four common fields come first, and drops the timestamp. */
function parseLine(line: string): Record<string, unknown> {
  assert(!line.includes("\n"), "one line");
  const parsed = JSON.parse(line);
  assertEquals(Object.keys(parsed).slice(0, 4), ["timestamp", "level", "event", "message"]);
  assert(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(parsed.timestamp), parsed.timestamp);
  delete parsed.timestamp;
  return parsed;
}

Deno.test("every JSON line starts with timestamp, level, event and message", () => {
  const line = JSON.parse(formatWarningJson("w", {}, NOW));
  assertEquals(line, {
    timestamp: "2026-01-02T03:04:05.678Z",
    level: "warning",
    event: "warning",
    message: "w",
  });
});

Deno.test("seconds are a number rounded to milliseconds", () => {
  const line = parseLine(formatVerifySuccessJson({ ...RESULT, seconds: 0.123456789 }));
  assertEquals(line.seconds, 0.123);
});

Deno.test("formatSignSuccessJson() has the signature, counts and root digest", () => {
  const result = {
    signaturePath: "/m/model.sig",
    rootDigest: "sha256:00",
    files: 1,
    resources: 1,
    warnings: [],
  };
  assertEquals(parseLine(formatSignSuccessJson(result)), {
    level: "info",
    event: "signing_succeeded",
    message: "Signing succeeded",
    signature: "/m/model.sig",
    files: 1,
    resources: 1,
    root_digest: "sha256:00",
  });
});

Deno.test("formatVerifySuccessJson() has the fields log pipelines read", () => {
  assertEquals(parseLine(formatVerifySuccessJson(RESULT)), {
    event: "verification_succeeded",
    level: "info",
    message: "Verification succeeded",
    method: "sigstore",
    model: "/data",
    model_name: "bert",
    files: 3,
    resources: 9,
    bytes: 8192,
    seconds: 0.25,
    root_digest: RESULT.rootDigest,
    hashing: { method: "shards", hash_type: "sha256", shard_size: 1024 },
    signer: {
      method: "sigstore",
      description: "jane@example.com (issuer https://accounts.example.com)",
      identity: "jane@example.com",
      issuer: "https://accounts.example.com",
      timestamps: ["2025-05-01T12:00:00.000Z"],
    },
  });
});

Deno.test("formatVerifySuccessJson() leaves out what the method does not know", () => {
  const result: VerifyResult = {
    ...RESULT,
    method: "key",
    signer: { method: "key", description: "EC P-256 key 0123…" },
    serialization: { method: "files", hashType: "sha256", allowSymlinks: false, ignorePaths: [] },
  };
  const line = parseLine(formatVerifySuccessJson(result));
  assertEquals(line.signer, { method: "key", description: "EC P-256 key 0123…" });
  assertEquals(line.hashing, { method: "files", hash_type: "sha256" });
});

Deno.test("formatFailureJson() names the event by command and keeps the headline", async (t) => {
  const error = new PolicyError("IDENTITY_MISMATCH", "Signed by 'a', expected 'b'");
  const cases = [
    ["verify", "verification_failed"],
    ["digest", "digest_failed"],
    ["sign", "signing_failed"],
    ["verify-bundle", "failed"],
  ] as const;
  for (const [command, event] of cases) {
    await t.step(command, () => {
      const line = parseLine(
        formatFailureJson(command, error, "Verification failed with error: x"),
      );
      assertEquals(line, {
        event,
        level: "error",
        message: "Verification failed with error: x",
        exit_code: 1,
        error: {
          kind: "PolicyError",
          code: "IDENTITY_MISMATCH",
          message: "Signed by 'a', expected 'b'",
        },
      });
    });
  }
});

Deno.test("formatFailureJson() summarizes a manifest difference", () => {
  const names = Array.from(
    { length: MAX_DIFF_NAMES + 5 },
    (_, i) => `f${String(i).padStart(2, "0")}`,
  );
  const error = new IntegrityError("MODEL_MODIFIED", "differs\nover lines", {
    extra: names,
    missing: ["gone.bin"],
    mismatched: [{ name: "w.bin", expected: "00", actual: "11" }],
  });
  const line = parseLine(formatFailureJson("verify", error, "Verification failed with error: x"));
  const err = line.error as Record<string, unknown>;
  assertEquals(err.message, "differs\nover lines");
  assertEquals(err.diff, {
    extra: MAX_DIFF_NAMES + 5,
    missing: 1,
    mismatched: 1,
    extra_files: names.slice(0, MAX_DIFF_NAMES),
    missing_files: ["gone.bin"],
    mismatched_files: ["w.bin"],
  });
  assertEquals(line.exit_code, 1);
});

Deno.test("formatFailureJson() gives a usage error exit code 2", () => {
  const error = new ConfigError("UNKNOWN_OPTION", "No such option: --x");
  assertEquals(parseLine(formatFailureJson("verify", error, "h")).exit_code, 2);
});

Deno.test("formatWarningJson() and formatDigestJson()", () => {
  assertEquals(parseLine(formatWarningJson("old format")), {
    event: "warning",
    level: "warning",
    message: "old format",
  });
  const digest: DigestResult = { modelPath: "/m", rootDigest: "sha256:00", files: 2, bytes: 10 };
  assertEquals(parseLine(formatDigestJson(digest)), {
    event: "digest",
    level: "info",
    message: "sha256:00",
    model: "/m",
    root_digest: "sha256:00",
    files: 2,
    bytes: 10,
  });
});

Deno.test("requestedLogFormat() reads argv first, then MODEL_SIGNING_LOG_FORMAT", async (t) => {
  const json = { MODEL_SIGNING_LOG_FORMAT: "JSON" };
  const cases = [
    [["verify", "--log-format", "json"], {}, "json"],
    [["--log_format=json", "verify"], {}, "json"],
    [["verify", "--log-format=text"], json, "text"],
    [["verify", "--log-format"], json, "text"],
    [["verify"], json, "json"],
    [["verify"], { MODEL_SIGNING_LOG_FORMAT: "yaml" }, "text"],
    [[], {}, "text"],
  ] as const;
  for (const [argv, env, expected] of cases) {
    await t.step(`${argv.join(" ")} ${JSON.stringify(env)}`, () => {
      assertEquals(requestedLogFormat(argv, env), expected);
    });
  }
});
