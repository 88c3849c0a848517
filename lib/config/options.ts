/**
 * The one table of command-line options and their `MODEL_SIGNING_*` environment twins. The
 * parser, the help text, the README table test and the docs all read it.
 *
 * @module
 */

/** Where an option is accepted. */
export type Scope =
  | "sigstore"
  | "key"
  | "certificate"
  | "digest"
  | "sign-key"
  | "sign-certificate"
  | "sign-sigstore"
  | "agent";

/** How an option takes its value. */
export type OptionKind = "string" | "list" | "boolean";

/** One option. */
export interface OptionSpec {
  /** Canonical name with dashes; underscores are accepted too (`--public_key`). */
  name: string;
  kind: OptionKind;
  /** Environment variable; empty when the option has no env twin. */
  env: string;
  scopes: readonly Scope[];
  /** Boolean options that also take a `--no-` form. */
  negatable?: boolean;
  /** One line for help and docs. */
  help: string;
  /** Placeholder for the value in help. */
  metavar?: string;
}

const VERIFY: readonly Scope[] = ["sigstore", "key", "certificate"];
const HASHING: readonly Scope[] = [
  ...VERIFY,
  "digest",
  "sign-key",
  "sign-certificate",
  "sign-sigstore",
];
const SIGN: readonly Scope[] = ["sign-key", "sign-certificate"];
/** `sign` with every method, for options that shape the statement. */
const SIGN_ALL: readonly Scope[] = [...SIGN, "sign-sigstore"];
const ALL: readonly Scope[] = HASHING;

function envName(name: string): string {
  return "MODEL_SIGNING_" + name.toUpperCase().replaceAll("-", "_");
}

function spec(
  name: string,
  kind: OptionKind,
  scopes: readonly Scope[],
  help: string,
  extra: Partial<OptionSpec> = {},
): OptionSpec {
  return { name, kind, env: envName(name), scopes, help, ...extra };
}

/** Every option, in help order. */
export const OPTIONS: readonly OptionSpec[] = [
  spec("signature", "string", [...VERIFY, ...SIGN_ALL], "Signature file (Sigstore bundle JSON).", {
    metavar: "PATH",
  }),
  spec("public-key", "string", ["key"], "Public key (PEM or JWK) of the key method.", {
    metavar: "PEM",
  }),
  spec(
    "certificate-chain",
    "list",
    ["certificate", "sign-certificate"],
    "PEM file of trusted CA certificates (certificate method); repeatable, env comma-separated.",
    { metavar: "PEM" },
  ),
  spec("identity", "string", ["sigstore"], "Expected signer identity (exact match).", {
    metavar: "ID",
  }),
  spec("identity-provider", "string", ["sigstore"], "Expected OIDC issuer (exact match).", {
    metavar: "URL",
  }),
  spec("use-staging", "boolean", ["sigstore", "sign-sigstore"], "Use Sigstore's staging instance."),
  spec(
    "trust-config",
    "string",
    ["sigstore", "sign-sigstore"],
    "Sigstore ClientTrustConfig or trusted_root.json (private or air-gapped instances).",
    { metavar: "PATH" },
  ),
  spec("offline", "boolean", ["sigstore"], "Use the embedded production trusted root; no network."),
  spec("tuf-cache", "string", ["sigstore", "sign-sigstore"], "Directory for cached TUF metadata.", {
    metavar: "DIR",
  }),
  spec(
    "ignore-paths",
    "list",
    HASHING,
    "Exact path to leave out, relative to the model (or absolute inside it); repeatable, env comma-separated.",
    { metavar: "PATH" },
  ),
  spec(
    "ignore-git-paths",
    "boolean",
    HASHING,
    "Leave out .git/, .gitattributes, .github/, .gitignore (default on).",
    { negatable: true },
  ),
  spec(
    "ignore-unsigned-files",
    "boolean",
    VERIFY,
    "Hash only the files the signature lists; others are not extra.",
    { negatable: true },
  ),
  spec(
    "allow-symlinks",
    "boolean",
    HASHING,
    "Follow symbolic links to files (sign; verify of 0.2 signatures: newer ones record it).",
    {
      negatable: true,
    },
  ),
  spec(
    "log-fingerprints",
    "boolean",
    ["certificate"],
    "Accepted for compatibility with model_signing; no effect.",
  ),
  spec("max-workers", "string", ALL, "Upper bound on parallel hashing workers.", { metavar: "N" }),
  spec("quiet", "boolean", ALL, "Hide progress output."),
  spec("log-level", "string", ALL, "DEBUG, INFO, WARNING, ERROR or CRITICAL (default INFO).", {
    metavar: "LEVEL",
  }),
  spec("log-format", "string", ALL, "text (default) or json: one JSON object per line.", {
    metavar: "FORMAT",
  }),
  spec("private-key", "string", SIGN, "Private key (PEM) to sign with.", {
    metavar: "PEM",
    env: "",
  }),
  spec("signing-certificate", "string", ["sign-certificate"], "Certificate of the signing key.", {
    metavar: "PEM",
    env: "",
  }),
  spec("hash-type", "string", SIGN_ALL, "sha256 (default), blake2b or blake3.", { metavar: "ALG" }),
  spec("shard-size", "string", SIGN_ALL, "Hash shards of this many bytes instead of whole files.", {
    metavar: "BYTES",
  }),
  // OCI images (lib/oci/, docs/oci.md).
  spec(
    "oci-manifest",
    "string",
    VERIFY,
    "OCI image manifest the signature was made from; check the model's files by layer title.",
    { metavar: "JSON" },
  ),
  spec(
    "pull",
    "string",
    ["sigstore", "key", "certificate"],
    "oci:// model: download it into DIR once verified.",
    {
      metavar: "DIR",
    },
  ),
  spec("attach", "boolean", SIGN_ALL, "oci:// model: push the signature as an OCI 1.1 referrer."),
  spec(
    "insecure-registry",
    "boolean",
    [...VERIFY, ...SIGN_ALL],
    "Plain HTTP to a registry on a loopback address (tests only).",
  ),
  spec(
    "registry-timeout",
    "string",
    [...VERIFY, ...SIGN_ALL],
    "Seconds to wait for each registry response or body chunk (default 30); whole bodies get " +
      "the same, a --pull blob 1 s more per 256 KiB (docs/oci.md).",
    { metavar: "SECONDS" },
  ),
  // RFC 3161 timestamps on key and certificate signatures (lib/sign/timestamp_request.ts).
  spec(
    "tsa-url",
    "string",
    SIGN,
    "RFC 3161 timestamp authority to countersign the signature (full URL).",
    { metavar: "URL" },
  ),
  spec(
    "tsa-certificate-chain",
    "list",
    ["key", "certificate"],
    "PEM chain of a trusted timestamp authority (its certificate first); timestamps must verify.",
    { metavar: "PEM" },
  ),
  // keyless signing (`sign [sigstore]`, lib/sign/sigstore_sign.ts, docs/sigstore.md).
  spec(
    "identity-token",
    "string",
    ["sign-sigstore"],
    "OIDC identity token to sign with (also SIGSTORE_ID_TOKEN); skips every other source.",
    { metavar: "TOKEN" },
  ),
  spec(
    "identity-token-file",
    "string",
    ["sign-sigstore"],
    "File holding the OIDC identity token (a projected Kubernetes service-account token).",
    { metavar: "PATH" },
  ),
  spec(
    "use-ambient-credentials",
    "boolean",
    ["sign-sigstore"],
    "Take the identity token from CI: GitHub Actions, SIGSTORE_ID_TOKEN, Kubernetes token file.",
    { negatable: true },
  ),
  spec(
    "oauth-force-oob",
    "boolean",
    ["sign-sigstore"],
    "Interactive OAuth without a browser or loopback listener: print the URL, read the code.",
  ),
  spec("client-id", "string", ["sign-sigstore"], "OIDC client id (default sigstore).", {
    metavar: "ID",
  }),
  spec("client-secret", "string", ["sign-sigstore"], "OIDC client secret (default none).", {
    metavar: "SECRET",
  }),
  // validation-agent flags: given before `verify` (see lib/agent/agent_options.ts, docs/agent.md).
  spec(
    "interval",
    "string",
    ["agent"],
    "Keep verifying every DURATION (5m, 1h30m; at least 1m); 0 or unset: verify once and exit.",
    { metavar: "DURATION" },
  ),
  spec("health-port", "string", ["agent"], "Port of /healthz and /ready (default 8080).", {
    metavar: "PORT",
  }),
  spec("health-address", "string", ["agent"], "Address of the health server (default: all).", {
    metavar: "ADDR",
  }),
  spec("skip-initial", "boolean", ["agent"], "Start ready; an init container already verified."),
  spec("watch", "boolean", ["agent"], "Also re-verify soon after files under the model change."),
  spec("sticky-ready", "boolean", ["agent"], "Stay ready when a later verification fails."),
  spec(
    "full-rehash-every",
    "string",
    ["agent"],
    "Re-hash every file every N rounds; in between only files whose identity changed (12).",
    { metavar: "N" },
  ),
];

/** Environment variables that are not options. */
export const EXTRA_ENV = {
  method: "MODEL_SIGNING_METHOD",
  modelPath: "MODEL_SIGNING_MODEL_PATH",
  /** File for the one-line failure reason (default: /dev/termination-log when it exists). */
  terminationLog: "MODEL_SIGNING_TERMINATION_LOG",
  /** Registry credentials for `oci://` models (lib/oci/registry_auth.ts). */
  registryUsername: "MODEL_SIGNING_REGISTRY_USERNAME",
  registryPassword: "MODEL_SIGNING_REGISTRY_PASSWORD",
} as const;

/** Finds an option by a name given on the command line (dashes or underscores). */
export function findOption(name: string): OptionSpec | undefined {
  const normal = name.replaceAll("_", "-");
  return OPTIONS.find((o) => o.name === normal);
}
