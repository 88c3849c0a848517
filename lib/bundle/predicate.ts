/**
 * Turns a statement's predicate into the {@link SignedManifest} it describes, for both the OMS
 * v1.0 predicate and model_signing 0.2's `Digests/v0.1`.
 *
 * @module
 */

import { quoteValue } from "../_escape.ts";
import { InputError } from "../errors.ts";
import { isHashAlgorithm, resourceAlgorithmName } from "../manifest/engines.ts";
import type { ManifestEntry, Serialization, SignedManifest } from "../manifest/manifest.ts";
import { splitShard } from "../manifest/resource_order.ts";
import { rootDigestOf } from "../manifest/root_digest.ts";
import { isObject, PREDICATE_TYPE_LEGACY, type Statement } from "./statement.ts";

/**
 * Builds the signed manifest and checks it is self-consistent: known serialization, valid and
 * unique resource names, hex digests of the engine's length, and the root digest.
 *
 * @throws {InputError} `PAYLOAD_INVALID` naming the offending field
 */
export async function toSignedManifest(statement: Statement): Promise<SignedManifest> {
  return statement.predicateType === PREDICATE_TYPE_LEGACY
    ? fromLegacy(statement)
    : await fromV1(statement);
}

async function fromV1(statement: Statement): Promise<SignedManifest> {
  if (statement.subjects.length !== 1) {
    throw invalid(`expected one subject, found ${statement.subjects.length}`);
  }
  const subject = statement.subjects[0]!;
  const rootDigest = subject.digest.sha256;
  if (rootDigest === undefined || !isHex(rootDigest, 32)) {
    throw invalid("subject digest needs a sha256 value of 64 hex digits");
  }
  const serialization = parseSerialization(statement.predicate.serialization);
  const resources = statement.predicate.resources;
  if (!Array.isArray(resources)) throw invalid("predicate.resources is not a list");
  const algorithm = resourceAlgorithmName(
    serialization.hashType,
    serialization.shardSizeExact ?? serialization.shardSize,
  );
  const size = serialization.hashType === "blake2b" ? 64 : 32;
  const entries = resources.map((r: unknown, i: number): ManifestEntry => {
    const where = `predicate.resources[${i}]`;
    if (!isObject(r)) throw invalid(`${where} is not an object`);
    if (typeof r.name !== "string") throw invalid(`${where}.name is missing`);
    if (r.algorithm !== algorithm) {
      throw invalid(
        `${where}.algorithm is ${quoteValue(r.algorithm)}, but the serialization implies ` +
          `'${algorithm}'`,
      );
    }
    if (typeof r.digest !== "string" || !isHex(r.digest, size)) {
      throw invalid(`${where}.digest is not ${size * 2} hex digits`);
    }
    checkResourceName(r.name, serialization, where);
    return { name: r.name, digest: r.digest.toLowerCase() };
  });
  rejectDuplicates(entries);
  // WebCrypto, not computeRootDigest: `verify` then loads no node:crypto on the main thread.
  const actualRoot = await rootDigestOf(entries);
  if (actualRoot !== rootDigest.toLowerCase()) {
    throw invalid(
      `manifest is inconsistent: the subject digest is ${rootDigest}, but the resources hash ` +
        `to ${actualRoot}`,
    );
  }
  return {
    modelName: subject.name,
    rootDigest: actualRoot,
    serialization,
    entries,
    legacy: false,
  };
}

function fromLegacy(statement: Statement): SignedManifest {
  const serialization: Serialization = {
    method: "files",
    hashType: "sha256",
    allowSymlinks: false,
    ignorePaths: [],
  };
  const entries = statement.subjects.map((s, i): ManifestEntry => {
    const digest = s.digest.sha256;
    if (digest === undefined || !isHex(digest, 32)) {
      throw invalid(`subject[${i}].digest.sha256 is not 64 hex digits`);
    }
    checkResourceName(s.name, serialization, `subject[${i}].name`);
    return { name: s.name, digest: digest.toLowerCase() };
  });
  rejectDuplicates(entries);
  return { modelName: "", rootDigest: null, serialization, entries, legacy: true };
}

function parseSerialization(value: unknown): Serialization {
  if (!isObject(value)) throw invalid("predicate.serialization is missing");
  const { method, hash_type: hashType, allow_symlinks: allowSymlinks } = value;
  if (method !== "files" && method !== "shards") {
    throw invalid(`unknown serialization method ${quoteValue(method)}`);
  }
  if (!isHashAlgorithm(hashType)) {
    throw invalid(`unsupported hash_type ${quoteValue(hashType)} (sha256, blake2b, blake3)`);
  }
  if (typeof allowSymlinks !== "boolean") {
    throw invalid("predicate.serialization.allow_symlinks is not a boolean");
  }
  const ignore = value.ignore_paths ?? [];
  if (!Array.isArray(ignore) || !ignore.every((p) => typeof p === "string")) {
    throw invalid("predicate.serialization.ignore_paths is not a list of strings");
  }
  const serialization: Serialization = {
    method,
    hashType,
    allowSymlinks,
    ignorePaths: ignore as string[],
  };
  if (method === "shards") {
    const size = value.shard_size;
    // Beyond 2^53 the statement parser hands the exact value as a bigint (`statement.ts`).
    const exact = typeof size === "bigint"
      ? size
      : typeof size === "number" && Number.isSafeInteger(size)
      ? BigInt(size)
      : undefined;
    if (exact === undefined || exact <= 0n) {
      throw invalid("predicate.serialization.shard_size is not a positive integer");
    }
    // Every file is smaller than 2^53 bytes, so a larger shard size plans exactly like any
    // other value at least that large: one shard per file.
    serialization.shardSize = Number(exact);
    if (!Number.isSafeInteger(serialization.shardSize)) serialization.shardSizeExact = exact;
  }
  return serialization;
}

/**
 * A resource name must be a relative POSIX path inside the model (`.` for a single-file model),
 * and for shards `path:start:end` with `0 <= start < end`, `start` a multiple of the shard size.
 * A backslash is an ordinary character of a POSIX name, as for model_signing and for `sign`
 * (SECURITY.md "Model semantics"); the path may hold colons and line breaks too.
 */
export function checkResourceName(name: string, serialization: Serialization, where: string) {
  let path = name;
  if (serialization.method === "shards") {
    const parts = splitShard(name);
    if (!parts) throw invalid(`${where} ${quoteValue(name)} is not 'path:start:end'`);
    const start = BigInt(parts[1]);
    const end = BigInt(parts[2]);
    const shard = serialization.shardSizeExact ?? BigInt(serialization.shardSize!);
    if (!(start < end) || start % shard !== 0n || end - start > shard) {
      throw invalid(`${where} ${quoteValue(name)} is not a valid shard of size ${shard}`);
    }
    path = parts[0];
  }
  if (path === ".") return;
  const problem = path === ""
    ? "is empty"
    : path.startsWith("/")
    ? "is absolute"
    : path.includes("\0")
    ? "contains a NUL byte"
    : path.split("/").some((c) => c === "" || c === "." || c === "..")
    ? "has an empty, '.' or '..' component"
    : undefined;
  if (problem) throw invalid(`${where} ${quoteValue(name)} ${problem}`);
}

function rejectDuplicates(entries: readonly ManifestEntry[]): void {
  const seen = new Set<string>();
  for (const { name } of entries) {
    if (seen.has(name)) throw invalid(`resource ${quoteValue(name)} is listed twice`);
    seen.add(name);
  }
}

function isHex(value: string, bytes: number): boolean {
  return value.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(value);
}

function invalid(reason: string): InputError {
  return new InputError("PAYLOAD_INVALID", `Signature payload is not a model signature: ${reason}`);
}
