import { assert, assertEquals } from "../tests/_assert.ts";
import { compileTaskWords } from "../tests/_compile_flags.ts";
import { collectGarbage } from "./collect_garbage.ts";

Deno.test("collectGarbage() runs the runtime's gc when exposed, and does nothing otherwise", () => {
  const global = globalThis as { gc?: unknown };
  const saved = Object.getOwnPropertyDescriptor(globalThis, "gc");
  try {
    let calls = 0;
    global.gc = () => calls++;
    collectGarbage();
    assertEquals(calls, 1);
    delete global.gc;
    collectGarbage(); // no gc: no error
    global.gc = "not a function";
    collectGarbage();
  } finally {
    if (saved) Object.defineProperty(globalThis, "gc", saved);
    else delete global.gc;
  }
});

Deno.test("the compile task exposes V8's gc, which collectGarbage() needs to lower the peak", () => {
  const flags = compileTaskWords().filter((w) => w.startsWith("--v8-flags="));
  assertEquals(flags.length, 1);
  assert(flags[0]!.slice("--v8-flags=".length).split(",").includes("--expose-gc"), flags[0]);
});
