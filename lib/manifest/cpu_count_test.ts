import { assertEquals } from "../../tests/_assert.ts";
import { availableCpus, parseCfsQuota, parseCpuMax, parseProcCgroup } from "./cpu_count.ts";

/** A fake file system: path -> content; anything else is absent. */
function files(content: Record<string, string>): (path: string) => Promise<string> {
  return (path) => {
    const text = content[path];
    return text === undefined
      ? Promise.reject(new Deno.errors.NotFound(path))
      : Promise.resolve(text);
  };
}

Deno.test("parseCpuMax() reads cgroup v2 cpu.max", async (t) => {
  const rows = [
    ["max 100000\n", undefined],
    ["200000 100000\n", 2],
    ["150000 100000", 1.5],
    ["50000 100000", 0.5],
    ["100000", 1],
    ["", undefined],
    ["garbage 100000", undefined],
    ["0 100000", undefined],
  ] as const;
  for (const [text, expected] of rows) {
    await t.step(JSON.stringify(text), () => assertEquals(parseCpuMax(text), expected));
  }
});

Deno.test("parseCfsQuota() reads cgroup v1 quota and period", async (t) => {
  const rows = [
    ["-1\n", "100000\n", undefined],
    ["300000\n", "100000\n", 3],
    ["25000", "50000", 0.5],
    ["", "", undefined],
    ["100000", "0", undefined],
  ] as const;
  for (const [quota, period, expected] of rows) {
    await t.step(`${JSON.stringify(quota)} / ${JSON.stringify(period)}`, () => {
      assertEquals(parseCfsQuota(quota, period), expected);
    });
  }
});

Deno.test("parseProcCgroup() finds the v2 path and the v1 cpu hierarchy", () => {
  assertEquals(parseProcCgroup("0::/kubepods/pod1/c1\n"), { v2: "/kubepods/pod1/c1" });
  assertEquals(
    parseProcCgroup("5:memory:/m\n4:cpu,cpuacct:/kubepods/c2\n1:name=systemd:/s\n0::/\n"),
    { v1Cpu: "/kubepods/c2", v2: "/" },
  );
  assertEquals(parseProcCgroup(""), {});
});

Deno.test("availableCpus() uses every core when no quota is set", async () => {
  const read = files({
    "/proc/self/cgroup": "0::/\n",
    "/sys/fs/cgroup/cpu.max": "max 100000\n",
  });
  assertEquals(await availableCpus({ cores: 8, readTextFile: read }), 8);
  assertEquals(await availableCpus({ cores: 4, readTextFile: files({}) }), 4);
});

Deno.test("availableCpus() caps at a cgroup v2 quota, rounded up", async () => {
  const read = (quota: string) =>
    files({ "/proc/self/cgroup": "0::/\n", "/sys/fs/cgroup/cpu.max": quota });
  assertEquals(await availableCpus({ cores: 8, readTextFile: read("200000 100000") }), 2);
  assertEquals(await availableCpus({ cores: 8, readTextFile: read("150000 100000") }), 2);
  assertEquals(await availableCpus({ cores: 8, readTextFile: read("50000 100000") }), 1);
  assertEquals(await availableCpus({ cores: 2, readTextFile: read("800000 100000") }), 2);
});

Deno.test("availableCpus() takes the tightest quota of the cgroup and its parents", async () => {
  const read = files({
    "/proc/self/cgroup": "0::/kubepods/pod1/c1\n",
    "/sys/fs/cgroup/kubepods/pod1/c1/cpu.max": "max 100000\n",
    "/sys/fs/cgroup/kubepods/pod1/cpu.max": "300000 100000\n",
    "/sys/fs/cgroup/kubepods/cpu.max": "600000 100000\n",
  });
  assertEquals(await availableCpus({ cores: 16, readTextFile: read }), 3);
});

Deno.test("availableCpus() reads a cgroup v1 quota (cpu,cpuacct mount)", async () => {
  const read = files({
    "/proc/self/cgroup": "4:cpu,cpuacct:/docker/abc\n",
    "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us": "400000\n",
    "/sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us": "100000\n",
  });
  assertEquals(await availableCpus({ cores: 16, readTextFile: read }), 4);
  const unlimited = files({
    "/proc/self/cgroup": "1:cpu:/\n",
    "/sys/fs/cgroup/cpu/cpu.cfs_quota_us": "-1\n",
    "/sys/fs/cgroup/cpu/cpu.cfs_period_us": "100000\n",
  });
  assertEquals(await availableCpus({ cores: 16, readTextFile: unlimited }), 16);
});

Deno.test("availableCpus() on this machine is at least 1 and at most the core count", async () => {
  const cpus = await availableCpus();
  assertEquals(cpus >= 1 && cpus <= navigator.hardwareConcurrency, true);
});
