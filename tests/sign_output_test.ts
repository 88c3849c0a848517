/**
 * `sign` writing its signature, through the CLI: a missing directory, a symlink at the target,
 * and a write refused by the OS or by the compiled binary's Deno permissions each end in exit 2
 * with a message naming the path and what to do, never in an internal error.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { REPO_ROOT, runCli, SAMPLE_MODEL, tempDir, writeKeyPair, writeModel } from "./_helpers.ts";

async function setup(dir: string) {
  const model = await writeModel(join(dir, "model"), SAMPLE_MODEL);
  const keys = await writeKeyPair(dir);
  return { model, ...keys };
}

Deno.test("sign exits 2 naming the directory when the signature's directory is missing", async () => {
  await using dir = await tempDir();
  const { model, privateKey } = await setup(dir.path);
  const target = join(dir.path, "missing", "model.sig");
  const cli = await runCli([
    "sign",
    "key",
    "--private_key",
    privateKey,
    "--signature",
    target,
    model,
  ]);
  assertEquals(cli.code, 2, cli.stderr);
  assertStringIncludes(cli.stderr, "Signing failed with error: Cannot write the signature");
  assertStringIncludes(cli.stderr, "does not exist");
  assert(!cli.stderr.includes("Unexpected error"), cli.stderr);
});

Deno.test("sign replaces a symlink planted at the signature path, leaving its target alone", async () => {
  await using dir = await tempDir();
  const { model, privateKey, publicKey } = await setup(dir.path);
  const victim = join(dir.path, "victim");
  await Deno.writeTextFile(victim, "do not touch");
  // Outside the model: a link inside it is the model walker's business (--allow-symlinks).
  const target = join(dir.path, "model.sig");
  await Deno.symlink(victim, target);
  const cli = await runCli([
    "sign",
    "key",
    "--private_key",
    privateKey,
    "--signature",
    target,
    model,
  ]);
  assertEquals(cli.code, 0, cli.stderr);
  assertEquals(await Deno.readTextFile(victim), "do not touch");
  assert((await Deno.lstat(target)).isFile);
  const verify = await runCli([
    "verify",
    "key",
    "--public_key",
    publicKey,
    "--signature",
    target,
    model,
  ]);
  assertEquals(verify.code, 0, verify.stderr);
});

async function spawnSign(args: string[], options: { allowWrite: string; prefix?: string[] }) {
  const argv = [
    ...(options.prefix ?? []),
    Deno.execPath(),
    "run",
    "--quiet",
    "--allow-read",
    "--allow-env",
    `--allow-write=${options.allowWrite}`,
    join(REPO_ROOT, "main.ts"),
    "sign",
    "key",
    ...args,
  ];
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("sign explains Deno's write permission of the compiled binary when it refuses", async () => {
  await using dir = await tempDir();
  const { model, privateKey } = await setup(dir.path);
  const allowed = join(dir.path, "allowed");
  await Deno.mkdir(allowed);
  const result = await spawnSign(["--private_key", privateKey, model], { allowWrite: allowed });
  assertEquals(result.code, 2, result.stderr);
  assertStringIncludes(result.stderr, join(model, "model.sig"));
  assertStringIncludes(result.stderr, "may write only below /tmp and /.sigstore");
});

const SETPRIV = await (async () => {
  if (Deno.uid() !== 0) return [];
  const dropped = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"];
  try {
    const probe = await Deno.makeTempDir();
    await Deno.chmod(probe, 0o555);
    const ok = await new Deno.Command(dropped[0]!, {
      args: [...dropped.slice(1), "touch", join(probe, "x")],
      stdout: "null",
      stderr: "null",
    }).output();
    await Deno.remove(probe, { recursive: true });
    return ok.success ? undefined : dropped;
  } catch {
    return undefined;
  }
})();

Deno.test({
  name: "sign exits 2 naming the directory when the OS refuses the write",
  ignore: SETPRIV === undefined,
  async fn() {
    await using dir = await tempDir();
    const { model, privateKey } = await setup(dir.path);
    await Deno.chmod(model, 0o555);
    try {
      const result = await spawnSign(["--private_key", privateKey, model], {
        allowWrite: dir.path,
        prefix: SETPRIV!,
      });
      assertEquals(result.code, 2, result.stderr);
      assertStringIncludes(result.stderr, `permission denied in '${model}'`);
    } finally {
      await Deno.chmod(model, 0o755);
    }
  },
});
