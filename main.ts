/**
 * model-verify: the process shell. The only place that touches Deno.args, Deno.env, stdout,
 * stderr and the exit code. Everything else lives in lib/.
 *
 * @module
 */

import { escapeLine } from "./lib/_escape.ts";
import { parseArgs } from "./lib/config/parse_args.ts";
import {
  resolveDigestConfig,
  resolveSignConfig,
  resolveVerifyConfig,
  type Surroundings,
} from "./lib/config/resolve_config.ts";
import { digestModel } from "./lib/digest_model.ts";
import { ConfigError, EXIT_OK, type ModelVerifyError, toModelVerifyError } from "./lib/errors.ts";
import { helpText } from "./lib/report/help.ts";
import { progressHooks, type ProgressSink } from "./lib/report/progress.ts";
import {
  formatDigestJson,
  formatFailureJson,
  formatVerifySuccessJson,
  formatWarningJson,
  type LogFormat,
  requestedLogFormat,
} from "./lib/report/json.ts";
import { formatTerminationMessage, writeTerminationMessage } from "./lib/report/termination.ts";
import {
  formatCommandFailure,
  formatDigest,
  formatSignSuccess,
  formatVerifyFailure,
  formatVerifySuccess,
  formatWarnings,
} from "./lib/report/text.ts";
import { splitAgentArgs } from "./lib/agent/agent_options.ts";
import { runAgent, verifyTraced } from "./lib/agent/run_agent.ts";

/** The program version, as `--version` prints it. */
export const VERSION = "0.1.0";

/** Where output goes and what the process sees; injected by tests. */
export interface ProcessIo extends Surroundings {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Continuous mode: returns a signal aborted on SIGTERM/SIGINT (registered only then). */
  onStop?: () => AbortSignal;
  /** Where hashing progress goes (stderr in the process); absent: no progress shown. */
  progress?: ProgressSink;
}

/**
 * Runs one invocation and returns the exit code. Never throws: every error becomes a message
 * and a non-zero code.
 */
export async function run(argv: readonly string[], io: ProcessIo): Promise<number> {
  let command = "verify";
  let logFormat: LogFormat | undefined;
  try {
    // validation-agent flags (--interval=5m --skip-initial ...) come before the command.
    const agent = splitAgentArgs(argv, io.env);
    const args = parseArgs(agent.rest);
    command = args.command;
    if (agent.options.explicit && args.command !== "verify") {
      throw new ConfigError(
        "AGENT_NEEDS_VERIFY",
        "Agent flags (--interval, --health-port, ...) only go before 'verify'",
      );
    }
    switch (args.command) {
      case "help":
        io.stdout(helpText());
        return EXIT_OK;
      case "version":
        io.stdout(`model-verify ${VERSION}`);
        return EXIT_OK;
      case "digest": {
        const config = resolveDigestConfig(args, io);
        logFormat = config.logFormat;
        const progress = progressHooks(io.progress, config.quiet);
        const result = await digestModel(config, progress.hooks.onProgress)
          .finally(() => progress.finish());
        io.stdout(logFormat === "json" ? formatDigestJson(result) : formatDigest(result));
        return EXIT_OK;
      }
      case "sign": {
        const { signModel } = await import("./lib/sign/sign_model.ts");
        const result = await signModel(resolveSignConfig(args, io));
        io.stdout(formatSignSuccess(result));
        return EXIT_OK;
      }
      case "verify-bundle": {
        const { runVerifyBundle } = await import("./lib/conformance/verify_bundle.ts");
        io.stdout(escapeLine(await runVerifyBundle(args.rest, { env: { ...io.env } })));
        return EXIT_OK;
      }
      case "verify": {
        const config = resolveVerifyConfig(args, io);
        logFormat = config.logFormat;
        if (agent.options.intervalMs > 0) {
          const stop = io.onStop?.() ?? new AbortController().signal;
          return await runAgent(config, agent.options, { ...io, stop });
        }
        const progress = progressHooks(io.progress, config.quiet);
        const result = await verifyTraced(config, { env: { ...io.env }, ...progress.hooks }, io.env)
          .finally(() => progress.finish());
        if (
          config.logLevel === "DEBUG" || config.logLevel === "INFO" || config.logLevel === "WARNING"
        ) {
          const warnings = logFormat === "json"
            ? result.warnings.map(formatWarningJson)
            : formatWarnings(result.warnings);
          for (const line of warnings) io.stderr(line);
        }
        io.stdout(
          logFormat === "json" ? formatVerifySuccessJson(result) : formatVerifySuccess(result),
        );
        return EXIT_OK;
      }
    }
  } catch (thrown) {
    const error = toModelVerifyError(thrown);
    const headline = failureMessage(command, error);
    const json = (logFormat ?? requestedLogFormat(argv, io.env)) === "json";
    io.stderr(json ? formatFailureJson(command, error, headline) : headline);
    // The one-line reason for `kubectl describe pod` (lib/report/termination.ts says where).
    await writeTerminationMessage(formatTerminationMessage(error, headline), io.env);
    return error.exitCode;
  }
}

function failureMessage(command: string, error: ModelVerifyError): string {
  switch (command) {
    case "verify":
      return formatVerifyFailure(error);
    default:
      return formatCommandFailure(command, error);
  }
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  // A rejection nothing awaits, or an error thrown from a callback, must never end in exit 0.
  const fault = (reason: unknown) => {
    const error = toModelVerifyError(reason);
    Deno.stderr.writeSync(encoder.encode(formatVerifyFailure(error) + "\n"));
    Deno.exit(error.exitCode);
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
  await new Promise((resolve) => setTimeout(resolve, 0));
  Deno.exit(code);
}
