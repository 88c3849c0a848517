/**
 * POSIX path helpers (`resolve`, `join`, `normalize`, `relative`, `isAbsolute`, `basename`) that
 * give what `node:path` gives on Linux, without loading it: `node:path` also loads its win32
 * half and `node:assert`, about 10 ms of CPU at start-up, and `digest` needs nothing else from
 * the node: modules on the main thread. A test compares them with `node:path`'s posix functions.
 *
 * @module
 */

/** The path separator. */
export const sep = "/";

/** True for a path that starts at the root. */
export function isAbsolute(path: string): boolean {
  return path.startsWith("/");
}

/**
 * The segments of `path` with `.` and empty ones dropped and `..` applied; leading `..` are kept
 * for a relative path and dropped at the root of an absolute one.
 */
function segments(path: string, absolute: boolean): string[] {
  const out: string[] = [];
  for (const segment of path.split("/")) {
    if (segment === "" || segment === ".") continue;
    if (segment === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
    } else {
      out.push(segment);
    }
  }
  return out;
}

/** `a//b/./c/..` -> `a/b`; keeps a trailing slash; `""` -> `.`. */
export function normalize(path: string): string {
  if (path === "") return ".";
  const absolute = isAbsolute(path);
  let out = segments(path, absolute).join("/");
  if (absolute) return `/${out}${out !== "" && path.endsWith("/") ? "/" : ""}`;
  if (out === "") out = ".";
  return path.endsWith("/") ? `${out}/` : out;
}

/** The parts joined with `/` and normalized; no parts (or only empty ones) give `.`. */
export function join(...parts: string[]): string {
  const joined = parts.filter((part) => part !== "").join("/");
  return joined === "" ? "." : normalize(joined);
}

/** The absolute path of `parts` resolved right to left, from the current directory. */
export function resolve(...parts: string[]): string {
  let resolved = "";
  for (let i = parts.length - 1; i >= -1 && !isAbsolute(resolved); i--) {
    const part = i >= 0 ? parts[i]! : Deno.cwd();
    if (part !== "") resolved = resolved === "" ? part : `${part}/${resolved}`;
  }
  return `/${segments(resolved, true).join("/")}`;
}

/** The path from `from` to `to`, both resolved first; `""` when they are the same. */
export function relative(from: string, to: string): string {
  const a = segments(resolve(from), true);
  const b = segments(resolve(to), true);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...a.slice(common).map(() => ".."), ...b.slice(common)].join("/");
}

/** The last segment, trailing slashes ignored; `""` for the root or an empty path. */
export function basename(path: string): string {
  let end = path.length;
  while (end > 0 && path[end - 1] === "/") end--;
  return path.slice(path.lastIndexOf("/", end - 1) + 1, end);
}
