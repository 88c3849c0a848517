/**
 * A keyless-signing stack on 127.0.0.1 for the OMS conformance suite's keyless roundtrips: the
 * test suite's virtual Sigstore (`@sigstore/mock` Fulcio, Rekor v1 and TSA) and local OIDC
 * provider, a ClientTrustConfig naming them (trusted root + signingConfig), and an identity
 * token. Runs one command with the environment the suite and the adapter read:
 *
 *   deno run -A scripts/oms_local_sigstore.ts -- pytest test/ --entrypoint=.../oms-adapter -k sigstore
 *
 * sets `MODEL_SIGNING_TRUST_CONFIG` (the adapter signs and verifies against it),
 * `SIGSTORE_ID_TOKEN`, `SIGSTORE_IDENTITY` and `SIGSTORE_ISSUER` (the suite's keyless cases read
 * them), and stops the services when the command ends, with its exit code. Test use only: the
 * services' keys live in memory and certificates are valid for 10 minutes from start.
 *
 * @module
 */

import { join } from "node:path";
import { OidcProvider } from "../tests/_fixtures/oidc_provider.ts";
import { TRUST_START, VirtualSigstore } from "../tests/_fixtures/virtual_sigstore.ts";

/** The environment the suite and the adapter read. */
export interface KeylessEnv extends Record<string, string> {
  MODEL_SIGNING_TRUST_CONFIG: string;
  SIGSTORE_ID_TOKEN: string;
  SIGSTORE_IDENTITY: string;
  SIGSTORE_ISSUER: string;
}

/** The running stack and the environment that points at it. */
export interface KeylessStack extends AsyncDisposable {
  sigstore: VirtualSigstore;
  oidc: OidcProvider;
  /** The ClientTrustConfig written for the stack. */
  trustConfigPath: string;
  /** A fresh token for the provider's subject, audience `sigstore`. */
  token(expiresIn?: number): Promise<string>;
  /** MODEL_SIGNING_TRUST_CONFIG, SIGSTORE_ID_TOKEN, SIGSTORE_IDENTITY, SIGSTORE_ISSUER. */
  env(expiresIn?: number): Promise<KeylessEnv>;
}

/**
 * Starts the virtual Sigstore and the OIDC provider and writes their ClientTrustConfig into
 * `dir`. Clocks are fixed at start (certificates from then on, the TSA 30 s later), so every
 * signature made in the next 10 minutes verifies.
 */
export async function startKeylessStack(dir: string): Promise<KeylessStack> {
  const now = Date.now();
  const sigstore = await VirtualSigstore.start({
    fulcio: new Date(now),
    tsa: new Date(now + 30_000),
  });
  const oidc = await OidcProvider.start();
  const config = sigstore.clientTrustConfig();
  const signing = config.signingConfig as Record<string, unknown>;
  signing.oidcUrls = [{ url: oidc.issuer, majorApiVersion: 1, validFor: { start: TRUST_START } }];
  const trustConfigPath = join(dir, "trust_config.json");
  await Deno.writeTextFile(trustConfigPath, JSON.stringify(config, null, 2));
  const token = (expiresIn = 900) => oidc.token({ expiresIn });
  return {
    sigstore,
    oidc,
    trustConfigPath,
    token,
    env: async (expiresIn) => ({
      MODEL_SIGNING_TRUST_CONFIG: trustConfigPath,
      SIGSTORE_ID_TOKEN: await token(expiresIn),
      SIGSTORE_IDENTITY: oidc.subject,
      SIGSTORE_ISSUER: oidc.issuer,
    }),
    async [Symbol.asyncDispose]() {
      await sigstore[Symbol.asyncDispose]();
      await oidc[Symbol.asyncDispose]();
    },
  };
}

function say(text: string): void {
  Deno.stderr.writeSync(new TextEncoder().encode(text + "\n"));
}

if (import.meta.main) {
  const dash = Deno.args.indexOf("--");
  const command = dash >= 0 ? Deno.args.slice(dash + 1) : Deno.args;
  if (command.length === 0) {
    say("usage: oms_local_sigstore.ts -- COMMAND [ARGS...]");
    Deno.exit(2);
  }
  const dir = await Deno.makeTempDir({ prefix: "oms-local-sigstore-" });
  let code = 1;
  try {
    await using stack = await startKeylessStack(dir);
    const env = await stack.env();
    say(`local Sigstore ${stack.sigstore.baseURL}, OIDC ${stack.oidc.issuer}`);
    say(`MODEL_SIGNING_TRUST_CONFIG=${env.MODEL_SIGNING_TRUST_CONFIG}`);
    const child = new Deno.Command(command[0]!, { args: command.slice(1), env }).spawn();
    code = (await child.status).code;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  Deno.exit(code);
}
