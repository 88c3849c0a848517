import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { runCli, signedModel, signWithKey, tempDir, writeKeyPair } from "../../tests/_helpers.ts";
import { parseArgs } from "../config/parse_args.ts";
import { resolveVerifyConfig } from "../config/resolve_config.ts";
import { IntegrityError } from "../errors.ts";
import { verifyModel } from "../verify_model.ts";
import { IdentityCache, identityOf, sameIdentity } from "./identity_cache.ts";

/** Files in tests are seconds old at most; a clock a minute ahead makes them trustworthy. */
const LATER = () => Date.now() + 60_000;

function keyConfig(model: string, signature: string, publicKey: string, extra: string[] = []) {
  return resolveVerifyConfig(
    parseArgs([
      "verify",
      "key",
      "--signature",
      signature,
      "--public_key",
      publicKey,
      ...extra,
      model,
    ]),
    { env: {}, cwd: Deno.cwd() },
  );
}

/**
 * Bytes this process (all its threads, hashing workers included) has read through read(2) so
 * far, from /proc/PID/io on Linux; undefined elsewhere. Deno lets only --allow-all read /proc/self
 * directly, so `cat` (--allow-run) reads it.
 */
async function bytesRead(): Promise<number | undefined> {
  try {
    const out = await new Deno.Command("cat", { args: [`/proc/${Deno.pid}/io`], stderr: "null" })
      .output();
    const match = /^rchar:\s*(\d+)/m.exec(new TextDecoder().decode(out.stdout));
    return out.success && match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

Deno.test("identityOf() takes device, inode, size and both times; any change differs", async () => {
  await using dir = await tempDir();
  const path = join(dir.path, "f");
  await Deno.writeTextFile(path, "abc");
  const a = identityOf(await Deno.stat(path));
  assert(a, "Linux reports dev, ino and ctime");
  assert(sameIdentity(a, identityOf(await Deno.stat(path))));
  assert(!sameIdentity(a, { ...a, ctimeMs: a.ctimeMs + 1 }));
  assert(!sameIdentity(a, { ...a, ino: a.ino + 1 }));
  assert(!sameIdentity(a, undefined));
  assertEquals(identityOf(await Deno.stat(dir.path)), undefined);
});

Deno.test("IdentityCache: a re-check re-hashes only files whose identity changed", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const config = keyConfig(fixture.model, fixture.signature, fixture.publicKey);
  const cache = new IdentityCache({ now: LATER });
  const first = cache.round(false);
  await verifyModel(config, { digestCache: first });
  assertEquals([first.stats.filesHashed, first.stats.filesReused], [4, 0]);
  assertEquals(cache.size, 4);

  const second = cache.round(false);
  await verifyModel(config, { digestCache: second });
  assertEquals([second.stats.filesHashed, second.stats.bytesHashed, second.stats.filesReused], [
    0,
    0,
    4,
  ]);

  const full = cache.round(true);
  await verifyModel(config, { digestCache: full });
  assertEquals([full.stats.full, full.stats.filesHashed], [true, 4]);
});

Deno.test("IdentityCache: a changed file is re-hashed and caught", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const config = keyConfig(fixture.model, fixture.signature, fixture.publicKey);
  const cache = new IdentityCache({ now: LATER });
  await verifyModel(config, { digestCache: cache.round(false) });
  const weights = join(fixture.model, "model.safetensors");
  const original = await Deno.readFile(weights);
  const tampered = original.slice();
  tampered[10] = tampered[10]! ^ 1;
  await Deno.writeFile(weights, tampered);
  const round = cache.round(false);
  const error = await assertFailsWith(
    () => verifyModel(config, { digestCache: round }),
    IntegrityError,
    "MODEL_MODIFIED",
  );
  assertEquals(error.diff.mismatched.map((m) => m.name), ["model.safetensors"]);
  assertEquals([round.stats.filesHashed, round.stats.filesReused], [1, 3]);
});

Deno.test("IdentityCache: restoring mtime after a same-size write is still caught (ctime)", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const config = keyConfig(fixture.model, fixture.signature, fixture.publicKey);
  const cache = new IdentityCache({ now: LATER });
  await verifyModel(config, { digestCache: cache.round(false) });
  const weights = join(fixture.model, "model.safetensors");
  const before = await Deno.stat(weights);
  const content = await Deno.readFile(weights);
  content[0] = content[0]! ^ 1;
  // Write until the change time moves on (timestamps are coarse); then put mtime back.
  for (let i = 0; i < 100_000; i++) {
    await Deno.writeFile(weights, content);
    await Deno.utime(weights, before.atime!, before.mtime!);
    const after = await Deno.stat(weights);
    if (after.ctime!.getTime() !== before.ctime!.getTime()) break;
  }
  const after = await Deno.stat(weights);
  assertEquals([after.size, after.mtime!.getTime()], [before.size, before.mtime!.getTime()]);
  const round = cache.round(false);
  await assertFailsWith(
    () => verifyModel(config, { digestCache: round }),
    IntegrityError,
    "MODEL_MODIFIED",
  );
  assertEquals(round.stats.filesHashed, 1);
});

Deno.test("IdentityCache does not remember files changed within the racy window", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path);
  const config = keyConfig(fixture.model, fixture.signature, fixture.publicKey);
  const cache = new IdentityCache({ now: Date.now, racyWindowMs: 3_600_000 });
  const first = cache.round(false);
  await verifyModel(config, { digestCache: first });
  assertEquals([first.stats.filesTooRecent, cache.size], [4, 0]);
  const second = cache.round(false);
  await verifyModel(config, { digestCache: second });
  assertEquals(second.stats.filesHashed, 4);
});

Deno.test("IdentityCache keys digests by algorithm and shard; forgets vanished files", async () => {
  await using dir = await tempDir();
  const fixture = await signedModel(dir.path, { extraArgs: ["--shard-size", "1000"] });
  const config = keyConfig(fixture.model, fixture.signature, fixture.publicKey, [
    "--ignore_unsigned_files",
  ]);
  const cache = new IdentityCache({ now: LATER });
  await verifyModel(config, { digestCache: cache.round(false) });
  const again = cache.round(false);
  await verifyModel(config, { digestCache: again });
  assertEquals(again.stats.filesHashed, 0);
  // Re-sign the same files with another algorithm: nothing remembered applies.
  await signWithKey(fixture.model, fixture.privateKey, "--hash-type", "blake2b");
  const other = cache.round(false);
  await verifyModel(config, { digestCache: other });
  assertEquals(other.stats.filesHashed, 4);
  await Deno.remove(join(fixture.model, "nested/extra.txt"));
  await runCli(["sign", "key", "--private_key", fixture.privateKey, fixture.model]);
  await verifyModel(config, { digestCache: cache.round(false) });
  assertEquals(cache.size, 3);
});

Deno.test("IdentityCache: a re-check of an unchanged large sparse model reads no file data", async (t) => {
  if ((await bytesRead()) === undefined) {
    await t.step("skipped: /proc/PID/io is not available", () => {});
    return;
  }
  await using dir = await tempDir();
  const model = join(dir.path, "model");
  await Deno.mkdir(model);
  const size = 1024 ** 3;
  const big = join(model, "weights.bin");
  await using file = await Deno.open(big, { create: true, write: true });
  await file.truncate(size);
  await Deno.writeTextFile(join(model, "config.json"), "{}\n");
  const keys = await writeKeyPair(dir.path);
  const signature = join(dir.path, "model.sig");
  await signWithKey(model, keys.privateKey, "--signature", signature);
  const config = keyConfig(model, signature, keys.publicKey);
  const cache = new IdentityCache({ now: LATER });

  const start = (await bytesRead())!;
  await verifyModel(config, { digestCache: cache.round(false) });
  const afterFirst = (await bytesRead())!;
  assert(afterFirst - start >= size, `first round read ${afterFirst - start} bytes`);

  const recheck = cache.round(false);
  const result = await verifyModel(config, { digestCache: recheck });
  const afterRecheck = (await bytesRead())!;
  assertEquals(result.bytes, size + 3);
  assertEquals([recheck.stats.filesHashed, recheck.stats.bytesHashed], [0, 0]);
  // Only the signature and key files are read again: a few KiB, not the gigabyte.
  assert(afterRecheck - afterFirst < 64 * 1024, `re-check read ${afterRecheck - afterFirst} bytes`);

  // One byte written in the middle of the sparse file: re-hashed and caught.
  await file.seek(size / 2, Deno.SeekMode.Start);
  await file.write(new Uint8Array([1]));
  const changed = cache.round(false);
  const error = await assertFailsWith(
    () => verifyModel(config, { digestCache: changed }),
    IntegrityError,
    "MODEL_MODIFIED",
  );
  assertStringIncludes(error.message, "weights.bin");
  assertEquals([changed.stats.filesHashed, changed.stats.bytesHashed], [1, size]);
});
