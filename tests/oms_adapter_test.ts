/**
 * The OMS conformance adapter (scripts/oms_adapter.ts): its flag translation, and each class of
 * case the public conformance suite checks, run through the adapter in-process (the suite itself
 * carries no licence and is not part of the project; README "Conformance suite" runs it).
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { run } from "../main.ts";
import {
  type AdapterIo,
  hashModel,
  parseAdapterArgs,
  planHash,
  planSign,
  planVerify,
  runAdapter,
  timeRuns,
} from "../scripts/oms_adapter.ts";
import { startKeylessStack } from "../scripts/oms_local_sigstore.ts";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { editStatement, SAMPLE_MODEL, tempDir, writeKeyPair, writeModel } from "./_helpers.ts";

async function adapter(
  argv: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: AdapterIo = {
    env,
    cwd: Deno.cwd(),
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  };
  const code = await runAdapter(argv, io);
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

Deno.test("planSign() and planVerify() translate the adapter protocol into model-verify argv", () => {
  const sign = planSign(parseAdapterArgs([
    "--method=certificate",
    "--model-path",
    "/m",
    "--output-bundle",
    "/b.sig",
    "--private-key",
    "/k.pem",
    "--signing-cert",
    "/leaf.pem",
    "--cert-chain",
    "/int.pem",
    "--cert-chain",
    "/root.pem",
    "--ignore-paths",
    "/m/a",
    "--ignore-paths",
    "/m/b",
  ]));
  assertEquals(sign.argv, [
    "sign",
    "certificate",
    "--signature",
    "/b.sig",
    "--quiet",
    "--private_key",
    "/k.pem",
    "--signing_certificate",
    "/leaf.pem",
    "--certificate_chain",
    "/int.pem",
    "--certificate_chain",
    "/root.pem",
    "--ignore_paths",
    "/m/a",
    "--ignore_paths",
    "/m/b",
    "/m",
  ]);
  const verify = planVerify(parseAdapterArgs([
    "--bundle",
    "/b.sig",
    "--method",
    "sigstore",
    "--model-path",
    "/m",
    "--identity",
    "me@example.com",
    "--identity-provider",
    "https://accounts.example.com",
    "--ignore-unsigned-files",
  ]));
  assertEquals(verify.argv, [
    "verify",
    "sigstore",
    "--signature",
    "/b.sig",
    "--quiet",
    "--identity",
    "me@example.com",
    "--identity_provider",
    "https://accounts.example.com",
    "--offline",
    "--ignore_unsigned_files",
    "/m",
  ]);
});

Deno.test("the adapter refuses unknown commands, methods and flags, and missing values (exit 2)", async () => {
  for (
    const argv of [
      [],
      ["frobnicate"],
      ["verify-model", "--method", "key", "--model-path", "/m", "--bogus", "x"],
      ["verify-model", "--method", "key", "--model-path", "/m", "--bundle", "/b"],
      ["sign-model", "--method", "ssh", "--model-path", "/m", "--output-bundle", "/b"],
      ["sign-model", "--method", "key", "--model-path"],
      ["benchmark-model", "--operation", "sign", "--repeat", "0"],
      ["benchmark-model", "--operation", "digest", "--model-path", "/m", "--repeat", "1"],
      ["benchmark-model", "--operation", "hash", "--model-path", "/m", "--repeat", "1001"],
      [
        "benchmark-model",
        "--operation",
        "hash",
        "--model-path",
        "/m",
        "--repeat",
        "1",
        "--warmup",
        "-1",
      ],
      [
        "benchmark-model",
        "--operation",
        "hash",
        "--model-path",
        "/m",
        "--repeat",
        "1",
        "--hash-algorithm",
        "md5",
      ],
      [
        "benchmark-model",
        "--operation",
        "hash",
        "--model-path",
        "/m",
        "--repeat",
        "1",
        "--shard-size",
        "0",
      ],
      [
        "benchmark-model",
        "--operation",
        "hash",
        "--model-path",
        "/m",
        "--repeat",
        "1",
        "--max-workers",
        "1.5",
      ],
      ["benchmark-model", "--operation", "hash", "--repeat", "1"],
    ]
  ) {
    const result = await adapter(argv);
    assertEquals(result.code, 2, `${argv.join(" ")}: ${result.stderr}`);
    assertStringIncludes(result.stderr, "oms_adapter: ");
  }
});

Deno.test("capabilities lists the hash algorithms and the benchmark command", async () => {
  const result = await adapter(["capabilities"]);
  assertEquals(result.code, 0);
  const caps = JSON.parse(result.stdout);
  assertEquals(caps.hash_algorithms, ["sha256", "blake2b", "blake3"]);
  assertEquals(caps.benchmark_model, true);
  assertEquals(caps.methods.sign, ["key", "certificate", "sigstore"]);
  assert(typeof caps.client_version === "string");
});

Deno.test("planSign() --method sigstore: token, staging, no key; MODEL_SIGNING_TRUST_CONFIG wins over staging and --offline", () => {
  const flags = [
    "--method",
    "sigstore",
    "--model-path",
    "/m",
    "--output-bundle",
    "/b.sig",
    "--identity-token",
    "eyJ.x.y",
    "--use-staging",
    "--ignore-paths",
    "/m/a",
  ];
  assertEquals(planSign(parseAdapterArgs(flags)).argv, [
    "sign",
    "sigstore",
    "--signature",
    "/b.sig",
    "--quiet",
    "--identity_token",
    "eyJ.x.y",
    "--use_staging",
    "--ignore_paths",
    "/m/a",
    "/m",
  ]);
  const env = { env: { MODEL_SIGNING_TRUST_CONFIG: "/t.json" } };
  assert(!planSign(parseAdapterArgs(flags), env).argv.includes("--use_staging"));
  // Without --identity-token the token comes from the environment (SIGSTORE_ID_TOKEN).
  assert(!planSign(parseAdapterArgs(flags.slice(0, 6))).argv.includes("--identity_token"));
  const verify = [
    "--method",
    "sigstore",
    "--model-path",
    "/m",
    "--bundle",
    "/b.sig",
    "--identity",
    "a",
    "--identity-provider",
    "b",
  ];
  assert(planVerify(parseAdapterArgs(verify)).argv.includes("--offline"));
  const private_ = planVerify(parseAdapterArgs([...verify, "--use-staging"]), env).argv;
  assert(!private_.includes("--offline") && !private_.includes("--use_staging"));
});

Deno.test("sign-model --method sigstore against a local Sigstore: the suite's keyless roundtrip classes", async () => {
  await using dir = await tempDir();
  await using stack = await startKeylessStack(dir.path);
  const env = await stack.env();
  const files = { ...SAMPLE_MODEL, "ignore-me": "left out" };
  const model = await writeModel(join(dir.path, "model"), files);
  const bundle = join(dir.path, "bundle.sig");
  const sign = (extra: string[], environment: Record<string, string> = env) =>
    adapter([
      "sign-model",
      "--method",
      "sigstore",
      "--model-path",
      model,
      "--output-bundle",
      bundle,
      ...extra,
    ], environment);
  const verify = (identity = env.SIGSTORE_IDENTITY, extra: string[] = []) =>
    adapter([
      "verify-model",
      "--method",
      "sigstore",
      "--model-path",
      model,
      "--bundle",
      bundle,
      "--identity",
      identity,
      "--identity-provider",
      env.SIGSTORE_ISSUER,
      ...extra,
    ], env);
  // The token by flag, the model's ignore-me left out.
  const byFlag = await sign([
    "--identity-token",
    await stack.token(),
    "--ignore-paths",
    join(model, "ignore-me"),
  ], {
    MODEL_SIGNING_TRUST_CONFIG: env.MODEL_SIGNING_TRUST_CONFIG,
  });
  assertEquals(byFlag.code, 0, byFlag.stderr);
  const bundleJson = JSON.parse(await Deno.readTextFile(bundle));
  assert(bundleJson.verificationMaterial.certificate, "a keyless bundle carries its certificate");
  const payload = JSON.parse(
    Buffer.from(bundleJson.dsseEnvelope.payload, "base64").toString("utf8"),
  );
  assert(!payload.predicate.resources.some((r: { name: string }) => r.name === "ignore-me"));
  assertEquals((await verify()).code, 0);
  const wrong = await verify("https://example.com/users/mallory");
  assertEquals(wrong.code, 1, wrong.stderr);
  // The token from SIGSTORE_ID_TOKEN; both sides ignore ignore-me, as the suite's cases do.
  await Deno.remove(bundle);
  const byEnv = await sign(["--ignore-paths", join(model, "ignore-me")]);
  assertEquals(byEnv.code, 0, byEnv.stderr);
  assertEquals((await verify(undefined, ["--ignore-paths", join(model, "ignore-me")])).code, 0);
  // Tampered content fails.
  await Deno.writeTextFile(join(model, "config.json"), "tampered");
  assertEquals((await verify()).code, 1);
});

Deno.test("sign-model --method sigstore fails closed: no token (exit 2), an expired token (exit 1), nothing written", async () => {
  await using dir = await tempDir();
  await using stack = await startKeylessStack(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const bundle = join(dir.path, "bundle.sig");
  const argv = [
    "sign-model",
    "--method",
    "sigstore",
    "--model-path",
    model,
    "--output-bundle",
    bundle,
  ];
  const trust = { MODEL_SIGNING_TRUST_CONFIG: stack.trustConfigPath };
  const none = await adapter(argv, trust);
  assertEquals(none.code, 2, none.stderr);
  assertStringIncludes(none.stderr, "identity token");
  const expired = await adapter([...argv, "--identity-token", await stack.token(-60)], trust);
  assertEquals(expired.code, 1, expired.stderr);
  assertStringIncludes(expired.stderr, "expired");
  const written = await Deno.stat(bundle).then(() => true, () => false);
  assert(!written, "no signature is written after a failure");
});

Deno.test("roundtrip classes of the suite through the adapter: sign, verify, tamper, extra, missing, ignore", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const other = await writeKeyPair(dir.path, "P-256", "other");
  const files = {
    ...SAMPLE_MODEL,
    ".git/HEAD": "ref",
    ".gitattributes": "*",
    ".hidden/x": "hidden dir",
    ".env": "dotfile",
    "ignore-me": "left out",
  };
  const model = await writeModel(join(dir.path, "model"), files);
  const bundle = join(model, "bundle.sig");
  const sign = await adapter([
    "sign-model",
    "--method",
    "key",
    "--model-path",
    model,
    "--output-bundle",
    bundle,
    "--private-key",
    keys.privateKey,
    "--ignore-paths",
    join(model, "ignore-me"),
  ]);
  assertEquals(sign.code, 0, sign.stderr);
  const payload = JSON.parse(
    Buffer.from(JSON.parse(await Deno.readTextFile(bundle)).dsseEnvelope.payload, "base64")
      .toString("utf8"),
  );
  const names = payload.predicate.resources.map((r: { name: string }) => r.name);
  // Sorted, git paths and the signature and ignored paths left out, dotfiles kept.
  assertEquals(names, [
    ".env",
    ".hidden/x",
    "config.json",
    "model.safetensors",
    "nested/extra.txt",
    "tokenizer.json",
  ]);
  const digests = payload.predicate.resources.map((r: { digest: string }) => r.digest).join("");
  assertEquals(
    payload.subject[0].digest.sha256,
    createHash("sha256").update(Buffer.from(digests, "hex")).digest("hex"),
  );
  const verify = (extra: string[] = [], key = keys.publicKey) =>
    adapter([
      "verify-model",
      "--method",
      "key",
      "--model-path",
      model,
      "--bundle",
      bundle,
      "--public-key",
      key,
      "--ignore-paths",
      join(model, "ignore-me"),
      ...extra,
    ]);
  assertEquals((await verify()).code, 0);
  assertEquals((await verify([], other.publicKey)).code, 1);
  await Deno.writeTextFile(join(model, "injected.bin"), "injected after signing\n");
  assertEquals((await verify()).code, 1);
  assertEquals((await verify(["--ignore-unsigned-files"])).code, 0);
  await Deno.remove(join(model, "injected.bin"));
  await Deno.writeTextFile(join(model, "config.json"), "tampered");
  assertEquals((await verify()).code, 1);
  await Deno.remove(join(model, "config.json"));
  assertEquals((await verify(["--ignore-unsigned-files"])).code, 1);
});

Deno.test("verify classes of the suite through the adapter: malformed statements fail (exit 1)", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const bundle = join(dir.path, "bundle.sig");
  const sign = await adapter([
    "sign-model",
    "--method",
    "key",
    "--model-path",
    model,
    "--output-bundle",
    bundle,
    "--private-key",
    keys.privateKey,
  ]);
  assertEquals(sign.code, 0, sign.stderr);
  const good = await Deno.readTextFile(bundle);
  const edits: [string, (s: Record<string, unknown>) => unknown][] = [
    ["no subject", (s) => void delete s.subject],
    ["no predicate", (s) => void delete s.predicate],
    ["wrong statement type", (s) => void (s._type = "https://in-toto.io/Statement/v0.1")],
    ["wrong predicate type", (s) => void (s.predicateType = "https://example.com/other")],
    ["empty resources", (s) => void ((s.predicate as { resources: unknown[] }).resources = [])],
  ];
  for (const [what, edit] of edits) {
    await Deno.writeTextFile(bundle, good);
    await editStatement(bundle, edit);
    const result = await adapter([
      "verify-model",
      "--method",
      "key",
      "--model-path",
      model,
      "--bundle",
      bundle,
      "--public-key",
      keys.publicKey,
    ]);
    assertEquals(result.code, 1, `${what}: ${result.stderr}`);
  }
  for (const broken of ["", "{", good.slice(0, good.length / 2), "{}"]) {
    await Deno.writeTextFile(bundle, broken);
    const result = await adapter([
      "verify-model",
      "--method",
      "key",
      "--model-path",
      model,
      "--bundle",
      bundle,
      "--public-key",
      keys.publicKey,
    ]);
    assertEquals(result.code, 1, result.stderr);
  }
});

Deno.test("sign-model refuses an empty model and a symlink without --allow-symlinks", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const signArgs = (model: string) => [
    "sign-model",
    "--method",
    "key",
    "--model-path",
    model,
    "--output-bundle",
    join(dir.path, "out.sig"),
    "--private-key",
    keys.privateKey,
  ];
  const empty = join(dir.path, "empty");
  await Deno.mkdir(empty);
  assertEquals((await adapter(signArgs(empty))).code, 1);
  const linked = await writeModel(join(dir.path, "linked"), SAMPLE_MODEL);
  await Deno.symlink("/etc/hostname", join(linked, "outside"));
  assertEquals((await adapter(signArgs(linked))).code, 1);
  const looped = await writeModel(join(dir.path, "looped"), SAMPLE_MODEL);
  await Deno.symlink(".", join(looped, "cycle"));
  assertEquals((await adapter(signArgs(looped))).code, 1);
});

Deno.test("benchmark-model times repeated runs and prints times_ms", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const bundle = join(dir.path, "bundle.sig");
  const common = ["--method", "key", "--model-path", model, "--repeat", "2"];
  const sign = await adapter([
    "benchmark-model",
    "--operation",
    "sign",
    ...common,
    "--output-bundle",
    bundle,
    "--private-key",
    keys.privateKey,
    "--hash-algorithm",
    "blake2b",
  ]);
  assertEquals(sign.code, 0, sign.stderr);
  assertEquals(JSON.parse(sign.stdout).times_ms.length, 2);
  const verify = await adapter([
    "benchmark-model",
    "--operation",
    "verify",
    ...common,
    "--bundle",
    bundle,
    "--public-key",
    keys.publicKey,
  ]);
  assertEquals(verify.code, 0, verify.stderr);
  assertEquals(JSON.parse(verify.stdout).times_ms.length, 2);
});

Deno.test("benchmark-model --operation hash accepts every flag capabilities declares (the harness's sweeps)", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const caps = JSON.parse((await adapter(["capabilities"])).stdout);
  const values: Record<string, string[]> = {
    "--hash-algorithm": caps.hash_algorithms,
    "--shard-size": ["1048576"],
    "--max-workers": ["1", "2"],
  };
  const base = ["benchmark-model", "--operation", "hash", "--model-path", model, "--repeat", "2"];
  const plain = await adapter(base);
  assertEquals(plain.code, 0, plain.stderr);
  assertEquals(JSON.parse(plain.stdout).times_ms.length, 2);
  for (const flag of caps.flags as string[]) {
    assert(values[flag] !== undefined, `no test value for declared flag ${flag}`);
    for (const value of values[flag]!) {
      const result = await adapter([...base, flag, value]);
      assertEquals(result.code, 0, `${flag} ${value}: ${result.stderr}`);
      assertEquals(JSON.parse(result.stdout).times_ms.length, 2);
    }
  }
});

Deno.test("planHash() picks the algorithm and serialization; BLAKE3 hashes whole files as sign does", () => {
  const plan = (...extra: string[]) => planHash(parseAdapterArgs(["--model-path", "/m", ...extra]));
  assertEquals(plan().serialization, { method: "files", hashType: "sha256" });
  assertEquals(plan("--hash-algorithm", "blake2b", "--shard-size", "4096").serialization, {
    method: "shards",
    hashType: "blake2b",
    shardSize: 4096,
  });
  assertEquals(plan("--hash-algorithm", "blake3", "--shard-size", "4096").serialization, {
    method: "files",
    hashType: "blake3",
  });
  assertEquals(plan("--max-workers", "3").maxWorkers, 3);
});

Deno.test("hashModel() hashes what `digest` hashes, and fails closed on an empty or missing model", async () => {
  await using dir = await tempDir();
  const model = await writeModel(join(dir.path, "model"), SAMPLE_MODEL);
  const out: string[] = [];
  const code = await run(["digest", model], {
    env: {},
    cwd: dir.path,
    stdout: (t) => out.push(t),
    stderr: () => {},
  });
  assertEquals(code, 0);
  const plan = planHash(parseAdapterArgs(["--model-path", model]));
  assertEquals(`sha256:${await hashModel(plan, dir.path)}`, out.join("").trim());
  const sharded = planHash(parseAdapterArgs(["--model-path", model, "--shard-size", "1"]));
  assert((await hashModel(sharded, dir.path)) !== (await hashModel(plan, dir.path)));

  const empty = join(dir.path, "empty");
  await Deno.mkdir(empty);
  const hashArgs = (path: string) => [
    "benchmark-model",
    "--operation",
    "hash",
    "--model-path",
    path,
    "--repeat",
    "1",
  ];
  const none = await adapter(hashArgs(empty));
  assertEquals(none.code, 1);
  assertStringIncludes(none.stderr, "holds no regular file");
  assertEquals(none.stdout, "");
  const missing = await adapter(hashArgs(join(dir.path, "absent")));
  assert(missing.code !== 0);
  assertEquals(missing.stdout, "");
});

Deno.test("timeRuns() runs the warm-up untimed, times each repeat, and stops at a failure", async () => {
  let calls = 0;
  let clock = 0;
  const now = () => clock;
  const once = () => {
    calls++;
    clock += 10;
    return Promise.resolve(0);
  };
  assertEquals(await timeRuns(once, { warmup: 1, repeat: 3, now }), [10, 10, 10]);
  assertEquals(calls, 4);
  calls = 0;
  assertEquals(await timeRuns(once, { warmup: 0, repeat: 2, now }), [10, 10]);
  assertEquals(calls, 2);
  let runs = 0;
  const failsSecond = () => Promise.resolve(++runs === 2 ? 1 : 0);
  assertEquals(await timeRuns(failsSecond, { warmup: 1, repeat: 3, now }), 1);
  assertEquals(runs, 2);
});
