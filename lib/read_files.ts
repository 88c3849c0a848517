/**
 * Reads the signature file with a size limit checked before reading.
 *
 * @module
 */

import { MAX_SIGNATURE_BYTES } from "./bundle/parse_bundle.ts";
import { InputError } from "./errors.ts";

/**
 * Reads the signature file.
 *
 * @throws {InputError} `SIGNATURE_NOT_FOUND`, `SIGNATURE_UNREADABLE`, `SIGNATURE_TOO_LARGE`
 */
export async function readSignatureFile(path: string): Promise<Uint8Array> {
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) {
      throw new InputError("SIGNATURE_UNREADABLE", `Signature '${path}' is not a regular file`);
    }
    if (info.size > MAX_SIGNATURE_BYTES) {
      throw new InputError(
        "SIGNATURE_TOO_LARGE",
        `Signature file '${path}' is ${info.size} bytes, more than the ${MAX_SIGNATURE_BYTES} ` +
          "accepted",
      );
    }
    return await Deno.readFile(path);
  } catch (error) {
    if (error instanceof InputError) throw error;
    const notFound = error instanceof Deno.errors.NotFound;
    throw new InputError(
      notFound ? "SIGNATURE_NOT_FOUND" : "SIGNATURE_UNREADABLE",
      notFound
        ? `Signature file '${path}' does not exist; pass --signature (MODEL_SIGNING_SIGNATURE)`
        : `Cannot read signature file '${path}': ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
}
