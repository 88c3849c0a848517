/**
 * digestModel: the root digest of a model without a signature (files, SHA-256), so a model can
 * be identified before it is signed or after it was verified.
 *
 * @module
 */

import { join } from "./_posix_path.ts";
import { DEFAULT_SIGNATURE_NAME, type DigestConfig } from "./config/config.ts";
import { hashJobList, type HashProgress } from "./manifest/hash_jobs.ts";
import { fileListJobs } from "./manifest/job_source.ts";
import { WorkerPrestart } from "./manifest/prestart.ts";
import { rootDigestOfList } from "./manifest/root_digest.ts";
import { buildIgnoreList, unmatchedWarning } from "./tree/ignore.ts";
import { resolveModelRoot, walkModelList } from "./tree/walk_model.ts";

/** The digest of a model. */
export interface DigestResult {
  modelPath: string;
  /** `sha256:<hex>`: SHA-256 over the files' raw SHA-256 digests in canonical order. */
  rootDigest: string;
  files: number;
  bytes: number;
  /** One line each: `--ignore-paths` entries that matched nothing. */
  warnings?: string[];
}

/** Hashes the model as `model_signing sign` would (files, sha256) and returns its root digest. */
export async function digestModel(
  config: DigestConfig,
  onProgress?: (progress: HashProgress) => void,
): Promise<DigestResult> {
  const { root, kind } = await resolveModelRoot(config.modelPath);
  const { ignored, unmatched } = buildIgnoreList({
    modelRoot: root,
    userPaths: kind === "directory" ? config.ignorePaths : [],
    cwd: config.cwd ?? Deno.cwd(),
    // The default signature location is never part of the model.
    internalPaths: [join(root, DEFAULT_SIGNATURE_NAME)],
    recordedPaths: [],
    ignoreGitPaths: config.ignoreGitPaths,
  });
  // Hashing workers start while the walk runs, once it has seen enough work for them.
  const prestart = await WorkerPrestart.create(config.maxWorkers);
  let tree, digests;
  try {
    tree = await walkModelList(config.modelPath, {
      ignored,
      allowSymlinks: config.allowSymlinks,
      onFile: (size) => prestart.add(1, size),
    });
    digests = await hashJobList(fileListJobs(tree.list, { method: "files" }), {
      algorithm: "sha256",
      ...(config.maxWorkers === undefined ? {} : { maxWorkers: config.maxWorkers }),
      ...(onProgress ? { onProgress } : {}),
      prestarted: prestart.workers,
    });
  } finally {
    prestart.close();
  }
  return {
    modelPath: config.modelPath,
    rootDigest: `sha256:${await rootDigestOfList(tree.list.names, digests)}`,
    files: tree.list.length,
    bytes: tree.list.totalBytes(),
    warnings: [unmatchedWarning(unmatched)].filter((w): w is string => w !== undefined),
  };
}
