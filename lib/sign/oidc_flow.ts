/**
 * The interactive OAuth sign-in of keyless signing: authorization code with PKCE (S256), the
 * endpoints from OIDC discovery of the issuer the signing config names. The redirect goes to a
 * listener on the loopback interface (`http://localhost:PORT/auth/callback`); with
 * `--oauth_force_oob` the provider shows the code and the user types it in. The sign-in URL is
 * always printed; a browser is opened only where the program may start one.
 *
 * @module
 */

import { encodeBase64 } from "../_base64.ts";
import { SigningError } from "./signing_error.ts";

/** The redirect URI of the out-of-band flow. */
export const OOB_REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob";
/** How long the user has to sign in, in milliseconds. */
export const SIGN_IN_TIMEOUT_MS = 5 * 60_000;
/** Timeout of discovery and token requests, in milliseconds. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Options of {@link interactiveIdentityToken}. */
export interface OAuthFlowOptions {
  /** The OIDC issuer URL (discovery at `/.well-known/openid-configuration`). */
  issuer: string;
  clientId: string;
  clientSecret?: string;
  /** Out of band: print the URL, read the code from {@link OAuthFlowOptions.readLine}. */
  forceOob: boolean;
  /** Shows a line to the user (stderr). */
  print: (line: string) => void;
  /** Opens the URL in a browser; failures are ignored (the URL was printed). */
  openBrowser?: (url: string) => Promise<void>;
  /** Reads one line typed by the user; null at end of input. */
  readLine?: () => Promise<string | null>;
  /** How long to wait for the redirect (tests). */
  timeoutMs?: number;
}

interface Endpoints {
  authorization: string;
  token: string;
}

/**
 * Runs the sign-in and returns the ID token.
 *
 * @throws {SigningError} `OIDC_DISCOVERY_FAILED`, `OAUTH_FAILED` or `OAUTH_TIMEOUT`, naming the
 *   issuer
 */
export async function interactiveIdentityToken(options: OAuthFlowOptions): Promise<string> {
  const endpoints = await discover(options.issuer);
  const verifier = randomToken(32);
  const state = randomToken(16);
  const nonce = randomToken(16);
  const challenge = encodeBase64Url(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))),
  );
  const listener = options.forceOob ? undefined : startListener(state);
  try {
    const redirectUri = listener ? listener.redirectUri : OOB_REDIRECT_URI;
    const url = new URL(endpoints.authorization);
    for (
      const [k, v] of Object.entries({
        response_type: "code",
        client_id: options.clientId,
        redirect_uri: redirectUri,
        scope: "openid email",
        code_challenge: challenge,
        code_challenge_method: "S256",
        state,
        nonce,
      })
    ) url.searchParams.set(k, v);
    options.print(`Sign in for Sigstore at:\n  ${url.href}`);
    let code: string;
    if (listener) {
      options.openBrowser?.(url.href).catch(() => {});
      code = await withTimeout(
        listener.code,
        options.timeoutMs ?? SIGN_IN_TIMEOUT_MS,
        options.issuer,
      );
    } else {
      options.print("Enter the verification code:");
      const line = await options.readLine?.();
      if (!line?.trim()) {
        throw new SigningError("OAUTH_FAILED", "No verification code was entered");
      }
      code = line.trim();
    }
    const token = await exchangeCode(endpoints.token, options, { code, redirectUri, verifier });
    checkNonce(token, nonce, options.issuer);
    return token;
  } finally {
    await listener?.close();
  }
}

async function discover(issuer: string): Promise<Endpoints> {
  const url = `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    const text = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const doc = JSON.parse(text) as Record<string, unknown>;
    const authorization = doc.authorization_endpoint;
    const token = doc.token_endpoint;
    if (typeof authorization !== "string" || typeof token !== "string") {
      throw new Error("no authorization_endpoint or token_endpoint");
    }
    new URL(authorization);
    new URL(token);
    return { authorization, token };
  } catch (error) {
    throw new SigningError(
      "OIDC_DISCOVERY_FAILED",
      `Cannot read the OIDC configuration of ${issuer} (${url}): ${messageOf(error)}`,
      { cause: error },
    );
  }
}

/** A loopback listener that resolves with the authorization code of the matching state. */
function startListener(state: string) {
  let resolveCode!: (code: string) => void;
  let rejectCode!: (error: Error) => void;
  const code = new Promise<string>((resolve, reject) => {
    resolveCode = resolve;
    rejectCode = reject;
  });
  code.catch(() => {});
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (request) => {
    const url = new URL(request.url);
    if (url.pathname !== "/auth/callback") return new Response("Not found", { status: 404 });
    if (url.searchParams.get("state") !== state) {
      return new Response("Unexpected state; start the sign-in again", { status: 400 });
    }
    const error = url.searchParams.get("error");
    const got = url.searchParams.get("code");
    if (error || !got) {
      rejectCode(
        new SigningError(
          "OAUTH_FAILED",
          `The sign-in was refused: ${(error ?? "no code").slice(0, 100)}`,
        ),
      );
      return new Response("Sign-in failed; see the terminal", { status: 400 });
    }
    resolveCode(got);
    return new Response("Signed in; you may close this window and return to the terminal.", {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  });
  return {
    redirectUri: `http://localhost:${server.addr.port}/auth/callback`,
    code,
    close: () => server.shutdown(),
  };
}

async function exchangeCode(
  endpoint: string,
  options: OAuthFlowOptions,
  grant: { code: string; redirectUri: string; verifier: string },
): Promise<string> {
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code: grant.code,
    redirect_uri: grant.redirectUri,
    code_verifier: grant.verifier,
    client_id: options.clientId,
  });
  if (options.clientSecret) body.set("client_secret", options.clientSecret);
  try {
    const response = await fetch(endpoint, {
      method: "POST",
      body,
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    const idToken = (JSON.parse(text) as { id_token?: unknown }).id_token;
    if (typeof idToken !== "string") throw new Error("the answer has no id_token");
    return idToken;
  } catch (error) {
    throw new SigningError(
      "OAUTH_FAILED",
      `The token endpoint of ${options.issuer} (${endpoint}) did not issue a token: ` +
        messageOf(error),
      { cause: error },
    );
  }
}

function checkNonce(token: string, nonce: string, issuer: string): void {
  try {
    const part = token.split(".")[1] ?? "";
    const claims = JSON.parse(atob(part.replaceAll("-", "+").replaceAll("_", "/")));
    if (claims.nonce === undefined || claims.nonce === nonce) return;
  } catch {
    return; // parseIdentityToken reports a malformed token
  }
  throw new SigningError(
    "OAUTH_FAILED",
    `The token from ${issuer} answers another sign-in (nonce mismatch); start again`,
  );
}

async function withTimeout(code: Promise<string>, ms: number, issuer: string): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new SigningError(
            "OAUTH_TIMEOUT",
            `No sign-in at ${issuer} within ${Math.round(ms / 1000)} s; run again, or pass ` +
              "--identity_token",
          ),
        ),
      ms,
    );
  });
  try {
    return await Promise.race([code, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function encodeBase64Url(bytes: Uint8Array): string {
  return encodeBase64(bytes).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function randomToken(bytes: number): string {
  return encodeBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
