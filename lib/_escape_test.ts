import { assert, assertEquals, assertStringIncludes } from "../tests/_assert.ts";
import { escapeLine, escapeName, MAX_LINE_LENGTH, quoteValue, stringifyLine } from "./_escape.ts";

/** Characters no output line may carry raw. */
const HOSTILE = [
  "\n",
  "\r",
  "\t",
  "\u0000",
  "\u0007",
  "\u001b",
  "\u007f",
  "\u0085",
  "\u009b",
  "\u00ad",
  "\u061c",
  "\u200b",
  "\u200e",
  "\u2028",
  "\u2029",
  "\u202e",
  "\u2066",
  "\u2069",
  "\ufeff",
  "\ufffd",
  "\ud800",
  "\udfff",
] as const;

// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE = new RegExp(
  "[\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufffd]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]",
);

Deno.test("escapeLine() writes every control, format and bidi character as an escape", async (t) => {
  for (const c of HOSTILE) {
    await t.step(`U+${c.charCodeAt(0).toString(16).padStart(4, "0")}`, () => {
      const out = escapeLine(`a${c}b`);
      assert(!UNSAFE.test(out), JSON.stringify(out));
      assertEquals(out, `a\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}b`);
    });
  }
});

Deno.test("escapeLine() keeps printable text, pairs and backslashes and is idempotent", () => {
  const text = "модель.bin 🤗 C:\\path 'quoted' \\n";
  assertEquals(escapeLine(text), text);
  const once = escapeLine("x\n\u001b[32mVerification succeeded\u001b[0m");
  assertEquals(once, "x\\u000a\\u001b[32mVerification succeeded\\u001b[0m");
  assertEquals(escapeLine(once), once);
  assertEquals(escapeLine(escapeName("a\nb")), escapeName("a\nb"));
});

Deno.test("escapeLine() cuts long text, never inside a surrogate pair", () => {
  const long = "a".repeat(MAX_LINE_LENGTH - 1) + "🤗" + "b".repeat(10);
  const out = escapeLine(long);
  assertStringIncludes(out, `(cut, ${long.length} characters)`);
  assert(!UNSAFE.test(out));
  assert(out.length < MAX_LINE_LENGTH + 50);
});

Deno.test("stringifyLine() gives one line of JSON that decodes to the same value", () => {
  const value = { msg: HOSTILE.join(""), nested: ["\u202e\u2028"] };
  const line = stringifyLine(value);
  assert(!UNSAFE.test(line), line);
  assertEquals(JSON.parse(line), value);
  const long = stringifyLine({ m: "x".repeat(MAX_LINE_LENGTH * 4) });
  assert(long.length < MAX_LINE_LENGTH + 100);
});

Deno.test("quoteValue() escapes and cuts a value read from a signature", () => {
  assertEquals(quoteValue("a\u001b[2Jb"), "'a\\u001b[2Jb'");
  assertStringIncludes(quoteValue("x".repeat(1000)), "(cut, 1000 characters)");
});
