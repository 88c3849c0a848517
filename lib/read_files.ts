/**
 * Reads the signature file, which sits in the attacker-writable model volume by default, with a
 * size limit that holds however the file changes while it is read.
 *
 * @module
 */

import type { FileHandle } from "node:fs/promises";
import { escapeName } from "./_escape.ts";
import { MAX_SIGNATURE_BYTES } from "./bundle/parse_bundle.ts";
import { InputError } from "./errors.ts";

/**
 * Reads the signature file.
 *
 * The file is opened with `O_NONBLOCK`, so a FIFO planted (or swapped in) at the signature path
 * cannot block the verifier, and checked through the open handle, so what is read is what was
 * checked: it must be a regular file of at most {@link MAX_SIGNATURE_BYTES} bytes, and reading
 * stops one byte past the limit even if the file grows meanwhile.
 *
 * @throws {InputError} `SIGNATURE_NOT_FOUND`, `SIGNATURE_UNREADABLE`, `SIGNATURE_TOO_LARGE`
 */
export async function readSignatureFile(
  path: string,
  limit: number = MAX_SIGNATURE_BYTES,
): Promise<Uint8Array> {
  const where = `Signature file '${escapeName(path)}'`;
  // node:fs is loaded here, not at start-up: `digest` never needs it (about 15-35 ms of CPU).
  const { constants, open } = await import("node:fs/promises");
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw failure(path, error);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new InputError("SIGNATURE_UNREADABLE", `${where} is not a regular file`);
    }
    if (info.size > limit) throw tooLarge(where, info.size, limit);
    // One byte more than allowed tells a file that grew past the limit from one that did not.
    const buffer = new Uint8Array(Math.min(info.size, limit) + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > limit) throw tooLarge(where, `more than ${limit}`, limit);
    if (length === buffer.length) {
      throw new InputError("SIGNATURE_UNREADABLE", `${where} grew while it was read`);
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw failure(path, error);
  } finally {
    await handle.close();
  }
}

function tooLarge(where: string, size: number | string, limit: number): InputError {
  return new InputError(
    "SIGNATURE_TOO_LARGE",
    `${where} is ${size} bytes, more than the ${limit} accepted; it cannot be a model signature`,
  );
}

function failure(path: string, error: unknown): InputError {
  const code = (error as { code?: unknown } | null)?.code;
  const notFound = error instanceof Deno.errors.NotFound || code === "ENOENT";
  const reason = escapeName(error instanceof Error ? error.message : String(error));
  return new InputError(
    notFound ? "SIGNATURE_NOT_FOUND" : "SIGNATURE_UNREADABLE",
    notFound
      ? `Signature file '${escapeName(path)}' does not exist; pass --signature ` +
        "(MODEL_SIGNING_SIGNATURE)"
      : `Cannot read signature file '${escapeName(path)}': ${reason}`,
    { cause: error },
  );
}
