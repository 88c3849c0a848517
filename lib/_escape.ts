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
