import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { InputError } from "../errors.ts";
import { buildBundle } from "./build_bundle.ts";
import {
  BUNDLE_MEDIA_TYPES,
  jsonDepthExceeds,
  MAX_JSON_DEPTH,
  MAX_SIGNATURE_BYTES,
  parseBundle,
} from "./parse_bundle.ts";

const encoder = new TextEncoder();
const PAYLOAD = encoder.encode('{"_type": "https://in-toto.io/Statement/v1"}');
const SIG = new Uint8Array([48, 69, 2, 32, 1, 2, 3]);

/** A valid key bundle as JSON, for tests to break one field of. */
function bundle(): Record<string, unknown> {
  return JSON.parse(buildBundle(PAYLOAD, SIG, { kind: "publicKey", hint: "ab".repeat(32) }));
}

function bytesOf(value: unknown): Uint8Array {
  return encoder.encode(typeof value === "string" ? value : JSON.stringify(value));
}

function envelope(b: Record<string, unknown>): Record<string, unknown> {
  return b.dsseEnvelope as Record<string, unknown>;
}

Deno.test("parseBundle() reads a model_signing key bundle", () => {
  const parsed = parseBundle(bytesOf(bundle()), "model.sig");
  assertEquals(parsed.mediaType, "application/vnd.dev.sigstore.bundle.v0.3+json");
  assertEquals(parsed.envelope.payloadType, "application/vnd.in-toto+json");
  assertEquals(parsed.envelope.payload, PAYLOAD);
  assertEquals(parsed.envelope.signatures, [{ sig: SIG, keyid: "" }]);
  assertEquals(parsed.material, { kind: "publicKey", hint: "ab".repeat(32) });
  assertEquals(parsed.tlogEntryCount, 0);
});

Deno.test("parseBundle() accepts every bundle media type and base64 with or without padding", () => {
  for (const mediaType of BUNDLE_MEDIA_TYPES) {
    const b = bundle();
    b.mediaType = mediaType;
    const payload = envelope(b).payload as string;
    envelope(b).payload = payload.replace(/=+$/, "").replaceAll("+", "-").replaceAll("/", "_");
    assertEquals(parseBundle(bytesOf(b), "s").envelope.payload, PAYLOAD);
    // Wrapped in lines, as PEM-minded encoders write it.
    envelope(b).payload = payload.replace(/(.{16})/g, "$1\r\n");
    assertEquals(parseBundle(bytesOf(b), "s").envelope.payload, PAYLOAD);
  }
});

Deno.test("parseBundle() rejects every malformed bundle with a coded error", async (t) => {
  const cases: [string, () => unknown, string][] = [
    ["an empty file", () => "", "SIGNATURE_MALFORMED"],
    ["whitespace only", () => " \n", "SIGNATURE_MALFORMED"],
    ["text that is not JSON", () => "model signature v1", "SIGNATURE_MALFORMED"],
    ["a truncated bundle", () => JSON.stringify(bundle()).slice(0, 100), "SIGNATURE_MALFORMED"],
    ["JSON that is not an object", () => "[1, 2]", "SIGNATURE_MALFORMED"],
    ["null", () => "null", "SIGNATURE_MALFORMED"],
    ["a missing media type", () => ({ ...bundle(), mediaType: undefined }), "SIGNATURE_MALFORMED"],
    [
      "a foreign media type",
      () => ({ ...bundle(), mediaType: "application/json" }),
      "SIGNATURE_MALFORMED",
    ],
    ["a media type that is a number", () => ({ ...bundle(), mediaType: 3 }), "SIGNATURE_MALFORMED"],
    ["a message-signature bundle", () => {
      const b = bundle();
      delete b.dsseEnvelope;
      b.messageSignature = { messageDigest: {}, signature: "AAAA" };
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["a message signature next to the envelope", () => ({
      ...bundle(),
      messageSignature: { signature: "AAAA" },
    }), "SIGNATURE_MALFORMED"],
    ["a payload that is not base64", () => {
      const b = bundle();
      envelope(b).payload = "not base64!";
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["a payload mixing the standard and URL-safe alphabets", () => {
      const b = bundle();
      envelope(b).payload = "ab+_";
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["a payload with padding inside", () => {
      const b = bundle();
      envelope(b).payload = "ab==cd==";
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["a payload of impossible base64 length", () => {
      const b = bundle();
      envelope(b).payload = "AAAAA";
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["a missing payload type", () => {
      const b = bundle();
      delete envelope(b).payloadType;
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["signatures that are not a list", () => {
      const b = bundle();
      envelope(b).signatures = { sig: "AAAA" };
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["a signature that is not an object", () => {
      const b = bundle();
      envelope(b).signatures = ["AAAA"];
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["an empty signature", () => {
      const b = bundle();
      envelope(b).signatures = [{ sig: "", keyid: "" }];
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["no DSSE signature", () => {
      const b = bundle();
      envelope(b).signatures = [];
      return b;
    }, "SIGNATURE_COUNT"],
    ["two DSSE signatures", () => {
      const b = bundle();
      const [one] = envelope(b).signatures as unknown[];
      envelope(b).signatures = [one, one];
      return b;
    }, "SIGNATURE_COUNT"],
    [
      "no verification material",
      () => ({ ...bundle(), verificationMaterial: undefined }),
      "SIGNATURE_MALFORMED",
    ],
    ["a key and a certificate chain at once", () => {
      const b = bundle();
      (b.verificationMaterial as Record<string, unknown>).x509CertificateChain = {
        certificates: [{ rawBytes: "AAAA" }],
      };
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["an empty certificate chain", () => ({
      ...bundle(),
      verificationMaterial: { x509CertificateChain: { certificates: [] } },
    }), "SIGNATURE_MALFORMED"],
    ["tlog entries that are not a list", () => {
      const b = bundle();
      (b.verificationMaterial as Record<string, unknown>).tlogEntries = {};
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["a bundle nested deeper than the limit", () => {
      const b = bundle();
      b.extra = JSON.parse("[".repeat(MAX_JSON_DEPTH) + "]".repeat(MAX_JSON_DEPTH));
      return b;
    }, "SIGNATURE_MALFORMED"],
    ["a million levels of nesting", () => "[".repeat(1e6) + "]".repeat(1e6), "SIGNATURE_MALFORMED"],
  ];
  for (const [what, make, code] of cases) {
    await t.step(what, async () => {
      const error = await assertFailsWith(
        () => parseBundle(bytesOf(make()), "/data/model.sig"),
        InputError,
        code,
      );
      assertStringIncludes(error.message, "'/data/model.sig'");
    });
  }
  await t.step("bytes that are not UTF-8", async () => {
    const bytes = bytesOf(bundle());
    bytes[10] = 0xff;
    await assertFailsWith(() => parseBundle(bytes, "s"), InputError, "SIGNATURE_MALFORMED");
  });
});

Deno.test("parseBundle() refuses a signature above 64 MiB before decoding it", async () => {
  assertEquals(MAX_SIGNATURE_BYTES, 64 * 1024 * 1024);
  const error = await assertFailsWith(
    () => parseBundle(new Uint8Array(MAX_SIGNATURE_BYTES + 1), "big.sig"),
    InputError,
    "SIGNATURE_TOO_LARGE",
  );
  assertStringIncludes(error.message, String(MAX_SIGNATURE_BYTES));
});

Deno.test("parseBundle() keeps messages short and on one line whatever the bundle holds", async () => {
  const b = bundle();
  b.mediaType = "evil\n\u001b[2Jtype" + "x".repeat(1_000_000);
  envelope(b).signatures = Array.from({ length: 5_000 }, () => 7);
  const error = await assertFailsWith(
    () => parseBundle(bytesOf(b), "s"),
    InputError,
    "SIGNATURE_MALFORMED",
  );
  assert(error.message.length < 1500, `message of ${error.message.length} characters`);
  assert(!error.message.includes("\n") && !error.message.includes("\u001b"));
  assertStringIncludes(error.message, "evil\\n\\u001b[2Jtype");
  // Only the first two signatures are decoded: one is accepted, a second already fails.
  assertStringIncludes(error.message, "dsseEnvelope.signatures[1]: not an object");
  assert(!error.message.includes("signatures[2]"), error.message);
  const text = await assertFailsWith(
    () => parseBundle(bytesOf('{"a": "\u001b]0;pwned\u0007' + "\n"), "s"),
    InputError,
    "SIGNATURE_MALFORMED",
  );
  assert(!text.message.includes("\u001b") && !text.message.includes("\n"), text.message);
});

Deno.test("jsonDepthExceeds() counts objects and lists, not brackets inside strings", () => {
  assertEquals(jsonDepthExceeds('{"a": [[1]]}', 3), false);
  assertEquals(jsonDepthExceeds('{"a": [[1]]}', 2), true);
  assertEquals(jsonDepthExceeds('{"a": "[[[[[[\\"[[["}', 1), false);
  assertEquals(jsonDepthExceeds("[]".repeat(1000), 1), false);
});

Deno.test("parseBundle() decodes a large payload from its bytes exactly as from a string", async (t) => {
  const data = new Uint8Array(1_600_003);
  for (let i = 0; i < data.length; i += 65536) {
    crypto.getRandomValues(data.subarray(i, Math.min(i + 65536, data.length)));
  }
  const standard = data.toBase64();
  const variants: [string, string, boolean][] = [
    ["standard, padded", standard, true],
    ["standard, unpadded", standard.replace(/=+$/, ""), true],
    ["base64url", data.toBase64({ alphabet: "base64url" }), true],
    ["with spaces", standard.slice(0, 1000) + "  " + standard.slice(1000), true],
    [
      "an invalid character in the middle",
      standard.slice(0, 1_200_000) + "*" +
      standard.slice(1_200_001),
      false,
    ],
    [
      "padding in the middle",
      standard.slice(0, 1_048_572) + "AA==" + standard.slice(1_048_576),
      false,
    ],
    ["both alphabets", standard.replace("+", "-").replace("/", "_"), false],
    [
      "a dangling character",
      standard.replace(/=+$/, "") + "A" +
      "A".repeat(4 - ((standard.replace(/=+$/, "").length + 1) % 4 || 4)) + "A",
      false,
    ],
  ];
  for (const [name, payload, ok] of variants) {
    await t.step(name, async () => {
      const b = bundle();
      envelope(b).payload = payload;
      const expected = (() => {
        for (const alphabet of ["base64", "base64url"] as const) {
          try {
            return Uint8Array.fromBase64(payload, { alphabet });
          } catch {
            // the other
          }
        }
        return undefined;
      })();
      assertEquals(expected !== undefined, ok, "fixture expectation");
      if (ok) {
        const parsed = parseBundle(bytesOf(b), "big.sig");
        assertEquals(parsed.envelope.payload.length, expected!.length);
        assert(parsed.envelope.payload.every((v, i) => v === expected![i]), "payload differs");
        assertEquals((parsed.raw.dsseEnvelope as { payload: string }).payload, payload);
      } else {
        await assertFailsWith(
          () => parseBundle(bytesOf(b), "big.sig"),
          InputError,
          "SIGNATURE_MALFORMED",
        );
      }
    });
  }
});

Deno.test("parseBundle() refuses raw control characters and non-ASCII in a large payload", async (t) => {
  const payload = new Uint8Array(1_500_000).fill(0x41); // "AAAA…"
  for (
    const [name, byte] of [["tab", 0x09], ["newline", 0x0a], ["CR", 0x0d], ["NUL", 0x00], [
      "é",
      0xe9,
    ]] as const
  ) {
    await t.step(name, async () => {
      const b = bundle();
      envelope(b).payload = "PAYLOAD";
      const [head, tail] = new TextDecoder().decode(bytesOf(b)).split("PAYLOAD") as [
        string,
        string,
      ];
      const body = payload.slice();
      body[700_000] = byte;
      const bytes = new Uint8Array([
        ...new TextEncoder().encode(head),
        ...body,
        ...new TextEncoder().encode(tail),
      ]);
      await assertFailsWith(() => parseBundle(bytes, "big.sig"), InputError, "SIGNATURE_MALFORMED");
    });
  }
  await t.step("a raw space is fine, as in a string", () => {
    const b = bundle();
    envelope(b).payload = "PAYLOAD";
    const [head, tail] = new TextDecoder().decode(bytesOf(b)).split("PAYLOAD") as [string, string];
    const body = payload.slice();
    body[700_001] = 0x20;
    const bytes = new Uint8Array([
      ...new TextEncoder().encode(head),
      ...body,
      ...new TextEncoder().encode(tail),
    ]);
    assertEquals(
      parseBundle(bytes, "big.sig").envelope.payload.length,
      Math.floor((1_500_000 - 1) * 3 / 4),
    );
  });
});

Deno.test("parseBundle() refuses a long string with a raw control character, as JSON.parse", async () => {
  const b = bundle();
  (b as Record<string, unknown>).extra = "XTRA";
  const [head, tail] = new TextDecoder().decode(bytesOf(b)).split("XTRA") as [string, string];
  const body = new Uint8Array(1_200_000).fill(0x41);
  body[5] = 0x01;
  const bytes = new Uint8Array([
    ...new TextEncoder().encode(head),
    ...body,
    ...new TextEncoder().encode(tail),
  ]);
  await assertFailsWith(() => parseBundle(bytes, "odd.sig"), InputError, "SIGNATURE_MALFORMED");
});
