/**
 * The bench's result rows (scripts/bench.ts, scripts/bench_peers.ts): model-verify's rows carry
 * their ratio against parallel openssl and, on shapes of many files, against the Deno floor loop
 * measured in the same run (issue 16 asks for both).
 */

import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { type Measurement, type Shape, tableRows } from "../scripts/bench.ts";
import { peerRows } from "../scripts/bench_peers.ts";

const SMALL: Shape = { name: "small", description: "many files", files: [["a", 1]] };
const row = (_bytes: number, m: { seconds: number }) => `${m.seconds.toFixed(2)} | - | -`;

Deno.test("tableRows(): model-verify rows against parallel openssl and the Deno floor", () => {
  const results = new Map<string, Measurement[]>([
    ["openssl-par", [{ seconds: 0.28 }]],
    ["deno-floor", [{ seconds: 0.35 }]],
    ["mv-hash", [{ seconds: 0.7 }]],
    ["mv-cli", [{ seconds: 0.95 }, { seconds: 0.9 }, { seconds: 1.1 }]],
  ]);
  const rows = tableRows(SMALL, 280e6, 32768, results);
  const cli = rows.find((r) => r.includes("CLI `digest`"))!;
  assertStringIncludes(cli, "0.95 |");
  assertStringIncludes(cli, "0.29x parallel, 0.37x Deno floor");
  assertStringIncludes(rows.find((r) => r.includes("hashing only"))!, "0.50x Deno floor");
  const floor = rows.find((r) => r.includes("Deno floor: open"))!;
  assertStringIncludes(floor, "0.80x parallel");
  assert(!floor.includes("x Deno floor"), floor);
});

Deno.test("tableRows(): no Deno floor ratio where the floor was not measured", () => {
  const results = new Map<string, Measurement[]>([
    ["openssl-par", [{ seconds: 1 }]],
    ["mv-cli", [{ seconds: 0.9 }]],
  ]);
  const rows = tableRows({ ...SMALL, name: "shards" }, 2e9, 256e6, results);
  assertEquals(rows.some((r) => r.includes("Deno floor")), false);
});

Deno.test("peerRows(): verify key against openssl, the Deno floor and each peer", () => {
  const rows = peerRows(
    "small",
    280e6,
    { seconds: 1.05, cpuSeconds: 1.75 },
    [{ label: "Go CLI", short: "Go", m: { seconds: 1.26, cpuSeconds: 1.49 } }],
    row,
    { opensslSeconds: 0.26, floorSeconds: 0.35 },
  );
  assertEquals(rows.length, 2);
  assertStringIncludes(
    rows[1]!,
    "CPU 1.75 s; 0.25x parallel openssl, 0.33x Deno floor, 1.20x Go (CPU 0.85x)",
  );
  const bare = peerRows("big", 2e9, { seconds: 1.4 }, [], row);
  assertEquals(bare, ["| big | model-verify CLI `verify key` | 1.40 | - | - |  |"]);
});
