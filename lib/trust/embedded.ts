/**
 * Trust material compiled into model-verify, so that `deno compile` carries it:
 *
 * - the production Sigstore trusted root for `--offline`: the `trusted_root.json` target that
 *   npm `@sigstore/tuf` ships in its `seeds.json` (key `https://tuf-repo-cdn.sigstore.dev`). It is
 *   read from the dependency, not copied, so upgrading `@sigstore/tuf` refreshes it.
 * - the initial TUF `root.json` of the production instance, from the same seeds.
 *
 * No npm package ships the staging instance's TUF root, so `--use_staging` trusts it on first use
 * (see `tuf.ts`): staging is a test instance, never a production trust anchor.
 *
 * @module
 */

import seeds from "@sigstore/tuf/seeds.json" with { type: "json" };

/** TUF repository of the production (public-good) instance. */
export const PRODUCTION_TUF_URL = "https://tuf-repo-cdn.sigstore.dev";
/** TUF repository of the staging instance. */
export const STAGING_TUF_URL = "https://tuf-repo-cdn.sigstage.dev";

/** Where the offline production root comes from, for messages and docs. */
export const EMBEDDED_ROOT_ORIGIN = "npm @sigstore/tuf seeds.json";

interface Seed {
  "root.json": string;
  targets: Record<string, string>;
}

/**
 * The production trusted root (JSON text) built into the program.
 *
 * @throws {Error} if the dependency's seeds lack it (a packaging bug)
 */
export function embeddedProductionTrustedRootJson(): string {
  const seed = (seeds as Record<string, Seed | undefined>)[PRODUCTION_TUF_URL];
  const encoded = seed?.targets["trusted_root.json"];
  if (encoded === undefined) {
    throw new Error(`${EMBEDDED_ROOT_ORIGIN} has no trusted_root.json for ${PRODUCTION_TUF_URL}`);
  }
  return new TextDecoder().decode(decodeBase64(encoded));
}

/** The production instance's initial TUF root.json, as bytes (from `@sigstore/tuf`'s seeds). */
export function productionTufRootBytes(): Uint8Array {
  const seed = (seeds as Record<string, Seed | undefined>)[PRODUCTION_TUF_URL];
  if (seed === undefined) throw new Error(`${EMBEDDED_ROOT_ORIGIN} has no ${PRODUCTION_TUF_URL}`);
  return decodeBase64(seed["root.json"]);
}

function decodeBase64(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
