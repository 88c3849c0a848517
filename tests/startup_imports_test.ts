/**
 * What the main thread loads before hashing starts costs CPU openssl does not pay, on runs that
 * are CPU-bound (BENCHMARKS.md, "Start-up pass" and "verify key without node: modules"): the
 * modules `digest` and one-shot `verify` load up front import no `node:` module (20-50 ms of CPU
 * each time one is first loaded). The graph comes from `deno info`: static imports only
 * (type-only and dynamic ones load nothing up front).
 *
 * @module
 */

import { join } from "node:path";
import { assertEquals } from "./_assert.ts";
import { REPO_ROOT } from "./_helpers.ts";

interface InfoModule {
  specifier: string;
  dependencies?: { specifier: string; code?: { specifier: string }; isDynamic?: boolean }[];
}

/** Chains from `root` to every `node:` module it loads statically, e.g. `main.ts > a.ts > node:fs`. */
async function staticNodeImports(root: string): Promise<string[]> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", join(REPO_ROOT, root)],
    cwd: REPO_ROOT,
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, stderr);
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as { modules: InfoModule[] };
  const modules = new Map(info.modules.map((m) => [m.specifier, m]));
  const short = (s: string) => s.replace(`file://${REPO_ROOT}/`, "");
  const found: string[] = [];
  const seen = new Set<string>();
  const walk = (specifier: string, chain: string[]) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    if (specifier.startsWith("node:")) {
      found.push([...chain, specifier].map(short).join(" > "));
      return;
    }
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) walk(dep.code.specifier, [...chain, specifier]);
    }
  };
  walk(`file://${join(REPO_ROOT, root)}`, []);
  return found;
}

const ROOTS: [string, string][] = [
  ["main.ts", "the entry point"],
  ["lib/digest_model.ts", "`digest`"],
  ["lib/agent/verify_traced.ts", "one-shot `verify` (every method's common path and `key`)"],
];

for (const [root, what] of ROOTS) {
  Deno.test(`${what} (${root}) imports no node: module up front`, async () => {
    assertEquals(await staticNodeImports(root), []);
  });
}
