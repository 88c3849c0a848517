/**
 * Bundles written by `sign` have the structure model_signing 1.1 writes (compared with its own
 * fixtures when ../shared/interop is present).
 */

import { join } from "node:path";
import { assertEquals } from "./_assert.ts";
import { INTEROP_DIR, signedModel, tempDir } from "./_helpers.ts";

/** The shape of a JSON value: object keys (sorted) with their shapes, arrays by first element. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, shape((value as Record<string, unknown>)[k])]),
    );
  }
  return typeof value;
}

function decode(bundle: { dsseEnvelope: { payload: string } }) {
  return JSON.parse(atob(bundle.dsseEnvelope.payload));
}

Deno.test({
  name: "sign key writes a bundle shaped like model_signing 1.1's",
  ignore: INTEROP_DIR === undefined,
  async fn() {
    await using dir = await tempDir();
    const f = await signedModel(dir.path, { curve: "P-384" });
    const ours = JSON.parse(await Deno.readTextFile(f.signature));
    const theirs = JSON.parse(
      await Deno.readTextFile(
        join(INTEROP_DIR!, "model-transparency", "v1.1.0-elliptic-key", "model.sig"),
      ),
    );
    assertEquals(shape(ours), shape(theirs));
    assertEquals(shape(decode(ours)), shape(decode(theirs)));
    assertEquals(ours.mediaType, theirs.mediaType);
    assertEquals(decode(ours).predicate.serialization.ignore_paths.sort(), [
      ".git",
      ".gitattributes",
      ".github",
      ".gitignore",
      "model.sig",
    ]);
  },
});
