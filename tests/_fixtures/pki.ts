/**
 * A throw-away X.509 PKI for certificate-method tests, made with the `openssl` command (present on
 * Debian images). Each certificate gets explicit validity dates and extensions.
 *
 * @module
 */

import { join } from "node:path";
import { runCli, SAMPLE_MODEL, writeModel } from "../_helpers.ts";

/** True when the openssl command can be run. */
export const HAS_OPENSSL: boolean = (() => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** A certificate and its key, as PEM files. */
export interface Issued {
  cert: string;
  key: string;
}

/** Options for one certificate. */
export interface CertOptions {
  cn: string;
  /** Signed by this issuer; self-signed when absent. */
  issuer?: Issued;
  /** `CA:TRUE` basic constraints and keyCertSign usage. */
  ca?: boolean;
  /** keyUsage value, e.g. `digitalSignature` or `keyEncipherment`; omit for none. */
  keyUsage?: string;
  /** extendedKeyUsage value, e.g. `codeSigning`. */
  extendedKeyUsage?: string;
  /** OpenSSL dates `YYYYMMDDHHMMSSZ`; default: from a year ago to ten years on. */
  startDate?: string;
  endDate?: string;
  curve?: "P-256" | "P-384";
  /** pathLenConstraint of a CA. */
  pathLen?: number;
  /** keyUsage of a CA instead of `keyCertSign,cRLSign`. */
  caKeyUsage?: string;
  /** More extension lines for the OpenSSL extension file (e.g. a critical unknown OID). */
  extraExtensions?: string[];
  /** Digest the issuer signs with (OpenSSL `-md`), default sha256. */
  md?: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`openssl ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z";
}

let serial = 1;

/** Issues one certificate into `dir` (files `<cn>.pem`, `<cn>.key`). */
export async function issue(dir: string, options: CertOptions): Promise<Issued> {
  const name = options.cn.replace(/[^a-z0-9-]/gi, "_");
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const cert = join(dir, `${name}.pem`);
  const ext = join(dir, `${name}.ext`);
  const conf = join(dir, `${name}.cnf`);
  const db = join(dir, `${name}.db`);
  await Deno.mkdir(db, { recursive: true });
  await Deno.writeTextFile(join(db, "index.txt"), "");
  await Deno.writeTextFile(join(db, "serial"), (serial++).toString(16).padStart(4, "0") + "\n");
  const lines = [
    options.ca
      ? `basicConstraints=critical,CA:TRUE${
        options.pathLen === undefined ? "" : `,pathlen:${options.pathLen}`
      }`
      : "basicConstraints=CA:FALSE",
    options.ca ? `keyUsage=critical,${options.caKeyUsage ?? "keyCertSign,cRLSign"}` : "",
    !options.ca && options.keyUsage ? `keyUsage=critical,${options.keyUsage}` : "",
    options.extendedKeyUsage ? `extendedKeyUsage=${options.extendedKeyUsage}` : "",
    "subjectKeyIdentifier=hash",
    ...(options.extraExtensions ?? []),
  ].filter(Boolean);
  await Deno.writeTextFile(ext, lines.join("\n") + "\n");
  await Deno.writeTextFile(
    conf,
    [
      "[ca]",
      "default_ca=this",
      "[this]",
      `dir=${db}`,
      `database=${join(db, "index.txt")}`,
      `serial=${join(db, "serial")}`,
      `new_certs_dir=${db}`,
      `default_md=${options.md ?? "sha256"}`,
      "policy=any",
      "unique_subject=no",
      "copy_extensions=none",
      "[any]",
      "commonName=supplied",
      "",
    ].join("\n"),
  );
  const curve = options.curve === "P-384" ? "secp384r1" : "prime256v1";
  await openssl(["ecparam", "-name", curve, "-genkey", "-noout", "-out", key], dir);
  await openssl(["pkcs8", "-topk8", "-nocrypt", "-in", key, "-out", key + ".p8"], dir);
  await Deno.rename(key + ".p8", key);
  await openssl(["req", "-new", "-key", key, "-subj", `/CN=${options.cn}`, "-out", csr], dir);
  const now = Date.now();
  await openssl([
    "ca",
    "-batch",
    "-config",
    conf,
    "-in",
    csr,
    "-out",
    cert,
    "-notext",
    "-extfile",
    ext,
    "-startdate",
    options.startDate ?? stamp(new Date(now - 365 * 86400_000)),
    "-enddate",
    options.endDate ?? stamp(new Date(now + 3650 * 86400_000)),
    ...(options.issuer
      ? ["-cert", options.issuer.cert, "-keyfile", options.issuer.key]
      : ["-selfsign", "-keyfile", key]),
  ], dir);
  return { cert, key };
}

/**
 * Signs a sample model at `dir/model` with `leaf` (`sign certificate`), the bundle carrying
 * `leaf` and then `chain`; returns the model and its signature `dir/model/model.sig`.
 */
export async function signWithCertificate(
  dir: string,
  leaf: Issued,
  chain: Issued[],
): Promise<{ model: string; signature: string }> {
  const model = await writeModel(join(dir, "model"), SAMPLE_MODEL);
  const result = await runCli([
    "sign",
    "certificate",
    "--private_key",
    leaf.key,
    "--signing_certificate",
    leaf.cert,
    ...chain.flatMap((c) => ["--certificate_chain", c.cert]),
    model,
  ]);
  if (result.code !== 0) throw new Error(`sign certificate failed: ${result.stderr}`);
  return { model, signature: join(model, "model.sig") };
}
