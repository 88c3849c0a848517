/**
 * Verification of OCI images, three ways (docs/oci.md):
 *
 * 1. `verify MANIFEST.json`: the signature against the manifest's layer digests, no files;
 * 2. `verify DIR --oci-manifest MANIFEST.json`: the same, then every titled layer as the file
 *    of that name in DIR (an ORAS pull, an image volume of an artifact), whose SHA-256 must be
 *    the layer digest; the config blob and untitled layers are checked through the manifest only;
 * 3. `verify oci://REGISTRY/REPO@sha256:...`: the manifest from the registry, the signature from
 *    `--signature` or a referrer, and with `--pull DIR` every signed blob downloaded and checked.
 *
 * @module
 */

import { escapeName } from "../_escape.ts";
import { parseBundle } from "../bundle/parse_bundle.ts";
import { toSignedManifest } from "../bundle/predicate.ts";
import { parseStatement } from "../bundle/statement.ts";
import type { ParsedBundle } from "../bundle/types.ts";
import type { VerifyConfig } from "../config/config.ts";
import { IntegrityError, type ManifestDiff, ModelVerifyError } from "../errors.ts";
import { buildManifest } from "../manifest/build_manifest.ts";
import {
  computeRootDigest,
  describeDiff,
  diffManifests,
  diffNames,
  isEmptyDiff,
  type SignedManifest,
} from "../manifest/manifest.ts";
import { readSignatureFile } from "../read_files.ts";
import { buildIgnoreList } from "../tree/ignore.ts";
import { resolveModelRoot, walkModel } from "../tree/walk_model.ts";
import type { VerifiedSignature } from "../verify/types.ts";
import type { VerifyResult } from "../verify_result.ts";
import { readImageManifestFile } from "./image_manifest.ts";
import { layerEntries, type LayerEntry } from "./layer_entries.ts";
import { loadOciSource, type OciSource, type SignatureCandidate } from "./oci_source.ts";

/** Checks a bundle's signature with the configured method (from verify_model.ts). */
export type SignatureCheck = (bundle: ParsedBundle) => Promise<VerifiedSignature>;

/**
 * Verifies an OCI manifest source (file or registry), or local files against a manifest.
 *
 * @throws {ModelVerifyError} for every expected failure
 */
export async function verifyOci(
  config: VerifyConfig,
  checkSignature: SignatureCheck,
  env: Readonly<Record<string, string | undefined>>,
  now: () => number = () => performance.now(),
): Promise<VerifyResult> {
  const started = now();
  const local = config.ociManifestPath !== undefined;
  const source: OciSource = local
    ? {
      manifest: await readImageManifestFile(config.ociManifestPath!),
      modelName: "",
      display: escapeName(config.ociManifestPath!),
    }
    : await loadOciSource(config.modelPath, config.registry, env);
  const candidates = config.signaturePath
    ? [{
      where: config.signaturePath,
      bytes: await readSignatureFile(config.signaturePath),
    }]
    : await referrerCandidates(source);
  const { verified, signed, entries } = await firstValid(
    candidates,
    source,
    config,
    checkSignature,
  );
  let files = entries.length;
  let bytes = 0;
  if (local) {
    ({ files, bytes } = await verifyLocalFiles(config, entries));
  } else if (source.registry && config.registry?.pullDir) {
    const { pullVerified } = await import("./pull.ts");
    bytes = await pullVerified(source.registry, entries, config.registry.pullDir);
  }
  return {
    method: config.method,
    signer: verified.signer,
    modelPath: local ? config.modelPath : source.display,
    modelName: signed.modelName,
    rootDigest: `sha256:${computeRootDigest(signed.entries)}`,
    serialization: signed.serialization,
    resources: signed.entries.length,
    files,
    bytes,
    seconds: (now() - started) / 1000,
    warnings: verified.warnings,
  };
}

async function referrerCandidates(source: OciSource): Promise<SignatureCandidate[]> {
  if (!source.registry) return [];
  const { findReferrerSignatures } = await import("./referrers.ts");
  return await findReferrerSignatures(source.registry);
}

/** Tries each candidate signature; the first that verifies and matches the manifest wins. */
async function firstValid(
  candidates: readonly SignatureCandidate[],
  source: OciSource,
  config: VerifyConfig,
  checkSignature: SignatureCheck,
): Promise<{ verified: VerifiedSignature; signed: SignedManifest; entries: LayerEntry[] }> {
  const errors: ModelVerifyError[] = [];
  for (const candidate of candidates) {
    try {
      const bundle = parseBundle(candidate.bytes, candidate.where);
      const verified = await checkSignature(bundle);
      const signed = await toSignedManifest(parseStatement(verified.payloadType, verified.payload));
      const entries = matchManifest(signed, source, config);
      return { verified, signed, entries };
    } catch (error) {
      if (!(error instanceof ModelVerifyError) || candidates.length === 1) throw error;
      errors.push(error);
    }
  }
  if (errors.length === 0) {
    throw new IntegrityError(
      "OCI_NO_SIGNATURE",
      `No signature for ${source.display}: pass --signature, or attach one ` +
        "(sign --attach) as an OCI referrer of the image",
      { extra: [], missing: [], mismatched: [] },
    );
  }
  const first = errors[0]!;
  first.message = `None of the ${errors.length} referrer signatures of ${source.display} ` +
    `verified; the first: ${first.message}`;
  throw first;
}

/** Compares the signed resources with the manifest's layer entries. */
function matchManifest(
  signed: SignedManifest,
  source: OciSource,
  config: VerifyConfig,
): LayerEntry[] {
  const s = signed.serialization;
  if (s.method !== "files" || s.hashType !== "sha256") {
    throw new IntegrityError(
      "OCI_SIGNATURE_NOT_OF_MANIFEST",
      `The signature hashes ${s.method}/${s.hashType}; a signature of an OCI manifest lists ` +
        "layer digests (files/sha256). Verify the model's folder instead",
      { extra: [], missing: [], mismatched: [] },
    );
  }
  const entries = layerEntries(source.manifest, [
    ...(config.ignorePathsAsGiven ?? []),
    ...s.ignorePaths,
  ]);
  const diff = diffManifests(
    new Map(signed.entries.map((e) => [e.name, e.digest])),
    new Map(entries.map((e) => [e.name, e.digest])),
  );
  if (config.ignoreUnsignedFiles) diff.extra = [];
  if (!isEmptyDiff(diff)) throw mismatch(`OCI manifest ${source.display}`, diff);
  const signedNames = new Set(signed.entries.map((e) => e.name));
  return entries.filter((e) => signedNames.has(e.name));
}

/** Mode 2: titled layers as files in the model folder. */
async function verifyLocalFiles(
  config: VerifyConfig,
  entries: readonly LayerEntry[],
): Promise<{ files: number; bytes: number }> {
  const expected = new Map(
    entries.filter((e) => e.kind === "titled").map((e) => [e.name, e.digest]),
  );
  const { root } = await resolveModelRoot(config.modelPath);
  const { ignored } = buildIgnoreList({
    modelRoot: root,
    userPaths: config.ignorePaths,
    cwd: config.cwd ?? Deno.cwd(),
    internalPaths: [config.signaturePath, config.ociManifestPath!],
    recordedPaths: [],
    ignoreGitPaths: config.ignoreGitPaths,
  });
  const tree = await walkModel(config.modelPath, {
    ignored,
    allowSymlinks: config.allowSymlinks,
  });
  const files = tree.files.filter((f) => !config.ignoreUnsignedFiles || expected.has(f.name));
  const names = diffNames(expected, files.map((f) => f.name));
  if (!isEmptyDiff(names)) throw mismatch(`Model '${escapeName(config.modelPath)}'`, names);
  const built = await buildManifest(files, { method: "files", hashType: "sha256" }, {
    ...(config.maxWorkers === undefined ? {} : { maxWorkers: config.maxWorkers }),
  });
  const diff = diffManifests(expected, new Map(built.entries.map((e) => [e.name, e.digest])));
  if (!isEmptyDiff(diff)) throw mismatch(`Model '${escapeName(config.modelPath)}'`, diff);
  return { files: files.length, bytes: built.bytes };
}

function mismatch(what: string, diff: ManifestDiff): IntegrityError {
  return new IntegrityError(
    "MODEL_MODIFIED",
    `${what} does not match its signature: ${describeDiff(diff, escapeName)}`,
    diff,
  );
}
