import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { assert, assertEquals, assertThrows } from "../../tests/_assert.ts";
import { tempDir } from "../../tests/_helpers.ts";
import {
  cancelRing,
  createRing,
  resetRing,
  RingCancelled,
  RingFailure,
  RingReader,
  RingWriter,
} from "./read_ring.ts";

/** Fills the writer's next slot with `bytes` and publishes it. */
function put(writer: RingWriter, bytes: number[]): void {
  const slot = writer.nextSlot();
  slot.set(bytes);
  writer.publish(bytes.length);
}

Deno.test("a ring hands over slots in order, each with its length, then ends", () => {
  const ring = createRing(2, 4);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  put(writer, [1, 2, 3, 4]);
  put(writer, [5, 6]);
  assertEquals([...reader.next()!], [1, 2, 3, 4]);
  reader.release();
  put(writer, [7]); // reuses the first slot, released above
  assertEquals([...reader.next()!], [5, 6]);
  reader.release();
  assertEquals([...reader.next()!], [7]);
  reader.release();
  writer.finish();
  assertEquals(reader.next(), null);
});

Deno.test("a reset ring starts a new stream", () => {
  const ring = createRing(2, 4);
  const first = new RingWriter(ring);
  put(first, [1]);
  first.finish();
  resetRing(ring);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  put(writer, [9]);
  writer.finish();
  assertEquals([...reader.next()!], [9]);
  reader.release();
  assertEquals(reader.next(), null);
});

Deno.test("a writer's failure reaches the reader after the bytes published before it", () => {
  const ring = createRing(4, 8);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  put(writer, [1, 2]);
  writer.fail({ name: "InputError", code: "FILE_CHANGED", message: "Model file 'é' changed" });
  assertEquals([...reader.next()!], [1, 2]);
  reader.release();
  const error = assertThrows(() => reader.next(), RingFailure);
  assertEquals(error.detail, {
    name: "InputError",
    code: "FILE_CHANGED",
    message: "Model file 'é' changed",
  });
});

Deno.test("a failure message too long for the ring is cut, never dropped", () => {
  const ring = createRing(1, 1);
  new RingWriter(ring).fail({
    name: "InputError",
    code: "FILE_UNREADABLE",
    message: "m".repeat(1e5),
  });
  const error = assertThrows(() => new RingReader(ring).next(), RingFailure);
  assertEquals(error.detail.code, "FILE_UNREADABLE");
  assert(error.detail.message.startsWith("mmm") && error.detail.message.endsWith("..."));
  assert(error.detail.message.length < 16 << 10);
});

Deno.test("createRing() refuses a ring without room", () => {
  assertThrows(() => createRing(0, 1), RangeError);
  assertThrows(() => createRing(1, 0), RangeError);
});

Deno.test("a ring carries a stream between two threads, each blocking on the other", async () => {
  await using dir = await tempDir();
  const ringUrl = new URL("./read_ring.ts", import.meta.url).href;
  const writerModule = join(dir.path, "ring_writer.ts");
  // Writes 0, 1, 2, ... as one byte per position, in slots of up to 7 bytes.
  await Deno.writeTextFile(
    writerModule,
    `import { RingWriter } from ${JSON.stringify(ringUrl)};
self.onmessage = (e) => {
  const { ring, total } = e.data;
  const writer = new RingWriter(ring);
  for (let position = 0; position < total;) {
    const slot = writer.nextSlot();
    const n = Math.min(1 + (position % slot.length), total - position);
    for (let i = 0; i < n; i++) slot[i] = (position + i) & 0xff;
    position += n;
    writer.publish(n);
  }
  writer.finish();
};
`,
  );
  const ring = createRing(2, 7);
  const worker = new Worker(pathToFileURL(writerModule), { type: "module" });
  try {
    const total = 10_000;
    worker.postMessage({ ring, total });
    const reader = new RingReader(ring);
    let position = 0;
    for (let bytes = reader.next(); bytes !== null; bytes = reader.next()) {
      for (const b of bytes) assertEquals(b, position++ & 0xff);
      reader.release();
    }
    assertEquals(position, total);
  } finally {
    worker.terminate();
  }
});

Deno.test("a cancelled ring stops both sides, even with bytes left to hash", () => {
  const ring = createRing(2, 4);
  const writer = new RingWriter(ring);
  const reader = new RingReader(ring);
  put(writer, [1]);
  cancelRing(ring);
  assertThrows(() => reader.next(), RingCancelled);
  assertThrows(() => writer.nextSlot(), RingCancelled);
});

Deno.test("cancelRing() wakes a writer blocked on a full ring in another thread", async () => {
  await using dir = await tempDir();
  const ringUrl = new URL("./read_ring.ts", import.meta.url).href;
  const writerModule = join(dir.path, "blocked_writer.ts");
  await Deno.writeTextFile(
    writerModule,
    `import { RingCancelled, RingWriter } from ${JSON.stringify(ringUrl)};
self.onmessage = (e) => {
  const writer = new RingWriter(e.data);
  try {
    for (;;) writer.publish(writer.nextSlot().length); // the second call blocks: nobody reads
  } catch (error) {
    self.postMessage(error instanceof RingCancelled ? "cancelled" : String(error));
  }
};
`,
  );
  const ring = createRing(1, 4);
  const worker = new Worker(pathToFileURL(writerModule), { type: "module" });
  try {
    const answer = new Promise((resolve) => worker.onmessage = (e) => resolve(e.data));
    worker.postMessage(ring);
    // Wait until the writer filled the only slot (it then blocks for the next one).
    const reader = new RingReader(ring);
    assertEquals(reader.next()!.length, 4);
    cancelRing(ring);
    assertEquals(await answer, "cancelled");
  } finally {
    worker.terminate();
  }
});
