/**
 * Reads an OIDC identity token (a JWT) and checks what can be checked before Fulcio sees it:
 * the shape, the issuer, the audience, the expiry. The signature of the token is Fulcio's to
 * check; this only turns a certain rejection into a clear message before any network call.
 *
 * @module
 */

import { quoteValue } from "../_escape.ts";
import { SigningError } from "./signing_error.ts";

/** The token's issuer for GitHub Actions. */
export const GITHUB_ACTIONS_ISSUER = "https://token.actions.githubusercontent.com";
/** Largest accepted token, in characters (real ones are 1-3 KiB). */
export const MAX_TOKEN_LENGTH = 64 * 1024;
/** Allowed clock difference for `nbf` and `iat`, in seconds. */
const CLOCK_SKEW_S = 60;

/** A token that passed {@link parseIdentityToken}. */
export interface IdentityToken {
  /** The compact JWT, as Fulcio receives it. */
  raw: string;
  /** `iss`. */
  issuer: string;
  /** `sub`. */
  subject: string;
  /** `email`, when the issuer verified it. */
  email?: string;
  /** When it expires. */
  expiresAt: Date;
  /** Where it came from, for messages ("--identity_token", "GitHub Actions", ...). */
  source: string;
  /** Every claim, for identity derivation. */
  claims: Record<string, unknown>;
}

/** Options of {@link parseIdentityToken}. */
export interface ParseTokenOptions {
  /** The audience the token must carry (the OIDC client id, `sigstore` by default). */
  audience: string;
  /** Where the token came from, named in errors. */
  source: string;
  /** The current time (tests). */
  now?: Date;
}

/**
 * Parses a compact JWT and checks issuer, subject, audience and validity period.
 *
 * @throws {SigningError} `TOKEN_MALFORMED`, `TOKEN_EXPIRED`, `TOKEN_NOT_YET_VALID` or
 *   `TOKEN_WRONG_AUDIENCE`, naming the source
 */
export function parseIdentityToken(raw: string, options: ParseTokenOptions): IdentityToken {
  const token = raw.trim();
  const where = options.source;
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
    throw malformed(where, `expected a JWT of 1 to ${MAX_TOKEN_LENGTH} characters`);
  }
  const parts = token.split(".");
  if (parts.length !== 3 || !parts.every((p, i) => i === 2 || /^[A-Za-z0-9_-]+$/.test(p))) {
    throw malformed(where, "expected three base64url parts separated by '.'");
  }
  let claims: unknown;
  try {
    claims = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(base64Url(parts[1]!)));
  } catch {
    throw malformed(where, "its claims are not base64url-encoded JSON");
  }
  if (typeof claims !== "object" || claims === null || Array.isArray(claims)) {
    throw malformed(where, "its claims are not a JSON object");
  }
  const c = claims as Record<string, unknown>;
  if (typeof c.iss !== "string" || c.iss === "") throw malformed(where, "it has no 'iss' claim");
  if (typeof c.sub !== "string" || c.sub === "") throw malformed(where, "it has no 'sub' claim");
  if (typeof c.exp !== "number" || !Number.isFinite(c.exp)) {
    throw malformed(where, "it has no numeric 'exp' claim");
  }
  const now = (options.now ?? new Date()).getTime() / 1000;
  if (c.exp <= now) {
    throw new SigningError(
      "TOKEN_EXPIRED",
      `The identity token from ${where} expired at ${new Date(c.exp * 1000).toISOString()}; ` +
        "get a fresh one (tokens live for minutes)",
    );
  }
  if (typeof c.nbf === "number" && c.nbf > now + CLOCK_SKEW_S) {
    throw new SigningError(
      "TOKEN_NOT_YET_VALID",
      `The identity token from ${where} is not valid before ` +
        `${new Date(c.nbf * 1000).toISOString()}; check the clock`,
    );
  }
  const audiences = typeof c.aud === "string" ? [c.aud] : Array.isArray(c.aud) ? c.aud : [];
  if (!audiences.includes(options.audience)) {
    throw new SigningError(
      "TOKEN_WRONG_AUDIENCE",
      `The identity token from ${where} is for audience ` +
        `${quoteValue(Array.isArray(c.aud) ? c.aud.join(",") : c.aud)}, not ` +
        `'${options.audience}'; ` +
        `request it with audience '${options.audience}' (or pass --client_id)`,
    );
  }
  const result: IdentityToken = {
    raw: token,
    issuer: c.iss,
    subject: c.sub,
    expiresAt: new Date(c.exp * 1000),
    source: where,
    claims: c,
  };
  if (typeof c.email === "string" && c.email !== "") {
    if (c.email_verified !== true) {
      throw new SigningError(
        "TOKEN_EMAIL_UNVERIFIED",
        `The identity token from ${where} carries an email the issuer has not verified ` +
          "(email_verified is not true); Fulcio refuses it",
      );
    }
    result.email = c.email;
  }
  return result;
}

/** The identity and issuer Fulcio is expected to write into the certificate for a token. */
export interface ExpectedIdentity {
  /** Undefined when the token's shape has no known mapping: Fulcio decides. */
  identity?: string;
  issuer: string;
}

/**
 * What Fulcio writes for a token: an email for email tokens, the workflow URI for GitHub
 * Actions, the service-account URI for Kubernetes; the issuer is the token's, or the upstream
 * connector's for a federating issuer (Sigstore's Dex sets `federated_claims.connector_id`).
 */
export function expectedIdentity(token: IdentityToken): ExpectedIdentity {
  const federated = token.claims.federated_claims as Record<string, unknown> | undefined;
  const connector = typeof federated?.connector_id === "string" ? federated.connector_id : "";
  const issuer = connector.startsWith("https://") ? connector : token.issuer;
  if (token.email) return { identity: token.email, issuer };
  const ref = token.claims.job_workflow_ref;
  if (token.issuer === GITHUB_ACTIONS_ISSUER && typeof ref === "string") {
    return { identity: `https://github.com/${ref}`, issuer };
  }
  const k8s = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(token.subject);
  if (k8s) {
    return {
      identity: `https://kubernetes.io/namespaces/${k8s[1]}/serviceaccounts/${k8s[2]}`,
      issuer,
    };
  }
  return { issuer };
}

function base64Url(text: string): Uint8Array {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const padded = b64 + "=".repeat((4 - b64.length % 4) % 4);
  return Uint8Array.from(atob(padded), (ch) => ch.charCodeAt(0));
}

function malformed(where: string, reason: string): SigningError {
  return new SigningError(
    "TOKEN_MALFORMED",
    `The identity token from ${where} is not a usable OIDC token: ${reason}`,
  );
}
