import { assert, assertEquals, assertStringIncludes } from "../../tests/_assert.ts";
import { OPTIONS } from "../config/options.ts";
import { helpText } from "./help.ts";

function flags(text: string): string[] {
  return [...text.matchAll(/^ {2}--([a-z-]+)/gm)].map((m) => m[1]!);
}

Deno.test("helpText() for a command lists only that command's options, with env twins", async (t) => {
  const cases: [string[], string[], string[]][] = [
    [["verify", "key"], ["public-key", "signature", "ignore-paths", "log-format"], [
      "identity",
      "private-key",
      "certificate-chain",
      "interval",
    ]],
    [["verify", "sigstore"], ["identity", "identity-provider", "trust-config", "offline"], [
      "public-key",
    ]],
    [["verify", "certificate"], ["certificate-chain", "log-fingerprints"], ["identity"]],
    [["verify"], ["public-key", "identity", "certificate-chain"], ["private-key", "hash-type"]],
    [["sign", "key"], ["private-key", "hash-type", "shard-size"], [
      "public-key",
      "signing-certificate",
      "ignore-unsigned-files",
    ]],
    [["sign", "certificate"], ["signing-certificate", "certificate-chain"], ["public-key"]],
    [["sign"], ["private-key", "signing-certificate"], ["public-key"]],
    [["digest"], ["ignore-paths", "max-workers", "log-format"], [
      "signature",
      "public-key",
      "private-key",
    ]],
  ];
  for (const [topic, present, absent] of cases) {
    await t.step(topic.join(" "), () => {
      const text = helpText(topic);
      const listed = flags(text);
      for (const name of present) assert(listed.includes(name), `${name} missing:\n${text}`);
      for (const name of absent) assert(!listed.includes(name), `${name} listed:\n${text}`);
      for (const name of listed) {
        const env = OPTIONS.find((o) => o.name === name)!.env;
        if (env) assertStringIncludes(text, `--${name}`, env);
        if (env) assertStringIncludes(text, env);
      }
      assertStringIncludes(text, `model-verify ${topic.join(" ")}`);
      assert(/^Examples?:$/m.test(text), `no example:\n${text}`);
    });
  }
});

Deno.test("helpText() for verify marks the options of one method only", () => {
  const text = helpText(["verify"]);
  assertStringIncludes(text, "Public key (PEM or JWK) of the key method. (key only)");
  assertStringIncludes(text, "MODEL_SIGNING_METHOD");
});

Deno.test("helpText() for verify-bundle lists the options it accepts", () => {
  const text = helpText(["verify-bundle"]);
  assertEquals(flags(text), [
    "bundle",
    "certificate-identity",
    "certificate-oidc-issuer",
    "key",
    "trusted-root",
    "staging",
  ]);
  assertStringIncludes(text, "Example:");
});

Deno.test("helpText() without a topic lists every option", () => {
  const text = helpText();
  for (const option of OPTIONS) assertStringIncludes(text, `--${option.name}`);
});
