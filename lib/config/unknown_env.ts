/**
 * `MODEL_SIGNING_*` variables the program does not know: usually a typo
 * (`MODEL_SIGNING_PUBLICKEY`), sometimes a newer webhook's setting. They are reported as a
 * warning with the nearest known name, and never make a run fail.
 *
 * @module
 */

import { escapeName } from "../_escape.ts";
import { nearestName } from "./nearest.ts";
import { EXTRA_ENV, OPTIONS } from "./options.ts";

/** The prefix of the program's environment variables. */
export const ENV_PREFIX = "MODEL_SIGNING_";

/** An unknown variable and the known one it most likely meant. */
export interface UnknownVariable {
  name: string;
  nearest?: string;
}

/** Every environment variable the program reads. */
export function knownEnvNames(): string[] {
  return [...OPTIONS.map((o) => o.env).filter((e) => e !== ""), ...Object.values(EXTRA_ENV)];
}

/** The `MODEL_SIGNING_*` variables in `env` that the program does not read, sorted by name. */
export function findUnknownEnv(
  env: Readonly<Record<string, string | undefined>>,
): UnknownVariable[] {
  const known = knownEnvNames();
  return Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !known.includes(name))
    .sort()
    .map((name) => {
      const tail = nearestName(
        name.slice(ENV_PREFIX.length),
        known.map((k) => k.slice(ENV_PREFIX.length)),
      );
      return tail === undefined ? { name } : { name, nearest: ENV_PREFIX + tail };
    });
}

/** The warning for unknown variables: each (escaped) with its nearest known name. */
export function formatUnknownEnv(unknown: readonly UnknownVariable[]): string {
  const list = unknown.map((u) => {
    const name = escapeName(u.name);
    return u.nearest ? `${name} (did you mean ${u.nearest}?)` : name;
  });
  return `Ignoring unknown environment ${unknown.length === 1 ? "variable" : "variables"} ` +
    `${list.join(", ")}`;
}
