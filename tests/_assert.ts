/**
 * Minimal assertions for tests (the @std/assert package lives on JSR, which is unreachable here).
 * Backed by `node:assert/strict`, named like @std/assert so they read the same.
 *
 * @module
 */

import nodeAssert from "node:assert/strict";
import type { ModelVerifyError } from "../lib/errors.ts";

/** Asserts a truthy value. */
export function assert(value: unknown, message?: string): asserts value {
  nodeAssert.ok(value, message);
}

/** Deep, strict equality. */
export function assertEquals<T>(
  actual: unknown,
  expected: T,
  message?: string,
): asserts actual is T {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Strict inequality. */
export function assertNotEquals(actual: unknown, expected: unknown, message?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, message);
}

/** `actual` contains `expected`. */
export function assertStringIncludes(actual: string, expected: string, message?: string): void {
  nodeAssert.ok(
    actual.includes(expected),
    message ?? `expected ${JSON.stringify(actual)} to include ${JSON.stringify(expected)}`,
  );
}

/** `actual` matches `pattern`. */
export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  nodeAssert.match(actual, pattern, message);
}

type ErrorClass<E> = abstract new (...args: never[]) => E;

/** Calls `fn`, expects it to throw `type`; returns the error. */
export function assertThrows<E extends Error>(fn: () => unknown, type: ErrorClass<E>): E {
  try {
    fn();
  } catch (error) {
    nodeAssert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error as E;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be thrown` });
}

/** Awaits `promise` (or calls `fn`), expects a rejection with `type`; returns the error. */
export async function assertRejects<E extends Error>(
  fn: Promise<unknown> | (() => Promise<unknown>),
  type: ErrorClass<E>,
): Promise<E> {
  try {
    await (typeof fn === "function" ? fn() : fn);
  } catch (error) {
    nodeAssert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    return error as E;
  }
  throw new nodeAssert.AssertionError({ message: `expected ${type.name} to be rejected` });
}

/** Expects a typed model-verify error with the given class and code (sync or async). */
export async function assertFailsWith<E extends ModelVerifyError>(
  fn: () => unknown,
  type: ErrorClass<E>,
  code: string,
): Promise<E> {
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  nodeAssert.ok(error instanceof type, `expected ${type.name} ${code}, got ${String(error)}`);
  nodeAssert.equal((error as E).code, code, `wrong code; message: ${(error as E).message}`);
  return error as E;
}
