/**
 * Reads the signature file, which sits in the attacker-writable model volume by default, with a
 * size limit that holds however the file changes while it is read.
 *
 * @module
 */

import { escapeName } from "./_escape.ts";
import { MAX_SIGNATURE_BYTES } from "./bundle/parse_bundle.ts";
import { InputError } from "./errors.ts";

/**
 * How long the plain `Deno.open` of a path that was a regular file may take before the read
 * starts again through `node:fs` with `O_NONBLOCK` (see {@link readSignatureFile}).
 */
export const OPEN_TIMEOUT_MS = 1000;

/** The few calls the read needs from an open file, as `Deno.FsFile` and node's FileHandle. */
interface OpenFile {
  stat(): Promise<{ isFile: boolean; size: number }>;
  read(buffer: Uint8Array, offset: number): Promise<number>;
  close(): Promise<void>;
}

/** Injected for tests. */
export interface ReadDeps {
  /** What the path is before it is opened (default `Deno.stat`). */
  stat?: (path: string) => Promise<{ isFile: boolean }>;
  /** Default {@link OPEN_TIMEOUT_MS}. */
  openTimeoutMs?: number;
}

/** Once a plain open hung (a FIFO swapped in), every later read of this process uses node:fs. */
let nonBlockingOnly = false;

/** Lets reads use the plain open again after one timed out. For tests. */
export function resetOpenFallback(): void {
  nonBlockingOnly = false;
}

/**
 * Reads the signature file.
 *
 * It must be a regular file of at most {@link MAX_SIGNATURE_BYTES} bytes, checked through the
 * open handle, so what is read is what was checked, and reading stops one byte past the limit
 * even if the file grows meanwhile. A FIFO planted at the path must not block the verifier:
 * the path is checked with `stat` before the plain `Deno.open` (which a FIFO would block, and
 * which loads nothing: `node:fs` costs 20-50 ms of CPU to load before hashing starts). A FIFO
 * swapped in between the two would block that open until a writer comes: after
 * {@link OPEN_TIMEOUT_MS} the read starts again with `node:fs` and `O_NONBLOCK`, which opens
 * a FIFO without waiting and refuses it; that open is left waiting (one thread, never more than
 * once per process: later reads go to `node:fs` directly).
 *
 * @throws {InputError} `SIGNATURE_NOT_FOUND`, `SIGNATURE_UNREADABLE`, `SIGNATURE_TOO_LARGE`
 */
export async function readSignatureFile(
  path: string,
  limit: number = MAX_SIGNATURE_BYTES,
  deps: ReadDeps = {},
): Promise<Uint8Array> {
  const where = `Signature file '${escapeName(path)}'`;
  let file: OpenFile | undefined;
  try {
    if (!nonBlockingOnly) file = await openChecked(path, where, deps);
    file ??= await openNonBlocking(path);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw failure(path, error);
  }
  try {
    const info = await file.stat();
    if (!info.isFile) throw notRegular(where);
    if (info.size > limit) throw tooLarge(where, info.size, limit);
    // One byte more than allowed tells a file that grew past the limit from one that did not.
    const buffer = new Uint8Array(Math.min(info.size, limit) + 1);
    let length = 0;
    while (length < buffer.length) {
      const bytesRead = await file.read(buffer, length);
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
    await file.close();
  }
}

/**
 * `Deno.open` of a path `stat` shows as a regular file; undefined when the open has not ended
 * after {@link OPEN_TIMEOUT_MS} (the file is closed if the open ends later).
 */
async function openChecked(
  path: string,
  where: string,
  deps: ReadDeps,
): Promise<OpenFile | undefined> {
  if (!(await (deps.stat ?? Deno.stat)(path)).isFile) throw notRegular(where);
  const opening = Deno.open(path, { read: true });
  // AbortSignal.timeout, not setTimeout: the global setTimeout loads node:timers (10-20 ms).
  const signal = AbortSignal.timeout(deps.openTimeoutMs ?? OPEN_TIMEOUT_MS);
  const timedOut = new Promise<undefined>((resolve) => {
    signal.addEventListener("abort", () => resolve(undefined), { once: true });
  });
  const file = await Promise.race([opening, timedOut]);
  if (file === undefined) {
    nonBlockingOnly = true;
    opening.then((late) => late.close(), () => {});
    return undefined;
  }
  return {
    stat: () => file.stat(),
    read: async (buffer, offset) => (await file.read(buffer.subarray(offset))) ?? 0,
    close: () => Promise.resolve(file.close()),
  };
}

/** `node:fs` open with `O_NONBLOCK`: a FIFO opens without waiting for a writer. */
async function openNonBlocking(path: string): Promise<OpenFile> {
  // Loaded only here: node:fs costs 20-50 ms of CPU before hashing starts.
  const { constants, open } = await import("node:fs/promises");
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  return {
    stat: async () => {
      const info = await handle.stat();
      return { isFile: info.isFile(), size: info.size };
    },
    read: async (buffer, offset) =>
      (await handle.read(buffer, offset, buffer.length - offset, offset)).bytesRead,
    close: () => handle.close(),
  };
}

function notRegular(where: string): InputError {
  return new InputError("SIGNATURE_UNREADABLE", `${where} is not a regular file`);
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
