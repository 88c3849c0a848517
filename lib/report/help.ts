/**
 * The help texts, generated from the option table so they cannot drift from the parser: the
 * overview (`--help`) and one per command (`verify --help`, `verify key --help`, `sign --help`,
 * `digest --help`, `verify-bundle --help`), each with only that command's options, their
 * environment twins and an example.
 *
 * @module
 */

import { EXTRA_ENV, OPTIONS, type OptionSpec, type Scope } from "../config/options.ts";

const USAGE =
  `model-verify: verify ML model signatures (model_signing / OMS v1.0) before a model is used

Usage:
  model-verify                                   verify, configured by MODEL_SIGNING_* env
  model-verify verify [sigstore|key|certificate] [options] [MODEL_PATH]
  model-verify digest [options] [MODEL_PATH]     print the model's root digest
  model-verify sign key|certificate [options] [MODEL_PATH]
  model-verify sign [sigstore] [options] [MODEL_PATH]   keyless: OIDC identity, Fulcio, Rekor
  model-verify verify-bundle ...                 sigstore-conformance client protocol
  model-verify --help | --version
  model-verify COMMAND [METHOD] --help           help for one command

MODEL_PATH defaults to MODEL_SIGNING_MODEL_PATH, then /data. The signature defaults to
MODEL_PATH/model.sig. Option names take '-' or '_' (--public_key = --public-key).
Exit codes: 0 verified, 1 verification failed, 2 usage or configuration error.

Options (flag, environment variable, where it applies):`;

const VERIFY_METHODS = ["sigstore", "key", "certificate"] as const;

const EXAMPLES: Record<string, string[]> = {
  "verify": [
    "model-verify verify key --public-key key.pub.pem --signature model/model.sig model",
    "MODEL_SIGNING_PUBLIC_KEY=key.pub.pem model-verify verify /data",
  ],
  "verify sigstore": [
    "model-verify verify sigstore --identity alice@example.com \\\n" +
    "      --identity-provider https://accounts.google.com model",
  ],
  "verify key": [
    "model-verify verify key --public-key key.pub.pem model",
    "MODEL_SIGNING_METHOD=key MODEL_SIGNING_PUBLIC_KEY=key.pub.pem model-verify",
  ],
  "verify certificate": [
    "model-verify verify certificate --certificate-chain ca.pem model",
  ],
  "sign": [
    "model-verify sign key --private-key key.pem model",
  ],
  "sign key": [
    "model-verify sign key --private-key key.pem --signature model.sig model",
  ],
  "sign certificate": [
    "model-verify sign certificate --private-key leaf.key --signing-certificate leaf.pem \\\n" +
    "      --certificate-chain ca.pem model",
  ],
  "digest": [
    "d=$(model-verify digest model)   # sha256:<hex>; the summary goes to stderr",
  ],
};

const SUMMARIES: Record<string, string> = {
  "verify": "Verify MODEL_PATH against its signature. Without a method word the method comes " +
    "from MODEL_SIGNING_METHOD, else from the material given (a public key means key, a " +
    "certificate chain means certificate), else sigstore.",
  "verify sigstore": "Verify a Sigstore (keyless) signature: certificate chain to the trusted " +
    "root, transparency log, and an exact identity and issuer match.",
  "verify key": "Verify a signature made with a private key against its public key.",
  "verify certificate": "Verify a signature whose certificate chains to a CA you trust.",
  "sign": "Sign MODEL_PATH and write a model_signing-compatible bundle.",
  "sign key": "Sign MODEL_PATH with a private key (EC, RSA or Ed25519).",
  "sign certificate": "Sign MODEL_PATH with a private key and its certificate (EC).",
  "digest": "Print the model's root digest (files, SHA-256, as 'sign' would record it): one line " +
    "'sha256:<hex>' on stdout, the summary on stderr.",
};

const VERIFY_BUNDLE_HELP = `model-verify verify-bundle: the sigstore-conformance client protocol

Usage:
  model-verify verify-bundle [--staging] --bundle FILE --certificate-identity IDENTITY
      --certificate-oidc-issuer URL [--trusted-root FILE] FILE_OR_DIGEST
  model-verify verify-bundle [--staging] --bundle FILE --key PATH_TO_KEY
      [--trusted-root FILE] FILE_OR_DIGEST

Options (no environment twins; these are the conformance suite's names):
  --bundle FILE                     Sigstore bundle to verify.
  --certificate-identity IDENTITY   Expected signer identity (exact match).
  --certificate-oidc-issuer URL     Expected OIDC issuer (exact match).
  --key PATH_TO_KEY                 PEM public key, for a key-signed bundle.
  --trusted-root FILE               trusted_root.json to use instead of fetching one via TUF
                                    (also how to verify without network access).
  --staging                         Sigstore's staging instance.
FILE_OR_DIGEST is the signed artifact, or sha256:<64 hex digits>.

Example:
  model-verify verify-bundle --bundle a.sigstore.json --key key.pub.pem a.txt`;

/**
 * The help text for a command.
 *
 * @param topic the command words (`[]`: the overview with every option; `["verify", "key"]`)
 */
export function helpText(topic: readonly string[] = []): string {
  const [command, method] = topic;
  if (command === undefined) return overview();
  if (command === "verify-bundle") return VERIFY_BUNDLE_HELP;
  const key = method ? `${command} ${method}` : command;
  const scopes = scopesOf(command, method);
  const options = OPTIONS.filter((o) => o.scopes.some((s) => scopes.includes(s)));
  const methodWord = command === "verify"
    ? " [sigstore|key|certificate]"
    : command === "sign"
    ? ` ${signMethods().join("|")}`
    : "";
  const lines = [
    `model-verify ${key}: ${SUMMARIES[key] ?? ""}`.trimEnd(),
    "",
    "Usage:",
    `  model-verify ${method ? key : command + methodWord} [options] [MODEL_PATH]`,
    "",
    "Options (flag, environment variable):",
    ...options.map((o) => row(o, method === undefined && scopes.length > 1 ? scopes : undefined)),
    "",
    ...extraEnv(command),
  ];
  if (command === "verify" && method === undefined) {
    lines.push(
      "Continuous validation flags (--interval, --health-port, ...) go before 'verify':",
      "  see model-verify --help and docs/agent.md.",
    );
  }
  const examples = EXAMPLES[key] ?? EXAMPLES[command] ?? [];
  if (examples.length > 0) {
    lines.push("", examples.length > 1 ? "Examples:" : "Example:");
    lines.push(...examples.map((e) => `  ${e}`));
  }
  return lines.join("\n");
}

function overview(): string {
  const rows = OPTIONS.map((o) => {
    const flag = `--${o.name}${o.metavar ? " " + o.metavar : ""}` +
      (o.negatable ? ` / --no-${o.name}` : "");
    const env = o.env ? `  [${o.env}]` : "";
    return `  ${flag}${env}\n      ${o.help} (${o.scopes.join(", ")})`;
  });
  return [USAGE, ...rows, "", "Also: MODEL_SIGNING_METHOD (sigstore|key|certificate)."].join("\n");
}

/** The option scopes of a command: `verify` is every verify method, `sign` every `sign-*`. */
function scopesOf(command: string, method: string | undefined): Scope[] {
  const all = new Set<Scope>(OPTIONS.flatMap((o) => [...o.scopes]));
  if (command === "verify") {
    return method ? [method as Scope] : VERIFY_METHODS.filter((m) => all.has(m));
  }
  if (command === "sign") {
    return [...all].filter((s) => method ? s === `sign-${method}` : s.startsWith("sign-"));
  }
  return [command as Scope];
}

function signMethods(): string[] {
  const all = new Set(OPTIONS.flatMap((o) => [...o.scopes]));
  return [...all].filter((s) => s.startsWith("sign-")).map((s) => s.slice(5));
}

function row(o: OptionSpec, scopes: readonly Scope[] | undefined): string {
  const flag = `--${o.name}${o.metavar ? " " + o.metavar : ""}` +
    (o.negatable ? ` / --no-${o.name}` : "");
  const env = o.env ? `  [${o.env}]` : "";
  const where = scopes && !scopes.every((s) => o.scopes.includes(s))
    ? ` (${o.scopes.filter((s) => scopes.includes(s)).map(methodOf).join(", ")} only)`
    : "";
  return `  ${flag}${env}\n      ${o.help}${where}`;
}

function methodOf(scope: Scope): string {
  return scope.startsWith("sign-") ? scope.slice(5) : scope;
}

function extraEnv(command: string): string[] {
  const lines = [`MODEL_PATH defaults to ${EXTRA_ENV.modelPath}, then /data.`];
  if (command === "verify") {
    lines.push(
      `The method may also come from ${EXTRA_ENV.method} (sigstore|key|certificate).`,
      `On failure a one-line reason goes to ${EXTRA_ENV.terminationLog} (when set).`,
    );
  }
  if (command === "verify" || command === "sign") {
    lines.push("The signature defaults to MODEL_PATH/model.sig.");
  }
  return lines;
}
