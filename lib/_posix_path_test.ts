import { posix } from "node:path";
import { assertEquals } from "../tests/_assert.ts";
import { basename, isAbsolute, join, normalize, relative, resolve, sep } from "./_posix_path.ts";

/** Paths built from every sequence of up to three of these pieces, with and without a root. */
function corpus(): string[] {
  const pieces = ["", ".", "..", "a", "b", "...", ".a", "a b", "é", "/", "//"];
  const out = new Set<string>(["", "/", "//", "///"]);
  const grow = (path: string, depth: number) => {
    out.add(path);
    out.add(`/${path}`);
    out.add(`${path}/`);
    if (depth === 0) return;
    for (const piece of pieces) grow(path === "" ? piece : `${path}/${piece}`, depth - 1);
  };
  grow("", 3);
  return [...out];
}

Deno.test("_posix_path gives what node:path's posix functions give", () => {
  const paths = corpus();
  assertEquals(sep, posix.sep);
  for (const p of paths) {
    assertEquals(normalize(p), posix.normalize(p), `normalize(${JSON.stringify(p)})`);
    assertEquals(isAbsolute(p), posix.isAbsolute(p), `isAbsolute(${JSON.stringify(p)})`);
    assertEquals(basename(p), posix.basename(p), `basename(${JSON.stringify(p)})`);
    assertEquals(resolve(p), posix.resolve(p), `resolve(${JSON.stringify(p)})`);
    assertEquals(join(p), posix.join(p), `join(${JSON.stringify(p)})`);
  }
  const some = paths.filter((_, i) => i % 29 === 0);
  for (const p of some) {
    for (const q of some) {
      const args = JSON.stringify([p, q]);
      assertEquals(join(p, q), posix.join(p, q), `join(${args})`);
      assertEquals(resolve(p, q), posix.resolve(p, q), `resolve(${args})`);
      assertEquals(relative(p, q), posix.relative(p, q), `relative(${args})`);
      assertEquals(resolve("/m", p, q), posix.resolve("/m", p, q), `resolve("/m", ${args})`);
    }
  }
  assertEquals(join(), posix.join());
  assertEquals(resolve(), posix.resolve());
});
