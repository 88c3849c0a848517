/**
 * `JSON.parse` for UTF-8 bytes whose shape was already bounded by {@link scanJson}: same result,
 * same strictness, but without first turning the whole document into one string. A bundle is a
 * few hundred values around one large base64 payload; decoding each string from its own bytes
 * keeps one copy of that payload in memory instead of two (the document text and the parsed
 * string), which at the 64 MiB cap is the difference between fitting in 256 MiB or not.
 *
 * @module
 */

import { decodeUtf8, stringEnd } from "./json_limits.ts";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
// deno-lint-ignore no-control-regex -- JSON strings may not hold raw control characters
const CONTROL = /[\u0000-\u001f]/;
const NUMBER = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$/;

/**
 * A string value left as its UTF-8 bytes (without escapes) because it is large: the signed
 * payload's base64 is decoded straight from these bytes, so the key and certificate methods
 * never hold it as a string. {@link materializeJson} turns them into strings where a library
 * needs the plain document.
 */
export class RawJsonString {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
  }
  /**
   * The string value.
   *
   * @throws {SyntaxError} when it holds a control character, as `JSON.parse` would
   */
  toString(): string {
    const text = decodeUtf8(this.bytes);
    if (CONTROL.test(text)) throw new SyntaxError("control character in a string");
    return text;
  }
}

/** Options of {@link parseJsonBytes}. */
export interface ParseJsonBytesOptions {
  /** Strings of more bytes than this, without escapes, come back as {@link RawJsonString}. */
  rawStringsAbove?: number;
}

/**
 * Parses JSON from UTF-8 bytes.
 *
 * @throws {SyntaxError} naming the byte offset, for anything `JSON.parse` would refuse
 * @throws {TypeError} for invalid UTF-8
 */
export function parseJsonBytes(bytes: Uint8Array, options: ParseJsonBytesOptions = {}): unknown {
  const parser = new Parser(bytes, options.rawStringsAbove ?? Infinity);
  parser.skipSpace();
  const value = parser.value();
  parser.skipSpace();
  if (parser.pos !== bytes.length) parser.fail("unexpected data after the JSON value");
  return value;
}

class Parser {
  pos = 0;
  readonly #bytes: Uint8Array;
  readonly #rawAbove: number;

  constructor(bytes: Uint8Array, rawAbove: number) {
    this.#bytes = bytes;
    this.#rawAbove = rawAbove;
  }

  fail(reason: string): never {
    throw new SyntaxError(`${reason} at byte ${this.pos}`);
  }

  skipSpace(): void {
    const b = this.#bytes;
    while (this.pos < b.length) {
      const c = b[this.pos];
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  value(): unknown {
    const c = this.#bytes[this.pos];
    if (c === 0x7b) return this.object();
    if (c === 0x5b) return this.array();
    if (c === QUOTE) return this.string(true);
    if (c === 0x74) return this.literal("true", true);
    if (c === 0x66) return this.literal("false", false);
    if (c === 0x6e) return this.literal("null", null);
    if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return this.number();
    return this.fail(c === undefined ? "unexpected end of JSON" : "unexpected character");
  }

  object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.pos++;
    this.skipSpace();
    if (this.#bytes[this.pos] === 0x7d) {
      this.pos++;
      return out;
    }
    for (;;) {
      if (this.#bytes[this.pos] !== QUOTE) this.fail("expected a property name");
      const key = this.string(false) as string;
      this.skipSpace();
      if (this.#bytes[this.pos] !== 0x3a) this.fail("expected ':'");
      this.pos++;
      this.skipSpace();
      const value = this.value();
      // As JSON.parse: an own data property, even for "__proto__"; the last duplicate wins.
      Object.defineProperty(out, key, {
        value,
        writable: true,
        enumerable: true,
        configurable: true,
      });
      this.skipSpace();
      const c = this.#bytes[this.pos++];
      if (c === 0x7d) return out;
      if (c !== 0x2c) this.fail("expected ',' or '}'");
      this.skipSpace();
    }
  }

  array(): unknown[] {
    const out: unknown[] = [];
    this.pos++;
    this.skipSpace();
    if (this.#bytes[this.pos] === 0x5d) {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value());
      this.skipSpace();
      const c = this.#bytes[this.pos++];
      if (c === 0x5d) return out;
      if (c !== 0x2c) this.fail("expected ',' or ']'");
      this.skipSpace();
    }
  }

  string(rawAllowed: boolean): string | RawJsonString {
    const b = this.#bytes;
    const start = this.pos;
    const end = stringEnd(b, start);
    if (end >= b.length) this.fail("unterminated string");
    const content = b.subarray(start + 1, end);
    this.pos = end + 1;
    if (content.indexOf(BACKSLASH) < 0) {
      if (rawAllowed && content.length > this.#rawAbove) {
        // Control characters are looked for when the value is used: base64 decoding refuses
        // them (parse_bundle.ts), toString() too.
        return new RawJsonString(content);
      }
      return checkedText(decodeUtf8(content), start, this);
    }
    // Rare in bundles and small: let JSON.parse apply the escape rules exactly.
    try {
      return JSON.parse(decodeUtf8(b.subarray(start, end + 1))) as string;
    } catch (error) {
      if (error instanceof TypeError) throw error;
      this.pos = start;
      return this.fail("invalid string");
    }
  }

  number(): number {
    const b = this.#bytes;
    const start = this.pos;
    while (this.pos < b.length) {
      const c = b[this.pos]!;
      if (
        (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 ||
        c === 0x45
      ) {
        this.pos++;
      } else break;
    }
    const text = decodeUtf8(b.subarray(start, this.pos));
    if (!NUMBER.test(text)) {
      this.pos = start;
      this.fail("invalid number");
    }
    return Number(text);
  }

  literal<T>(word: string, value: T): T {
    for (let k = 0; k < word.length; k++) {
      if (this.#bytes[this.pos + k] !== word.charCodeAt(k)) this.fail("unexpected character");
    }
    this.pos += word.length;
    return value;
  }
}

function checkedText(text: string, start: number, parser: Parser): string {
  if (CONTROL.test(text)) {
    parser.pos = start;
    parser.fail("control character in a string");
  }
  return text;
}

/** A copy of a parsed document with every {@link RawJsonString} turned into a string. */
export function materializeJson(value: unknown): unknown {
  if (value instanceof RawJsonString) return value.toString();
  if (Array.isArray(value)) return value.map(materializeJson);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, {
        value: materializeJson(v),
        writable: true,
        enumerable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}
