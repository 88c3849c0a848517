/**
 * Writes a signature file the way a reader can trust: to a new temporary file beside the target,
 * then renamed over it, so that a reader sees the old file or the whole new one, and a failure
 * leaves nothing behind. A symbolic link at the target is refused, never written through.
 *
 * One function on purpose: a shared atomic writer can replace its body.
 *
 * @module
 */

import { basename, dirname, join } from "node:path";
import { SigningError } from "./signing_error.ts";

/**
 * Writes `text` to `path` atomically.
 *
 * @throws {SigningError} `SIGNATURE_WRITE_FAILED`, naming the path
 */
export async function writeSignatureFile(path: string, text: string): Promise<void> {
  try {
    const existing = await Deno.lstat(path);
    if (existing.isSymlink || !existing.isFile) {
      throw new SigningError(
        "SIGNATURE_WRITE_FAILED",
        `Cannot write the signature to '${path}': it exists and is not a regular file ` +
          "(a symbolic link is never written through); remove it or pass another --signature",
      );
    }
  } catch (error) {
    if (error instanceof SigningError) throw error;
    if (!(error instanceof Deno.errors.NotFound)) throw writeFailed(path, error);
  }
  const random = crypto.getRandomValues(new Uint8Array(8));
  const suffix = Array.from(random, (b) => b.toString(16).padStart(2, "0")).join("");
  const temp = join(dirname(path), `.${basename(path)}.${suffix}.tmp`);
  try {
    await Deno.writeTextFile(temp, text, { createNew: true, mode: 0o644 });
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw writeFailed(path, error);
  }
}

function writeFailed(path: string, error: unknown): SigningError {
  return new SigningError(
    "SIGNATURE_WRITE_FAILED",
    `Cannot write the signature to '${path}': ${error instanceof Error ? error.message : error}`,
    { cause: error },
  );
}
