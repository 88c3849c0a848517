/**
 * `--watch`: file-system events under the model path (inotify on Linux, through `Deno.watchFs`).
 * Reads are not events, so the agent's own hashing does not trigger it. The agent loop debounces.
 *
 * Works on local and block storage; network file systems (NFS, CIFS, CephFS over FUSE) do not
 * report remote writes, which is why the interval keeps running beside it.
 *
 * @module
 */

/** A running watcher. */
export interface ModelWatcher {
  close(): void;
}

const RELEVANT = new Set<Deno.FsEvent["kind"]>(["any", "create", "modify", "remove", "rename"]);

/**
 * Watches `path` (a directory, recursively, or a single file).
 *
 * @param onChange called with the changed paths of each relevant event
 * @param onError called once if watching fails or stops unexpectedly
 * @throws when the path cannot be watched (caller falls back to the interval alone)
 */
export function watchModel(
  path: string,
  onChange: (paths: string[]) => void,
  onError: (error: unknown) => void,
): ModelWatcher {
  const watcher = Deno.watchFs(path, { recursive: true });
  let closed = false;
  (async () => {
    try {
      for await (const event of watcher) {
        if (RELEVANT.has(event.kind)) onChange(event.paths);
      }
    } catch (error) {
      if (!closed) onError(error);
    }
  })();
  return {
    close() {
      if (closed) return;
      closed = true;
      try {
        watcher.close();
      } catch {
        // already closed
      }
    },
  };
}
