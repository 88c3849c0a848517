/**
 * The `key` method: the DSSE signature must verify with the user's public key, and the bundle's
 * key hint, when present, must name that key.
 *
 * @module
 */

import { escapeName, quoteValue } from "../_escape.ts";
import type { ParsedBundle } from "../bundle/types.ts";
import { SignatureError } from "../errors.ts";
import { verifyDsseWithKey } from "./key_signature.ts";
import type { LoadedKey } from "./key_types.ts";
import type { VerifiedSignature } from "./types.ts";

/** Warning model_signing prints for bundles without a key hint (0.3.1 to 1.0.1). */
export const NO_HINT_WARNING = "This model's signature uses an older verification material " +
  "format. Please re-sign with an updated signer to use a public key identifier hash.";

/**
 * Verifies a bundle made with `model_signing sign key`.
 *
 * @throws {SignatureError} `KEY_HINT_MISMATCH` when the bundle names another key,
 * `SIGNATURE_INVALID` when the signature does not verify
 */
export async function verifyWithKey(
  bundle: ParsedBundle,
  key: LoadedKey,
): Promise<VerifiedSignature> {
  const warnings: string[] = [];
  const material = bundle.material;
  if (material.kind === "publicKey" && material.hint) {
    if (material.hint.toLowerCase() !== key.hint) {
      throw new SignatureError(
        "KEY_HINT_MISMATCH",
        `Key mismatch: the signature '${escapeName(bundle.source)}' was made by the key with ` +
          `hint ${quoteValue(material.hint)}, but the given public key has hint ${key.hint}`,
      );
    }
  } else if (material.kind === "publicKey") {
    warnings.push(NO_HINT_WARNING);
  }
  try {
    const variant = await verifyDsseWithKey(bundle.envelope, key, "the given public key");
    if (variant === "compat-v0.2") warnings.push("Signature uses the model_signing 0.2 encoding");
  } catch (error) {
    if (error instanceof SignatureError && material.kind !== "publicKey") {
      throw new SignatureError(
        error.code,
        `${error.message} (the bundle carries a certificate, so it was probably made with the ` +
          "sigstore or certificate method)",
        { cause: error },
      );
    }
    throw error;
  }
  return {
    payloadType: bundle.envelope.payloadType,
    payload: bundle.envelope.payload,
    signer: { method: "key", description: key.description },
    warnings,
  };
}
