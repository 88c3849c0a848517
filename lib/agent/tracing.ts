/**
 * OpenTelemetry traces: one `model.validate` span per verification, exported over OTLP when
 * `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, as the
 * operator's TelemetryConfig does. Without it nothing is loaded: the OpenTelemetry packages are
 * imported dynamically (literal specifiers, so `deno compile` still bundles them).
 *
 * Protocol: `OTEL_EXPORTER_OTLP_[TRACES_]PROTOCOL`, `grpc` when unset, as the Go validation agent
 * always uses gRPC and the operator documents the collector's gRPC port (4317); `http/protobuf`
 * for collectors on 4318. `OTEL_EXPORTER_OTLP_INSECURE` (default true, as the Go agent) picks
 * plaintext for an endpoint without a scheme; a scheme wins. `OTEL_TRACES_SAMPLER[_ARG]` and
 * `OTEL_SERVICE_NAME` are honoured. Export failures never change a verdict.
 *
 * @module
 */

/** Attributes of one verification span. */
export type SpanAttributes = Record<string, string | number | boolean>;

/** A started span. */
export interface VerificationSpan {
  /** Ends the span: `error` undefined means success. */
  end(attributes: SpanAttributes, error?: { code: string; message: string }): void;
}

/** Starts spans and flushes them; a no-op when tracing is off. */
export interface Tracing {
  readonly enabled: boolean;
  start(attributes: SpanAttributes): VerificationSpan;
  /** Sends what is pending (bounded wait) and releases the exporter. */
  shutdown(): Promise<void>;
}

/** The span name, as the Go agent. */
export const SPAN_NAME = "model.validate";

const NOOP_SPAN: VerificationSpan = { end() {} };
const NOOP: Tracing = {
  enabled: false,
  start: () => NOOP_SPAN,
  shutdown: () => Promise.resolve(),
};

/** How tracing is configured by the environment; undefined when it is off. */
export interface TracingSettings {
  protocol: "grpc" | "http/protobuf";
  /** Full URL: `http(s)://host:port` for gRPC, `.../v1/traces` for HTTP. */
  url: string;
  serviceName: string;
  sampler: { name: string; ratio: number };
  /** Notes for the log (for example an unsupported protocol that was replaced). */
  notes: string[];
}

/** Reads the OTEL_* variables; pure. */
export function tracingSettings(
  env: Readonly<Record<string, string | undefined>>,
): TracingSettings | undefined {
  const get = (name: string) => {
    const value = env[name]?.trim();
    return value ? value : undefined;
  };
  const tracesEndpoint = get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const endpoint = tracesEndpoint ?? get("OTEL_EXPORTER_OTLP_ENDPOINT");
  if (!endpoint || get("OTEL_SDK_DISABLED")?.toLowerCase() === "true") return undefined;
  const notes: string[] = [];
  let protocol = (get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") ?? get("OTEL_EXPORTER_OTLP_PROTOCOL") ??
    "grpc").toLowerCase();
  if (protocol !== "grpc" && protocol !== "http/protobuf") {
    notes.push(`OTLP protocol '${protocol}' is not supported; using http/protobuf`);
    protocol = "http/protobuf";
  }
  const insecure =
    (get("OTEL_EXPORTER_OTLP_TRACES_INSECURE") ?? get("OTEL_EXPORTER_OTLP_INSECURE") ??
      "true").toLowerCase() !== "false";
  let url = /^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)
    ? endpoint
    : `${insecure ? "http" : "https"}://${endpoint}`;
  if (protocol === "http/protobuf" && !tracesEndpoint) url = url.replace(/\/*$/, "") + "/v1/traces";
  const samplerName = (get("OTEL_TRACES_SAMPLER") ?? "parentbased_always_on").toLowerCase();
  const arg = Number(get("OTEL_TRACES_SAMPLER_ARG") ?? "1");
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : 1;
  return {
    protocol: protocol as TracingSettings["protocol"],
    url,
    serviceName: get("OTEL_SERVICE_NAME") ?? "model-verify",
    sampler: { name: samplerName, ratio },
    notes,
  };
}

/**
 * Sets up tracing from the environment; the no-op tracer when no endpoint is set or the
 * packages fail to load (reported through `onProblem`).
 */
export async function createTracing(
  env: Readonly<Record<string, string | undefined>>,
  onProblem: (message: string) => void = () => {},
): Promise<Tracing> {
  const settings = tracingSettings(env);
  if (!settings) return NOOP;
  for (const note of settings.notes) onProblem(note);
  try {
    return await otelTracing(settings);
  } catch (error) {
    onProblem(`Tracing disabled: ${error instanceof Error ? error.message : error}`);
    return NOOP;
  }
}

async function otelTracing(settings: TracingSettings): Promise<Tracing> {
  const [api, sdk, resources, semconv] = await Promise.all([
    import("@opentelemetry/api"),
    import("@opentelemetry/sdk-trace"),
    import("@opentelemetry/resources"),
    import("@opentelemetry/semantic-conventions"),
  ]);
  const exporter = settings.protocol === "grpc"
    ? new (await import("./otlp_grpc.ts")).OtlpGrpcTraceExporter(settings.url)
    : new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter({
      url: settings.url,
    });
  const ratio = new sdk.TraceIdRatioBasedSampler(settings.sampler.ratio);
  const base = {
    always_on: new sdk.AlwaysOnSampler(),
    always_off: new sdk.AlwaysOffSampler(),
    traceidratio: ratio,
  }[settings.sampler.name.replace(/^parentbased_/, "")] ?? new sdk.AlwaysOnSampler();
  const sampler = settings.sampler.name.startsWith("parentbased_")
    ? new sdk.ParentBasedSampler({ root: base })
    : base;
  const provider = new sdk.TracerProvider({
    resource: resources.resourceFromAttributes({
      [semconv.ATTR_SERVICE_NAME]: settings.serviceName,
    }),
    sampler,
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer("model-verify");
  return {
    enabled: true,
    start(attributes) {
      const span = tracer.startSpan(SPAN_NAME, { attributes });
      return {
        end(more, error) {
          span.setAttributes(more);
          if (error) {
            span.setAttribute("error.type", error.code);
            span.setStatus({ code: api.SpanStatusCode.ERROR, message: error.message });
          } else {
            span.setStatus({ code: api.SpanStatusCode.OK });
          }
          span.end();
        },
      };
    },
    async shutdown() {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 5_000);
      });
      try {
        await Promise.race([provider.shutdown().catch(() => {}), limit]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
