/**
 * The permission flags of the compiled binary, read from the one place they are defined: the
 * `compile` task in deno.json. The Containerfile runs that task, and the tests that run the
 * program as a process pass these flags to `deno run`, so a missing permission fails a test
 * instead of a pod.
 *
 * @module
 */

import { join } from "node:path";
import { REPO_ROOT } from "./_helpers.ts";

/** The `compile` task of deno.json, split into words. */
export function compileTaskWords(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(REPO_ROOT, "deno.json")));
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
