/**
 * Output hygiene end to end: strings from the signature file (an unsigned key hint, resource
 * names) and from file names reach the text report, the JSON log line and the termination
 * message only escaped, on one line, cut to a bounded length.
 */

import { join } from "node:path";
import { assert, assertEquals, assertStringIncludes } from "./_assert.ts";
import { editBundle, runCli, signedModel, tempDir } from "./_helpers.ts";

/** Raw characters no output may carry: controls, DEL, C1, bidi and other format characters. */
// deno-lint-ignore no-control-regex -- matching control characters is the point
const UNSAFE = new RegExp(
  "[\\u0000-\\u0009\\u000b-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u200b-\\u200f\\u2028-\\u202e\\u2060-\\u206f\\ufeff]",
);

/** An unsigned key hint that, printed raw, ends the failure line and fakes a green verdict. */
const FAKE_VERDICT = "00\n\u001b[1A\u001b[2K\u001b[32mVerification succeeded\u001b[0m\u202e" +
  "x".repeat(5000);

async function hostileHint(dir: string) {
  const f = await signedModel(dir);
  await editBundle(f.signature, (bundle) => {
    (bundle.verificationMaterial as { publicKey: { hint: string } }).publicKey.hint = FAKE_VERDICT;
  });
  return f;
}

function assertOneSafeLine(text: string): void {
  assertEquals(text.split("\n").length, 1, JSON.stringify(text.slice(0, 300)));
  assert(!UNSAFE.test(text), JSON.stringify(text.slice(0, 300)));
  assert(!/^Verification succeeded/m.test(text), text);
}

Deno.test("a hostile key hint prints escaped and cut in text, JSON and the termination message", async (t) => {
  await using dir = await tempDir();
  const f = await hostileHint(dir.path);
  const termination = join(dir.path, "termination-log");
  const args = ["verify", "key", "--signature", f.signature, "--public_key", f.publicKey, f.model];
  const env = { MODEL_SIGNING_TERMINATION_LOG: termination };
  await t.step("text", async () => {
    const cli = await runCli(args, { env });
    assertEquals(cli.code, 1);
    assertEquals(cli.stdout, "");
    assertOneSafeLine(cli.stderr);
    assertStringIncludes(cli.stderr, "\\u001b[32mVerification succeeded");
    assertStringIncludes(cli.stderr, "(cut, 5043 characters)");
    assert(cli.stderr.length < 1000, `${cli.stderr.length} characters`);
  });
  await t.step("termination message", async () => {
    const message = await Deno.readTextFile(termination);
    assert(message.endsWith("\n"));
    assertOneSafeLine(message.slice(0, -1));
    assertStringIncludes(message, "[KEY_HINT_MISMATCH]");
  });
  await t.step("json", async () => {
    const cli = await runCli([...args, "--log-format", "json"], { env });
    assertEquals(cli.code, 1);
    assertOneSafeLine(cli.stderr);
    const line = JSON.parse(cli.stderr);
    assertEquals(line.error.code, "KEY_HINT_MISMATCH");
    assert(!UNSAFE.test(line.error.message), line.error.message);
  });
});

Deno.test("hostile model file names are escaped in the differences a failure lists", async () => {
  await using dir = await tempDir();
  const f = await signedModel(dir.path);
  const names = ["evil\u202eenilb.bin", "x\u001b]8;;https:a\u0007y", "\u2028z\u0085"];
  for (const name of names) await Deno.writeTextFile(join(f.model, name), "extra");
  for (const format of ["text", "json"]) {
    const cli = await runCli([
      "verify",
      "key",
      "--log-format",
      format,
      "--signature",
      f.signature,
      "--public_key",
      f.publicKey,
      f.model,
    ]);
    assertEquals(cli.code, 1, cli.stderr);
    assertOneSafeLine(cli.stderr);
    const message = format === "json" ? JSON.parse(cli.stderr).error.message : cli.stderr;
    assertStringIncludes(message, "evil\\u202eenilb.bin");
  }
});

Deno.test("the agent's log lines escape hostile messages in text and JSON", async () => {
  const { createLog } = await import("../lib/agent/run_agent.ts");
  for (const logFormat of ["text", "json"] as const) {
    const lines: string[] = [];
    const log = createLog({ logFormat, logLevel: "INFO" }, (line) => lines.push(line), {
      now: () => 0,
    });
    log.error("verification_failed", `Verification failed with error: ${FAKE_VERDICT}`, {
      model: "m\u202e\n",
    });
    assertEquals(lines.length, 1);
    assertOneSafeLine(lines[0]!);
  }
});
