/**
 * A small OCI distribution client: manifests and blobs, pull and push, for one repository.
 *
 * Everything a registry says is attacker input. Every request has a deadline for its response
 * headers and for each chunk of its body (`--registry-timeout`), every body a deadline for the
 * whole of it (see {@link Deadline}), bodies read into memory have a size bound, redirects are followed at most {@link MAX_REDIRECTS} times and never downgrade to
 * plain HTTP, and credentials never follow a redirect to another host. HTTPS checks the
 * certificate against Deno's roots plus the system's (`SSL_CERT_FILE` or
 * `/etc/ssl/certs/ca-certificates.crt`); plain HTTP (`--insecure-registry`) is refused unless the
 * registry is on a loopback address. Authentication: the distribution token flow
 * (`WWW-Authenticate: Bearer realm=...`) and Basic, with credentials from `registry_auth.ts`.
 *
 * @module
 */

import { escapeName, quoteValue } from "../_escape.ts";
import { encodeBase64 } from "../_base64.ts";
import { isObject } from "../bundle/statement.ts";
import { ConfigError, InputError } from "../errors.ts";
import { readBounded } from "./image_manifest.ts";
import { isLoopbackHost, type Reference } from "./reference.ts";
import { authFiles, type Credentials, findCredentials, REGISTRY_ENV } from "./registry_auth.ts";

/** Redirects followed for one request. */
export const MAX_REDIRECTS = 5;
/** Largest token response read. */
const MAX_TOKEN_BYTES = 1024 * 1024;

/** Options of a client. */
export interface ClientOptions {
  insecure: boolean;
  timeoutMs: number;
  env: Readonly<Record<string, string | undefined>>;
}

/** Options of one request. */
export interface RequestOptions {
  accept?: string;
  body?: Uint8Array;
  contentType?: string;
  /** Needs push rights (token scope `pull,push`). */
  push?: boolean;
}

/** When a whole body must have arrived, and how that limit reads in a message. */
export interface Deadline {
  /** Milliseconds since the epoch. */
  at: number;
  /** E.g. `30 s (--registry-timeout)`. */
  limit: string;
}

/** A response whose body is still to be read. */
export interface RegistryResponse {
  status: number;
  headers: Headers;
  body: ReadableStream<Uint8Array> | null;
  url: string;
}

/** HTTP clients with Deno's roots plus a CA bundle, one per bundle file. */
const clients = new Map<string, Deno.HttpClient | undefined>();

/**
 * Deno's roots plus the system's CA bundle (`SSL_CERT_FILE`, else
 * `/etc/ssl/certs/ca-certificates.crt`); undefined (Deno's roots alone) when there is none.
 */
function httpClient(env: ClientOptions["env"]): Deno.HttpClient | undefined {
  const file = env.SSL_CERT_FILE || "/etc/ssl/certs/ca-certificates.crt";
  if (!clients.has(file)) {
    let client: Deno.HttpClient | undefined;
    try {
      client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(file)] });
    } catch {
      client = undefined; // absent or unreadable: Deno's own roots only
    }
    clients.set(file, client);
  }
  return clients.get(file);
}

/** A client for one repository of one registry. */
export class RegistryClient {
  readonly registry: string;
  readonly repository: string;
  readonly #base: string;
  readonly #options: ClientOptions;
  #credentials: Credentials | undefined | null = null;
  /** Authorization header per scope. */
  readonly #authorization = new Map<string, string>();

  /**
   * @throws {ConfigError} `INSECURE_REGISTRY_NOT_LOOPBACK` for plain HTTP to a remote host
   */
  constructor(reference: Pick<Reference, "registry" | "repository">, options: ClientOptions) {
    if (options.insecure && !isLoopbackHost(reference.registry)) {
      throw new ConfigError(
        "INSECURE_REGISTRY_NOT_LOOPBACK",
        `--insecure-registry is only allowed for a registry on a loopback address, not ` +
          `${quoteValue(reference.registry)}`,
      );
    }
    this.registry = reference.registry;
    this.repository = reference.repository;
    this.#options = options;
    this.#base = `${options.insecure ? "http" : "https"}://${reference.registry}`;
  }

  /** The deadline of one response or body chunk, in milliseconds. */
  get timeoutMs(): number {
    return this.#options.timeoutMs;
  }

  /**
   * Sends a request to `/v2/<repository>/<path>` (or an absolute URL on the registry, as an
   * upload location), authenticating when the registry asks.
   *
   * @throws {InputError} `REGISTRY_UNREACHABLE`, `REGISTRY_TIMEOUT`, `REGISTRY_REDIRECT`
   * @throws {ConfigError} `REGISTRY_UNAUTHORIZED`
   */
  async request(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<RegistryResponse> {
    const url = /^https?:\/\//.test(path)
      ? path
      : path.startsWith("/")
      ? `${this.#base}${path}`
      : `${this.#base}/v2/${this.repository}/${path}`;
    const scope = `repository:${this.repository}:${options.push ? "pull,push" : "pull"}`;
    let response = await this.#send(method, url, options, this.#authorization.get(scope));
    if (response.status === 401) {
      const challenge = response.headers.get("www-authenticate") ?? "";
      await response.body?.cancel();
      const authorization = await this.#authenticate(challenge, scope);
      this.#authorization.set(scope, authorization);
      response = await this.#send(method, url, options, authorization);
      if (response.status === 401 || response.status === 403) {
        await response.body?.cancel();
        throw this.#unauthorized(`the registry refused the credentials (${response.status})`);
      }
    }
    return response;
  }

  /** Reads a body into memory, failing past `limit` bytes or when a chunk is late. */
  async readBody(response: RegistryResponse, limit: number, what: string): Promise<Uint8Array> {
    if (!response.body) return new Uint8Array();
    const declared = Number(response.headers.get("content-length") ?? "0");
    if (declared > limit) {
      await response.body.cancel();
      throw new InputError(
        "OCI_MANIFEST_TOO_LARGE",
        `${what} is ${declared} bytes, more than the ${limit} accepted`,
      );
    }
    // The whole body within one deadline too: a registry trickling a byte per chunk deadline
    // cannot hold a small read for long.
    const deadline: Deadline = {
      at: Date.now() + this.#options.timeoutMs,
      limit: `${this.#options.timeoutMs / 1000} s (--registry-timeout)`,
    };
    return await readBounded(this.chunks(response, what, deadline), limit, what);
  }

  /**
   * The body's chunks, each within the deadline of one response, and all before `deadline`
   * when given.
   */
  chunks(
    response: RegistryResponse,
    what: string,
    deadline?: Deadline,
  ): ReadableStream<Uint8Array> {
    const reader = response.body!.getReader();
    const timeoutMs = this.#options.timeoutMs;
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const left = (deadline?.at ?? Infinity) - Date.now();
        const wait = Math.max(0, Math.min(timeoutMs, left));
        const error = left < timeoutMs
          ? new InputError(
            "REGISTRY_TIMEOUT",
            `The registry did not send all of ${escapeName(what)} within ${deadline!.limit}`,
          )
          : timeoutError(what, timeoutMs);
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(error), wait);
        });
        try {
          const { done, value } = await Promise.race([reader.read(), late]);
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (error) {
          reader.cancel().catch(() => {});
          controller.error(
            error instanceof InputError ? error : new InputError(
              "REGISTRY_UNREACHABLE",
              `Reading ${what} failed: ${escapeName(String(error))}`,
              { cause: error },
            ),
          );
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        return reader.cancel(reason);
      },
    });
  }

  async #send(
    method: string,
    start: string,
    options: RequestOptions,
    authorization: string | undefined,
  ): Promise<RegistryResponse> {
    let url = new URL(start);
    const origin = new URL(this.#base).origin;
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      this.#checkScheme(url);
      const headers = new Headers();
      if (options.accept) headers.set("accept", options.accept);
      if (options.contentType) headers.set("content-type", options.contentType);
      if (authorization && url.origin === origin) headers.set("authorization", authorization);
      const response = await this.#fetch(url, {
        method,
        headers,
        ...(options.body ? { body: options.body as Uint8Array<ArrayBuffer> } : {}),
      });
      const location = response.headers.get("location");
      if (response.status >= 300 && response.status < 400 && location !== null) {
        await response.body?.cancel();
        if (method !== "GET" && method !== "HEAD") {
          throw new InputError(
            "REGISTRY_REDIRECT",
            `Registry ${quoteValue(this.registry)} redirected a ${method} request; refused`,
          );
        }
        url = new URL(location, url);
        continue;
      }
      return {
        status: response.status,
        headers: response.headers,
        body: response.body,
        url: url.href,
      };
    }
    throw new InputError(
      "REGISTRY_REDIRECT",
      `Registry ${quoteValue(this.registry)} redirected more than ${MAX_REDIRECTS} times`,
    );
  }

  #checkScheme(url: URL): void {
    if (url.protocol === "https:") return;
    if (url.protocol === "http:" && this.#options.insecure && isLoopbackHost(url.host)) return;
    throw new InputError(
      "REGISTRY_REDIRECT",
      `Registry ${quoteValue(this.registry)} sent the client to ${quoteValue(url.origin)}; only ` +
        "HTTPS (or plain HTTP on loopback with --insecure-registry) is followed",
    );
  }

  async #fetch(url: URL, init: RequestInit): Promise<Response> {
    const timeoutMs = this.#options.timeoutMs;
    const controller = new AbortController();
    const what = `${init.method} ${url.origin}${url.pathname}`;
    const timer = setTimeout(() => controller.abort(timeoutError(what, timeoutMs)), timeoutMs);
    try {
      const client = url.protocol === "https:" ? httpClient(this.#options.env) : undefined;
      return await fetch(url, {
        ...init,
        redirect: "manual",
        signal: controller.signal,
        ...(client ? { client } : {}),
      } as RequestInit);
    } catch (error) {
      if (controller.signal.aborted) throw controller.signal.reason;
      throw new InputError(
        "REGISTRY_UNREACHABLE",
        `Cannot reach registry ${quoteValue(this.registry)} (${escapeName(what)}): ` +
          escapeName(error instanceof Error ? error.message : String(error)),
        { cause: error },
      );
    } finally {
      clearTimeout(timer);
    }
  }

  async #authenticate(challenge: string, scope: string): Promise<string> {
    const scheme = challenge.trim().split(/\s+/, 1)[0]?.toLowerCase();
    const params = new Map<string, string>();
    for (const match of challenge.matchAll(/(\w+)="([^"]*)"/g)) {
      params.set(match[1]!.toLowerCase(), match[2]!);
    }
    const credentials = await this.#loadCredentials();
    if (scheme === "basic") {
      if (credentials?.kind !== "basic") {
        throw this.#unauthorized("it asks for a user name and password");
      }
      return basic(credentials);
    }
    if (scheme !== "bearer" || !params.get("realm")) {
      throw this.#unauthorized(`it asks for an unsupported scheme ${quoteValue(challenge)}`);
    }
    const realm = new URL(params.get("realm")!);
    this.#checkScheme(realm);
    const service = params.get("service");
    let response: RegistryResponse;
    if (credentials?.kind === "refresh") {
      const form = new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: credentials.token,
        client_id: "model-verify",
        scope,
        ...(service ? { service } : {}),
      });
      response = await this.#tokenRequest(realm, "POST", form);
    } else {
      realm.searchParams.set("scope", scope);
      if (service) realm.searchParams.set("service", service);
      response = await this.#tokenRequest(realm, "GET", undefined, credentials);
    }
    if (response.status !== 200) {
      await response.body?.cancel();
      throw this.#unauthorized(`its token service answered ${response.status}`);
    }
    const body = await this.readBody(response, MAX_TOKEN_BYTES, "the token response");
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(body));
    } catch {
      json = undefined;
    }
    const token = isObject(json) ? (json.token ?? json.access_token) : undefined;
    if (typeof token !== "string" || token === "" || /[\s"]/.test(token)) {
      throw this.#unauthorized("its token service sent no usable token");
    }
    return `Bearer ${token}`;
  }

  async #tokenRequest(
    realm: URL,
    method: string,
    form: URLSearchParams | undefined,
    credentials?: Credentials,
  ): Promise<RegistryResponse> {
    const headers = new Headers();
    if (credentials?.kind === "basic") headers.set("authorization", basic(credentials));
    if (form) headers.set("content-type", "application/x-www-form-urlencoded");
    const response = await this.#fetch(realm, {
      method,
      headers,
      ...(form ? { body: form.toString() } : {}),
    });
    return {
      status: response.status,
      headers: response.headers,
      body: response.body,
      url: realm.href,
    };
  }

  async #loadCredentials(): Promise<Credentials | undefined> {
    if (this.#credentials === null) {
      this.#credentials = await findCredentials(this.registry, this.#options.env);
    }
    return this.#credentials;
  }

  #unauthorized(why: string): ConfigError {
    const source = this.#credentials
      ? `credentials from ${this.#credentials.source}`
      : `no credentials (set ${REGISTRY_ENV.username} and ${REGISTRY_ENV.password}, or log in ` +
        `so that one of ${
          authFiles(this.#options.env).map((f) => `'${escapeName(f)}'`).join(", ") ||
          "~/.docker/config.json"
        } ` +
        "has an auths entry or a credential helper for it)";
    return new ConfigError(
      "REGISTRY_UNAUTHORIZED",
      `Registry ${quoteValue(this.registry)} refused access to ${quoteValue(this.repository)}: ` +
        `${why}; used ${source}`,
    );
  }
}

function basic(credentials: { username: string; password: string }): string {
  return `Basic ${
    encodeBase64(new TextEncoder().encode(`${credentials.username}:${credentials.password}`))
  }`;
}

function timeoutError(what: string, timeoutMs: number): InputError {
  return new InputError(
    "REGISTRY_TIMEOUT",
    `The registry did not answer ${escapeName(what)} within ${timeoutMs / 1000} s ` +
      "(--registry-timeout)",
  );
}
