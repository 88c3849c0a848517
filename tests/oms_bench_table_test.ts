/**
 * scripts/oms_bench_table.ts: the side-by-side table of the conformance benchmark harness's
 * result files (BENCHMARKS.md "OMS conformance benchmark harness").
 *
 * @module
 */

import { formatTable, type HarnessEntry } from "../scripts/oms_bench_table.ts";
import { assertEquals, assertStringIncludes } from "./_assert.ts";

const MIB = 2 ** 20;

function ok(
  client: string,
  scenario: string,
  params: Partial<NonNullable<HarnessEntry["parameters"]>>,
  mean: number,
  min: number,
): HarnessEntry {
  return {
    status: "ok",
    client,
    scenario,
    operation: scenario.includes("sign") ? "sign" : "hash",
    parameters: { model_size_bytes: 100 * MIB, file_count: 1, hash_algorithm: "sha256", ...params },
    results: { mean_ms: mean, min_ms: min, repeat: 5 },
  };
}

Deno.test("formatTable() puts each client's mean (min) on the same row, '-' where a client has none", () => {
  const table = formatTable([
    ok("model-verify", "key_sign_throughput", { file_count: 10 }, 120.4, 99.6),
    ok("python", "key_sign_throughput", { file_count: 10 }, 310, 300),
    ok("model-verify", "hash_algorithm_sweep", { hash_algorithm: "sha256" }, 50, 40),
    ok("model-verify", "hash_algorithm_sweep", { hash_algorithm: "blake2b" }, 70, 60),
    ok("go", "worker_count_sweep", { model_size_bytes: 2 * 2 ** 30, max_workers: 4 }, 9, 8),
    {
      client: "python",
      scenario: "chunk_size_sweep",
      operation: "hash",
      status: "skipped",
      skip_reason: "adapter missing flags: --chunk-size",
    },
  ], ["model-verify", "python", "go"]);
  assertEquals(table.split("\n").slice(0, 6), [
    "| scenario | op | size | files | parameter | model-verify | python | go |",
    "|---|---|---|---|---|---:|---:|---:|",
    "| key_sign_throughput | sign | 100 MiB | 10 |  | 120 (100) | 310 (300) | - |",
    "| hash_algorithm_sweep | hash | 100 MiB | 1 | hash_algorithm=sha256 | 50 (40) | - | - |",
    "| hash_algorithm_sweep | hash | 100 MiB | 1 | hash_algorithm=blake2b | 70 (60) | - | - |",
    "| worker_count_sweep | hash | 2 GiB | 1 | max_workers=4 | - | - | 9 (8) |",
  ]);
  assertStringIncludes(
    table,
    "- python: chunk_size_sweep skipped (adapter missing flags: --chunk-size)",
  );
});

Deno.test("formatTable() keeps a hostile name on its row and out of the table syntax", () => {
  const table = formatTable([
    ok("model-verify", "x|y\nz", {}, 1, 1),
  ], ["model-verify"]);
  assertEquals(table.split("\n").length, 3);
  assertStringIncludes(table, "| x\\|y z | hash |");
});
