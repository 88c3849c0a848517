import http2 from "node:http2";
import { join } from "node:path";
import { assert, assertEquals, assertFailsWith } from "../../tests/_assert.ts";
import { signedModel, tempDir } from "../../tests/_helpers.ts";
import { parseArgs } from "../config/parse_args.ts";
import { resolveVerifyConfig } from "../config/resolve_config.ts";
import { IntegrityError } from "../errors.ts";
import { EXPORT_PATH } from "./otlp_grpc.ts";
import { verifyTraced } from "./run_agent.ts";
import { createTracing, tracingSettings } from "./tracing.ts";

Deno.test("tracingSettings() is off without an endpoint and reads the operator's variables", async (t) => {
  assertEquals(tracingSettings({}), undefined);
  assertEquals(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: " " }), undefined);
  assertEquals(
    tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317", OTEL_SDK_DISABLED: "true" }),
    undefined,
  );
  const cases: [Record<string, string>, Record<string, unknown>][] = [
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://otel-collector.monitoring:4317" }, {
      protocol: "grpc",
      url: "http://otel-collector.monitoring:4317",
      serviceName: "model-verify",
    }],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4317", OTEL_SERVICE_NAME: "validation-agent" }, {
      url: "http://collector:4317",
      serviceName: "validation-agent",
    }],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4317", OTEL_EXPORTER_OTLP_INSECURE: "false" }, {
      url: "https://collector:4317",
    }],
    [{
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318/",
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
    }, {
      protocol: "http/protobuf",
      url: "http://c:4318/v1/traces",
    }],
    [{
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/custom",
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/protobuf",
    }, { url: "http://c:4318/custom" }],
    [{ OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }, {
      protocol: "http/protobuf",
    }],
    [{
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4317",
      OTEL_TRACES_SAMPLER: "parentbased_traceidratio",
      OTEL_TRACES_SAMPLER_ARG: "0.1",
    }, { sampler: { name: "parentbased_traceidratio", ratio: 0.1 } }],
  ];
  for (const [env, expected] of cases) {
    await t.step(JSON.stringify(env), () => {
      const settings = tracingSettings(env)!;
      for (const [key, value] of Object.entries(expected)) {
        assertEquals((settings as unknown as Record<string, unknown>)[key], value, key);
      }
    });
  }
});

Deno.test("createTracing() without an endpoint is the no-op tracer", async () => {
  const tracing = await createTracing({});
  assertEquals(tracing.enabled, false);
  tracing.start({}).end({});
  await tracing.shutdown();
});

/** A local OTLP/HTTP receiver on 127.0.0.1 that keeps every request body. */
function httpReceiver() {
  const bodies: { path: string; type: string | null; text: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (request) => {
    const bytes = new Uint8Array(await request.arrayBuffer());
    bodies.push({
      path: new URL(request.url).pathname,
      type: request.headers.get("content-type"),
      text: new TextDecoder().decode(bytes),
    });
    return new Response(new Uint8Array(), {
      headers: { "content-type": "application/x-protobuf" },
    });
  });
  return { bodies, port: server.addr.port, close: () => server.shutdown() };
}

/** A local OTLP/gRPC receiver (HTTP/2, plaintext) that keeps every request body. */
async function grpcReceiver() {
  const bodies: { path: string; text: string }[] = [];
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const chunks: Uint8Array[] = [];
    stream.on("data", (chunk: Uint8Array) => chunks.push(chunk));
    stream.on("end", () => {
      const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
      let at = 0;
      for (const c of chunks) all.set(c, (at += c.length) - c.length);
      bodies.push({ path: String(headers[":path"]), text: new TextDecoder().decode(all.slice(5)) });
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, {
        waitForTrailers: true,
      });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(new Uint8Array(5));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    bodies,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function fixture(dir: string) {
  const signed = await signedModel(dir);
  const config = resolveVerifyConfig(
    parseArgs(["verify", "key", "--public_key", signed.publicKey, signed.model]),
    { env: {}, cwd: dir },
  );
  return { ...signed, config };
}

Deno.test("verifyTraced() exports one model.validate span over OTLP/HTTP protobuf", async () => {
  await using dir = await tempDir();
  const { config } = await fixture(dir.path);
  const receiver = httpReceiver();
  try {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_SERVICE_NAME: "validation-agent",
    };
    const result = await verifyTraced(config, {}, env);
    assertEquals(result.files, 4);
    assertEquals(receiver.bodies.length, 1);
    const [body] = receiver.bodies;
    assertEquals([body!.path, body!.type], ["/v1/traces", "application/x-protobuf"]);
    for (const text of ["model.validate", "validation-agent", "validation.method", "key"]) {
      assert(body!.text.includes(text), `span lacks ${text}`);
    }
    for (const text of ["validation.result", "success", "validation.files", "validation.bytes"]) {
      assert(body!.text.includes(text), `span lacks ${text}`);
    }
  } finally {
    await receiver.close();
  }
});

Deno.test("verifyTraced() exports over OTLP/gRPC by default, failures included", async () => {
  await using dir = await tempDir();
  const { config, model } = await fixture(dir.path);
  await Deno.writeTextFile(join(model, "config.json"), "{}\n");
  const receiver = await grpcReceiver();
  try {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: `127.0.0.1:${receiver.port}` };
    await assertFailsWith(() => verifyTraced(config, {}, env), IntegrityError, "MODEL_MODIFIED");
    assertEquals(receiver.bodies.length, 1);
    const [body] = receiver.bodies;
    assertEquals(body!.path, EXPORT_PATH);
    for (const text of ["model.validate", "failure", "MODEL_MODIFIED", "validation.error_code"]) {
      assert(body!.text.includes(text), `span lacks ${text}`);
    }
  } finally {
    await receiver.close();
  }
});

Deno.test("verifyTraced() honours OTEL_TRACES_SAMPLER=always_off and survives a dead collector", async () => {
  await using dir = await tempDir();
  const { config } = await fixture(dir.path);
  const receiver = httpReceiver();
  try {
    const off = {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      OTEL_TRACES_SAMPLER: "always_off",
    };
    await verifyTraced(config, {}, off);
    assertEquals(receiver.bodies.length, 0);
  } finally {
    await receiver.close();
  }
  // Nothing listens there any more: the verdict is unaffected.
  const dead = { OTEL_EXPORTER_OTLP_ENDPOINT: `127.0.0.1:${receiver.port}` };
  const result = await verifyTraced(config, {}, dead);
  assertEquals(result.method, "key");
});
