/**
 * The `verify-bundle` command of the sigstore-conformance client protocol
 * (sigstore-conformance `docs/cli_protocol.md`):
 *
 * ```
 * verify-bundle [--staging] --bundle FILE --certificate-identity IDENTITY
 *   --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST
 * verify-bundle [--staging] --bundle FILE --key PATH_TO_KEY [--trusted-root FILE] FILE_OR_DIGEST
 * ```
 *
 * FILE_OR_DIGEST is a digest when it is `sha256:` + 64 hex digits and no such file exists. For a
 * message signature it is the signed artifact; for a DSSE envelope with an in-toto statement it
 * is one of the statement's subjects.
 *
 * @module
 */

import nodeCrypto from "node:crypto";
import type { Bundle } from "@sigstore/bundle";
import type { TrustMaterial } from "@sigstore/verify";
import { quoteValue } from "../_escape.ts";
import { decodeUtf8, scanJson } from "../bundle/json_limits.ts";
import { BUNDLE_JSON_LIMITS, PAYLOAD_JSON_LIMITS } from "../bundle/parse_bundle.ts";
import { readSignatureFile } from "../read_files.ts";
import {
  ConfigError,
  InputError,
  ModelVerifyError,
  SignatureError,
  TrustMaterialError,
} from "../errors.ts";
import { hexToBytes } from "../manifest/manifest.ts";
import { loadTrustedRoot } from "../trust/trusted_root.ts";
import { checkIdentityPolicy } from "../verify/policy.ts";
import {
  parseSigstoreBundle,
  type SigstoreCheckResult,
  verifySigstoreBundle,
} from "../verify/sigstore.ts";

/** Parsed `verify-bundle` arguments. */
export interface VerifyBundleArgs {
  staging: boolean;
  bundlePath: string;
  identity?: string;
  issuer?: string;
  keyPath?: string;
  trustedRootPath?: string;
  fileOrDigest: string;
}

/** Process surroundings; all optional. */
export interface VerifyBundleEnv {
  /** For the TUF cache directory fallbacks. */
  env?: Record<string, string | undefined>;
  /** TUF cache directory. */
  tufCacheDir?: string;
}

const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
const VALUE_FLAGS = [
  "--bundle",
  "--certificate-identity",
  "--certificate-oidc-issuer",
  "--key",
  "--trusted-root",
] as const;
const USAGE = "usage: verify-bundle [--staging] --bundle FILE (--certificate-identity IDENTITY " +
  "--certificate-oidc-issuer URL | --key PATH_TO_KEY) [--trusted-root FILE] FILE_OR_DIGEST";

/**
 * Parses `verify-bundle` arguments (after the command name).
 *
 * @throws {ConfigError} `CONFORMANCE_USAGE` for unknown, missing or conflicting arguments
 */
export function parseVerifyBundleArgs(argv: readonly string[]): VerifyBundleArgs {
  const values = new Map<string, string>();
  const positionals: string[] = [];
  let staging = false;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--staging") {
      staging = true;
      continue;
    }
    if (token === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      const name = eq === -1 ? token : token.slice(0, eq);
      if (!(VALUE_FLAGS as readonly string[]).includes(name)) usage(`unknown option '${name}'`);
      if (values.has(name)) usage(`${name} given twice`);
      const value = eq === -1 ? argv[++i] : token.slice(eq + 1);
      if (value === undefined || value === "") usage(`${name} needs a value`);
      values.set(name, value);
      continue;
    }
    positionals.push(token);
  }
  if (positionals.length !== 1) {
    usage(`expected one FILE_OR_DIGEST, got ${positionals.length}`);
  }
  const bundlePath = values.get("--bundle");
  if (bundlePath === undefined) usage("--bundle is required");
  const args: VerifyBundleArgs = { staging, bundlePath, fileOrDigest: positionals[0]! };
  const keyPath = values.get("--key");
  const identity = values.get("--certificate-identity");
  const issuer = values.get("--certificate-oidc-issuer");
  if (keyPath !== undefined) {
    if (identity !== undefined || issuer !== undefined) {
      usage("--key cannot be combined with --certificate-identity or --certificate-oidc-issuer");
    }
    args.keyPath = keyPath;
  } else {
    if (identity === undefined || issuer === undefined) {
      usage("--certificate-identity and --certificate-oidc-issuer are required without --key");
    }
    args.identity = identity;
    args.issuer = issuer;
  }
  const trustedRootPath = values.get("--trusted-root");
  if (trustedRootPath !== undefined) args.trustedRootPath = trustedRootPath;
  return args;
}

/**
 * Runs `verify-bundle`.
 *
 * @param argv the arguments after `verify-bundle`
 * @param surroundings environment for the TUF cache
 * @returns a one-line success message
 * @throws {ConfigError} bad arguments
 * @throws {InputError} unreadable or malformed bundle or artifact, artifact not the one signed
 * @throws {TrustMaterialError} unreadable key or trusted root, TUF failure
 * @throws {SignatureError} a cryptographic check failed
 * @throws {PolicyError} identity or issuer mismatch
 */
export async function runVerifyBundle(
  argv: readonly string[],
  surroundings: VerifyBundleEnv = {},
): Promise<string> {
  try {
    return await verifyBundleCommand(argv, surroundings);
  } catch (error) {
    if (error instanceof ModelVerifyError) error.message = inVerifyBundleTerms(error.message);
    throw error;
  }
}

/**
 * Rewrites the option names of shared messages (trust loading speaks `verify`'s options) into
 * the ones `verify-bundle` accepts: `--trusted-root` for `--trust-config`, `--staging` for
 * `--use-staging`; `--offline` has no twin here, so its advice becomes `--trusted-root`.
 */
export function inVerifyBundleTerms(message: string): string {
  return message
    .replace(
      /Without network access use --offline[^]*$/,
      "Without network access pass --trusted-root FILE (a trusted_root.json)",
    )
    .replace(/--trust[-_]config/g, "--trusted-root")
    .replace(/--use[-_]staging/g, "--staging");
}

async function verifyBundleCommand(
  argv: readonly string[],
  surroundings: VerifyBundleEnv,
): Promise<string> {
  const args = parseVerifyBundleArgs(argv);
  const bundle = parseSigstoreBundle(await readJson(args.bundlePath), args.bundlePath);
  const trust = await loadTrustedRoot({
    useStaging: args.staging,
    offline: false,
    ...(args.trustedRootPath !== undefined ? { trustConfigPath: args.trustedRootPath } : {}),
    ...(surroundings.env !== undefined ? { env: surroundings.env } : {}),
    ...(surroundings.tufCacheDir !== undefined ? { tufCacheDir: surroundings.tufCacheDir } : {}),
  });
  const material = bundle.verificationMaterial.content.$case;
  let trustMaterial: TrustMaterial = trust.trustMaterial;
  if (args.keyPath !== undefined) {
    if (material !== "publicKey") {
      throw new InputError(
        "BUNDLE_NOT_KEY_SIGNED",
        `Bundle '${args.bundlePath}' carries a certificate, but --key was given`,
      );
    }
    const publicKey = await readPublicKey(args.keyPath);
    trustMaterial = { ...trustMaterial, publicKey: () => ({ publicKey, validFor: () => true }) };
  } else if (material === "publicKey") {
    throw new InputError(
      "BUNDLE_WITHOUT_CERTIFICATE",
      `Bundle '${args.bundlePath}' is signed with a key; verify it with --key`,
    );
  }
  const artifact = await resolveArtifact(args.fileOrDigest);
  const content = bundle.content;
  let checked: SigstoreCheckResult;
  if (content.$case === "messageSignature") {
    checked = verifySigstoreBundle(bundle, trustMaterial, {
      source: args.bundlePath,
      ...(artifact.bytes === undefined
        ? { artifactDigest: hexToBytes(artifact.sha256) }
        : { artifact: artifact.bytes }),
    });
  } else {
    checked = verifySigstoreBundle(bundle, trustMaterial, { source: args.bundlePath });
    checkSubject(bundle, artifact.sha256, args.bundlePath);
  }
  if (args.keyPath !== undefined) return `OK: ${args.bundlePath} verified with key ${args.keyPath}`;
  if (!checked.certificate) {
    throw new InputError("BUNDLE_WITHOUT_CERTIFICATE", `Bundle '${args.bundlePath}' has no cert`);
  }
  const matched = checkIdentityPolicy(checked.certificate, {
    identity: args.identity!,
    issuer: args.issuer!,
  });
  return `OK: ${args.bundlePath} verified for ${matched.identity} (issuer ${matched.issuer})`;
}

function usage(reason: string): never {
  throw new ConfigError("CONFORMANCE_USAGE", `verify-bundle: ${reason}; ${USAGE}`);
}

async function readJson(path: string): Promise<unknown> {
  let bytes: Uint8Array;
  try {
    bytes = await readSignatureFile(path); // 64 MiB cap, FIFO-safe
  } catch (error) {
    throw new InputError("BUNDLE_UNREADABLE", `Cannot read bundle '${path}': ${messageOf(error)}`, {
      cause: error,
    });
  }
  try {
    if (scanJson(bytes, BUNDLE_JSON_LIMITS).exceeded) {
      throw new SyntaxError(
        `nests deeper than ${BUNDLE_JSON_LIMITS.maxDepth} levels or holds more than ` +
          `${BUNDLE_JSON_LIMITS.maxValues} values`,
      );
    }
    return JSON.parse(decodeUtf8(bytes));
  } catch (error) {
    throw new InputError(
      "SIGSTORE_BUNDLE_INVALID",
      `Bundle '${path}' is not valid JSON (${messageOf(error)})`,
      { cause: error },
    );
  }
}

async function readPublicKey(path: string): Promise<nodeCrypto.KeyObject> {
  try {
    return nodeCrypto.createPublicKey(await Deno.readTextFile(path));
  } catch (error) {
    throw new TrustMaterialError(
      "KEY_UNREADABLE",
      `Cannot read a PEM public key from '${path}' (--key): ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/** The artifact as bytes (from a file) or only its SHA-256 (from `sha256:HEX`). */
async function resolveArtifact(
  fileOrDigest: string,
): Promise<{ bytes?: Uint8Array; sha256: string }> {
  const match = /^sha256:([0-9a-fA-F]{64})$/.exec(fileOrDigest);
  if (match && !(await exists(fileOrDigest))) return { sha256: match[1]!.toLowerCase() };
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(fileOrDigest);
  } catch (error) {
    throw new InputError(
      "ARTIFACT_UNREADABLE",
      `Cannot read artifact '${fileOrDigest}': ${messageOf(error)}`,
      { cause: error },
    );
  }
  return { bytes, sha256: nodeCrypto.createHash("sha256").update(bytes).digest("hex") };
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** For an in-toto statement, the artifact must be one of its subjects (by SHA-256). */
function checkSubject(bundle: Bundle, sha256: string, source: string): void {
  if (bundle.content.$case !== "dsseEnvelope") return;
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new InputError(
      "DSSE_NOT_IN_TOTO",
      `Bundle '${source}' has DSSE payload type ${quoteValue(envelope.payloadType)}; expected ` +
        `'${IN_TOTO_PAYLOAD_TYPE}' to match the artifact against its subjects`,
    );
  }
  let subjects: unknown;
  try {
    const payload = new Uint8Array(envelope.payload);
    if (scanJson(payload, PAYLOAD_JSON_LIMITS).exceeded) throw new SyntaxError("too complex");
    subjects = (JSON.parse(decodeUtf8(payload)) as { subject?: unknown }).subject;
  } catch (error) {
    throw new InputError(
      "IN_TOTO_MALFORMED",
      `The in-toto statement in '${source}' is not JSON`,
      {
        cause: error,
      },
    );
  }
  const digests = Array.isArray(subjects)
    ? subjects.map((s) => (s as { digest?: { sha256?: unknown } } | null)?.digest?.sha256)
    : [];
  if (!digests.some((d) => typeof d === "string" && d.toLowerCase() === sha256)) {
    throw new SignatureError(
      "ARTIFACT_NOT_A_SUBJECT",
      `The artifact (sha256:${sha256}) is not a subject of the in-toto statement in '${source}'`,
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
