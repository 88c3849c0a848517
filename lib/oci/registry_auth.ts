/**
 * Registry credentials, found as docker, podman and skopeo find them:
 * `MODEL_SIGNING_REGISTRY_USERNAME`/`_PASSWORD`, else the first of `$REGISTRY_AUTH_FILE`,
 * `$DOCKER_CONFIG/config.json`, `~/.docker/config.json` and
 * `$XDG_RUNTIME_DIR/containers/auth.json` that says something about the registry: its
 * `credHelpers` entry, its `auths` entry, or the file's `credsStore` (helpers run by
 * `credential_helper.ts`).
 *
 * @module
 */

import { join } from "node:path";
import { escapeName } from "../_escape.ts";
import { isObject } from "../bundle/statement.ts";
import { EXTRA_ENV } from "../config/options.ts";
import { ConfigError } from "../errors.ts";

/** Environment variables of explicit credentials. */
export const REGISTRY_ENV = {
  username: EXTRA_ENV.registryUsername,
  password: EXTRA_ENV.registryPassword,
} as const;

/** Largest auth file read. */
const MAX_AUTH_FILE_BYTES = 1024 * 1024;

/** Credentials for one registry. */
export type Credentials =
  | { kind: "basic"; username: string; password: string; source: string }
  | { kind: "refresh"; token: string; source: string };

/** The auth files consulted, in order. */
export function authFiles(env: Readonly<Record<string, string | undefined>>): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.DOCKER_CONFIG) files.push(join(env.DOCKER_CONFIG, "config.json"));
  if (env.HOME) files.push(join(env.HOME, ".docker", "config.json"));
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  return files;
}

/**
 * Finds credentials for `registry`, or undefined for anonymous access.
 *
 * @throws {ConfigError} `REGISTRY_AUTH_INVALID` for a malformed auth file or entry
 */
export async function findCredentials(
  registry: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Credentials | undefined> {
  const username = env[REGISTRY_ENV.username];
  const password = env[REGISTRY_ENV.password];
  if (username && password !== undefined) {
    return { kind: "basic", username, password, source: REGISTRY_ENV.username };
  }
  const keys = registryKeys(registry);
  for (const file of authFiles(env)) {
    const json = await readAuthFile(file);
    if (json === undefined) continue;
    const where = `'${escapeName(file)}'`;
    // docker's order: the registry's own helper, then the file's entry, then the default store.
    const helpers = isObject(json.credHelpers) ? json.credHelpers : {};
    for (const key of keys) {
      const name = helpers[key];
      if (typeof name === "string") {
        return await fromHelper(name, key, `${where} credHelpers["${escapeName(key)}"]`, env);
      }
    }
    const auths = isObject(json.auths) ? json.auths : {};
    for (const key of keys) {
      const entry = auths[key];
      if (!isObject(entry)) continue;
      const found = parseEntry(entry, `${escapeName(file)} auths["${key}"]`);
      if (found) return found;
    }
    if (typeof json.credsStore === "string" && json.credsStore !== "") {
      const server = registry === "registry-1.docker.io" ? "https://index.docker.io/v1/" : registry;
      return await fromHelper(json.credsStore, server, `${where} credsStore`, env);
    }
  }
  return undefined;
}

async function fromHelper(
  name: string,
  server: string,
  where: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Credentials | undefined> {
  const { runCredentialHelper } = await import("./credential_helper.ts");
  const answer = await runCredentialHelper({ name, server, where, env });
  if (answer === undefined) return undefined;
  return { ...answer, source: `docker-credential-${escapeName(name)} (${where})` };
}

function registryKeys(registry: string): string[] {
  const keys = [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`];
  if (registry === "registry-1.docker.io") {
    keys.push("docker.io", "https://index.docker.io/v1/", "index.docker.io");
  }
  return keys;
}

async function readAuthFile(path: string): Promise<Record<string, unknown> | undefined> {
  let text: string;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) return undefined;
    if (info.size > MAX_AUTH_FILE_BYTES) {
      throw new ConfigError(
        "REGISTRY_AUTH_INVALID",
        `Registry auth file '${escapeName(path)}' is larger than ${MAX_AUTH_FILE_BYTES} bytes`,
      );
    }
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    return undefined; // absent or unreadable: the next file
  }
  try {
    const json = JSON.parse(text);
    if (isObject(json)) return json;
  } catch { /* reported below */ }
  throw new ConfigError(
    "REGISTRY_AUTH_INVALID",
    `Registry auth file '${escapeName(path)}' is not a JSON object; fix or remove it`,
  );
}

function parseEntry(entry: Record<string, unknown>, where: string): Credentials | undefined {
  if (typeof entry.identitytoken === "string" && entry.identitytoken !== "") {
    return { kind: "refresh", token: entry.identitytoken, source: where };
  }
  if (typeof entry.username === "string" && typeof entry.password === "string") {
    return { kind: "basic", username: entry.username, password: entry.password, source: where };
  }
  if (typeof entry.auth === "string" && entry.auth !== "") {
    let decoded: string;
    try {
      const binary = atob(entry.auth);
      decoded = new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
    } catch {
      throw new ConfigError("REGISTRY_AUTH_INVALID", `${where}.auth is not base64`);
    }
    const colon = decoded.indexOf(":");
    if (colon < 0) {
      throw new ConfigError(
        "REGISTRY_AUTH_INVALID",
        `${where}.auth is not base64 of user:password`,
      );
    }
    return {
      kind: "basic",
      username: decoded.slice(0, colon),
      password: decoded.slice(colon + 1),
      source: where,
    };
  }
  return undefined;
}
