/**
 * The bench's "Deno floor": the least a Deno program must do per file to hash it (open, read,
 * hash, close; no checks, no messages per file), so the bench can show how much of a gap to
 * openssl is the runtime's per-file cost rather than model-verify's. Not used by the verifier.
 *
 * In: a list of paths. Out: the number of files hashed.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { createHash } from "node:crypto";

const buffer = new Uint8Array(1 << 20);

self.onmessage = (event: MessageEvent<string[]>) => {
  for (const path of event.data) {
    const hash = createHash("sha256");
    const file = Deno.openSync(path, { read: true });
    for (let n = file.readSync(buffer); n; n = file.readSync(buffer)) {
      hash.update(buffer.subarray(0, n));
    }
    file.close();
    hash.digest("hex");
  }
  self.postMessage(event.data.length);
};
