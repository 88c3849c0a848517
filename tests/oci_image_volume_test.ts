/**
 * examples/kubernetes/image-volume/: the pod mounts the model image by digest as an image volume
 * and its init container, configured by environment alone, verifies the mounted files against
 * the manifest signature. The test runs that exact configuration on an ORAS-style folder.
 */

import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { EXTRA_ENV, OPTIONS } from "../lib/config/options.ts";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { orasImage } from "./_fixtures/registry.ts";
import { REPO_ROOT, runCli, SAMPLE_MODEL, tempDir, writeKeyPair, writeModel } from "./_helpers.ts";

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

const POD: Doc = parseAllDocuments(
  Deno.readTextFileSync(join(REPO_ROOT, "examples/kubernetes/image-volume/pod.yaml")),
)[0]!.toJS();

const INIT = POD.spec.initContainers[0];

function envOf(container: Doc): Record<string, string> {
  return Object.fromEntries(container.env.map((e: Doc) => [e.name, String(e.value)]));
}

Deno.test("the image-volume pod mounts the model image by digest, read-only, for both containers", () => {
  const volume = POD.spec.volumes.find((v: Doc) => v.image);
  assert(volume, "an image volume");
  assert(/@sha256:[0-9a-f]{64}$/.test(volume.image.reference), "pinned by digest");
  for (const container of [INIT, ...POD.spec.containers]) {
    const mount = container.volumeMounts.find((m: Doc) => m.name === volume.name);
    assertEquals(mount?.readOnly, true, container.name);
  }
  const known = new Set([...OPTIONS.map((o) => o.env), ...Object.values(EXTRA_ENV)]);
  for (const name of Object.keys(envOf(INIT))) assert(known.has(name), `unknown env ${name}`);
});

Deno.test("the init container's environment verifies an ORAS-style model and rejects a tampered one", async () => {
  await using dir = await tempDir();
  const env = envOf(INIT);
  // Map the pod's mount points into the temp dir.
  const mounts: Record<string, string> = {
    "/data": join(dir.path, "data"),
    "/signature": join(dir.path, "signature"),
    "/tmp": join(dir.path, "tmp"),
  };
  const local = (path: string) => {
    const mount = Object.keys(mounts).find((m) => path === m || path.startsWith(m + "/"))!;
    return mounts[mount]! + path.slice(mount.length);
  };
  for (const path of Object.values(mounts)) await Deno.mkdir(path, { recursive: true });
  await writeModel(mounts["/data"]!, SAMPLE_MODEL);
  const keys = await writeKeyPair(dir.path);
  await Deno.copyFile(keys.publicKey, local(env.MODEL_SIGNING_PUBLIC_KEY!));
  const manifest = local(env.MODEL_SIGNING_OCI_MANIFEST!);
  await Deno.writeFile(manifest, orasImage(SAMPLE_MODEL).manifestBytes);
  const signed = await runCli([
    "sign",
    "key",
    "--private-key",
    keys.privateKey,
    "--signature",
    local(env.MODEL_SIGNING_SIGNATURE!),
    manifest,
  ]);
  assertEquals(signed.code, 0, signed.stderr);
  const podEnv = Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, v.startsWith("/") ? local(v) : v]),
  );
  const ok = await runCli([], { env: podEnv });
  assertEquals(ok.code, 0, ok.stderr);
  assertStringIncludes(ok.stdout, "Verification succeeded");
  await Deno.writeTextFile(join(mounts["/data"]!, "tokenizer.json"), "{}");
  const bad = await runCli([], { env: podEnv });
  assertEquals(bad.code, 1);
  assertStringIncludes(bad.stderr, "tokenizer.json");
  assertStringIncludes(
    await Deno.readTextFile(local(env.MODEL_SIGNING_TERMINATION_LOG!)),
    "tokenizer.json",
  );
});
