/**
 * The expectations of the peer tests: the shape of a case and, by name, every known difference
 * between model-verify, model_signing 1.1.1 and Go model-signing v0.0.3, with the outcome it
 * causes. One table for tests/peers_matrix_test.ts and tests/peers_sigstore_test.ts; the README's
 * compatibility section and docs/peers.md list the same names.
 *
 * @module
 */

/**
 * Signers and verifiers. "model_signing API" verifies through model_signing's public API, for the
 * signatures its 1.1.1 CLI cannot verify (other hashes, shards); as a signer, "model_signing" uses
 * the CLI for files/sha256 and the API otherwise (the CLI has no hash or shard flags).
 */
export type Impl = "model-verify" | "model_signing" | "model_signing API" | "go";
export type Method = "key" | "certificate" | "sigstore";
export type Hash = "sha256" | "blake2b" | "blake3";

/** One model shape and the way it is signed. */
export interface MatrixCase {
  name: string;
  files: Record<string, string | Uint8Array>;
  /** link (relative) -> target (relative to the link's folder). */
  symlinks?: Record<string, string>;
  /** The model is this one file (relative), not the folder. */
  single?: string;
  /** Paths left out, relative to the model root. */
  ignore?: string[];
  /**
   * How the ignore paths are passed: relative (the CLIs run in the model folder, so relative to the
   * working directory and to the model root alike) or absolute (default).
   */
  ignoreStyle?: "relative" | "absolute";
  allowSymlinks?: boolean;
  /** The file changed by the tamper step (relative to the folder). */
  tamper: string;
  hash: Hash;
  shard?: number;
  method: Method;
  /** Every signer must refuse this model (policy), e.g. symlinks without --allow-symlinks. */
  refuse?: boolean;
}

export type SignOutcome = "ok" | "refused" | "n/a";
export type VerifyOutcome = "pass" | "fail" | "-";

/** What happened (or is expected) for one signer -> verifier pair. */
export interface Outcome {
  sign: SignOutcome;
  verify: VerifyOutcome;
  tamper: VerifyOutcome;
}

/** A difference between implementations, recorded by name with its expected outcome. */
export interface KnownDifference {
  why: string;
  applies(c: MatrixCase, signer: Impl, verifier: Impl): boolean;
  outcome: Partial<Outcome> | ((signer: Impl, verifier: Impl) => Partial<Outcome>);
}

export const nonDefaultHashing = (c: MatrixCase) => c.hash !== "sha256" || c.shard !== undefined;

/**
 * Every known difference, by name. `mv-bug-*` are model-verify bugs being fixed elsewhere: flip them
 * (delete the entry) once the fix is merged; the matrix fails when an entry no longer happens.
 */
export const KNOWN_DIFFERENCES: Record<string, KnownDifference> = {
  "py-cli-verifies-sha256-files-only": {
    why: "the model_signing 1.1.1 CLI verifies with files/sha256 whatever the signature says " +
      "(its API reads the hashing from the signature and passes: see 'model_signing API')",
    applies: (c, _signer, verifier) => verifier === "model_signing" && nonDefaultHashing(c),
    outcome: { verify: "fail", tamper: "fail" },
  },
  "py-blake2b-unverifiable": {
    why: "model_signing 1.1.1 writes hash_type 'blake2b' but its verifier only knows 'blake2' " +
      "('Unsupported hashing method blake2b'): no blake2b signature verifies, not even its own",
    applies: (c, _signer, verifier) => verifier === "model_signing API" && c.hash === "blake2b",
    outcome: { verify: "fail", tamper: "fail" },
  },
  "py-shard-size-float": {
    why: "model_signing 1.1.1 writes shard_size as a float (1000.0) and its own verifier then " +
      "fails ('float' object cannot be interpreted as an integer); model-verify and Go accept it",
    applies: (c, signer, verifier) =>
      c.shard !== undefined && c.hash !== "blake3" && signer === "model_signing" &&
      verifier === "model_signing API",
    outcome: { verify: "fail", tamper: "fail" },
  },
  "py-mock-sigstore-bundle": {
    why: "model_signing 1.1.1 (sigstore-python 4.5.1) refuses the local mock Sigstore's bundle " +
      "('log entry signatures do not match bundle'), after the test adds the fields its parser " +
      "requires (trust config 'operator', inclusion proof 'logIndex' 0 and empty 'hashes'); a " +
      "limit of the mock, not seen against a real instance",
    applies: (c, _signer, verifier) => c.method === "sigstore" && verifier === "model_signing",
    outcome: { verify: "fail", tamper: "fail" },
  },
  "go-no-blake3": {
    why: "the Go implementation v0.0.3 supports sha256 and blake2b only",
    applies: (c, _signer, verifier) => verifier === "go" && c.hash === "blake3",
    outcome: { verify: "fail", tamper: "fail" },
  },
  "go-single-file-named-dot": {
    why: "the Go CLI names a single-file model's resource '.', the spec (section 5, rule 5) " +
      "requires the filename; model_signing refuses it (model-verify accepts both names)",
    applies: (c, signer, verifier) =>
      c.single !== undefined && signer === "go" && verifier !== "go" && verifier !== "model-verify",
    outcome: { verify: "fail", tamper: "fail" },
  },
  "go-ignore-paths-model-relative": {
    why: "the Go CLI joins every --ignore-paths value to the model root, so an absolute path (as " +
      "model_signing and model-verify accept) names a missing file and it exits with an error",
    applies: (c, signer, verifier) =>
      c.ignore !== undefined && c.ignoreStyle !== "relative" &&
      (signer === "go" || verifier === "go"),
    outcome: (signer) =>
      signer === "go"
        ? { sign: "refused", verify: "-", tamper: "-" }
        : { verify: "fail", tamper: "fail" },
  },
  "mv-shards-refuse-empty-files": {
    why: "an empty file produces no shard, so a shard signature cannot tell a signed empty file " +
      "from one added later (an __init__.py, a sitecustomize.py): model-verify refuses to sign " +
      "such a model with shards and fails closed when verifying one (OMS v1.0 conformance work; " +
      "the files can be listed in --ignore-paths, or the model signed with file serialization)",
    applies: (c, signer, verifier) =>
      c.name === "empty-files-shards" && (signer === "model-verify" || verifier === "model-verify"),
    outcome: (signer) =>
      signer === "model-verify"
        ? { sign: "refused", verify: "-", tamper: "-" }
        : { verify: "fail", tamper: "fail" },
  },
  "go-cli-signs-sha256-files-only": {
    why: "the Go CLI v0.0.3 has no flag for the hash or shards: it signs files/sha256 only",
    applies: (c, signer) => signer === "go" && nonDefaultHashing(c),
    outcome: { sign: "n/a", verify: "-", tamper: "-" },
  },
};

/** The expected outcome of a pair, and the names of the known differences that shape it. */
export function expected(c: MatrixCase, signer: Impl, verifier: Impl): {
  outcome: Outcome;
  names: string[];
} {
  let outcome: Outcome = c.refuse
    ? { sign: "refused", verify: "-", tamper: "-" }
    : { sign: "ok", verify: "pass", tamper: "fail" };
  const names: string[] = [];
  for (const [name, known] of Object.entries(KNOWN_DIFFERENCES)) {
    if (!known.applies(c, signer, verifier)) continue;
    const change = typeof known.outcome === "function"
      ? known.outcome(signer, verifier)
      : known.outcome;
    outcome = { ...outcome, ...change };
    names.push(name);
  }
  return { outcome, names };
}
