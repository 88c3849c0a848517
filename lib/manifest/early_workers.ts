/**
 * Starts one hashing worker while the program's own modules are still being evaluated, for a
 * `digest` or `verify` run of main.ts: the worker then loads its module (and `node:crypto`) in
 * its own thread during the 30-40 ms the main thread spends evaluating modules, reading the
 * signature and listing the model, instead of after. main.ts imports this module first.
 * `WorkerPrestart` claims the worker; a model too small for workers terminates it unused, and
 * one never claimed (an OCI layout, a failure before listing) is terminated after
 * {@link UNCLAIMED_MS}. Nothing is hashed before the listing and the name check end.
 *
 * @module
 */

import { HashWorkers } from "./worker_pool.ts";

/**
 * Workers started early, at most: one per CPU up to this many. Each `new Worker` blocks the
 * main thread about 13 ms, which a small model pays for nothing.
 */
export const EARLY_MAX = 2;

/** An early worker nobody claimed by then is terminated (it would only hold memory). */
export const UNCLAIMED_MS = 10_000;

let early: HashWorkers | undefined;
let unclaimedTimer: ReturnType<typeof setTimeout> | undefined;

/** Whether a run with these arguments will list and hash a model (`digest`, `verify`). */
export function startsEarly(args: readonly string[]): boolean {
  if (args.some((a) => a === "--help" || a === "-h" || a === "--version")) return false;
  return args[0] === "digest" || args[0] === "verify";
}

/** The workers started early, once (later calls, or none started: undefined). */
export function claimEarlyWorkers(): HashWorkers | undefined {
  const claimed = early;
  early = undefined;
  clearTimeout(unclaimedTimer);
  unclaimedTimer = undefined;
  return claimed;
}

/** Starts the early worker when `mainModule` is main.ts and the arguments ask for hashing. */
export function startEarlyWorkers(mainModule: string, args: readonly string[]): void {
  if (mainModule !== MAIN_MODULE || !startsEarly(args) || early) return;
  const workers = new HashWorkers();
  workers.startUpTo(Math.max(1, Math.min(EARLY_MAX, navigator.hardwareConcurrency || 1)));
  early = workers;
  const timer = setTimeout(() => claimEarlyWorkers()?.close(), UNCLAIMED_MS);
  Deno.unrefTimer(timer);
  unclaimedTimer = timer;
}

const MAIN_MODULE = new URL("../../main.ts", import.meta.url).href;

startEarlyWorkers(Deno.mainModule, Deno.args);
