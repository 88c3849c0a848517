/**
 * verifyModel: the whole verification, in model_signing's order with an early name check:
 * read and check the signature, decode the signed manifest, list the model and compare names
 * (extra or missing files fail before any hashing), then hash and compare digests.
 *
 * This is the one lib module that reads the signature, key and trust files; it hands bytes down.
 *
 * @module
 */

import { escapeName } from "./_escape.ts";
import { parseBundle } from "./bundle/parse_bundle.ts";
import { toSignedManifest } from "./bundle/predicate.ts";
import { parseStatement } from "./bundle/statement.ts";
import type { ParsedBundle } from "./bundle/types.ts";
import type { VerifyConfig } from "./config/config.ts";
import { IntegrityError, TrustMaterialError } from "./errors.ts";
import type { HashAlgorithm } from "./manifest/engines.ts";
import type { HashJob } from "./manifest/hash_file.ts";
import { hashJobs, type HashProgress } from "./manifest/hash_jobs.ts";
import {
  computeRootDigest,
  describeDiff,
  diffManifests,
  isEmptyDiff,
  type SignedManifest,
} from "./manifest/manifest.ts";
import { planJobs } from "./manifest/plan_jobs.ts";
import { readSignatureFile } from "./read_files.ts";
import { buildIgnoreList } from "./tree/ignore.ts";
import { listNamedFiles, type ModelTree, walkModel } from "./tree/walk_model.ts";
import { verifyWithKey } from "./verify/key.ts";
import { loadPublicKey } from "./verify/public_key.ts";
import type { SignerInfo, VerifiedSignature } from "./verify/types.ts";

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

/** Injected collaborators, for tests and for the CLI's progress display. */
export interface VerifyDeps {
  /** Milliseconds clock; defaults to `performance.now`. */
  now?: () => number;
  onProgress?: (progress: HashProgress) => void;
  /** Called after the names were compared, before hashing starts. */
  onHashingStart?: (files: number, bytes: number) => void;
  env?: Record<string, string | undefined>;
  /** Continuous mode only: digests of files unchanged since an earlier verification. */
  digestCache?: DigestCache;
}

/**
 * Remembers file digests between verifications in one process (`lib/agent/identity_cache.ts`).
 * Without one, every job is hashed.
 */
export interface DigestCache {
  /** Splits the jobs into digests still known (file identity unchanged) and jobs to hash. */
  partition(
    jobs: readonly HashJob[],
    algorithm: HashAlgorithm,
  ): Promise<{ known: Map<string, string>; toHash: HashJob[] }>;
  /** Called only after the model verified: remembers the digests just computed. */
  remember(
    hashed: readonly HashJob[],
    digests: ReadonlyMap<string, string>,
    algorithm: HashAlgorithm,
  ): Promise<void>;
}

/**
 * Verifies a model against its signature.
 *
 * @throws {ModelVerifyError} for every expected failure (see `errors.ts`)
 */
export async function verifyModel(
  config: VerifyConfig,
  deps: VerifyDeps = {},
): Promise<VerifyResult> {
  const now = deps.now ?? (() => performance.now());
  const started = now();
  const bundle = parseBundle(await readSignatureFile(config.signaturePath), config.signaturePath);
  const verified = await verifySignature(bundle, config, deps);
  const manifest = toSignedManifest(parseStatement(verified.payloadType, verified.payload));
  const tree = await listModel(config, manifest);
  const jobs = planJobs(tree.files, manifest.serialization);
  const expected = new Map(manifest.entries.map((e) => [e.name, e.digest]));
  const names = new Map(jobs.map((job) => [job.name, ""]));
  const earlyDiff = diffManifests(expected, names);
  earlyDiff.mismatched = [];
  if (config.ignoreUnsignedFiles) earlyDiff.extra = [];
  if (!isEmptyDiff(earlyDiff)) throw mismatch(earlyDiff, config, false);
  const bytes = jobs.reduce((sum, job) => sum + job.end - job.start, 0);
  deps.onHashingStart?.(tree.files.length, bytes);
  const split = deps.digestCache
    ? await deps.digestCache.partition(jobs, manifest.serialization.hashType)
    : { known: new Map<string, string>(), toHash: jobs };
  const hashed = await hashJobs(split.toHash, {
    algorithm: manifest.serialization.hashType,
    ...(config.maxWorkers === undefined ? {} : { maxWorkers: config.maxWorkers }),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
  });
  const actual = split.known.size === 0 ? hashed : new Map([...split.known, ...hashed]);
  const diff = diffManifests(expected, actual);
  if (!isEmptyDiff(diff)) throw mismatch(diff, config, true);
  await deps.digestCache?.remember(split.toHash, hashed, manifest.serialization.hashType);
  return {
    method: config.method,
    signer: verified.signer,
    modelPath: config.modelPath,
    modelName: manifest.modelName,
    rootDigest: `sha256:${computeRootDigest(manifest.entries)}`,
    serialization: manifest.serialization,
    resources: jobs.length,
    files: tree.files.length,
    bytes,
    seconds: (now() - started) / 1000,
    warnings: verified.warnings,
  };
}

async function verifySignature(
  bundle: ParsedBundle,
  config: VerifyConfig,
  deps: VerifyDeps,
): Promise<VerifiedSignature> {
  switch (config.method) {
    case "key": {
      const path = config.publicKeyPath!;
      const verified = verifyWithKey(
        bundle,
        await loadPublicKey(await readTrustFile(path, "--public_key"), path),
      );
      return await withTimestamps(verified, bundle, config);
    }
    // The certificate and Sigstore methods load their libraries only when used: they are most of
    // the program's start-up time, which every pod start pays.
    case "certificate": {
      const { loadTrustAnchors, verifyWithCertificate } = await import("./verify/certificate.ts");
      const anchors = [];
      for (const path of config.certificateChainPaths) {
        anchors.push(...loadTrustAnchors(await readTrustFile(path, "--certificate_chain"), path));
      }
      const times = await checkTimestamps(bundle, config);
      return await withTimestamps(
        verifyWithCertificate(bundle, anchors, times),
        bundle,
        config,
        times,
      );
    }
    case "sigstore": {
      const { verifyWithSigstore } = await import("./verify/sigstore.ts");
      return await verifyWithSigstore(bundle, {
        identity: config.identity!,
        identityProvider: config.identityProvider!,
        useStaging: config.useStaging,
        offline: config.offline,
        ...(config.trustConfigPath ? { trustConfigPath: config.trustConfigPath } : {}),
        ...(config.tufCacheDir ? { tufCacheDir: config.tufCacheDir } : {}),
        env: deps.env ?? {},
      });
    }
  }
}

/**
 * key and certificate methods: with timestamp authorities given (`--tsa_certificate_chain`), every
 * RFC 3161 timestamp of the bundle must verify; returns their times. Without, returns none.
 * (`--trust_config` stays refused for these methods, as by model_signing and the operator's
 * callers; a trusted root's TSAs go into a PEM file instead.)
 */
async function checkTimestamps(bundle: ParsedBundle, config: VerifyConfig): Promise<Date[]> {
  const chains = config.tsaCertificateChainPaths ?? [];
  if (chains.length === 0) return [];
  const { loadTsaChain, verifyRfc3161Timestamps } = await import(
    "./verify/rfc3161_timestamps.ts"
  );
  const authorities = [];
  for (const path of chains) {
    const text = new TextDecoder().decode(await readTrustFile(path, "--tsa_certificate_chain"));
    authorities.push(loadTsaChain(text, path));
  }
  const sources = chains.map((p) => `'${p}'`).join(" and ");
  return verifyRfc3161Timestamps(bundle, authorities, sources);
}

/** Adds verified timestamp times to the signer, checking them first when not done yet. */
async function withTimestamps(
  verified: VerifiedSignature,
  bundle: ParsedBundle,
  config: VerifyConfig,
  checked?: Date[],
): Promise<VerifiedSignature> {
  const times = checked ?? await checkTimestamps(bundle, config);
  if (times.length > 0) verified.signer.timestamps = times;
  return verified;
}

/** Lists the model's files: all of them, or only those the signature names. */
async function listModel(
  config: VerifyConfig,
  manifest: SignedManifest,
): Promise<ModelTree> {
  const options = {
    allowSymlinks: config.allowSymlinks,
    ignored: [] as string[],
  };
  const root = await resolveRootForIgnore(config.modelPath);
  options.ignored = buildIgnoreList({
    modelRoot: root,
    absolutePaths: [...config.ignorePaths, config.signaturePath],
    relativePaths: manifest.serialization.ignorePaths,
    ignoreGitPaths: config.ignoreGitPaths,
  });
  if (!config.ignoreUnsignedFiles) return await walkModel(config.modelPath, options);
  const names = manifest.entries.map((e) =>
    manifest.serialization.method === "shards" ? e.name.replace(/:\d+:\d+$/, "") : e.name
  );
  return await listNamedFiles(config.modelPath, names, options);
}

async function resolveRootForIgnore(modelPath: string): Promise<string> {
  try {
    return await Deno.realPath(modelPath);
  } catch {
    return modelPath;
  }
}

function mismatch(
  diff: ReturnType<typeof diffManifests>,
  config: VerifyConfig,
  hashed: boolean,
): IntegrityError {
  const when = hashed ? "" : " (found before hashing)";
  return new IntegrityError(
    hashed ? "MODEL_MODIFIED" : "MODEL_FILES_DIFFER",
    `Model '${config.modelPath}' does not match its signature${when}: ${
      describeDiff(diff, escapeName)
    }`,
    diff,
  );
}

/** Reads a key, certificate or trust file named by a flag; failures are configuration errors. */
async function readTrustFile(path: string, flag: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (error) {
    throw new TrustMaterialError(
      "TRUST_FILE_UNREADABLE",
      `Cannot read ${flag} file '${path}': ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
}
