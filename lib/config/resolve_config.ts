/**
 * Merges argv, `MODEL_SIGNING_*` environment variables and defaults into one validated config.
 * Flags win over env; relative paths resolve against the working directory, as upstream.
 *
 * @module
 */

import { resolve } from "../_posix_path.ts";
import { ConfigError } from "../errors.ts";
import type { HashAlgorithm } from "../manifest/engines.ts";
import { isHashAlgorithm } from "../manifest/engines.ts";
import type { Method } from "../verify/types.ts";
import {
  DEFAULT_MODEL_PATH,
  DEFAULT_SIGNATURE_NAME,
  type DigestConfig,
  LOG_LEVELS,
  type LogLevel,
  type RegistryOptions,
  type VerifyConfig,
} from "./config.ts";
import { checkIgnoreEntry } from "./ignore_entry.ts";
import { EXTRA_ENV, findOption, OPTIONS, type Scope } from "./options.ts";
import { checkScope, parseBoolean, type ParsedArgs } from "./parse_args.ts";

/** The process surroundings the config depends on. */
export interface Surroundings {
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** What every `sign` method hashes, how, and where the signature goes. */
export interface SignTarget {
  modelPath: string;
  signaturePath: string;
  /** `--ignore-paths` entries as given (see `VerifyConfig.ignorePaths`). */
  ignorePaths: string[];
  cwd?: string;
  ignoreGitPaths: boolean;
  allowSymlinks: boolean;
  hashType: HashAlgorithm;
  shardSize?: number;
  maxWorkers?: number;
  quiet: boolean;
  /** An `oci://` model (lib/oci/): how to reach the registry, and `--attach`. */
  registry?: RegistryOptions;
}

/** Configuration of `sign key|certificate`. */
export interface SignConfig extends SignTarget {
  method: "key" | "certificate";
  privateKeyPath: string;
  signingCertificatePath?: string;
  certificateChainPaths: string[];
  logLevel: LogLevel;
  logFormat: "text" | "json";
  /** `--ignore-paths` as written (OCI layer names). */
  ignorePathsAsGiven?: string[];
  /** RFC 3161 timestamp authority URL (`--tsa-url`). */
  tsaUrl?: string;
}

/** Configuration of `sign [sigstore]`: keyless signing with a Fulcio certificate. */
export interface SigstoreSignConfig extends SignTarget {
  method: "sigstore";
  useStaging: boolean;
  /** ClientTrustConfig with a signingConfig (private Sigstore). */
  trustConfigPath?: string;
  tufCacheDir?: string;
  /** `--identity-token` / `MODEL_SIGNING_IDENTITY_TOKEN`. */
  identityToken?: string;
  /** `--identity-token-file` / `MODEL_SIGNING_IDENTITY_TOKEN_FILE`. */
  identityTokenPath?: string;
  useAmbientCredentials: boolean;
  oauthForceOob: boolean;
  /** OIDC client id; also the audience the token must carry. */
  clientId: string;
  clientSecret?: string;
}

/** Reads options by name from flags, then env. */
class Lookup {
  readonly #args: ParsedArgs;
  readonly #env: Surroundings["env"];
  readonly #cwd: string;

  constructor(args: ParsedArgs, where: Surroundings) {
    this.#args = args;
    this.#env = where.env;
    this.#cwd = where.cwd;
  }

  #envValue(name: string): [string, string] | undefined {
    const env = findOption(name)!.env;
    const value = env ? this.#env[env] : undefined;
    return value === undefined || value.trim() === "" ? undefined : [env, value];
  }

  string(name: string): string | undefined {
    const flag = this.#args.values.get(name);
    if (typeof flag === "string") return flag;
    return this.#envValue(name)?.[1];
  }

  list(name: string): string[] {
    const flag = this.#args.values.get(name);
    if (Array.isArray(flag)) return flag;
    const env = this.#envValue(name);
    return env ? env[1].split(",").map((s) => s.trim()).filter((s) => s !== "") : [];
  }

  boolean(name: string, fallback: boolean): boolean {
    const flag = this.#args.values.get(name);
    if (typeof flag === "boolean") return flag;
    const env = this.#envValue(name);
    return env ? parseBoolean(env[1], env[0]) : fallback;
  }

  path(name: string): string | undefined {
    const value = this.string(name);
    return value === undefined ? undefined : resolve(this.#cwd, value);
  }

  /** `--ignore-paths` entries as given, each checked for globs and `..` (usage errors). */
  ignoreEntries(): string[] {
    const entries = this.list("ignore-paths");
    entries.forEach(checkIgnoreEntry);
    return entries;
  }

  get cwd(): string {
    return this.#cwd;
  }

  paths(name: string): string[] {
    return this.list(name).map((p) => resolve(this.#cwd, p));
  }

  positiveInteger(name: string): number | undefined {
    const value = this.string(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) {
      throw new ConfigError(
        "INVALID_VALUE",
        `${this.#where(name)} must be a positive whole number, got '${value}'`,
      );
    }
    return n;
  }

  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.string(name);
    if (value === undefined) return fallback;
    const found = choices.find((c) => c.toLowerCase() === value.toLowerCase());
    if (!found) {
      throw new ConfigError(
        "INVALID_VALUE",
        `${this.#where(name)} must be one of ${choices.join(", ")}, got '${value}'`,
      );
    }
    return found;
  }

  modelPath(): string {
    if (this.#args.positionals.length > 1) {
      throw new ConfigError(
        "TOO_MANY_ARGUMENTS",
        `Expected one MODEL_PATH, got ${this.#args.positionals.length}: ` +
          this.#args.positionals.map((p) => `'${p}'`).join(" "),
      );
    }
    const given = this.#args.positionals[0] ?? this.#env[EXTRA_ENV.modelPath]?.trim();
    if (given?.startsWith("oci://")) return given; // a registry reference (lib/oci/)
    return resolve(this.#cwd, given || DEFAULT_MODEL_PATH);
  }

  /** `--flag` or `MODEL_SIGNING_FLAG`, whichever set the value, for messages. */
  #where(name: string): string {
    const env = findOption(name)!.env;
    return this.#args.values.has(name) || !env ? `--${name}` : env;
  }
}

function common(lookup: Lookup) {
  const maxWorkers = lookup.positiveInteger("max-workers");
  return {
    ignorePaths: lookup.ignoreEntries(),
    cwd: lookup.cwd,
    ignorePathsAsGiven: lookup.list("ignore-paths"),
    ignoreGitPaths: lookup.boolean("ignore-git-paths", true),
    allowSymlinks: lookup.boolean("allow-symlinks", false),
    logLevel: lookup.choice<LogLevel>("log-level", LOG_LEVELS, "INFO"),
    logFormat: lookup.choice("log-format", ["text", "json"] as const, "text"),
    quiet: lookup.boolean("quiet", false),
    ...(maxWorkers === undefined ? {} : { maxWorkers }),
  };
}

/**
 * Builds the verify configuration.
 *
 * @throws {ConfigError} for a missing required value (naming flag and env variable), an option
 * the method does not take, or an invalid value
 */
export function resolveVerifyConfig(args: ParsedArgs, where: Surroundings): VerifyConfig {
  const lookup = new Lookup(args, where);
  const method = chooseMethod(args, where, lookup);
  const { values, warnings } = ignoreTrustConfig(args.values, method);
  checkScope(values, method, `verify ${method}`);
  const modelPath = lookup.modelPath();
  const config: VerifyConfig = {
    method,
    modelPath,
    signaturePath: lookup.path("signature") ?? resolve(modelPath, DEFAULT_SIGNATURE_NAME),
    certificateChainPaths: [],
    useStaging: false,
    offline: false,
    ignoreUnsignedFiles: lookup.boolean("ignore-unsigned-files", false),
    logFingerprints: false,
    ...common(lookup),
    ...(warnings.length > 0 ? { configWarnings: warnings } : {}),
  };
  const ociManifest = lookup.path("oci-manifest");
  if (ociManifest) config.ociManifestPath = ociManifest;
  if (ociManifest && modelPath.startsWith("oci://")) {
    throw new ConfigError(
      "CONFLICTING_OPTIONS",
      "--oci-manifest names the manifest of a local model folder; an oci:// model brings its own",
    );
  }
  const registry = registryOptions(lookup, modelPath, { pull: lookup.path("pull") });
  if (registry) config.registry = registry;
  if (modelPath.startsWith("oci://") && lookup.string("signature") === undefined) {
    config.signaturePath = "";
  }
  switch (method) {
    case "key":
      config.publicKeyPath = required(lookup.path("public-key"), "public-key", "key");
      timestampTrust(config, lookup);
      break;
    case "certificate":
      config.certificateChainPaths = lookup.paths("certificate-chain");
      if (config.certificateChainPaths.length === 0) {
        required(undefined, "certificate-chain", "certificate");
      }
      config.logFingerprints = lookup.boolean("log-fingerprints", false);
      timestampTrust(config, lookup);
      break;
    case "sigstore": {
      config.identity = required(lookup.string("identity"), "identity", "sigstore");
      config.identityProvider = required(
        lookup.string("identity-provider"),
        "identity-provider",
        "sigstore",
      );
      config.useStaging = lookup.boolean("use-staging", false);
      config.offline = lookup.boolean("offline", false);
      const trust = lookup.path("trust-config");
      if (trust) config.trustConfigPath = trust;
      const cache = lookup.path("tuf-cache");
      if (cache) config.tufCacheDir = cache;
      const exclusive = [
        config.useStaging && "--use-staging",
        config.offline && "--offline",
        trust && "--trust-config",
      ].filter(Boolean);
      if (exclusive.length > 1) {
        throw new ConfigError(
          "CONFLICTING_OPTIONS",
          `Options ${exclusive.join(" and ")} choose different trusted roots; give only one`,
        );
      }
      break;
    }
  }
  return config;
}

/**
 * The model-validation operator appends `--trust_config` whenever the ModelValidation has a
 * clientTrustConfig, also for the key and certificate methods (its Go agent accepts and ignores
 * it there). Accept it for them too: its timestamp authorities verify the bundle's RFC 3161
 * timestamps when it has any; otherwise the warning stays (lib/verify_model.ts drops it).
 */
function ignoreTrustConfig(
  values: ParsedArgs["values"],
  method: Method,
): { values: ParsedArgs["values"]; warnings: string[] } {
  if (method === "sigstore" || !values.has("trust-config")) return { values, warnings: [] };
  const rest = new Map(values);
  rest.delete("trust-config");
  return {
    values: rest,
    warnings: [trustConfigIgnoredWarning(method)],
  };
}

/**
 * key and certificate methods: the timestamp authorities to check RFC 3161 timestamps with:
 * `--tsa-certificate-chain` PEM files, and the `timestampAuthorities` of `--trust-config` (used
 * only when the bundle carries timestamps; lib/verify_model.ts).
 */
function timestampTrust(config: VerifyConfig, lookup: Lookup): void {
  const chains = lookup.paths("tsa-certificate-chain");
  if (chains.length > 0) config.tsaCertificateChainPaths = chains;
  const trust = lookup.path("trust-config");
  if (trust) config.timestampTrustConfigPath = trust;
}

/** The warning for `--trust-config` on key and certificate when the bundle has no timestamps. */
export function trustConfigIgnoredWarning(method: Method): string {
  return `--trust_config applies to Sigstore only; ignored for 'verify ${method}' (on key and ` +
    "certificate signatures only its timestampAuthorities are used, for RFC 3161 timestamps, and " +
    "this signature has none; the model-validation operator passes it whenever the " +
    "ModelValidation has a clientTrustConfig)";
}

/** Builds the `digest` configuration. */
export function resolveDigestConfig(args: ParsedArgs, where: Surroundings): DigestConfig {
  checkScope(args.values, "digest", "digest");
  const lookup = new Lookup(args, where);
  return { modelPath: lookup.modelPath(), ...common(lookup) };
}

/** Builds the `sign` configuration. */
export function resolveSignConfig(args: ParsedArgs, where: Surroundings): SignConfig {
  const method = args.method;
  if (method !== "key" && method !== "certificate") {
    throw new ConfigError(
      "UNKNOWN_METHOD",
      "resolveSignConfig() takes 'sign key' or 'sign certificate'; 'sign [sigstore]' is " +
        "resolveSigstoreSignConfig()",
    );
  }
  const scope: Scope = method === "key" ? "sign-key" : "sign-certificate";
  checkScope(args.values, scope, `sign ${method}`);
  const lookup = new Lookup(args, where);
  const modelPath = lookup.modelPath();
  const shared = common(lookup);
  const hashType = lookup.choice("hash-type", ["sha256", "blake2b", "blake3"] as const, "sha256");
  if (!isHashAlgorithm(hashType)) throw new ConfigError("INVALID_VALUE", "bad --hash-type");
  const config: SignConfig = {
    method,
    modelPath,
    signaturePath: lookup.path("signature") ?? resolve(modelPath, DEFAULT_SIGNATURE_NAME),
    privateKeyPath: required(lookup.path("private-key"), "private-key", `sign ${method}`),
    certificateChainPaths: lookup.paths("certificate-chain"),
    hashType,
    ...shared,
  };
  const shardSize = lookup.positiveInteger("shard-size");
  if (shardSize !== undefined) config.shardSize = shardSize;
  const registry = registryOptions(lookup, modelPath, { attach: lookup.boolean("attach", false) });
  if (registry) {
    config.registry = registry;
    config.signaturePath = required(lookup.path("signature"), "signature", "sign oci://");
  }
  const tsaUrl = lookup.string("tsa-url")?.trim();
  if (tsaUrl) {
    if (!/^https?:\/\/[^\s]+$/.test(tsaUrl)) {
      throw new ConfigError("INVALID_VALUE", `--tsa_url must be an http(s) URL, got '${tsaUrl}'`);
    }
    config.tsaUrl = tsaUrl;
  }
  if (method === "certificate") {
    config.signingCertificatePath = required(
      lookup.path("signing-certificate"),
      "signing-certificate",
      "sign certificate",
    );
  }
  return config;
}

/**
 * Registry options of an `oci://` model; `--pull` and `--attach` need one.
 *
 * @throws {ConfigError} `OCI_OPTION_NEEDS_REFERENCE`, `INVALID_VALUE`
 */
function registryOptions(
  lookup: Lookup,
  modelPath: string,
  extra: { pull?: string | undefined; attach?: boolean },
): RegistryOptions | undefined {
  const insecure = lookup.boolean("insecure-registry", false);
  const timeout = lookup.positiveInteger("registry-timeout") ?? 30;
  if (!modelPath.startsWith("oci://")) {
    if (extra.pull !== undefined || extra.attach) {
      throw new ConfigError(
        "OCI_OPTION_NEEDS_REFERENCE",
        `--${extra.attach ? "attach" : "pull"} needs an oci://REGISTRY/REPO@sha256:... model`,
      );
    }
    return undefined;
  }
  return {
    insecure,
    timeoutMs: timeout * 1000,
    ...(extra.pull === undefined ? {} : { pullDir: extra.pull }),
    ...(extra.attach ? { attach: true } : {}),
  };
}

/**
 * Builds the `sign [sigstore]` configuration (`sign` without a method word means sigstore, as
 * in model_signing).
 *
 * @throws {ConfigError} an option `sign sigstore` does not take, an invalid value, or
 *   `--use_staging` together with `--trust_config`
 */
export function resolveSigstoreSignConfig(
  args: ParsedArgs,
  where: Surroundings,
): SigstoreSignConfig {
  checkScope(args.values, "sign-sigstore", "sign sigstore");
  const lookup = new Lookup(args, where);
  const modelPath = lookup.modelPath();
  const { logLevel: _l, logFormat: _f, ...shared } = common(lookup);
  const hashType = lookup.choice("hash-type", ["sha256", "blake2b", "blake3"] as const, "sha256");
  const clientId = lookup.string("client-id")?.trim() || "sigstore";
  const config: SigstoreSignConfig = {
    method: "sigstore",
    modelPath,
    signaturePath: lookup.path("signature") ?? resolve(modelPath, DEFAULT_SIGNATURE_NAME),
    hashType,
    useStaging: lookup.boolean("use-staging", false),
    useAmbientCredentials: lookup.boolean("use-ambient-credentials", false),
    oauthForceOob: lookup.boolean("oauth-force-oob", false),
    clientId,
    ...shared,
  };
  const shardSize = lookup.positiveInteger("shard-size");
  if (shardSize !== undefined) config.shardSize = shardSize;
  const trust = lookup.path("trust-config");
  if (trust) config.trustConfigPath = trust;
  const cache = lookup.path("tuf-cache");
  if (cache) config.tufCacheDir = cache;
  const token = lookup.string("identity-token")?.trim();
  if (token) config.identityToken = token;
  const tokenFile = lookup.path("identity-token-file");
  if (tokenFile) config.identityTokenPath = tokenFile;
  const secret = lookup.string("client-secret");
  if (secret) config.clientSecret = secret;
  const registry = registryOptions(lookup, modelPath, { attach: lookup.boolean("attach", false) });
  if (registry) {
    config.registry = registry;
    config.signaturePath = required(lookup.path("signature"), "signature", "sign oci://");
  }
  if (config.useStaging && trust) {
    throw new ConfigError(
      "CONFLICTING_OPTIONS",
      "Options --use_staging and --trust_config choose different Sigstore instances; give only one",
    );
  }
  if (config.identityToken && config.identityTokenPath) {
    throw new ConfigError(
      "CONFLICTING_OPTIONS",
      "Options --identity_token and --identity_token_file both give the identity token; give " +
        "only one",
    );
  }
  return config;
}

/**
 * The method: the word after `verify`, else `MODEL_SIGNING_METHOD`, else inferred from the
 * material given (a public key means key, a certificate chain means certificate), else sigstore
 * (model_signing's default).
 */
function chooseMethod(args: ParsedArgs, where: Surroundings, lookup: Lookup): Method {
  if (args.method) return args.method;
  const fromEnv = where.env[EXTRA_ENV.method]?.trim().toLowerCase();
  if (fromEnv) {
    if (fromEnv === "sigstore" || fromEnv === "key" || fromEnv === "certificate") return fromEnv;
    throw new ConfigError(
      "INVALID_VALUE",
      `${EXTRA_ENV.method} must be sigstore, key or certificate, got '${fromEnv}'`,
    );
  }
  if (lookup.string("public-key") !== undefined) return "key";
  if (lookup.list("certificate-chain").length > 0) return "certificate";
  return "sigstore";
}

function required<T>(value: T | undefined, name: string, method: string): T {
  if (value !== undefined) return value;
  const env = OPTIONS.find((o) => o.name === name)!.env;
  throw new ConfigError(
    "MISSING_OPTION",
    `Missing option --${name} for '${method}'` +
      (env ? ` (or set ${env})` : ""),
  );
}
