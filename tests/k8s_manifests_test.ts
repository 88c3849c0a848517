/**
 * The Kubernetes examples and the container docs, checked against the code so they cannot drift:
 * every manifest parses; labels, namespaces and volume sharing line up; the model is mounted
 * read-only; security contexts are what the operator applies; every `MODEL_SIGNING_*` name exists
 * in the program; the configurations the manifests describe resolve with the real parser; and
 * every image reference names this version of this image.
 */

import { join, relative } from "node:path";
import { parseAllDocuments } from "yaml";
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./_assert.ts";
import { compilePermissionFlags, permissionScope } from "./_compile_flags.ts";
import { REPO_ROOT, tempDir } from "./_helpers.ts";
import { splitAgentArgs } from "../lib/agent/agent_options.ts";
import { EXTRA_ENV, OPTIONS } from "../lib/config/options.ts";
import { parseArgs } from "../lib/config/parse_args.ts";
import { resolveVerifyConfig } from "../lib/config/resolve_config.ts";
import { VERSION } from "../main.ts";

// deno-lint-ignore no-explicit-any
type Doc = Record<string, any>;

const EXAMPLES = join(REPO_ROOT, "examples", "kubernetes");
const DEMO_NAMESPACE = "model-verify-demo";
const WEBHOOK_LABEL = "validation.ml.sigstore.dev/ml";
const IMAGE_UID = 65532;

/** The image name: GHCR path of the Containerfile's source label, tagged with the version. */
const IMAGE: string = (() => {
  const containerfile = Deno.readTextFileSync(join(REPO_ROOT, "Containerfile"));
  const source = /org\.opencontainers\.image\.source="https:\/\/github\.com\/([^"/]+)\/([^"/]+)"/
    .exec(containerfile);
  if (!source) throw new Error("Containerfile has no GitHub source label");
  return `ghcr.io/${source[1]!.toLowerCase()}/${source[2]!.toLowerCase()}:${VERSION}`;
})();

/** Every environment variable the program reads by name. */
const KNOWN_ENV = new Set<string>([
  ...OPTIONS.map((o) => o.env).filter((e) => e !== ""),
  ...Object.values(EXTRA_ENV),
]);

function yamlFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of Deno.readDirSync(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) out.push(...yamlFiles(path));
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/** All documents of all manifests, with the file each came from. */
const DOCS: { file: string; doc: Doc }[] = yamlFiles(EXAMPLES).flatMap((path) => {
  const file = relative(EXAMPLES, path);
  return parseAllDocuments(Deno.readTextFileSync(path)).map((d) => {
    if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message)}`);
    return { file, doc: d.toJS() as Doc };
  });
});

function find(kind: string, name: string): Doc {
  const found = DOCS.filter(({ doc }) => doc.kind === kind && doc.metadata?.name === name);
  assertEquals(found.length, 1, `exactly one ${kind} ${name}`);
  return found[0]!.doc;
}

/** A container's environment; a `resourceFieldRef` to its own CPU limit becomes that limit. */
function envOf(container: Doc): Record<string, string> {
  return Object.fromEntries((container.env ?? []).map((e: Doc) => {
    const ref = e.valueFrom?.resourceFieldRef;
    if (!ref) return [e.name, String(e.value)];
    assertEquals([ref.containerName, ref.resource], [container.name, "limits.cpu"], e.name);
    return [e.name, String(Math.ceil(cpus(container.resources.limits.cpu) / cpus(ref.divisor)))];
  }));
}

/** Kubernetes CPU quantity ("2", "500m") in CPUs. */
function cpus(quantity: string | number): number {
  const text = String(quantity);
  return text.endsWith("m") ? Number(text.slice(0, -1)) / 1000 : Number(text);
}

/** The restricted security context the operator gives its init container, pod or container. */
function assertRestricted(pod: Doc, container: Doc): void {
  const podCtx = pod.spec.securityContext ?? {};
  const ctx = container.securityContext ?? {};
  assertEquals(ctx.runAsNonRoot ?? podCtx.runAsNonRoot, true, `${container.name}: runAsNonRoot`);
  const uid = ctx.runAsUser ?? podCtx.runAsUser;
  if (uid !== undefined) assertEquals(uid, IMAGE_UID, `${container.name}: runAsUser`);
  assertEquals(ctx.readOnlyRootFilesystem, true, `${container.name}: readOnlyRootFilesystem`);
  assertEquals(ctx.allowPrivilegeEscalation, false, `${container.name}: allowPrivilegeEscalation`);
  assertEquals(ctx.capabilities?.drop, ["ALL"], `${container.name}: capabilities`);
  const seccomp = ctx.seccompProfile ?? podCtx.seccompProfile;
  assertEquals(seccomp?.type, "RuntimeDefault", `${container.name}: seccompProfile`);
}

/** The mount of `claim` in a container, checking that the pod's volume is that PVC. */
function claimMount(pod: Doc, container: Doc, claim: string): Doc {
  const volume = pod.spec.volumes.find((v: Doc) => v.persistentVolumeClaim?.claimName === claim);
  assert(volume, `${pod.metadata.name} has no volume for PVC ${claim}`);
  const mount = (container.volumeMounts ?? []).find((m: Doc) => m.name === volume.name);
  assert(mount, `${container.name} does not mount ${volume.name}`);
  return mount;
}

Deno.test("every manifest parses and names its kind and object", () => {
  assert(DOCS.length >= 8, `only ${DOCS.length} documents`);
  for (const { file, doc } of DOCS) {
    assert(typeof doc.apiVersion === "string", `${file}: apiVersion`);
    assert(typeof doc.kind === "string", `${file}: kind`);
    if (doc.kind === "Kustomization") continue;
    assert(typeof doc.metadata?.name === "string", `${file}: metadata.name`);
  }
});

Deno.test("the demo objects live in one namespace and use pinned images", () => {
  for (const { file, doc } of DOCS) {
    if (file.startsWith("operator/")) continue;
    if (doc.kind === "Namespace") assertEquals(doc.metadata.name, DEMO_NAMESPACE);
    else assertEquals(doc.metadata.namespace, DEMO_NAMESPACE, `${file} ${doc.kind}`);
    for (const c of [...(doc.spec?.containers ?? []), ...(doc.spec?.initContainers ?? [])]) {
      assertMatch(c.image, /^[\w.-]+(\/[\w.-]+)+:[\w.-]+(@sha256:[0-9a-f]{64})?$/, c.image);
      assert(!c.image.endsWith(":latest"), `${file}: ${c.image}`);
    }
  }
  find("PersistentVolumeClaim", "models");
});

Deno.test("the helper pod mounts the model volume writable for kubectl cp", () => {
  const pod = find("Pod", "model-copy");
  const container = pod.spec.containers[0];
  assert(claimMount(pod, container, "models").readOnly !== true);
  assertRestricted(pod, container);
});

Deno.test("the ModelValidation is a Sigstore policy for a model on the volume", () => {
  const mv = find("ModelValidation", "bert-base-uncased");
  assertEquals(mv.apiVersion, "ml.sigstore.dev/v1alpha1");
  const methods = ["sigstoreConfig", "pkiConfig", "publicKeyConfig"].filter((m) =>
    mv.spec.config[m]
  );
  assertEquals(methods, ["sigstoreConfig"], "exactly one method");
  const { certificateIdentity, certificateOidcIssuer } = mv.spec.config.sigstoreConfig;
  assert(typeof certificateIdentity === "string" && certificateIdentity !== "");
  assertMatch(certificateOidcIssuer, /^https:\/\/\S+$/);
  assertMatch(mv.spec.model.path, /^\/\S+$/);
  assertEquals(mv.spec.model.signaturePath, `${mv.spec.model.path}/model.sig`);
});

Deno.test("the labelled workload shares the model read-only with the injected container", () => {
  const mv = find("ModelValidation", "bert-base-uncased");
  const pod = find("Pod", "bert-server");
  assertEquals(pod.metadata.labels[WEBHOOK_LABEL], mv.metadata.name);
  assertEquals(pod.metadata.namespace, mv.metadata.namespace);
  // The webhook copies the workload containers' mounts into its init container.
  const container = pod.spec.containers[0];
  const mount = claimMount(pod, container, "models");
  assertEquals(mount.readOnly, true);
  assert(mv.spec.model.path.startsWith(`${mount.mountPath}/`), "the model is on the mount");
  const volume = pod.spec.volumes.find((v: Doc) => v.name === mount.name);
  assertEquals(volume.persistentVolumeClaim.readOnly, true);
  assertRestricted(pod, container);
});

Deno.test("the webhook's arguments for this ModelValidation resolve with our parser", () => {
  const mv = find("ModelValidation", "bert-base-uncased");
  const sigstore = mv.spec.config.sigstoreConfig;
  const argv = [
    "verify",
    "sigstore",
    `--signature=${mv.spec.model.signaturePath}`,
    "--identity",
    sigstore.certificateIdentity,
    "--identity_provider",
    sigstore.certificateOidcIssuer,
    mv.spec.model.path,
  ];
  const config = resolveVerifyConfig(parseArgs(argv), { env: {}, cwd: "/" });
  assertEquals(config.method, "sigstore");
  assertEquals(config.modelPath, mv.spec.model.path);
  assertEquals(config.signaturePath, mv.spec.model.signaturePath);
  assertEquals(config.identity, sigstore.certificateIdentity);
  assertEquals(config.identityProvider, sigstore.certificateOidcIssuer);
});

/** The variables that name the injected image: the newest operator's, then the older one's. */
const OPERATOR_IMAGE_ENV = ["VALIDATION_AGENT_IMAGE", "MODEL_TRANSPARENCY_CLI_IMAGE"];

function operatorPatch(): Doc {
  const kustomization = DOCS.find(({ file }) => file === "operator/kustomization.yaml")!.doc;
  const patches: string[] = kustomization.patches.map((p: Doc) => p.path);
  assertEquals(patches, ["manager-image-patch.yaml"]);
  return DOCS.find(({ file }) => file === `operator/${patches[0]}`)!.doc;
}

Deno.test("the operator kustomization sets both image variables to this image, and no flag", () => {
  const patch = operatorPatch();
  assertEquals([patch.kind, patch.metadata.name], ["Deployment", "controller-manager"]);
  const manager = patch.spec.template.spec.containers.find((c: Doc) => c.name === "manager");
  assertEquals(envOf(manager), Object.fromEntries(OPERATOR_IMAGE_ENV.map((n) => [n, IMAGE])));
  // An operator that does not define a flag refuses to start (Go's flag package): env only.
  assertEquals(manager.args, undefined);
  assertEquals(manager.command, undefined);
});

/**
 * The operator's manager Deployment as its production overlay makes it (config/manager/manager.yaml
 * plus config/overlays/production/production-config.yaml), standing in for the remote base, which
 * is not reachable from the tests.
 */
const OPERATOR_BASE = `apiVersion: apps/v1
kind: Deployment
metadata: {name: controller-manager, namespace: system}
spec:
  selector: {matchLabels: {control-plane: controller-manager}}
  template:
    metadata: {labels: {control-plane: controller-manager}}
    spec:
      containers:
        - name: manager
          image: controller:latest
          command: [/manager]
          args: [--leader-elect, --health-probe-bind-address=:8081]
          env:
            - {name: POD_NAMESPACE, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
            - {name: ENVIRONMENT, value: production}
            - {name: MODEL_TRANSPARENCY_CLI_IMAGE, value: "ghcr.io/sigstore/model-transparency-cli:latest"}
`;

const KUBECTL: string | undefined = (() => {
  try {
    const out = new Deno.Command("kubectl", { args: ["version", "--client"], stdout: "piped" })
      .outputSync();
    return out.success ? "kubectl" : undefined;
  } catch {
    return undefined;
  }
})();

Deno.test({
  name: KUBECTL
    ? "kubectl kustomize renders the operator overlay with model-verify in both variables"
    : "kustomize render skipped: kubectl is not installed",
  ignore: KUBECTL === undefined,
  async fn() {
    await using dir = await tempDir();
    await Deno.mkdir(join(dir.path, "base"));
    await Deno.writeTextFile(join(dir.path, "base", "deployment.yaml"), OPERATOR_BASE);
    await Deno.writeTextFile(
      join(dir.path, "base", "kustomization.yaml"),
      "resources: [deployment.yaml]\n",
    );
    // Our overlay, with the remote resource swapped for the stand-in.
    const overlay = join(dir.path, "overlay");
    await Deno.mkdir(overlay);
    const operatorDir = join(EXAMPLES, "operator");
    const kustomization = Deno.readTextFileSync(join(operatorDir, "kustomization.yaml"));
    const remote = /^ {2}- (https:\/\/github\.com\/sigstore\/model-validation-operator\/\S+)$/m;
    assert(remote.test(kustomization), "the overlay installs the upstream operator");
    await Deno.writeTextFile(
      join(overlay, "kustomization.yaml"),
      kustomization.replace(remote, "  - ../base"),
    );
    await Deno.copyFile(
      join(operatorDir, "manager-image-patch.yaml"),
      join(overlay, "manager-image-patch.yaml"),
    );
    const out = await new Deno.Command(KUBECTL!, {
      args: ["kustomize", overlay],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert(out.success, new TextDecoder().decode(out.stderr));
    const rendered = parseAllDocuments(new TextDecoder().decode(out.stdout)).map((d) =>
      d.toJS() as Doc
    );
    assertEquals(rendered.length, 1);
    const manager = rendered[0]!.spec.template.spec.containers[0];
    const env = new Map<string, Doc>();
    for (const e of manager.env as Doc[]) {
      assert(!env.has(e.name), `duplicate env ${e.name}`);
      env.set(e.name, e);
    }
    for (const name of OPERATOR_IMAGE_ENV) assertEquals(env.get(name)?.value, IMAGE, name);
    // The base's own entries survive, and its arguments are untouched.
    assertEquals(env.get("ENVIRONMENT")?.value, "production");
    assert(env.get("POD_NAMESPACE")?.valueFrom, "POD_NAMESPACE kept");
    assertEquals(manager.args, ["--leader-elect", "--health-probe-bind-address=:8081"]);
  },
});

Deno.test("the example ModelValidation lets `kind load` images be used (IfNotPresent)", () => {
  const mv = find("ModelValidation", "bert-base-uncased");
  // The operator's default is Always, which pulls from the registry and ignores a loaded image.
  assertEquals(mv.spec.imagePullPolicy, "IfNotPresent");
});

Deno.test("the standalone init container is configured by MODEL_SIGNING_* env alone", () => {
  const pod = find("Pod", "bert-server-standalone");
  assertEquals(pod.metadata.labels?.[WEBHOOK_LABEL], undefined, "no operator involved");
  assertEquals(pod.spec.initContainers.length, 1);
  const init = pod.spec.initContainers[0];
  assertEquals(init.image, IMAGE);
  assertEquals(init.command, undefined, "the image's entrypoint");
  assertEquals(init.args, undefined, "no arguments: verify from the environment");
  const env = envOf(init);
  for (const name of Object.keys(env)) assert(KNOWN_ENV.has(name), `unknown env ${name}`);
  const config = resolveVerifyConfig(parseArgs([]), { env, cwd: "/" });
  assertEquals(config.method, "sigstore");
  assertEquals(config.modelPath, env.MODEL_SIGNING_MODEL_PATH);
  assertEquals(config.signaturePath, env.MODEL_SIGNING_SIGNATURE);
  assertEquals(config.identity, env.MODEL_SIGNING_IDENTITY);
  assertEquals(config.identityProvider, env.MODEL_SIGNING_IDENTITY_PROVIDER);
  // Hashing workers follow the CPU limit (the binary cannot read cgroup files itself).
  assertEquals(config.maxWorkers, Math.ceil(cpus(init.resources.limits.cpu)));
});

Deno.test("the standalone pod shares the model read-only and gives the verifier what it writes", () => {
  const pod = find("Pod", "bert-server-standalone");
  const init = pod.spec.initContainers[0];
  const server = pod.spec.containers[0];
  const initMount = claimMount(pod, init, "models");
  const serverMount = claimMount(pod, server, "models");
  assertEquals(initMount.name, serverMount.name, "one volume, shared");
  assertEquals([initMount.readOnly, serverMount.readOnly], [true, true]);
  const model = envOf(init).MODEL_SIGNING_MODEL_PATH!;
  assert(model.startsWith(`${initMount.mountPath}/`), "the model is on the shared volume");
  assertEquals(
    pod.spec.volumes.find((v: Doc) => v.name === initMount.name)
      .persistentVolumeClaim.readOnly,
    true,
  );
  // The TUF cache: an emptyDir at /.sigstore, as the operator mounts it.
  const cache = init.volumeMounts.find((m: Doc) => m.mountPath === "/.sigstore");
  assert(cache, "no /.sigstore mount");
  assert(pod.spec.volumes.find((v: Doc) => v.name === cache.name).emptyDir, "/.sigstore emptyDir");
  for (const container of [init, server]) assertRestricted(pod, container);
});

Deno.test("the standalone termination message goes where the binary may write", () => {
  const pod = find("Pod", "bert-server-standalone");
  const init = pod.spec.initContainers[0];
  const path = envOf(init)[EXTRA_ENV.terminationLog];
  assertEquals(init.terminationMessagePath, path);
  assertEquals(init.terminationMessagePolicy, "FallbackToLogsOnError");
  const writable = permissionScope(compilePermissionFlags(), "allow-write") ?? [];
  assert(writable.some((dir) => path?.startsWith(`${dir}/`)), `${path} not in ${writable}`);
});

Deno.test("the docs name only environment variables the program reads, and this image", () => {
  const files = [
    join(REPO_ROOT, "docs", "container.md"),
    join(EXAMPLES, "README.md"),
    join(REPO_ROOT, "README.md"),
    ...yamlFiles(EXAMPLES),
  ];
  for (const file of files) {
    const text = Deno.readTextFileSync(file);
    for (const [name] of text.matchAll(/MODEL_SIGNING_[A-Z_]+/g)) {
      assert(KNOWN_ENV.has(name), `${relative(REPO_ROOT, file)}: unknown ${name}`);
    }
    const repo = IMAGE.slice(0, IMAGE.lastIndexOf(":"));
    for (const [ref] of text.matchAll(new RegExp(`${repo.replaceAll(".", "\\.")}:\\S+`, "g"))) {
      assertEquals(ref.replace(/[`"'),]+$/, ""), IMAGE, relative(REPO_ROOT, file));
    }
  }
});

Deno.test("the README's docker run example mounts the model read-only at /data", () => {
  const readme = Deno.readTextFileSync(join(REPO_ROOT, "README.md"));
  const oneLine = readme.replace(/\\\n\s*/g, " ");
  const run = /docker run --rm -v "\$PWD\/[\w.-]+:\/data:ro"((?:\s+-e [A-Z_]+=\S+)+)\s+(\S+)/.exec(
    oneLine,
  );
  assert(run, 'README has no `docker run --rm -v "$PWD/<model>:/data:ro" ...` example');
  assertStringIncludes(run[1]!, "-e MODEL_SIGNING_IDENTITY=");
  assertStringIncludes(run[1]!, "-e MODEL_SIGNING_IDENTITY_PROVIDER=");
  assertEquals(run[2], IMAGE);
});

// --- KServe ------------------------------------------------------------------------------------

const KSERVE = join(REPO_ROOT, "examples", "kserve");
const KSERVE_DOCS: Doc[] = yamlFiles(KSERVE).flatMap((path) =>
  parseAllDocuments(Deno.readTextFileSync(path)).map((d) => {
    if (d.errors.length > 0) throw new Error(`${path}: ${d.errors.map((e) => e.message)}`);
    return d.toJS() as Doc;
  })
);
/** KServe's names (pkg/constants/constants.go). */
const KSERVE_VOLUME = "kserve-provision-location";
const KSERVE_MOUNT = "/mnt/models";
/** The port the KServe model servers listen on (`--http_port=8080` in the runtimes). */
const MODEL_SERVER_PORT = 8080;

function inferenceService(): Doc {
  const found = KSERVE_DOCS.filter((d) => d.kind === "InferenceService");
  assertEquals(found.length, 1);
  return found[0]!;
}

function initContainer(isvc: Doc, name: string): Doc {
  const container = isvc.spec.predictor.initContainers.find((c: Doc) => c.name === name);
  assert(container, `no init container ${name}`);
  return container;
}

function mountOf(container: Doc, volume: string): Doc | undefined {
  return (container.volumeMounts ?? []).find((m: Doc) => m.name === volume);
}

Deno.test("KServe: the storage-initializer runs first, then model-verify, then the agent", () => {
  const isvc = inferenceService();
  assertEquals(isvc.apiVersion, "serving.kserve.io/v1beta1");
  // Init containers run in list order; KServe injects no second storage-initializer when one with
  // that name is already there, and would append it (after model-verify) otherwise.
  assertEquals(
    isvc.spec.predictor.initContainers.map((c: Doc) => c.name),
    ["storage-initializer", "model-verify", "model-verify-agent"],
  );
  const download = initContainer(isvc, "storage-initializer");
  assertEquals(download.args, [isvc.spec.predictor.model.storageUri, KSERVE_MOUNT]);
  assertMatch(download.image, /\/kserve\/storage-initializer:v\d+\.\d+\.\d+$/);
  // Knative rejects init containers unless a feature flag is on: a plain Deployment.
  assertEquals(isvc.metadata.annotations["serving.kserve.io/deploymentMode"], "Standard");
});

Deno.test("KServe: one volume; written by the download, read-only for the verifier and server", () => {
  const isvc = inferenceService();
  const predictor = isvc.spec.predictor;
  const volume = predictor.volumes.find((v: Doc) => v.name === KSERVE_VOLUME);
  assert(volume?.emptyDir, `${KSERVE_VOLUME} is an emptyDir`);
  const download = mountOf(initContainer(isvc, "storage-initializer"), KSERVE_VOLUME);
  assertEquals([download?.mountPath, download?.readOnly ?? false], [KSERVE_MOUNT, false]);
  for (
    const container of [
      predictor.model,
      initContainer(isvc, "model-verify"),
      initContainer(isvc, "model-verify-agent"),
    ]
  ) {
    const mount = mountOf(container, KSERVE_VOLUME);
    assertEquals([mount?.mountPath, mount?.readOnly], [KSERVE_MOUNT, true], container.name);
  }
});

Deno.test("KServe: model-verify checks /mnt/models, configured by MODEL_SIGNING_* env alone", () => {
  const isvc = inferenceService();
  for (const name of ["model-verify", "model-verify-agent"]) {
    const container = initContainer(isvc, name);
    assertEquals(container.image, IMAGE);
    assertEquals(container.command, undefined, "the image's entrypoint");
    const env = envOf(container);
    for (const key of Object.keys(env)) assert(KNOWN_ENV.has(key), `${name}: unknown env ${key}`);
    const { rest } = splitAgentArgs(container.args ?? [], env);
    assertEquals(rest, [], `${name}: no arguments but agent flags`);
    const config = resolveVerifyConfig(parseArgs(rest), { env, cwd: "/" });
    assertEquals(config.modelPath, KSERVE_MOUNT);
    assertEquals(config.signaturePath, `${KSERVE_MOUNT}/model.sig`);
    assertEquals(config.method, "sigstore");
    // The TUF cache of the Sigstore method.
    assert(mountOf(container, "sigstore")?.mountPath === "/.sigstore", `${name}: /.sigstore`);
    assertRestricted({ spec: {} }, container);
  }
  const once = initContainer(isvc, "model-verify");
  assertEquals(once.restartPolicy, undefined, "a plain init container: it gates the server");
  assertEquals(splitAgentArgs(once.args ?? [], envOf(once)).options.intervalMs, 0);
  assertEquals(once.terminationMessagePath, envOf(once)[EXTRA_ENV.terminationLog]);
});

Deno.test("KServe: the agent sidecar's probes use --health-port, not the model server's 8080", () => {
  const isvc = inferenceService();
  const agent = initContainer(isvc, "model-verify-agent");
  assertEquals(agent.restartPolicy, "Always", "a native sidecar");
  const { options } = splitAgentArgs(agent.args ?? [], envOf(agent));
  assert(options.intervalMs > 0, "continuous mode");
  assert(options.skipInitial, "model-verify already checked");
  assert(options.healthPort !== MODEL_SERVER_PORT, `health port ${options.healthPort}`);
  assertEquals(agent.readinessProbe.httpGet, { path: "/ready", port: options.healthPort });
  assertEquals(agent.livenessProbe.httpGet, { path: "/healthz", port: options.healthPort });
  // No other container of the pod listens on the agent's port.
  const ports = [isvc.spec.predictor.model, ...isvc.spec.predictor.initContainers]
    .flatMap((c: Doc) => (c.ports ?? []).map((p: Doc) => p.containerPort));
  assert(!ports.includes(options.healthPort), `${options.healthPort} in ${ports}`);
});

Deno.test("KServe: the README's order check names the containers in manifest order", () => {
  const readme = Deno.readTextFileSync(join(KSERVE, "README.md"));
  const names = inferenceService().spec.predictor.initContainers.map((c: Doc) => c.name);
  assertStringIncludes(readme, `# ${names.join(" ")}`);
  assertStringIncludes(readme, "jsonpath='{.items[0].spec.initContainers[*].name}'");
  for (const [name] of readme.matchAll(/MODEL_SIGNING_[A-Z_]+/g)) {
    assert(KNOWN_ENV.has(name), `examples/kserve/README.md: unknown ${name}`);
  }
});
