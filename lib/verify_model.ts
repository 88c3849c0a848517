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
import { collectGarbage } from "./collect_garbage.ts";
import { parseBundle } from "./bundle/parse_bundle.ts";
import { toSignedManifest } from "./bundle/predicate.ts";
import { parseStatement, type Statement } from "./bundle/statement.ts";
import type { ParsedBundle } from "./bundle/types.ts";
import type { VerifyConfig } from "./config/config.ts";
import { trustConfigIgnoredWarning } from "./config/resolve_config.ts";
import {
  InputError,
  IntegrityError,
  InternalError,
  type ManifestDiff,
  TrustMaterialError,
} from "./errors.ts";
import type { HashAlgorithm } from "./manifest/engines.ts";
import { DIGEST_BYTES, DigestList } from "./manifest/digest_list.ts";
import { diffDigests, ExpectedDigests } from "./manifest/expected_digests.ts";
import type { HashJob } from "./manifest/hash_file.ts";
import { hashJobList, hashJobs, type HashProgress } from "./manifest/hash_jobs.ts";
import { fileListJobs, type JobSource } from "./manifest/job_source.ts";
import { hexToBytes } from "./manifest/hex.ts";
// Not manifest.ts, which loads node:crypto: `verify key` loads none on the main thread.
import type { SignedManifest } from "./manifest/manifest.ts";
import { describeDiff, isEmptyDiff } from "./manifest/manifest_diff.ts";
import { splitShard } from "./manifest/resource_order.ts";
import { rootDigestOf } from "./manifest/root_digest.ts";
import { WorkerPrestart } from "./manifest/prestart.ts";
import { isOciModelPath } from "./oci/oci_source.ts";
import { readSignatureFile } from "./read_files.ts";
import { basename } from "./_posix_path.ts";
import { buildIgnoreList, unmatchedWarning } from "./tree/ignore.ts";
import { FileList } from "./tree/file_list.ts";
import {
  listNamedFiles,
  type ModelFileList,
  resolveModelRoot,
  walkModelList,
} from "./tree/walk_model.ts";
import { verifyWithKey } from "./verify/key.ts";
import { loadPublicKey } from "./verify/public_key.ts";
import type { VerifiedSignature } from "./verify/types.ts";
import type { VerifyResult } from "./verify_result.ts";

export type { VerifyResult } from "./verify_result.ts";

/** Signatures listing this many resources (about 200 KB) or more are followed by a full GC. */
export const GC_MIN_RESOURCES = 1000;

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
  if (config.ociManifestPath !== undefined || await isOciModelPath(config.modelPath)) {
    const { verifyOci } = await import("./oci/verify_oci.ts");
    return await verifyOci(config, (b) => verifySignature(b, config, deps), deps.env ?? {}, now);
  }
  const started = now();
  const { manifest, verified } = await readSignedManifest(config, deps);
  // A small signature leaves little garbage, and a full collection costs 3-6 ms of CPU before
  // hashing starts: only a large one is worth it (see collect_garbage.ts).
  if (manifest.expected.size >= GC_MIN_RESOURCES) collectGarbage();
  if (manifest.expected.size === 0) throw emptySignature(config);
  // Hashing workers start while the model is listed, once the signature or the listing shows
  // enough work for them; the listing and the name check still end before any hashing.
  const prestart = await WorkerPrestart.create(config.maxWorkers);
  try {
    return await checkModel(config, deps, manifest, verified, prestart, started, now);
  } finally {
    prestart.close();
  }
}

/**
 * The signed manifest as a verification keeps it: the expected digests in compact form
 * ({@link ExpectedDigests}) and the root digest, without the signature's entry objects.
 */
type ExpectedManifest = Omit<SignedManifest, "entries" | "rootDigest"> & {
  expected: ExpectedDigests;
  /** Lower-case hex root digest of the signed resources, in the signature's order. */
  rootDigest: string;
};

/**
 * Reads, verifies and decodes the signature. Only the expected digests and the signer leave
 * this function: the bundle, the payload bytes and the statement's entries (tens of MB for
 * 100,000 files) can be collected before the model is listed and hashed.
 *
 * Each step runs in a function of its own and hands on a box, not the values: a value held by a
 * local (or a temporary) of a running function stays alive until that function returns, even
 * after its last use.
 */
async function readSignedManifest(
  config: VerifyConfig,
  deps: VerifyDeps,
): Promise<
  { manifest: ExpectedManifest; verified: Pick<VerifiedSignature, "signer" | "warnings"> }
> {
  const box = await verifySignatureFile(config, deps);
  const verified = signerOf(box);
  return { manifest: await decodeManifest(box), verified };
}

/**
 * The signature's payload once verified, then its statement: each step takes what it needs out
 * of the box, so what it leaves behind can be collected before the next step allocates.
 */
interface VerifiedBox {
  verified?: VerifiedSignature;
  statement?: Statement;
  /** Whether the payload is at least {@link BIG_PAYLOAD} bytes. */
  big: boolean;
}

async function verifySignatureFile(config: VerifyConfig, deps: VerifyDeps): Promise<VerifiedBox> {
  // The bundle keeps the signature file's bytes (22 MB for 100,000 files) for the Sigstore
  // method's plain document: they go when this returns, before the statement is parsed.
  const bundle = parseBundle(await readSignatureFile(config.signaturePath), config.signaturePath);
  const verified = await verifySignature(bundle, config, deps);
  return { verified, big: verified.payload.length >= BIG_PAYLOAD };
}

function signerOf(box: VerifiedBox): Pick<VerifiedSignature, "signer" | "warnings"> {
  return { signer: box.verified!.signer, warnings: box.verified!.warnings };
}

/**
 * The expected digests of a verified payload. A big payload leaves tens of MB behind at each
 * step (the file's bytes and the signed PAE copy; the payload's bytes and text once parsed; the
 * statement's JSON tree once its entries are taken): collected before the next step allocates
 * as much again, the steps' memory does not add up (100,000 files: this phase's peak 174 -> 115
 * MiB), and the heap V8 keeps committed for the rest of the run is smaller. A small payload
 * skips these full collections.
 */
async function decodeManifest(box: VerifiedBox): Promise<ExpectedManifest> {
  const big = box.big;
  if (big) collectGarbage();
  parseInto(box);
  if (big) collectGarbage();
  const { entries, ...rest } = await manifestOf(box);
  if (big) collectGarbage();
  return {
    ...rest,
    expected: new ExpectedDigests(entries, DIGEST_BYTES[rest.serialization.hashType]),
    // The same as the subject's digest, which toSignedManifest checked; legacy ones have none.
    rootDigest: rest.rootDigest ?? await rootDigestOf(entries),
  };
}

/** Parses the payload into the box and drops it from there. */
function parseInto(box: VerifiedBox): void {
  const { payloadType, payload } = box.verified!;
  delete box.verified;
  box.statement = parseStatement(payloadType, payload);
}

/** The signed manifest of the box's statement, which leaves the box. */
async function manifestOf(box: VerifiedBox): Promise<SignedManifest> {
  const statement = box.statement!;
  delete box.statement;
  return await toSignedManifest(statement);
}

/** Payload size from which {@link decodeManifest} collects garbage between its steps. */
const BIG_PAYLOAD = 1 << 20;

/** Lists the model, compares names, hashes and compares digests (after the signature verified). */
async function checkModel(
  config: VerifyConfig,
  deps: VerifyDeps,
  manifest: ExpectedManifest,
  verified: Pick<VerifiedSignature, "signer" | "warnings">,
  prestart: WorkerPrestart,
  started: number,
  now: () => number,
): Promise<VerifyResult> {
  const { expected } = manifest;
  // With a digest cache (the agent) most files are usually not hashed again: no early start.
  const early = deps.digestCache === undefined;
  const shardsMode = manifest.serialization.method === "shards";
  if (early) prestart.add(expected.size, shardsMode ? signedShardBytes(expected) : 0);
  const { tree, warnings } = await listModel(
    config,
    manifest,
    early && !shardsMode ? (size) => prestart.add(0, size) : undefined,
  );
  const files = tree.list;
  if (files.length === 0) throw emptyModel(config, expected.size);
  if (manifest.serialization.method === "shards" && !config.ignoreUnsignedFiles) {
    rejectEmptyFilesInShards(files, config);
  }
  // Jobs are made per batch from the file list (files mode): none is kept for the whole run.
  const jobs = fileListJobs(files, manifest.serialization);
  const earlyDiff = diffDigests(expected, jobs);
  if (config.ignoreUnsignedFiles) earlyDiff.extra = [];
  if (!isEmptyDiff(earlyDiff)) throw mismatch(earlyDiff, config, false);
  let bytes = 0;
  for (let i = 0; i < jobs.length; i++) bytes += jobs.size(i);
  deps.onHashingStart?.(files.length, bytes);
  const algorithm = manifest.serialization.hashType;
  const hashOptions = {
    algorithm,
    ...(config.maxWorkers === undefined ? {} : { maxWorkers: config.maxWorkers }),
    ...(deps.onProgress ? { onProgress: deps.onProgress } : {}),
    prestarted: prestart.workers,
  };
  if (deps.digestCache) {
    await hashWithCache(deps.digestCache, jobs, expected, hashOptions, config);
  } else {
    const diff = diffDigests(expected, jobs, await hashJobList(jobs, hashOptions));
    if (!isEmptyDiff(diff)) throw mismatch(diff, config, true);
  }
  return {
    method: config.method,
    signer: verified.signer,
    modelPath: config.modelPath,
    modelName: manifest.modelName,
    rootDigest: `sha256:${manifest.rootDigest}`,
    serialization: manifest.serialization,
    resources: jobs.length,
    files: files.length,
    bytes,
    seconds: (now() - started) / 1000,
    warnings: [...configWarnings(config, verified), ...verified.warnings, ...warnings],
  };
}

/**
 * Continuous mode: hashes only the jobs whose file changed since the cache saw it, compares
 * every digest, and has the cache remember the new ones once the model verified.
 */
async function hashWithCache(
  cache: DigestCache,
  source: JobSource,
  expected: ExpectedDigests,
  options: Parameters<typeof hashJobs>[1],
  config: VerifyConfig,
): Promise<void> {
  const jobs: HashJob[] = [];
  for (let i = 0; i < source.length; i++) jobs.push(source.job(i));
  const split = await cache.partition(jobs, options.algorithm);
  const hashed = await hashJobs(split.toHash, options);
  const actual = new DigestList(jobs.length, expected.digests.width);
  jobs.forEach((job, i) => {
    const digest = split.known.get(job.name) ?? hashed.get(job.name);
    if (digest === undefined || digest.length !== 2 * actual.width) {
      throw new InternalError(
        "DIGEST_CACHE",
        `The digest cache gave no ${options.algorithm} digest for '${escapeName(job.name)}'`,
      );
    }
    actual.set(i, hexToBytes(digest));
  });
  const diff = diffDigests(expected, { length: jobs.length, name: (i) => jobs[i]!.name }, actual);
  if (!isEmptyDiff(diff)) throw mismatch(diff, config, true);
  await cache.remember(split.toHash, hashed, options.algorithm);
}

/**
 * The config's warnings, less "--trust_config ignored" when its timestamp authorities verified
 * the bundle's timestamps (a bundle with timestamps and `--trust-config` always uses them).
 */
function configWarnings(
  config: VerifyConfig,
  verified: Pick<VerifiedSignature, "signer">,
): string[] {
  const all = config.configWarnings ?? [];
  if (config.method === "sigstore" || config.timestampTrustConfigPath === undefined) return all;
  if ((verified.signer.timestamps?.length ?? 0) === 0) return all;
  const ignored = trustConfigIgnoredWarning(config.method);
  return all.filter((warning) => warning !== ignored);
}

async function verifySignature(
  bundle: ParsedBundle,
  config: VerifyConfig,
  deps: VerifyDeps,
): Promise<VerifiedSignature> {
  switch (config.method) {
    case "key": {
      const path = config.publicKeyPath!;
      const verified = await verifyWithKey(
        bundle,
        await loadPublicKey(await readTrustFile(path, "--public-key"), path),
      );
      return await withTimestamps(verified, bundle, config);
    }
    // The certificate and Sigstore methods load their libraries only when used: they are most of
    // the program's start-up time, which every pod start pays.
    case "certificate": {
      const { loadTrustAnchors, verifyWithCertificate } = await import("./verify/certificate.ts");
      const anchors = [];
      for (const path of config.certificateChainPaths) {
        anchors.push(...loadTrustAnchors(await readTrustFile(path, "--certificate-chain"), path));
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
 * key and certificate methods: every RFC 3161 timestamp of the bundle must verify against the
 * timestamp authorities given: `--tsa-certificate-chain` PEM files (the bundle must then carry a
 * timestamp), and the `timestampAuthorities` of `--trust-config` when the bundle carries
 * timestamps (without any, `--trust-config` is ignored with a warning, as the operator passes it
 * for every method). Returns the verified times; none when no authority applies.
 */
async function checkTimestamps(bundle: ParsedBundle, config: VerifyConfig): Promise<Date[]> {
  const chains = config.tsaCertificateChainPaths ?? [];
  const trustPath = config.timestampTrustConfigPath;
  if (chains.length === 0 && trustPath === undefined) return [];
  const { bundleTimestamps, loadTsaChain, verifyRfc3161Timestamps } = await import(
    "./verify/rfc3161_timestamps.ts"
  );
  const useTrustConfig = trustPath !== undefined && bundleTimestamps(bundle).length > 0;
  if (chains.length === 0 && !useTrustConfig) return [];
  const authorities = [];
  for (const path of chains) {
    const text = new TextDecoder().decode(await readTrustFile(path, "--tsa-certificate-chain"));
    authorities.push(loadTsaChain(text, path));
  }
  const sources = chains.map((p) => `'${escapeName(p)}'`);
  if (useTrustConfig) {
    const { loadTrustConfigFile } = await import("./trust/trusted_root.ts");
    const loaded = await loadTrustConfigFile(trustPath);
    authorities.push(...loaded.trustMaterial.timestampAuthorities);
    sources.push(`--trust-config '${escapeName(trustPath)}'`);
  }
  return verifyRfc3161Timestamps(bundle, authorities, sources.join(" and "));
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

/**
 * Lists the model's files: all of them, or only those the signature names. The symlink policy
 * is the one the signature records (OMS v1.0 6.1.1); `--allow-symlinks` only decides for
 * model_signing 0.2 signatures, which record none.
 */
async function listModel(
  config: VerifyConfig,
  manifest: ExpectedManifest,
  onFile?: (size: number) => void,
): Promise<{ tree: ModelFileList; warnings: string[] }> {
  const warnings: string[] = [];
  const recorded = manifest.legacy ? undefined : manifest.serialization.allowSymlinks;
  if (recorded === false && config.allowSymlinks) {
    warnings.push(
      "--allow-symlinks has no effect: the signature records allow_symlinks=false, so a " +
        "symbolic link in the model fails verification",
    );
  }
  const allowSymlinks = recorded ?? config.allowSymlinks;
  const { root, kind } = await resolveModelRoot(config.modelPath);
  const list = buildIgnoreList({
    modelRoot: root,
    userPaths: kind === "directory" ? config.ignorePaths : [],
    cwd: config.cwd ?? Deno.cwd(),
    internalPaths: [config.signaturePath],
    recordedPaths: manifest.serialization.ignorePaths,
    ignoreGitPaths: config.ignoreGitPaths,
  });
  const warning = unmatchedWarning(list.unmatched);
  if (warning) warnings.push(warning);
  const shards = manifest.serialization.method === "shards";
  const options = {
    allowSymlinks,
    ignored: list.ignored,
    ...(onFile ? { onFile } : {}),
    ...(shards ? {} : { keptName: (name: string) => manifest.expected.keptName(name) }),
  };
  const names = () =>
    manifest.expected.names().map((name) => shards ? (splitShard(name)?.[0] ?? name) : name);
  let tree: ModelFileList;
  if (config.ignoreUnsignedFiles && kind === "directory") {
    const named = await listNamedFiles(config.modelPath, names(), options);
    tree = { root: named.root, kind: named.kind, list: FileList.of(named.root, named.files) };
  } else tree = await walkModelList(config.modelPath, options);
  if (tree.kind === "file") {
    const name = singleFileName(names(), config.modelPath, root);
    for (let i = 0; i < tree.list.length; i++) tree.list.rename(i, name);
  }
  return { tree, warnings };
}

/** Bytes a shard signature lists (`name:start:end`), for starting workers early; 0 if unknown. */
function signedShardBytes(expected: ExpectedDigests): number {
  let bytes = 0;
  for (const name of expected.index.keys()) {
    const parts = splitShard(name);
    if (parts) bytes += Math.max(0, Number(parts[2]) - Number(parts[1]));
  }
  return Number.isFinite(bytes) ? bytes : 0;
}

/**
 * The resource name of a single-file model: the legacy `.` (model_signing 1.1) or the file's
 * basename (OMS v1.0 6.1.2, the Go implementation), whichever the signature uses.
 */
function singleFileName(names: readonly string[], modelPath: string, root: string): string {
  const candidates = new Set([basename(modelPath), basename(root)]);
  return names.find((name) => candidates.has(name)) ?? ".";
}

/**
 * A shard signature lists no empty file (OMS v1.0 6.3.2: zero-byte files produce no shard), so an
 * empty file on disk cannot be told apart from one added after signing (an `__init__.py`, a
 * `sitecustomize.py`): fail closed.
 */
function rejectEmptyFilesInShards(files: FileList, config: VerifyConfig): void {
  const empty = files.names.filter((_, i) => files.size(i) === 0);
  if (empty.length === 0) return;
  throw new IntegrityError(
    "SHARDS_EMPTY_FILE",
    `Model '${escapeName(config.modelPath)}' holds empty files the shard signature cannot ` +
      `account for: ${empty.map(escapeName).join(", ")}. A shard signature lists no empty ` +
      "file, so an empty file added after signing looks the same as one that was signed: " +
      "remove them, add them to --ignore-paths if they are not part of the model, or have " +
      "the model signed with file serialization (no --shard_size)",
    { extra: empty, missing: [], mismatched: [] },
  );
}

function emptySignature(config: VerifyConfig): InputError {
  return new InputError(
    "MODEL_EMPTY",
    `The signature '${escapeName(config.signaturePath)}' lists no files: it signs an empty ` +
      "model (OMS v1.0 forbids that), so there is nothing to verify",
  );
}

function emptyModel(config: VerifyConfig, signed: number): InputError {
  const what = config.ignoreUnsignedFiles
    ? `holds none of the ${signed} resources its signature lists`
    : "is empty: it holds no file besides the signature and ignored paths";
  return new InputError(
    "MODEL_EMPTY",
    `Model '${escapeName(config.modelPath)}' ${what}; in a pod this usually means the model ` +
      "volume was not populated (check the volume source and that the download finished)",
  );
}

function mismatch(
  diff: ManifestDiff,
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
