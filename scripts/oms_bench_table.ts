/**
 * Merges result files of the OMS conformance suite's benchmark harness (one JSON array per
 * client, `python -m benchmarks.harness.run ... --output <client>.json`) into one Markdown table:
 * a row per scenario, operation, model shape and swept parameter, a column per client with the
 * mean and the fastest time in milliseconds. BENCHMARKS.md "OMS conformance benchmark harness"
 * shows the command.
 *
 * Usage: `deno run --allow-read scripts/oms_bench_table.ts model-verify.json python.json ...`
 *
 * @module
 */

/** One entry of the harness's result array (the fields the table uses). */
export interface HarnessEntry {
  status?: "ok" | "skipped";
  client: string;
  scenario: string;
  operation: string;
  skip_reason?: string;
  parameters?: {
    model_size_bytes: number;
    file_count: number;
    hash_algorithm?: string | null;
    shard_size?: number | null;
    chunk_size?: number | null;
    max_workers?: number | null;
  };
  results?: { mean_ms: number; min_ms: number; repeat: number };
}

const SWEPT = ["hash_algorithm", "shard_size", "chunk_size", "max_workers"] as const;

/** `100 MiB`, `1 GiB`: the harness's sizes are binary multiples. */
function size(bytes: number): string {
  for (const [unit, scale] of [["GiB", 2 ** 30], ["MiB", 2 ** 20], ["KiB", 2 ** 10]] as const) {
    if (bytes >= scale) return `${Math.round(bytes / scale)} ${unit}`;
  }
  return `${bytes} B`;
}

/** Keeps a cell on its line and out of the table syntax. */
function cell(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, " ").replace(/\|/g, "\\|");
}

/** The swept parameters of a row (the hash algorithm only where the scenario sweeps it). */
function parameter(entry: HarnessEntry, sweptAlgorithm: Set<string>): string {
  const p = entry.parameters!;
  const parts: string[] = [];
  for (const key of SWEPT) {
    const value = p[key];
    if (value === null || value === undefined) continue;
    if (key === "hash_algorithm" && !sweptAlgorithm.has(entry.scenario)) continue;
    parts.push(`${key}=${value}`);
  }
  return parts.join(" ");
}

/**
 * The Markdown table, then one line per skipped scenario and client. `clients` orders the
 * columns; a row a client did not produce (failed or skipped) shows `-`.
 */
export function formatTable(entries: readonly HarnessEntry[], clients: readonly string[]): string {
  // A hash algorithm is a row key only where a scenario sweeps it (it is a default elsewhere).
  const algorithms = new Map<string, Set<string>>();
  for (const e of entries) {
    const algo = e.parameters?.hash_algorithm;
    if (!algo) continue;
    algorithms.set(e.scenario, (algorithms.get(e.scenario) ?? new Set()).add(algo));
  }
  const swept = new Set([...algorithms].filter(([, set]) => set.size > 1).map(([s]) => s));
  const rows = new Map<string, { key: string[]; times: Map<string, string> }>();
  const skipped: string[] = [];
  for (const e of entries) {
    if (e.status === "skipped" || !e.parameters || !e.results) {
      skipped.push(
        `- ${cell(e.client)}: ${cell(e.scenario)} skipped (${cell(e.skip_reason ?? "")})`,
      );
      continue;
    }
    const key = [
      e.scenario,
      e.operation,
      size(e.parameters.model_size_bytes),
      String(e.parameters.file_count),
      parameter(e, swept),
    ].map(cell);
    const id = key.join("\u0000");
    const row = rows.get(id) ?? { key, times: new Map<string, string>() };
    const r = e.results;
    row.times.set(e.client, `${r.mean_ms.toFixed(0)} (${r.min_ms.toFixed(0)})`);
    rows.set(id, row);
  }
  const header = ["scenario", "op", "size", "files", "parameter", ...clients.map(cell)];
  const lines = [
    `| ${header.join(" | ")} |`,
    `|${header.map((_, i) => (i < 5 ? "---" : "---:")).join("|")}|`,
  ];
  for (const { key, times } of rows.values()) {
    lines.push(`| ${[...key, ...clients.map((c) => times.get(c) ?? "-")].join(" | ")} |`);
  }
  return [...lines, ...(skipped.length > 0 ? ["", ...skipped] : [])].join("\n");
}

if (import.meta.main) {
  const write = (stream: { writeSync(b: Uint8Array): number }, text: string) =>
    stream.writeSync(new TextEncoder().encode(text + "\n"));
  if (Deno.args.length === 0) {
    write(Deno.stderr, "usage: oms_bench_table.ts <client>.json ... (harness --output files)");
    Deno.exit(2);
  }
  const entries: HarnessEntry[] = [];
  const clients: string[] = [];
  for (const path of Deno.args) {
    const parsed: unknown = JSON.parse(await Deno.readTextFile(path));
    if (!Array.isArray(parsed)) {
      write(Deno.stderr, `${path}: not a harness result array`);
      Deno.exit(2);
    }
    for (const entry of parsed as HarnessEntry[]) {
      if (!clients.includes(entry.client)) clients.push(entry.client);
      entries.push(entry);
    }
  }
  write(Deno.stdout, formatTable(entries, clients));
}
