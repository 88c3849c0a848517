/**
 * Lists the regular files that make up a model, with relative POSIX names in byte order, applying
 * the ignore list and the symlink rule. Nothing here reads file content.
 *
 * @module
 */

import { join } from "node:path";
import { escapeName } from "../_escape.ts";
import { InputError } from "../errors.ts";
import { isIgnored } from "./ignore.ts";

/** One file of the model. */
export interface ModelFile {
  /** Relative POSIX path inside the model; `.` for a single-file model. */
  name: string;
  /** Absolute path to read. */
  path: string;
  size: number;
  mtimeMs: number | null;
}

/** The model as found on disk. */
export interface ModelTree {
  /** Absolute model path with symlinks resolved. */
  root: string;
  kind: "file" | "directory";
  /** Files in byte order of their names. */
  files: ModelFile[];
}

/** Options of {@link walkModel} and {@link listNamedFiles}. */
export interface WalkOptions {
  /** Relative POSIX paths to leave out (see `ignore.ts`). */
  ignored: readonly string[];
  allowSymlinks: boolean;
}

/** Resolves the model path and tells whether it is a file or a directory. */
export async function resolveModelRoot(modelPath: string): Promise<{ root: string; kind: "file" | "directory" }> {
  let root: string;
  let info: Deno.FileInfo;
  try {
    root = await Deno.realPath(modelPath);
    info = await Deno.stat(root);
  } catch (error) {
    throw new InputError(
      error instanceof Deno.errors.NotFound ? "MODEL_NOT_FOUND" : "MODEL_UNREADABLE",
      `Cannot read model path '${modelPath}': ${describe(error)}`,
      { cause: error },
    );
  }
  if (info.isFile) return { root, kind: "file" };
  if (info.isDirectory) return { root, kind: "directory" };
  throw new InputError(
    "SPECIAL_FILE",
    `Model path '${modelPath}' is neither a regular file nor a directory`,
  );
}

/** Walks the whole model directory (or takes the single file). */
export async function walkModel(modelPath: string, options: WalkOptions): Promise<ModelTree> {
  const { root, kind } = await resolveModelRoot(modelPath);
  if (kind === "file") {
    const info = await Deno.stat(root);
    return { root, kind, files: [toModelFile(".", root, info)] };
  }
  const files: ModelFile[] = [];
  await walkDirectory(root, "", options, files);
  files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { root, kind, files };
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
  const files: ModelFile[] = [];
  const missing: string[] = [];
  for (const name of [...new Set(names)].sort()) {
    if (kind === "file") {
      if (name === ".") files.push(toModelFile(".", root, await Deno.stat(root)));
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
      if (error instanceof Deno.errors.NotFound) {
        missing.push(name);
        continue;
      }
      throw unreadable(path, error);
    }
    await checkParents(root, name, options);
    const file = await classify(path, name, info, options);
    if (file === "directory") missing.push(name);
    else if (file) files.push(file);
    else missing.push(name);
  }
  return { root, kind, files, missing };
}

async function walkDirectory(
  dir: string,
  prefix: string,
  options: WalkOptions,
  out: ModelFile[],
): Promise<void> {
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(dir));
  } catch (error) {
    throw unreadable(dir, error);
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const name = prefix + entry.name;
    if (isIgnored(name, options.ignored)) continue;
    const path = join(dir, entry.name);
    let info: Deno.FileInfo;
    try {
      info = await Deno.lstat(path);
    } catch (error) {
      throw unreadable(path, error);
    }
    const file = await classify(path, name, info, options);
    if (file === "directory") {
      if (!info.isSymlink) await walkDirectory(path, name + "/", options, out);
    } else if (file) out.push(file);
  }
}

/**
 * Decides what an entry is: a file to hash, a directory to enter, or an error. A symlink (when
 * allowed) to a file is hashed with its target's content under the link's name; a symlink to a
 * directory is not entered, as upstream.
 */
async function classify(
  path: string,
  name: string,
  info: Deno.FileInfo,
  options: WalkOptions,
): Promise<ModelFile | "directory" | undefined> {
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
      target = await Deno.stat(path);
    } catch (error) {
      throw new InputError(
        "SYMLINK_BROKEN",
        `Model contains a symbolic link '${escapeName(name)}' that cannot be followed: ${
          describe(error)
        }`,
        { cause: error },
      );
    }
    if (target.isDirectory) return "directory";
    if (target.isFile) return toModelFile(name, path, target);
    throw special(name);
  }
  if (info.isDirectory) return "directory";
  if (info.isFile) return toModelFile(name, path, info);
  throw special(name);
}

/** Rejects a listed name reached through a symlinked directory unless symlinks are allowed. */
async function checkParents(root: string, name: string, options: WalkOptions): Promise<void> {
  const parts = name.split("/");
  for (let i = 1; i < parts.length; i++) {
    const prefix = parts.slice(0, i).join("/");
    const info = await Deno.lstat(join(root, ...parts.slice(0, i)));
    if (info.isSymlink && !options.allowSymlinks) {
      throw new InputError(
        "SYMLINK_NOT_ALLOWED",
        `Model path '${escapeName(prefix)}' is a symbolic link; pass --allow-symlinks to follow it`,
      );
    }
  }
}

function toModelFile(name: string, path: string, info: Deno.FileInfo): ModelFile {
  return { name, path, size: info.size, mtimeMs: info.mtime?.getTime() ?? null };
}

function special(name: string): InputError {
  return new InputError(
    "SPECIAL_FILE",
    `Model contains '${escapeName(name)}', which is not a regular file or directory ` +
      "(a FIFO, socket or device); remove it or add it to --ignore-paths",
  );
}

function unreadable(path: string, error: unknown): InputError {
  return new InputError("MODEL_UNREADABLE", `Cannot read '${path}': ${describe(error)}`, {
    cause: error,
  });
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
