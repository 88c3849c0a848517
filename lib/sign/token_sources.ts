/**
 * Finds the OIDC identity token for keyless signing, in this order (first found wins):
 *
 * 1. `--identity_token` / `MODEL_SIGNING_IDENTITY_TOKEN`;
 * 2. `--identity_token_file` / `MODEL_SIGNING_IDENTITY_TOKEN_FILE` (a projected Kubernetes
 *    service-account token arrives this way);
 * 3. `SIGSTORE_ID_TOKEN` (GitLab CI `id_tokens`, Buildkite, and anything else that exports it);
 * 4. with `--use_ambient_credentials`: GitHub Actions (`ACTIONS_ID_TOKEN_REQUEST_URL` and
 *    `ACTIONS_ID_TOKEN_REQUEST_TOKEN`, audience = the client id), then the Kubernetes token file
 *    {@link KUBERNETES_TOKEN_PATH} when it exists;
 * 5. on a terminal: the interactive OAuth flow (`oidc_flow.ts`);
 * 6. otherwise a usage error. Nothing waits for input that cannot come.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { type IdentityToken, MAX_TOKEN_LENGTH, parseIdentityToken } from "./identity_token.ts";
import { SigningError } from "./signing_error.ts";

/** Where cosign and sigstore tooling expect a projected service-account token for Sigstore. */
export const KUBERNETES_TOKEN_PATH = "/var/run/sigstore/cosign/oidc-token";
/** Upper bound for the GitHub Actions token request, in milliseconds. */
export const AMBIENT_TIMEOUT_MS = 10_000;

/** What decides the source. */
export interface TokenRequest {
  identityToken?: string;
  identityTokenPath?: string;
  useAmbientCredentials: boolean;
  /** The audience (OIDC client id). */
  clientId: string;
  env: Readonly<Record<string, string | undefined>>;
}

/** The process around the search; tests replace all of it. */
export interface TokenDeps {
  /** Whether a person can answer (stdin and stderr are terminals). */
  isInteractive: boolean;
  /** Runs the interactive flow; called only when {@link TokenDeps.isInteractive}. */
  interactive?: () => Promise<string>;
  /** Kubernetes token path (tests). */
  kubernetesTokenPath?: string;
  /** The current time (tests). */
  now?: Date;
}

/**
 * Finds, reads and checks the identity token.
 *
 * @throws {ConfigError} `NO_IDENTITY_TOKEN` when there is no source and no terminal
 * @throws {SigningError} the token is unreadable, malformed, expired or for another audience,
 *   or the CI token service failed
 */
export async function obtainIdentityToken(
  request: TokenRequest,
  deps: TokenDeps,
): Promise<IdentityToken> {
  const found = await findToken(request, deps);
  return parseIdentityToken(found.token, {
    audience: request.clientId,
    source: found.source,
    ...(deps.now ? { now: deps.now } : {}),
  });
}

/**
 * Fails fast, before the model is hashed: an explicit token (flag, file, `SIGSTORE_ID_TOKEN`) is
 * read and checked now, and without any source and without a terminal it fails at once. CI and
 * interactive tokens are fetched only after hashing ({@link obtainIdentityToken}), so that a
 * short-lived token is fresh when Fulcio sees it.
 *
 * @throws like {@link obtainIdentityToken}
 */
export async function checkTokenSource(request: TokenRequest, deps: TokenDeps): Promise<void> {
  const explicit = request.identityToken || request.identityTokenPath ||
    request.env.SIGSTORE_ID_TOKEN?.trim();
  if (explicit) {
    await obtainIdentityToken(request, deps);
    return;
  }
  if (request.useAmbientCredentials) {
    if (request.env.ACTIONS_ID_TOKEN_REQUEST_URL?.trim()) return;
    if (await exists(deps.kubernetesTokenPath ?? KUBERNETES_TOKEN_PATH)) return;
  }
  if (deps.isInteractive && deps.interactive) return;
  await findToken(request, { ...deps, isInteractive: false });
}

async function findToken(
  request: TokenRequest,
  deps: TokenDeps,
): Promise<{ token: string; source: string }> {
  if (request.identityToken) {
    return { token: request.identityToken, source: "--identity_token" };
  }
  if (request.identityTokenPath) {
    const path = request.identityTokenPath;
    return { token: await readTokenFile(path), source: `--identity_token_file '${path}'` };
  }
  const exported = request.env.SIGSTORE_ID_TOKEN?.trim();
  if (exported) return { token: exported, source: "SIGSTORE_ID_TOKEN" };
  if (request.useAmbientCredentials) {
    const github = request.env.ACTIONS_ID_TOKEN_REQUEST_URL?.trim();
    if (github) {
      return {
        token: await gitHubActionsToken(github, request.env, request.clientId),
        source: "GitHub Actions",
      };
    }
    const k8sPath = deps.kubernetesTokenPath ?? KUBERNETES_TOKEN_PATH;
    if (await exists(k8sPath)) {
      return { token: await readTokenFile(k8sPath), source: `Kubernetes token file '${k8sPath}'` };
    }
  }
  if (deps.isInteractive && deps.interactive) {
    return { token: await deps.interactive(), source: "the interactive OAuth flow" };
  }
  throw new ConfigError(
    "NO_IDENTITY_TOKEN",
    "No identity token for keyless signing and no terminal for the browser sign-in: pass " +
      "--identity_token TOKEN or --identity_token_file PATH (or set SIGSTORE_ID_TOKEN), or " +
      "--use_ambient_credentials in GitHub Actions or a Kubernetes pod with a projected token at " +
      `${deps.kubernetesTokenPath ?? KUBERNETES_TOKEN_PATH}`,
  );
}

/** Reads a token file, at most {@link MAX_TOKEN_LENGTH} bytes. */
async function readTokenFile(path: string): Promise<string> {
  let file: Deno.FsFile | undefined;
  try {
    file = await Deno.open(path, { read: true });
    const stat = await file.stat();
    if (!stat.isFile) throw new Error("not a regular file");
    const buffer = new Uint8Array(MAX_TOKEN_LENGTH + 1);
    let used = 0;
    while (used < buffer.length) {
      const n = await file.read(buffer.subarray(used));
      if (n === null) break;
      used += n;
    }
    if (used > MAX_TOKEN_LENGTH) throw new Error(`larger than ${MAX_TOKEN_LENGTH} bytes`);
    return new TextDecoder().decode(buffer.subarray(0, used)).trim();
  } catch (error) {
    throw new SigningError(
      "TOKEN_UNREADABLE",
      `Cannot read the identity token file '${path}': ${messageOf(error)}`,
      { cause: error },
    );
  } finally {
    file?.close();
  }
}

/**
 * Asks the GitHub Actions token service for a token with the given audience (the job needs
 * `permissions: id-token: write`).
 */
async function gitHubActionsToken(
  url: string,
  env: TokenRequest["env"],
  audience: string,
): Promise<string> {
  const bearer = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN?.trim();
  if (!bearer) {
    throw new SigningError(
      "AMBIENT_TOKEN_FAILED",
      "ACTIONS_ID_TOKEN_REQUEST_URL is set but ACTIONS_ID_TOKEN_REQUEST_TOKEN is not; give the " +
        "job 'permissions: id-token: write'",
    );
  }
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new SigningError("AMBIENT_TOKEN_FAILED", "ACTIONS_ID_TOKEN_REQUEST_URL is not a URL");
  }
  target.searchParams.set("audience", audience);
  const shown = `${target.origin}${target.pathname}`;
  try {
    const response = await fetch(target, {
      headers: { authorization: `Bearer ${bearer}`, accept: "application/json" },
      signal: AbortSignal.timeout(AMBIENT_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const body = JSON.parse(text) as { value?: unknown };
    if (typeof body.value !== "string") throw new Error("the answer has no 'value'");
    return body.value;
  } catch (error) {
    throw new SigningError(
      "AMBIENT_TOKEN_FAILED",
      `Cannot get an identity token from the GitHub Actions token service at ${shown}: ` +
        messageOf(error),
      { cause: error },
    );
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
