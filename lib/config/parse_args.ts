/**
 * Tokenizes argv in model_signing's grammar: `verify [sigstore|key|certificate] [flags] MODEL`,
 * `digest [flags] MODEL`, `sign key|certificate [flags] MODEL`. Option names take dashes or
 * underscores; values come as `--flag value` or `--flag=value`; booleans as `--flag` and, where
 * negatable, `--no-flag`. Options may stand before or after the command words.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import type { Method } from "../verify/types.ts";
import { nearestName } from "./nearest.ts";
import { findOption, OPTIONS, type OptionSpec, type Scope } from "./options.ts";

/** The commands of the program. */
export type Command = "verify" | "digest" | "sign" | "verify-bundle" | "help" | "version";

/** Raw option values: strings, lists, or booleans, keyed by canonical option name. */
export type RawValues = Map<string, string | string[] | boolean>;

/** What argv says, before env and defaults are merged in. */
export interface ParsedArgs {
  command: Command;
  /** verify: the method word when given; sign: `key` or `certificate`. */
  method?: Method;
  values: RawValues;
  positionals: string[];
  /** verify-bundle: the arguments after the command word, untouched. */
  rest: string[];
  /** help: the command words it was asked for (`["verify", "key"]`); empty for the overview. */
  helpTopic?: string[];
}

const METHODS: readonly Method[] = ["sigstore", "key", "certificate"];
const COMMANDS = ["verify", "digest", "sign", "verify-bundle"] as const;

/**
 * Parses argv. An empty argv is `verify` configured by the environment alone.
 *
 * @throws {ConfigError} `UNKNOWN_OPTION` (naming the nearest known option), `MISSING_VALUE`,
 * `UNKNOWN_COMMAND`, `UNKNOWN_METHOD` (a misspelled method word: `verify keys MODEL`)
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const values: RawValues = new Map();
  const positionals: string[] = [];
  let command: Command | undefined;
  let method: Method | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (command === "verify-bundle") {
      const rest = argv.slice(i);
      if (rest.includes("--help") || rest.includes("-h")) return help(["verify-bundle"]);
      return { command, values, positionals, rest };
    }
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-h" || arg === "--help") {
      return help(helpTopic(command, method, argv.slice(i + 1)));
    }
    if (arg === "--version") return { command: "version", values, positionals, rest: [] };
    if (arg.startsWith("--") && arg.length > 2) {
      if (argv.slice(i + 1).some((a) => a === "--help" || a === "-h")) {
        // `verify --bad --help` still shows the help asked for.
        try {
          i += readOption(argv, i, values);
        } catch {
          // ignored: the help comes next
        }
        continue;
      }
      i += readOption(argv, i, values, helpHint(command, method));
      continue;
    }
    if (arg.startsWith("-") && arg.length > 1) {
      throw new ConfigError(
        "UNKNOWN_OPTION",
        `No such option: ${arg}${didYouMean(arg.replace(/^-+/, ""))} ${helpHint(command, method)}`,
      );
    }
    if (command === undefined) {
      if (!(COMMANDS as readonly string[]).includes(arg)) {
        const near = nearestName(arg, COMMANDS);
        throw new ConfigError(
          "UNKNOWN_COMMAND",
          `Unknown command '${arg}'; ${near ? `did you mean '${near}'? ` : ""}` +
            "expected verify, digest, sign or verify-bundle (see --help)",
        );
      }
      command = arg as Command;
      continue;
    }
    if (
      (command === "verify" || command === "sign") && method === undefined &&
      positionals.length === 0 && (METHODS as readonly string[]).includes(arg)
    ) {
      method = arg as Method;
      continue;
    }
    positionals.push(arg);
  }
  if (command === "verify-bundle") return { command, values, positionals, rest: [] };
  if ((command === "verify" || command === "sign") && method === undefined) {
    checkMethodWord(command, positionals);
  }
  const parsed: ParsedArgs = { command: command ?? "verify", values, positionals, rest: [] };
  if (method) parsed.method = method;
  return parsed;
}

/**
 * The command a command line runs, read without the full parser (for reporting an error that
 * the parser raised): the first word that is not an option or an option's value.
 */
export function commandOf(argv: readonly string[]): Command {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    if (arg === "-h" || arg === "--help") return "help";
    if (arg.startsWith("-")) {
      const option = arg.includes("=") ? undefined : findOption(arg.replace(/^-+/, ""));
      if (option && option.kind !== "boolean") i++;
      continue;
    }
    return (COMMANDS as readonly string[]).includes(arg) ? arg as Command : "verify";
  }
  return "verify";
}

function help(topic: string[]): ParsedArgs {
  return { command: "help", values: new Map(), positionals: [], rest: [], helpTopic: topic };
}

/** The command words before `--help`, completed by the words after it. */
function helpTopic(command: Command | undefined, method: Method | undefined, after: string[]) {
  const words = after.filter((a) => !a.startsWith("-"));
  const cmd = command ?? words.find((w) => (COMMANDS as readonly string[]).includes(w));
  if (!cmd) return [];
  const m = method ?? words.find((w) => (METHODS as readonly string[]).includes(w));
  return m && (cmd === "verify" || cmd === "sign") ? [cmd, m] : [cmd];
}

function helpHint(command: Command | undefined, method: Method | undefined): string {
  const words = [command ?? "", method ?? ""].filter(Boolean).join(" ");
  return `(see ${words ? words + " " : ""}--help)`;
}

/** Every spelling the parser accepts, for suggestions. */
function knownFlags(): string[] {
  const flags = ["help", "version"];
  for (const o of OPTIONS) {
    flags.push(o.name);
    if (o.negatable) flags.push(`no-${o.name}`);
  }
  return flags;
}

function didYouMean(name: string): string {
  const near = nearestName(name, knownFlags());
  return near ? `; did you mean --${near}?` : "";
}

/** `verify keys MODEL`: a misspelled method word, not a second model path. */
function checkMethodWord(command: "verify" | "sign", positionals: string[]): void {
  const first = positionals[0];
  if (first === undefined || (command === "verify" && positionals.length < 2)) return;
  const near = nearestName(first, METHODS);
  if (!near) return;
  const methods = command === "sign" ? "key or certificate" : "sigstore, key or certificate";
  throw new ConfigError(
    "UNKNOWN_METHOD",
    `'${first}' is not a method of '${command}' (${methods}); did you mean '${command} ${near}'?`,
  );
}

/** Reads one option at `argv[i]`; returns how many extra tokens it consumed. */
function readOption(
  argv: readonly string[],
  i: number,
  values: RawValues,
  hint = "(see --help)",
): number {
  const arg = argv[i]!;
  const eq = arg.indexOf("=");
  const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
  const inline = eq === -1 ? undefined : arg.slice(eq + 1);
  let option = findOption(name);
  let negated = false;
  if (!option && /^no[-_]/.test(name)) {
    const positive = findOption(name.slice(3));
    if (positive?.negatable) {
      option = positive;
      negated = true;
    }
  }
  if (!option) {
    throw new ConfigError("UNKNOWN_OPTION", `No such option: --${name}${didYouMean(name)} ${hint}`);
  }
  const flag = `--${negated ? "no-" : ""}${option.name}`;
  if (option.kind === "boolean") {
    if (inline === undefined) values.set(option.name, !negated);
    else if (negated) {
      throw new ConfigError("INVALID_VALUE", `Option ${flag} takes no value`);
    } else values.set(option.name, parseBoolean(inline, flag));
    return 0;
  }
  let value = inline;
  let used = 0;
  if (value === undefined) {
    const next = argv[i + 1];
    if (next === undefined || (next.startsWith("--") && next.length > 2)) {
      throw new ConfigError("MISSING_VALUE", `Option ${flag} requires a value`);
    }
    value = next;
    used = 1;
  }
  if (option.kind === "list") {
    const list = values.get(option.name);
    values.set(option.name, [...(Array.isArray(list) ? list : []), value]);
  } else values.set(option.name, value);
  return used;
}

const TRUE = ["true", "1", "yes", "on"];
const FALSE = ["false", "0", "no", "off"];

/**
 * Reads a boolean the way the webhook may write it: true/false, 1/0, yes/no (any case).
 *
 * @throws {ConfigError} `INVALID_BOOLEAN` naming `where` (the flag or env variable)
 */
export function parseBoolean(value: string, where: string): boolean {
  const v = value.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new ConfigError(
    "INVALID_BOOLEAN",
    `${where} must be true or false (also 1/0, yes/no), got '${value}'`,
  );
}

/**
 * Rejects options that the chosen command does not take, as model_signing (click) does.
 *
 * @throws {ConfigError} `OPTION_NOT_APPLICABLE`
 */
export function checkScope(values: RawValues, scope: Scope, label: string): void {
  for (const name of values.keys()) {
    const option = findOption(name) as OptionSpec;
    if (!option.scopes.includes(scope)) {
      throw new ConfigError(
        "OPTION_NOT_APPLICABLE",
        `Option --${option.name} does not apply to '${label}' (see ${label} --help)`,
      );
    }
  }
}

/**
 * One option's value read without the full parser, for reporting before the configuration
 * exists (a bad flag): `--name value`, `--name=value` (dashes or underscores), else its
 * environment twin; undefined when neither is given.
 */
export function peekOption(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  name: string,
): string | undefined {
  const option = findOption(name);
  if (!option) return undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") break;
    const eq = arg.indexOf("=");
    const flag = (eq === -1 ? arg : arg.slice(0, eq)).replace(/^--/, "");
    if (!arg.startsWith("--") || findOption(flag) !== option) continue;
    return eq === -1 ? argv[i + 1] : arg.slice(eq + 1);
  }
  const value = option.env ? env[option.env] : undefined;
  return value === undefined || value.trim() === "" ? undefined : value;
}
