/**
 * The validation-agent flags that the newer operator puts before `verify`:
 * `--interval=5m --skip-initial verify key ... /data`. They are taken off the front of argv here,
 * in Go's `flag` syntax (`-flag`, `--flag`, `--flag=value`, `--flag value`; booleans only as
 * `--flag` or `--flag=true|false`), so the rest goes to the core parser unchanged. Each flag has
 * a `MODEL_SIGNING_*` twin in the option table (`lib/config/options.ts`).
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { findOption, type OptionSpec } from "../config/options.ts";
import { parseBoolean } from "../config/parse_args.ts";

/** How the agent runs. `intervalMs` 0 is one-shot: verify once and exit, as before. */
export interface AgentOptions {
  intervalMs: number;
  healthPort: number;
  /** Address of the health server; undefined: all interfaces. */
  healthAddress?: string;
  skipInitial: boolean;
  watch: boolean;
  stickyReady: boolean;
  fullRehashEvery: number;
  /** Whether any agent flag was on the command line (then the command must be `verify`). */
  explicit: boolean;
}

/** Default port of the health server, as the Go agent and the webhook's probes. */
export const DEFAULT_HEALTH_PORT = 8080;
/** Default number of rounds between full re-hashes. */
export const DEFAULT_FULL_REHASH_EVERY = 12;
/** Shortest accepted interval: one minute. */
export const MIN_INTERVAL_MS = 60_000;

/**
 * Takes the agent flags off the front of argv and merges their environment twins.
 *
 * @returns the options and the remaining arguments for the core parser
 * @throws {ConfigError} `INVALID_VALUE` for a bad duration, port or count, `MISSING_VALUE`,
 * `AGENT_NEEDS_INTERVAL` when a continuous-mode flag is given without an interval
 */
export function splitAgentArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { options: AgentOptions; rest: string[] } {
  const given = new Map<string, { value: string; where: string }>();
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    const match = /^--?([a-z][a-z_-]*)(?:=(.*))?$/s.exec(arg);
    const option = match ? findOption(match[1]!) : undefined;
    if (!match || !option?.scopes.includes("agent")) break;
    const where = `--${option.name}`;
    let value = match[2];
    if (value === undefined && option.kind !== "boolean") {
      value = argv[i + 1];
      if (value === undefined) {
        throw new ConfigError("MISSING_VALUE", `Option ${where} requires a value`);
      }
      i++;
    }
    given.set(option.name, { value: value ?? "true", where });
  }
  const lookup = (name: string): { value: string; where: string } | undefined => {
    const flag = given.get(name);
    if (flag) return flag;
    const envName = (findOption(name) as OptionSpec).env;
    const value = envName ? env[envName] : undefined;
    return value === undefined || value.trim() === "" ? undefined : { value, where: envName };
  };
  const interval = lookup("interval");
  const options: AgentOptions = {
    intervalMs: interval ? parseInterval(interval.value, interval.where) : 0,
    healthPort: port(lookup("health-port")),
    skipInitial: flag(lookup("skip-initial")),
    watch: flag(lookup("watch")),
    stickyReady: flag(lookup("sticky-ready")),
    fullRehashEvery: count(lookup("full-rehash-every")),
    explicit: given.size > 0,
  };
  const address = lookup("health-address")?.value.trim().replace(/^\[(.*)\]$/, "$1");
  if (address) options.healthAddress = address;
  if (options.intervalMs === 0) {
    const needy = ["skip-initial", "watch", "sticky-ready", "full-rehash-every"]
      .map(lookup).filter((v) => v !== undefined && v.value.trim().toLowerCase() !== "false");
    if (needy.length > 0) {
      throw new ConfigError(
        "AGENT_NEEDS_INTERVAL",
        `${needy.map((v) => v!.where).join(", ")} only applies to continuous mode; ` +
          "give --interval (for example --interval=5m) as well",
      );
    }
  }
  return { options, rest: argv.slice(i) };
}

const UNIT_MS: Readonly<Record<string, number>> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/**
 * Parses a Go duration (`300ms`, `5m`, `1h30m`, `1.5h`; a bare `0`) into milliseconds.
 *
 * @throws {ConfigError} `INVALID_VALUE` naming `where`
 */
export function parseDuration(text: string, where: string): number {
  const value = text.trim();
  const bad = () =>
    new ConfigError(
      "INVALID_VALUE",
      `${where} must be a duration such as 5m, 1h or 1h30m, got '${text}'`,
    );
  if (value === "0" || value === "+0") return 0;
  const body = value.replace(/^\+/, "");
  if (body === "" || body.startsWith("-")) throw bad();
  let ms = 0;
  const part = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;
  let at = 0;
  while (at < body.length) {
    part.lastIndex = at;
    const found = part.exec(body);
    if (!found) throw bad();
    ms += Number(found[1]) * UNIT_MS[found[2]!]!;
    at = part.lastIndex;
  }
  if (!Number.isFinite(ms)) throw bad();
  return ms;
}

/** A duration that is 0 or at least {@link MIN_INTERVAL_MS}. */
function parseInterval(text: string, where: string): number {
  const ms = parseDuration(text, where);
  if (ms !== 0 && ms < MIN_INTERVAL_MS) {
    throw new ConfigError(
      "INVALID_VALUE",
      `${where} must be 0 (verify once) or at least 1m, got '${text}'`,
    );
  }
  return Math.round(ms);
}

function port(given: { value: string; where: string } | undefined): number {
  if (!given) return DEFAULT_HEALTH_PORT;
  const n = Number(given.value.trim());
  if (!/^\d+$/.test(given.value.trim()) || n > 65535) {
    throw new ConfigError(
      "INVALID_VALUE",
      `${given.where} must be a port number from 0 to 65535, got '${given.value}'`,
    );
  }
  return n;
}

function count(given: { value: string; where: string } | undefined): number {
  if (!given) return DEFAULT_FULL_REHASH_EVERY;
  const n = Number(given.value.trim());
  if (!/^\d+$/.test(given.value.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new ConfigError(
      "INVALID_VALUE",
      `${given.where} must be a positive whole number, got '${given.value}'`,
    );
  }
  return n;
}

function flag(given: { value: string; where: string } | undefined): boolean {
  return given ? parseBoolean(given.value, given.where) : false;
}
