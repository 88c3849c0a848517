/**
 * The spelling rule of an `--ignore-paths` entry (OMS v1.0 6.2.1): an exact path, never a
 * pattern, never leaving the model. Where an entry points is decided in `lib/tree/ignore.ts`.
 *
 * @module
 */

import { escapeName } from "../_escape.ts";
import { ConfigError } from "../errors.ts";

/**
 * Checks one entry's spelling.
 *
 * @throws {ConfigError} `IGNORE_PATH_INVALID` for an empty entry, a glob character (`*`, `?`,
 * `[`) or a `..` component
 */
export function checkIgnoreEntry(entry: string): void {
  const problem = entry === ""
    ? "is empty"
    : /[*?[]/.test(entry)
    ? "contains a glob character (*, ? or [); entries are exact paths, not patterns"
    : entry.split(/[/\\]/).includes("..")
    ? "contains '..'; name a path inside the model"
    : undefined;
  if (problem) {
    throw new ConfigError(
      "IGNORE_PATH_INVALID",
      `--ignore-paths entry '${escapeName(entry)}' ${problem} (MODEL_SIGNING_IGNORE_PATHS)`,
    );
  }
}
