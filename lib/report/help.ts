/**
 * The help text, generated from the option table so it cannot drift from the parser.
 *
 * @module
 */

import { OPTIONS, type Scope } from "../config/options.ts";

const USAGE =
  `model-verify: verify ML model signatures (model_signing / OMS v1.0) before a model is used

Usage:
  model-verify                                   verify, configured by MODEL_SIGNING_* env
  model-verify verify [sigstore|key|certificate] [options] [MODEL_PATH]
  model-verify digest [options] [MODEL_PATH]     print the model's root digest
  model-verify sign key|certificate [options] [MODEL_PATH]
  model-verify sign [sigstore] [options] [MODEL_PATH]   keyless: OIDC identity, Fulcio, Rekor
  model-verify verify-bundle ...                 sigstore-conformance client protocol
  model-verify --help | --version

MODEL_PATH defaults to MODEL_SIGNING_MODEL_PATH, then /data. The signature defaults to
MODEL_PATH/model.sig. Option names take '-' or '_' (--public_key = --public-key).
Exit codes: 0 verified, 1 verification failed, 2 usage or configuration error.

Options (flag, environment variable, where it applies):`;

/** The full help text. */
export function helpText(): string {
  const rows = OPTIONS.map((o) => {
    const flag = `--${o.name}${o.metavar ? " " + o.metavar : ""}` +
      (o.negatable ? ` / --no-${o.name}` : "");
    const env = o.env ? `  [${o.env}]` : "";
    return `  ${flag}${env}\n      ${o.help} (${scopes(o.scopes)})`;
  });
  return [USAGE, ...rows, "", "Also: MODEL_SIGNING_METHOD (sigstore|key|certificate)."].join("\n");
}

function scopes(list: readonly Scope[]): string {
  return list.join(", ");
}
