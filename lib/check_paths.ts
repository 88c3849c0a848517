/**
 * Checks the model path before anything reads the signature, so a wrong model path is reported
 * as such (not as "signature 'nosuch/model.sig' does not exist" or ENOTDIR), and a single-file
 * model without `--signature` says how to name one.
 *
 * @module
 */

import { resolve } from "./_posix_path.ts";
import { DEFAULT_SIGNATURE_NAME } from "./config/config.ts";
import { ConfigError } from "./errors.ts";
import { escapeName } from "./_escape.ts";
import { resolveModelRoot } from "./tree/walk_model.ts";

/** The paths of a verify or sign run. */
export interface RunPaths {
  modelPath: string;
  signaturePath: string;
}

/**
 * Checks the model path, then that the signature path can work with it.
 *
 * @param output true for `sign`: the signature is written, so it must not be a directory
 * @throws {InputError} `MODEL_NOT_FOUND`, `MODEL_UNREADABLE`, `SPECIAL_FILE` for the model
 * @throws {ConfigError} `SIGNATURE_PATH_NEEDED` for a single-file model with the default
 * signature path; `SIGNATURE_IS_DIRECTORY` when `sign` would write onto a directory
 */
export async function checkModelPaths(paths: RunPaths, output = false): Promise<void> {
  let kind: "file" | "other";
  try {
    kind = (await Deno.stat(paths.modelPath)).isFile ? "file" : "other";
  } catch (error) {
    // The walk reports a missing model in its own words; anything else it reports later.
    if (error instanceof Deno.errors.NotFound) await resolveModelRoot(paths.modelPath);
    return;
  }
  const defaulted = paths.signaturePath === resolve(paths.modelPath, DEFAULT_SIGNATURE_NAME);
  if (kind === "file" && defaulted) {
    throw new ConfigError(
      "SIGNATURE_PATH_NEEDED",
      `Model path '${escapeName(paths.modelPath)}' is a single file, so the default signature ` +
        `MODEL_PATH/${DEFAULT_SIGNATURE_NAME} cannot exist; name the signature with --signature ` +
        "(MODEL_SIGNING_SIGNATURE), for example --signature model.sig",
    );
  }
  if (output && await isDirectory(paths.signaturePath)) {
    throw new ConfigError(
      "SIGNATURE_IS_DIRECTORY",
      `Signature path '${escapeName(paths.signaturePath)}' is a directory; name the file to ` +
        `write, for example --signature ${
          escapeName(resolve(paths.signaturePath, DEFAULT_SIGNATURE_NAME))
        }`,
    );
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isDirectory;
  } catch {
    return false;
  }
}
