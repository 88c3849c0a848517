import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { InputError } from "../errors.ts";
import { IN_TOTO_PAYLOAD_TYPE } from "./dsse.ts";
import {
  LONG_NUMBER,
  parseStatement,
  PREDICATE_TYPE,
  PREDICATE_TYPE_LEGACY,
  STATEMENT_TYPE,
} from "./statement.ts";

const encoder = new TextEncoder();

function statement(): Record<string, unknown> {
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: "model", digest: { sha256: "00".repeat(32) } }],
    predicateType: PREDICATE_TYPE,
    predicate: { serialization: {}, resources: [] },
  };
}

function parse(value: unknown, payloadType = IN_TOTO_PAYLOAD_TYPE) {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  return parseStatement(payloadType, encoder.encode(text));
}

Deno.test("parseStatement() reads the subjects, predicate type and predicate", () => {
  const parsed = parse(statement());
  assertEquals(parsed.subjects, [{ name: "model", digest: { sha256: "00".repeat(32) } }]);
  assertEquals(parsed.predicateType, PREDICATE_TYPE);
  assertEquals(parsed.predicate, { serialization: {}, resources: [] });
  assertEquals(
    parse({ ...statement(), predicateType: PREDICATE_TYPE_LEGACY }).predicateType,
    PREDICATE_TYPE_LEGACY,
  );
});

Deno.test("parseStatement() rejects anything but an OMS in-toto statement", async (t) => {
  const cases: [string, unknown, string?][] = [
    ["a wrong payload type", statement(), "application/json"],
    ["an empty payload type", statement(), ""],
    ["a payload that is not JSON", "{not json"],
    ["an empty payload", ""],
    ["a truncated payload", JSON.stringify(statement()).slice(0, 40)],
    ["a JSON list", "[]"],
    ["a JSON string", '"statement"'],
    ["a missing _type", { ...statement(), _type: undefined }],
    ["an older statement _type", { ...statement(), _type: "https://in-toto.io/Statement/v0.1" }],
    ["an unknown predicate type", {
      ...statement(),
      predicateType: "https://slsa.dev/provenance/v1",
    }],
    ["a predicate type that is an object", { ...statement(), predicateType: {} }],
    ["no subject", { ...statement(), subject: [] }],
    ["a subject that is not a list", { ...statement(), subject: { name: "m" } }],
    ["a subject without a digest", { ...statement(), subject: [{ name: "m" }] }],
    ["a subject without a name", { ...statement(), subject: [{ digest: {} }] }],
    ["a digest value that is not a string", {
      ...statement(),
      subject: [{ name: "m", digest: { sha256: 1 } }],
    }],
    ["no predicate", { ...statement(), predicate: undefined }],
    ["a predicate that is a list", { ...statement(), predicate: [] }],
    ["a payload nested too deeply", {
      ...statement(),
      predicate: { deep: JSON.parse("[".repeat(70) + "]".repeat(70)) },
    }],
  ];
  for (const [what, value, payloadType] of cases) {
    await t.step(what, async () => {
      await assertFailsWith(() => parse(value, payloadType), InputError, "PAYLOAD_INVALID");
    });
  }
  await t.step("a payload that is not UTF-8", async () => {
    const bytes = encoder.encode(JSON.stringify(statement()));
    bytes[3] = 0xc3;
    await assertFailsWith(
      () => parseStatement(IN_TOTO_PAYLOAD_TYPE, bytes),
      InputError,
      "PAYLOAD_INVALID",
    );
  });
});

Deno.test("parseStatement() quotes hostile values escaped and cut short", async () => {
  const error = await assertFailsWith(
    () => parse({ ...statement(), predicateType: "x\n".repeat(100_000) }),
    InputError,
    "PAYLOAD_INVALID",
  );
  assert(error.message.length < 700, `${error.message.length} characters`);
  assertStringIncludes(error.message, "x\\nx\\n");
  assertStringIncludes(error.message, "(cut, 200000 characters)");
});

Deno.test("parseStatement() keeps a '__proto__' digest key as a plain key", () => {
  const text = JSON.stringify(statement()).replace('"sha256"', '"__proto__"');
  const digest = parse(text).subjects[0]!.digest;
  assertEquals(Object.getPrototypeOf(digest), Object.prototype);
  assertEquals(Object.keys(digest), ["__proto__"]);
});

Deno.test("parseStatement() keeps long integers exact, and LONG_NUMBER ignores digits in strings", () => {
  const text = '{"_type":"' + STATEMENT_TYPE + '","subject":[{"name":"m","digest":{"sha256":"' +
    "1234567890123456".repeat(4) + '"}}],"predicateType":"' + PREDICATE_TYPE +
    '","predicate":{"serialization":{"shard_size": 18446744073709551617},"resources":[]}}';
  const parsed = parseStatement(IN_TOTO_PAYLOAD_TYPE, encoder.encode(text));
  const serialization = parsed.predicate.serialization as Record<string, unknown>;
  assertEquals(serialization.shard_size, 18446744073709551617n);
  // A number token follows ':', ',' or '[' (after whitespace); digits in strings do not count.
  for (const number of [": 1234567890123456", ",-1234567890123456", "[\n\t 12345678901234567"]) {
    assert(LONG_NUMBER.test(`{"a"${number}}`), number);
  }
  for (
    const inString of [
      '{"d":"a1234567890123456"}',
      '{"d":"1234567890123456"}',
      '{"n":123456789012345}',
    ]
  ) {
    assert(!LONG_NUMBER.test(inString), inString);
  }
});
