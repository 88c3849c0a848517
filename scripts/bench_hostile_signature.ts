/**
 * Hostile signature files up to the 64 MiB cap: how long `verify key` takes on each and its peak
 * RSS (GNU time), next to a legitimate signature of many resources, run with the compiled
 * binary's V8 and permission flags. Prints a Markdown table.
 *
 * Run: `deno run -A scripts/bench_hostile_signature.ts [--resources 100000] [--only name,...]`
 *
 * @module
 */

import { generateKeyPairSync, sign } from "node:crypto";
import { join } from "node:path";
import { encodeBase64 } from "../lib/_base64.ts";
import { pae } from "../lib/bundle/dsse.ts";
import { MAX_SIGNATURE_BYTES } from "../lib/bundle/parse_bundle.ts";
import { PREDICATE_TYPE, STATEMENT_TYPE } from "../lib/bundle/statement.ts";
import { computeRootDigest } from "../lib/manifest/manifest.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
const PAYLOAD_TYPE = "application/vnd.in-toto+json";
const encoder = new TextEncoder();

/** The V8 and permission flags of the compiled binary (deno.json `compile`), so RSS is its RSS. */
const COMPILED_FLAGS: string[] = (() => {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const task = String(config.tasks?.compile ?? "");
  return task.split(/\s+/).filter((a) => a.startsWith("--allow-") || a.startsWith("--v8-flags"));
})();

function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(line + "\n"));
}

interface Row {
  name: string;
  bytes: number;
  code: number;
  seconds: number;
  rssKiB: number;
  line: string;
}

/** Repeats `item` (joined by commas) until `budget` bytes are used. */
function fill(item: string, budget: number): string {
  const count = Math.max(1, Math.floor(budget / (item.length + 1)));
  return new Array(count).fill(item).join(",");
}

function bundleText(fields: Record<string, string>): string {
  const base: Record<string, string> = {
    mediaType: JSON.stringify(MEDIA_TYPE),
    verificationMaterial: `{"publicKey":{"hint":"00"},"tlogEntries":[]}`,
    dsseEnvelope: `{"payload":"e30=","payloadType":${
      JSON.stringify(PAYLOAD_TYPE)
    },"signatures":[{"sig":"AAAA"}]}`,
  };
  const all = { ...base, ...fields };
  return "{" + Object.entries(all).map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",") + "}";
}

/** A statement listing `count` resources with tiny names, validly signed with `key`. */
function signedResources(count: number, key: string): string {
  const digest = "0".repeat(64);
  const entries = Array.from({ length: count }, (_, i) => ({ name: `f${i}`, digest }));
  const statement = {
    _type: STATEMENT_TYPE,
    subject: [{ name: "m", digest: { sha256: computeRootDigest(entries) } }],
    predicateType: PREDICATE_TYPE,
    predicate: {
      serialization: {
        method: "files",
        hash_type: "sha256",
        allow_symlinks: false,
        ignore_paths: [],
      },
      resources: entries.map((e) => ({ name: e.name, algorithm: "sha256", digest: e.digest })),
    },
  };
  const payload = encoder.encode(JSON.stringify(statement));
  const sig = sign("sha256", pae(PAYLOAD_TYPE, payload), key);
  return bundleText({
    verificationMaterial: `{"publicKey":{},"tlogEntries":[]}`,
    dsseEnvelope: JSON.stringify({
      payload: encodeBase64(payload),
      payloadType: PAYLOAD_TYPE,
      signatures: [{ sig: encodeBase64(sig) }],
    }),
  });
}

async function measure(name: string, signature: string, publicKey: string, model: string) {
  const bytes = (await Deno.stat(signature)).size;
  const out = await new Deno.Command("/usr/bin/time", {
    args: [
      "-v",
      Deno.execPath(),
      "run",
      ...COMPILED_FLAGS,
      join(ROOT, "main.ts"),
      "verify",
      "key",
      "--signature",
      signature,
      "--public_key",
      publicKey,
      model,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  const text = new TextDecoder().decode(out.stdout) + err;
  const rss = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(err)?.[1] ?? 0);
  const wall = /Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)/.exec(
    err,
  );
  const seconds = wall ? Number(wall[1] ?? 0) * 3600 + Number(wall[2]) * 60 + Number(wall[3]) : NaN;
  const code = Number(/Exit status: (\d+)/.exec(err)?.[1] ?? out.code);
  const line = text.split("\n").find((l) => l.startsWith("Verification")) ?? "";
  return { name, bytes, code, seconds, rssKiB: rss, line: line.slice(0, 110) };
}

async function main(): Promise<void> {
  const resourcesArg = Deno.args.indexOf("--resources");
  const legitCount = resourcesArg >= 0 ? Number(Deno.args[resourcesArg + 1]) : 100_000;
  const onlyArg = Deno.args.indexOf("--only");
  const only = onlyArg >= 0 ? Deno.args[onlyArg + 1]!.split(",") : undefined;
  const dir = await Deno.makeTempDir({ prefix: "model-verify-hostile-sig-" });
  try {
    const pair = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const privateKey = pair.privateKey.export({ type: "pkcs8", format: "pem" }) as string;
    const publicKey = join(dir, "key.pub.pem");
    const privateKeyPath = join(dir, "key.pem");
    await Deno.writeTextFile(
      publicKey,
      pair.publicKey.export({ type: "spki", format: "pem" }) as string,
    );
    await Deno.writeTextFile(privateKeyPath, privateKey);
    const model = join(dir, "model");
    await Deno.mkdir(model);
    await Deno.writeTextFile(join(model, "w.bin"), "weights");
    const cap = MAX_SIGNATURE_BYTES - 4096;
    const shapes: Record<string, () => string> = {
      "signatures-40MB": () =>
        bundleText({
          dsseEnvelope: `{"payload":"e30=","payloadType":"x","signatures":[${
            fill('{"sig":"AAAA"}', 40_000_000)
          }]}`,
        }),
      "signatures-64MiB": () =>
        bundleText({
          dsseEnvelope: `{"payload":"e30=","payloadType":"x","signatures":[${
            fill('{"sig":"AAAA"}', cap)
          }]}`,
        }),
      "tlog-entries-64MiB": () =>
        bundleText({
          verificationMaterial: `{"publicKey":{"hint":"00"},"tlogEntries":[${fill("{}", cap)}]}`,
        }),
      "certificates-64MiB": () =>
        bundleText({
          verificationMaterial: `{"x509CertificateChain":{"certificates":[${
            fill('{"rawBytes":"MAA="}', cap)
          }]}}`,
        }),
      "unknown-field-zeros-64MiB": () => bundleText({ extra: `[${fill("0", cap)}]` }),
      "empty-objects-64MiB": () => bundleText({ extra: `[${fill("{}", cap)}]` }),
      "nested-64MiB": () => bundleText({ extra: "[".repeat(cap / 2) + "]".repeat(cap / 2) }),
      "long-string-64MiB": () => bundleText({ mediaType: JSON.stringify("x".repeat(cap)) }),
      "non-ascii-string-64MiB": () => bundleText({ extra: JSON.stringify("é".repeat(cap / 2)) }),
      "payload-base64-64MiB": () =>
        bundleText({
          dsseEnvelope: `{"payload":"${"A".repeat(cap)}","payloadType":"${PAYLOAD_TYPE}",` +
            `"signatures":[{"sig":"AAAA"}]}`,
        }),
      "signed-120k-resources": () => signedResources(120_000, privateKey),
      "signed-150k-resources": () => signedResources(150_000, privateKey),
      "signed-200k-resources": () => signedResources(200_000, privateKey),
      "signed-tiny-resources-max": () => {
        // As many resources as fit the cap: about 155 bytes each in the bundle.
        return signedResources(Math.floor(cap / 156), privateKey);
      },
    };
    const rows: Row[] = [];
    for (const [name, make] of Object.entries(shapes)) {
      if (only && !only.includes(name)) continue;
      if (Deno.env.get("KEEP_SIG")) await Deno.writeTextFile(`/tmp/11b/${name}.sig`, make());
      const path = join(dir, `${name}.sig`);
      const text = make();
      if (text.length > MAX_SIGNATURE_BYTES) throw new Error(`${name}: ${text.length} bytes`);
      await Deno.writeTextFile(path, text);
      rows.push(await measure(name, path, publicKey, model));
      await Deno.remove(path);
    }
    if (!only || only.includes("legit")) {
      const legit = join(dir, "legit");
      await Deno.mkdir(legit);
      for (let d = 0; d < Math.ceil(legitCount / 1000); d++) {
        const sub = join(legit, `d${d}`);
        await Deno.mkdir(sub);
        for (let i = d * 1000; i < Math.min(legitCount, (d + 1) * 1000); i++) {
          await Deno.writeTextFile(join(sub, `file-with-a-typical-name-${i}.safetensors`), `${i}`);
        }
      }
      const sign = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          join(ROOT, "main.ts"),
          "sign",
          "key",
          "--private_key",
          privateKeyPath,
          legit,
        ],
      }).output();
      if (!sign.success) throw new Error(new TextDecoder().decode(sign.stderr));
      rows.push(
        await measure(`legit ${legitCount} resources`, join(legit, "model.sig"), publicKey, legit),
      );
    }
    say("| signature file | bytes | exit | seconds | peak RSS MiB | first line |");
    say("| --- | ---: | ---: | ---: | ---: | --- |");
    for (const r of rows) {
      say(
        `| ${r.name} | ${r.bytes} | ${r.code} | ${r.seconds.toFixed(2)} | ${
          (r.rssKiB / 1024).toFixed(0)
        } | ${r.line.replace(/\|/g, "\\|")} |`,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

if (import.meta.main) await main();
