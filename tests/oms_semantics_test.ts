/**
 * OMS v1.0 model semantics, end to end through the CLI: empty models, the symlink policy recorded
 * in the signature, ignore paths, single-file names, resource order, shard names, shards and
 * empty files, git paths. Signatures the CLI would not write are built and signed here with the
 * test key (`signStatement`), so each case checks the verifier, not the signature.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash, createPrivateKey, createPublicKey, sign } from "node:crypto";
import { basename, join } from "node:path";
import { buildBundle } from "../lib/bundle/build_bundle.ts";
import { pae } from "../lib/bundle/dsse.ts";
import { byteOrder, compareResourceNames } from "../lib/manifest/manifest.ts";
import { describePublicKey } from "../lib/verify/node_public_key.ts";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import {
  runCli,
  SAMPLE_MODEL,
  signWithKey,
  tempDir,
  writeKeyPair,
  writeModel,
} from "./_helpers.ts";

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** Signs `statement` (a JSON value) with the PEM private key; writes the bundle to `out`. */
async function signStatement(statement: unknown, privateKey: string, out: string): Promise<void> {
  const key = createPrivateKey(await Deno.readTextFile(privateKey));
  const pub = describePublicKey(createPublicKey(key), privateKey);
  const payload = new TextEncoder().encode(JSON.stringify(statement));
  const signature = sign(pub.hash, pae("application/vnd.in-toto+json", payload), key);
  await Deno.writeTextFile(
    out,
    buildBundle(payload, signature, { kind: "publicKey", hint: pub.hint }),
  );
}

/** An OMS v1.0 statement over `resources` (name, digest), root digest in the given order. */
function statement(
  resources: { name: string; digest: string }[],
  serialization: Record<string, unknown>,
  algorithm = "sha256",
): unknown {
  const root = createHash("sha256");
  for (const r of resources) root.update(Buffer.from(r.digest, "hex"));
  return {
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name: "model", digest: { sha256: root.digest("hex") } }],
    predicateType: "https://model_signing/signature/v1.0",
    predicate: {
      serialization: {
        method: "files",
        hash_type: "sha256",
        allow_symlinks: false,
        ...serialization,
      },
      resources: resources.map((r) => ({ ...r, algorithm })),
    },
  };
}

async function predicateOf(signature: string) {
  const bundle = JSON.parse(await Deno.readTextFile(signature));
  const payload = Buffer.from(bundle.dsseEnvelope.payload, "base64").toString("utf8");
  return JSON.parse(payload).predicate;
}

async function resourcesOf(signature: string): Promise<{ name: string; digest: string }[]> {
  return (await predicateOf(signature)).resources;
}

async function serializationOf(signature: string): Promise<Record<string, unknown>> {
  return (await predicateOf(signature)).serialization;
}

function verifyArgs(model: string, publicKey: string, ...extra: string[]): string[] {
  return ["verify", "key", "--public_key", publicKey, ...extra, model];
}

// ---------------------------------------------------------------------------------------------
// 6.1: empty models

Deno.test("sign refuses an empty model (exit 1), also one that is empty only after exclusions", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  for (
    const files of [{}, { ".git/HEAD": "ref", ".gitignore": "*" }, { "README.md": "r" }]
  ) {
    const model = await writeModel(join(dir.path, `m${Object.keys(files).length}`), files);
    const result = await runCli([
      "sign",
      "key",
      "--private_key",
      keys.privateKey,
      "--ignore-paths",
      "README.md",
      model,
    ]);
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, "holds no regular file after exclusions");
    assertEquals(await Deno.stat(join(model, "model.sig")).catch(() => null), null);
  }
});

Deno.test("verify fails (exit 1) for a signature listing no files and for a model holding only its signature", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const empty = join(dir.path, "empty.sig");
  await signStatement(statement([], {}), keys.privateKey, empty);
  const none = await runCli(verifyArgs(model, keys.publicKey, "--signature", empty));
  assertEquals(none.code, 1, none.stderr);
  assertStringIncludes(none.stderr, "lists no files");

  await signWithKey(model, keys.privateKey);
  for (const name of Object.keys(SAMPLE_MODEL)) await Deno.remove(join(model, name));
  await Deno.remove(join(model, "nested"), { recursive: true });
  for (const extra of [[], ["--ignore-unsigned-files"]]) {
    const result = await runCli(verifyArgs(model, keys.publicKey, ...extra));
    assertEquals(result.code, 1, result.stderr);
    assertStringIncludes(result.stderr, "volume was not populated");
  }
});

// ---------------------------------------------------------------------------------------------
// 6.1.1: the symlink policy is the signature's

Deno.test("--allow-symlinks against a signature recording allow_symlinks=false warns and has no effect", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  await signWithKey(model, keys.privateKey);
  const ok = await runCli(verifyArgs(model, keys.publicKey, "--allow-symlinks"));
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stderr, "records allow_symlinks=false");
  await Deno.symlink(join(model, "config.json"), join(model, "alias.json"));
  const bad = await runCli(verifyArgs(model, keys.publicKey, "--allow-symlinks"));
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, "symbolic link");
});

Deno.test("a model signed with symlinks allowed verifies without the flag; a pseudo-file target fails", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  await Deno.symlink(join(model, "config.json"), join(model, "alias.json"));
  await signWithKey(model, keys.privateKey, "--allow-symlinks");
  assertEquals((await serializationOf(join(model, "model.sig"))).allow_symlinks, true);
  const ok = await runCli(verifyArgs(model, keys.publicKey));
  assertEquals(ok.code, 0, ok.stderr);
  // procfs reports size 0 for files that read content: hashing by size would sign nothing.
  const proc = "/proc/self/environ";
  if ((await Deno.stat(proc).catch(() => null))?.size === 0) {
    await Deno.symlink(proc, join(model, "env"));
    const sign = await runCli([
      "sign",
      "key",
      "--private_key",
      keys.privateKey,
      "--allow-symlinks",
      "--signature",
      join(dir.path, "x.sig"),
      model,
    ]);
    assertEquals(sign.code, 1, sign.stderr);
    assertStringIncludes(sign.stderr, "pseudo file");
    const verify = await runCli(verifyArgs(model, keys.publicKey));
    assertEquals(verify.code, 1);
    assertStringIncludes(verify.stderr, "pseudo file");
  }
});

Deno.test("with symlinks allowed, a signature that is a link is left out by its own path", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const outside = join(dir.path, "real.sig");
  await signWithKey(model, keys.privateKey, "--allow-symlinks", "--signature", outside);
  await Deno.symlink(outside, join(model, "model.sig"));
  const ok = await runCli(verifyArgs(model, keys.publicKey, "--allow-symlinks"));
  assertEquals(ok.code, 0, ok.stderr);
});

// ---------------------------------------------------------------------------------------------
// 6.2.1: ignore paths

Deno.test("a relative --ignore-paths entry names a path in the model, wherever the process runs", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), { ...SAMPLE_MODEL, "README.md": "r" });
  // The operator passes CR ignorePaths like `README.md` and runs in `/`.
  const signed = await runCli(
    ["sign", "key", "--private_key", keys.privateKey, "--ignore-paths", "README.md", model],
    { cwd: "/" },
  );
  assertEquals(signed.code, 0, signed.stderr);
  const names = (await resourcesOf(join(model, "model.sig"))).map((r) => r.name);
  assert(!names.includes("README.md"), names.join(","));
  assert(
    ((await serializationOf(join(model, "model.sig"))).ignore_paths as string[]).includes(
      "README.md",
    ),
  );
  await Deno.writeTextFile(join(model, "README.md"), "changed");
  const ok = await runCli(verifyArgs(model, keys.publicKey, "--ignore-paths", "README.md"), {
    cwd: "/",
  });
  assertEquals(ok.code, 0, ok.stderr);
  // model_signing's spelling, relative to the working directory, still works.
  const cwdStyle = await runCli(
    verifyArgs(model, keys.publicKey, "--ignore-paths", "model/README.md"),
    { cwd: dir.path },
  );
  assertEquals(cwdStyle.code, 0, cwdStyle.stderr);
});

Deno.test("--ignore-paths: globs, '..' and absolute paths outside the model are usage errors; misses warn", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  for (const entry of ["*.md", "nested/?", "[ab]", "../x", join(dir.path, "elsewhere")]) {
    const result = await runCli([
      "sign",
      "key",
      "--private_key",
      keys.privateKey,
      "--ignore-paths",
      entry,
      model,
    ]);
    assertEquals(result.code, 2, `${entry}: ${result.stderr}`);
    assertStringIncludes(result.stderr, "--ignore-paths entry");
  }
  const warned = await runCli([
    "sign",
    "key",
    "--private_key",
    keys.privateKey,
    "--ignore-paths",
    "no-such-file",
    "--ignore-paths",
    "config.json",
    model,
  ]);
  assertEquals(warned.code, 0, warned.stderr);
  const lines = warned.stderr.split("\n").filter((l) => l.includes("match nothing"));
  assertEquals(lines.length, 1, warned.stderr);
  assertStringIncludes(lines[0]!, "'no-such-file'");
  assert(!lines[0]!.includes("config.json"), lines[0]);
  const digest = await runCli(["digest", "--ignore-paths", "typo.bin", model]);
  assertEquals(digest.code, 0, digest.stderr);
  assertStringIncludes(digest.stderr, "'typo.bin'");
  assert(digest.stdout.startsWith("sha256:"), digest.stdout);
});

Deno.test("--no-ignore-git-paths makes git paths count even when the signature recorded them ignored", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), {
    ...SAMPLE_MODEL,
    ".git/HEAD": "ref",
    ".gitignore": "x",
  });
  await signWithKey(model, keys.privateKey);
  assertEquals((await runCli(verifyArgs(model, keys.publicKey))).code, 0);
  const strict = await runCli(verifyArgs(model, keys.publicKey, "--no-ignore-git-paths"));
  assertEquals(strict.code, 1, strict.stderr);
  assertStringIncludes(strict.stderr, ".git/HEAD");
  assertStringIncludes(strict.stderr, ".gitignore");
});

// ---------------------------------------------------------------------------------------------
// 6.1.2: single-file models

Deno.test("a single-file model verifies with the legacy '.' name and with its basename", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const file = join(dir.path, "model.gguf");
  await Deno.writeTextFile(file, "gguf weights");
  const digest = sha256("gguf weights");
  // Our sign writes '.', which model_signing 1.1 needs (it rejects the basename).
  await signWithKey(file, keys.privateKey, "--signature", join(dir.path, "ours.sig"));
  assertEquals((await resourcesOf(join(dir.path, "ours.sig"))).map((r) => r.name), ["."]);
  for (const name of [".", "model.gguf"]) {
    const sig = join(dir.path, `${name}.sig`);
    await signStatement(statement([{ name, digest }], {}), keys.privateKey, sig);
    const ok = await runCli(verifyArgs(file, keys.publicKey, "--signature", sig));
    assertEquals(ok.code, 0, `${name}: ${ok.stderr}`);
  }
  // Shards of a single file named by its basename (as Go writes them).
  const sharded = join(dir.path, "shards.sig");
  const shards = [
    { name: "model.gguf:0:8", digest: sha256("gguf wei") },
    { name: "model.gguf:8:12", digest: sha256("ghts") },
  ];
  await signStatement(
    statement(shards, { method: "shards", shard_size: 8 }, "sha256-sharded-8"),
    keys.privateKey,
    sharded,
  );
  const ok = await runCli(verifyArgs(file, keys.publicKey, "--signature", sharded));
  assertEquals(ok.code, 0, ok.stderr);
  const other = join(dir.path, "other.sig");
  await signStatement(statement([{ name: "other.gguf", digest }], {}), keys.privateKey, other);
  assertEquals((await runCli(verifyArgs(file, keys.publicKey, "--signature", other))).code, 1);
  assertEquals(basename(file), "model.gguf");
});

// ---------------------------------------------------------------------------------------------
// Order: Unicode code points, as model_signing

Deno.test("resources and the root digest follow code point order outside the BMP and in private use", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  // UTF-16 puts U+1F600 (a surrogate pair) before U+E000; code point order puts it after.
  const files = {
    "\u{E000}.bin": "private",
    "\u{1F600}.bin": "emoji",
    "a/\u{FFFD}": "x",
    "a/\u{10000}": "y",
  };
  const model = await writeModel(join(dir.path, "model"), files);
  await signWithKey(model, keys.privateKey);
  const resources = await resourcesOf(join(model, "model.sig"));
  const names = resources.map((r) => r.name);
  assertEquals(names, ["a/\u{FFFD}", "a/\u{10000}", "\u{E000}.bin", "\u{1F600}.bin"]);
  const ok = await runCli(verifyArgs(model, keys.publicKey));
  assertEquals(ok.code, 0, ok.stderr);
  const root = sha256(Buffer.concat(resources.map((r) => Buffer.from(r.digest, "hex"))));
  assertStringIncludes(ok.stdout, root);
  const digest = await runCli(["digest", model]);
  assertEquals(digest.code, 0, digest.stderr);
  assertEquals(digest.stdout.split("\n")[0], `sha256:${root}`);
});

Deno.test("byteOrder() and compareResourceNames() compare code points, component-wise", () => {
  assert(byteOrder("\u{E000}", "\u{1F600}") < 0);
  assert(byteOrder("\u{FFFF}", "\u{10000}") < 0);
  assert(byteOrder("a", "b") < 0 && byteOrder("b", "a") > 0 && byteOrder("x", "x") === 0);
  assert(byteOrder("ab", "abc") < 0);
  // Component-wise: `a/b` before `a-b` ('/' is below '-' only as a separator).
  assert(compareResourceNames("a/b", "a-b") < 0);
  assert(compareResourceNames("x:10:20", "x:2:10", true) > 0);
  assert(compareResourceNames("x\n:0:1", "x:0:1", true) > 0);
  const big = "x:18446744073709551616:18446744073709551617";
  assert(compareResourceNames("x:18446744073709551615:18446744073709551616", big, true) < 0);
});

// ---------------------------------------------------------------------------------------------
// Shards: any file name, exact big sizes, empty files

Deno.test("shard signatures work for names with newlines, CR, U+2028/2029 and backslashes", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const files = {
    "a\nb": "newline file",
    "c\rd": "carriage return",
    "e\u2028f\u2029": "line separators",
    "h\\i": "backslash",
  };
  const model = await writeModel(join(dir.path, "model"), files);
  await signWithKey(model, keys.privateKey, "--shard-size", "5");
  const ok = await runCli(verifyArgs(model, keys.publicKey));
  assertEquals(ok.code, 0, ok.stderr);
  const names = (await resourcesOf(join(model, "model.sig"))).map((r) => r.name);
  assert(names.includes("a\nb:5:10"), names.join(" | "));
  await Deno.writeTextFile(join(model, "a\nb"), "newline fileX");
  const bad = await runCli(verifyArgs(model, keys.publicKey));
  assertEquals(bad.code, 1);
  // Files mode takes the same names.
  await signWithKey(model, keys.privateKey);
  assertEquals((await runCli(verifyArgs(model, keys.publicKey))).code, 0);
});

Deno.test("a colon in a file name: shard signatures verify (the spec's last-two-fields rule), sign refuses to write one", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), { "g:1:2": "colons", "w:x": "abc" });
  // As the Go implementation writes them.
  const shards = [
    { name: "g:1:2:0:4", digest: sha256("colo") },
    { name: "g:1:2:4:6", digest: sha256("ns") },
    { name: "w:x:0:3", digest: sha256("abc") },
  ];
  const sig = join(dir.path, "go.sig");
  await signStatement(
    statement(shards, { method: "shards", shard_size: 4 }, "sha256-sharded-4"),
    keys.privateKey,
    sig,
  );
  const ok = await runCli(verifyArgs(model, keys.publicKey, "--signature", sig));
  assertEquals(ok.code, 0, ok.stderr);
  // model_signing 1.1 splits on every ':' and would reject what we wrote.
  const sign = await runCli([
    "sign",
    "key",
    "--private_key",
    keys.privateKey,
    "--shard-size",
    "4",
    model,
  ]);
  assertEquals(sign.code, 1, sign.stderr);
  assertStringIncludes(sign.stderr, "model_signing 1.1 cannot parse");
});

Deno.test("a shard size beyond 2^53 is read exactly", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), { "w.bin": "weights" });
  const size = "1152921504606846977"; // 2^60 + 1: a double would round it
  const sig = join(dir.path, "big.sig");
  const text = JSON.stringify(
    statement([{ name: "w.bin:0:7", digest: sha256("weights") }], {
      method: "shards",
      shard_size: 1,
    }, `sha256-sharded-${size}`),
  ).replace('"shard_size":1', `"shard_size":${size}`);
  await signStatement(JSON.parse(text), keys.privateKey, sig);
  // JSON.parse above rounded the size: sign the exact text instead.
  const key = createPrivateKey(await Deno.readTextFile(keys.privateKey));
  const pub = describePublicKey(createPublicKey(key), keys.privateKey);
  const payload = new TextEncoder().encode(text);
  const signature = sign(pub.hash, pae("application/vnd.in-toto+json", payload), key);
  await Deno.writeTextFile(
    sig,
    buildBundle(payload, signature, { kind: "publicKey", hint: pub.hint }),
  );
  const ok = await runCli(verifyArgs(model, keys.publicKey, "--signature", sig));
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, `shard ${size}`);
  // One less is another algorithm name: the exact value is compared.
  const off = text.replace(`sha256-sharded-${size}`, "sha256-sharded-1152921504606846976");
  const offSig = sign(
    pub.hash,
    pae("application/vnd.in-toto+json", new TextEncoder().encode(off)),
    key,
  );
  await Deno.writeTextFile(
    sig,
    buildBundle(new TextEncoder().encode(off), offSig, { kind: "publicKey", hint: pub.hint }),
  );
  assertEquals((await runCli(verifyArgs(model, keys.publicKey, "--signature", sig))).code, 1);
});

Deno.test("an empty file added to a shard-signed model fails verification, and sign refuses one", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  await signWithKey(model, keys.privateKey, "--shard-size", "1000");
  assertEquals((await runCli(verifyArgs(model, keys.publicKey))).code, 0);
  await Deno.writeTextFile(join(model, "nested", "sitecustomize.py"), "");
  const bad = await runCli(verifyArgs(model, keys.publicKey));
  assertEquals(bad.code, 1, bad.stderr);
  assertStringIncludes(bad.stderr, "nested/sitecustomize.py");
  assertStringIncludes(bad.stderr, "empty");
  assertStringIncludes(bad.stderr, "file serialization");
  // With --ignore-unsigned-files, extra files are tolerated by request.
  assertEquals(
    (await runCli(verifyArgs(model, keys.publicKey, "--ignore-unsigned-files"))).code,
    0,
  );
  const sign = await runCli([
    "sign",
    "key",
    "--private_key",
    keys.privateKey,
    "--shard-size",
    "1000",
    model,
  ]);
  assertEquals(sign.code, 1, sign.stderr);
  assertStringIncludes(sign.stderr, "empty files");
  // File serialization lists empty files: signing and verifying work.
  await signWithKey(model, keys.privateKey);
  assertEquals((await runCli(verifyArgs(model, keys.publicKey))).code, 0);
});

Deno.test("blake3 with --shard-size signs whole files, as model_signing does", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const result = await runCli([
    "sign",
    "key",
    "--private_key",
    keys.privateKey,
    "--hash-type",
    "blake3",
    "--shard-size",
    "100",
    model,
  ]);
  assertEquals(result.code, 0, result.stderr);
  assertStringIncludes(result.stderr, "--shard_size has no effect");
  const serialization = await serializationOf(join(model, "model.sig"));
  assertEquals([serialization.method, serialization.hash_type, serialization.shard_size], [
    "files",
    "blake3",
    undefined,
  ]);
});

Deno.test("a model_signing 0.2 signature records no symlink policy: --allow-symlinks decides", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), { "w.bin": "weights" });
  await Deno.symlink(join(model, "w.bin"), join(model, "alias.bin"));
  const legacy = {
    _type: "https://in-toto.io/Statement/v1",
    subject: [
      { name: "alias.bin", digest: { sha256: sha256("weights") } },
      { name: "w.bin", digest: { sha256: sha256("weights") } },
    ],
    predicateType: "https://model_signing/Digests/v0.1",
    predicate: {},
  };
  const sig = join(dir.path, "legacy.sig");
  await signStatement(legacy, keys.privateKey, sig);
  const strict = await runCli(verifyArgs(model, keys.publicKey, "--signature", sig));
  assertEquals(strict.code, 1, strict.stderr);
  assertStringIncludes(strict.stderr, "symbolic link");
  const allowed = await runCli(
    verifyArgs(model, keys.publicKey, "--signature", sig, "--allow-symlinks"),
  );
  assertEquals(allowed.code, 0, allowed.stderr);
  assert(!allowed.stderr.includes("no effect"), allowed.stderr);
});
