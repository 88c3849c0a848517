import { assertEquals } from "../../tests/_assert.ts";
import { parseJsonBytes } from "./json_bytes.ts";

const encoder = new TextEncoder();

/** Parses with both parsers: both must accept with equal results, or both refuse. */
function agree(text: string | Uint8Array): void {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  let expected: { value: unknown } | { error: true };
  try {
    expected = { value: JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) };
  } catch {
    expected = { error: true };
  }
  let actual: { value: unknown } | { error: true };
  try {
    actual = { value: parseJsonBytes(bytes) };
  } catch (error) {
    if (!(error instanceof SyntaxError || error instanceof TypeError)) throw error;
    actual = { error: true };
  }
  assertEquals(actual, expected, `input ${JSON.stringify(new TextDecoder().decode(bytes))}`);
}

Deno.test("parseJsonBytes() agrees with JSON.parse on a table of documents", () => {
  const cases = [
    "{}",
    "[]",
    ' \t\r\n{ "a" : [ 1 , -2.5e+3 , 0 , true , false , null ] } ',
    '{"a":"\\u00e9\\n\\"\\\\\\/\\b\\f\\r\\t","b":"модель 🤗"}',
    '{"__proto__":{"x":1},"a":1,"a":2}',
    '"just a string"',
    "1e400",
    "-0",
    "",
    "{",
    "[1,]",
    "{,}",
    '{"a" 1}',
    "01",
    "1.",
    ".5",
    "+1",
    "--1",
    "1e",
    "tru",
    "nul",
    "[1] x",
    '"\u0001"',
    '"\\x"',
    '"\\u12"',
    '"unterminated',
    '["a""b"]',
    '{"a":1}}',
    "NaN",
    "[1 2]",
  ];
  for (const text of cases) agree(text);
  const parsed = parseJsonBytes(encoder.encode('{"__proto__":{"x":1}}')) as Record<string, unknown>;
  assertEquals(Object.getPrototypeOf(parsed), Object.prototype);
  assertEquals(Object.keys(parsed), ["__proto__"]);
});

Deno.test("parseJsonBytes() refuses invalid UTF-8 as a fatal decoder does", () => {
  agree(new Uint8Array([0x22, 0xc3, 0x28, 0x22]));
  agree(new Uint8Array([0x22, 0xef, 0xbf, 0xbd, 0x22])); // a real U+FFFD is fine
  agree(new Uint8Array([0x22, 0xed, 0xa0, 0x80, 0x22])); // an encoded surrogate is not
});

Deno.test("parseJsonBytes() agrees with JSON.parse on seeded mutations of a bundle", () => {
  const base = encoder.encode(JSON.stringify({
    mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
    verificationMaterial: { publicKey: { hint: "ab" }, tlogEntries: [] },
    dsseEnvelope: { payload: "e30=", payloadType: "x", signatures: [{ sig: "AA==", keyid: "" }] },
    n: [0, -1.5e-3, 12345678901234567890],
  }));
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  const alphabet = encoder.encode('{}[]",:\\ 0123456789-+.eEtrufalsn\u00e9"');
  for (let n = 0; n < 3000; n++) {
    const bytes = base.slice();
    const edits = 1 + Math.floor(next() * 3);
    let out = bytes;
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(next() * out.length);
      const kind = next();
      if (kind < 0.4) out[at] = alphabet[Math.floor(next() * alphabet.length)]!;
      else if (kind < 0.7) out = new Uint8Array([...out.subarray(0, at), ...out.subarray(at + 1)]);
      else {
        out = new Uint8Array([
          ...out.subarray(0, at),
          alphabet[Math.floor(next() * alphabet.length)]!,
          ...out.subarray(at),
        ]);
      }
    }
    agree(out);
  }
});
