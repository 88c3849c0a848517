import { blake3 } from "hash-wasm";
import { assertEquals } from "../../tests/_assert.ts";
import {
  createHasher,
  createHasherSync,
  engineReady,
  HASH_ALGORITHMS,
  isHashAlgorithm,
  prepareEngine,
  resourceAlgorithmName,
} from "./engines.ts";
import { toHex } from "./hex.ts";

// Published test vectors for the input "abc".
const ABC: Record<string, string> = {
  sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  blake2b: "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1" +
    "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923",
  blake3: "6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
};

Deno.test("createHasher() produces the published digests of 'abc', fed in pieces", async () => {
  for (const algorithm of HASH_ALGORITHMS) {
    const hasher = await createHasher(algorithm);
    hasher.update(new TextEncoder().encode("a"));
    hasher.update(new TextEncoder().encode("bc"));
    assertEquals(toHex(hasher.digest()), ABC[algorithm], algorithm);
  }
});

Deno.test("isHashAlgorithm() accepts only the OMS hash types", () => {
  assertEquals(["sha256", "blake2b", "blake3"].map(isHashAlgorithm), [true, true, true]);
  assertEquals(["blake2", "SHA256", "md5", 1].map(isHashAlgorithm), [false, false, false, false]);
});

Deno.test("resourceAlgorithmName() names shard engines with their size", () => {
  assertEquals(resourceAlgorithmName("sha256"), "sha256");
  assertEquals(resourceAlgorithmName("blake3", 1024), "blake3-sharded-1024");
});

Deno.test("createHasher() gives correct BLAKE3 digests when instances are reused or interleaved", async () => {
  const text = (t: string) => new TextEncoder().encode(t);
  const a = await createHasher("blake3");
  const b = await createHasher("blake3");
  a.update(text("ab"));
  b.update(text("xy"));
  a.update(text("c"));
  assertEquals(toHex(a.digest()), ABC.blake3);
  const c = await createHasher("blake3"); // takes a's finished instance
  c.update(text("abc"));
  b.update(text("z"));
  assertEquals(toHex(c.digest()), ABC.blake3);
  assertEquals(toHex(b.digest()), await blake3("xyz")); // hash-wasm's one-shot function
});

Deno.test("engineReady() says when a lost BLAKE3 instance must be replaced before hashing", async () => {
  await prepareEngine("blake3");
  await prepareEngine("sha256");
  assertEquals(engineReady("sha256"), true);
  assertEquals(engineReady("blake3"), true);
  // A hasher whose file failed before its digest was taken keeps its instance.
  while (engineReady("blake3")) createHasherSync("blake3");
  assertEquals(engineReady("blake3"), false);
  await prepareEngine("blake3");
  assertEquals(engineReady("blake3"), true);
  const hasher = createHasherSync("blake3");
  hasher.update(new TextEncoder().encode("abc"));
  assertEquals(toHex(hasher.digest()), ABC.blake3);
});

Deno.test("createHasher() gives concurrent callers in one thread a BLAKE3 instance each", async () => {
  const data = new TextEncoder().encode("abc");
  // Exactly one idle instance: every caller sees it before the first one takes it.
  while (engineReady("blake3")) createHasherSync("blake3");
  await prepareEngine("blake3");
  const hashers = await Promise.all(Array.from({ length: 8 }, () => createHasher("blake3")));
  for (const hasher of hashers) hasher.update(data);
  for (const hasher of hashers) assertEquals(toHex(hasher.digest()), ABC.blake3);
});
