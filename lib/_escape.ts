/**
 * Makes attacker-controlled text (file names, resource names, values from a signature, OS error
 * messages that quote a path) safe to put in a one-line message or a Kubernetes termination
 * message.
 *
 * @module
 */

/**
 * Characters JSON.stringify leaves alone but a terminal or a log viewer may act on: DEL and the
 * C1 controls, the Unicode line and paragraph separators, bidirectional formatting controls
 * (which can make `evil.bin` display as `nib.live`), zero-width characters, the byte order mark,
 * and U+FFFD, which Deno substitutes for bytes of a name that are not UTF-8.
 */
const INVISIBLE =
  /[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffd]/g;

/**
 * Escapes a file or resource name for messages with JSON string rules, without the surrounding
 * quotes, so that a name with a newline or an escape sequence stays on one line and prints
 * nothing but itself. Invisible and bidirectional formatting characters and U+FFFD are written
 * as `\u` escapes (four hex digits) too; printable non-ASCII text (`модель.bin`) is kept.
 *
 * @example Newlines and terminal escapes stay visible
 * ```ts
 * import { escapeName } from "./_escape.ts";
 * escapeName("a\nb\u001b[2J"); // "a\\nb\\u001b[2J"
 * ```
 */
export function escapeName(name: string): string {
  return JSON.stringify(name)
    .slice(1, -1)
    .replace(INVISIBLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Longest attacker-supplied value quoted in a message by {@link quoteValue}, in characters. */
export const MAX_QUOTED_LENGTH = 200;

/**
 * Renders a value read from a signature for a message: escaped like {@link escapeName} and cut
 * to {@link MAX_QUOTED_LENGTH} characters, so a 60 MiB `mediaType` does not become a 60 MiB
 * message. Numbers, booleans and null are shown as JSON, lists and objects by their type, and
 * `undefined` as `missing`.
 */
export function quoteValue(value: unknown): string {
  if (typeof value !== "string") {
    if (value === undefined) return "missing";
    if (value === null || typeof value === "number" || typeof value === "boolean") {
      return String(value);
    }
    return Array.isArray(value) ? "a list" : "an object";
  }
  const cut = value.length > MAX_QUOTED_LENGTH;
  const text = escapeName(cut ? value.slice(0, MAX_QUOTED_LENGTH) : value);
  return `'${text}'` + (cut ? ` (cut, ${value.length} characters)` : "");
}

/**
 * Everything {@link escapeLine} writes as an escape: C0 controls (newline and tab included), DEL,
 * the C1 controls, every invisible, bidirectional or format character {@link escapeName} escapes,
 * and lone surrogates (which a terminal may render as anything).
 */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE_IN_LINE = new RegExp(
  "[\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff\\ufff9-\\ufffd]|[\\ud800-\\udbff](?![\\udc00-\\udfff])|(?<![\\ud800-\\udbff])[\\udc00-\\udfff]",
  "g",
);

/** Longest message {@link escapeLine} lets through, in characters. */
export const MAX_LINE_LENGTH = 16_384;

/**
 * Makes a finished message safe for one output line: every control, invisible, bidirectional or
 * format character and every lone surrogate becomes a `\u` escape (four hex digits), and text
 * beyond {@link MAX_LINE_LENGTH} characters is cut. Backslashes are left alone, so a message
 * whose values {@link quoteValue} already escaped passes unchanged; calling it twice changes
 * nothing. Every report (text, JSON, termination message, agent log) passes untrusted text
 * through this function last, so a message that forgot to quote a value still prints nothing but
 * itself: no colour, no cursor movement, no second line, no reordered text.
 *
 * @example A fake verdict stays on the failure line
 * ```ts
 * import { escapeLine } from "./_escape.ts";
 * escapeLine("hint\n\u001b[32mVerification succeeded"); // "hint\\u000a\\u001b[32mVerification succeeded"
 * ```
 */
export function escapeLine(text: string, max: number = MAX_LINE_LENGTH): string {
  const cut = text.length > max;
  let head = cut ? text.slice(0, max) : text;
  // Do not leave half a surrogate pair at the cut.
  if (cut && /[\ud800-\udbff]$/.test(head)) head = head.slice(0, -1);
  const safe = head.replace(UNSAFE_IN_LINE, unicodeEscape);
  return cut ? `${safe}… (cut, ${text.length} characters)` : safe;
}

function unicodeEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/**
 * `JSON.stringify` for log lines: strings longer than {@link MAX_LINE_LENGTH} are cut, and the
 * characters JSON leaves raw but a terminal or log viewer acts on (DEL, C1, bidi and other
 * format characters, U+2028/U+2029, lone surrogates) are written as `\u` escapes, which decode
 * to the same value. The result is one line of valid JSON.
 */
export function stringifyLine(value: unknown): string {
  const json = JSON.stringify(
    value,
    (_key, v) =>
      typeof v === "string" && v.length > MAX_LINE_LENGTH
        ? `${v.slice(0, MAX_LINE_LENGTH)}… (cut, ${v.length} characters)`
        : v,
  );
  return json.replace(UNSAFE_IN_LINE, unicodeEscape);
}
