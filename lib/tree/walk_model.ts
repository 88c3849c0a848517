/**
 * Lists the regular files that make up a model, with relative POSIX names in byte order, applying
 * the ignore list and the symlink rule. Nothing here reads file content: every entry is
 * classified with `lstat` (and `stat` for an allowed symlink), so a FIFO or a device in the model
 * is rejected without being opened. The one exception is an allowed link to a file that stats as
 * empty: one byte is read to tell a pseudo file (procfs) from an empty file.
 *
 * The model directory is attacker-controlled input. The rules, each with its error code:
 * - a symlink is rejected (`SYMLINK_NOT_ALLOWED`) unless symlinks are allowed, the model path
 *   itself included, as upstream; an allowed link to a file is hashed with its target's content
 *   under the link's name; a dangling link or a loop fails (`SYMLINK_BROKEN`); an allowed link
 *   to a directory fails too (`SYMLINK_TO_DIRECTORY`), where upstream silently skips it, because
 *   what lies behind it would reach the workload unverified;
 * - a FIFO, socket or device fails (`SPECIAL_FILE`);
 * - a name that is not valid UTF-8 fails (`NAME_NOT_UTF8`): Deno reports such names lossily
 *   (each bad byte sequence becomes U+FFFD), so they could be hashed under a wrong name or
 *   collide, and model_signing cannot write them to JSON either;
 * - a directory or entry that cannot be read fails with its path and the OS error
 *   (`MODEL_UNREADABLE`).
 *
 * @module
 */

import { join, resolve } from "../_posix_path.ts";
import { escapeName } from "../_escape.ts";
import { nextTask } from "../_next_task.ts";
import { InputError } from "../errors.ts";
import { FileList, type ModelFile } from "./file_list.ts";
import { isIgnored } from "./ignore.ts";

export type { ModelFile } from "./file_list.ts";

/** The model as found on disk. */
export interface ModelTree {
  /** Absolute model path with symlinks resolved. */
  root: string;
  kind: "file" | "directory";
  /** Files in byte order of their names. */
  files: ModelFile[];
}

/** The model as found on disk, its files in compact form (see `file_list.ts`). */
export interface ModelFileList {
  /** Absolute model path with symlinks resolved. */
  root: string;
  kind: "file" | "directory";
  /** Files in byte order of their names. */
  list: FileList;
}

/** Options of {@link walkModel} and {@link listNamedFiles}. */
export interface WalkOptions {
  /** Relative POSIX paths to leave out (see `ignore.ts`). */
  ignored: readonly string[];
  allowSymlinks: boolean;
  /**
   * Told the size of each file as it is listed (before the listing is complete): lets the
   * caller start hashing workers early. Never changes what is listed.
   */
  onFile?: (size: number) => void;
  /**
   * Gives the string to keep for a listed name, equal to it: a verification passes the
   * signature's own string for the same name, so one copy of each name is kept, not two.
   */
  keptName?: (name: string) => string;
}

/** Resolves the model path and tells whether it is a file or a directory. */
export async function resolveModelRoot(
  modelPath: string,
): Promise<{ root: string; kind: "file" | "directory" }> {
  let root: string;
  let info: Deno.FileInfo;
  try {
    root = await Deno.realPath(modelPath);
    info = await Deno.stat(root);
  } catch (error) {
    const notFound = error instanceof Deno.errors.NotFound;
    throw new InputError(
      notFound ? "MODEL_NOT_FOUND" : "MODEL_UNREADABLE",
      notFound
        ? `Model path '${
          escapeName(modelPath)
        }' does not exist (or is a dangling symbolic link); ` +
          "pass the model directory or file as the last argument (MODEL_SIGNING_MODEL_PATH)"
        : `Cannot read model path '${escapeName(modelPath)}': ${describe(error)}`,
      { cause: error },
    );
  }
  if (info.isFile) return { root, kind: "file" };
  if (info.isDirectory) return { root, kind: "directory" };
  throw new InputError(
    "SPECIAL_FILE",
    `Model path '${escapeName(modelPath)}' is neither a regular file nor a directory ` +
      "(a FIFO, socket or device)",
  );
}

/** Walks the whole model directory (or takes the single file). */
export async function walkModel(modelPath: string, options: WalkOptions): Promise<ModelTree> {
  const { root, kind, list } = await walkModelList(modelPath, options);
  return { root, kind, files: list.toArray() };
}

/**
 * {@link walkModel} with the files in compact form: what `digest` and `verify` keep for the
 * whole run (no object per file).
 */
export async function walkModelList(
  modelPath: string,
  options: WalkOptions,
): Promise<ModelFileList> {
  const { root, kind } = await resolveModelRoot(modelPath);
  await checkModelPathLink(modelPath, options);
  const list = new FileList(root);
  if (kind === "file") {
    const file = await singleFile(root);
    list.add(file.name, file.size, file.mtimeMs, file.ino, file.path);
    options.onFile?.(file.size);
    return { root, kind, list };
  }
  await walkDirectory(root, "", options, list, { lastYield: performance.now() });
  list.sortByName();
  return { root, kind, list };
}

/**
 * Lists only the given names (for `--ignore-unsigned-files`): each must be a regular file inside
 * the model. Names that do not exist are returned in `missing`.
 */
export async function listNamedFiles(
  modelPath: string,
  names: readonly string[],
  options: WalkOptions,
): Promise<ModelTree & { missing: string[] }> {
  const { root, kind } = await resolveModelRoot(modelPath);
  await checkModelPathLink(modelPath, options);
  const files: ModelFile[] = [];
  const missing: string[] = [];
  for (const name of [...new Set(names)].sort()) {
    if (kind === "file") {
      if (name === ".") files.push(await singleFile(root));
      else missing.push(name);
      continue;
    }
    if (name === "." || isIgnored(name, options.ignored)) {
      if (name === ".") missing.push(name);
      continue;
    }
    const path = join(root, ...name.split("/"));
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotADirectory) {
        missing.push(name);
        continue;
      }
      throw unreadable(path, error);
    }
    await checkParents(root, name, options);
    const file = classify(path, name, info, options, "named");
    if (file === "directory") missing.push(name);
    else files.push(file);
  }
  return { root, kind, files, missing };
}

/**
 * Lists one directory and what is below it, with blocking calls (`readDirSync`, `lstatSync`): an
 * async file operation costs tens of microseconds, which made the walk several times slower on
 * models of many small files. Between directories it lets the event loop run at least every
 * {@link YIELD_EVERY_MS}, so the agent's health server keeps answering during a long walk.
 */
async function walkDirectory(
  dir: string,
  prefix: string,
  options: WalkOptions,
  out: FileList,
  clock: { lastYield: number },
): Promise<void> {
  if (performance.now() - clock.lastYield >= YIELD_EVERY_MS) {
    await nextTask();
    clock.lastYield = performance.now();
  }
  let entries: Deno.DirEntry[];
  try {
    // deno-lint-ignore no-sync-fn-in-async-fn -- deliberate, see above: the walk yields itself
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    throw unreadable(dir, error);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  // Names that decoded lossily are counted (two equal ones mean undecodable bytes); the map is
  // built only when there is one: on 100,000 files it cost more than the rest of the walk's
  // own work.
  let counts: Map<string, number> | undefined;
  if (entries.some((entry) => entry.name.includes(REPLACEMENT_CHARACTER))) {
    counts = new Map();
    for (const entry of entries) counts.set(entry.name, (counts.get(entry.name) ?? 0) + 1);
  }
  // `dir` is absolute and normalized (it comes from realPath); a name holds no `/`.
  const base = dir.endsWith("/") ? dir : dir + "/";
  for (const entry of entries) {
    const name = prefix + entry.name;
    const path = base + entry.name;
    const lossy = entry.name.includes(REPLACEMENT_CHARACTER);
    // Two entries decoded to one name: at least one of them is not UTF-8.
    if (lossy && counts!.get(entry.name)! > 1) throw notUtf8(name);
    if (!lossy && isIgnored(name, options.ignored)) continue;
    let info: Deno.FileInfo;
    try {
      // deno-lint-ignore no-sync-fn-in-async-fn -- deliberate, see above
      info = Deno.lstatSync(path);
    } catch (error) {
      // The decoded name does not lead back to the entry: its bytes are not UTF-8.
      if (lossy && error instanceof Deno.errors.NotFound) throw notUtf8(name);
      throw unreadable(path, error);
    }
    if (lossy && isIgnored(name, options.ignored)) continue;
    const file = classify(path, name, info, options, "walk");
    if (file === "directory") await walkDirectory(path, name + "/", options, out, clock);
    else {
      // The path is left out: it is the root joined with the name.
      out.add(options.keptName?.(file.name) ?? file.name, file.size, file.mtimeMs, file.ino);
      options.onFile?.(file.size);
    }
  }
}

/** Longest time the walk runs without letting the event loop run. */
const YIELD_EVERY_MS = 20;

/** What Deno puts in place of each byte sequence of a name that is not UTF-8. */
const REPLACEMENT_CHARACTER = "\uFFFD";

/**
 * Applies the symlink rule to the model path itself, as upstream does: a model path that is a
 * symlink is rejected unless symlinks are allowed. Parent directories may be links (`/tmp` on
 * some systems); only the last component is the model.
 */
async function checkModelPathLink(modelPath: string, options: WalkOptions): Promise<void> {
  if (options.allowSymlinks) return;
  let info: Deno.FileInfo;
  try {
    info = await Deno.lstat(resolve(modelPath));
  } catch (error) {
    throw unreadable(modelPath, error);
  }
  if (info.isSymlink) {
    throw new InputError(
      "SYMLINK_NOT_ALLOWED",
      `Model path '${escapeName(modelPath)}' is a symbolic link; pass --allow-symlinks ` +
        "(MODEL_SIGNING_ALLOW_SYMLINKS=true) to follow it, or pass the directory it points to",
    );
  }
}

/**
 * Decides what an entry is: a file to hash, a directory to enter, or an error. A symlink (when
 * allowed) to a file is hashed with its target's content under the link's name. In a walk, a
 * symlink to a directory fails: upstream skips it silently, which would leave whatever it points
 * to unverified but reachable by the workload. A name the signature lists (`named`) that turns
 * out to be a directory, through a link or not, is reported as missing by the caller.
 */
function classify(
  path: string,
  name: string,
  info: Deno.FileInfo,
  options: WalkOptions,
  mode: "walk" | "named",
): ModelFile | "directory" {
  if (info.isSymlink) {
    if (!options.allowSymlinks) {
      throw new InputError(
        "SYMLINK_NOT_ALLOWED",
        `Model contains a symbolic link '${escapeName(name)}'; pass --allow-symlinks ` +
          "(MODEL_SIGNING_ALLOW_SYMLINKS=true) if the model was signed with symlinks allowed",
      );
    }
    let target: Deno.FileInfo;
    try {
      target = Deno.statSync(path);
    } catch (error) {
      throw new InputError(
        "SYMLINK_BROKEN",
        `Model contains a symbolic link '${escapeName(name)}' that cannot be followed: ${
          describe(error)
        }`,
        { cause: error },
      );
    }
    if (target.isFile) {
      if (target.size === 0) checkReallyEmpty(path, name);
      return toModelFile(name, path, target);
    }
    if (!target.isDirectory) throw special(name);
    if (mode === "named") return "directory";
    throw new InputError(
      "SYMLINK_TO_DIRECTORY",
      `Model contains a symbolic link '${escapeName(name)}' to a directory; model_signing does ` +
        "not hash through directory links, so the files behind it would not be verified: " +
        "replace the link with the directory or add it to --ignore-paths",
    );
  }
  if (info.isDirectory) return "directory";
  if (info.isFile) return toModelFile(name, path, info);
  throw special(name);
}

/**
 * A link target that stats as empty but has content is a pseudo file (procfs reports size 0 for
 * `/proc/self/environ` and the like): hashing by the stat'ed size would sign or verify nothing
 * of what the workload reads. Reads at most one byte of a regular file.
 */
function checkReallyEmpty(path: string, name: string): void {
  let read: number | null = null;
  try {
    const file = Deno.openSync(path, { read: true });
    try {
      read = file.readSync(new Uint8Array(1));
    } finally {
      file.close();
    }
  } catch (error) {
    throw unreadable(path, error);
  }
  if (read !== null && read > 0) {
    throw new InputError(
      "SYMLINK_TARGET_NOT_REGULAR",
      `Model contains a symbolic link '${escapeName(name)}' to a file whose content does not ` +
        "match its size (a pseudo file such as one under /proc): its bytes cannot be signed " +
        "or verified; replace the link with a copy of the content",
    );
  }
}

/** Rejects a listed name reached through a symlinked directory unless symlinks are allowed. */
async function checkParents(root: string, name: string, options: WalkOptions): Promise<void> {
  if (options.allowSymlinks) return;
  const parts = name.split("/");
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join("/");
    const path = join(root, ...parts.slice(0, i));
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      throw unreadable(path, error);
    }
    if (info.isSymlink) {
      throw new InputError(
        "SYMLINK_NOT_ALLOWED",
        `Model path '${escapeName(prefix)}' is a symbolic link; pass --allow-symlinks to follow it`,
      );
    }
  }
}

/** The file of a single-file model, checked again: it may have been swapped since resolving. */
async function singleFile(root: string): Promise<ModelFile> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(root);
  } catch (error) {
    throw unreadable(root, error);
  }
  if (!info.isFile) throw special(".");
  return toModelFile(".", root, info);
}

function toModelFile(name: string, path: string, info: Deno.FileInfo): ModelFile {
  return { name, path, size: info.size, mtimeMs: info.mtime?.getTime() ?? null, ino: info.ino };
}

function special(name: string): InputError {
  return new InputError(
    "SPECIAL_FILE",
    `Model contains '${escapeName(name)}', which is not a regular file or directory ` +
      "(a FIFO, socket or device); remove it or add it to --ignore-paths",
  );
}

function notUtf8(name: string): InputError {
  return new InputError(
    "NAME_NOT_UTF8",
    `Model contains a file name that is not valid UTF-8: '${escapeName(name)}' (each ` +
      "undecodable byte sequence shown as \\ufffd); model_signing cannot sign such a name: " +
      "rename the file, or add the directory that holds it to --ignore-paths",
  );
}

function unreadable(path: string, error: unknown): InputError {
  return new InputError(
    "MODEL_UNREADABLE",
    `Cannot read '${escapeName(path)}' in the model: ${describe(error)}`,
    { cause: error },
  );
}

/** The OS error's message, escaped: Deno quotes the path in it verbatim. */
function describe(error: unknown): string {
  return escapeName(error instanceof Error ? error.message : String(error));
}
