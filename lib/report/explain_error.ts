/**
 * Turns what the runtime throws for foreseeable conditions into what the user can do, instead
 * of "Unexpected error" or Deno's "run again with the --allow-write flag" (advice a user of the
 * compiled binary cannot follow):
 *
 * - Deno's sandbox (`NotCapable`): the compiled binary may write only below
 *   {@link WRITABLE_DIRS}; the message names the path and says to choose one there.
 * - The file system (`PermissionDenied`, EACCES/EPERM): names the path and the owner/mode fix.
 *
 * It looks through `cause` chains and `AggregateError` members, so a typed error that wrapped
 * one keeps its context and gets the advice. Anything else goes to `toModelVerifyError`.
 *
 * @module
 */

import { ConfigError, type ModelVerifyError, toModelVerifyError } from "../errors.ts";

/** Where the compiled binary may write (deno.json's compile task; a test keeps them equal). */
export const WRITABLE_DIRS = ["/tmp", "/.sigstore"] as const;

const SANDBOX = /Requires (\w+) access to ("[^"]*"|[^,]*), run again with the --allow-\w+ flag/;

/**
 * The error to report for anything thrown.
 *
 * @returns a typed error; a sandbox or file-system permission failure becomes a ConfigError
 * (`SANDBOX_DENIED`, `PERMISSION_DENIED`, exit 2) whose message says what to do
 */
export function explainError(thrown: unknown): ModelVerifyError {
  const typed = toModelVerifyError(thrown);
  // The signature writer (lib/sign/write_signature.ts) already says what to do about a refusal.
  if (typed.code === "SIGNATURE_NOT_WRITABLE") return typed;
  const sandbox = findCause(thrown, (e) => e.name === "NotCapable" || SANDBOX.test(e.message));
  if (sandbox) {
    const advice = sandboxAdvice(sandbox.message);
    const context = typed.code === "INTERNAL" ? "" : stripSandboxText(typed.message);
    return new ConfigError("SANDBOX_DENIED", context ? `${context}: ${advice}` : advice, {
      cause: thrown,
    });
  }
  if (typed.code !== "INTERNAL") return typed;
  const denied = findCause(thrown, (e) => e.name === "PermissionDenied");
  if (denied) {
    return new ConfigError(
      "PERMISSION_DENIED",
      `Permission denied by the file system (${denied.message}); make the file or directory ` +
        "readable (and writable, for an output) by the user model-verify runs as, or choose " +
        "another path",
      { cause: thrown },
    );
  }
  return typed;
}

/** What to do about a sandbox refusal, from Deno's message. */
export function sandboxAdvice(message: string): string {
  const match = SANDBOX.exec(message);
  const kind = match?.[1] ?? "this";
  const target = match?.[2]?.replace(/^"|"$/g, "") ?? "";
  const what = target ? ` '${target}'` : "";
  switch (kind) {
    case "write":
      return `model-verify may not write${what}: the compiled binary writes only below ` +
        `${WRITABLE_DIRS.join(" and ")}; choose a path there (for sign: --signature ` +
        "/tmp/model.sig; for the termination message: MODEL_SIGNING_TERMINATION_LOG=" +
        "/tmp/termination-log)";
    case "read":
      return `model-verify may not read${what}; this binary was built with narrower read ` +
        "permissions than the released one (deno.json's compile task)";
    case "net":
      return `model-verify may not connect to${what}; without network access verify ` +
        "Sigstore signatures with --offline or --trust-config";
    default:
      return `model-verify's sandbox does not allow ${kind} access${what}; this is a build ` +
        "problem (deno.json's compile task), please report it";
  }
}

function stripSandboxText(message: string): string {
  return message.replace(SANDBOX, "").replace(/[\s:;,(]+$/, "").trim();
}

function findCause(thrown: unknown, test: (e: Error) => boolean): Error | undefined {
  const seen = new Set<unknown>();
  const queue: unknown[] = [thrown];
  while (queue.length > 0) {
    const next = queue.shift();
    if (!(next instanceof Error) || seen.has(next)) continue;
    seen.add(next);
    if (test(next)) return next;
    if (next instanceof AggregateError) queue.push(...next.errors);
    queue.push(next.cause);
  }
  return undefined;
}
