/**
 * Docker credential helpers (`credsStore`, `credHelpers`): fake `docker-credential-*` scripts on
 * the PATH the configuration sees, a registry that wants Bearer tokens, and the compiled binary's
 * permissions (no --allow-run), where a helper stops with a message naming the environment
 * variables to use instead.
 */

import { join } from "node:path";
import { assert, assertEquals, assertRejects, assertStringIncludes } from "./_assert.ts";
import { orasImage, startFakeRegistry, storeImage } from "./_fixtures/registry.ts";
import { runProgram, tempDir, writeKeyPair } from "./_helpers.ts";
import { run } from "../main.ts";
import { runCredentialHelper } from "../lib/oci/credential_helper.ts";
import { findCredentials } from "../lib/oci/registry_auth.ts";
import { ConfigError } from "../lib/errors.ts";

const SECRET = "s3cret-pw-from-helper";

/** Helper scripts by name (run as `docker-credential-<name>`). */
const HELPERS: Record<string, string> = {
  good: `server=$(cat); printf '%s' "$server" > "$(dirname "$0")/asked"
printf '{"ServerURL":"%s","Username":"alice","Secret":"${SECRET}"}' "$server"`,
  token: `cat >/dev/null; printf '{"Username":"<token>","Secret":"refresh-123"}'`,
  notfound: `cat >/dev/null; echo "credentials not found in native keychain"; exit 1`,
  fail: `cat >/dev/null; echo "${SECRET}"; exit 3`,
  slow: `exec sleep 30`,
  huge: `head -c 200000 /dev/zero | tr '\\0' 'a'`,
  notjson: `cat >/dev/null; echo "${SECRET}"`,
};

async function helperBin(dir: string): Promise<string> {
  const bin = join(dir, "bin");
  await Deno.mkdir(bin);
  for (const [name, body] of Object.entries(HELPERS)) {
    const path = join(bin, `docker-credential-${name}`);
    await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`);
    await Deno.chmod(path, 0o755);
  }
  return bin;
}

async function dockerConfig(dir: string, config: Record<string, unknown>): Promise<string> {
  const docker = join(dir, `docker-${crypto.randomUUID()}`);
  await Deno.mkdir(docker);
  await Deno.writeTextFile(join(docker, "config.json"), JSON.stringify(config));
  return docker;
}

/** Runs the CLI in this process (the test has --allow-run), whatever MODEL_VERIFY_BIN says. */
async function inProcess(argv: string[], env: Record<string, string>) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {
    cwd: Deno.cwd(),
    env,
    stdout: (t) => out.push(t),
    stderr: (t) => err.push(t),
  });
  return { code, stdout: out.join("\n"), stderr: err.join("\n") };
}

function signAttach(host: string, privateKey: string, signature: string): string[] {
  return [
    "sign",
    "key",
    "--private-key",
    privateKey,
    "--signature",
    signature,
    "--insecure-registry",
    "--attach",
    `oci://${host}/m:v1`,
  ];
}

Deno.test("credsStore and credHelpers: the helper gets the registry on stdin and its login works", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const bin = await helperBin(dir.path);
  const path = `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`;
  await using registry = startFakeRegistry({
    tokenAuth: { username: "alice", password: SECRET, refreshToken: "refresh-123" },
  });
  storeImage(registry, "m", orasImage({ "w.bin": "weights" }), "v1");
  const store = await dockerConfig(dir.path, {
    auths: { [registry.host]: {} },
    credsStore: "good",
  });
  const signed = await inProcess(
    signAttach(registry.host, keys.privateKey, join(dir.path, "a.sig")),
    { DOCKER_CONFIG: store, PATH: path },
  );
  assertEquals(signed.code, 0, signed.stderr);
  assertEquals(await Deno.readTextFile(join(bin, "asked")), registry.host);
  assert(registry.tokens.includes("repository:m:pull,push"), registry.tokens.join("; "));
  // credHelpers for this registry wins over the default store.
  const perRegistry = await dockerConfig(dir.path, {
    credsStore: "notfound",
    credHelpers: { [registry.host]: "good" },
  });
  const byHelper = await inProcess(
    signAttach(registry.host, keys.privateKey, join(dir.path, "b.sig")),
    { DOCKER_CONFIG: perRegistry, PATH: path },
  );
  assertEquals(byHelper.code, 0, byHelper.stderr);
  // An identity token from the helper (`<token>`) is a refresh token for the token service.
  const tokenStore = await dockerConfig(dir.path, { credsStore: "token" });
  const byToken = await inProcess(
    signAttach(registry.host, keys.privateKey, join(dir.path, "t.sig")),
    { DOCKER_CONFIG: tokenStore, PATH: path },
  );
  assertEquals(byToken.code, 0, byToken.stderr);
  // A store without this registry's login: anonymous, refused, exit 2.
  const none = await dockerConfig(dir.path, { credsStore: "notfound" });
  const anonymous = await inProcess(
    signAttach(registry.host, keys.privateKey, join(dir.path, "c.sig")),
    { DOCKER_CONFIG: none, PATH: path },
  );
  assertEquals(anonymous.code, 2, anonymous.stderr);
  assertStringIncludes(anonymous.stderr, "no credentials");
  // A failing helper: exit 2 naming it and the environment variables; its output is not shown.
  const failing = await dockerConfig(dir.path, { credsStore: "fail" });
  const failed = await inProcess(
    signAttach(registry.host, keys.privateKey, join(dir.path, "d.sig")),
    { DOCKER_CONFIG: failing, PATH: path },
  );
  assertEquals(failed.code, 2, failed.stderr);
  assertStringIncludes(failed.stderr, "docker-credential-fail");
  assertStringIncludes(failed.stderr, "exited with code 3");
  assertStringIncludes(failed.stderr, "MODEL_SIGNING_REGISTRY_USERNAME");
  assert(!failed.stderr.includes(SECRET), failed.stderr);
});

Deno.test("runCredentialHelper() bounds time and output, and never repeats what the helper printed", async () => {
  await using dir = await tempDir();
  const bin = await helperBin(dir.path);
  const env = { PATH: `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}` };
  const ask = (name: string, timeoutMs?: number) =>
    runCredentialHelper({
      name,
      server: "r.example",
      where: "test",
      env,
      ...(timeoutMs ? { timeoutMs } : {}),
    });
  assertEquals(await ask("good"), { kind: "basic", username: "alice", password: SECRET });
  assertEquals(await ask("token"), { kind: "refresh", token: "refresh-123" });
  assertEquals(await ask("notfound"), undefined);
  const slow = await assertRejects(() => ask("slow", 300), ConfigError);
  assertStringIncludes(slow.message, "did not answer within 0.3 s");
  const huge = await assertRejects(() => ask("huge"), ConfigError);
  assertStringIncludes(huge.message, "more than 65536 bytes");
  const bad = await assertRejects(() => ask("notjson"), ConfigError);
  assertStringIncludes(bad.message, "did not print JSON");
  assert(!bad.message.includes(SECRET));
  const missing = await assertRejects(() => ask("absent"), ConfigError);
  assertStringIncludes(missing.message, "docker-credential-absent");
  assertStringIncludes(missing.message, "not on PATH");
  const evil = await assertRejects(() => ask("../../bin/sh"), ConfigError);
  assertEquals(evil.code, "REGISTRY_AUTH_INVALID");
});

Deno.test("findCredentials(): explicit variables first; auths entries before the default store", async () => {
  await using dir = await tempDir();
  const docker = await dockerConfig(dir.path, {
    auths: { "r.example": { auth: btoa("bob:pw") } },
    credsStore: "absent",
  });
  const fromFile = await findCredentials("r.example", { DOCKER_CONFIG: docker });
  assertEquals(fromFile?.kind === "basic" && fromFile.username, "bob");
  const fromEnv = await findCredentials("r.example", {
    DOCKER_CONFIG: docker,
    MODEL_SIGNING_REGISTRY_USERNAME: "carol",
    MODEL_SIGNING_REGISTRY_PASSWORD: "x",
  });
  assertEquals(fromEnv?.kind === "basic" && fromEnv.username, "carol");
  // Another registry falls to the store (absent here: a named failure).
  const store = await assertRejects(
    () => findCredentials("other.example", { DOCKER_CONFIG: docker, PATH: "/nonexistent" }),
    ConfigError,
  );
  assertStringIncludes(store.message, "docker-credential-absent");
});

Deno.test("with the compiled binary's permissions a credential helper is refused, naming the variables", async () => {
  await using dir = await tempDir();
  const keys = await writeKeyPair(dir.path);
  const bin = await helperBin(dir.path);
  await using registry = startFakeRegistry({ tokenAuth: { username: "alice", password: SECRET } });
  storeImage(registry, "m", orasImage({ "w.bin": "weights" }), "v1");
  const docker = await dockerConfig(dir.path, { credsStore: "good" });
  const path = `${bin}:${Deno.env.get("PATH") ?? "/usr/bin:/bin"}`;
  const denied = await runProgram(
    signAttach(registry.host, keys.privateKey, join(dir.path, "a.sig")),
    { env: { DOCKER_CONFIG: docker, PATH: path } },
  );
  assertEquals(denied.code, 2, denied.stderr);
  assertStringIncludes(denied.stderr, "docker-credential-good");
  assertStringIncludes(
    denied.stderr,
    "MODEL_SIGNING_REGISTRY_USERNAME and MODEL_SIGNING_REGISTRY_PASSWORD",
  );
  // The helper never ran.
  await assertRejects(() => Deno.stat(join(bin, "asked")), Deno.errors.NotFound);
  // The variables it names do work there.
  const byEnv = await runProgram(
    signAttach(registry.host, keys.privateKey, join(dir.path, "b.sig")),
    {
      env: {
        DOCKER_CONFIG: docker,
        PATH: path,
        MODEL_SIGNING_REGISTRY_USERNAME: "alice",
        MODEL_SIGNING_REGISTRY_PASSWORD: SECRET,
      },
    },
  );
  assertEquals(byEnv.code, 0, byEnv.stderr);
});
