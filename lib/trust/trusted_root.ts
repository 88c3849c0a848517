/**
 * Chooses and loads the Sigstore trusted root for a verification.
 *
 * Precedence, as model_signing: `--trust_config` FILE, else `--offline` (the production root
 * built into the program), else the staging instance through TUF with `--use_staging`, else the
 * production instance through TUF. A TUF failure is an error, never a silent fallback.
 *
 * @module
 */

import { ConfigError, TrustMaterialError } from "../errors.ts";
import { resolveTufCacheDir } from "./cache_dir.ts";
import { EMBEDDED_ROOT_ORIGIN, embeddedProductionTrustedRootJson } from "./embedded.ts";
import { type CheckedTrustedRoot, checkTrustedRoot, parseTrustConfig } from "./trust_config.ts";
import { fetchTrustedRootWithTuf, productionTuf, stagingTuf, type TufRepository } from "./tuf.ts";

/** How to find the trusted root. */
export interface TrustOptions {
  useStaging: boolean;
  /** A ClientTrustConfig or trusted_root.json file; wins over everything else. */
  trustConfigPath?: string;
  /** Use the embedded production root; no network. */
  offline: boolean;
  /** TUF cache directory (`MODEL_SIGNING_TUF_CACHE`). */
  tufCacheDir?: string;
  /** Environment for the cache directory fallbacks. */
  env?: Record<string, string | undefined>;
  /** Upper bound for the TUF update, in milliseconds. */
  timeoutMs?: number;
  /** Replaces the production or staging TUF repository (tests, mirrors). */
  tufRepository?: TufRepository;
}

/** A loaded trusted root and where it came from. */
export interface LoadedTrustedRoot extends CheckedTrustedRoot {
  /** For reports, e.g. "production Sigstore via TUF (https://tuf-repo-cdn.sigstore.dev)". */
  description: string;
}

/**
 * Loads the trusted root chosen by `options`.
 *
 * @throws {ConfigError} `OFFLINE_STAGING_UNSUPPORTED` for `--offline` with `--use_staging`
 * @throws {TrustMaterialError} `TRUST_CONFIG_UNREADABLE`, `TRUST_CONFIG_INVALID`,
 *   `TUF_CACHE_UNUSABLE` or `TUF_FETCH_FAILED`
 */
export async function loadTrustedRoot(options: TrustOptions): Promise<LoadedTrustedRoot> {
  if (options.trustConfigPath !== undefined) {
    return await loadTrustConfigFile(options.trustConfigPath);
  }
  if (options.offline) {
    if (options.useStaging) {
      throw new ConfigError(
        "OFFLINE_STAGING_UNSUPPORTED",
        "--offline embeds only the production trusted root; for staging without network pass " +
          "--trust-config with a staging trusted root",
      );
    }
    return {
      ...parseTrustConfig(embeddedProductionTrustedRootJson(), "embedded production trusted root"),
      description: `embedded production trusted root (${EMBEDDED_ROOT_ORIGIN})`,
    };
  }
  const repo = options.tufRepository ?? (options.useStaging ? stagingTuf() : productionTuf());
  const cacheDir = await resolveTufCacheDir({
    ...(options.tufCacheDir !== undefined ? { tufCacheDir: options.tufCacheDir } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
  try {
    const trustedRoot = await fetchTrustedRootWithTuf(repo, {
      cacheDir: cacheDir.path,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    });
    const description = `${repo.name} Sigstore via TUF (${repo.mirrorURL})`;
    return { ...checkTrustedRoot(trustedRoot, description), description };
  } finally {
    if (cacheDir.temporary) await Deno.remove(cacheDir.path, { recursive: true }).catch(() => {});
  }
}

/**
 * Reads a ClientTrustConfig or trusted_root.json file.
 *
 * @throws {TrustMaterialError} `TRUST_CONFIG_UNREADABLE` or `TRUST_CONFIG_INVALID`
 */
export async function loadTrustConfigFile(path: string): Promise<LoadedTrustedRoot> {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(path));
  } catch (error) {
    throw new TrustMaterialError(
      "TRUST_CONFIG_UNREADABLE",
      `Cannot read trust configuration '${path}' (--trust-config): ${
        error instanceof Error ? error.message : error
      }`,
      { cause: error },
    );
  }
  return { ...parseTrustConfig(text, path), description: `trust configuration ${path}` };
}
