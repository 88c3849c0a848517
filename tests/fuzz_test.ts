/**
 * Bounded, seeded fuzzing of the signature parser and the statement/predicate decoder with random
 * mutations of valid bundles (byte-level and structural). Properties:
 *
 * - the parser and decoder throw nothing but `InputError` (no TypeError, RangeError, ...);
 * - a manifest the decoder accepts is well-formed (names inside the model, unique, digests of the
 *   right length, root digest consistent);
 * - through `verifyModel`, a mutated bundle never verifies unless what is signed (payload type,
 *   payload bytes, signature bytes) is unchanged, and a mutated, validly re-signed statement never
 *   verifies unless it describes exactly the model's files and digests; every failure is a
 *   `ModelVerifyError` with exit code 1, never an internal error.
 *
 * The bound is the number of iterations and the size cap on each mutant (no timing). Reproduce a
 * failure with the seed and iteration printed in its message; run longer with
 * `MODEL_VERIFY_FUZZ_ITERATIONS=20000 MODEL_VERIFY_FUZZ_SEED=<n> deno task test tests/fuzz_test.ts`.
 */

import { sign } from "node:crypto";
import { join } from "node:path";
import { encodeBase64 } from "../lib/_base64.ts";
import { pae } from "../lib/bundle/dsse.ts";
import { parseBundle } from "../lib/bundle/parse_bundle.ts";
import { checkResourceName, toSignedManifest } from "../lib/bundle/predicate.ts";
import { parseStatement } from "../lib/bundle/statement.ts";
import type { VerifyConfig } from "../lib/config/config.ts";
import { InputError, InternalError, ModelVerifyError } from "../lib/errors.ts";
import { computeRootDigest, type SignedManifest } from "../lib/manifest/manifest.ts";
import { verifyModel } from "../lib/verify_model.ts";
import { assert, assertEquals } from "./_assert.ts";
import { keyConfig, signWithKey, tempDir, writeKeyPair, writeModel } from "./_helpers.ts";

const SEED = Number(Deno.env.get("MODEL_VERIFY_FUZZ_SEED") ?? "20250601");
const ITERATIONS = Number(Deno.env.get("MODEL_VERIFY_FUZZ_ITERATIONS") ?? "0") || undefined;
/** Iterations per property: pure parsing is cheap, a full verification costs a few ms. */
const PARSER_ITERATIONS = ITERATIONS ?? 4000;
const PIPELINE_ITERATIONS = ITERATIONS ? Math.ceil(ITERATIONS / 10) : 250;
/** No mutant grows beyond this many bytes, so each iteration's work is bounded. */
const MAX_MUTANT_BYTES = 256 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// ---------------------------------------------------------------------------------------------
// A small seeded PRNG (mulberry32) and mutators.

class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  next(): number {
    let t = (this.#state = (this.#state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
}

const HOSTILE_NAMES = [
  "",
  ".",
  "..",
  "/",
  "/etc/passwd",
  "../outside",
  "a/../../b",
  "a//b",
  "a/",
  "./a",
  "a\\b",
  "a\u0000b",
  "a\nb",
  "\u202etxt.exe",
  "\uFFFD",
  "x".repeat(5000),
  "model.sig",
  "config.json",
  "nested/extra.txt",
  "weights.bin:0:16",
  "weights.bin:16:32",
  "weights.bin:0:99999999999999999999",
];

function interestingValue(random: Random): Json {
  switch (random.int(12)) {
    case 0:
      return null;
    case 1:
      return random.pick([true, false]);
    case 2:
      return random.pick([0, -1, 1, 1.5, 16, 1e308, -1e308, 2 ** 53, Number.MAX_SAFE_INTEGER]);
    case 3:
      return random.pick(HOSTILE_NAMES);
    case 4:
      return [];
    case 5:
      return {};
    case 6: {
      let deep: Json = [];
      for (let i = 0, n = 1 + random.int(100); i < n; i++) deep = [deep];
      return deep;
    }
    case 7:
      return "0".repeat(random.pick([63, 64, 65, 128]));
    case 8:
      return random.pick(["sha256", "blake2b", "blake3", "sha256-sharded-16", "files", "shards"]);
    case 9:
      return random.pick([
        "https://model_signing/signature/v1.0",
        "https://model_signing/Digests/v0.1",
        "https://in-toto.io/Statement/v1",
        "application/vnd.in-toto+json",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
      ]);
    case 10:
      return encodeBase64(encoder.encode(random.pick(HOSTILE_NAMES)));
    default:
      return "A".repeat(random.int(64));
  }
}

/** Every path (list of keys) in a JSON value, the root included. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => paths(v, [...prefix, i], out));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  }
  return out;
}

function getAt(value: Json, path: (string | number)[]): Json {
  let node: Json = value;
  for (const key of path) node = (node as Record<string | number, Json>)[key]!;
  return node;
}

/** One structural mutation of a JSON document (a deep copy is mutated). */
function mutateJson(document: Json, random: Random): Json {
  const root = structuredClone(document);
  const all = paths(root).filter((p) => p.length > 0);
  if (all.length === 0) return interestingValue(random);
  const path = random.pick(all);
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, Json>;
  const key = path.at(-1)!;
  switch (random.int(7)) {
    case 0: // delete
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key];
      break;
    case 1: // duplicate into a list, or copy to a sibling key
      if (Array.isArray(parent)) parent.splice(key as number, 0, structuredClone(parent[key]!));
      else parent[`${key}`.toUpperCase()] = structuredClone(parent[key]!);
      break;
    case 2: // swap with another value of the document
      parent[key] = structuredClone(getAt(root, random.pick(all)));
      break;
    case 3: // wrap
      parent[key] = random.pick([[parent[key]!], { value: parent[key]! }]);
      break;
    case 4: // string edits that keep most of the value
      if (typeof parent[key] === "string") {
        const text = parent[key] as string;
        const at = random.int(text.length + 1);
        parent[key] = text.slice(0, at) +
          random.pick(["/", "..", "\\", "\u0000", ":0:16", "A", ""]) +
          text.slice(at + random.int(3));
        break;
      }
      parent[key] = interestingValue(random);
      break;
    default:
      parent[key] = interestingValue(random);
  }
  return root;
}

const TOKENS = [
  "{",
  "}",
  "[",
  "]",
  ",",
  ":",
  '"',
  "\\",
  "null",
  "1e999",
  "-0",
  "\u0000",
  "==",
  "A",
];

/** One byte-level mutation of a text. */
function mutateBytes(bytes: Uint8Array, random: Random): Uint8Array {
  const out = [...bytes];
  const at = random.int(out.length + 1);
  switch (random.int(7)) {
    case 0:
      if (out.length > 0) out[at % out.length]! ^= 1 << random.int(8);
      break;
    case 1:
      if (out.length > 0) out[at % out.length] = random.int(256);
      break;
    case 2:
      out.splice(at, 1 + random.int(64));
      break;
    case 3:
      out.splice(at, 0, ...encoder.encode(random.pick(TOKENS).repeat(1 + random.int(4))));
      break;
    case 4: {
      const from = random.int(out.length + 1);
      out.splice(at, 0, ...out.slice(from, from + random.int(256)));
      break;
    }
    case 5:
      out.length = Math.min(out.length, at);
      break;
    default:
      out.splice(at, 0, ...encoder.encode("[".repeat(1 + random.int(5000))));
  }
  return Uint8Array.from(out.slice(0, MAX_MUTANT_BYTES));
}

// ---------------------------------------------------------------------------------------------
// Seeds: a signed model in files mode and in shards mode.

interface Seed {
  model: string;
  signature: string;
  publicKey: string;
  privateKey: string;
  bundle: Json;
  bytes: Uint8Array;
  statement: Json;
  manifest: SignedManifest;
}

async function makeSeeds(dir: string): Promise<Seed[]> {
  const model = await writeModel(join(dir, "model"), {
    "config.json": '{"hidden_size": 8}\n',
    "weights.bin": "w".repeat(40),
    "nested/extra.txt": "nested\n",
  });
  const keys = await writeKeyPair(dir);
  const seeds: Seed[] = [];
  for (
    const [name, extra] of [["files", []], ["shards", [
      "--shard-size",
      "16",
      "--hash-type",
      "blake2b",
    ]]] as const
  ) {
    const signature = join(dir, `${name}.sig`);
    await signWithKey(model, keys.privateKey, "--signature", signature, ...extra);
    const bytes = await Deno.readFile(signature);
    const bundle = JSON.parse(decoder.decode(bytes));
    const parsed = parseBundle(bytes, signature);
    const statement = JSON.parse(decoder.decode(parsed.envelope.payload));
    const manifest = await toSignedManifest(
      parseStatement(parsed.envelope.payloadType, parsed.envelope.payload),
    );
    seeds.push({ model, signature, ...keys, bundle, bytes, statement, manifest });
  }
  return seeds;
}

function fuzzConfig(seed: Seed, signaturePath: string): VerifyConfig {
  return keyConfig({ ...seed, signature: signaturePath }, { maxWorkers: 1 });
}

/** A mutant of the seed's bundle: byte-level or structural, on the bundle or inside the payload. */
function mutantBundle(seed: Seed, random: Random): Uint8Array {
  switch (random.int(3)) {
    case 0:
      return mutateBytes(seed.bytes, random);
    case 1:
      return encoder.encode(JSON.stringify(mutateJson(seed.bundle, random)));
    default: {
      const bundle = structuredClone(seed.bundle) as { dsseEnvelope: { payload: string } };
      const payload = random.int(2) === 0
        ? mutateBytes(encoder.encode(JSON.stringify(seed.statement)), random)
        : encoder.encode(JSON.stringify(mutateJson(seed.statement, random)));
      bundle.dsseEnvelope.payload = encodeBase64(payload);
      return encoder.encode(JSON.stringify(bundle));
    }
  }
}

/** Checks what the decoder promises about a manifest it accepted. */
function assertWellFormed(manifest: SignedManifest, where: string): void {
  const names = manifest.entries.map((e) => e.name);
  assertEquals(new Set(names).size, names.length, `${where}: duplicate names accepted`);
  for (const { name, digest } of manifest.entries) {
    checkResourceName(name, manifest.serialization, where); // throws if the decoder let it through
    const path = manifest.serialization.method === "shards" ? name.replace(/:\d+:\d+$/, "") : name;
    assert(
      !path.startsWith("/") && !path.split("/").includes(".."),
      `${where}: '${name}' leaves the model`,
    );
    const size = manifest.serialization.hashType === "blake2b" ? 128 : 64;
    assert(new RegExp(`^[0-9a-f]{${size}}$`).test(digest), `${where}: digest '${digest}'`);
  }
  if (manifest.rootDigest !== null) {
    assertEquals(manifest.rootDigest, computeRootDigest(manifest.entries), `${where}: root digest`);
  }
}

function sameFiles(a: SignedManifest, b: SignedManifest): boolean {
  const map = (m: SignedManifest) =>
    JSON.stringify(m.entries.map((e) => [e.name, e.digest]).sort());
  return map(a) === map(b) && a.serialization.method === b.serialization.method &&
    a.serialization.hashType === b.serialization.hashType &&
    a.serialization.shardSize === b.serialization.shardSize;
}

// ---------------------------------------------------------------------------------------------

Deno.test(`fuzz: the parser and decoder throw only InputError, and accept only well-formed manifests (seed ${SEED}, ${PARSER_ITERATIONS} mutants)`, async () => {
  await using dir = await tempDir();
  const seeds = await makeSeeds(dir.path);
  const random = new Random(SEED);
  const outcomes = new Map<string, number>();
  for (let i = 0; i < PARSER_ITERATIONS; i++) {
    const seed = seeds[i % seeds.length]!;
    const where = `seed ${SEED}, iteration ${i}`;
    const bytes = mutantBundle(seed, random);
    assert(bytes.length <= 2 * MAX_MUTANT_BYTES, `${where}: mutant of ${bytes.length} bytes`);
    let manifest: SignedManifest;
    try {
      const bundle = parseBundle(bytes, "fuzz.sig");
      manifest = await toSignedManifest(
        parseStatement(bundle.envelope.payloadType, bundle.envelope.payload),
      );
    } catch (error) {
      if (!(error instanceof InputError)) {
        const text = decoder.decode(bytes).slice(0, 2000);
        throw new Error(`${where}: unexpected ${String(error)}\nmutant: ${text}`, { cause: error });
      }
      outcomes.set(error.code, (outcomes.get(error.code) ?? 0) + 1);
      continue;
    }
    assertWellFormed(manifest, where);
    const outcome = "accepted";
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  // The mutators reach deep: well past JSON syntax into every layer of checks.
  for (const code of ["SIGNATURE_MALFORMED", "PAYLOAD_INVALID", "accepted"]) {
    assert(
      (outcomes.get(code) ?? 0) > 0,
      `no mutant ended as ${code}: ${JSON.stringify([...outcomes])}`,
    );
  }
});

Deno.test(`fuzz: a mutated bundle verifies only if what is signed is unchanged (seed ${SEED}, ${PIPELINE_ITERATIONS} mutants)`, async () => {
  await using dir = await tempDir();
  const seeds = await makeSeeds(dir.path);
  const random = new Random(SEED + 1);
  const path = join(dir.path, "mutant.sig");
  let verified = 0;
  for (let i = 0; i < PIPELINE_ITERATIONS; i++) {
    const seed = seeds[i % seeds.length]!;
    const where = `seed ${SEED + 1}, iteration ${i}`;
    const bytes = mutantBundle(seed, random);
    await Deno.writeFile(path, bytes);
    try {
      await verifyModel(fuzzConfig(seed, path));
    } catch (error) {
      assert(
        error instanceof ModelVerifyError && !(error instanceof InternalError),
        `${where}: ${error}`,
      );
      assertEquals(error.exitCode, 1, `${where}: ${error.message}`);
      continue;
    }
    verified++;
    const original = parseBundle(seed.bytes, "seed");
    const mutant = parseBundle(bytes, "mutant");
    assertEquals(mutant.envelope.payloadType, original.envelope.payloadType, where);
    assertEquals(mutant.envelope.payload, original.envelope.payload, where);
    assertEquals(mutant.envelope.signatures[0]!.sig, original.envelope.signatures[0]!.sig, where);
  }
  assert(verified < PIPELINE_ITERATIONS, "some mutants must fail");
});

Deno.test(`fuzz: a mutated statement, validly signed, verifies only if it names exactly the model's files (seed ${SEED}, ${PIPELINE_ITERATIONS} mutants)`, async () => {
  await using dir = await tempDir();
  const seeds = await makeSeeds(dir.path);
  const random = new Random(SEED + 2);
  const path = join(dir.path, "resigned.sig");
  const outcomes = new Map<string, number>();
  for (let i = 0; i < PIPELINE_ITERATIONS; i++) {
    const seed = seeds[i % seeds.length]!;
    const where = `seed ${SEED + 2}, iteration ${i}`;
    let statement = mutateJson(seed.statement, random);
    // Half the time, keep the root digest consistent so that mutants reach the model checks.
    const predicate = (statement as { predicate?: { resources?: { digest?: unknown }[] } })
      ?.predicate;
    const subject = (statement as { subject?: { digest?: Record<string, unknown> }[] })?.subject;
    if (random.int(2) === 0 && Array.isArray(predicate?.resources) && Array.isArray(subject)) {
      try {
        const entries = predicate.resources.map((r) => ({ name: "", digest: String(r?.digest) }));
        if (entries.every((e) => /^([0-9a-f]{2})+$/.test(e.digest)) && subject[0]?.digest) {
          subject[0].digest.sha256 = computeRootDigest(entries);
        }
      } catch { /* not a resource list: leave it */ }
    }
    if (random.int(10) === 0) statement = mutateJson(statement, random);
    const payload = encoder.encode(JSON.stringify(statement));
    const payloadType = random.int(20) === 0 ? "application/json" : "application/vnd.in-toto+json";
    const bundle = structuredClone(seed.bundle) as {
      dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
    };
    bundle.dsseEnvelope.payload = encodeBase64(payload);
    bundle.dsseEnvelope.payloadType = payloadType;
    bundle.dsseEnvelope.signatures[0]!.sig = encodeBase64(
      sign("sha256", pae(payloadType, payload), await Deno.readTextFile(seed.privateKey)),
    );
    await Deno.writeTextFile(path, JSON.stringify(bundle));
    let outcome = "verified";
    try {
      await verifyModel(fuzzConfig(seed, path));
      const manifest = await toSignedManifest(parseStatement(payloadType, payload));
      assert(
        sameFiles(manifest, seed.manifest),
        `${where}: verified a manifest of other files: ${JSON.stringify(statement).slice(0, 2000)}`,
      );
    } catch (error) {
      if (!(error instanceof ModelVerifyError) || error instanceof InternalError) throw error;
      assertEquals(error.exitCode, 1, `${where}: ${error.message}`);
      outcome = error.code;
    }
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  for (const code of ["PAYLOAD_INVALID", "verified"]) {
    assert(
      (outcomes.get(code) ?? 0) > 0,
      `no mutant ended as ${code}: ${JSON.stringify([...outcomes])}`,
    );
  }
});
