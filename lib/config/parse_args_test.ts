import { assertEquals, assertFailsWith, assertStringIncludes } from "../../tests/_assert.ts";
import { ConfigError } from "../errors.ts";
import { commandOf, parseArgs } from "./parse_args.ts";
import { resolveVerifyConfig } from "./resolve_config.ts";

Deno.test("parseArgs() suggests the nearest known option for an unknown one", async (t) => {
  const cases: [string[], string][] = [
    [["verify", "key", "--publickey", "k", "m"], "did you mean --public-key?"],
    [["verify", "key", "--public-kye=k", "m"], "did you mean --public-key?"],
    [["verify", "--identity_providr", "x", "m"], "did you mean --identity-provider?"],
    [["verify", "key", "--no-ignore-git-path", "m"], "did you mean --no-ignore-git-paths?"],
    [["digest", "-quiet", "m"], "did you mean --quiet?"],
  ];
  for (const [argv, hint] of cases) {
    await t.step(argv.join(" "), async () => {
      const error = await assertFailsWith(() => parseArgs(argv), ConfigError, "UNKNOWN_OPTION");
      assertStringIncludes(error.message, hint);
    });
  }
  await t.step("no suggestion when nothing is close", async () => {
    const error = await assertFailsWith(
      () => parseArgs(["verify", "key", "--frobnicate", "m"]),
      ConfigError,
      "UNKNOWN_OPTION",
    );
    assertEquals(error.message, "No such option: --frobnicate (see verify key --help)");
  });
});

Deno.test("parseArgs() says a misspelled method word is one, not a second MODEL_PATH", async (t) => {
  const cases: [string[], string][] = [
    [["verify", "keys", "--public-key", "k", "m"], "did you mean 'verify key'?"],
    [["verify", "sigstor", "m"], "did you mean 'verify sigstore'?"],
    [["verify", "certficate", "m"], "did you mean 'verify certificate'?"],
    [["sign", "kye", "--private-key", "k", "m"], "did you mean 'sign key'?"],
  ];
  for (const [argv, hint] of cases) {
    await t.step(argv.join(" "), async () => {
      const error = await assertFailsWith(() => parseArgs(argv), ConfigError, "UNKNOWN_METHOD");
      assertStringIncludes(error.message, hint);
    });
  }
  await t.step("one model path that looks like a method word is still a model path", () => {
    assertEquals(parseArgs(["verify", "keys"]).positionals, ["keys"]);
  });
});

Deno.test("parseArgs() asks for help on the command it was given", async (t) => {
  const cases: [string[], string[]][] = [
    [["--help"], []],
    [["verify", "--help"], ["verify"]],
    [["verify", "key", "--help"], ["verify", "key"]],
    [["verify", "--help", "key"], ["verify", "key"]],
    [["sign", "certificate", "-h"], ["sign", "certificate"]],
    [["digest", "--quiet", "--help"], ["digest"]],
    [["verify", "key", "--bogus", "--help"], ["verify", "key"]],
    [["verify-bundle", "--help"], ["verify-bundle"]],
    [["--help", "sign"], ["sign"]],
  ];
  for (const [argv, topic] of cases) {
    await t.step(argv.join(" "), () => {
      const args = parseArgs(argv);
      assertEquals(args.command, "help");
      assertEquals(args.helpTopic, topic);
    });
  }
});

Deno.test("commandOf() finds the command past options and their values", () => {
  assertEquals(commandOf(["sign", "key", "--identity_token", "x"]), "sign");
  assertEquals(commandOf(["--log-level", "debug", "digest", "--bogus"]), "digest");
  assertEquals(commandOf(["--quiet", "sign"]), "sign");
  assertEquals(commandOf(["--bogus"]), "verify");
  assertEquals(commandOf([]), "verify");
});

Deno.test("messages spell options with dashes, as --help does", async (t) => {
  const cwd = "/w";
  const cases: [string[], string, string][] = [
    [["verify", "key", "m"], "--public-key", "MISSING_OPTION"],
    [["verify", "--identity", "x", "m"], "--identity-provider", "MISSING_OPTION"],
    [
      ["verify", "--identity=a", "--identity_provider=b", "--use_staging", "--offline", "m"],
      "--use-staging",
      "CONFLICTING_OPTIONS",
    ],
    [
      ["verify", "key", "--public_key", "k", "--use_staging", "m"],
      "--use-staging",
      "OPTION_NOT_APPLICABLE",
    ],
  ];
  for (const [argv, flag, code] of cases) {
    await t.step(argv.join(" "), async () => {
      const error = await assertFailsWith(
        () => resolveVerifyConfig(parseArgs(argv), { env: {}, cwd }),
        ConfigError,
        code,
      );
      assertStringIncludes(error.message, flag);
      assertEquals(/--[a-z]+_[a-z]/.test(error.message), false, error.message);
    });
  }
});
