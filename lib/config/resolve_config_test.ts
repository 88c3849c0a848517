import { assertEquals, assertFailsWith, assertStringIncludes } from "../../tests/_assert.ts";
import { ConfigError } from "../errors.ts";
import { OPTIONS } from "./options.ts";
import { parseArgs, parseBoolean } from "./parse_args.ts";
import { resolveDigestConfig, resolveSignConfig, resolveVerifyConfig } from "./resolve_config.ts";

const CWD = "/work/here";

function verify(argv: string[], env: Record<string, string> = {}) {
  return resolveVerifyConfig(parseArgs(argv), { env, cwd: CWD });
}

Deno.test("parseArgs() reads the model_signing verify grammar with underscores and '='", () => {
  const args = parseArgs([
    "verify",
    "key",
    "--signature=sig.json",
    "--public_key",
    "k.pem",
    "--ignore-paths",
    "a",
    "--ignore_paths=b",
    "--no-ignore-git-paths",
    "--allow_symlinks",
    "model",
  ]);
  assertEquals(args.command, "verify");
  assertEquals(args.method, "key");
  assertEquals(args.values.get("signature"), "sig.json");
  assertEquals(args.values.get("public-key"), "k.pem");
  assertEquals(args.values.get("ignore-paths"), ["a", "b"]);
  assertEquals(args.values.get("ignore-git-paths"), false);
  assertEquals(args.values.get("allow-symlinks"), true);
  assertEquals(args.positionals, ["model"]);
});

Deno.test("parseArgs() treats 'verify MODEL' as the default sigstore method, as upstream", () => {
  const config = verify([
    "verify",
    "--identity",
    "a@b.c",
    "--identity_provider",
    "https://issuer",
    "model",
  ]);
  assertEquals(config.method, "sigstore");
  assertEquals(config.modelPath, "/work/here/model");
  assertEquals(config.signaturePath, "/work/here/model/model.sig");
});

Deno.test("parseArgs() accepts options before the command word (--log-level is global upstream)", () => {
  const config = verify(["--log-level", "debug", "verify", "key", "--public_key", "k", "m"]);
  assertEquals(config.logLevel, "DEBUG");
});

Deno.test("parseArgs() rejects unknown options, missing values and unknown commands", async (t) => {
  const cases: [string[], string][] = [
    [["verify", "key", "--bogus", "m"], "UNKNOWN_OPTION"],
    [["verify", "key", "-x", "m"], "UNKNOWN_OPTION"],
    [["verify", "key", "--public_key"], "MISSING_VALUE"],
    [["verify", "key", "--public_key", "--signature", "s", "m"], "MISSING_VALUE"],
    [["frobnicate"], "UNKNOWN_COMMAND"],
    [["verify", "key", "--no-signature", "m"], "UNKNOWN_OPTION"],
    [["verify", "key", "--no-allow-symlinks=true", "m"], "INVALID_VALUE"],
  ];
  for (const [argv, code] of cases) {
    await t.step(argv.join(" "), async () => {
      await assertFailsWith(() => parseArgs(argv), ConfigError, code);
    });
  }
});

Deno.test("resolveVerifyConfig() ignores --trust_config for key and certificate, with a warning", () => {
  // The operator passes it whenever the ModelValidation has a clientTrustConfig.
  for (
    const [method, material] of [["key", "--public_key"], ["certificate", "--certificate_chain"]]
  ) {
    const config = resolveVerifyConfig(
      parseArgs(["verify", method!, material!, "k", "--trust_config", "t.json", "m"]),
      { env: {}, cwd: "/" },
    );
    assertEquals(config.method, method);
    assertEquals(config.trustConfigPath, undefined);
    // Its timestamp authorities check RFC 3161 timestamps when the bundle has any.
    assertEquals(config.timestampTrustConfigPath, "/t.json");
    assertEquals(config.configWarnings?.length, 1);
    assertStringIncludes(config.configWarnings![0]!, `ignored for 'verify ${method}'`);
  }
  const sigstore = resolveVerifyConfig(
    parseArgs([
      "verify",
      "--identity",
      "i",
      "--identity_provider",
      "p",
      "--trust_config",
      "t",
      "m",
    ]),
    { env: {}, cwd: "/" },
  );
  assertEquals([sigstore.trustConfigPath, sigstore.configWarnings], ["/t", undefined]);
});

Deno.test("resolveVerifyConfig() rejects options the method does not take", async () => {
  const error = await assertFailsWith(
    () => verify(["verify", "key", "--public_key", "k", "--identity", "x", "m"]),
    ConfigError,
    "OPTION_NOT_APPLICABLE",
  );
  assertStringIncludes(error.message, "--identity");
});

Deno.test("resolveVerifyConfig() names the flag and the env variable of a missing option", async (t) => {
  const cases: [string[], string, string][] = [
    [["verify", "key", "m"], "--public-key", "MODEL_SIGNING_PUBLIC_KEY"],
    [["verify", "certificate", "m"], "--certificate-chain", "MODEL_SIGNING_CERTIFICATE_CHAIN"],
    [["verify", "sigstore", "m"], "--identity", "MODEL_SIGNING_IDENTITY"],
    [
      ["verify", "sigstore", "--identity", "x", "m"],
      "--identity-provider",
      "MODEL_SIGNING_IDENTITY_PROVIDER",
    ],
  ];
  for (const [argv, flag, env] of cases) {
    await t.step(argv.join(" "), async () => {
      const error = await assertFailsWith(() => verify(argv), ConfigError, "MISSING_OPTION");
      assertStringIncludes(error.message, flag);
      assertStringIncludes(error.message, env);
    });
  }
});

Deno.test("resolveVerifyConfig() reads every option from its MODEL_SIGNING_* twin", () => {
  const config = verify([], {
    MODEL_SIGNING_METHOD: "certificate",
    MODEL_SIGNING_MODEL_PATH: "models/bert",
    MODEL_SIGNING_SIGNATURE: "/sigs/bert.sig",
    MODEL_SIGNING_CERTIFICATE_CHAIN: "ca1.pem, ca2.pem",
    MODEL_SIGNING_IGNORE_PATHS: "a,b/c",
    MODEL_SIGNING_IGNORE_GIT_PATHS: "no",
    MODEL_SIGNING_IGNORE_UNSIGNED_FILES: "YES",
    MODEL_SIGNING_ALLOW_SYMLINKS: "1",
    MODEL_SIGNING_LOG_FINGERPRINTS: "true",
    MODEL_SIGNING_MAX_WORKERS: "3",
    MODEL_SIGNING_LOG_LEVEL: "warning",
    MODEL_SIGNING_LOG_FORMAT: "json",
    MODEL_SIGNING_QUIET: "0",
  });
  assertEquals(config.method, "certificate");
  assertEquals(config.modelPath, "/work/here/models/bert");
  assertEquals(config.signaturePath, "/sigs/bert.sig");
  assertEquals(config.certificateChainPaths, ["/work/here/ca1.pem", "/work/here/ca2.pem"]);
  // Entries stay as given: relative ones are relative to the model (lib/tree/ignore.ts).
  assertEquals(config.ignorePaths, ["a", "b/c"]);
  assertEquals(config.cwd, "/work/here");
  assertEquals(config.ignoreGitPaths, false);
  assertEquals(config.ignoreUnsignedFiles, true);
  assertEquals(config.allowSymlinks, true);
  assertEquals(config.logFingerprints, true);
  assertEquals(config.maxWorkers, 3);
  assertEquals(config.logLevel, "WARNING");
  assertEquals(config.logFormat, "json");
  assertEquals(config.quiet, false);
});

Deno.test("resolveVerifyConfig() reads the sigstore options from env", () => {
  const config = verify([], {
    MODEL_SIGNING_IDENTITY: "alice@example.com",
    MODEL_SIGNING_IDENTITY_PROVIDER: "https://accounts.example.com",
    MODEL_SIGNING_OFFLINE: "true",
    MODEL_SIGNING_TUF_CACHE: "/.sigstore",
  });
  assertEquals(config.method, "sigstore");
  assertEquals(config.identity, "alice@example.com");
  assertEquals(config.identityProvider, "https://accounts.example.com");
  assertEquals(config.offline, true);
  assertEquals(config.tufCacheDir, "/.sigstore");
  assertEquals(config.modelPath, "/data");
  assertEquals(config.signaturePath, "/data/model.sig");
});

Deno.test("resolveVerifyConfig() lets flags win over env", () => {
  const config = verify(
    ["verify", "key", "--public_key", "flag.pem", "--no-ignore-git-paths", "m"],
    {
      MODEL_SIGNING_METHOD: "certificate",
      MODEL_SIGNING_PUBLIC_KEY: "env.pem",
      MODEL_SIGNING_IGNORE_GIT_PATHS: "true",
      MODEL_SIGNING_MODEL_PATH: "/env/model",
    },
  );
  assertEquals(config.method, "key");
  assertEquals(config.publicKeyPath, "/work/here/flag.pem");
  assertEquals(config.ignoreGitPaths, false);
  assertEquals(config.modelPath, "/work/here/m");
});

Deno.test("resolveVerifyConfig() infers the method from the material when none is named", () => {
  assertEquals(verify([], { MODEL_SIGNING_PUBLIC_KEY: "k.pem" }).method, "key");
  assertEquals(verify([], { MODEL_SIGNING_CERTIFICATE_CHAIN: "ca.pem" }).method, "certificate");
});

Deno.test("resolveVerifyConfig() treats empty env values as unset", () => {
  const config = verify(["verify", "key", "--public_key", "k", "m"], {
    MODEL_SIGNING_IGNORE_GIT_PATHS: "",
    MODEL_SIGNING_SIGNATURE: " ",
  });
  assertEquals(config.ignoreGitPaths, true);
  assertEquals(config.signaturePath, "/work/here/m/model.sig");
});

Deno.test("resolveVerifyConfig() rejects invalid values naming the variable", async (t) => {
  const cases: [Record<string, string>, string, string][] = [
    [{ MODEL_SIGNING_ALLOW_SYMLINKS: "maybe" }, "INVALID_BOOLEAN", "MODEL_SIGNING_ALLOW_SYMLINKS"],
    [{ MODEL_SIGNING_IGNORE_GIT_PATHS: "2" }, "INVALID_BOOLEAN", "MODEL_SIGNING_IGNORE_GIT_PATHS"],
    [{ MODEL_SIGNING_METHOD: "pgp" }, "INVALID_VALUE", "MODEL_SIGNING_METHOD"],
    [{ MODEL_SIGNING_MAX_WORKERS: "0" }, "INVALID_VALUE", "MODEL_SIGNING_MAX_WORKERS"],
    [{ MODEL_SIGNING_MAX_WORKERS: "2.5" }, "INVALID_VALUE", "MODEL_SIGNING_MAX_WORKERS"],
    [{ MODEL_SIGNING_LOG_LEVEL: "LOUD" }, "INVALID_VALUE", "MODEL_SIGNING_LOG_LEVEL"],
    [{ MODEL_SIGNING_LOG_FORMAT: "xml" }, "INVALID_VALUE", "MODEL_SIGNING_LOG_FORMAT"],
  ];
  for (const [env, code, name] of cases) {
    await t.step(`${Object.entries(env)[0]!.join("=")}`, async () => {
      const error = await assertFailsWith(
        () => verify([], { MODEL_SIGNING_PUBLIC_KEY: "k", ...env }),
        ConfigError,
        code,
      );
      assertStringIncludes(error.message, name);
    });
  }
});

Deno.test("resolveVerifyConfig() rejects two trusted-root choices at once", async () => {
  await assertFailsWith(
    () =>
      verify([
        "verify",
        "sigstore",
        "--identity",
        "a",
        "--identity_provider",
        "b",
        "--offline",
        "--use_staging",
        "m",
      ]),
    ConfigError,
    "CONFLICTING_OPTIONS",
  );
});

Deno.test("resolveVerifyConfig() rejects two model paths", async () => {
  await assertFailsWith(
    () => verify(["verify", "key", "--public_key", "k", "m1", "m2"]),
    ConfigError,
    "TOO_MANY_ARGUMENTS",
  );
});

Deno.test("parseBoolean() accepts true/false/1/0/yes/no in any case and nothing else", () => {
  for (const v of ["true", "TRUE", "1", "yes", "Yes", "on"]) {
    assertEquals(parseBoolean(v, "X"), true);
  }
  for (const v of ["false", "False", "0", "no", "NO", "off"]) {
    assertEquals(parseBoolean(v, "X"), false);
  }
});

Deno.test("resolveDigestConfig() and resolveSignConfig() take their own options only", async () => {
  const digest = resolveDigestConfig(parseArgs(["digest", "--ignore-paths", "x", "m"]), {
    env: {},
    cwd: CWD,
  });
  assertEquals(digest.ignorePaths, ["x"]);
  await assertFailsWith(
    () =>
      resolveDigestConfig(parseArgs(["digest", "--public_key", "k", "m"]), { env: {}, cwd: CWD }),
    ConfigError,
    "OPTION_NOT_APPLICABLE",
  );
  const sign = resolveSignConfig(
    parseArgs([
      "sign",
      "key",
      "--private_key",
      "k.pem",
      "--hash-type",
      "blake3",
      "--shard-size",
      "8",
      "m",
    ]),
    { env: {}, cwd: CWD },
  );
  assertEquals([sign.hashType, sign.shardSize, sign.privateKeyPath], [
    "blake3",
    8,
    "/work/here/k.pem",
  ]);
  await assertFailsWith(
    () => resolveSignConfig(parseArgs(["sign", "m"]), { env: {}, cwd: CWD }),
    ConfigError,
    "UNKNOWN_METHOD",
  );
});

Deno.test("every option with an env twin follows the MODEL_SIGNING_<FLAG> naming rule", () => {
  for (const option of OPTIONS.filter((o) => o.env)) {
    assertEquals(option.env, "MODEL_SIGNING_" + option.name.toUpperCase().replaceAll("-", "_"));
  }
});

Deno.test("README documents every environment variable and flag", async () => {
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  for (const option of OPTIONS) {
    if (option.env) assertStringIncludes(readme, option.env);
    assertStringIncludes(readme, `--${option.name}`);
  }
  assertStringIncludes(readme, "MODEL_SIGNING_METHOD");
  assertStringIncludes(readme, "MODEL_SIGNING_MODEL_PATH");
});

Deno.test("resolve*Config() refuses --ignore-paths globs and '..' as usage errors", async () => {
  for (const entry of ["*.md", "weights?.bin", "[a]", "../x", "a/../b"]) {
    for (
      const argv of [["digest", "--ignore-paths", entry, "m"], [
        "verify",
        "key",
        "--public_key",
        "k",
        "--ignore-paths",
        entry,
        "m",
      ]]
    ) {
      await assertFailsWith(
        () => {
          const args = parseArgs(argv);
          return argv[0] === "digest"
            ? resolveDigestConfig(args, { env: {}, cwd: CWD })
            : resolveVerifyConfig(args, { env: {}, cwd: CWD });
        },
        ConfigError,
        "IGNORE_PATH_INVALID",
      );
    }
  }
});

Deno.test("OCI options: --pull and --attach need an oci:// model, --oci-manifest a local one", async () => {
  const oci = verify(["verify", "key", "--public_key", "k", "--pull", "out", "oci://h:5000/r:v1"]);
  assertEquals(oci.modelPath, "oci://h:5000/r:v1");
  assertEquals(oci.registry, { insecure: false, timeoutMs: 30_000, pullDir: "/work/here/out" });
  assertEquals(oci.signaturePath, "");
  await assertFailsWith(
    () => verify(["verify", "key", "--public_key", "k", "--pull", "out", "model"]),
    ConfigError,
    "OCI_OPTION_NEEDS_REFERENCE",
  );
  await assertFailsWith(
    () =>
      verify(["verify", "key", "--public_key", "k", "--oci-manifest", "m.json", "oci://h/r:v1"]),
    ConfigError,
    "CONFLICTING_OPTIONS",
  );
  await assertFailsWith(
    () =>
      resolveSignConfig(parseArgs(["sign", "key", "--private_key", "k", "oci://h/r:v1"]), {
        env: {},
        cwd: CWD,
      }),
    ConfigError,
    "MISSING_OPTION",
  );
});
