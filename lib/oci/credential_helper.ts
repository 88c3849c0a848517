/**
 * Docker credential helpers (`credsStore`, `credHelpers` in a docker config): runs
 * `docker-credential-<name> get` with the registry on stdin and reads `{"Username", "Secret"}`
 * from stdout, within {@link HELPER_TIMEOUT_MS} and {@link MAX_HELPER_OUTPUT} bytes. What the
 * helper prints is never repeated in a message (it may hold the secret).
 *
 * Running a program needs Deno's run permission. `deno run --allow-run` (or
 * `--allow-run=docker-credential-NAME`) grants it; the compiled binary and `install-cli` do not
 * (a run permission cannot be scoped to a name prefix), and there a helper in the config stops
 * with `REGISTRY_CREDENTIAL_HELPER_DENIED` naming the environment variables to use instead.
 *
 * @module
 */

import { concatBytes } from "../_concat_bytes.ts";
import { escapeName, quoteValue } from "../_escape.ts";
import { isObject } from "../bundle/statement.ts";
import { EXTRA_ENV } from "../config/options.ts";
import { ConfigError } from "../errors.ts";

/** Longest a helper may run, in milliseconds. */
export const HELPER_TIMEOUT_MS = 10_000;
/** Largest helper output read. */
export const MAX_HELPER_OUTPUT = 64 * 1024;

/** What a helper answered: a user and password, an identity (refresh) token, or nothing stored. */
export type HelperAnswer =
  | { kind: "basic"; username: string; password: string }
  | { kind: "refresh"; token: string }
  | undefined;

/** How to run one helper; `timeoutMs` for tests. */
export interface HelperRun {
  /** The helper's name: `pass` runs `docker-credential-pass`. */
  name: string;
  /** The server the helper is asked about (what `docker login` stored it under). */
  server: string;
  /** For messages: where the helper was named, e.g. `'/root/.docker/config.json' credsStore`. */
  where: string;
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs?: number;
}

/**
 * Asks a credential helper for the server's credentials; undefined when it has none.
 *
 * @throws {ConfigError} `REGISTRY_CREDENTIAL_HELPER_DENIED` (no run permission),
 *   `REGISTRY_CREDENTIAL_HELPER_FAILED` (missing, failed, slow, oversized or malformed answer),
 *   `REGISTRY_AUTH_INVALID` (a helper name that is not a plain name)
 */
export async function runCredentialHelper(run: HelperRun): Promise<HelperAnswer> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(run.name)) {
    throw new ConfigError(
      "REGISTRY_AUTH_INVALID",
      `${run.where} names the credential helper ${quoteValue(run.name)}, which is not a plain ` +
        "name; fix the docker config",
    );
  }
  const program = `docker-credential-${run.name}`;
  const failed = (why: string, cause?: unknown) =>
    new ConfigError(
      "REGISTRY_CREDENTIAL_HELPER_FAILED",
      `The credential helper ${program} (${run.where}) ${why}; fix it, or set ` +
        `${EXTRA_ENV.registryUsername} and ${EXTRA_ENV.registryPassword}`,
      cause === undefined ? undefined : { cause },
    );
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args: ["get"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      // The PATH the configuration sees (tests put a helper on it); the rest is inherited.
      ...(run.env.PATH ? { env: { PATH: run.env.PATH } } : {}),
    }).spawn();
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable || error instanceof Deno.errors.PermissionDenied) {
      throw new ConfigError(
        "REGISTRY_CREDENTIAL_HELPER_DENIED",
        `${run.where} names the credential helper ${program}, but this program may not run ` +
          `other programs (the compiled binary has no --allow-run); set ` +
          `${EXTRA_ENV.registryUsername} and ${EXTRA_ENV.registryPassword} instead (see ` +
          "docs/oci.md)",
        { cause: error },
      );
    }
    if (error instanceof Deno.errors.NotFound) throw failed("is not on PATH", error);
    throw failed(`cannot be started: ${escapeName(String(error))}`, error);
  }
  const timeoutMs = run.timeoutMs ?? HELPER_TIMEOUT_MS;
  const reader = child.stdout.getReader();
  let timedOut = false;
  // Killed, and its output abandoned (a grandchild may still hold the pipe open).
  const timer = setTimeout(() => {
    timedOut = true;
    kill(child);
    reader.cancel().catch(() => {});
  }, timeoutMs);
  try {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(run.server)).catch(() => {});
    await writer.close().catch(() => {});
    const chunks: Uint8Array[] = [];
    let length = 0;
    while (true) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done || value === undefined) break;
      length += value.length;
      if (length > MAX_HELPER_OUTPUT) {
        kill(child);
        throw failed(`printed more than ${MAX_HELPER_OUTPUT} bytes`);
      }
      chunks.push(value);
    }
    const status = await child.status;
    if (timedOut) throw failed(`did not answer within ${timeoutMs / 1000} s`);
    const text = new TextDecoder().decode(concatBytes(chunks, length));
    if (status.code !== 0) {
      // docker-credential-helpers report "credentials not found in native keychain" on stdout.
      if (/credentials not found/i.test(text)) return undefined;
      throw failed(`exited with code ${status.code}`);
    }
    return parseAnswer(text, failed);
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => {});
    await child.status.catch(() => {});
  }
}

function parseAnswer(text: string, failed: (why: string) => ConfigError): HelperAnswer {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw failed("did not print JSON");
  }
  if (!isObject(json) || typeof json.Secret !== "string" || typeof json.Username !== "string") {
    throw failed("printed no Username and Secret");
  }
  if (json.Secret === "") return undefined;
  // `<token>` as the user name: the secret is an identity token (docker's convention).
  if (json.Username === "<token>") return { kind: "refresh", token: json.Secret };
  return { kind: "basic", username: json.Username, password: json.Secret };
}

function kill(child: Deno.ChildProcess): void {
  try {
    child.kill("SIGKILL");
  } catch { /* already gone */ }
}
