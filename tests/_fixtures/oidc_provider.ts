/**
 * A local OpenID Connect provider for keyless-signing tests, on 127.0.0.1: discovery, JWKS, an
 * authorization endpoint that approves at once (302 to the loopback redirect, or a page with the
 * code for the out-of-band flow), a token endpoint that checks the PKCE verifier, and a GitHub
 * Actions style token endpoint (`ACTIONS_ID_TOKEN_REQUEST_URL`). Tokens are ES256 JWTs signed
 * with a key made at start, via `jose`.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";

/** The subject the provider signs in by default. */
export const DEFAULT_SUBJECT = "https://example.com/users/alice";
/** The bearer token the GitHub Actions endpoint wants. */
export const ACTIONS_REQUEST_TOKEN = "gha-request-token";

/** What goes into a token. */
export interface TokenOptions {
  subject?: string;
  audience?: string | string[];
  /** Seconds from now until expiry; negative: already expired. */
  expiresIn?: number;
  /** Extra or overriding claims. */
  claims?: Record<string, unknown>;
}

interface PendingCode {
  challenge: string;
  clientId: string;
  redirectUri: string;
  nonce: string | null;
}

/** The provider; dispose it after use. */
export class OidcProvider implements AsyncDisposable {
  readonly issuer: string;
  /** Requests seen, as `METHOD /path`, for assertions. */
  readonly requests: string[] = [];
  /** The subject of tokens from the authorization and Actions endpoints. */
  subject = DEFAULT_SUBJECT;
  readonly #server: Deno.HttpServer;
  readonly #key: CryptoKey;
  readonly #jwk: JWK;
  readonly #codes = new Map<string, PendingCode>();

  private constructor(server: Deno.HttpServer, issuer: string, key: CryptoKey, jwk: JWK) {
    this.#server = server;
    this.issuer = issuer;
    this.#key = key;
    this.#jwk = jwk;
  }

  /** Starts on a free port of 127.0.0.1. */
  static async start(): Promise<OidcProvider> {
    const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
    const jwk = { ...await exportJWK(publicKey), kid: "test", alg: "ES256", use: "sig" };
    const holder: { provider?: OidcProvider } = {};
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      (request) => holder.provider!.#handle(request),
    );
    const provider = new OidcProvider(
      server,
      `http://127.0.0.1:${server.addr.port}`,
      privateKey as CryptoKey,
      jwk,
    );
    holder.provider = provider;
    return provider;
  }

  /** A signed ID token. */
  async token(options: TokenOptions = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    return await new SignJWT({ ...options.claims })
      .setProtectedHeader({ alg: "ES256", kid: "test", typ: "JWT" })
      .setIssuer(this.issuer)
      .setSubject(options.subject ?? this.subject)
      .setAudience(options.audience ?? "sigstore")
      .setIssuedAt(now)
      .setExpirationTime(now + (options.expiresIn ?? 300))
      .sign(this.#key);
  }

  /** The environment of a GitHub Actions job with `id-token: write`. */
  actionsEnv(): Record<string, string> {
    return {
      ACTIONS_ID_TOKEN_REQUEST_URL: `${this.issuer}/actions/token?api-version=2.0`,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: ACTIONS_REQUEST_TOKEN,
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }

  async #handle(request: Request): Promise<Response> {
    const url = new URL(request.url);
    this.requests.push(`${request.method} ${url.pathname}`);
    switch (url.pathname) {
      case "/.well-known/openid-configuration":
        return Response.json({
          issuer: this.issuer,
          authorization_endpoint: `${this.issuer}/authorize`,
          token_endpoint: `${this.issuer}/token`,
          jwks_uri: `${this.issuer}/jwks`,
          response_types_supported: ["code"],
          subject_types_supported: ["public"],
          id_token_signing_alg_values_supported: ["ES256"],
          code_challenge_methods_supported: ["S256"],
        });
      case "/jwks":
        return Response.json({ keys: [this.#jwk] });
      case "/authorize":
        return this.#authorize(url);
      case "/token":
        return await this.#exchange(request);
      case "/actions/token": {
        if (request.headers.get("authorization") !== `Bearer ${ACTIONS_REQUEST_TOKEN}`) {
          return new Response("bad bearer", { status: 401 });
        }
        const audience = url.searchParams.get("audience") ?? "";
        return Response.json({ value: await this.token({ audience }) });
      }
      default:
        return new Response("not found", { status: 404 });
    }
  }

  #authorize(url: URL): Response {
    const p = url.searchParams;
    if (
      p.get("response_type") !== "code" || p.get("code_challenge_method") !== "S256" ||
      !p.get("code_challenge") || !p.get("client_id") || !p.get("redirect_uri") ||
      !(p.get("scope") ?? "").split(" ").includes("openid")
    ) {
      return new Response("bad authorization request", { status: 400 });
    }
    const code = crypto.randomUUID();
    const redirectUri = p.get("redirect_uri")!;
    this.#codes.set(code, {
      challenge: p.get("code_challenge")!,
      clientId: p.get("client_id")!,
      redirectUri,
      nonce: p.get("nonce"),
    });
    if (redirectUri === "urn:ietf:wg:oauth:2.0:oob") {
      return new Response(`Your code: ${code}`, { headers: { "content-type": "text/plain" } });
    }
    const target = new URL(redirectUri);
    target.searchParams.set("code", code);
    target.searchParams.set("state", p.get("state") ?? "");
    return new Response(null, { status: 302, headers: { location: target.href } });
  }

  async #exchange(request: Request): Promise<Response> {
    const form = new URLSearchParams(await request.text());
    const pending = this.#codes.get(form.get("code") ?? "");
    if (!pending || form.get("grant_type") !== "authorization_code") {
      return Response.json({ error: "invalid_grant" }, { status: 400 });
    }
    this.#codes.delete(form.get("code")!);
    const verifier = form.get("code_verifier") ?? "";
    const challenge = createHash("sha256").update(verifier).digest("base64url");
    if (
      challenge !== pending.challenge || form.get("client_id") !== pending.clientId ||
      form.get("redirect_uri") !== pending.redirectUri
    ) {
      return Response.json({ error: "invalid_grant" }, { status: 400 });
    }
    const idToken = await this.token({
      audience: pending.clientId,
      ...(pending.nonce ? { claims: { nonce: pending.nonce } } : {}),
    });
    return Response.json({ id_token: idToken, access_token: "x", token_type: "Bearer" });
  }
}
