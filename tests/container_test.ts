/**
 * The container image's runtime contract, without a container engine.
 *
 * 1. The compile task (deno.json), the Containerfile and these tests share one permission set,
 *    and the Containerfile is pinned, non-root and shell-free as the issue demands.
 * 2. The verifier runs under bubblewrap (`bwrap`) the way the operator's pod runs it: root file
 *    system read-only, uid/gid 65532, every namespace unshared (so no network), tmpfs at /tmp
 *    and /.sigstore, the model bound read-only at /data, a termination message file bound in as
 *    the kubelet does, configured by `MODEL_SIGNING_*` env plus the image's own `ENV` (read from
 *    the Containerfile). Deno runs it with the compile task's permission flags and its module
 *    cache bound read-only, so a permission the binary lacks fails here, not in a pod.
 *
 * The bubblewrap tests are skipped with a message where `bwrap` is missing or cannot create
 * namespaces (.ci/run installs it).
 */

import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import {
  compilePermissionFlags,
  compileTaskWords,
  MODEL_VERIFY_BIN,
  permissionScope,
} from "./_compile_flags.ts";
import { HAS_OPENSSL, issue, signWithCertificate } from "./_fixtures/pki.ts";
import {
  INTEROP_DIR,
  NO_INTEROP,
  REPO_ROOT,
  signedModel,
  signWithKey,
  tempDir,
} from "./_helpers.ts";
import { isSerialWork } from "../lib/manifest/hash_jobs.ts";
import { DEFAULT_TERMINATION_LOG, TERMINATION_LOG_ENV } from "../lib/report/termination.ts";
import { VERSION } from "../main.ts";

/** The uid and gid of the image (distroless "nonroot"). */
const IMAGE_UID = 65532;

const CONTAINERFILE = Deno.readTextFileSync(join(REPO_ROOT, "Containerfile"));

/** Containerfile instructions with line continuations joined, comments dropped. */
function instructions(text: string): string[] {
  return text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

/** `ENV` settings of the final stage, in order (`KEY=VALUE` forms). */
function imageEnv(): Record<string, string> {
  const lines = instructions(CONTAINERFILE);
  const lastFrom = lines.findLastIndex((l) => /^FROM\s/i.test(l));
  const env: Record<string, string> = {};
  for (const line of lines.slice(lastFrom)) {
    const match = /^ENV\s+(.*)$/i.exec(line);
    if (!match) continue;
    for (const pair of match[1]!.trim().split(/\s+/)) {
      const eq = pair.indexOf("=");
      if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

Deno.test("the compile task holds the narrow permission set the image runs with", () => {
  const words = compileTaskWords();
  assertEquals(words.slice(0, 2), ["deno", "compile"]);
  assertEquals(words.at(-1), "main.ts");
  assertEquals(words[words.indexOf("--output") + 1], "dist/model-verify");
  const flags = compilePermissionFlags();
  for (const broad of ["-A", "--allow-all", "--allow-run", "--allow-ffi", "--allow-import"]) {
    assert(!flags.some((f) => f === broad || f.startsWith(`${broad}=`)), `${broad} in ${flags}`);
  }
  assertEquals(permissionScope(flags, "allow-read"), [], "the model can be anywhere");
  assertEquals(permissionScope(flags, "allow-env"), []);
  // Network: the TUF repositories, but also the agent's health port (--health-port, any
  // address) and the OTLP collector (OTEL_EXPORTER_OTLP_ENDPOINT), both known only at run time,
  // so it cannot be scoped by name. Egress is the cluster's NetworkPolicy's job.
  assertEquals(permissionScope(flags, "allow-net"), []);
  // Writes only to the TUF cache and temp dirs. (Not /dev/termination-log: Deno lets only
  // --allow-all write below /dev; see the sandbox test about it.)
  assertEquals(permissionScope(flags, "allow-write")?.sort(), ["/.sigstore", "/tmp"]);
});

Deno.test("the Containerfile builds with the compile task and adds no permission of its own", () => {
  const runs = instructions(CONTAINERFILE).filter((l) => /^RUN\s/i.test(l));
  assert(runs.some((l) => /\bdeno task compile\b/.test(l)), "no RUN deno task compile");
  assert(!/--allow-|--deny-|\bdeno compile\b/.test(runs.join("\n")), "flags outside deno.json");
  assertStringIncludes(CONTAINERFILE, "cp dist/model-verify /out/usr/local/bin/model-verify");
});

Deno.test("the build context (.dockerignore) holds every module the binary is made of", async () => {
  const ignore = (await Deno.readTextFile(join(REPO_ROOT, ".dockerignore"))).split("\n")
    .map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
  assertEquals(ignore.slice(0, 5), ["*", "!deno.json", "!deno.lock", "!main.ts", "!lib/"]);
  const inContext = (path: string) =>
    ["deno.json", "deno.lock", "main.ts"].includes(path) ||
    (path.startsWith("lib/") && !path.endsWith("_test.ts") && !path.includes("/testdata/"));
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", "--config", join(REPO_ROOT, "deno.json"), join(REPO_ROOT, "main.ts")],
    stdout: "piped",
    stderr: "null",
  }).output();
  const modules: { specifier: string }[] =
    JSON.parse(new TextDecoder().decode(info.stdout)).modules;
  const local = modules.map((m) => m.specifier).filter((s) => s.startsWith("file://"))
    .map((s) => relative(REPO_ROOT, fileURLToPath(s)));
  assert(local.length > 10, `only ${local.length} local modules`);
  const words = compileTaskWords();
  const included = words.flatMap((w, i) => w === "--include" ? [words[i + 1]!] : []);
  for (const path of [...local, ...included]) assert(inContext(path), `${path} not in the context`);
});

Deno.test("the Containerfile pins its bases and runs non-root without a shell", () => {
  const lines = instructions(CONTAINERFILE);
  const froms = lines.filter((l) => /^FROM\s/i.test(l));
  assertEquals(froms.length, 2, "multi-stage: build and run");
  for (const from of froms) {
    assertMatch(
      from,
      /^FROM \S+:[\w.-]+@sha256:[0-9a-f]{64}(\s|$)/,
      "pinned by version and digest",
    );
  }
  const ciDeno = /^DENO_VERSION=(\S+)$/m.exec(Deno.readTextFileSync(join(REPO_ROOT, ".ci/run")));
  assertStringIncludes(froms[0]!, `/denoland/deno:${ciDeno?.[1]}@`, "build with CI's Deno");
  assertMatch(froms[1]!, /^FROM gcr\.io\/distroless\//);
  const finalStage = lines.slice(lines.indexOf(froms[1]!));
  assertEquals(finalStage.filter((l) => /^USER\s/i.test(l)), [`USER ${IMAGE_UID}:${IMAGE_UID}`]);
  assert(!finalStage.some((l) => /^RUN\s/i.test(l)), "the runtime stage has no shell to RUN");
  assertEquals(
    finalStage.filter((l) => /^(ENTRYPOINT|CMD)\s/i.test(l)),
    ['ENTRYPOINT ["/usr/local/bin/model-verify"]'],
    "no CMD: no arguments means verify from the environment",
  );
  assertStringIncludes(CONTAINERFILE, "ln -s model-verify /out/usr/local/bin/model_signing");
  assertStringIncludes(CONTAINERFILE, "ln -s model-verify /out/usr/local/bin/validation-agent");
  const labels = finalStage.filter((l) => /^LABEL\s/i.test(l)).join(" ");
  for (const key of ["source", "version", "licenses"]) {
    assertMatch(labels, new RegExp(`org\\.opencontainers\\.image\\.${key}="[^"]+"`));
  }
  const config = JSON.parse(Deno.readTextFileSync(join(REPO_ROOT, "deno.json")));
  assertStringIncludes(CONTAINERFILE, `ARG VERSION=${VERSION}`);
  assertEquals(config.version, VERSION);
  assertEquals(imageEnv(), { HOME: "/", TMPDIR: "/.sigstore" });
});

// --- bubblewrap --------------------------------------------------------------------------------

const BWRAP_SKIP: string | undefined = (() => {
  try {
    const probe = new Deno.Command("bwrap", {
      args: [
        "--unshare-all",
        "--uid",
        `${IMAGE_UID}`,
        "--gid",
        `${IMAGE_UID}`,
        "--ro-bind",
        "/",
        "/",
        "true",
      ],
      stdout: "null",
      stderr: "piped",
    }).outputSync();
    if (probe.success) return undefined;
    return `bwrap cannot create namespaces here: ${new TextDecoder().decode(probe.stderr).trim()}`;
  } catch {
    return "bwrap is not installed (Debian package bubblewrap; .ci/run installs it)";
  }
})();
if (BWRAP_SKIP) {
  Deno.test({ name: `sandbox tests skipped: ${BWRAP_SKIP}`, ignore: true, fn() {} });
}

/** Where the sandbox's termination message file is, as in the standalone pod example. */
const SANDBOX_TERMINATION_LOG = "/tmp/termination-log";

/** Deno's cache directory (npm packages), to bind read-only. */
let denoDir: string | undefined;

async function prepareDeno(): Promise<string> {
  if (denoDir) return denoDir;
  const deno = Deno.execPath();
  // Everything main.ts imports must be cached: the sandbox has no network.
  const cache = await new Deno.Command(deno, {
    args: [
      "cache",
      "--quiet",
      "--config",
      join(REPO_ROOT, "deno.json"),
      join(REPO_ROOT, "main.ts"),
    ],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!cache.success) throw new Error(new TextDecoder().decode(cache.stderr));
  const info = await new Deno.Command(deno, { args: ["info", "--json"], stdout: "piped" }).output();
  denoDir = JSON.parse(new TextDecoder().decode(info.stdout)).denoDir as string;
  return denoDir;
}

interface SandboxOptions {
  /** Host directory bound read-only at /data. */
  model: string;
  /** More read-only binds: sandbox path -> host path. */
  binds?: Record<string, string>;
  /** `MODEL_SIGNING_*` settings. */
  env?: Record<string, string>;
  /** Arguments after main.ts (none: verify from the environment). */
  args?: string[];
  /** Writable tmpfs mounts; default /tmp and /.sigstore. */
  tmpfs?: string[];
  /**
   * Host file bound read-write at `terminationAt` (as the kubelet does); absent: none, and with
   * `tmpfs: []` nothing at all is writable.
   */
  terminationLog?: string;
  /** Default {@link SANDBOX_TERMINATION_LOG}, named by `MODEL_SIGNING_TERMINATION_LOG`. */
  terminationAt?: string;
  /** Runs this instead of the program (a probe of the sandbox itself). */
  command?: string[];
  /**
   * For a program that does not end by itself (continuous mode): stop it with SIGTERM once its
   * stderr contains this text (or it ended); stdout is then discarded.
   */
  stopWhen?: string;
}

interface SandboxResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Host system directories a dynamically linked Deno needs, as binds or symlinks. */
function systemBinds(): string[] {
  const out: string[] = [];
  for (const path of ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"]) {
    let info: Deno.FileInfo;
    try {
      info = Deno.lstatSync(path);
    } catch {
      continue;
    }
    if (info.isSymlink) out.push("--symlink", Deno.readLinkSync(path), path);
    else if (info.isDirectory) out.push("--ro-bind", path, path);
  }
  return out;
}

/**
 * Where the sandbox has the binary. Not the image's /usr/local/bin: the sandbox binds the host's
 * /usr read-only, so nothing can be placed there.
 */
const SANDBOX_BIN = "/opt/model-verify/model-verify";

/**
 * Runs the program the way the image runs it, in a pod-like sandbox: main.ts through `deno run`
 * with the compile task's flags, or the binary named by `MODEL_VERIFY_BIN`, bound read-only at
 * {@link SANDBOX_BIN}. Host paths a wrapper script may use (the repository, Deno, Deno's cache) are bound
 * read-only in that case too; a compiled binary needs none of them.
 */
async function runInSandbox(options: SandboxOptions): Promise<SandboxResult> {
  const cacheDir = await prepareDeno();
  const deno = "/opt/deno/deno";
  const terminationAt = options.terminationAt ?? SANDBOX_TERMINATION_LOG;
  const tmpfs = options.tmpfs ?? ["/tmp", "/.sigstore"];
  const termination = options.terminationLog !== undefined;
  const env: Record<string, string> = {
    ...imageEnv(),
    DENO_DIR: "/deno-dir",
    DENO_NO_UPDATE_CHECK: "1",
    NO_COLOR: "1",
    ...(!termination || terminationAt === DEFAULT_TERMINATION_LOG
      ? {}
      : { [TERMINATION_LOG_ENV]: terminationAt }),
    ...options.env,
  };
  const bind = (flag: string, from: string, to: string) => [flag, from, to];
  const program = MODEL_VERIFY_BIN
    ? [
      ...bind("--ro-bind", MODEL_VERIFY_BIN, SANDBOX_BIN),
      ...[REPO_ROOT, dirname(Deno.execPath()), cacheDir].flatMap((p) => bind("--ro-bind", p, p)),
    ]
    : [
      ...bind("--ro-bind", Deno.execPath(), deno),
      ...bind("--ro-bind", cacheDir, "/deno-dir"),
      ...bind("--ro-bind", REPO_ROOT, "/app"),
    ];
  const command = options.command ?? (MODEL_VERIFY_BIN ? [SANDBOX_BIN] : [
    ...[deno, "run", "--quiet", "--cached-only", "--config", "/app/deno.json"],
    ...compilePermissionFlags(),
    "/app/main.ts",
  ]);
  const args = [
    "--unshare-all",
    "--die-with-parent",
    "--new-session",
    ...["--uid", `${IMAGE_UID}`, "--gid", `${IMAGE_UID}`],
    ...systemBinds(),
    ...bind("--ro-bind", options.model, "/data"),
    ...Object.entries(options.binds ?? {}).flatMap(([to, from]) => bind("--ro-bind", from, to)),
    ...["--dev", "/dev", "--proc", "/proc"],
    ...tmpfs.flatMap((dir) => ["--tmpfs", dir]),
    // The image has /tmp and /.sigstore (read-only under readOnlyRootFilesystem) even without
    // a mount there.
    ...["/tmp", "/.sigstore"].filter((d) => !tmpfs.includes(d)).flatMap((d) => ["--dir", d]),
    // After the tmpfs mounts, so a checkout under /tmp (bound as is for MODEL_VERIFY_BIN) stays
    // visible.
    ...program,
    ...(termination ? bind("--bind", options.terminationLog!, terminationAt) : []),
    ...["--remount-ro", "/"],
    "--clearenv",
    ...Object.entries(env).flatMap(([k, v]) => ["--setenv", k, v]),
    ...["--chdir", "/"],
    ...command,
    ...(options.args ?? []),
  ];
  if (options.stopWhen !== undefined) return await runUntil(args, options.stopWhen);
  const out = await new Deno.Command("bwrap", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    // A guard against a hung sandbox, not a timing assertion.
    signal: AbortSignal.timeout(180_000),
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

/** Runs bwrap with `args` until its stderr contains `text`, then stops it with SIGTERM. */
async function runUntil(args: string[], text: string): Promise<SandboxResult> {
  const child = new Deno.Command("bwrap", {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(180_000),
  }).spawn();
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  let stderr = "";
  while (!stderr.includes(text)) {
    const chunk = await reader.read();
    if (chunk.done) break;
    stderr += decoder.decode(chunk.value, { stream: true });
  }
  try {
    child.kill("SIGTERM");
  } catch {
    // it has ended already
  }
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    stderr += decoder.decode(chunk.value, { stream: true });
  }
  const status = await child.status;
  return { code: status.code, stdout: "", stderr };
}

/** An empty file for the termination message. */
async function emptyFile(dir: string, name = "termination-log"): Promise<string> {
  const path = join(dir, name);
  await Deno.writeTextFile(path, "");
  return path;
}

/** A signed model with its public key alone in `<dir>/keys` (a Secret volume, say). */
async function keyFixture(dir: string) {
  const f = await signedModel(dir);
  const keys = join(dir, "keys");
  await Deno.mkdir(keys);
  await Deno.copyFile(f.publicKey, join(keys, "key.pub"));
  return { ...f, keys, terminationLog: await emptyFile(dir) };
}

const KEY_ENV = { MODEL_SIGNING_PUBLIC_KEY: "/keys/key.pub" };

const sandboxTest = { ignore: BWRAP_SKIP !== undefined };

Deno.test({
  name: "sandbox: a signed model passes, configured by MODEL_SIGNING_* env alone",
  ...sandboxTest,
  async fn() {
    await using dir = await tempDir();
    const f = await keyFixture(dir.path);
    const result = await runInSandbox({
      model: f.model,
      binds: { "/keys": f.keys },
      env: KEY_ENV,
      terminationLog: f.terminationLog,
    });
    assertEquals(result.code, 0, result.stderr);
    assert(result.stdout.startsWith("Verification succeeded\n"), result.stdout);
    assertStringIncludes(result.stdout, "model:       /data");
    assertEquals(result.stderr, "");
    assertEquals(await Deno.readTextFile(f.terminationLog), "");
  },
});

Deno.test({
  name:
    "sandbox: a model past the in-process bound is hashed by the workers; tampering still fails",
  ...sandboxTest,
  async fn() {
    await using dir = await tempDir();
    const f = await keyFixture(dir.path);
    // A sparse 256 MiB file (no disk used): more than this thread hashes by itself
    // (isSerialWork), and big enough for a reading worker with a shared ring.
    const weights = join(f.model, "weights.bin");
    const MIB = 1 << 20;
    assert(!isSerialWork(256 * MIB, 1));
    await Deno.writeFile(weights, new Uint8Array(0));
    await Deno.truncate(weights, 256 * MIB);
    await signWithKey(f.model, f.privateKey);
    await Deno.copyFile(f.publicKey, join(f.keys, "key.pub"));
    const run = () =>
      runInSandbox({
        model: f.model,
        binds: { "/keys": f.keys },
        env: { ...KEY_ENV, MODEL_SIGNING_MAX_WORKERS: "2" },
        terminationLog: f.terminationLog,
      });
    const ok = await run();
    assertEquals(ok.code, 0, ok.stderr);
    assertStringIncludes(ok.stdout, "256.0 MiB");
    // One byte changed at the end of the file: found by the workers.
    const file = await Deno.open(weights, { write: true });
    await file.seek(256 * MIB - 1, Deno.SeekMode.Start);
    await file.write(new Uint8Array([1]));
    file.close();
    const bad = await run();
    assertEquals(bad.code, 1, bad.stderr);
    assertStringIncludes(bad.stderr + bad.stdout, "weights.bin");
  },
});

Deno.test({
  name: "sandbox: a tampered model fails with exit 1 and writes the termination message",
  ...sandboxTest,
  async fn() {
    await using dir = await tempDir();
    const f = await keyFixture(dir.path);
    await Deno.writeTextFile(join(f.model, "config.json"), "tampered", { append: true });
    const result = await runInSandbox({
      model: f.model,
      binds: { "/keys": f.keys },
      env: KEY_ENV,
      terminationLog: f.terminationLog,
    });
    assertEquals(result.code, 1, result.stderr);
    assertEquals(result.stdout, "");
    assert(result.stderr.startsWith("Verification failed with error: "), result.stderr);
    assertEquals(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    const message = await Deno.readTextFile(f.terminationLog);
    assertMatch(message, /^\[MODEL_MODIFIED\] Verification failed with error: .*config\.json.*\n$/);
    assertEquals(message.split("\n").length, 2, "one line");
  },
});

Deno.test({
  name: "sandbox: /dev/termination-log stays empty under the compile flags, and nothing breaks",
  ...sandboxTest,
  async fn() {
    // Deno lets only --allow-all write below /dev (its special-file rule), so the compiled
    // binary cannot write the kubelet's default file; the failure itself is unaffected.
    await using dir = await tempDir();
    const f = await keyFixture(dir.path);
    await Deno.writeTextFile(join(f.model, "config.json"), "tampered", { append: true });
    const result = await runInSandbox({
      model: f.model,
      binds: { "/keys": f.keys },
      env: KEY_ENV,
      terminationLog: f.terminationLog,
      terminationAt: DEFAULT_TERMINATION_LOG,
    });
    assertEquals(result.code, 1, result.stderr);
    assert(result.stderr.startsWith("Verification failed with error: "), result.stderr);
    assertEquals(result.stderr.trimEnd().split("\n").length, 1, result.stderr);
    assertEquals(await Deno.readTextFile(f.terminationLog), "");
  },
});

Deno.test({
  name: "sandbox: the operator's argv shape works with model_signing arguments",
  ...sandboxTest,
  async fn() {
    await using dir = await tempDir();
    const f = await keyFixture(dir.path);
    const result = await runInSandbox({
      model: f.model,
      binds: { "/keys": f.keys },
      args: [
        "verify",
        "key",
        "--signature=/data/model.sig",
        "--public_key",
        "/keys/key.pub",
        "/data",
      ],
      terminationLog: f.terminationLog,
    });
    assertEquals(result.code, 0, result.stderr);
    assert(result.stdout.startsWith("Verification succeeded\n"));
  },
});

Deno.test({
  name: "sandbox: JSON logs are one object per line",
  ...sandboxTest,
  async fn() {
    await using dir = await tempDir();
    const f = await keyFixture(dir.path);
    const result = await runInSandbox({
      model: f.model,
      binds: { "/keys": f.keys },
      env: { ...KEY_ENV, MODEL_SIGNING_LOG_FORMAT: "json" },
      terminationLog: f.terminationLog,
    });
    assertEquals(result.code, 0, result.stderr);
    const lines = result.stdout.trimEnd().split("\n");
    assertEquals(lines.length, 1);
    const event = JSON.parse(lines[0]!);
    assertEquals(event.event, "verification_succeeded");
    assertEquals(event.message, "Verification succeeded");
    assertEquals(event.files, 4);
  },
});

// --- key and certificate pods: nothing writable ------------------------------------------------
// The operator mounts the /.sigstore emptyDir only for the Sigstore method. A key or certificate
// pod has a read-only root file system and no writable mount at all, and must verify there.

/** Sandbox settings of a key or certificate pod: no tmpfs, no termination message file. */
const NOTHING_WRITABLE = { tmpfs: [] as string[] };

Deno.test({
  name: "sandbox (nothing writable): the probe finds no writable directory",
  ...sandboxTest,
  async fn() {
    await using dir = await tempDir();
    const f = await keyFixture(dir.path);
    const probe = await runInSandbox({
      model: f.model,
      binds: { "/keys": f.keys },
      ...NOTHING_WRITABLE,
      command: [
        "/bin/sh",
        "-c",
        "for d in / /tmp /.sigstore /data /keys /usr/local/bin; do " +
        'if (: > "$d/.probe") 2>/dev/null; then echo "writable $d"; fi; done; echo done',
      ],
    });
    assertEquals(probe.stdout, "done\n", probe.stderr);
  },
});

Deno.test({
  name:
    "sandbox (nothing writable): key verification passes, fails on tampering, takes --trust_config",
  ...sandboxTest,
  async fn() {
    await using dir = await tempDir();
    const f = await keyFixture(dir.path);
    await Deno.writeTextFile(join(f.keys, "trust.json"), "{}");
    // The webhook's argv for publicKeyConfig plus clientTrustConfig.
    const args = [
      "verify",
      "key",
      "--signature=/data/model.sig",
      "--public_key",
      "/keys/key.pub",
      "--trust_config",
      "/keys/trust.json",
      "/data",
    ];
    const run = () =>
      runInSandbox({ model: f.model, binds: { "/keys": f.keys }, args, ...NOTHING_WRITABLE });
    const ok = await run();
    assertEquals(ok.code, 0, ok.stderr);
    assert(ok.stdout.startsWith("Verification succeeded\n"), ok.stdout);
    assertMatch(ok.stderr, /^WARNING: --trust_config applies to Sigstore only/);
    await Deno.writeTextFile(join(f.model, "config.json"), "tampered", { append: true });
    const bad = await run();
    assertEquals(bad.code, 1, bad.stderr);
    assertMatch(bad.stderr, /^(WARNING: .*\n)?Verification failed with error: .*config\.json/);
  },
});

Deno.test({
  name: "sandbox (nothing writable): the key method's continuous sidecar verifies and gets ready",
  ...sandboxTest,
  async fn() {
    // The operator's native sidecar for publicKeyConfig: the same read-only pod, agent flags first.
    await using dir = await tempDir();
    const f = await keyFixture(dir.path);
    const result = await runInSandbox({
      model: f.model,
      binds: { "/keys": f.keys },
      args: [
        "--interval=5m",
        "--health-port=0",
        "verify",
        "key",
        "--signature=/data/model.sig",
        "--public_key",
        "/keys/key.pub",
        "/data",
      ],
      ...NOTHING_WRITABLE,
      stopWhen: " INFO Ready",
    });
    assertStringIncludes(result.stderr, "Verification succeeded");
    assertStringIncludes(result.stderr, " INFO Ready");
    assert(!/ERROR|read-only|EROFS|NotCapable/i.test(result.stderr), result.stderr);
  },
});

Deno.test({
  name: "sandbox (nothing writable): certificate verification passes and fails on tampering",
  ignore: BWRAP_SKIP !== undefined || !HAS_OPENSSL,
  async fn() {
    await using dir = await tempDir();
    const root = await issue(dir.path, { cn: "model-root", ca: true });
    const leaf = await issue(dir.path, {
      cn: "model-signer",
      issuer: root,
      keyUsage: "digitalSignature",
      extendedKeyUsage: "codeSigning",
    });
    const { model } = await signWithCertificate(dir.path, leaf, [root]);
    const ca = join(dir.path, "ca");
    await Deno.mkdir(ca);
    await Deno.copyFile(root.cert, join(ca, "root.pem"));
    const args = [
      "verify",
      "certificate",
      "--signature=/data/model.sig",
      "--certificate_chain",
      "/ca/root.pem",
      "/data",
    ];
    const run = () => runInSandbox({ model, binds: { "/ca": ca }, args, ...NOTHING_WRITABLE });
    const ok = await run();
    assertEquals(ok.code, 0, ok.stderr);
    assert(ok.stdout.startsWith("Verification succeeded\n"), ok.stdout);
    assertEquals(ok.stderr, "");
    await Deno.writeTextFile(join(model, "config.json"), "tampered", { append: true });
    const bad = await run();
    assertEquals(bad.code, 1, bad.stderr);
    assert(bad.stderr.startsWith("Verification failed with error: "), bad.stderr);
  },
});

const SIGSTORE_ENV = {
  MODEL_SIGNING_IDENTITY: "stefanb@us.ibm.com",
  MODEL_SIGNING_IDENTITY_PROVIDER: "https://sigstore.verify.ibm.com/oauth2",
};

const sigstoreTest = { ignore: BWRAP_SKIP !== undefined || INTEROP_DIR === undefined };

function sigstoreModel(): string {
  return join(INTEROP_DIR!, "model-transparency", "v1.1.0-sigstore");
}

Deno.test({
  name: "sandbox: Sigstore without network and without --offline fails fast, naming the way out",
  ...sigstoreTest,
  async fn() {
    await using dir = await tempDir();
    const terminationLog = await emptyFile(dir.path);
    const result = await runInSandbox({
      model: sigstoreModel(),
      env: SIGSTORE_ENV,
      terminationLog,
    });
    assertEquals(result.code, 2, result.stderr);
    assert(result.stderr.startsWith("Verification failed with error: "), result.stderr);
    assertStringIncludes(result.stderr, "--offline");
    assertStringIncludes(result.stderr, "--trust-config");
    // It failed on the missing network, not by running into the TUF time limit.
    assert(!result.stderr.includes("no answer within"), result.stderr);
    assertMatch(await Deno.readTextFile(terminationLog), /^\[TUF_FETCH_FAILED\] /);
  },
});

Deno.test({
  name: "sandbox: with only /.sigstore writable (the operator's pod) TUF needs no other dir",
  ...sigstoreTest,
  async fn() {
    await using dir = await tempDir();
    const terminationLog = await emptyFile(dir.path);
    const result = await runInSandbox({
      model: sigstoreModel(),
      env: SIGSTORE_ENV,
      tmpfs: ["/.sigstore"],
      terminationLog,
    });
    assertEquals(result.code, 2, result.stderr);
    // The cache and the TUF client's temp files found /.sigstore: what fails is the network.
    assertMatch(result.stderr, /TUF .*(dns|lookup|resolution|connect)/i);
    assert(
      !/read-only|EROFS|ENOENT|NotCapable|TUF_CACHE_UNUSABLE/i.test(result.stderr),
      result.stderr,
    );
  },
});

Deno.test({
  name: "sandbox: --offline (MODEL_SIGNING_OFFLINE) verifies the real Sigstore fixture",
  ...sigstoreTest,
  async fn() {
    await using dir = await tempDir();
    const terminationLog = await emptyFile(dir.path);
    const result = await runInSandbox({
      model: sigstoreModel(),
      env: { ...SIGSTORE_ENV, MODEL_SIGNING_OFFLINE: "true" },
      terminationLog,
    });
    assertEquals(result.code, 0, result.stderr);
    assert(result.stdout.startsWith("Verification succeeded\n"), result.stdout);
    assertStringIncludes(result.stdout, "stefanb@us.ibm.com");
    assertEquals(await Deno.readTextFile(terminationLog), "");
  },
});

if (INTEROP_DIR === undefined) {
  Deno.test({ name: `sandbox: Sigstore cases skipped: ${NO_INTEROP}`, ignore: true, fn() {} });
}
