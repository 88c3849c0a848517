/**
 * The termination message: one line that says why the verifier failed, written where Kubernetes
 * reads it, so `kubectl describe pod` shows the reason next to `Init:Error`.
 *
 * Kubernetes bind-mounts a file at the container's `terminationMessagePath` (default
 * `/dev/termination-log`) and keeps at most 4096 bytes of it. The file exists only inside a pod,
 * so it is written only when it is there, or when `MODEL_SIGNING_TERMINATION_LOG` names another
 * file (then it is created). Writing never throws: a verdict must not be lost because its
 * explanation could not be stored.
 *
 * The compiled binary cannot write `/dev/termination-log`: Deno lets only `--allow-all` open files
 * below `/dev`, and the binary's permissions are narrower (see docs/container.md). In a pod, set
 * `MODEL_SIGNING_TERMINATION_LOG` and `terminationMessagePath` to one file under `/tmp`.
 *
 * @module
 */

import { escapeLine } from "../_escape.ts";
import { EXTRA_ENV } from "../config/options.ts";
import type { ModelVerifyError } from "../errors.ts";

/** Kubernetes' default `terminationMessagePath`. */
export const DEFAULT_TERMINATION_LOG = "/dev/termination-log";
/** The environment variable that names another termination message file. */
export const TERMINATION_LOG_ENV = EXTRA_ENV.terminationLog;
/** Kubernetes keeps at most this many bytes of a termination message. */
export const MAX_TERMINATION_MESSAGE_BYTES = 4096;

/** Where and how the message is written; tests inject these. */
export interface TerminationDeps {
  /** The file used when the environment names none; default {@link DEFAULT_TERMINATION_LOG}. */
  defaultPath?: string;
  /** Whether a path exists; defaults to `Deno.stat`. */
  exists?: (path: string) => Promise<boolean>;
  /** Writes the whole file; defaults to `Deno.writeTextFile`. */
  writeTextFile?: (path: string, text: string) => Promise<void>;
  /** Told when the file could not be written (the caller warns once). */
  onError?: (path: string, error: unknown) => void;
}

/**
 * The termination message for an error: its code, then the failure line the log shows, on one
 * line and cut to {@link MAX_TERMINATION_MESSAGE_BYTES} bytes (newline included).
 *
 * @param error the error that ends the process
 * @param headline the failure line as printed, e.g. `Verification failed with error: …`
 * @returns one line ending in a newline
 */
export function formatTerminationMessage(error: ModelVerifyError, headline: string): string {
  return toOneLine(`[${error.code}] ${headline}`, MAX_TERMINATION_MESSAGE_BYTES - 1) + "\n";
}

/**
 * The file to write: `MODEL_SIGNING_TERMINATION_LOG` when set, else the default path when it
 * exists, else none (outside Kubernetes).
 */
export async function terminationLogPath(
  env: Readonly<Record<string, string | undefined>>,
  deps: TerminationDeps = {},
): Promise<string | undefined> {
  const named = env[TERMINATION_LOG_ENV]?.trim();
  if (named) return named;
  const fallback = deps.defaultPath ?? DEFAULT_TERMINATION_LOG;
  const exists = deps.exists ?? pathExists;
  try {
    return await exists(fallback) ? fallback : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Writes the termination message. Never throws.
 *
 * @returns the path written, or undefined when there was none or writing failed
 */
export async function writeTerminationMessage(
  message: string,
  env: Readonly<Record<string, string | undefined>>,
  deps: TerminationDeps = {},
): Promise<string | undefined> {
  let path: string | undefined;
  try {
    path = await terminationLogPath(env, deps);
    if (path === undefined) return undefined;
    const write = deps.writeTextFile ?? ((p: string, text: string) => Deno.writeTextFile(p, text));
    await write(path, message);
    return path;
  } catch (error) {
    if (path !== undefined) {
      try {
        deps.onError?.(path, error);
      } catch {
        // a failing reporter must not lose the verdict either
      }
    }
    return undefined;
  }
}

/**
 * Collapses all whitespace runs (newlines included) to one space, escapes what is left that a
 * viewer would act on ({@link escapeLine}) and cuts to `maxBytes`.
 */
function toOneLine(text: string, maxBytes: number): string {
  const line = escapeLine(text.replace(/\s+/g, " ").trim());
  const encoder = new TextEncoder();
  if (encoder.encode(line).length <= maxBytes) return line;
  const ellipsis = "…";
  const budget = maxBytes - encoder.encode(ellipsis).length;
  let bytes = 0;
  let end = 0;
  for (const char of line) {
    const size = encoder.encode(char).length;
    if (bytes + size > budget) break;
    bytes += size;
    end += char.length;
  }
  return line.slice(0, end) + ellipsis;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
