/**
 * Counted nouns in messages: `1 file`, `2 files`.
 *
 * @module
 */

/** `count` and the noun, plural unless the count is exactly 1 (`plural` overrides `noun + "s"`). */
export function counted(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}
