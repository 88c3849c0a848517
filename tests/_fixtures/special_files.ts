/**
 * Helpers for tests that need special files (FIFOs, sockets, devices) or a shell, and skip with a
 * reason where the machine cannot make them.
 *
 * @module
 */

/** Runs `sh -c script` in `cwd`; false when there is no shell or the script fails. */
export async function sh(script: string, cwd: string): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("sh", { args: ["-c", script], cwd, stderr: "null" })
      .output();
    return success;
  } catch {
    return false;
  }
}

/** What this machine lets a test create; a test that needs more is skipped, saying why. */
export const CAN: { sh: boolean; mkfifo: boolean; mknod: boolean } = await (async () => {
  const probe = await Deno.makeTempDir();
  try {
    return {
      sh: await sh(": > probe", probe),
      mkfifo: await sh("mkfifo fifo", probe),
      mknod: await sh("mknod null c 1 3", probe),
    };
  } finally {
    await Deno.remove(probe, { recursive: true });
  }
})();

/** Test options that skip the test, saying why, unless `available`. */
export function unless(
  available: boolean,
  name: string,
  why: string,
): { name: string; ignore: boolean } {
  return { name: available ? name : `${name} (skipped: ${why})`, ignore: !available };
}

/**
 * Runs `fn` while a unix socket exists at `path`. The socket is held by a child process (`deno
 * eval` may listen; these tests run without net permission), which exits when its stdin closes.
 */
export async function withUnixSocket(path: string, fn: () => Promise<void>): Promise<void> {
  const code = `Deno.listen({ transport: "unix", path: ${JSON.stringify(path)} });
    console.log("ready");
    for await (const _ of Deno.stdin.readable);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  try {
    await reader.read(); // "ready": the socket exists
    await fn();
  } finally {
    await child.stdin.close();
    await reader.cancel();
    await child.status;
  }
}
