/**
 * Continuous mode, wired: the health server, the loop, the identity cache, the optional file
 * watcher and tracing, until the stop signal (SIGTERM or SIGINT in the process). Also the traced
 * one-shot verification that main.ts uses when no interval is given.
 *
 * @module
 */

import { escapeLine, stringifyLine } from "../_escape.ts";
import type { VerifyConfig } from "../config/config.ts";
import { EXIT_OK } from "../errors.ts";
import { jsonLine, verifyResultFields } from "../report/json.ts";
import type { LogEvent } from "../report/log_record.ts";
import { counted } from "../report/plural.ts";
import { formatBytes } from "../report/text.ts";
import type { VerifyResult } from "../verify_model.ts";
import {
  type AgentLog,
  AgentLoop,
  REAL_TIMERS,
  type RoundReport,
  type Timers,
} from "./agent_loop.ts";
import type { AgentOptions } from "./agent_options.ts";
import { startHealthServer } from "./health_server.ts";
import { type CacheStats, IdentityCache, type IdentityCacheOptions } from "./identity_cache.ts";
import { createTracing } from "./tracing.ts";
import { verifyTraced } from "./verify_traced.ts";
import { type ModelWatcher, watchModel } from "./watch_model.ts";

export { type TraceContext, verifyTraced } from "./verify_traced.ts";

/** The process around the agent; tests inject the clock, the address and hooks. */
export interface AgentIo {
  env: Readonly<Record<string, string | undefined>>;
  stderr: (text: string) => void;
  /** Aborted on SIGTERM/SIGINT: the agent then stops cleanly and returns 0. */
  stop: AbortSignal;
  timers?: Timers;
  /** Address of the health server; default all interfaces. */
  hostname?: string;
  onListen?: (port: number) => void;
  onRound?: (report: RoundReport, stats: CacheStats | undefined) => void;
  onWatchEvent?: (paths: string[]) => void;
  cache?: IdentityCacheOptions;
  debounceMs?: number;
}

/**
 * Runs continuous validation until `io.stop` is aborted.
 *
 * @returns the exit code (0 after a clean stop)
 * @throws {ConfigError} `HEALTH_PORT_UNAVAILABLE` when the health port cannot be bound
 */
export async function runAgent(
  config: VerifyConfig,
  options: AgentOptions,
  io: AgentIo,
): Promise<number> {
  const timers = io.timers ?? REAL_TIMERS;
  const log = createLog(config, io.stderr, timers);
  const tracing = await createTracing(io.env, (message) => log.warn("warning", message));
  const cache = new IdentityCache(io.cache);
  let stats: CacheStats | undefined;
  const loop = new AgentLoop(
    {
      intervalMs: options.intervalMs,
      skipInitial: options.skipInitial,
      stickyReady: options.stickyReady,
      fullRehashEvery: options.fullRehashEvery,
      ...(io.debounceMs === undefined ? {} : { debounceMs: io.debounceMs }),
    },
    {
      timers,
      log,
      onRound: (report) => io.onRound?.(report, stats),
      verify: async (trigger, full) => {
        const round = cache.round(full);
        stats = round.stats;
        const result = await verifyTraced(
          config,
          { env: { ...io.env }, digestCache: round },
          io.env,
          {
            tracing,
            trigger,
            stats: round.stats,
          },
        );
        for (const warning of result.warnings) log.warn("warning", warning);
        return {
          summary: summarize(result, round.stats),
          fields: roundFields(result, round.stats),
        };
      },
    },
  );
  let server;
  try {
    server = startHealthServer({
      port: options.healthPort,
      ...(io.hostname ?? options.healthAddress
        ? { hostname: io.hostname ?? options.healthAddress }
        : {}),
      state: () => loop.state,
    });
  } catch (error) {
    await tracing.shutdown();
    throw error;
  }
  log.info("agent_started", "Starting validation agent", {
    interval_seconds: options.intervalMs / 1000,
    health_port: server.port,
    skip_initial: options.skipInitial,
    watch: options.watch,
    sticky_ready: options.stickyReady,
    full_rehash_every: options.fullRehashEvery,
    tracing: tracing.enabled,
    model: config.modelPath,
  });
  io.onListen?.(server.port);
  const stopped = new Promise<void>((resolve) => {
    if (io.stop.aborted) resolve();
    else io.stop.addEventListener("abort", () => resolve(), { once: true });
  });
  loop.start();
  let watcher: ModelWatcher | undefined;
  if (options.watch) {
    try {
      watcher = watchModel(
        config.modelPath,
        (paths) => {
          io.onWatchEvent?.(paths);
          loop.notifyChange();
        },
        (error) =>
          log.warn("warning", `File watcher stopped; the interval goes on: ${describe(error)}`),
      );
      log.info("watching", "Watching the model for changes", { path: config.modelPath });
    } catch (error) {
      log.warn(
        "warning",
        `Cannot watch the model for changes; the interval goes on: ${describe(error)}`,
      );
    }
  }
  await stopped;
  log.info("shutting_down", "Shutting down");
  loop.stop();
  watcher?.close();
  await server.close();
  await tracing.shutdown();
  log.info("stopped", "Stopped");
  return EXIT_OK;
}

function summarize(result: VerifyResult, stats: CacheStats): string {
  const hashed = stats.full
    ? "all re-hashed"
    : `${stats.filesHashed} re-hashed (${formatBytes(stats.bytesHashed)}), ` +
      `${stats.filesReused} unchanged`;
  return `${counted(result.files, "file")}, ${formatBytes(result.bytes)}; ${hashed}; ` +
    `${result.seconds.toFixed(2)} s; ${result.rootDigest}`;
}

/** The typed fields of a round's `verification_succeeded` event. */
function roundFields(result: VerifyResult, stats: CacheStats): Record<string, unknown> {
  return {
    ...verifyResultFields(result),
    files_hashed: stats.filesHashed,
    bytes_hashed: stats.bytesHashed,
    files_reused: stats.filesReused,
  };
}

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
/** The fields the text format shows as `key=value` after the message. */
const TEXT_FIELDS = [
  "round",
  "trigger",
  "full_rehash",
  "interval_seconds",
  "health_port",
  "skip_initial",
  "watch",
  "sticky_ready",
  "full_rehash_every",
  "tracing",
  "model",
  "path",
  "next_in_seconds",
  "code",
];

/**
 * A line logger on stderr in the configured format: one JSON object per line in the log schema
 * of docs/logs.md (`timestamp`, `level`, `event`, `message`, typed fields), or text
 * (`<time> <LEVEL> <message> key=value ...`).
 */
export function createLog(
  config: Pick<VerifyConfig, "logFormat" | "logLevel">,
  write: (line: string) => void,
  timers: Pick<Timers, "now">,
): AgentLog {
  const threshold = LEVELS.indexOf(config.logLevel);
  const emit = (
    level: "INFO" | "WARNING" | "ERROR",
    event: LogEvent,
    message: string,
    fields: Record<string, unknown> = {},
  ) => {
    if (LEVELS.indexOf(level) < threshold) return;
    const now = new Date(timers.now());
    const code = (fields.error as { code?: unknown } | undefined)?.code;
    if (config.logFormat === "json") {
      const name = level === "INFO" ? "info" : level === "WARNING" ? "warning" : "error";
      write(jsonLine({ level: name, event, message, ...fields }, now));
      return;
    }
    // Text keeps the short context; the figures are in the message already.
    const extra = Object.entries(fields)
      .concat(code === undefined ? [] : [["code", code]])
      .filter(([k]) => TEXT_FIELDS.includes(k as string))
      .map(([k, v]) => ` ${k}=${stringifyLine(v)}`).join("");
    write(`${now.toISOString()} ${level} ${escapeLine(message)}${extra}`);
  };
  return {
    info: (event, message, fields) => emit("INFO", event, message, fields),
    warn: (event, message, fields) => emit("WARNING", event, message, fields),
    error: (event, message, fields) => emit("ERROR", event, message, fields),
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
