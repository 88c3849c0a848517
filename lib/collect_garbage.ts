/**
 * A hint to collect garbage between the phases of a run, for peak memory.
 *
 * @module
 */

/**
 * Runs a full garbage collection when the runtime exposes one (V8's `--expose-gc`, which the
 * compile task sets); otherwise does nothing. Called where a phase leaves tens of MB of garbage
 * behind (the signature's text and JSON tree for 100,000 files) just before the next phase
 * allocates as much again: V8 would otherwise grow the heap over the garbage and keep the pages,
 * so both phases' memory would add up in the peak RSS.
 */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: unknown }).gc;
  if (typeof gc === "function") gc();
}
