/**
 * The probe endpoints of continuous mode, as the operator's webhook expects them on port 8080:
 * `GET /healthz` (liveness: 200 while the agent loop is alive) and `GET /ready` (readiness: 200
 * once a verification succeeded, 503 before and, unless `--sticky-ready`, after a failure; the
 * body says why).
 *
 * @module
 */

import { escapeLine } from "../_escape.ts";
import { ConfigError } from "../errors.ts";

/** What the probes report. */
export interface ProbeState {
  alive: boolean;
  ready: boolean;
  /** One line: why the agent is (not) ready. */
  reason: string;
}

/** A running health server. */
export interface HealthServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  /** Stops accepting connections and waits for open requests to finish. */
  close(): Promise<void>;
}

/** Options of {@link startHealthServer}. */
export interface HealthServerOptions {
  port: number;
  /** Address to bind; default all interfaces (IPv6 and IPv4, falling back to IPv4 only). */
  hostname?: string;
  state: () => ProbeState;
}

/**
 * Starts the health server.
 *
 * @throws {ConfigError} `HEALTH_PORT_UNAVAILABLE` when the port cannot be bound
 */
export function startHealthServer(options: HealthServerOptions): HealthServer {
  const handler = (request: Request) => respond(request, options.state());
  const hostnames = options.hostname ? [options.hostname] : ["::", "0.0.0.0"];
  let lastError: unknown;
  for (const hostname of hostnames) {
    try {
      const server = Deno.serve({ port: options.port, hostname, onListen: () => {} }, handler);
      return {
        port: (server.addr as Deno.NetAddr).port,
        close: async () => {
          await server.shutdown();
        },
      };
    } catch (error) {
      lastError = error;
      if (error instanceof Deno.errors.AddrInUse) break;
    }
  }
  throw new ConfigError(
    "HEALTH_PORT_UNAVAILABLE",
    `Cannot listen on --health-port ${options.port}: ${
      lastError instanceof Error ? lastError.message : lastError
    }`,
    { cause: lastError },
  );
}

/** The probe responses; pure, so tests can check them without a socket. */
export function respond(request: Request, state: ProbeState): Response {
  const headers = { "content-type": "text/plain; charset=utf-8", "cache-control": "no-store" };
  if (request.method !== "GET" && request.method !== "HEAD") {
    return new Response("method not allowed\n", { status: 405, headers });
  }
  const path = new URL(request.url).pathname;
  if (path === "/healthz" || path === "/livez") {
    return state.alive
      ? new Response("ok\n", { status: 200, headers })
      : new Response("stopping\n", { status: 503, headers });
  }
  if (path === "/ready" || path === "/readyz") {
    return state.ready && state.alive
      ? new Response(`ready\n${escapeLine(state.reason)}\n`, { status: 200, headers })
      : new Response(`not ready\n${escapeLine(state.reason)}\n`, { status: 503, headers });
  }
  return new Response("not found\n", { status: 404, headers });
}
