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
  /** Absolute paths to leave out of the model, as given by the user. */
  ignorePaths: string[];
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
  /**
   * key and certificate methods: PEM chains of trusted timestamp authorities; with these the
   * bundle's RFC 3161 timestamps must verify.
   */
  tsaCertificateChainPaths?: string[];
}

/** Configuration of `digest`: hash a model without a signature. */
export interface DigestConfig {
  modelPath: string;
  ignorePaths: string[];
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
