import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { InputError } from "../errors.ts";
import { computeRootDigest } from "../manifest/manifest.ts";
import { toSignedManifest } from "./predicate.ts";
import { PREDICATE_TYPE, PREDICATE_TYPE_LEGACY, type Statement } from "./statement.ts";

const D1 = "11".repeat(32);
const D2 = "22".repeat(32);

interface Options {
  serialization?: Record<string, unknown>;
  subjects?: number;
  root?: string;
}

/** A v1.0 statement over `resources` (name -> digest), with a consistent root digest. */
function v1(resources: [string, string][], options: Options = {}): Statement {
  const serialization = options.serialization ??
    { method: "files", hash_type: "sha256", allow_symlinks: false };
  const algorithm = serialization.method === "shards"
    ? `sha256-sharded-${serialization.shard_size}`
    : "sha256";
  const root = options.root ??
    computeRootDigest(resources.map(([name, digest]) => ({ name, digest })));
  return {
    subjects: Array.from(
      { length: options.subjects ?? 1 },
      () => ({ name: "model", digest: { sha256: root } }),
    ),
    predicateType: PREDICATE_TYPE,
    predicate: {
      serialization,
      resources: resources.map(([name, digest]) => ({ name, algorithm, digest })),
    },
  };
}

function legacy(names: string[]): Statement {
  return {
    subjects: names.map((name) => ({ name, digest: { sha256: D1 } })),
    predicateType: PREDICATE_TYPE_LEGACY,
    predicate: {},
  };
}

Deno.test("toSignedManifest() decodes a v1.0 predicate and checks the root digest", async () => {
  const manifest = await toSignedManifest(v1([["a.bin", D1], ["d/b.bin", D2.toUpperCase()]]));
  assertEquals(manifest.entries, [{ name: "a.bin", digest: D1 }, { name: "d/b.bin", digest: D2 }]);
  assertEquals(manifest.modelName, "model");
  assertEquals(manifest.legacy, false);
  assertEquals(manifest.serialization.method, "files");
  assertEquals((await toSignedManifest(v1([]))).entries, []);
});

Deno.test("toSignedManifest() takes a backslash as an ordinary POSIX name character, as sign does", async () => {
  const names = (await toSignedManifest(v1([["a\\b", D1], ["..\\..\\windows", D1]]))).entries;
  assertEquals(names.map((e) => e.name), ["a\\b", "..\\..\\windows"]);
});

Deno.test("toSignedManifest() rejects resource names that leave the model or are ambiguous", async (t) => {
  const bad = [
    "/etc/passwd",
    "..",
    "../outside",
    "a/../../outside",
    "a/./b",
    "./a",
    "a//b",
    "a/",
    "",
    "a\0b",
  ];
  for (const name of bad) {
    await t.step(JSON.stringify(name), async () => {
      const error = await assertFailsWith(
        () => toSignedManifest(v1([[name, D1]])),
        InputError,
        "PAYLOAD_INVALID",
      );
      assert(!error.message.includes("\0"));
      await assertFailsWith(() => toSignedManifest(legacy([name])), InputError, "PAYLOAD_INVALID");
    });
  }
});

Deno.test("toSignedManifest() accepts odd but valid names exactly as written", async () => {
  const names = ["a\nb", " lead", "ünïcödé/模型.bin", "a:b", "...", ".hidden", "x".repeat(4096)];
  const manifest = await toSignedManifest(v1(names.map((n) => [n, D1])));
  assertEquals(manifest.entries.map((e) => e.name), names);
});

Deno.test("toSignedManifest() rejects duplicate resource names", async () => {
  await assertFailsWith(
    () => toSignedManifest(v1([["a", D1], ["b", D2], ["a", D1]])),
    InputError,
    "PAYLOAD_INVALID",
  );
  const shards = { method: "shards", hash_type: "sha256", allow_symlinks: false, shard_size: 4 };
  await assertFailsWith(
    () => toSignedManifest(v1([["a:0:4", D1], ["a:0:4", D1]], { serialization: shards })),
    InputError,
    "PAYLOAD_INVALID",
  );
  await assertFailsWith(() => toSignedManifest(legacy(["a", "a"])), InputError, "PAYLOAD_INVALID");
});

Deno.test("toSignedManifest() checks shard names against the shard size", async (t) => {
  const serialization = {
    method: "shards",
    hash_type: "sha256",
    allow_symlinks: false,
    shard_size: 10,
  };
  const ok = ["a:0:10", "a:10:15", "d/b:20:30", "x:y:0:1"];
  assertEquals(
    (await toSignedManifest(v1(ok.map((n) => [n, D1]), { serialization }))).entries.map((e) =>
      e.name
    ),
    ok,
  );
  for (
    const name of [
      "a",
      "a:0",
      "a:5:15",
      "a:0:11",
      "a:10:10",
      "a:20:10",
      "a:-10:0",
      "a:0:1e1",
      "a:0:99999999999999999999",
      "/a:0:10",
      "../a:0:10",
    ]
  ) {
    await t.step(name, async () => {
      await assertFailsWith(
        () => toSignedManifest(v1([[name, D1]], { serialization })),
        InputError,
        "PAYLOAD_INVALID",
      );
    });
  }
});

Deno.test("toSignedManifest() rejects an inconsistent or unknown v1.0 predicate", async (t) => {
  const files = { method: "files", hash_type: "sha256", allow_symlinks: false };
  const cases: [string, Statement][] = [
    ["several subjects", v1([["a", D1]], { subjects: 2 })],
    ["a root digest that does not match", v1([["a", D1]], { root: "00".repeat(32) })],
    ["a root digest that is not hex", v1([["a", D1]], { root: "zz".repeat(32) })],
    ["an unknown method", v1([], { serialization: { ...files, method: "tar" } })],
    ["an unknown hash type", v1([], { serialization: { ...files, hash_type: "md5" } })],
    [
      "allow_symlinks that is not a boolean",
      v1([], { serialization: { ...files, allow_symlinks: "no" } }),
    ],
    [
      "ignore_paths that is not a list of strings",
      v1([], { serialization: { ...files, ignore_paths: [1] } }),
    ],
    ["a shard size of 0", v1([], { serialization: { ...files, method: "shards", shard_size: 0 } })],
    [
      "a fractional shard size",
      v1([], { serialization: { ...files, method: "shards", shard_size: 1.5 } }),
    ],
    [
      "a shard size as text",
      v1([], { serialization: { ...files, method: "shards", shard_size: "8" } }),
    ],
    ["no serialization", { ...v1([]), predicate: { resources: [] } }],
    ["resources that are not a list", {
      ...v1([]),
      predicate: { serialization: files, resources: {} },
    }],
    ["a resource that is not an object", {
      ...v1([]),
      predicate: { serialization: files, resources: ["a"] },
    }],
  ];
  const wrong = (edit: (r: Record<string, unknown>) => void): Statement => {
    const s = v1([["a", D1]]);
    edit((s.predicate.resources as Record<string, unknown>[])[0]!);
    return s;
  };
  cases.push(
    ["a digest of the wrong length", wrong((r) => r.digest = "11".repeat(31))],
    ["a digest that is not hex", wrong((r) => r.digest = "zz".repeat(32))],
    ["an algorithm that contradicts the serialization", wrong((r) => r.algorithm = "blake3")],
    ["a name that is not a string", wrong((r) => r.name = 7)],
  );
  for (const [what, s] of cases) {
    await t.step(what, async () => {
      await assertFailsWith(() => toSignedManifest(s), InputError, "PAYLOAD_INVALID");
    });
  }
});

Deno.test("toSignedManifest() quotes a hostile name escaped and cut short", async () => {
  const name = "/\u001b[31m" + "a".repeat(1_000_000);
  const error = await assertFailsWith(
    () => toSignedManifest(v1([[name, D1]])),
    InputError,
    "PAYLOAD_INVALID",
  );
  assert(error.message.length < 700, `${error.message.length} characters`);
  assertStringIncludes(error.message, "'/\\u001b[31maaa");
});
