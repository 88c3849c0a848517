/**
 * signModel: `sign key` and `sign certificate`, writing bundles model_signing 1.1 accepts. Used
 * by the demo and the tests, and by anyone who wants to sign without Python.
 *
 * @module
 */

import { constants, createPrivateKey, createPublicKey, type KeyObject, sign } from "node:crypto";
import { basename } from "node:path";
import { Buffer } from "node:buffer";
import { buildBundle, buildStatement, type BundleMaterial } from "../bundle/build_bundle.ts";
import { pae } from "../bundle/dsse.ts";
import type { SignConfig, SignTarget } from "../config/resolve_config.ts";
import { escapeName } from "../_escape.ts";
import { InputError, TrustMaterialError } from "../errors.ts";
import { buildManifest } from "../manifest/build_manifest.ts";
import type { HashProgress } from "../manifest/hash_jobs.ts";
import { computeRootDigest, type Serialization } from "../manifest/manifest.ts";
import { buildIgnoreList, unmatchedWarning } from "../tree/ignore.ts";
import { type ModelFile, resolveModelRoot, walkModel } from "../tree/walk_model.ts";
import { loadTrustAnchors } from "../verify/certificate.ts";
import type { Certificate } from "../verify/x509.ts";
import { checkSignatureTarget, writeSignature } from "./write_signature.ts";
import type { LoadedKey } from "../verify/key_types.ts";
import { describeKey, describePublicKey } from "../verify/node_public_key.ts";
import { requestTimestamp } from "./timestamp_request.ts";

/** What was signed. */
export interface SignResult {
  signaturePath: string;
  rootDigest: string;
  files: number;
  resources: number;
  /** One line each: ignore entries that matched nothing, options that had no effect. */
  warnings: string[];
}

/**
 * Hashes the model, builds the statement, signs it and writes the bundle.
 *
 * @throws {TrustMaterialError} for an unreadable or unsupported key or certificate
 * @throws {InputError} `MODEL_EMPTY`, `SHARDS_EMPTY_FILE`, `SHARDS_COLON_NAME`
 */
export async function signModel(config: SignConfig, hooks: HashingHooks = {}): Promise<SignResult> {
  await checkSignatureTarget(config.signaturePath);
  const signer = await loadSigner(config);
  const statement = await buildModelStatement(config, hooks);
  await writeSignature(config.signaturePath, await signer.bundle(statement.payload));
  return {
    signaturePath: config.signaturePath,
    rootDigest: statement.rootDigest,
    files: statement.files,
    resources: statement.resources,
    warnings: statement.warnings,
  };
}

/** What the statement of a model is built from: the hashing options of every `sign` method. */
export type StatementOptions = Omit<SignTarget, "quiet" | "registry">;

/** Hashing progress callbacks (lib/report/progress.ts `progressHooks`). */
export interface HashingHooks {
  onHashingStart?: () => void;
  onProgress?: (progress: HashProgress) => void;
}

/** A model's in-toto statement, ready to be signed. */
export interface ModelStatement {
  /** The DSSE payload: the statement JSON bytes. */
  payload: Uint8Array;
  rootDigest: string;
  files: number;
  resources: number;
  /** One line each: ignore entries that matched nothing, options that had no effect. */
  warnings: string[];
}

/**
 * Hashes the model (the signature file and ignored paths left out) and builds the in-toto
 * statement every `sign` method signs.
 *
 * @throws {InputError} `MODEL_EMPTY`, `SHARDS_EMPTY_FILE`, `SHARDS_COLON_NAME`
 */
export async function buildModelStatement(
  config: StatementOptions,
  hooks: HashingHooks = {},
): Promise<ModelStatement> {
  const { root, kind } = await resolveModelRoot(config.modelPath);
  const list = buildIgnoreList({
    modelRoot: root,
    userPaths: kind === "directory" ? config.ignorePaths : [],
    cwd: config.cwd ?? Deno.cwd(),
    internalPaths: [config.signaturePath],
    recordedPaths: [],
    ignoreGitPaths: config.ignoreGitPaths,
  });
  const warnings: string[] = [];
  const unmatched = unmatchedWarning(list.unmatched);
  if (unmatched) warnings.push(unmatched);
  const ignored = list.ignored;
  const tree = await walkModel(config.modelPath, { ignored, allowSymlinks: config.allowSymlinks });
  if (tree.files.length === 0) throw emptyModel(config.modelPath);
  const serialization = chooseSerialization(config, kind === "directory" ? ignored : [], warnings);
  if (serialization.method === "shards") refuseUnshardable(tree.files);
  hooks.onHashingStart?.();
  const { entries } = await buildManifest(tree.files, serialization, {
    ...(config.maxWorkers === undefined ? {} : { maxWorkers: config.maxWorkers }),
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
  });
  return {
    payload: buildStatement(basename(root), entries, serialization),
    rootDigest: `sha256:${computeRootDigest(entries)}`,
    files: tree.files.length,
    resources: entries.length,
    warnings,
  };
}

/** A loaded signing key: turns a statement into the bundle text. */
export interface Signer {
  bundle(payload: Uint8Array): Promise<string>;
}

/**
 * Loads the private key (and certificates) of `sign key|certificate`.
 *
 * @throws {TrustMaterialError} for an unreadable or unsupported key or certificate
 */
export async function loadSigner(config: SignConfig): Promise<Signer> {
  const privateKey = await readKey(config.privateKeyPath);
  // `sign key` also takes RSA (PKCS#1 v1.5; an RSA-PSS key signs with PSS) and Ed25519 keys;
  // certificates stay EC-only, as their verification.
  const describe = config.method === "key" ? describePublicKey : describeKey;
  const publicKey = describe(createPublicKey(privateKey), config.privateKeyPath);
  let material: BundleMaterial = { kind: "publicKey", hint: publicKey.hint };
  if (config.method === "certificate") {
    material = await certificateMaterial(config, publicKey.key);
  }
  return {
    async bundle(payload) {
      const signature = signPae(
        pae("application/vnd.in-toto+json", payload),
        privateKey,
        publicKey,
      );
      // `--tsa-url`: an RFC 3161 timestamp over the signature, as the Go implementation adds.
      const timestamps = config.tsaUrl === undefined
        ? []
        : [await requestTimestamp(config.tsaUrl, signature)];
      return buildBundle(payload, signature, material, timestamps);
    },
  };
}

/**
 * Files or shards, as model_signing chooses: BLAKE3 is always signed with file serialization
 * (model_signing 1.1 hashes BLAKE3 whole files even when asked for shards, and its verifier
 * would then reject a BLAKE3 shard signature).
 */
function chooseSerialization(
  config: Pick<SignConfig, "hashType" | "allowSymlinks" | "shardSize">,
  ignorePaths: string[],
  warnings: string[],
): Serialization {
  const base = { hashType: config.hashType, allowSymlinks: config.allowSymlinks, ignorePaths };
  if (config.shardSize === undefined) return { method: "files", ...base };
  if (config.hashType === "blake3") {
    warnings.push(
      "--shard_size has no effect with --hash_type blake3: BLAKE3 signs whole files, as " +
        "model_signing does",
    );
    return { method: "files", ...base };
  }
  return { method: "shards", ...base, shardSize: config.shardSize };
}

/**
 * Refuses a shard signature nobody could verify strictly: empty files produce no shard (OMS v1.0
 * 6.3.2), so a verifier cannot tell them from files added later (model-verify refuses such a
 * signature); and model_signing 1.1 splits shard names on every ':' and rejects a signature
 * naming a file with a colon (OMS v1.0 reads the last two fields; model-verify accepts it).
 */
function refuseUnshardable(files: readonly ModelFile[]): void {
  const colons = files.filter((file) => file.name.includes(":")).map((f) => escapeName(f.name));
  if (colons.length > 0) {
    throw new InputError(
      "SHARDS_COLON_NAME",
      `Cannot sign with --shard_size: file names with ':' (${colons.join(", ")}) make shard ` +
        "names model_signing 1.1 cannot parse, so it would reject the signature; sign without " +
        "--shard_size (file serialization), or rename the files",
    );
  }
  const empty = files.filter((file) => file.size === 0).map((file) => escapeName(file.name));
  if (empty.length === 0) return;
  throw new InputError(
    "SHARDS_EMPTY_FILE",
    `Cannot sign with --shard_size: the model holds empty files (${empty.join(", ")}), which ` +
      "a shard signature cannot list, so nobody could verify that no empty file was added " +
      "later; sign without --shard_size (file serialization), remove them, or add them to " +
      "--ignore-paths",
  );
}

function emptyModel(modelPath: string): InputError {
  return new InputError(
    "MODEL_EMPTY",
    `Cannot sign '${escapeName(modelPath)}': the model holds no regular file after exclusions ` +
      "(ignored paths, git paths, the signature); OMS v1.0 forbids signing an empty model",
  );
}

/** Signs with the key's scheme: ECDSA with the curve's hash, RSA with SHA-256, Ed25519 pure. */
function signPae(data: Uint8Array, privateKey: KeyObject, publicKey: LoadedKey): Uint8Array {
  switch (publicKey.schemes[0]) {
    case "ed25519":
      return sign(null, data, privateKey);
    case "rsa-pss":
      return sign(publicKey.hash, data, {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
    default:
      return sign(publicKey.hash, data, privateKey);
  }
}

async function readKey(path: string): Promise<KeyObject> {
  try {
    return createPrivateKey(await Deno.readTextFile(path));
  } catch (error) {
    throw new TrustMaterialError(
      "KEY_INVALID",
      `Cannot read private key '${path}': ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
}

async function certificateMaterial(
  config: SignConfig,
  publicKey: KeyObject,
): Promise<BundleMaterial> {
  const leaf = await readCertificates(config.signingCertificatePath!);
  const leafKey = createPublicKey({ key: Buffer.from(leaf[0]!.spki), format: "der", type: "spki" });
  if (!leafKey.equals(publicKey)) {
    throw new TrustMaterialError(
      "KEY_MISMATCH",
      `The certificate '${config.signingCertificatePath}' does not match the private key ` +
        `'${config.privateKeyPath}'`,
    );
  }
  const chain = [];
  for (const path of config.certificateChainPaths) chain.push(...await readCertificates(path));
  return {
    kind: "x509CertificateChain",
    certificates: [leaf[0]!, ...chain].map((c) => c.der),
  };
}

async function readCertificates(path: string): Promise<Certificate[]> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (error) {
    throw new TrustMaterialError(
      "TRUST_FILE_UNREADABLE",
      `Cannot read certificate file '${path}': ${error instanceof Error ? error.message : error}`,
      { cause: error },
    );
  }
  return loadTrustAnchors(bytes, path).map((anchor) => anchor.certificate);
}
