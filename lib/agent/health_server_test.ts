import { assertEquals, assertFailsWith, assertStringIncludes } from "../../tests/_assert.ts";
import { ConfigError } from "../errors.ts";
import { respond, startHealthServer } from "./health_server.ts";

Deno.test("respond() answers the operator's probes from the state", async (t) => {
  const cases = [
    ["GET", "/healthz", { alive: true, ready: false, reason: "r" }, 200, "ok"],
    ["GET", "/healthz", { alive: false, ready: true, reason: "r" }, 503, "stopping"],
    ["GET", "/ready", { alive: true, ready: false, reason: "waiting" }, 503, "not ready\nwaiting"],
    ["GET", "/ready", { alive: true, ready: true, reason: "verified" }, 200, "ready\nverified"],
    ["GET", "/ready", { alive: false, ready: true, reason: "x" }, 503, "not ready"],
    ["HEAD", "/ready", { alive: true, ready: true, reason: "x" }, 200, ""],
    ["POST", "/ready", { alive: true, ready: true, reason: "x" }, 405, "method not allowed"],
    ["GET", "/metrics", { alive: true, ready: true, reason: "x" }, 404, "not found"],
  ] as const;
  for (const [method, path, state, status, body] of cases) {
    await t.step(`${method} ${path} ${JSON.stringify(state)}`, async () => {
      const response = respond(new Request(`http://x${path}`, { method }), state);
      assertEquals(response.status, status);
      const text = await response.text();
      if (method !== "HEAD") assertStringIncludes(text, body);
    });
  }
});

Deno.test("startHealthServer() reports a port in use as a configuration error", async () => {
  const first = startHealthServer({
    port: 0,
    hostname: "127.0.0.1",
    state: () => ({ alive: true, ready: true, reason: "" }),
  });
  try {
    const error = await assertFailsWith(
      () =>
        startHealthServer({
          port: first.port,
          hostname: "127.0.0.1",
          state: () => ({ alive: true, ready: true, reason: "" }),
        }),
      ConfigError,
      "HEALTH_PORT_UNAVAILABLE",
    );
    assertStringIncludes(error.message, String(first.port));
  } finally {
    await first.close();
  }
});
