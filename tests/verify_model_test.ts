/**
 * The verification pipeline end to end on self-made fixtures: every way a model can differ from
 * its signature, the hashing variants the signature may name, and the model tree rules.
 */

import { join } from "node:path";
import { InputError, IntegrityError, InternalError } from "../lib/errors.ts";
import { verifyModel } from "../lib/verify_model.ts";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertMatch,
  assertStringIncludes,
} from "./_assert.ts";
import {
  editStatement,
  keyConfig,
  runCli,
  signedModel,
  signWithKey,
  tempDir,
  writeModel,
} from "./_helpers.ts";

Deno.test("verify key reports what it verified on success", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const result = await runCli(["verify", "key", "--public_key", f.publicKey, f.model]);
  assertEquals(result.code, 0, result.stderr);
  const lines = result.stdout.split("\n");
  assertEquals(lines[0], "Verification succeeded");
  assertStringIncludes(result.stdout, "method:      key");
  assertStringIncludes(result.stdout, "files:       4 ");
  assertMatch(result.stdout, /root digest: sha256:[0-9a-f]{64}/);
  assertMatch(result.stdout, /time: +\d+\.\d\d s/);
});

Deno.test("verify names every extra, missing and changed file in one message", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await Deno.writeTextFile(join(f.model, "config.json"), "BACKDOOR INJECTION", { append: true });
  await Deno.writeTextFile(join(f.model, "tokenizer.json"), "{}");
  await Deno.remove(join(f.model, "nested/extra.txt"));
  const error = await assertFailsWith(
    () => verifyModel(keyConfig(f)),
    IntegrityError,
    "MODEL_FILES_DIFFER",
  );
  assertEquals(error.diff.missing, ["nested/extra.txt"]);
  await Deno.writeTextFile(join(f.model, "nested/extra.txt"), "nested file\n");
  await Deno.writeTextFile(join(f.model, "planted.py"), "import os");
  await Deno.writeTextFile(join(f.model, "nested/also.py"), "x");
  const early = await assertFailsWith(
    () => verifyModel(keyConfig(f)),
    IntegrityError,
    "MODEL_FILES_DIFFER",
  );
  assertEquals(early.diff.extra, ["nested/also.py", "planted.py"]);
  await Deno.remove(join(f.model, "planted.py"));
  await Deno.remove(join(f.model, "nested/also.py"));
  const changed = await assertFailsWith(
    () => verifyModel(keyConfig(f)),
    IntegrityError,
    "MODEL_MODIFIED",
  );
  assertEquals(changed.diff.mismatched.map((m) => m.name), ["config.json", "tokenizer.json"]);
  assertStringIncludes(changed.message, "hash mismatch for 'config.json'");
});

Deno.test("verify fails on extra or missing files before hashing anything", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await Deno.writeTextFile(join(f.model, "planted.bin"), "x");
  let hashingStarted = false;
  await assertFailsWith(
    () => verifyModel(keyConfig(f), { onHashingStart: () => (hashingStarted = true) }),
    IntegrityError,
    "MODEL_FILES_DIFFER",
  );
  assertEquals(hashingStarted, false);
});

Deno.test("--ignore-unsigned-files hashes only the listed files", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await Deno.writeTextFile(join(f.model, "README.md"), "added after signing");
  const config = keyConfig(f);
  await assertFailsWith(() => verifyModel(config), IntegrityError, "MODEL_FILES_DIFFER");
  const result = await verifyModel({ ...config, ignoreUnsignedFiles: true });
  assertEquals(result.files, 4);
  await Deno.remove(join(f.model, "tokenizer.json"));
  const error = await assertFailsWith(
    () => verifyModel({ ...config, ignoreUnsignedFiles: true }),
    IntegrityError,
    "MODEL_FILES_DIFFER",
  );
  assertEquals(error.diff.missing, ["tokenizer.json"]);
});

Deno.test("--ignore-paths leaves files out, resolved against the working directory", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await Deno.writeTextFile(join(f.model, "notes.txt"), "local notes");
  const rel = await runCli(
    ["verify", "key", "--public_key", f.publicKey, "--ignore-paths", "model/notes.txt", "model"],
    { cwd: dir.path },
  );
  assertEquals(rel.code, 0, rel.stderr);
  const without = await runCli(["verify", "key", "--public_key", f.publicKey, "model"], {
    cwd: dir.path,
  });
  assertEquals(without.code, 1);
  assertStringIncludes(without.stderr, "notes.txt");
});

Deno.test("git metadata is ignored by default and checked with --no-ignore-git-paths", async () => {
  await using dir = await tempDir();
  // Signed without git paths in the signature's ignore_paths, which verification also honours.
  const f = await signedModel(dir.path, { extraArgs: ["--no-ignore-git-paths"] });
  await writeModel(f.model, { ".git/HEAD": "ref: refs/heads/main", ".gitattributes": "*.bin lfs" });
  const ok = await runCli(["verify", "key", "--public_key", f.publicKey, f.model]);
  assertEquals(ok.code, 0, ok.stderr);
  const strict = await runCli([
    "verify",
    "key",
    "--public_key",
    f.publicKey,
    "--no-ignore-git-paths",
    f.model,
  ]);
  assertEquals(strict.code, 1);
  assertStringIncludes(strict.stderr, ".git/HEAD");
});

Deno.test("a signature outside the model and a single-file model both verify", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "m"), { "weights.bin": "0123456789" });
  const keys = await signedModel(join(dir.path, "k"));
  const file = join(model, "weights.bin");
  const sig = join(dir.path, "weights.sig");
  await signWithKey(file, keys.privateKey, "--signature", sig);
  const statement = JSON.parse(atob(JSON.parse(await Deno.readTextFile(sig)).dsseEnvelope.payload));
  assertEquals(statement.predicate.resources[0].name, ".");
  const ok = await runCli([
    "verify",
    "key",
    "--signature",
    sig,
    "--public_key",
    keys.publicKey,
    file,
  ]);
  assertEquals(ok.code, 0, ok.stderr);
  const asDir = await runCli([
    "verify",
    "key",
    "--signature",
    sig,
    "--public_key",
    keys.publicKey,
    model,
  ]);
  assertEquals(asDir.code, 1);
});

Deno.test("verify hashes the model the way the signature says (files or shards; sha256, blake2b, blake3)", async (t) => {
  for (
    const extra of [
      ["--hash-type", "sha256"],
      ["--hash-type", "blake2b"],
      ["--hash-type", "blake3"],
      ["--shard-size", "100"],
      ["--hash-type", "blake3", "--shard-size", "1000"],
    ]
  ) {
    await t.step(extra.join(" "), async () => {
      await using dir = await tempDir();
      const f = await signedModel(dir.path, { extraArgs: extra });
      const ok = await runCli(["verify", "key", "--public_key", f.publicKey, f.model]);
      assertEquals(ok.code, 0, ok.stderr);
      const type = extra.includes("blake3")
        ? "blake3"
        : extra.includes("blake2b")
        ? "blake2b"
        : "sha256";
      assertStringIncludes(
        ok.stdout,
        // BLAKE3 signs whole files even when asked for shards, as model_signing does.
        extra.includes("--shard-size") && type !== "blake3" ? `shards/${type}` : `files/${type}`,
      );
      await Deno.writeTextFile(join(f.model, "model.safetensors"), "tampered", { append: true });
      const bad = await runCli(["verify", "key", "--public_key", f.publicKey, f.model]);
      assertEquals(bad.code, 1);
      assertStringIncludes(bad.stderr, "model.safetensors");
    });
  }
});

Deno.test("a signed payload that lies about its root digest is rejected", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  await editStatement(f.signature, (s) => {
    (s.subject as { digest: { sha256: string } }[])[0]!.digest.sha256 = "00".repeat(32);
  });
  // The signature no longer fits either; check the decoder directly through the key path.
  const result = await runCli(["verify", "key", "--public_key", f.publicKey, f.model]);
  assertEquals(result.code, 1);
});

Deno.test("symlinks fail unless allowed, and are hashed with their target when allowed", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path, { extraArgs: [] });
  await Deno.writeTextFile(join(dir.path, "outside.txt"), "outside");
  await Deno.symlink(join(dir.path, "outside.txt"), join(f.model, "link.txt"));
  await assertFailsWith(() => verifyModel(keyConfig(f)), InputError, "SYMLINK_NOT_ALLOWED");
  await signWithKey(f.model, f.privateKey, "--allow-symlinks");
  const ok = await verifyModel({ ...keyConfig(f), allowSymlinks: true });
  assertEquals(ok.files, 5);
});

Deno.test("digest prints the root digest that a signature of the same model records", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const digest = await runCli(["digest", f.model]);
  assertEquals(digest.code, 0, digest.stderr);
  const verify = await runCli(["verify", "key", "--public_key", f.publicKey, f.model]);
  const root = /root digest: (sha256:[0-9a-f]{64})/.exec(verify.stdout)?.[1];
  assert(root);
  assertEquals(digest.stdout.split("\n")[0], root);
  await Deno.writeTextFile(join(f.model, "config.json"), "changed");
  const changed = await runCli(["digest", f.model]);
  assert(changed.stdout.split("\n")[0] !== root);
});

Deno.test("verify fails closed when a digest cache drops a file (continuous mode)", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  let remembered = false;
  const error = await assertFailsWith(
    () =>
      verifyModel(keyConfig(f), {
        digestCache: {
          // A faulty cache: the first file is neither known nor to be hashed.
          partition: (jobs) => Promise.resolve({ known: new Map(), toHash: jobs.slice(1) }),
          remember: () => {
            remembered = true;
            return Promise.resolve();
          },
        },
      }),
    InternalError,
    "DIGEST_CACHE",
  );
  assertStringIncludes(error.message, "gave no sha256 digest");
  assertEquals(remembered, false);
});
