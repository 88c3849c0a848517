/**
 * How many CPUs this process may use: the cores it can run on, capped by the cgroup CPU quota
 * when one is set (a pod's CPU limit), so the hashing pool does not start more workers than the
 * container is allowed to run.
 *
 * Two sources, the smaller wins:
 * - `navigator.hardwareConcurrency`: Rust's `available_parallelism`, which already applies the
 *   CPU affinity mask and the cgroup v1/v2 quota, rounded down (checked on this machine: 1 in a
 *   cgroup v1 with a 1-CPU quota, where `nproc` says 2). It needs no permission.
 * - the quota read here from `/proc/self/cgroup` and `/sys/fs/cgroup`, rounded up, walking up
 *   the hierarchy. Deno lets only `--allow-all` read `/proc` and `/sys`, so under the compiled
 *   binary's `--allow-read` these reads fail and are ignored; they count under `deno run -A`.
 *
 * @module
 */

/** Where {@link availableCpus} looks; injected by tests. */
export interface CpuCountDeps {
  /** Cores the process may run on; defaults to `navigator.hardwareConcurrency`. */
  cores?: number;
  /** Reads a text file, or rejects when it is absent; defaults to `Deno.readTextFile`. */
  readTextFile?: (path: string) => Promise<string>;
}

/** Mount point of the cgroup file systems. */
const CGROUP_ROOT = "/sys/fs/cgroup";

/**
 * The number of CPUs to use: the runtime's count (quota-aware), capped by the cgroup v2
 * `cpu.max` or v1 `cpu.cfs_quota_us`/`cpu.cfs_period_us` quota (rounded up) of this process's
 * cgroup or any cgroup above it when those files can be read. Never less than 1.
 */
export async function availableCpus(deps: CpuCountDeps = {}): Promise<number> {
  const cores = Math.max(1, Math.floor(deps.cores ?? navigator.hardwareConcurrency ?? 1));
  const read = deps.readTextFile ?? ((path: string) => Deno.readTextFile(path));
  const quota = await readCgroupQuota(read);
  return quota === undefined ? cores : Math.max(1, Math.min(cores, Math.ceil(quota)));
}

/**
 * The CPU quota in CPUs (1.5 for `150000 100000`) of cgroup v2 `cpu.max` content, or undefined
 * for `max` (no limit) or content it cannot read.
 */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === undefined || quota === "max") return undefined;
  return quotaInCpus(quota, period ?? "100000");
}

/**
 * The CPU quota in CPUs of cgroup v1 `cpu.cfs_quota_us` and `cpu.cfs_period_us` contents, or
 * undefined for `-1` (no limit) or content it cannot read.
 */
export function parseCfsQuota(quotaText: string, periodText: string): number | undefined {
  return quotaInCpus(quotaText.trim(), periodText.trim());
}

/**
 * The cgroup paths of this process from `/proc/self/cgroup`: the v2 path (`0::/a/b`) and the
 * path of the v1 hierarchy that has the `cpu` controller (`4:cpu,cpuacct:/a/b`).
 */
export function parseProcCgroup(text: string): { v2?: string; v1Cpu?: string } {
  const out: { v2?: string; v1Cpu?: string } = {};
  for (const line of text.split("\n")) {
    const match = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!match) continue;
    const [, id, controllers, path] = match as unknown as [string, string, string, string];
    if (id === "0" && controllers === "") out.v2 = path;
    else if (controllers.split(",").includes("cpu")) out.v1Cpu = path;
  }
  return out;
}

/** The smallest quota set on this process's cgroup or its ancestors, in CPUs. */
async function readCgroupQuota(
  read: (path: string) => Promise<string>,
): Promise<number | undefined> {
  const own = parseProcCgroup(await readOrEmpty(read, "/proc/self/cgroup"));
  const quotas: number[] = [];
  for (const dir of cgroupDirs(CGROUP_ROOT, own.v2)) {
    const quota = parseCpuMax(await readOrEmpty(read, `${dir}/cpu.max`));
    if (quota !== undefined) quotas.push(quota);
  }
  for (const mount of ["cpu", "cpu,cpuacct", "cpuacct,cpu"]) {
    for (const dir of cgroupDirs(`${CGROUP_ROOT}/${mount}`, own.v1Cpu)) {
      const quota = parseCfsQuota(
        await readOrEmpty(read, `${dir}/cpu.cfs_quota_us`),
        await readOrEmpty(read, `${dir}/cpu.cfs_period_us`),
      );
      if (quota !== undefined) quotas.push(quota);
    }
  }
  return quotas.length === 0 ? undefined : Math.min(...quotas);
}

/**
 * The directories of a cgroup and its ancestors under a mount: `/m/a/b`, `/m/a`, `/m`. Inside
 * a container with its own cgroup namespace the path is `/` and only the mount root is listed.
 */
function cgroupDirs(mount: string, path: string | undefined): string[] {
  const parts = (path ?? "").split("/").filter((p) => p !== "" && p !== "." && p !== "..");
  const dirs: string[] = [];
  for (let n = parts.length; n >= 0; n--) {
    dirs.push([mount, ...parts.slice(0, n)].join("/"));
  }
  return dirs;
}

function quotaInCpus(quota: string, period: string): number | undefined {
  if (!/^\d+$/.test(quota) || !/^\d+$/.test(period)) return undefined;
  const q = Number(quota);
  const p = Number(period);
  return q > 0 && p > 0 ? q / p : undefined;
}

async function readOrEmpty(read: (path: string) => Promise<string>, path: string): Promise<string> {
  try {
    return await read(path);
  } catch {
    return "";
  }
}
