/**
 * Which paths of a model are left out: the signature file, git metadata, the paths the signer
 * recorded in `ignore_paths`, and the user's `--ignore-paths`.
 *
 * @module
 */

import { isAbsolute, normalize, relative, resolve, sep } from "node:path";

/** Top-level git paths model_signing leaves out by default. */
export const GIT_PATHS = [".git", ".gitattributes", ".github", ".gitignore"] as const;

/** Inputs of {@link buildIgnoreList}. */
export interface IgnoreInputs {
  /** The model directory, absolute and with symlinks resolved. */
  modelRoot: string;
  /** Absolute paths from `--ignore-paths` and the signature file; those outside are dropped. */
  absolutePaths: readonly string[];
  /** Paths relative to the model, from the signature's `ignore_paths`. */
  relativePaths: readonly string[];
  ignoreGitPaths: boolean;
}

/**
 * Returns the ignored paths as relative POSIX paths without a trailing slash, sorted and
 * de-duplicated. Paths outside the model (`..`, other absolute paths) are dropped, as upstream.
 */
export function buildIgnoreList(inputs: IgnoreInputs): string[] {
  const out = new Set<string>();
  const add = (rel: string) => {
    const posix = normalize(rel).split(sep).join("/").replace(/\/+$/, "");
    if (posix === "" || posix === "." || posix === ".." || posix.startsWith("../")) return;
    if (isAbsolute(posix)) return;
    out.add(posix);
  };
  for (const path of inputs.absolutePaths) add(relative(inputs.modelRoot, realPathOrSelf(path)));
  for (const path of inputs.relativePaths) add(path);
  if (inputs.ignoreGitPaths) GIT_PATHS.forEach(add);
  return [...out].sort();
}

/** True when `name` (relative POSIX) is an ignored path or lies below one. */
export function isIgnored(name: string, ignored: readonly string[]): boolean {
  return ignored.some((p) => name === p || name.startsWith(p + "/"));
}

/**
 * Resolves symlinks in the longest existing prefix of `path`, so that `--ignore-paths` given
 * through a symlinked directory still matches (as Python's `Path.resolve()`).
 */
function realPathOrSelf(path: string): string {
  let head = resolve(path);
  const tail: string[] = [];
  while (true) {
    try {
      return resolve(Deno.realPathSync(head), ...tail);
    } catch {
      const parent = resolve(head, "..");
      if (parent === head) return resolve(path);
      tail.unshift(head.slice(parent.length).replace(/^\/+/, ""));
      head = parent;
    }
  }
}
