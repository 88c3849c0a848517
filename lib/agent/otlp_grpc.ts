/**
 * A small OTLP/gRPC span exporter: one unary `TraceService/Export` call over HTTP/2 per batch,
 * with the request encoded by OpenTelemetry's own `ProtobufTraceSerializer`. It stands in for
 * `@opentelemetry/exporter-trace-otlp-grpc`, whose gRPC stack (`@grpc/grpc-js`, protobufjs) is
 * far larger than this one call needs. The Go validation agent exports over gRPC, so this keeps
 * an operator's TelemetryConfig (collector port 4317) working unchanged.
 *
 * @module
 */

import http2 from "node:http2";
import type { ReadableSpan, SpanExporter } from "@opentelemetry/sdk-trace";
import { ProtobufTraceSerializer } from "@opentelemetry/otlp-transformer";

/** The gRPC method of OTLP traces. */
export const EXPORT_PATH = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/** Exports spans to `url` (`http://host:4317` plaintext, `https://...` TLS). */
export class OtlpGrpcTraceExporter implements SpanExporter {
  readonly #url: URL;
  readonly #timeoutMs: number;
  readonly #pending = new Set<Promise<void>>();

  constructor(url: string, timeoutMs = 10_000) {
    this.#url = new URL(url);
    this.#timeoutMs = timeoutMs;
  }

  export(spans: ReadableSpan[], done: (result: { code: number; error?: Error }) => void): void {
    const body = ProtobufTraceSerializer.serializeRequest(spans);
    if (!body) {
      done({ code: 1, error: new Error("Cannot serialize spans") });
      return;
    }
    const call = unaryCall(this.#url, body, this.#timeoutMs).then(
      () => done({ code: 0 }),
      (error: Error) => done({ code: 1, error }),
    );
    this.#pending.add(call);
    call.finally(() => this.#pending.delete(call));
  }

  async forceFlush(): Promise<void> {
    await Promise.all(this.#pending);
  }

  async shutdown(): Promise<void> {
    await this.forceFlush();
  }
}

/** One gRPC unary call: a length-prefixed message out, `grpc-status` 0 expected back. */
function unaryCall(url: URL, message: Uint8Array, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(url.origin);
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      session.close();
      if (error) {
        session.destroy();
        reject(error);
      } else resolve();
    };
    session.on("error", (error) => finish(error));
    const frame = new Uint8Array(5 + message.length);
    new DataView(frame.buffer).setUint32(1, message.length);
    frame.set(message, 5);
    const request = session.request({
      ":method": "POST",
      ":path": EXPORT_PATH,
      "content-type": "application/grpc",
      te: "trailers",
      "grpc-timeout": `${timeoutMs}m`,
    });
    let status: string | undefined;
    let detail = "";
    const read = (headers: http2.IncomingHttpHeaders) => {
      const value = headers["grpc-status"];
      if (value !== undefined) status = String(value);
      const text = headers["grpc-message"];
      if (text !== undefined) detail = decodeURIComponent(String(text));
    };
    request.on("response", (headers) => {
      read(headers);
      const http = headers[":status"];
      if (http !== 200) finish(new Error(`OTLP/gRPC export got HTTP status ${http}`));
    });
    request.on("trailers", read);
    request.on("data", () => {});
    request.on("end", () => {
      finish(
        status === "0"
          ? undefined
          : new Error(`OTLP/gRPC export failed: status ${status} ${detail}`),
      );
    });
    request.on("error", (error) => finish(error));
    request.setTimeout(timeoutMs, () => {
      request.close(http2.constants.NGHTTP2_CANCEL);
      finish(new Error(`OTLP/gRPC export timed out after ${timeoutMs} ms`));
    });
    request.end(frame);
  });
}
