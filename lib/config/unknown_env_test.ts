import { assertEquals } from "../../tests/_assert.ts";
import { OPTIONS } from "./options.ts";
import { findUnknownEnv, formatUnknownEnv, knownEnvNames } from "./unknown_env.ts";

Deno.test("findUnknownEnv() names unknown MODEL_SIGNING_* variables and the nearest known one", () => {
  const unknown = findUnknownEnv({
    MODEL_SIGNING_PUBLICKEY: "k.pem",
    MODEL_SIGNING_PUBLIC_KEY: "k.pem",
    MODEL_SIGNING_FROBNICATE: "1",
    MODEL_SIGNING_IDENTITY_PROVIDR: "x",
    HOME: "/root",
    MODEL_SIGNING_TERMINATION_LOG: "/tmp/t",
  });
  assertEquals(unknown, [
    { name: "MODEL_SIGNING_FROBNICATE" },
    { name: "MODEL_SIGNING_IDENTITY_PROVIDR", nearest: "MODEL_SIGNING_IDENTITY_PROVIDER" },
    { name: "MODEL_SIGNING_PUBLICKEY", nearest: "MODEL_SIGNING_PUBLIC_KEY" },
  ]);
  assertEquals(
    formatUnknownEnv(unknown.slice(2)),
    "Ignoring unknown environment variable MODEL_SIGNING_PUBLICKEY " +
      "(did you mean MODEL_SIGNING_PUBLIC_KEY?)",
  );
});

Deno.test("findUnknownEnv() knows every option's twin and the extra variables", () => {
  const env = Object.fromEntries(knownEnvNames().map((n) => [n, "x"]));
  assertEquals(findUnknownEnv(env), []);
  for (const option of OPTIONS) {
    if (option.env) assertEquals(knownEnvNames().includes(option.env), true);
  }
});

Deno.test("formatUnknownEnv() escapes control characters in a variable's name", () => {
  const text = formatUnknownEnv(findUnknownEnv({ "MODEL_SIGNING_X\u001b[2J\n": "1" }));
  assertEquals(text, "Ignoring unknown environment variable MODEL_SIGNING_X\\u001b[2J\\n");
});
