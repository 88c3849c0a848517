/**
 * The Sigstore instance a keyless signature is made with: the signing config (Fulcio, Rekor,
 * timestamp authority and OIDC URLs) and the trusted root that verifies the result.
 *
 * Where it comes from, as model_signing: `--trust_config` FILE (a ClientTrustConfig carrying a
 * `signingConfig`: a private Sigstore), else the staging instance through TUF with
 * `--use_staging`, else the production instance through TUF. TUF data is cached as for
 * verification (`--tuf_cache`, `lib/trust/cache_dir.ts`).
 *
 * @module
 */

import { join } from "node:path";
import { type Service, ServiceSelector, SigningConfig } from "@sigstore/protobuf-specs";
import { initTUF } from "@sigstore/tuf";
import { TrustMaterialError } from "../errors.ts";
import { resolveTufCacheDir } from "./cache_dir.ts";
import { CLIENT_TRUST_CONFIG_MEDIA_TYPE, parseTrustConfig } from "./trust_config.ts";
import { type LoadedTrustedRoot, loadTrustedRoot } from "./trusted_root.ts";
import {
  DEFAULT_TUF_TIMEOUT_MS,
  productionTuf,
  stagingTuf,
  TUF_RETRIES,
  type TufRepository,
  writeInitialRoot,
} from "./tuf.ts";

/** The TUF target that holds the signing config. */
export const SIGNING_CONFIG_TARGET = "signing_config.v0.2.json";
/** Signing config media types this reads. */
export const SIGNING_CONFIG_MEDIA_TYPES = [
  "application/vnd.dev.sigstore.signingconfig.v0.2+json",
] as const;
/** Highest API versions of the clients used (`@sigstore/sign`). */
const MAX_VERSION = { ca: 1, tlog: 2, tsa: 1 } as const;

/** The chosen services of one signing. */
export interface SigningServices {
  /** Fulcio base URL. */
  ca: Service;
  /** Rekor logs to write to (v1 or v2). */
  tlogs: Service[];
  /** Timestamp authorities to ask (full URL or base URL). */
  tsas: Service[];
  /** OIDC issuer for the interactive flow, when the config names one. */
  oidc?: Service;
}

/** A signing config and the trusted root of the same instance. */
export interface SigningInstance {
  services: SigningServices;
  trusted: LoadedTrustedRoot;
  /** For messages: "trust configuration /x.json", "production Sigstore via TUF (...)". */
  description: string;
}

/** How to choose the instance. */
export interface SigningInstanceOptions {
  useStaging: boolean;
  trustConfigPath?: string;
  tufCacheDir?: string;
  env?: Record<string, string | undefined>;
  /** Replaces the production or staging TUF repository (tests, mirrors). */
  tufRepository?: TufRepository;
  /** The current time (tests). */
  now?: Date;
}

/**
 * Loads the signing config and trusted root and chooses the services.
 *
 * @throws {TrustMaterialError} `SIGNING_CONFIG_MISSING`, `SIGNING_CONFIG_INVALID`,
 *   `SIGNING_CONFIG_NO_CA`, `SIGNING_CONFIG_NO_TIME`, and every error of the trusted root
 */
export async function loadSigningInstance(
  options: SigningInstanceOptions,
): Promise<SigningInstance> {
  const now = options.now ?? new Date();
  if (options.trustConfigPath !== undefined) {
    const path = options.trustConfigPath;
    const text = await readText(path);
    const trusted = { ...parseTrustConfig(text, path), description: `trust configuration ${path}` };
    const json = JSON.parse(text) as Record<string, unknown>;
    if (json.mediaType !== CLIENT_TRUST_CONFIG_MEDIA_TYPE || !isObject(json.signingConfig)) {
      throw new TrustMaterialError(
        "SIGNING_CONFIG_MISSING",
        `Cannot sign with trust configuration '${path}': it has no signingConfig; signing needs a ` +
          `ClientTrustConfig ('${CLIENT_TRUST_CONFIG_MEDIA_TYPE}') with the instance's Fulcio, ` +
          "Rekor and timestamp authority URLs (docs/sigstore.md)",
      );
    }
    const signingConfig = parseSigningConfig(json.signingConfig, `${path} (signingConfig)`);
    return {
      services: chooseServices(signingConfig, `${path} (signingConfig)`, now),
      trusted,
      description: trusted.description,
    };
  }
  const repo = options.tufRepository ?? (options.useStaging ? stagingTuf() : productionTuf());
  const trusted = await loadTrustedRoot({
    useStaging: options.useStaging,
    offline: false,
    ...(options.tufCacheDir !== undefined ? { tufCacheDir: options.tufCacheDir } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
    tufRepository: repo,
  });
  const where = `${repo.name} Sigstore via TUF (${repo.mirrorURL}, ${SIGNING_CONFIG_TARGET})`;
  const text = await fetchSigningConfigText(repo, options);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw invalid(where, "not valid JSON", error);
  }
  const signingConfig = parseSigningConfig(json, where);
  return {
    services: chooseServices(signingConfig, where, now),
    trusted,
    description: trusted.description,
  };
}

/**
 * Reads a signing config JSON object.
 *
 * @throws {TrustMaterialError} `SIGNING_CONFIG_INVALID`
 */
export function parseSigningConfig(json: unknown, source: string): SigningConfig {
  if (!isObject(json)) throw invalid(source, "expected a JSON object");
  if (!(SIGNING_CONFIG_MEDIA_TYPES as readonly unknown[]).includes(json.mediaType)) {
    throw invalid(
      source,
      `unknown mediaType ${JSON.stringify(json.mediaType ?? null)}; expected ` +
        `'${SIGNING_CONFIG_MEDIA_TYPES[0]}'`,
    );
  }
  try {
    return SigningConfig.fromJSON(json);
  } catch (error) {
    throw invalid(source, "it cannot be read", error);
  }
}

/**
 * Chooses the services as the signing config spec says: services valid now, of an API version
 * the client speaks, highest version and newest start first; Rekor logs and TSAs one per
 * operator, as many as the selector asks (ANY: one, ALL: all, EXACT: `count`).
 *
 * @throws {TrustMaterialError} `SIGNING_CONFIG_NO_CA`, `SIGNING_CONFIG_NO_TIME` or
 *   `SIGNING_CONFIG_INVALID`
 */
export function chooseServices(config: SigningConfig, source: string, now: Date): SigningServices {
  const ca = usable(config.caUrls, MAX_VERSION.ca, now)[0];
  if (!ca) {
    throw new TrustMaterialError(
      "SIGNING_CONFIG_NO_CA",
      `Cannot sign with ${source}: it lists no certificate authority (Fulcio, API v1) valid now`,
    );
  }
  const tlogs = select(config.rekorTlogUrls, config.rekorTlogConfig, MAX_VERSION.tlog, now, {
    source,
    what: "Rekor",
  });
  const tsas = select(config.tsaUrls, config.tsaConfig, MAX_VERSION.tsa, now, {
    source,
    what: "timestamp authority",
  });
  // A verified signing time comes from a Rekor v1 SET or a TSA; a Rekor v2 entry has none.
  if (!tlogs.some((log) => log.majorApiVersion === 1) && tsas.length === 0) {
    throw new TrustMaterialError(
      "SIGNING_CONFIG_NO_TIME",
      `Cannot sign with ${source}: it lists no usable Rekor v1 log and no timestamp authority, ` +
        "so nothing would attest the signing time and the signature could never be verified " +
        "after its certificate expires",
    );
  }
  const services: SigningServices = { ca, tlogs, tsas };
  const oidc = usable(config.oidcUrls, Infinity, now)[0];
  if (oidc) services.oidc = oidc;
  return services;
}

function select(
  services: Service[],
  selection: SigningConfig["rekorTlogConfig"],
  maxVersion: number,
  now: Date,
  where: { source: string; what: string },
): Service[] {
  const perOperator = new Map<string, Service>();
  for (const service of usable(services, maxVersion, now)) {
    const key = service.operator || service.url;
    if (!perOperator.has(key)) perOperator.set(key, service);
  }
  const chosen = [...perOperator.values()];
  const selector = selection?.selector ?? ServiceSelector.ANY;
  switch (selector) {
    case ServiceSelector.ALL:
      return chosen;
    case ServiceSelector.EXACT: {
      const count = selection?.count ?? 0;
      if (chosen.length < count) {
        throw invalid(
          where.source,
          `it asks for ${count} ${where.what} services but lists ${chosen.length} usable`,
        );
      }
      return chosen.slice(0, count);
    }
    case ServiceSelector.ANY:
      return chosen.slice(0, 1);
    default:
      if (services.length === 0) return [];
      throw invalid(where.source, `the ${where.what} selector is undefined`);
  }
}

/** Services valid at `now` with an API version up to `maxVersion`, best first. */
function usable(services: Service[], maxVersion: number, now: Date): Service[] {
  return services
    .filter((s) => s.url !== "" && s.majorApiVersion >= 1 && s.majorApiVersion <= maxVersion)
    .filter((s) => (s.validFor?.start ?? new Date(0)) <= now)
    .filter((s) => !s.validFor?.end || s.validFor.end > now)
    .sort((a, b) =>
      b.majorApiVersion - a.majorApiVersion ||
      (b.validFor?.start?.getTime() ?? 0) - (a.validFor?.start?.getTime() ?? 0)
    );
}

/** Fetches the signing config target of a TUF repository, with the trusted root's cache. */
async function fetchSigningConfigText(
  repo: TufRepository,
  options: SigningInstanceOptions,
): Promise<string> {
  const cacheDir = await resolveTufCacheDir({
    ...(options.tufCacheDir !== undefined ? { tufCacheDir: options.tufCacheDir } : {}),
    ...(options.env !== undefined ? { env: options.env } : {}),
  });
  try {
    const rootPath = join(cacheDir.path, `initial-root.${encodeURIComponent(repo.mirrorURL)}.json`);
    await writeInitialRoot(repo, rootPath, DEFAULT_TUF_TIMEOUT_MS);
    const tuf = await initTUF({
      mirrorURL: repo.mirrorURL,
      rootPath,
      cachePath: cacheDir.path,
      timeout: DEFAULT_TUF_TIMEOUT_MS,
      retry: { retries: TUF_RETRIES, factor: 1, minTimeout: 250, maxTimeout: 250 },
    });
    return await tuf.getTarget(SIGNING_CONFIG_TARGET);
  } catch (error) {
    throw new TrustMaterialError(
      "TUF_FETCH_FAILED",
      `Cannot fetch the ${repo.name} Sigstore signing config (${SIGNING_CONFIG_TARGET}) through ` +
        `TUF from ${repo.mirrorURL}: ${error instanceof Error ? error.message : error}. Pass ` +
        "--trust_config FILE (a ClientTrustConfig with a signingConfig) instead",
      { cause: error },
    );
  } finally {
    if (cacheDir.temporary) await Deno.remove(cacheDir.path, { recursive: true }).catch(() => {});
  }
}

async function readText(path: string): Promise<string> {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(await Deno.readFile(path));
  } catch (error) {
    throw new TrustMaterialError(
      "TRUST_CONFIG_UNREADABLE",
      `Cannot read trust configuration '${path}' (--trust_config): ${
        error instanceof Error ? error.message : error
      }`,
      { cause: error },
    );
  }
}

function invalid(source: string, reason: string, cause?: unknown): TrustMaterialError {
  return new TrustMaterialError(
    "SIGNING_CONFIG_INVALID",
    `Cannot use the signing config of ${source}: ${reason}`,
    cause === undefined ? undefined : { cause },
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
