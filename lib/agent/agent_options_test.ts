import { assertEquals, assertFailsWith, assertStringIncludes } from "../../tests/_assert.ts";
import { ConfigError } from "../errors.ts";
import {
  DEFAULT_FULL_REHASH_EVERY,
  DEFAULT_HEALTH_PORT,
  parseDuration,
  splitAgentArgs,
} from "./agent_options.ts";

Deno.test("parseDuration() reads Go durations", async (t) => {
  const cases = [
    ["0", 0],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["1h30m", 5_400_000],
    ["1.5h", 5_400_000],
    ["90s", 90_000],
    ["2m30s500ms", 150_500],
    ["+10m", 600_000],
  ] as const;
  for (const [text, ms] of cases) {
    await t.step(text, () => assertEquals(parseDuration(text, "--interval"), ms));
  }
});

Deno.test("parseDuration() rejects what Go rejects", async (t) => {
  for (const text of ["", "5", "m", "-5m", "5 m", "5d", "1h-2m", "abc"]) {
    await t.step(JSON.stringify(text), async () => {
      const error = await assertFailsWith(
        () => parseDuration(text, "--interval"),
        ConfigError,
        "INVALID_VALUE",
      );
      assertStringIncludes(error.message, "--interval");
    });
  }
});

Deno.test("splitAgentArgs() takes the agent flags off the front, in Go flag syntax", async (t) => {
  const tail = ["verify", "key", "--public_key", "k.pem", "/data"];
  const cases: [string[], Partial<ReturnType<typeof splitAgentArgs>["options"]>][] = [
    [[], { intervalMs: 0, explicit: false }],
    [["--interval=5m"], { intervalMs: 300_000, explicit: true }],
    [["--interval", "1h"], { intervalMs: 3_600_000 }],
    [["-interval=10m", "-skip-initial"], { intervalMs: 600_000, skipInitial: true }],
    [["--interval=5m", "--skip-initial=false"], { skipInitial: false }],
    [["--interval=15m", "--skip-initial", "--watch"], { skipInitial: true, watch: true }],
    [["--interval=5m", "--health-port=9090", "--sticky-ready"], {
      healthPort: 9090,
      stickyReady: true,
    }],
    [["--interval=5m", "--full-rehash-every", "3"], { fullRehashEvery: 3 }],
    [["--interval=5m", "--full_rehash_every=1"], { fullRehashEvery: 1 }],
    [["--interval=0"], { intervalMs: 0, explicit: true }],
  ];
  for (const [head, expected] of cases) {
    await t.step(head.join(" ") || "(none)", () => {
      const { options, rest } = splitAgentArgs([...head, ...tail], {});
      assertEquals(rest, tail);
      for (const [key, value] of Object.entries(expected)) {
        assertEquals(options[key as keyof typeof options], value, key);
      }
    });
  }
});

Deno.test("splitAgentArgs() has defaults and reads MODEL_SIGNING_* twins; flags win", () => {
  const plain = splitAgentArgs(["verify"], {}).options;
  assertEquals(plain, {
    intervalMs: 0,
    healthPort: DEFAULT_HEALTH_PORT,
    skipInitial: false,
    watch: false,
    stickyReady: false,
    fullRehashEvery: DEFAULT_FULL_REHASH_EVERY,
    explicit: false,
  });
  const env = {
    MODEL_SIGNING_INTERVAL: "10m",
    MODEL_SIGNING_WATCH: "true",
    MODEL_SIGNING_HEALTH_PORT: "9000",
  };
  const fromEnv = splitAgentArgs(["verify"], env).options;
  assertEquals([fromEnv.intervalMs, fromEnv.watch, fromEnv.healthPort], [600_000, true, 9000]);
  assertEquals(fromEnv.explicit, false);
  const flagWins = splitAgentArgs(["--interval=1h", "verify"], env).options;
  assertEquals(flagWins.intervalMs, 3_600_000);
});

Deno.test("splitAgentArgs() stops at the first argument that is not an agent flag", () => {
  const argv = ["--interval=5m", "--signature", "s", "--watch", "verify"];
  const { options, rest } = splitAgentArgs(argv, {});
  assertEquals(options.watch, false);
  assertEquals(rest, ["--signature", "s", "--watch", "verify"]);
  assertEquals(splitAgentArgs(["--interval=5m", "--", "verify"], {}).rest, ["verify"]);
});

Deno.test("splitAgentArgs() rejects bad values and continuous flags without an interval", async (t) => {
  const cases: [string[], Record<string, string>, string, string][] = [
    [["--interval=30s"], {}, "INVALID_VALUE", "--interval"],
    [["--interval=5"], {}, "INVALID_VALUE", "--interval"],
    [[], { MODEL_SIGNING_INTERVAL: "soon" }, "INVALID_VALUE", "MODEL_SIGNING_INTERVAL"],
    [["--interval=5m", "--health-port=70000"], {}, "INVALID_VALUE", "--health-port"],
    [["--interval=5m", "--health-port=http"], {}, "INVALID_VALUE", "--health-port"],
    [["--interval=5m", "--full-rehash-every=0"], {}, "INVALID_VALUE", "--full-rehash-every"],
    [["--interval=5m", "--skip-initial=maybe"], {}, "INVALID_BOOLEAN", "--skip-initial"],
    [["--skip-initial"], {}, "AGENT_NEEDS_INTERVAL", "--skip-initial"],
    [["--interval=0", "--watch"], {}, "AGENT_NEEDS_INTERVAL", "--watch"],
    [[], { MODEL_SIGNING_STICKY_READY: "1" }, "AGENT_NEEDS_INTERVAL", "MODEL_SIGNING_STICKY_READY"],
  ];
  for (const [head, env, code, named] of cases) {
    await t.step(`${head.join(" ")} ${JSON.stringify(env)}`, async () => {
      const error = await assertFailsWith(
        () => splitAgentArgs([...head, "verify"], env),
        ConfigError,
        code,
      );
      assertStringIncludes(error.message, named);
      assertEquals(error.exitCode, 2);
    });
  }
  await t.step("--interval at the end", async () => {
    await assertFailsWith(() => splitAgentArgs(["--interval"], {}), ConfigError, "MISSING_VALUE");
  });
});
