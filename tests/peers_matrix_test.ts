/**
 * Cross-implementation matrix: every signer x verifier over {model-verify, model_signing 1.1.1
 * (Python), Go model-signing v0.0.3}, real runs of each CLI. Each pair: sign, verify (must pass),
 * tamper one file, verify (must fail). Where an implementation differs, the expected outcome is
 * recorded by name in KNOWN_DIFFERENCES (README "Compatibility with other implementations").
 * Peers come from scripts/install_peers.sh; a missing peer skips its pairs with a reason.
 *
 * @module
 */

import { join } from "node:path";
import { runCli, tempDir, writeKeyPair, writeModel } from "./_helpers.ts";
import { HAS_OPENSSL, issue, type Issued } from "./_fixtures/pki.ts";
import {
  GO_PEER,
  inParallel,
  type ProcessResult,
  PYTHON_PEER,
  runProcess,
  runPythonDriver,
} from "./_peers.ts";
import {
  expected,
  type Impl,
  KNOWN_DIFFERENCES,
  type MatrixCase,
  nonDefaultHashing,
  type Outcome,
  type SignOutcome,
  type VerifyOutcome,
} from "./peers_known.ts";

const IMPLS: Impl[] = ["model-verify", "model_signing", "go"];

function installed(impl: Impl): boolean {
  if (impl === "model_signing" || impl === "model_signing API") {
    return PYTHON_PEER.cli !== undefined;
  }
  if (impl === "go") return GO_PEER.cli !== undefined;
  return true;
}

const big = (n: number, seed: number) =>
  Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255);

const NESTED: Record<string, string | Uint8Array> = {
  "config.json": '{"layers": 2}\n',
  "weights/layer0.bin": big(2500, 1),
  "weights/deep/er/layer1.bin": big(1300, 2),
  "tokenizer/vocab.txt": "a\nb\nc\n",
};

/** The model shapes of the matrix. */
export const CASES: MatrixCase[] = [
  {
    name: "nested-key",
    files: NESTED,
    tamper: "weights/layer0.bin",
    hash: "sha256",
    method: "key",
  },
  {
    name: "nested-certificate",
    files: NESTED,
    tamper: "weights/deep/er/layer1.bin",
    hash: "sha256",
    method: "certificate",
  },
  {
    name: "shards-sha256",
    files: NESTED,
    tamper: "weights/layer0.bin",
    hash: "sha256",
    shard: 1000,
    method: "key",
  },
  { name: "files-blake2b", files: NESTED, tamper: "config.json", hash: "blake2b", method: "key" },
  {
    name: "shards-blake2b",
    files: NESTED,
    tamper: "weights/layer0.bin",
    hash: "blake2b",
    shard: 1000,
    method: "key",
  },
  { name: "files-blake3", files: NESTED, tamper: "config.json", hash: "blake3", method: "key" },
  {
    name: "unicode-names",
    files: {
      "caf\u00e9.txt": "nfc\n",
      "cafe\u0301.txt": "nfd\n",
      "\uff21-fullwidth.txt": "bmp above the surrogates\n",
      "dir\u{1f600}/w\u{1d518}.bin": big(700, 3),
      "\ue000-private-use.bin": "pua\n",
      "\u{f0000}-plane15.bin": "supplementary private use\n",
      "plain.txt": "ascii\n",
    },
    tamper: "dir\u{1f600}/w\u{1d518}.bin",
    hash: "sha256",
    method: "key",
  },
  {
    name: "empty-files",
    files: { "empty.bin": "", "dir/also-empty": "", "data.bin": big(300, 4) },
    tamper: "empty.bin",
    hash: "sha256",
    method: "key",
  },
  {
    name: "empty-files-shards",
    files: { "empty.bin": "", "dir/also-empty": "", "data.bin": big(2300, 5) },
    tamper: "data.bin",
    hash: "sha256",
    shard: 1000,
    method: "key",
  },
  {
    name: "ignore-paths",
    files: {
      ...NESTED,
      "scratch/tmp.bin": "left out\n",
      "notes.md": "left out too\n",
      "weights/skip.bin": "nested ignore\n",
    },
    ignore: ["scratch", "notes.md", "weights/skip.bin"],
    ignoreStyle: "relative",
    tamper: "config.json",
    hash: "sha256",
    method: "key",
  },
  {
    name: "ignore-paths-absolute",
    files: { ...NESTED, "scratch/tmp.bin": "left out\n", "weights/skip.bin": "nested ignore\n" },
    ignore: ["scratch", "weights/skip.bin"],
    tamper: "weights/layer0.bin",
    hash: "sha256",
    method: "key",
  },
  {
    name: "git-folders",
    files: {
      ...NESTED,
      ".git/HEAD": "ref: refs/heads/main\n",
      ".git/objects/ab/cdef": "blob",
      ".gitattributes": "*.bin filter=lfs\n",
      ".gitignore": "*.tmp\n",
      ".github/workflows/ci.yml": "on: push\n",
    },
    tamper: "tokenizer/vocab.txt",
    hash: "sha256",
    method: "key",
  },
  {
    name: "single-file",
    files: { "model.safetensors": big(1800, 6) },
    single: "model.safetensors",
    tamper: "model.safetensors",
    hash: "sha256",
    method: "key",
  },
  {
    name: "symlinks-allowed",
    files: { "real/weights.bin": big(900, 7), "config.json": "{}\n" },
    symlinks: { "weights.bin": "real/weights.bin" },
    allowSymlinks: true,
    tamper: "real/weights.bin",
    hash: "sha256",
    method: "key",
  },
  {
    name: "symlinks-refused",
    files: { "real/weights.bin": big(900, 8), "config.json": "{}\n" },
    symlinks: { "weights.bin": "real/weights.bin" },
    tamper: "real/weights.bin",
    hash: "sha256",
    method: "key",
    refuse: true,
  },
];

/** Key pair and PKI shared by every pair. */
interface Material {
  privateKey: string;
  publicKey: string;
  ca?: Issued;
  leaf?: Issued;
}

function modelPath(folder: string, c: MatrixCase): string {
  return c.single ? join(folder, c.single) : folder;
}

async function buildModel(folder: string, c: MatrixCase): Promise<void> {
  await writeModel(folder, c.files);
  for (const [link, target] of Object.entries(c.symlinks ?? {})) {
    await Deno.symlink(target, join(folder, link));
  }
}

/** The working directory of a run: the model folder when ignore paths are given relative. */
function workDir(c: MatrixCase, folder: string): string {
  return c.ignoreStyle === "relative" ? folder : join(folder, "..");
}

function commonFlags(impl: Impl, c: MatrixCase, folder: string): string[] {
  const flags = (c.ignore ?? []).flatMap((
    p,
  ) => ["--ignore-paths", c.ignoreStyle === "relative" ? p : join(folder, p)]);
  if (c.allowSymlinks) {
    flags.push(impl === "model_signing" ? "--allow_symlinks" : "--allow-symlinks");
  }
  return flags;
}

function asResult(r: ProcessResult | { code: number; stdout: string; stderr: string }) {
  return { code: r.code, text: `${r.stdout}\n${r.stderr}`.trim().slice(-600) };
}

async function sign(
  impl: Impl,
  c: MatrixCase,
  folder: string,
  signature: string,
  m: Material,
): Promise<{ outcome: SignOutcome; text: string }> {
  const model = modelPath(folder, c);
  const cwd = workDir(c, folder);
  const cert = c.method === "certificate";
  let r: { code: number; text: string };
  if (impl === "model-verify") {
    r = asResult(
      await runCli([
        "sign",
        c.method,
        "--private_key",
        cert ? m.leaf!.key : m.privateKey,
        ...(cert ? ["--signing_certificate", m.leaf!.cert, "--certificate_chain", m.ca!.cert] : []),
        "--hash-type",
        c.hash,
        ...(c.shard ? ["--shard-size", String(c.shard)] : []),
        ...commonFlags(impl, c, folder),
        "--signature",
        signature,
        "--quiet",
        model,
      ], { cwd }),
    );
  } else if (impl === "model_signing" && nonDefaultHashing(c)) {
    // The 1.1.1 CLI has no hash/shard flags: sign through its public API instead.
    const [answer] = await runPythonDriver([{
      op: "sign",
      model,
      signature,
      key: m.privateKey,
      hash: c.hash,
      ...(c.shard ? { shard: c.shard } : {}),
      ignore: c.ignore ?? [],
      allow_symlinks: c.allowSymlinks ?? false,
    }]);
    r = { code: answer?.ok ? 0 : 1, text: String(answer?.error ?? "") };
  } else if (impl === "model_signing") {
    r = asResult(
      await runProcess(PYTHON_PEER.cli!, [
        "sign",
        c.method,
        "--private_key",
        cert ? m.leaf!.key : m.privateKey,
        ...(cert ? ["--signing_certificate", m.leaf!.cert, "--certificate_chain", m.ca!.cert] : []),
        ...commonFlags(impl, c, folder),
        "--signature",
        signature,
        model,
      ], { cwd }),
    );
  } else {
    if (nonDefaultHashing(c)) return { outcome: "n/a", text: "Go CLI: no hash/shard flags" };
    r = asResult(
      await runProcess(GO_PEER.cli!, [
        "sign",
        c.method,
        "--private-key",
        cert ? m.leaf!.key : m.privateKey,
        ...(cert ? ["--signing-certificate", m.leaf!.cert, "--certificate-chain", m.ca!.cert] : []),
        ...commonFlags(impl, c, folder),
        "--signature",
        signature,
        model,
      ], { cwd }),
    );
  }
  let outcome: SignOutcome = r.code === 0 ? "ok" : "refused";
  if (outcome === "ok") {
    try {
      await Deno.stat(signature);
    } catch {
      outcome = "refused";
      r.text += " (exit 0 but no signature written)";
    }
  }
  return { outcome, text: r.text };
}

async function verify(
  impl: Impl,
  c: MatrixCase,
  folder: string,
  signature: string,
  m: Material,
): Promise<{ outcome: VerifyOutcome; text: string }> {
  const model = modelPath(folder, c);
  const cwd = workDir(c, folder);
  const cert = c.method === "certificate";
  let r: { code: number; text: string };
  if (impl === "model-verify") {
    r = asResult(
      await runCli([
        "verify",
        c.method,
        ...(cert ? ["--certificate_chain", m.ca!.cert] : ["--public_key", m.publicKey]),
        ...commonFlags(impl, c, folder),
        "--signature",
        signature,
        "--quiet",
        model,
      ], { cwd }),
    );
  } else if (impl === "model_signing API") {
    const [answer] = await runPythonDriver([{
      op: "verify",
      model,
      signature,
      key: m.publicKey,
    }]);
    r = { code: answer?.ok ? 0 : 1, text: String(answer?.error ?? "") };
  } else if (impl === "model_signing") {
    r = asResult(
      await runProcess(PYTHON_PEER.cli!, [
        "verify",
        c.method,
        ...(cert ? ["--certificate_chain", m.ca!.cert] : ["--public_key", m.publicKey]),
        ...commonFlags(impl, c, folder),
        "--signature",
        signature,
        model,
      ], { cwd }),
    );
  } else {
    r = asResult(
      await runProcess(GO_PEER.cli!, [
        "verify",
        c.method,
        ...(cert ? ["--certificate-chain", m.ca!.cert] : ["--public-key", m.publicKey]),
        ...commonFlags(impl, c, folder),
        "--signature",
        signature,
        model,
      ], { cwd }),
    );
  }
  return { outcome: r.code === 0 ? "pass" : "fail", text: r.text };
}

/** Results of the whole run, for the summary. */
const tally = { pass: 0, fail: 0, known: 0, skipped: 0 };
const seenKnown = new Set<string>();
const failures: string[] = [];

async function copyTree(from: string, to: string): Promise<void> {
  const r = await runProcess("cp", ["-a", from, to]);
  if (r.code !== 0) throw new Error(`cp -a ${from} ${to} failed: ${r.stderr}`);
}

async function runCase(c: MatrixCase, m: Material, dir: string): Promise<string[]> {
  const impls = IMPLS.filter(installed);
  const problems: string[] = [];
  // Sign: each signer on its own pristine copy; then a tampered copy per signer.
  const signed = await inParallel(
    3,
    impls.map((signer) => async () => {
      const base = join(dir, `by-${signer}`);
      const folder = join(base, "model");
      await buildModel(folder, c);
      const signature = join(base, "model.sig");
      const result = await sign(signer, c, folder, signature, m);
      const tampered = join(base, "tampered");
      if (result.outcome === "ok") {
        await copyTree(folder, tampered);
        const victim = join(tampered, c.tamper);
        await Deno.writeFile(victim, new Uint8Array([0x58]), { append: true });
      }
      return { signer, folder, tampered, signature, ...result };
    }),
  );
  const verifiers: Impl[] = nonDefaultHashing(c) && installed("model_signing API")
    ? [...impls, "model_signing API"]
    : impls;
  const pairs = signed.flatMap((s) => verifiers.map((verifier) => ({ s, verifier })));
  const rows = await inParallel(
    4,
    pairs.map(({ s, verifier }) => async () => {
      const observed: Outcome = { sign: s.outcome, verify: "-", tamper: "-" };
      const details = [`sign: ${s.text}`];
      if (s.outcome === "ok") {
        const [good, bad] = await Promise.all([
          verify(verifier, c, s.folder, s.signature, m),
          verify(verifier, c, s.tampered, s.signature, m),
        ]);
        observed.verify = good.outcome;
        observed.tamper = bad.outcome;
        details.push(`verify: ${good.text}`, `tampered: ${bad.text}`);
      }
      return { signer: s.signer, verifier, observed, details };
    }),
  );
  for (const row of rows) {
    const want = expected(c, row.signer, row.verifier);
    const same = want.outcome.sign === row.observed.sign &&
      want.outcome.verify === row.observed.verify && want.outcome.tamper === row.observed.tamper;
    const label = `${c.name}: ${row.signer} -> ${row.verifier}`;
    if (same) {
      want.names.forEach((name) => seenKnown.add(name));
      if (want.names.length > 0) tally.known++;
      else tally.pass++;
    } else {
      tally.fail++;
      problems.push(
        `${label}: expected ${JSON.stringify(want.outcome)}${
          want.names.length ? ` (known: ${want.names.join(", ")})` : ""
        }, got ${JSON.stringify(row.observed)}\n    ${row.details.join("\n    ")}`,
      );
    }
  }
  return problems;
}

let material: Material | undefined;
let materialDir: (AsyncDisposable & { path: string }) | undefined;

async function getMaterial(): Promise<Material> {
  if (material) return material;
  materialDir = await tempDir();
  const keys = await writeKeyPair(materialDir.path);
  material = { ...keys };
  if (HAS_OPENSSL) {
    const ca = await issue(materialDir.path, { cn: "peers-ca", ca: true });
    const leaf = await issue(materialDir.path, {
      cn: "peers-signer",
      issuer: ca,
      keyUsage: "digitalSignature",
      extendedKeyUsage: "codeSigning",
    });
    material = { ...keys, ca, leaf };
  }
  return material;
}

Deno.test("peer matrix expectations: defaults, refusals and named differences", () => {
  const byName = (name: string) => CASES.find((c) => c.name === name)!;
  const want = (c: string, s: string, v: string) =>
    JSON.stringify(expected(byName(c), s as never, v as never));
  const ok = JSON.stringify({ outcome: { sign: "ok", verify: "pass", tamper: "fail" }, names: [] });
  if (want("nested-key", "go", "model_signing") !== ok) throw new Error("default outcome changed");
  if (!want("symlinks-refused", "model-verify", "go").includes('"sign":"refused"')) {
    throw new Error("symlinks without --allow-symlinks must be refused by every signer");
  }
  if (!want("single-file", "go", "model_signing").includes("go-single-file-named-dot")) {
    throw new Error("go-single-file-named-dot does not apply where it should");
  }
  for (const name of Object.keys(KNOWN_DIFFERENCES)) {
    const hits = CASES.flatMap((c) =>
      ["model-verify", "model_signing", "go"].flatMap((s) =>
        ["model-verify", "model_signing", "model_signing API", "go"].filter((v) =>
          KNOWN_DIFFERENCES[name]!.applies(c, s as never, v as never)
        )
      )
    );
    if (hits.length === 0 && name !== "py-mock-sigstore-bundle") {
      throw new Error(`known difference ${name} applies to no pair of the matrix`);
    }
  }
});

for (const impl of IMPLS) {
  if (installed(impl)) continue;
  const reason = impl === "go" ? GO_PEER.missing : PYTHON_PEER.missing;
  Deno.test({ name: `peer matrix: ${reason}`, ignore: true, fn() {} });
}

for (const c of CASES) {
  const needsOpenssl = c.method === "certificate" && !HAS_OPENSSL;
  Deno.test({
    name: needsOpenssl
      ? `peer matrix ${c.name}: openssl is not installed, certificate pairs skipped`
      : `peer matrix ${c.name}: sign, verify, tamper across ${IMPLS.filter(installed).join(", ")}`,
    ignore: needsOpenssl,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      await using dir = await tempDir();
      const problems = await runCase(c, await getMaterial(), dir.path);
      failures.push(...problems);
      if (problems.length > 0) throw new Error(problems.join("\n"));
    },
  });
}

Deno.test({
  name: "peer matrix: every known difference still happens, summary",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await materialDir?.[Symbol.asyncDispose]();
    const allInstalled = IMPLS.every(installed);
    const summary =
      `peer matrix: ${tally.pass} pairs as specified, ${tally.known} pairs with a known difference, ${tally.fail} failed\n`;
    await Deno.stderr.write(new TextEncoder().encode(summary));
    if (!allInstalled || failures.length > 0) return;
    const verifiers: Impl[] = [...IMPLS, "model_signing API"];
    const inMatrix = (name: string) =>
      CASES.some((c) =>
        IMPLS.some((signer) =>
          verifiers.some((verifier) => KNOWN_DIFFERENCES[name]!.applies(c, signer, verifier))
        )
      );
    const stale = Object.keys(KNOWN_DIFFERENCES).filter((name) =>
      inMatrix(name) && !seenKnown.has(name)
    );
    if (stale.length > 0) {
      throw new Error(
        `known differences that no longer happen (remove them from KNOWN_DIFFERENCES and the README): ${
          stale.join(", ")
        }`,
      );
    }
  },
});
