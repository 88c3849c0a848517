/**
 * The traced one-shot verification: `verifyModel` inside an OpenTelemetry span. Its own module
 * so that a one-shot `verify` does not load continuous mode (health server, loop, watcher).
 *
 * @module
 */

import type { VerifyConfig } from "../config/config.ts";
import { toModelVerifyError } from "../errors.ts";
import { type VerifyDeps, verifyModel, type VerifyResult } from "../verify_model.ts";
import type { Trigger } from "./agent_loop.ts";
import type { CacheStats } from "./identity_cache.ts";
import { createTracing, type SpanAttributes, type Tracing } from "./tracing.ts";

/** Extra context of a traced verification in continuous mode. */
export interface TraceContext {
  tracing: Tracing;
  trigger: Trigger;
  stats?: CacheStats;
}

/**
 * `verifyModel` inside a `model.validate` span. Without a context (one-shot), tracing is set up
 * from `env` for this one span and flushed before returning; that costs nothing when no OTLP
 * endpoint is set.
 */
export async function verifyTraced(
  config: VerifyConfig,
  deps: VerifyDeps,
  env: Readonly<Record<string, string | undefined>>,
  context?: TraceContext,
): Promise<VerifyResult> {
  const tracing = context?.tracing ?? await createTracing(env);
  if (!tracing.enabled) return await verifyModel(config, deps);
  const started = performance.now();
  const span = tracing.start({
    "validation.type": context?.trigger ?? "initial",
    "validation.method": config.method,
    "validation.model_path": config.modelPath,
  });
  try {
    const result = await verifyModel(config, deps);
    span.end({
      "validation.result": "success",
      ...resultAttributes(result, context?.stats),
    });
    return result;
  } catch (thrown) {
    const error = toModelVerifyError(thrown);
    span.end({
      "validation.result": "failure",
      "validation.seconds": (performance.now() - started) / 1000,
      "validation.error_code": error.code,
      ...(context?.stats ? statsAttributes(context.stats) : {}),
    }, error);
    throw error;
  } finally {
    if (!context) await tracing.shutdown();
  }
}

function resultAttributes(result: VerifyResult, stats: CacheStats | undefined): SpanAttributes {
  return {
    "validation.files": result.files,
    "validation.bytes": result.bytes,
    "validation.seconds": result.seconds,
    "validation.root_digest": result.rootDigest,
    ...(stats ? statsAttributes(stats) : {
      "validation.files_hashed": result.files,
      "validation.bytes_hashed": result.bytes,
    }),
  };
}

function statsAttributes(stats: CacheStats): SpanAttributes {
  return {
    "validation.full_rehash": stats.full,
    "validation.files_hashed": stats.filesHashed,
    "validation.bytes_hashed": stats.bytesHashed,
  };
}
