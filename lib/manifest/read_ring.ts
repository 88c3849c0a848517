/**
 * A ring of read buffers in shared memory: one thread reads a file into it with blocking reads
 * while another hashes what was read, so reading (a copy from the page cache) overlaps hashing
 * instead of adding to it. Both sides block with `Atomics.wait`; neither needs its event loop.
 *
 * The writer fills slots in order and publishes each one; the reader takes them in order and
 * releases each one once hashed, which lets the writer reuse it. The writer ends the stream
 * with {@link RingWriter.finish} or {@link RingWriter.fail}; a failure (a typed error's name,
 * code and message) reaches the reader as a {@link RingFailure}.
 *
 * Memory: `slots` x `slotSize` bytes, whatever the file size.
 *
 * @module
 */

/** Slots of a ring: enough that the writer is rarely waited for. */
export const RING_SLOTS = 4;
/** Bytes per slot (one blocking read). */
export const RING_SLOT_BYTES = 1 << 20;
/** Room for the writer's failure (JSON); longer messages are cut. */
const ERROR_BYTES = 16 << 10;

// Control array (Int32) layout.
const WRITTEN = 0; // slots published, ever
const CONSUMED = 1; // slots released, ever
const SIGNAL = 2; // bumped on every publish and on the end: what the reader waits on
const STATE = 3; // 0 while running, then FINISHED, FAILED or CANCELLED
const ERROR_LENGTH = 4; // bytes of JSON in `error`
const LENGTHS = 8; // bytes in each slot, `slots` entries

const FINISHED = 1;
const FAILED = 2;
const CANCELLED = 3;

/** The shared memory of one ring; plain data, posted to both threads. */
export interface ReadRing {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  error: SharedArrayBuffer;
}

/** What a writer reports when it fails: a typed error's parts. */
export interface RingFailureDetail {
  name: string;
  code: string;
  message: string;
}

/** The writer failed; `detail` says how. */
export class RingFailure extends Error {
  constructor(readonly detail: RingFailureDetail) {
    super(detail.message);
    this.name = "RingFailure";
  }
}

/** The ring was cancelled (see {@link cancelRing}): the side that sees it stops. */
export class RingCancelled extends Error {
  constructor() {
    super("Reading was cancelled");
    this.name = "RingCancelled";
  }
}

/**
 * Stops both sides of a ring, waking whichever waits: the next call of either side throws
 * {@link RingCancelled}. For the pool when it gives up (a blocked worker does not notice
 * `terminate()`).
 */
export function cancelRing(ring: ReadRing): void {
  const control = new Int32Array(ring.control);
  Atomics.store(control, STATE, CANCELLED);
  Atomics.add(control, SIGNAL, 1);
  Atomics.notify(control, SIGNAL);
  Atomics.notify(control, CONSUMED);
}

/** A ring of `slots` buffers of `slotBytes` each. */
export function createRing(slots = RING_SLOTS, slotBytes = RING_SLOT_BYTES): ReadRing {
  if (!Number.isInteger(slots) || slots < 1 || !Number.isInteger(slotBytes) || slotBytes < 1) {
    throw new RangeError(`Bad ring shape: ${slots} slots of ${slotBytes} bytes`);
  }
  return {
    control: new SharedArrayBuffer(4 * (LENGTHS + slots)),
    data: new SharedArrayBuffer(slots * slotBytes),
    error: new SharedArrayBuffer(ERROR_BYTES),
  };
}

/** Empties a ring for its next stream. Only while neither side uses it. */
export function resetRing(ring: ReadRing): void {
  new Int32Array(ring.control).fill(0);
}

/** Views of a ring's shared memory: its control words and one byte view per slot. */
function views(ring: ReadRing): { control: Int32Array; slots: Uint8Array[] } {
  const control = new Int32Array(ring.control);
  const count = control.length - LENGTHS;
  const slotBytes = ring.data.byteLength / count;
  const slots = Array.from(
    { length: count },
    (_, i) => new Uint8Array(ring.data, i * slotBytes, slotBytes),
  );
  return { control, slots };
}

/** The filling side. */
export class RingWriter {
  readonly #ring: ReadRing;
  readonly #control: Int32Array;
  readonly #slots: Uint8Array[];
  #written = 0;

  constructor(ring: ReadRing) {
    const { control, slots } = views(ring);
    this.#ring = ring;
    this.#control = control;
    this.#slots = slots;
  }

  /**
   * The next slot to fill, once the reader has released it (blocks until then).
   *
   * @throws {RingCancelled} once the ring was cancelled
   */
  nextSlot(): Uint8Array {
    const control = this.#control;
    for (;;) {
      if (Atomics.load(control, STATE) === CANCELLED) throw new RingCancelled();
      const consumed = Atomics.load(control, CONSUMED);
      if (this.#written - consumed < this.#slots.length) break;
      Atomics.wait(control, CONSUMED, consumed);
    }
    return this.#slots[this.#written % this.#slots.length]!;
  }

  /** Hands the first `bytes` bytes of the slot from {@link nextSlot} to the reader. */
  publish(bytes: number): void {
    const control = this.#control;
    control[LENGTHS + this.#written % this.#slots.length] = bytes;
    this.#written++;
    Atomics.store(control, WRITTEN, this.#written);
    this.#signal();
  }

  /** Ends the stream: every byte was published. */
  finish(): void {
    Atomics.store(this.#control, STATE, FINISHED);
    this.#signal();
  }

  /** Ends the stream with a failure the reader rethrows. */
  fail(detail: RingFailureDetail): void {
    const space = new Uint8Array(this.#ring.error);
    const encoder = new TextEncoder();
    let message = detail.message;
    let encoded = encoder.encode(JSON.stringify({ ...detail, message }));
    while (encoded.length > space.length) {
      message = message.slice(0, Math.floor(message.length / 2)) + "...";
      encoded = encoder.encode(JSON.stringify({ ...detail, message }));
    }
    space.set(encoded);
    Atomics.store(this.#control, ERROR_LENGTH, encoded.length);
    Atomics.store(this.#control, STATE, FAILED);
    this.#signal();
  }

  #signal(): void {
    Atomics.add(this.#control, SIGNAL, 1);
    Atomics.notify(this.#control, SIGNAL);
  }
}

/** The hashing side. */
export class RingReader {
  readonly #ring: ReadRing;
  readonly #control: Int32Array;
  readonly #slots: Uint8Array[];
  #consumed = 0;

  constructor(ring: ReadRing) {
    const { control, slots } = views(ring);
    this.#ring = ring;
    this.#control = control;
    this.#slots = slots;
  }

  /**
   * The bytes of the next slot (blocks until published), or null at the end of the stream.
   * Call {@link release} once done with them.
   *
   * @throws {RingFailure} when the writer failed
   * @throws {RingCancelled} once the ring was cancelled
   */
  next(): Uint8Array | null {
    const control = this.#control;
    for (;;) {
      const signal = Atomics.load(control, SIGNAL);
      if (Atomics.load(control, STATE) === CANCELLED) throw new RingCancelled();
      if (Atomics.load(control, WRITTEN) > this.#consumed) {
        const index = this.#consumed % this.#slots.length;
        return this.#slots[index]!.subarray(0, control[LENGTHS + index]!);
      }
      const state = Atomics.load(control, STATE);
      if (state === FINISHED) return null;
      if (state === FAILED) throw new RingFailure(this.#failure());
      Atomics.wait(control, SIGNAL, signal);
    }
  }

  /** Gives the slot from the last {@link next} back to the writer. */
  release(): void {
    this.#consumed++;
    Atomics.store(this.#control, CONSUMED, this.#consumed);
    Atomics.notify(this.#control, CONSUMED);
  }

  #failure(): RingFailureDetail {
    const length = Atomics.load(this.#control, ERROR_LENGTH);
    // TextDecoder does not read shared memory: copy out first.
    const text = new TextDecoder().decode(new Uint8Array(this.#ring.error, 0, length).slice());
    try {
      const { name, code, message } = JSON.parse(text);
      return { name: String(name), code: String(code), message: String(message) };
    } catch {
      return { name: "Error", code: "INTERNAL", message: "the reading thread failed" };
    }
  }
}
