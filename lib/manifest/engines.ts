/**
 * Hash engines by name. A resource's digest depends only on the engine and the bytes it reads,
 * so verification rebuilds the signer's engine from the signature's `hash_type`.
 *
 * @module
 */

import type { IHasher } from "hash-wasm";

/** BLAKE3 instances whose digest was taken, ready for the next file (per thread). */
const idleBlake3: IHasher[] = [];
/** node:crypto's `createHash`, once {@link prepareEngine} has loaded it. */
let createHash: typeof import("node:crypto").createHash | undefined;

/** Content hash algorithms of the OMS format (`predicate.serialization.hash_type`). */
export const HASH_ALGORITHMS = ["sha256", "blake2b", "blake3"] as const;
/** One of {@link HASH_ALGORITHMS}. */
export type HashAlgorithm = typeof HASH_ALGORITHMS[number];

/** An incremental hasher. */
export interface StreamHasher {
  update(data: Uint8Array): void;
  /** Finishes and returns the raw digest. */
  digest(): Uint8Array;
}

/** Narrows a `hash_type` value read from a signature. */
export function isHashAlgorithm(value: unknown): value is HashAlgorithm {
  return typeof value === "string" && (HASH_ALGORITHMS as readonly string[]).includes(value);
}

/**
 * Creates a hasher. SHA-256 and BLAKE2b (64-byte output, as Python's `hashlib.blake2b`) are
 * native; BLAKE3 is the WASM build of `hash-wasm`, loaded on first use.
 */
export async function createHasher(algorithm: HashAlgorithm): Promise<StreamHasher> {
  // Checked again after each await: concurrent callers in one thread (several verifications in
  // one process) may take the idle BLAKE3 instance between `prepareEngine` and here.
  while (!engineReady(algorithm)) await prepareEngine(algorithm);
  return createHasherSync(algorithm);
}

/**
 * Loads what `algorithm` needs so that {@link createHasherSync} can run: for BLAKE3, one idle
 * WASM instance in this thread (hash-wasm creates instances only asynchronously).
 */
export async function prepareEngine(algorithm: HashAlgorithm): Promise<void> {
  if (algorithm !== "blake3") {
    // Loaded on first use: `digest` of a model the workers hash needs no node:crypto on the
    // main thread, and loading it costs about 20-30 ms of CPU at start-up.
    createHash ??= (await import("node:crypto")).createHash;
    return;
  }
  if (idleBlake3.length > 0) return;
  // Loaded on first use: the WASM module is a noticeable part of start-up time otherwise.
  idleBlake3.push(await (await import("hash-wasm")).createBLAKE3());
}

/**
 * Whether {@link createHasherSync} can run for `algorithm` now: node:crypto loaded, or for BLAKE3
 * an idle instance (one is lost when a file fails between creating its hasher and taking the
 * digest). Callers check this before each job and await {@link prepareEngine} only then.
 */
export function engineReady(algorithm: HashAlgorithm): boolean {
  return algorithm === "blake3" ? idleBlake3.length > 0 : createHash !== undefined;
}

/**
 * Creates a hasher without awaiting: the per-file path of the hashing worker, where an `await`
 * per file is a measurable share of the time on models of many small files.
 *
 * @throws {Error} unless {@link engineReady} (see {@link prepareEngine}; each BLAKE3 digest taken
 * returns its instance)
 */
export function createHasherSync(algorithm: HashAlgorithm): StreamHasher {
  switch (algorithm) {
    case "sha256":
    case "blake2b": {
      if (!createHash) throw new Error(`${algorithm} not loaded: await prepareEngine() first`);
      const hash = createHash(algorithm === "sha256" ? "sha256" : "blake2b512");
      return {
        update: (data) => void hash.update(data),
        digest: () => new Uint8Array(hash.digest()),
      };
    }
    case "blake3": {
      // A WASM instance costs far more than hashing a small file: reuse finished ones.
      const hash = idleBlake3.pop();
      if (!hash) throw new Error("No idle BLAKE3 instance: await prepareEngine('blake3') first");
      hash.init();
      return {
        update: (data) => void hash.update(data),
        digest: () => {
          const digest = hash.digest("binary");
          idleBlake3.push(hash);
          return digest;
        },
      };
    }
  }
}

/** The resource `algorithm` a signer records for an engine: `sha256`, or `sha256-sharded-N`. */
export function resourceAlgorithmName(
  algorithm: HashAlgorithm,
  shardSize?: number | bigint,
): string {
  return shardSize === undefined ? algorithm : `${algorithm}-sharded-${shardSize}`;
}
