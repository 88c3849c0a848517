/**
 * Cheap re-checks for continuous mode: remembers, for each file of the model that verified, its
 * identity (device, inode, size, modification and change time) and the digests of its resources.
 * A later round re-hashes only the files whose identity changed; every `N`th round re-hashes all.
 *
 * Why this is safe: any write to a file through the filesystem, any truncate, rename over it or
 * `chmod`/`utime` sets its change time (ctime) to the current time, and no system call lets user
 * space set ctime back (`utimes` sets atime and mtime only). So content cannot change without the
 * identity changing, as long as the change happened after the identity was recorded in a later
 * clock tick. Two guards make that so: the identity is taken before hashing and must be the same
 * after, and an entry whose mtime or ctime is less than {@link RACY_WINDOW_MS} old is not stored
 * at all (a write in the same timestamp tick could go unseen; git calls this "racy").
 *
 * What it does not cover: changes that bypass the filesystem (writing the block device, a
 * storage server or FUSE filesystem that does not update ctime, bit rot), clock changes by a
 * privileged process, and file systems that report no inode or ctime (then nothing is cached).
 * The periodic full re-hash bounds how long such a change can stay unseen. The cache lives in
 * memory only; a restarted process re-hashes everything.
 *
 * @module
 */

import type { HashAlgorithm } from "../manifest/engines.ts";
import type { HashJob } from "../manifest/hash_file.ts";
import type { DigestCache } from "../verify_model.ts";

/** What identifies a file's content for the cache. */
export interface FileIdentity {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
}

/** What one round did, for logs and traces. */
export interface CacheStats {
  /** Whether this round ignored the cache (full re-hash). */
  full: boolean;
  filesTotal: number;
  filesReused: number;
  filesHashed: number;
  bytesTotal: number;
  bytesHashed: number;
  /** Files hashed but not remembered because they changed too recently. */
  filesTooRecent: number;
}

/** Entries whose mtime or ctime is younger than this are not stored (see module doc). */
export const RACY_WINDOW_MS = 3_000;

/** Options of {@link IdentityCache}. */
export interface IdentityCacheOptions {
  /** Wall clock in ms since the epoch, compared with file times; default `Date.now`. */
  now?: () => number;
  /** Default {@link RACY_WINDOW_MS}. */
  racyWindowMs?: number;
}

interface Entry {
  identity: FileIdentity;
  /** `algorithm\0resourceName` -> hex digest. */
  digests: Map<string, string>;
}

/** The identity of a stat result, or undefined where the platform does not report one. */
export function identityOf(info: Deno.FileInfo): FileIdentity | undefined {
  const { dev, ino, mtime, ctime } = info;
  if (!info.isFile || !ino || ino === null || dev === null || !mtime || !ctime) return undefined;
  return { dev, ino, size: info.size, mtimeMs: mtime.getTime(), ctimeMs: ctime.getTime() };
}

/** Whether two identities are the same. */
export function sameIdentity(a: FileIdentity | undefined, b: FileIdentity | undefined): boolean {
  return a !== undefined && b !== undefined && a.dev === b.dev && a.ino === b.ino &&
    a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

/** Digests of verified files by path, valid while the file's identity is unchanged. */
export class IdentityCache {
  readonly #entries = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #racyWindowMs: number;

  constructor(options: IdentityCacheOptions = {}) {
    this.#now = options.now ?? Date.now;
    this.#racyWindowMs = options.racyWindowMs ?? RACY_WINDOW_MS;
  }

  /** Number of files remembered. */
  get size(): number {
    return this.#entries.size;
  }

  /** Forgets everything. */
  clear(): void {
    this.#entries.clear();
  }

  /**
   * A view for one verification, to pass as `VerifyDeps.digestCache`.
   *
   * @param full re-hash every file (the entries are refreshed, not used)
   */
  round(full: boolean): DigestCache & { readonly stats: CacheStats } {
    return new CacheRound(this, full);
  }

  /** @internal */
  _lookup(path: string): Entry | undefined {
    return this.#entries.get(path);
  }

  /** @internal */
  _store(path: string, entry: Entry): void {
    this.#entries.set(path, entry);
  }

  /** @internal */
  _keepOnly(paths: ReadonlySet<string>): void {
    for (const path of [...this.#entries.keys()]) if (!paths.has(path)) this.#entries.delete(path);
  }

  /** @internal Whether an identity is too fresh to be trusted later. */
  _tooRecent(identity: FileIdentity): boolean {
    return this.#now() - Math.max(identity.mtimeMs, identity.ctimeMs) < this.#racyWindowMs;
  }
}

class CacheRound implements DigestCache {
  readonly stats: CacheStats;
  readonly #cache: IdentityCache;
  readonly #before = new Map<string, FileIdentity | undefined>();
  readonly #seen = new Set<string>();

  constructor(cache: IdentityCache, full: boolean) {
    this.#cache = cache;
    this.stats = {
      full,
      filesTotal: 0,
      filesReused: 0,
      filesHashed: 0,
      bytesTotal: 0,
      bytesHashed: 0,
      filesTooRecent: 0,
    };
  }

  async partition(
    jobs: readonly HashJob[],
    algorithm: HashAlgorithm,
  ): Promise<{ known: Map<string, string>; toHash: HashJob[] }> {
    const known = new Map<string, string>();
    const toHash: HashJob[] = [];
    for (const [path, group] of groupByPath(jobs)) {
      this.#seen.add(path);
      const bytes = group.reduce((sum, job) => sum + job.end - job.start, 0);
      this.stats.filesTotal++;
      this.stats.bytesTotal += bytes;
      const identity = await statIdentity(path);
      const entry = this.#cache._lookup(path);
      const digests = !this.stats.full && entry && sameIdentity(entry.identity, identity)
        ? group.map((job) => entry.digests.get(key(algorithm, job.name)))
        : [];
      if (digests.length === group.length && digests.every((d) => d !== undefined)) {
        group.forEach((job, i) => known.set(job.name, digests[i]!));
        this.stats.filesReused++;
        continue;
      }
      this.#before.set(path, identity);
      toHash.push(...group);
      this.stats.filesHashed++;
      this.stats.bytesHashed += bytes;
    }
    return { known, toHash };
  }

  async remember(
    hashed: readonly HashJob[],
    digests: ReadonlyMap<string, string>,
    algorithm: HashAlgorithm,
  ): Promise<void> {
    for (const [path, group] of groupByPath(hashed)) {
      const before = this.#before.get(path);
      const after = await statIdentity(path);
      if (!sameIdentity(before, after)) continue;
      if (this.#cache._tooRecent(after!)) {
        this.stats.filesTooRecent++;
        continue;
      }
      const entry: Entry = { identity: after!, digests: new Map() };
      for (const job of group) {
        const digest = digests.get(job.name);
        if (digest !== undefined) entry.digests.set(key(algorithm, job.name), digest);
      }
      this.#cache._store(path, entry);
    }
    this.#cache._keepOnly(this.#seen);
  }
}

function key(algorithm: HashAlgorithm, name: string): string {
  return `${algorithm}\0${name}`;
}

function groupByPath(jobs: readonly HashJob[]): Map<string, HashJob[]> {
  const groups = new Map<string, HashJob[]>();
  for (const job of jobs) {
    const group = groups.get(job.path);
    if (group) group.push(job);
    else groups.set(job.path, [job]);
  }
  return groups;
}

async function statIdentity(path: string): Promise<FileIdentity | undefined> {
  try {
    return identityOf(await Deno.stat(path));
  } catch {
    return undefined;
  }
}
