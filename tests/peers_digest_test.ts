/**
 * Differential test of hashing: seeded random model trees, root digest from model-verify's `digest`
 * against model_signing 1.1.1 (its public API: hashing.Config().hash, then SHA-256 over the
 * resource digests in manifest order, as its later `digest` command prints; 1.1.1 has no such
 * command). Bounded: TREES trees, all hashed by one Python process. A failure prints the seed and
 * the tree. Set MODEL_VERIFY_DIFF_SEED to replay a seed.
 *
 * @module
 */

import { join } from "node:path";
import { runCli, tempDir } from "./_helpers.ts";
import { inParallel, PYTHON_PEER, runPythonDriver } from "./_peers.ts";

const TREES = 400;
const DEFAULT_SEED = 0x5eed_0012;

/** mulberry32: a small seeded PRNG (uniform in [0, 1)). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Name pieces: ASCII, NFC and NFD, above U+FFFF, private use (BMP and plane 15), fullwidth. */
const PIECES = [
  "a",
  "B",
  "z",
  "0",
  "9",
  "-",
  "_",
  ".",
  " ",
  "weights",
  "caf\u00e9",
  "cafe\u0301",
  "\u00c5",
  "A\u030a",
  "\u{1f600}",
  "\u{1d518}",
  "\u{10000}",
  "\ue000",
  "\uf8ff",
  "\u{f0000}",
  "\uff21",
  "\ufffd",
  "\u4e2d",
];

/** A random tree: relative path -> content. Folders never collide with files. */
export function randomTree(random: () => number): Record<string, Uint8Array> {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const name = () => {
    let out = "";
    const parts = 1 + Math.floor(random() * 3);
    for (let i = 0; i < parts; i++) out += pick(PIECES);
    if (out === "." || out === ".." || out.trim() === "") out = `n${out}x`;
    return out;
  };
  const files: Record<string, Uint8Array> = {};
  const folders = new Set<string>();
  const count = Math.floor(random() * 10);
  for (let i = 0; i < count; i++) {
    const depth = Math.floor(random() * 4);
    const segments = Array.from({ length: depth + 1 }, name);
    if (random() < 0.08) segments[0] = pick([".git", ".github", ".gitignore", ".gitattributes"]);
    if (random() < 0.05 && depth > 0) segments[depth - 1] = ".git";
    const path = segments.join("/");
    const prefixes = segments.slice(0, -1).map((_, j) => segments.slice(0, j + 1).join("/"));
    if (path === "model.sig" || folders.has(path) || prefixes.some((p) => p in files)) continue;
    const size = random() < 0.2 ? 0 : Math.floor(random() ** 3 * 4000);
    files[path] = Uint8Array.from({ length: size }, () => Math.floor(random() * 256));
    prefixes.forEach((p) => folders.add(p));
  }
  return files;
}

/** True when UTF-16 order and code-point order differ for some pair of the tree's paths. */
export function utf16OrderDiffers(paths: readonly string[]): boolean {
  const byUnits = [...paths].sort();
  const byCodePoints = [...paths].sort((a, b) => {
    const x = [...a].map((c) => c.codePointAt(0)!);
    const y = [...b].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      if (x[i] !== y[i]) return x[i]! - y[i]!;
    }
    return x.length - y.length;
  });
  return byUnits.some((p, i) => p !== byCodePoints[i]);
}

function describe(files: Record<string, Uint8Array>): string {
  return Object.entries(files).map(([p, c]) => `    ${JSON.stringify(p)} (${c.length} bytes)`)
    .join("\n") || "    (empty model)";
}

Deno.test({
  name: PYTHON_PEER.cli
    ? `digest differential: ${TREES} seeded random trees, model-verify digest = model_signing 1.1.1`
    : `digest differential: ${PYTHON_PEER.missing}`,
  ignore: PYTHON_PEER.cli === undefined,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const seedText = Deno.env.get("MODEL_VERIFY_DIFF_SEED");
    const seed = seedText ? Number(seedText) : DEFAULT_SEED;
    const random = prng(seed);
    await using dir = await tempDir();
    const trees: { path: string; files: Record<string, Uint8Array> }[] = [];
    for (let i = 0; i < TREES; i++) {
      const path = join(dir.path, `t${i}`);
      const files = randomTree(random);
      await Deno.mkdir(path, { recursive: true });
      for (const [name, content] of Object.entries(files)) {
        const full = join(path, ...name.split("/"));
        await Deno.mkdir(join(full, ".."), { recursive: true });
        await Deno.writeFile(full, content);
      }
      trees.push({ path, files });
    }
    const theirs = await runPythonDriver(trees.map((t) => ({ op: "digest", model: t.path })));
    const ours = await inParallel(
      4,
      trees.map((t) => async () => {
        const r = await runCli(["digest", "--quiet", t.path]);
        return r.code === 0 ? r.stdout.split("\n")[0]!.trim() : `exit ${r.code}: ${r.stderr}`;
      }),
    );
    const problems: string[] = [];
    let equal = 0;
    let orderSensitive = 0;
    trees.forEach((t, i) => {
      const want = String(theirs[i]!.digest ?? theirs[i]!.error);
      // Trees whose names sort differently by UTF-16 unit and by code point (spec 5.2.1) are
      // counted: they are the ones a UTF-16 sort would get wrong.
      const hashed = Object.keys(t.files).filter((p) =>
        !/^\.git(hub|ignore|attributes)?(\/|$)/.test(p)
      );
      if (utf16OrderDiffers(hashed)) orderSensitive++;
      if (ours[i] === want) equal++;
      else {
        problems.push(
          `tree ${i} (seed ${seed}, MODEL_VERIFY_DIFF_SEED=${seed} to replay): model-verify ${
            ours[i]
          }, model_signing ${want}\n${describe(t.files)}`,
        );
      }
    });
    await Deno.stderr.write(
      new TextEncoder().encode(
        `digest differential (seed ${seed}): ${equal} equal, ${problems.length} differ ` +
          `(${orderSensitive} trees whose UTF-16 and code point orders differ)\n`,
      ),
    );
    if (problems.length > 0) throw new Error(problems.join("\n"));
  },
});

Deno.test("digest differential: the known-order classifier and the tree generator", () => {
  if (!utf16OrderDiffers(["\u{f0000}.bin", "\ue000.bin"])) throw new Error("missed a non-BMP pair");
  if (utf16OrderDiffers(["b/\u{1f600}", "a/\uffff", "caf\u00e9"])) {
    throw new Error("flagged paths whose two orders agree");
  }
  const a = randomTree(prng(7));
  const b = randomTree(prng(7));
  if (JSON.stringify(Object.keys(a)) !== JSON.stringify(Object.keys(b))) {
    throw new Error("the same seed gave two different trees");
  }
  for (const path of Object.keys(a)) {
    const parts = path.split("/");
    if (parts.some((p) => p === "" || p === "." || p === "..")) throw new Error(`bad path ${path}`);
  }
});
