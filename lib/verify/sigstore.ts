// PLACEHOLDER written by the lead so the core type-checks; the sigstore helper replaces this
// whole file with the real implementation (same exported names).
import type { ParsedBundle } from "../bundle/types.ts";
import { ConfigError } from "../errors.ts";
import type { VerifiedSignature } from "./types.ts";

export interface SigstoreOptions {
  identity: string;
  identityProvider: string;
  useStaging: boolean;
  trustConfigPath?: string;
  offline: boolean;
  tufCacheDir?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
}

export function verifyWithSigstore(
  _bundle: ParsedBundle,
  _options: SigstoreOptions,
): Promise<VerifiedSignature> {
  return Promise.reject(
    new ConfigError("METHOD_UNAVAILABLE", "The sigstore method is not available yet"),
  );
}
