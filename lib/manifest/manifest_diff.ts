/**
 * Differences between the signed manifest and the model: names only (before hashing) and
 * digests (after), and their description. Without `node:crypto` (manifest.ts loads it for the
 * root digest): `verify` compares with these and loads no node:crypto on the main thread.
 * manifest.ts re-exports them.
 *
 * @module
 */

import type { ManifestDiff } from "../errors.ts";
import { byteOrder } from "./resource_order.ts";

/** Compares expected and actual digests by name; the lists in the result are sorted. */
export function diffManifests(
  expected: ReadonlyMap<string, string>,
  actual: ReadonlyMap<string, string>,
): ManifestDiff {
  // Loops, not copies of every entry: this runs at the end of a verification, when the heap is
  // at its largest, and a 100,000-resource model would make 100,000 arrays only to drop them.
  const extra: string[] = [];
  for (const name of actual.keys()) if (!expected.has(name)) extra.push(name);
  const missing: string[] = [];
  const mismatched: ManifestDiff["mismatched"] = [];
  for (const [name, digest] of expected) {
    const found = actual.get(name);
    if (found === undefined) {
      if (!actual.has(name)) missing.push(name);
    } else if (found !== digest) mismatched.push({ name, expected: digest, actual: found });
  }
  extra.sort(byteOrder);
  missing.sort(byteOrder);
  mismatched.sort((a, b) => byteOrder(a.name, b.name));
  return { extra, missing, mismatched };
}

/**
 * The names-only part of {@link diffManifests}: extra and missing names (sorted), no digests
 * compared. For the check before hashing: it builds nothing per matching name (comparing
 * digests of a name-only map made and sorted one "mismatch" per resource).
 */
export function diffNames(
  expected: ReadonlyMap<string, unknown>,
  actual: Iterable<string>,
): ManifestDiff {
  const seen = new Set<string>();
  const extra: string[] = [];
  for (const name of actual) {
    seen.add(name);
    if (!expected.has(name)) extra.push(name);
  }
  const missing: string[] = [];
  for (const name of expected.keys()) if (!seen.has(name)) missing.push(name);
  return { extra: extra.sort(byteOrder), missing: missing.sort(byteOrder), mismatched: [] };
}

/** True when a diff has no difference at all. */
export function isEmptyDiff(diff: ManifestDiff): boolean {
  return diff.extra.length === 0 && diff.missing.length === 0 && diff.mismatched.length === 0;
}

/** One paragraph naming every difference, for error messages. */
export function describeDiff(diff: ManifestDiff, escape: (name: string) => string): string {
  const parts: string[] = [];
  const list = (names: string[]) => names.map(escape).join(", ");
  if (diff.extra.length > 0) {
    parts.push(`extra files not in the signature: ${list(diff.extra)}`);
  }
  if (diff.missing.length > 0) {
    parts.push(`missing files listed in the signature: ${list(diff.missing)}`);
  }
  for (const m of diff.mismatched) {
    parts.push(`hash mismatch for '${escape(m.name)}': expected ${m.expected}, actual ${m.actual}`);
  }
  return parts.join("; ");
}
