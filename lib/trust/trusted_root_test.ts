import { join } from "node:path";
import {
  assert,
  assertEquals,
  assertFailsWith,
  assertStringIncludes,
} from "../../tests/_assert.ts";
import { ConfigError, TrustMaterialError } from "../errors.ts";
import { embeddedProductionTrustedRootJson, productionTufRootBytes } from "./embedded.ts";
import { loadTrustedRoot } from "./trusted_root.ts";
import type { TufRepository } from "./tuf.ts";

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "model-verify-trust-test-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A port on 127.0.0.1 that nothing listens on. */
function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

function testRepository(mirrorURL: string): TufRepository {
  return { name: "test", mirrorURL, initialRoot: productionTufRootBytes() };
}

Deno.test("offline uses the embedded production trusted root", async () => {
  const loaded = await loadTrustedRoot({ useStaging: false, offline: true });
  assertStringIncludes(loaded.description, "embedded production trusted root");
  const urls = loaded.trustedRoot.tlogs.map((tlog) => tlog.baseUrl);
  assert(urls.includes("https://rekor.sigstore.dev"), urls.join(", "));
});

Deno.test("offline with staging is refused: only the production root is embedded", async () => {
  await assertFailsWith(
    () => loadTrustedRoot({ useStaging: true, offline: true }),
    ConfigError,
    "OFFLINE_STAGING_UNSUPPORTED",
  );
});

Deno.test("a trust configuration file wins over offline and staging", async () => {
  await withTempDir(async (dir) => {
    const path = join(dir, "trusted_root.json");
    await Deno.writeTextFile(path, embeddedProductionTrustedRootJson());
    const loaded = await loadTrustedRoot({
      useStaging: true,
      offline: true,
      trustConfigPath: path,
    });
    assertEquals(loaded.description, `trust configuration ${path}`);
  });
});

Deno.test("a missing trust configuration file is a TrustMaterialError", async () => {
  await assertFailsWith(
    () =>
      loadTrustedRoot({ useStaging: false, offline: false, trustConfigPath: "/nonexistent.json" }),
    TrustMaterialError,
    "TRUST_CONFIG_UNREADABLE",
  );
});

Deno.test("a TUF repository that refuses connections fails fast, naming --offline and --trust_config", async () => {
  await withTempDir(async (dir) => {
    const started = performance.now();
    const error = await assertFailsWith(
      () =>
        loadTrustedRoot({
          useStaging: false,
          offline: false,
          tufCacheDir: dir,
          tufRepository: testRepository(`http://127.0.0.1:${closedPort()}`),
        }),
      TrustMaterialError,
      "TUF_FETCH_FAILED",
    );
    const elapsed = performance.now() - started;
    assertStringIncludes(error.message, "--offline");
    assertStringIncludes(error.message, "--trust-config");
    assert(elapsed < 5_000, `took ${elapsed.toFixed(0)} ms`);
  });
});

Deno.test("a TUF repository that never answers fails after the timeout", async () => {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async () => {
    await released;
    return new Response("", { status: 503 });
  });
  try {
    await withTempDir(async (dir) => {
      const started = performance.now();
      await assertFailsWith(
        () =>
          loadTrustedRoot({
            useStaging: false,
            offline: false,
            tufCacheDir: dir,
            timeoutMs: 300,
            tufRepository: testRepository(`http://127.0.0.1:${server.addr.port}`),
          }),
        TrustMaterialError,
        "TUF_FETCH_FAILED",
      );
      const elapsed = performance.now() - started;
      assert(elapsed < 10_000, `took ${elapsed.toFixed(0)} ms`);
    });
  } finally {
    release();
    await server.shutdown();
  }
});
