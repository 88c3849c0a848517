/**
 * Escapes control characters and quotes in a file or resource name for messages, using JSON
 * string rules without the surrounding quotes, so a name with a newline stays on one line.
 */
export function escapeName(name: string): string {
  return JSON.stringify(name).slice(1, -1);
}
