import { assert, assertEquals } from "../../tests/_assert.ts";
import { claimEarlyWorkers, startEarlyWorkers, startsEarly } from "./early_workers.ts";
import { WorkerPrestart } from "./prestart.ts";

const MAIN = new URL("../../main.ts", import.meta.url).href;

Deno.test("startsEarly() only for digest and verify runs, never for help or version", () => {
  assert(startsEarly(["digest", "model"]));
  assert(startsEarly(["verify", "key", "--public_key", "k", "model"]));
  assert(!startsEarly(["verify", "--help"]));
  assert(!startsEarly(["digest", "-h"]));
  assert(!startsEarly(["--version"]));
  assert(!startsEarly(["sign", "key", "model"]));
  assert(!startsEarly(["--interval=5m", "verify", "key", "model"]));
  assert(!startsEarly([]));
});

Deno.test("no early worker unless main.ts is the main module", () => {
  // The test runner's main module is this test: importing the module started nothing.
  assertEquals(claimEarlyWorkers(), undefined);
  startEarlyWorkers("file:///elsewhere/main.ts", ["digest", "model"]);
  assertEquals(claimEarlyWorkers(), undefined);
});

Deno.test("WorkerPrestart claims the early workers once; they count as started", async () => {
  startEarlyWorkers(MAIN, ["digest", "model"]);
  const prestart = await WorkerPrestart.create();
  try {
    assert(prestart.workers.started >= 1);
    // Claimed: a second prestart starts from nothing.
    assertEquals(claimEarlyWorkers(), undefined);
    const second = await WorkerPrestart.create();
    assertEquals(second.workers.started, 0);
    second.close();
  } finally {
    prestart.close();
  }
  assertEquals(prestart.workers.adopt(), undefined);
});
