/**
 * Where TUF metadata is cached. Works on a read-only root filesystem: the first writable choice
 * wins, and a fresh temporary directory is the last resort.
 *
 * Order: `MODEL_SIGNING_TUF_CACHE` (must be usable, or it is an error), then
 * `$XDG_CACHE_HOME/model-verify/tuf`, then `$HOME/.sigstore/model-verify/tuf` (with `HOME=/`, as
 * for an arbitrary container user, that is the `/.sigstore` emptyDir the operator mounts), then a
 * new directory under the system temp dir.
 *
 * @module
 */

import { join } from "node:path";
import { TrustMaterialError } from "../errors.ts";

/** The environment variable that names the cache directory explicitly. */
export const TUF_CACHE_ENV = "MODEL_SIGNING_TUF_CACHE";

/** A directory for TUF metadata. */
export interface TufCacheDir {
  path: string;
  /** True when it is a fresh temporary directory, to be removed after use. */
  temporary: boolean;
}

/** Inputs for {@link resolveTufCacheDir}. */
export interface CacheDirOptions {
  /** Explicit directory (from `MODEL_SIGNING_TUF_CACHE`). */
  tufCacheDir?: string;
  /** Environment for the fallbacks (`XDG_CACHE_HOME`, `HOME`). */
  env?: Record<string, string | undefined>;
}

/** The fallback candidates, in order, for an environment. */
export function cacheDirCandidates(env: Record<string, string | undefined>): string[] {
  const candidates: string[] = [];
  const xdg = env.XDG_CACHE_HOME?.trim();
  if (xdg) candidates.push(join(xdg, "model-verify", "tuf"));
  const home = env.HOME?.trim();
  if (home) candidates.push(join(home, ".sigstore", "model-verify", "tuf"));
  return candidates;
}

/**
 * Picks the TUF cache directory, creating it if needed.
 *
 * @throws {TrustMaterialError} `TUF_CACHE_UNUSABLE` when the explicit directory cannot be written
 */
export async function resolveTufCacheDir(options: CacheDirOptions): Promise<TufCacheDir> {
  if (options.tufCacheDir !== undefined && options.tufCacheDir.trim() !== "") {
    const reason = await writableReason(options.tufCacheDir);
    if (reason !== undefined) {
      throw new TrustMaterialError(
        "TUF_CACHE_UNUSABLE",
        `Cannot use TUF cache directory '${options.tufCacheDir}' (${TUF_CACHE_ENV}): ${reason}`,
      );
    }
    return { path: options.tufCacheDir, temporary: false };
  }
  for (const candidate of cacheDirCandidates(options.env ?? {})) {
    if (await writableReason(candidate) === undefined) return { path: candidate, temporary: false };
  }
  try {
    return { path: await Deno.makeTempDir({ prefix: "model-verify-tuf-" }), temporary: true };
  } catch (error) {
    throw new TrustMaterialError(
      "TUF_CACHE_UNUSABLE",
      `Cannot create a TUF cache directory: no writable ${TUF_CACHE_ENV}, XDG_CACHE_HOME or ` +
        `HOME, and the temp dir failed (${error instanceof Error ? error.message : error})`,
      { cause: error },
    );
  }
}

/** Undefined when `dir` exists or can be created and a file can be written in it. */
async function writableReason(dir: string): Promise<string | undefined> {
  try {
    await Deno.mkdir(dir, { recursive: true });
    const probe = join(dir, `.model-verify-probe-${crypto.randomUUID()}`);
    await Deno.writeFile(probe, new Uint8Array(0), { createNew: true });
    await Deno.remove(probe);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
