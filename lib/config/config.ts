/**
 * The validated configuration of one verification, built from argv and `MODEL_SIGNING_*` env.
 *
 * @module
 */

import type { Method } from "../verify/types.ts";

/** Everything needed to verify one model. Paths are absolute. */
export interface VerifyConfig {
  method: Method;
  /** The model: a directory or a single file. */
  modelPath: string;
  /** The signature (Sigstore bundle JSON). */
  signaturePath: string;
  /** key method: PEM or JWK public key file. */
  publicKeyPath?: string;
  /** certificate method: PEM files with the trusted CA certificates. */
  certificateChainPaths: string[];
  /** sigstore method: expected identity (SAN email, URI or otherName), exact match. */
  identity?: string;
  /** sigstore method: expected OIDC issuer, exact match. */
  identityProvider?: string;
  /** sigstore method: use the staging instance. */
  useStaging: boolean;
  /** sigstore method: ClientTrustConfig JSON or bare trusted_root.json. */
  trustConfigPath?: string;
  /** sigstore method: use the embedded production trusted root, no network. */
  offline: boolean;
  /** sigstore method: where TUF metadata is cached. */
  tufCacheDir?: string;
  /**
   * `--ignore-paths` entries as given: absolute, or relative to the model root (`lib/tree/
   * ignore.ts` has the rule, with model_signing's cwd-relative reading where unambiguous).
   */
  ignorePaths: string[];
  /** Working directory the relative entries may also be read against; default: the process's. */
  cwd?: string;
  ignoreGitPaths: boolean;
  ignoreUnsignedFiles: boolean;
  allowSymlinks: boolean;
  /** Log fingerprints of the certificates (certificate method). */
  logFingerprints: boolean;
  /** Upper bound on hashing workers; undefined: all available cores. */
  maxWorkers?: number;
  logLevel: LogLevel;
  logFormat: "text" | "json";
  /** Hide progress output. */
  quiet: boolean;
  /** Options accepted but ignored (printed as warnings with the result). */
  configWarnings?: string[];
  /** `--ignore-paths` as written (OCI layer names are matched against these, not files). */
  ignorePathsAsGiven?: string[];
  /** OCI (lib/oci/): the image manifest the signature was made from, for a local model. */
  ociManifestPath?: string;
  /** OCI registry options (an `oci://` model path). */
  registry?: RegistryOptions;
  /**
   * key and certificate methods: PEM chains of trusted timestamp authorities; with these the
   * bundle's RFC 3161 timestamps must verify.
   */
  tsaCertificateChainPaths?: string[];
  /**
   * key and certificate methods: `--trust-config`, whose `timestampAuthorities` verify the
   * bundle's RFC 3161 timestamps when it carries any (otherwise it is ignored, with a warning).
   */
  timestampTrustConfigPath?: string;
}

/** Options of an `oci://` model. */
export interface RegistryOptions {
  /** verify: download the verified model into this directory. */
  pullDir?: string;
  /** sign: push the signature as a referrer of the image. */
  attach?: boolean;
  /** Plain HTTP, allowed for loopback registries only. */
  insecure: boolean;
  /** Milliseconds to wait for a response or the next chunk of a body. */
  timeoutMs: number;
}

/** Configuration of `digest`: hash a model without a signature. */
export interface DigestConfig {
  modelPath: string;
  /** `--ignore-paths` entries as given (see {@link VerifyConfig.ignorePaths}). */
  ignorePaths: string[];
  cwd?: string;
  ignoreGitPaths: boolean;
  allowSymlinks: boolean;
  maxWorkers?: number;
  logLevel: LogLevel;
  logFormat: "text" | "json";
  quiet: boolean;
}

/** Log levels, as model_signing's `--log-level`. */
export const LOG_LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = typeof LOG_LEVELS[number];

/** Default model path when none is given (the operator mounts the model there). */
export const DEFAULT_MODEL_PATH = "/data";
/** Default signature file name inside the model directory. */
export const DEFAULT_SIGNATURE_NAME = "model.sig";
