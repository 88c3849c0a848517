/**
 * Writes a signature file the one safe way: a new temporary file in the target directory
 * (created exclusively, so it cannot be a planted link), its content synced, then renamed over
 * the target. The rename replaces whatever entry has the target's name (a symlink included)
 * instead of writing through it, and a reader sees the old file or the new one, never half of
 * either. Every signer (key, certificate, keyless) writes through {@link writeSignature}.
 *
 * @module
 */

import { basename, dirname } from "node:path";
import { escapeName } from "../_escape.ts";
import { ConfigError } from "../errors.ts";

/** Directories the compiled binary may write (its `--allow-write`, see deno.json `compile`). */
export const COMPILED_WRITE_DIRS = ["/tmp", "/.sigstore"] as const;

/**
 * Writes `content` to `path` atomically, never through a link at `path`.
 *
 * @throws {ConfigError} `SIGNATURE_DIR_MISSING` when the directory does not exist,
 * `SIGNATURE_NOT_WRITABLE` when the target is a directory, the OS or Deno's permissions refuse
 * the write, or the write fails otherwise; each names the path and what to do
 */
export async function writeSignature(path: string, content: string | Uint8Array): Promise<void> {
  await checkSignatureTarget(path);
  const dir = dirname(path);
  const where = `Cannot write the signature '${escapeName(path)}'`;
  const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
  const temp = `${dir}/.${basename(path)}.${crypto.randomUUID()}.tmp`;
  let file: Deno.FsFile;
  try {
    file = await Deno.open(temp, { write: true, createNew: true, mode: 0o644 });
  } catch (error) {
    throw unwritable(where, dir, error);
  }
  try {
    try {
      let written = 0;
      while (written < bytes.length) written += await file.write(bytes.subarray(written));
      await file.syncData();
    } finally {
      file.close();
    }
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw unwritable(where, dir, error);
  }
}

/**
 * Checks, before any work, that a signature can be written at `path`: its directory exists and
 * the name is not a directory. Signers call it before hashing, so a typo fails at once.
 *
 * @throws {ConfigError} `SIGNATURE_DIR_MISSING`, `SIGNATURE_NOT_WRITABLE`
 */
export async function checkSignatureTarget(path: string): Promise<void> {
  const dir = dirname(path);
  const where = `Cannot write the signature '${escapeName(path)}'`;
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new ConfigError(
        "SIGNATURE_DIR_MISSING",
        `${where}: the directory '${escapeName(dir)}' does not exist; create it or pass ` +
          "--signature with a path in an existing directory",
        { cause: error },
      );
    }
    throw unwritable(where, dir, error);
  }
  if (!info.isDirectory) {
    throw new ConfigError(
      "SIGNATURE_DIR_MISSING",
      `${where}: '${escapeName(dir)}' is not a directory`,
    );
  }
  const existing = await Deno.lstat(path).catch(() => undefined);
  if (existing?.isDirectory) {
    throw new ConfigError(
      "SIGNATURE_NOT_WRITABLE",
      `${where}: it is a directory; pass --signature with a file name`,
    );
  }
}

function unwritable(where: string, dir: string, error: unknown): ConfigError {
  const reason = escapeName(error instanceof Error ? error.message : String(error));
  if (error instanceof Deno.errors.NotCapable) {
    return new ConfigError(
      "SIGNATURE_NOT_WRITABLE",
      `${where}: this model-verify may write only below ${COMPILED_WRITE_DIRS.join(" and ")} ` +
        "(Deno permissions of the compiled binary); pass --signature with a path there, e.g. " +
        "/tmp/model.sig, and copy it where it belongs",
      { cause: error },
    );
  }
  if (error instanceof Deno.errors.PermissionDenied) {
    return new ConfigError(
      "SIGNATURE_NOT_WRITABLE",
      `${where}: permission denied in '${escapeName(dir)}' (${reason}); make the directory ` +
        "writable for this user or pass --signature with a writable path",
      { cause: error },
    );
  }
  return new ConfigError("SIGNATURE_NOT_WRITABLE", `${where}: ${reason}`, { cause: error });
}
