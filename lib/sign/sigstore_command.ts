/**
 * The `sign [sigstore]` command: configuration, the interactive sign-in where a person can
 * answer, signing, and the success text naming the identity and issuer to verify with.
 *
 * @module
 */

import { escapeName } from "../_escape.ts";
import type { ParsedArgs } from "../config/parse_args.ts";
import { resolveSigstoreSignConfig, type Surroundings } from "../config/resolve_config.ts";
import { progressHooks, type ProgressSink } from "../report/progress.ts";
import { formatSignSuccess } from "../report/text.ts";
import { interactiveIdentityToken } from "./oidc_flow.ts";
import { SigningError } from "./signing_error.ts";
import {
  formatSigstoreSignDetails,
  signModelWithSigstore,
  type SigstoreSignDeps,
  type SigstoreSignResult,
} from "./sigstore_sign.ts";

/** What the command needs of the process. */
export interface SignCommandIo extends Surroundings {
  stderr: (text: string) => void;
  /** stdin and stderr are terminals. */
  isInteractive?: boolean;
  /** Test seams for signing (retries, TUF repository, token paths). */
  signDeps?: SigstoreSignDeps;
  /** Opens a URL in a browser (tests drive the sign-in with it). */
  openBrowser?: (url: string) => Promise<void>;
  /** Reads a line from the user (out-of-band code). */
  readLine?: () => Promise<string | null>;
  /** Where hashing progress goes (with the log format); absent: none. `--quiet` hides it. */
  progress?: ProgressSink | undefined;
}

/** What `sign [sigstore]` did, and the text that says it. */
export interface SignCommandOutcome {
  result: SigstoreSignResult;
  /** The success text: the common lines, the identity, the issuer and the verify command. */
  text: string;
  /** The `verify sigstore` command line for the new signature. */
  verifyCommand: string;
}

/**
 * Runs `sign [sigstore]` and returns what was signed with its success text.
 *
 * @throws {ModelVerifyError} every failure, typed (see `signModelWithSigstore`)
 */
export async function signSigstoreCommand(
  args: ParsedArgs,
  io: SignCommandIo,
): Promise<SignCommandOutcome> {
  const config = resolveSigstoreSignConfig(args, io);
  const deps: SigstoreSignDeps = {
    env: io.env,
    isInteractive: io.isInteractive ?? false,
    signIn: async (issuer) => {
      if (!issuer) {
        throw new SigningError(
          "NO_OIDC_ISSUER",
          "The signing config names no OIDC provider for the browser sign-in; pass " +
            "--identity_token or --identity_token_file",
        );
      }
      return await interactiveIdentityToken({
        issuer,
        clientId: config.clientId,
        ...(config.clientSecret !== undefined ? { clientSecret: config.clientSecret } : {}),
        forceOob: config.oauthForceOob,
        print: io.stderr,
        openBrowser: io.openBrowser ?? openBrowser,
        readLine: io.readLine ?? readStdinLine,
      });
    },
    ...io.signDeps,
  };
  const progress = progressHooks(io.progress, config.quiet);
  const result = await signModelWithSigstore(config, { hashing: progress.hooks, ...deps })
    .finally(() => progress.finish());
  const command = verifyCommand(result, config);
  return {
    result,
    text: formatSignSuccess(result) + "\n" + formatSigstoreSignDetails(result, command),
    verifyCommand: command,
  };
}

/** The `verify sigstore` command line for the new signature. */
function verifyCommand(
  result: SigstoreSignResult,
  config: { useStaging: boolean; trustConfigPath?: string; modelPath: string },
): string {
  const words = [
    "model-verify",
    "verify",
    "sigstore",
    "--identity",
    result.identity,
    "--identity_provider",
    result.issuer,
    ...(config.useStaging ? ["--use_staging"] : []),
    ...(config.trustConfigPath ? ["--trust_config", config.trustConfigPath] : []),
    "--signature",
    result.signaturePath,
    config.modelPath,
  ];
  return words.map((word) => shellQuote(escapeName(word))).join(" ");
}

function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Starts the platform's URL opener when the program may run it; never prompts. */
async function openBrowser(url: string): Promise<void> {
  const command = Deno.build.os === "darwin"
    ? "open"
    : Deno.build.os === "windows"
    ? "explorer"
    : "xdg-open";
  const permission = await Deno.permissions.query({ name: "run", command });
  if (permission.state !== "granted") return;
  const child = new Deno.Command(command, {
    args: [url],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  await child.status;
}

/** Reads one line (at most 4 KiB) from stdin. */
async function readStdinLine(): Promise<string | null> {
  const buffer = new Uint8Array(4096);
  let used = 0;
  while (used < buffer.length) {
    const n = await Deno.stdin.read(buffer.subarray(used));
    if (n === null) break;
    used += n;
    if (buffer.subarray(0, used).includes(10)) break;
  }
  if (used === 0) return null;
  return new TextDecoder().decode(buffer.subarray(0, used)).split("\n")[0] ?? "";
}
