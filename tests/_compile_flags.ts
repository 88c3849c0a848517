/**
 * The permission flags of the compiled binary, read from the one place they are defined: the
 * `compile` task in deno.json. The Containerfile runs that task, and the tests that run the
 * program as a process pass these flags to `deno run`, so a missing permission fails a test
 * instead of a pod.
 *
 * `MODEL_VERIFY_BIN=path/to/model-verify deno task test` runs those same process-level tests
 * against a compiled binary instead (see {@link programArgv}).
 *
 * @module
 */

import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (computed here, so that tests/_helpers.ts can import this module). */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The `compile` task of deno.json, split into words. */
export function compileTaskWords(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const task: unknown = config?.tasks?.compile;
  if (typeof task !== "string") throw new Error("deno.json has no 'compile' task");
  return task.trim().split(/\s+/);
}

/** The permission flags (`--allow-*`, `--deny-*`, `-A`) of the compile task, in order. */
export function compilePermissionFlags(): string[] {
  return compileTaskWords().filter((word) =>
    /^--(allow|deny)-[a-z]+(=.*)?$/.test(word) || word === "-A"
  );
}

/** The values of one scoped permission flag (`--allow-write=/a,/b` gives `["/a", "/b"]`). */
export function permissionScope(flags: readonly string[], name: string): string[] | undefined {
  const flag = flags.find((f) => f === `--${name}` || f.startsWith(`--${name}=`));
  if (flag === undefined) return undefined;
  const eq = flag.indexOf("=");
  return eq === -1 ? [] : flag.slice(eq + 1).split(",").filter((v) => v !== "");
}

/** The environment variable that names a compiled binary to test instead of `deno run`. */
export const BIN_ENV = "MODEL_VERIFY_BIN";

/**
 * The absolute path in `MODEL_VERIFY_BIN`, or undefined when unset or empty. A path that is not
 * an executable file stops the test run at once: a typo must not quietly test `deno run` instead.
 */
export const MODEL_VERIFY_BIN: string | undefined = (() => {
  const given = Deno.env.get(BIN_ENV)?.trim();
  if (!given) return undefined;
  const path = resolve(given);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    throw new Error(`${BIN_ENV}='${given}' cannot be used: ${error}`);
  }
  if (!info.isFile || ((info.mode ?? 0o111) & 0o111) === 0) {
    throw new Error(`${BIN_ENV}='${given}' is not an executable file`);
  }
  return path;
})();

/**
 * The argv that runs model-verify as a process with `args`: the binary named by
 * `MODEL_VERIFY_BIN`, else `deno run` on main.ts with the compile task's permission flags.
 */
export function programArgv(args: readonly string[]): string[] {
  if (MODEL_VERIFY_BIN) return [MODEL_VERIFY_BIN, ...args];
  return [
    Deno.execPath(),
    "run",
    "--quiet",
    "--config",
    join(ROOT, "deno.json"),
    ...compilePermissionFlags(),
    join(ROOT, "main.ts"),
    ...args,
  ];
}
