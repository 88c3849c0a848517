/**
 * Fetches a Sigstore trusted root through TUF (`@sigstore/tuf`), with a bounded time and few
 * retries, so that a missing network fails in seconds, not minutes.
 *
 * @module
 */

import { join } from "node:path";
import type { TrustedRoot } from "@sigstore/protobuf-specs";
import { getTrustedRoot } from "@sigstore/tuf";
import { TrustMaterialError } from "../errors.ts";
import { PRODUCTION_TUF_URL, productionTufRootBytes, STAGING_TUF_URL } from "./embedded.ts";

/** Default upper bound for the whole TUF update, in milliseconds. */
export const DEFAULT_TUF_TIMEOUT_MS = 20_000;
/** Retries per request after the first attempt. */
export const TUF_RETRIES = 1;

/** A TUF repository publishing a `trusted_root.json` target. */
export interface TufRepository {
  /** For messages: "production", "staging" or a test name. */
  name: string;
  mirrorURL: string;
  /**
   * The initial (trusted) TUF root.json; undefined: trust the mirror's `root.json` on first use
   * and keep it in the cache directory for later runs.
   */
  initialRoot?: Uint8Array;
}

/** The production (public-good) instance. */
export function productionTuf(): TufRepository {
  return {
    name: "production",
    mirrorURL: PRODUCTION_TUF_URL,
    initialRoot: productionTufRootBytes(),
  };
}

/**
 * The staging instance. No npm package ships its TUF root, so it is trusted on first use: fetched
 * from the mirror into the cache directory once, then TUF verifies every later update against it.
 */
export function stagingTuf(): TufRepository {
  return { name: "staging", mirrorURL: STAGING_TUF_URL };
}

/** Options of {@link fetchTrustedRootWithTuf}. */
export interface TufFetchOptions {
  /** A writable directory for TUF metadata. */
  cacheDir: string;
  /** Upper bound for the whole update (each request is bounded by it too). */
  timeoutMs?: number;
}

/**
 * Updates the TUF metadata of `repo` and returns its verified `trusted_root.json`.
 *
 * @throws {TrustMaterialError} `TUF_FETCH_FAILED`, naming `--offline` and `--trust_config`
 */
export async function fetchTrustedRootWithTuf(
  repo: TufRepository,
  options: TufFetchOptions,
): Promise<TrustedRoot> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TUF_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const rootPath = join(
      options.cacheDir,
      `initial-root.${encodeURIComponent(repo.mirrorURL)}.json`,
    );
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
    });
    const fetching = writeInitialRoot(repo, rootPath, timeoutMs).then(() =>
      getTrustedRoot({
        mirrorURL: repo.mirrorURL,
        rootPath,
        cachePath: options.cacheDir,
        timeout: timeoutMs,
        retry: { retries: TUF_RETRIES, factor: 1, minTimeout: 250, maxTimeout: 250 },
      })
    );
    fetching.catch(() => {}); // a late rejection after the deadline is not unhandled
    return await Promise.race([fetching, deadline]);
  } catch (error) {
    throw new TrustMaterialError(
      "TUF_FETCH_FAILED",
      `Cannot fetch the ${repo.name} Sigstore trusted root through TUF from ${repo.mirrorURL}: ` +
        `${describe(error)}. Without network access use --offline (the production trusted root ` +
        "built into model-verify) or --trust-config FILE (a ClientTrustConfig or " +
        "trusted_root.json)",
      { cause: error },
    );
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** Writes the initial root: the embedded one, or (first use) the mirror's current one. */
export async function writeInitialRoot(repo: TufRepository, path: string, timeoutMs: number) {
  if (repo.initialRoot) return await Deno.writeFile(path, repo.initialRoot);
  try {
    await Deno.stat(path);
    return; // trusted on an earlier run
  } catch {
    // first use
  }
  const response = await fetch(`${repo.mirrorURL}/root.json`, {
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (!response.ok) throw new Error(`GET ${repo.mirrorURL}/root.json: HTTP ${response.status}`);
  await Deno.writeFile(path, new Uint8Array(await response.arrayBuffer()));
}

/** The error's message followed by its causes' messages. */
function describe(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; depth < 4 && current !== undefined && current !== null; depth++) {
    parts.push(current instanceof Error ? current.message : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(": ");
}
