/**
 * model-verify: the process shell. The only place that touches Deno.args, Deno.env, stdout,
 * stderr and the exit code. Everything else lives in lib/.
 *
 * @module
 */

import { parseArgs } from "./lib/config/parse_args.ts";
import {
  resolveDigestConfig,
  resolveSignConfig,
  resolveVerifyConfig,
  type Surroundings,
} from "./lib/config/resolve_config.ts";
import { digestModel } from "./lib/digest_model.ts";
import { EXIT_OK, type ModelVerifyError, toModelVerifyError } from "./lib/errors.ts";
import { helpText } from "./lib/report/help.ts";
import {
  formatDigest,
  formatSignSuccess,
  formatVerifyFailure,
  formatVerifySuccess,
  formatWarnings,
} from "./lib/report/text.ts";
import { signModel } from "./lib/sign/sign_model.ts";
import { verifyModel } from "./lib/verify_model.ts";

/** The program version, as `--version` prints it. */
export const VERSION = "0.1.0";

/** Where output goes and what the process sees; injected by tests. */
export interface ProcessIo extends Surroundings {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * Runs one invocation and returns the exit code. Never throws: every error becomes a message
 * and a non-zero code.
 */
export async function run(argv: readonly string[], io: ProcessIo): Promise<number> {
  let command = "verify";
  try {
    const args = parseArgs(argv);
    command = args.command;
    switch (args.command) {
      case "help":
        io.stdout(helpText());
        return EXIT_OK;
      case "version":
        io.stdout(`model-verify ${VERSION}`);
        return EXIT_OK;
      case "digest": {
        const result = await digestModel(resolveDigestConfig(args, io));
        io.stdout(formatDigest(result));
        return EXIT_OK;
      }
      case "sign": {
        const result = await signModel(resolveSignConfig(args, io));
        io.stdout(formatSignSuccess(result));
        return EXIT_OK;
      }
      case "verify-bundle": {
        const { runVerifyBundle } = await import("./lib/conformance/verify_bundle.ts");
        io.stdout(await runVerifyBundle(args.rest));
        return EXIT_OK;
      }
      case "verify": {
        const config = resolveVerifyConfig(args, io);
        const result = await verifyModel(config, { env: { ...io.env } });
        if (
          config.logLevel === "DEBUG" || config.logLevel === "INFO" || config.logLevel === "WARNING"
        ) {
          for (const line of formatWarnings(result.warnings)) io.stderr(line);
        }
        io.stdout(formatVerifySuccess(result));
        return EXIT_OK;
      }
    }
  } catch (thrown) {
    const error = toModelVerifyError(thrown);
    io.stderr(failureMessage(command, error));
    return error.exitCode;
  }
}

function failureMessage(command: string, error: ModelVerifyError): string {
  switch (command) {
    case "verify":
      return formatVerifyFailure(error);
    case "sign":
      return `Signing failed with error: ${error.message}`;
    default:
      return `Error: ${error.message}`;
  }
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  const code = await run(Deno.args, {
    env: Deno.env.toObject(),
    cwd: Deno.cwd(),
    stdout: (text) => Deno.stdout.writeSync(encoder.encode(text + "\n")),
    stderr: (text) => Deno.stderr.writeSync(encoder.encode(text + "\n")),
  });
  Deno.exit(code);
}
