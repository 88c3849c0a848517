/**
 * `deno task demo`: sign a small model with a fresh key, verify it, tamper with it, verify again.
 * Exits 0 when the verifier behaved as it must (success, then failure with the reason).
 *
 * @module
 */

import { generateKeyPairSync } from "node:crypto";
import { join } from "node:path";
import { run } from "../main.ts";

// deno-lint-ignore no-console
const say = (text = "") => console.log(text);

async function cli(argv: string[]): Promise<number> {
  say(`$ model-verify ${argv.map((a) => (a.includes(" ") ? `'${a}'` : a)).join(" ")}`);
  const code = await run(argv, {
    env: {},
    cwd: Deno.cwd(),
    stdout: (text) => say(indent(text)),
    stderr: (text) => say(indent(text)),
  });
  say(`  (exit code ${code})`);
  return code;
}

function indent(text: string): string {
  return text.split("\n").map((l) => `  ${l}`).join("\n");
}

const dir = Deno.args[0] ?? await Deno.makeTempDir({ prefix: "model-verify-demo-" });
const model = join(dir, "tiny-model");
await Deno.mkdir(model, { recursive: true });

say("Step 1: a small model directory");
const weights = new Uint8Array(1 << 20);
for (let i = 0; i < weights.length; i++) weights[i] = (i * 2654435761) >>> 24;
await Deno.writeTextFile(
  join(model, "config.json"),
  JSON.stringify({ architectures: ["TinyModel"], hidden_size: 64, num_layers: 2 }, null, 2) + "\n",
);
await Deno.writeFile(join(model, "model.safetensors"), weights);
await Deno.writeTextFile(
  join(model, "tokenizer.json"),
  JSON.stringify({ version: "1.0", model: { vocab: { "<s>": 0, "</s>": 1, "hello": 2 } } }) + "\n",
);
for (const name of ["config.json", "model.safetensors", "tokenizer.json"]) {
  say(`  ${name.padEnd(20)} ${(await Deno.stat(join(model, name))).size} bytes`);
}

say("\nStep 2: a fresh P-256 key pair");
const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
const privateKey = join(dir, "signing-key.pem");
const publicKey = join(dir, "signing-key.pub.pem");
await Deno.writeTextFile(
  privateKey,
  pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string,
);
await Deno.writeTextFile(
  publicKey,
  pair.publicKey.export({ type: "spki", format: "pem" }) as string,
);
say(`  private key: ${privateKey}\n  public key:  ${publicKey}`);

say("\nStep 3: sign the model (writes tiny-model/model.sig, a Sigstore bundle)");
const signed = await cli(["sign", "key", "--private_key", privateKey, model]);

say("\nStep 4: verify it, exactly as the init container would");
const verified = await cli(["verify", "key", "--public_key", publicKey, model]);

say("\nStep 5: an attacker appends 'BACKDOOR INJECTION' to config.json");
await Deno.writeTextFile(join(model, "config.json"), "BACKDOOR INJECTION\n", { append: true });

say("\nStep 6: verify again: the workload must not start");
const tampered = await cli(["verify", "key", "--public_key", publicKey, model]);

const ok = signed === 0 && verified === 0 && tampered === 1;
say(
  ok
    ? "\nDemo complete: the untouched model verified (exit 0) and the tampered one was rejected " +
      "(exit 1),\nnaming the changed file."
    : "\nDemo FAILED: the verifier did not behave as expected.",
);
say(`Files are in ${dir}`);
Deno.exit(ok ? 0 : 1);
