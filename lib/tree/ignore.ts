/**
 * Which paths of a model are left out: the signature file, git metadata, the paths the signer
 * recorded in `ignore_paths`, and the user's `--ignore-paths`.
 *
 * The rule for a user entry (OMS v1.0 6.2.1; docs/ignore_paths.md):
 * - glob characters (`*`, `?`, `[`) or a `..` component: usage error, never a pattern;
 * - an absolute entry names that path; it must lie inside the model (usage error otherwise);
 * - a relative entry names a path relative to the model root (`README.md` means
 *   `<model>/README.md`, wherever the process runs: the operator runs in `/`). model_signing
 *   resolves it against the working directory instead; that reading is kept only when it is
 *   unambiguous: it names an existing path inside the model and `<model>/<entry>` does not exist.
 *
 * An entry that is a symbolic link is left out by its own path, never by its target (a
 * signature file linked to a model file must not make that file ignored). Parent directories
 * are resolved, so a model reached through a linked directory still matches.
 *
 * @module
 */

import { isAbsolute, join, normalize, relative, resolve, sep } from "../_posix_path.ts";
import { escapeName } from "../_escape.ts";
import { checkIgnoreEntry } from "../config/ignore_entry.ts";
import { ConfigError } from "../errors.ts";

/** Top-level git paths model_signing leaves out by default. */
export const GIT_PATHS = [".git", ".gitattributes", ".github", ".gitignore"] as const;

/** Inputs of {@link buildIgnoreList}. */
export interface IgnoreInputs {
  /** The model directory, absolute and with symlinks resolved. */
  modelRoot: string;
  /** `--ignore-paths` entries as given (absolute, or relative: see the module rule). */
  userPaths: readonly string[];
  /** Working directory, for model_signing's cwd-relative spelling of a relative entry. */
  cwd: string;
  /** Absolute paths left out when inside the model (the signature file); others are dropped. */
  internalPaths: readonly string[];
  /** Paths relative to the model, from the signature's `ignore_paths`. */
  recordedPaths: readonly string[];
  /** Leave out the git paths. When false, they also stop counting as recorded ignores. */
  ignoreGitPaths: boolean;
}

/** The ignore list and the user entries that matched nothing on disk. */
export interface IgnoreList {
  /** Relative POSIX paths, sorted, de-duplicated, no trailing slash. */
  ignored: string[];
  /** `--ignore-paths` entries (as given) that name nothing in the model. */
  unmatched: string[];
}

/**
 * Builds the ignore list.
 *
 * @throws {ConfigError} `IGNORE_PATH_INVALID` for a glob or `..` entry, or an absolute entry
 * outside the model
 */
export function buildIgnoreList(inputs: IgnoreInputs): IgnoreList {
  const out = new Set<string>();
  const add = (rel: string) => {
    const posix = toPosix(rel);
    if (posix === "" || posix === "." || posix === ".." || posix.startsWith("../")) return;
    if (isAbsolute(posix)) return;
    out.add(posix);
  };
  const unmatched: string[] = [];
  for (const entry of inputs.userPaths) {
    const rel = resolveUserEntry(entry, inputs.modelRoot, inputs.cwd);
    if (!exists(join(inputs.modelRoot, rel))) unmatched.push(entry);
    add(rel);
  }
  for (const path of inputs.internalPaths) {
    add(relative(inputs.modelRoot, resolveParents(path)));
  }
  const git = new Set<string>(GIT_PATHS);
  for (const path of inputs.recordedPaths) {
    // `--no-ignore-git-paths` makes git paths count even when the signer recorded them ignored.
    if (!inputs.ignoreGitPaths && git.has(toPosix(path))) continue;
    add(path);
  }
  if (inputs.ignoreGitPaths) GIT_PATHS.forEach(add);
  return { ignored: [...out].sort(), unmatched };
}

/** True when `name` (relative POSIX) is an ignored path or lies below one. */
export function isIgnored(name: string, ignored: readonly string[]): boolean {
  return ignored.some((p) => name === p || name.startsWith(p + "/"));
}

/** The one warning line naming entries that matched nothing, or undefined. */
export function unmatchedWarning(unmatched: readonly string[]): string | undefined {
  if (unmatched.length === 0) return undefined;
  const names = unmatched.map((p) => `'${escapeName(p)}'`).join(", ");
  return `--ignore-paths entries match nothing in the model: ${names} ` +
    "(a relative entry is relative to the model directory)";
}

/** Turns one user entry into a path relative to the model root (see the module rule). */
function resolveUserEntry(entry: string, modelRoot: string, cwd: string): string {
  checkIgnoreEntry(entry);
  if (isAbsolute(entry)) {
    const rel = relative(modelRoot, resolveParents(entry));
    if (rel === "" || rel === ".." || rel.startsWith(".." + sep) || isAbsolute(rel)) {
      throw new ConfigError(
        "IGNORE_PATH_INVALID",
        `--ignore-paths entry '${escapeName(entry)}' is not inside the model ` +
          `'${escapeName(modelRoot)}'; give a path inside it, or one relative to it`,
      );
    }
    return rel;
  }
  const fromRoot = normalize(entry);
  if (exists(join(modelRoot, fromRoot))) return fromRoot;
  const fromCwd = relative(modelRoot, resolveParents(resolve(cwd, entry)));
  const insideModel = fromCwd !== "" && fromCwd !== ".." && !fromCwd.startsWith(".." + sep) &&
    !isAbsolute(fromCwd);
  return insideModel && exists(join(modelRoot, fromCwd)) ? fromCwd : fromRoot;
}

function toPosix(path: string): string {
  return normalize(path).split(sep).join("/").replace(/\/+$/, "");
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves symlinks in the parent directories of `path` (the longest existing prefix), never in
 * its last component: the path itself is what is left out, even when it is a link.
 */
function resolveParents(path: string): string {
  const absolute = resolve(path);
  const parent = resolve(absolute, "..");
  if (parent === absolute) return absolute;
  const name = absolute.slice(parent.length).replace(/^\/+/, "");
  return join(realPathOrSelf(parent), name);
}

/** Resolves symlinks in the longest existing prefix of `path` (as Python's `Path.resolve()`). */
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
