import { assertEquals } from "../../tests/_assert.ts";
import { pae, paeCompat, pythonBytesRepr } from "./dsse.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("pae() matches the DSSE v1 specification's example", () => {
  // https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md#test-vectors
  assertEquals(
    text(pae("http://example.com/HelloWorld", bytes("hello world"))),
    "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
  );
});

Deno.test("pae() counts lengths in bytes, not characters", () => {
  assertEquals(text(pae("t", bytes("é"))), "DSSEv1 1 t 2 é");
});

Deno.test("pythonBytesRepr() writes what Python's repr(bytes) writes", () => {
  const cases: [Uint8Array, string][] = [
    [bytes('{\n  "a": 1\t}'), String.raw`b'{\n  "a": 1\t}'`],
    [bytes("it's"), `b"it's"`],
    [bytes(`it's "q"`), String.raw`b'it\'s "q"'`],
    [bytes("back\\slash\r"), String.raw`b'back\\slash\r'`],
    [new Uint8Array([0, 0x7f, 0xff, 0x41]), String.raw`b'\x00\x7f\xffA'`],
  ];
  for (const [input, expected] of cases) assertEquals(pythonBytesRepr(input), expected);
});

Deno.test("paeCompat() reproduces model_signing 0.2's encoding", () => {
  assertEquals(
    text(paeCompat("application/vnd.in-toto+json", bytes('{"x": "y"}\n'))),
    String.raw`DSSEV1 28 application/vnd.in-toto+json 11 b'{"x": "y"}\n'`,
  );
});
