/**
 * Data flows one way through lib/ (config -> tree -> manifest -> signature -> verification ->
 * report): no module may import itself back, directly or through others. This walks the import
 * graph of main.ts and every module under lib/ — static imports and re-exports, type-only ones
 * too, and dynamic `import("...")` — and fails naming the first cycle it finds.
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { assertEquals } from "./_assert.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Removes comments, and the contents of strings and template literals other than the
 * specifiers import statements name, so `import` in a comment or a message is not read as one.
 * Strings keep their quotes and text (a specifier is a string); template literals are blanked.
 */
export function stripComments(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      i = end < 0 ? source.length : end + 2;
      out += " ";
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < source.length && source[j] !== c && source[j] !== "\n") {
        j += source[j] === "\\" ? 2 : 1;
      }
      out += source.slice(i, j + 1);
      i = j + 1;
    } else if (c === "`") {
      let j = i + 1;
      while (j < source.length && source[j] !== "`") j += source[j] === "\\" ? 2 : 1;
      out += "``";
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** Specifiers of every import, re-export and dynamic `import()` with a literal argument. */
export function importSpecifiers(source: string): string[] {
  const code = stripComments(source);
  const found: string[] = [];
  const patterns = [
    // import x from "a"; import { x } from "a"; import type { X } from "a"; export * from "a"
    /\b(?:import|export)\s+(?:type\s+)?[\w*{}\s,$]*?\bfrom\s*(["'])([^"'\n]+)\1/g,
    // import "a";
    /\bimport\s*(["'])([^"'\n]+)\1/g,
    // import("a"), await import('a')
    /\bimport\s*\(\s*(["'])([^"'\n]+)\1\s*\)/g,
  ];
  for (const pattern of patterns) {
    for (const match of code.matchAll(pattern)) found.push(match[2]!);
  }
  return found;
}

/** Import graph of local modules: absolute path -> absolute paths it imports (relative only). */
export async function importGraph(entries: string[]): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  const pending = [...entries];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (graph.has(file)) continue;
    const targets = importSpecifiers(await Deno.readTextFile(file))
      .filter((s) => s.startsWith("./") || s.startsWith("../"))
      .map((s) => resolve(dirname(file), s));
    graph.set(file, targets);
    pending.push(...targets.filter((t) => !graph.has(t)));
  }
  return graph;
}

/** The first cycle found (a path that ends where it starts), or undefined. */
export function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    state.set(node, "open");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === "open") return [...stack.slice(stack.indexOf(next)), next];
      if (!state.has(next)) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    if (state.has(node)) continue;
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

async function tsFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...await tsFiles(path));
    else if (entry.isFile && path.endsWith(".ts") && !path.endsWith("_test.ts")) out.push(path);
  }
  return out;
}

Deno.test("lib/ and main.ts have no import cycle", async () => {
  const entries = [join(ROOT, "main.ts"), ...await tsFiles(join(ROOT, "lib"))];
  const graph = await importGraph(entries);
  const cycle = findCycle(graph);
  assertEquals(cycle?.map((path) => relative(ROOT, path)).join(" -> "), undefined);
});

Deno.test("importSpecifiers reads every import form and skips comments and strings", () => {
  const source = [
    'import a from "./a.ts";',
    "import { b, type B } from './b.ts';",
    'import type {\n  C,\n  D,\n} from "./c.ts";',
    'import * as e from "./e.ts";',
    'export { f } from "./f.ts";',
    'export * from "./g.ts";',
    'import "./h.ts";',
    'const i = await import("./i.ts");',
    "const j = import ( './j.ts' );",
    '// import k from "./k.ts";',
    '/* import("./l.ts") */',
    'const m = `import("./m.ts")`;',
    'import n, { o } from "npm:n";',
  ].join("\n");
  assertEquals(importSpecifiers(source).sort(), [
    "./a.ts",
    "./b.ts",
    "./c.ts",
    "./e.ts",
    "./f.ts",
    "./g.ts",
    "./h.ts",
    "./i.ts",
    "./j.ts",
    "npm:n",
  ]);
});

Deno.test("findCycle finds direct, indirect and self cycles, and none in a DAG", () => {
  const graph = (edges: Record<string, string[]>) => new Map(Object.entries(edges));
  assertEquals(findCycle(graph({ a: ["b"], b: ["c"], c: [], d: ["b", "c"] })), undefined);
  assertEquals(findCycle(graph({ a: ["b"], b: ["a"] })), ["a", "b", "a"]);
  assertEquals(findCycle(graph({ a: ["b"], b: ["c"], c: ["a"] })), ["a", "b", "c", "a"]);
  assertEquals(findCycle(graph({ a: ["a"] })), ["a", "a"]);
  assertEquals(findCycle(graph({ z: ["y"], y: ["x"], x: ["y"] })), ["x", "y", "x"]);
});

Deno.test("importGraph follows relative imports, including dynamic ones, across files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(join(dir, "a.ts"), 'import { b } from "./b.ts";\nexport const a = 1;');
    await Deno.writeTextFile(join(dir, "b.ts"), 'export const b = () => import("./sub/c.ts");');
    await Deno.mkdir(join(dir, "sub"));
    await Deno.writeTextFile(join(dir, "sub", "c.ts"), 'import type { a } from "../a.ts";');
    const graph = await importGraph([join(dir, "a.ts")]);
    assertEquals(
      findCycle(graph)?.map((path) => relative(dir, path)),
      ["a.ts", "b.ts", join("sub", "c.ts"), "a.ts"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
