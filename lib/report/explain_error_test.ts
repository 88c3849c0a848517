import { assert, assertEquals, assertStringIncludes } from "../../tests/_assert.ts";
import { compilePermissionFlags, permissionScope } from "../../tests/_compile_flags.ts";
import { ConfigError, InputError } from "../errors.ts";
import { explainError, WRITABLE_DIRS } from "./explain_error.ts";

function notCapable(kind: string, path: string): Error {
  return new Deno.errors.NotCapable(
    `Requires ${kind} access to "${path}", run again with the --allow-${kind} flag`,
  );
}

Deno.test("explainError() says where the binary may write instead of 'run again with'", () => {
  const error = explainError(notCapable("write", "/data/model.sig"));
  assert(error instanceof ConfigError);
  assertEquals(error.code, "SANDBOX_DENIED");
  assertEquals(error.exitCode, 2);
  assertStringIncludes(error.message, "may not write '/data/model.sig'");
  assertStringIncludes(error.message, "below /tmp and /.sigstore");
  assertStringIncludes(error.message, "--signature /tmp/model.sig");
  assert(!error.message.includes("run again"), error.message);
  assert(!error.message.includes("Unexpected"), error.message);
});

Deno.test("explainError() keeps the context of a typed error that wrapped a refusal", () => {
  const cause = notCapable("write", "/x/y.sig");
  const wrapped = new InputError(
    "SIGNATURE_UNWRITABLE",
    `Cannot write signature '/x/y.sig': ${cause.message}`,
    { cause },
  );
  const error = explainError(wrapped);
  assertEquals(error.code, "SANDBOX_DENIED");
  assert(error.message.startsWith("Cannot write signature '/x/y.sig': model-verify may not"));
  assert(!error.message.includes("--allow-write"), error.message);
});

Deno.test("explainError() finds a refusal inside an AggregateError", () => {
  const error = explainError(new AggregateError([new Error("x"), notCapable("net", "a:443")]));
  assertEquals(error.code, "SANDBOX_DENIED");
  assertStringIncludes(error.message, "--offline");
});

Deno.test("explainError() turns an OS permission error into advice, not 'Unexpected error'", () => {
  const error = explainError(
    new Deno.errors.PermissionDenied("Permission denied (os error 13): open '/m/model.sig'"),
  );
  assertEquals(error.code, "PERMISSION_DENIED");
  assertStringIncludes(error.message, "/m/model.sig");
  assert(!error.message.includes("Unexpected"));
});

Deno.test("explainError() leaves other errors alone", () => {
  const typed = new InputError("X", "y");
  assertEquals(explainError(typed), typed);
  assertEquals(explainError(new Error("boom")).code, "INTERNAL");
});

Deno.test("WRITABLE_DIRS are the compiled binary's --allow-write scope", () => {
  assertEquals(permissionScope(compilePermissionFlags(), "allow-write"), [...WRITABLE_DIRS]);
});
