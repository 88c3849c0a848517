/**
 * scripts/install_peers.sh: pins in step with tests/_peers.ts, one line per peer, never fails CI,
 * and quick when the peers are already there. Runs without Python or Go (a PATH without them).
 *
 * @module
 */

import { join } from "node:path";
import { REPO_ROOT, tempDir } from "./_helpers.ts";
import { GO_PEER_VERSION, PYTHON_PEER_VERSION, runProcess } from "./_peers.ts";

const SCRIPT = join(REPO_ROOT, "scripts", "install_peers.sh");
const TOOLS = ["mkdir", "rm", "touch", "cat", "cksum", "cut", "dirname"];

/** A folder of symlinks to the few tools the script needs, and nothing else (no python3, no go). */
async function barePath(dir: string): Promise<string> {
  const bin = join(dir, "bin");
  await Deno.mkdir(bin);
  for (const tool of TOOLS) {
    for (const prefix of ["/usr/bin", "/bin"]) {
      try {
        await Deno.symlink(await Deno.realPath(join(prefix, tool)), join(bin, tool));
        break;
      } catch { /* try the next prefix */ }
    }
  }
  return bin;
}

Deno.test("install_peers.sh pins the versions the tests expect", async () => {
  const script = await Deno.readTextFile(SCRIPT);
  if (!script.includes(`PY_VERSION=${PYTHON_PEER_VERSION}\n`)) {
    throw new Error(`install_peers.sh does not pin model_signing ${PYTHON_PEER_VERSION}`);
  }
  if (!script.includes(`GO_VERSION=${GO_PEER_VERSION}\n`)) {
    throw new Error(`install_peers.sh does not pin Go model-signing ${GO_PEER_VERSION}`);
  }
  const constraints = await Deno.readTextFile(
    join(REPO_ROOT, "scripts", "install_peers.constraints.txt"),
  );
  if (!constraints.includes(`model-signing==${PYTHON_PEER_VERSION}\n`)) {
    throw new Error("install_peers.constraints.txt does not pin the same model-signing");
  }
});

Deno.test("install_peers.sh without python3 and go: one line per peer, exit 0", async () => {
  await using dir = await tempDir();
  const bin = await barePath(dir.path);
  const r = await runProcess("/bin/bash", [SCRIPT], {
    env: { PATH: bin, MODEL_VERIFY_PEERS: join(dir.path, "peers") },
  });
  const lines = r.stdout.trim().split("\n");
  if (r.code !== 0) throw new Error(`exit ${r.code}: ${r.stderr}`);
  if (lines.length !== 2) throw new Error(`expected 2 lines, got: ${r.stdout}`);
  if (!/^peer model_signing 1\.1\.1: not installed \(python3 not found\)$/.test(lines[0]!)) {
    throw new Error(`python line: ${lines[0]}`);
  }
  if (!/^peer Go model-signing v0\.0\.3: not installed \(go not found\)$/.test(lines[1]!)) {
    throw new Error(`go line: ${lines[1]}`);
  }
});

Deno.test("install_peers.sh when both peers are installed: says so and touches nothing", async () => {
  await using dir = await tempDir();
  const bin = await barePath(dir.path);
  const peers = join(dir.path, "peers");
  const constraints = join(REPO_ROOT, "scripts", "install_peers.constraints.txt");
  const sum = (await runProcess("/bin/sh", ["-c", 'cksum <"$0" | cut -d" " -f1', constraints]))
    .stdout.trim();
  const fake = "#!/bin/sh\nexit 0\n";
  await Deno.mkdir(join(peers, "python", "bin"), { recursive: true });
  await Deno.writeTextFile(join(peers, "python", "bin", "model_signing"), fake, { mode: 0o755 });
  await Deno.writeTextFile(join(peers, "python", `.installed-model-signing-1.1.1-${sum}`), "");
  await Deno.mkdir(join(peers, "go", "bin"), { recursive: true });
  await Deno.writeTextFile(join(peers, "go", "bin", "model-signing"), fake, { mode: 0o755 });
  await Deno.writeTextFile(join(peers, "go", ".installed-go-v0.0.3"), "go install ...");
  const r = await runProcess("/bin/bash", [SCRIPT], {
    env: { PATH: bin, MODEL_VERIFY_PEERS: peers },
  });
  const lines = r.stdout.trim().split("\n");
  if (r.code !== 0 || lines.length !== 2 || !lines.every((l) => l.includes("already installed"))) {
    throw new Error(`exit ${r.code}: ${r.stdout}${r.stderr}`);
  }
  // A changed pin (stamp of another constraints file) reinstalls: here python3 is missing.
  await Deno.rename(
    join(peers, "python", `.installed-model-signing-1.1.1-${sum}`),
    join(peers, "python", ".installed-model-signing-1.1.1-0"),
  );
  const again = await runProcess("/bin/bash", [SCRIPT], {
    env: { PATH: bin, MODEL_VERIFY_PEERS: peers },
  });
  if (!again.stdout.includes("peer model_signing 1.1.1: not installed (python3 not found)")) {
    throw new Error(`stale stamp was trusted: ${again.stdout}`);
  }
});
