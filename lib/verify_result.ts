/**
 * VerifyResult: what a successful verification reports (shared by the folder, OCI and agent
 * paths and the reports, without importing the verifier itself).
 *
 * @module
 */

import type { SignedManifest } from "./manifest/manifest.ts";
import type { VerifyConfig } from "./config/config.ts";
import type { SignerInfo } from "./verify/types.ts";

/** What was verified, for reports. */
export interface VerifyResult {
  method: VerifyConfig["method"];
  signer: SignerInfo;
  modelPath: string;
  /** The subject name in the signature. */
  modelName: string;
  /** `sha256:<hex>` root digest of the verified resources. */
  rootDigest: string;
  serialization: SignedManifest["serialization"];
  /** Number of resources (files or shards) hashed and matched. */
  resources: number;
  files: number;
  bytes: number;
  seconds: number;
  warnings: string[];
}
