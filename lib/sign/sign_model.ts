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
import type { SignConfig } from "../config/resolve_config.ts";
import { TrustMaterialError } from "../errors.ts";
import { buildManifest } from "../manifest/build_manifest.ts";
import { computeRootDigest, type Serialization } from "../manifest/manifest.ts";
import { buildIgnoreList } from "../tree/ignore.ts";
import { resolveModelRoot, walkModel } from "../tree/walk_model.ts";
import { loadTrustAnchors } from "../verify/certificate.ts";
import type { Certificate } from "../verify/x509.ts";
import { checkSignatureTarget, writeSignature } from "./write_signature.ts";
import { describeKey, describePublicKey, type LoadedKey } from "../verify/public_key.ts";

/** What was signed. */
export interface SignResult {
  signaturePath: string;
  rootDigest: string;
  files: number;
  resources: number;
}

/**
 * Hashes the model, builds the statement, signs it and writes the bundle.
 *
 * @throws {TrustMaterialError} for an unreadable or unsupported key or certificate
 */
export async function signModel(config: SignConfig): Promise<SignResult> {
  await checkSignatureTarget(config.signaturePath);
  const privateKey = await readKey(config.privateKeyPath);
  // `sign key` also takes RSA (PKCS#1 v1.5; an RSA-PSS key signs with PSS) and Ed25519 keys;
  // certificates stay EC-only, as their verification.
  const describe = config.method === "key" ? describePublicKey : describeKey;
  const publicKey = describe(createPublicKey(privateKey), config.privateKeyPath);
  let material: BundleMaterial = { kind: "publicKey", hint: publicKey.hint };
  if (config.method === "certificate") {
    material = await certificateMaterial(config, publicKey.key);
  }
  const { root, kind } = await resolveModelRoot(config.modelPath);
  const ignored = buildIgnoreList({
    modelRoot: root,
    absolutePaths: [...config.ignorePaths, config.signaturePath],
    relativePaths: [],
    ignoreGitPaths: config.ignoreGitPaths,
  });
  const tree = await walkModel(config.modelPath, { ignored, allowSymlinks: config.allowSymlinks });
  const serialization: Serialization = {
    method: config.shardSize === undefined ? "files" : "shards",
    hashType: config.hashType,
    allowSymlinks: config.allowSymlinks,
    ignorePaths: kind === "directory" ? ignored : [],
    ...(config.shardSize === undefined ? {} : { shardSize: config.shardSize }),
  };
  const { entries } = await buildManifest(tree.files, serialization, {
    ...(config.maxWorkers === undefined ? {} : { maxWorkers: config.maxWorkers }),
  });
  const payload = buildStatement(basename(root), entries, serialization);
  const signature = signPae(pae("application/vnd.in-toto+json", payload), privateKey, publicKey);
  await writeSignature(config.signaturePath, buildBundle(payload, signature, material));
  return {
    signaturePath: config.signaturePath,
    rootDigest: `sha256:${computeRootDigest(entries)}`,
    files: tree.files.length,
    resources: entries.length,
  };
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
