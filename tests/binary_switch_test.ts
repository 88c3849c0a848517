/**
 * The two ways to run model-verify without `deno compile` on this machine, checked end to end:
 *
 * - `deno task install-cli` installs a `model-verify` command with exactly the compile task's
 *   permissions (and no prompts), so it behaves as the release binary does.
 * - `MODEL_VERIFY_BIN=path deno task test` runs the process-level tests against that program
 *   instead of `deno run`. Here the program is a wrapper script around `deno run`, which checks
 *   the plumbing; CI's release job points it at the compiled binaries.
 */

import { dirname, join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { BIN_ENV, compilePermissionFlags, compileTaskWords } from "./_compile_flags.ts";
import { REPO_ROOT, signedModel, tempDir } from "./_helpers.ts";
import { VERSION } from "../main.ts";

const CONFIG = JSON.parse(Deno.readTextFileSync(join(REPO_ROOT, "deno.json")));
const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const PERMISSION = /^--(allow|deny)-[a-z]+(=.*)?$/;

/** A PATH on which the installed shim finds this Deno. */
const PATH_WITH_DENO = [dirname(Deno.execPath()), "/usr/local/bin", "/usr/bin", "/bin"].join(":");

Deno.test("the install-cli task has the compile task's permissions and never prompts", () => {
  const words: string[] = String(CONFIG.tasks["install-cli"]).trim().split(/\s+/);
  assertEquals(words.slice(0, 3), ["deno", "install", "-g"]);
  assertEquals(words.at(-1), "main.ts");
  assertEquals(words[words.indexOf("-n") + 1], "model-verify");
  assertEquals(words.filter((w) => PERMISSION.test(w)), compilePermissionFlags());
  const v8 = (all: string[]) => all.filter((w) => w.startsWith("--v8-flags="));
  assertEquals(v8(words), v8(compileTaskWords()));
  // A missing permission is an error (as in the binary), never an interactive prompt.
  assert(words.includes("--no-prompt"), "--no-prompt");
});

Deno.test("deno task install-cli installs a working model-verify command", async () => {
  await using root = await tempDir();
  const install = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "install-cli"],
    cwd: REPO_ROOT,
    env: { DENO_INSTALL_ROOT: root.path, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(install.success, decode(install.stderr));
  const shim = join(root.path, "bin", "model-verify");
  assertStringIncludes(await Deno.readTextFile(shim), "--no-prompt");

  // The install resolves its own lockfile: every package in it must be the one deno.lock pins.
  const pinned = JSON.parse(await Deno.readTextFile(join(REPO_ROOT, "deno.lock"))).npm;
  const installed = JSON.parse(
    await Deno.readTextFile(join(root.path, "bin", ".model-verify", "deno.lock")),
  ).npm;
  for (const [name, entry] of Object.entries<{ integrity?: string }>(installed)) {
    assertEquals(entry.integrity, pinned[name]?.integrity, `${name} differs from deno.lock`);
  }

  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const run = async (args: string[]) => {
    const out = await new Deno.Command(shim, {
      args,
      cwd: dir.path,
      env: { PATH: PATH_WITH_DENO },
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    const result = { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
    assert(!/Requires \w+ access|--allow-/.test(result.stderr), result.stderr);
    return result;
  };
  const version = await run(["--version"]);
  assertEquals([version.code, version.stdout.trim()], [0, `model-verify ${VERSION}`]);
  const ok = await run(["verify", "key", "--public_key", f.publicKey, f.model]);
  assertEquals(ok.code, 0, ok.stderr);
  assert(ok.stdout.startsWith("Verification succeeded\n"), ok.stdout);
  await Deno.writeTextFile(join(f.model, "config.json"), "BACKDOOR INJECTION", { append: true });
  const bad = await run(["verify", "key", "--public_key", f.publicKey, f.model]);
  assertEquals(bad.code, 1, bad.stderr);
  assertStringIncludes(bad.stderr, "config.json");
});

/** `deno test` with the test task's permission flags, as `deno task test` runs it. */
function nestedTest(files: string[], env: Record<string, string>) {
  const task: string[] = String(CONFIG.tasks.test).trim().split(/\s+/);
  assertEquals(task.slice(0, 2), ["deno", "test"]);
  return new Deno.Command(Deno.execPath(), {
    args: ["test", ...task.slice(2), ...files],
    cwd: REPO_ROOT,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
}

Deno.test("MODEL_VERIFY_BIN runs the process-level tests through the named program", async () => {
  await using dir = await tempDir();
  const log = join(dir.path, "invocations.log");
  const info = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
  })
    .output();
  const denoDir: string = JSON.parse(decode(info.stdout)).denoDir;
  // Stands in for the compiled binary: `deno run` with the compile task's flags. It logs each
  // start where it can (inside the read-only sandbox it cannot, and goes on).
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const wrapper = join(dir.path, "model-verify");
  await Deno.writeTextFile(
    wrapper,
    [
      "#!/bin/sh",
      `{ echo "$*" >> ${quote(log)}; } 2>/dev/null`,
      `DENO_DIR=${quote(denoDir)} DENO_NO_UPDATE_CHECK=1 exec ${quote(Deno.execPath())} run ` +
      `--quiet --cached-only --config ${quote(join(REPO_ROOT, "deno.json"))} ` +
      `${compilePermissionFlags().map(quote).join(" ")} ${quote(join(REPO_ROOT, "main.ts"))} "$@"`,
      "",
    ].join("\n"),
  );
  await Deno.chmod(wrapper, 0o755);
  const out = await nestedTest(["tests/main_test.ts", "tests/container_test.ts"], {
    [BIN_ENV]: wrapper,
  });
  const text = decode(out.stdout) + decode(out.stderr);
  assert(out.success, text);
  const starts = (await Deno.readTextFile(log)).trimEnd().split("\n");
  // main_test.ts alone starts the program more than ten times.
  assert(starts.length > 10, `only ${starts.length} runs went through ${BIN_ENV}`);
});

Deno.test("a MODEL_VERIFY_BIN that is not an executable stops the run, naming the variable", async () => {
  await using dir = await tempDir();
  const out = await nestedTest(["tests/main_test.ts"], { [BIN_ENV]: join(dir.path, "absent") });
  assert(!out.success);
  assertStringIncludes(decode(out.stdout) + decode(out.stderr), `${BIN_ENV}=`);
});

Deno.test("the README's install path uses the install-cli task and CI's Deno", () => {
  const readme = Deno.readTextFileSync(join(REPO_ROOT, "README.md"));
  const ci = /^DENO_VERSION=(\S+)$/m.exec(
    Deno.readTextFileSync(join(REPO_ROOT, ".ci", "run")),
  )?.[1];
  assertStringIncludes(readme, `npm install -g deno@${ci}`);
  assertStringIncludes(readme, "deno task install-cli");
  assertStringIncludes(readme, "MODEL_VERIFY_BIN=path/to/model-verify deno task test");
});
