/**
 * model-verify: the process shell. The only place that touches Deno.args, Deno.env, stdout,
 * stderr and the exit code. Everything else lives in lib/.
 *
 * @module
 */

import { escapeLine } from "./lib/_escape.ts";
import { nextTask } from "./lib/_next_task.ts";
import { commandOf, parseArgs, peekOption } from "./lib/config/parse_args.ts";
import {
  resolveDigestConfig,
  resolveSignConfig,
  resolveSigstoreSignConfig,
  resolveVerifyConfig,
  type Surroundings,
} from "./lib/config/resolve_config.ts";
import { findUnknownEnv, formatUnknownEnv } from "./lib/config/unknown_env.ts";
import { checkModelPaths } from "./lib/check_paths.ts";
import { ConfigError, EXIT_OK, type ModelVerifyError } from "./lib/errors.ts";
import { isOciModelPath } from "./lib/oci/oci_source.ts";
import { explainError, sandboxAdvice } from "./lib/report/explain_error.ts";
import { helpText } from "./lib/report/help.ts";
import { progressHooks, type ProgressSink } from "./lib/report/progress.ts";
import {
  formatDigestJson,
  formatFailureJson,
  formatSignSuccessJson,
  formatVerifySuccessJson,
  formatWarningJson,
  jsonLine,
  type LogFormat,
  requestedLogFormat,
} from "./lib/report/json.ts";
import {
  formatTerminationMessage,
  TERMINATION_LOG_ENV,
  writeTerminationMessage,
} from "./lib/report/termination.ts";
import {
  formatCommandFailure,
  formatDigest,
  formatDigestSummary,
  formatSignSuccess,
  formatVerifyFailure,
  formatVerifySuccess,
} from "./lib/report/text.ts";
import { splitAgentArgs } from "./lib/agent/agent_options.ts";

/** The program version, as `--version` prints it. */
export const VERSION = "0.1.0";

/** Where output goes and what the process sees; injected by tests. */
export interface ProcessIo extends Surroundings {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Continuous mode: returns a signal aborted on SIGTERM/SIGINT (registered only then). */
  onStop?: () => AbortSignal;
  /** stdin and stderr are terminals: `sign sigstore` may run the interactive OAuth flow. */
  isInteractive?: boolean;
  /** Where hashing progress goes (stderr in the process); absent: no progress shown. */
  progress?: ProgressSink;
}

/**
 * Runs one invocation and returns the exit code. Never throws: every error becomes a message
 * and a non-zero code.
 */
export async function run(argv: readonly string[], io: ProcessIo): Promise<number> {
  let command: string = commandOf(argv);
  let logFormat: LogFormat = requestedLogFormat(argv, io.env);
  const warn = (message: string, fields: Record<string, unknown> = {}) => {
    if (!warningsShown(argv, io.env)) return;
    io.stderr(logFormat === "json" ? formatWarningJson(message, fields) : `WARNING: ${message}`);
  };
  try {
    // First, so the warning also precedes a usage error (help and version stay clean).
    if (!argv.some((a) => a === "--help" || a === "-h" || a === "--version")) {
      const unknown = findUnknownEnv(io.env);
      if (unknown.length > 0) warn(formatUnknownEnv(unknown), { variables: unknown });
    }
    // validation-agent flags (--interval=5m --skip-initial ...) come before the command.
    const agent = splitAgentArgs(argv, io.env);
    const args = parseArgs(agent.rest);
    command = args.command;
    if (agent.options.explicit && !["verify", "help", "version"].includes(args.command)) {
      throw new ConfigError(
        "AGENT_NEEDS_VERIFY",
        "Agent flags (--interval, --health-port, ...) only go before 'verify'",
      );
    }
    switch (args.command) {
      case "help":
        io.stdout(helpText(args.helpTopic ?? []));
        return EXIT_OK;
      case "version":
        io.stdout(`model-verify ${VERSION}`);
        return EXIT_OK;
      case "digest": {
        const config = resolveDigestConfig(args, io);
        logFormat = config.logFormat;
        const progress = progressHooks(sink(io.progress, logFormat), config.quiet);
        // Loaded per command: a command does not pay for compiling the others' modules.
        const { digestModel } = await import("./lib/digest_model.ts");
        const result = await digestModel(config, progress.hooks.onProgress)
          .finally(() => progress.finish());
        for (const warning of result.warnings ?? []) warn(warning);
        if (logFormat === "json") {
          io.stdout(formatDigestJson(result));
        } else {
          // stdout is the digest alone, so `d=$(model-verify digest model)` works.
          io.stdout(formatDigest(result));
          if (config.logLevel === "DEBUG" || config.logLevel === "INFO") {
            io.stderr(formatDigestSummary(result));
          }
        }
        return EXIT_OK;
      }
      case "sign": {
        if (args.method === undefined || args.method === "sigstore") {
          const { signSigstoreCommand } = await import("./lib/sign/sigstore_command.ts");
          // An OCI manifest (file or oci://): its layers are signed, not a folder (lib/oci/).
          const sigstoreConfig = resolveSigstoreSignConfig(args, io);
          let referrer = (): string | undefined => undefined;
          let signIo: ProcessIo & { signDeps?: object } = io;
          if (await isOciModelPath(sigstoreConfig.modelPath)) {
            const { ociSigstoreHooks } = await import("./lib/oci/sign_oci.ts");
            const hooks = ociSigstoreHooks(sigstoreConfig, io.env);
            referrer = hooks.referrer;
            signIo = { ...io, signDeps: { ...(io as typeof signIo).signDeps, ...hooks.deps } };
          }
          const signed = await signSigstoreCommand(args, {
            ...signIo,
            progress: sink(io.progress, logFormat),
          });
          for (const warning of signed.result.warnings) warn(warning);
          io.stdout(
            logFormat === "json"
              ? formatSignSuccessJson(signed.result, {
                identity: signed.result.identity,
                issuer: signed.result.issuer,
                verify_command: signed.verifyCommand,
                ...(referrer() ? { referrer: referrer() } : {}),
              })
              : signed.text,
          );
          if (referrer() && logFormat !== "json") io.stdout(`  referrer:    ${referrer()}`);
          return EXIT_OK;
        }
        const config = resolveSignConfig(args, io);
        logFormat = config.logFormat;
        if (await isOciModelPath(config.modelPath)) {
          const { signOci } = await import("./lib/oci/sign_oci.ts");
          const result = await signOci(config, io.env);
          io.stdout(
            logFormat === "json" ? formatSignSuccessJson(result) : formatSignSuccess(result),
          );
          if (result.referrer && logFormat !== "json") {
            io.stdout(`  referrer:    ${result.referrer}`);
          }
          return EXIT_OK;
        }
        await checkModelPaths(config, true);
        const { signModel } = await import("./lib/sign/sign_model.ts");
        const progress = progressHooks(sink(io.progress, logFormat), config.quiet);
        const result = await signModel(config, progress.hooks).finally(() => progress.finish());
        for (const warning of result.warnings) warn(warning);
        io.stdout(logFormat === "json" ? formatSignSuccessJson(result) : formatSignSuccess(result));
        return EXIT_OK;
      }
      case "verify-bundle": {
        const { runVerifyBundle } = await import("./lib/conformance/verify_bundle.ts");
        const ok = escapeLine(await runVerifyBundle(args.rest, { env: { ...io.env } }));
        io.stdout(
          logFormat === "json"
            ? jsonLine({ level: "info", event: "bundle_verified", message: ok })
            : ok,
        );
        return EXIT_OK;
      }
      case "verify": {
        const config = resolveVerifyConfig(args, io);
        logFormat = config.logFormat;
        if (agent.options.intervalMs > 0 && config.registry?.pullDir !== undefined) {
          throw new ConfigError("CONFLICTING_OPTIONS", "--pull downloads once; drop --interval");
        }
        if (agent.options.watch && config.registry) {
          throw new ConfigError("CONFLICTING_OPTIONS", "--watch needs a local model, not oci://");
        }
        if (agent.options.intervalMs > 0) {
          const stop = io.onStop?.() ?? new AbortController().signal;
          const { runAgent } = await import("./lib/agent/run_agent.ts");
          return await runAgent(config, agent.options, { ...io, stop });
        }
        if (!config.modelPath.startsWith("oci://")) await checkModelPaths(config);
        const progress = progressHooks(sink(io.progress, logFormat), config.quiet);
        const { verifyTraced } = await import("./lib/agent/verify_traced.ts");
        const result = await verifyTraced(config, { env: { ...io.env }, ...progress.hooks }, io.env)
          .finally(() => progress.finish());
        for (const warning of result.warnings) warn(warning);
        io.stdout(
          logFormat === "json" ? formatVerifySuccessJson(result) : formatVerifySuccess(result),
        );
        return EXIT_OK;
      }
    }
  } catch (thrown) {
    const error = explainError(thrown);
    const headline = failureMessage(command, error);
    io.stderr(logFormat === "json" ? formatFailureJson(command, error, headline) : headline);
    // The one-line reason for `kubectl describe pod` (lib/report/termination.ts says where).
    await writeTerminationMessage(formatTerminationMessage(error, headline), io.env, {
      onError: (path, cause) => {
        if (!io.env[TERMINATION_LOG_ENV]?.trim()) return;
        const reason = cause instanceof Error
          ? (cause.name === "NotCapable" ? sandboxAdvice(cause.message) : cause.message)
          : String(cause);
        warn(
          `Cannot write the termination message to '${path}' (${TERMINATION_LOG_ENV}): ${reason}`,
          { path },
        );
      },
    });
    return error.exitCode;
  }
}

/** Progress goes where the sink says, as JSON events in JSON mode. */
function sink(progress: ProgressSink | undefined, format: LogFormat): ProgressSink | undefined {
  return progress && { ...progress, format };
}

/** Warnings show at the levels DEBUG, INFO and WARNING (read early: config may not exist yet). */
function warningsShown(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  const level = peekOption(argv, env, "log-level")?.trim().toUpperCase() ?? "INFO";
  return level !== "ERROR" && level !== "CRITICAL";
}

/**
 * The failure line for an error that escaped `run` (a rejection nothing awaited, an exception
 * in a callback), in the command's words and the requested log format.
 */
export function faultReport(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  reason: unknown,
): { line: string; exitCode: number } {
  const error = explainError(reason);
  const command = commandOf(argv);
  const headline = failureMessage(command, error);
  const json = requestedLogFormat(argv, env) === "json";
  return {
    line: json ? formatFailureJson(command, error, headline) : headline,
    exitCode: error.exitCode,
  };
}

function failureMessage(command: string, error: ModelVerifyError): string {
  switch (command) {
    case "verify":
      return formatVerifyFailure(error);
    case "digest":
      return `Digest failed with error: ${escapeLine(error.message)}`;
    default:
      return formatCommandFailure(command, error);
  }
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  // A rejection nothing awaits, or an error thrown from a callback, must never end in exit 0.
  const fault = (reason: unknown) => {
    const { line, exitCode } = faultReport(Deno.args, Deno.env.toObject(), reason);
    Deno.stderr.writeSync(encoder.encode(line + "\n"));
    Deno.exit(exitCode);
  };
  globalThis.addEventListener("unhandledrejection", (event) => {
    event.preventDefault();
    fault(event.reason);
  });
  globalThis.addEventListener("error", (event) => {
    event.preventDefault();
    fault(event.error);
  });
  const code = await run(Deno.args, {
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    stdout: (text) => Deno.stdout.writeSync(encoder.encode(text + "\n")),
    stderr: (text) => Deno.stderr.writeSync(encoder.encode(text + "\n")),
    isInteractive: Deno.stdin.isTerminal() && Deno.stderr.isTerminal(),
    progress: {
      write: (text) => Deno.stderr.writeSync(encoder.encode(text)),
      isTerminal: Deno.stderr.isTerminal(),
      columns: Deno.stderr.isTerminal() ? Deno.consoleSize().columns : 80,
    },
    onStop: () => {
      const stop = new AbortController();
      for (const signal of ["SIGTERM", "SIGINT"] as const) {
        Deno.addSignalListener(signal, () => stop.abort(signal));
      }
      return stop.signal;
    },
  });
  // Let pending rejections surface (and fail the run) before the verdict becomes the exit code.
  await nextTask();
  Deno.exit(code);
}
