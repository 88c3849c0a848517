/**
 * Reads a Sigstore bundle (JSON) into a {@link ParsedBundle}. Every invalid field is collected
 * first and reported in one error.
 *
 * @module
 */

import { InputError } from "../errors.ts";
import type { DsseEnvelope, DsseSignature, ParsedBundle, VerificationMaterial } from "./types.ts";

/** Bundle media types model-verify accepts. */
export const BUNDLE_MEDIA_TYPES = [
  "application/vnd.dev.sigstore.bundle+json;version=0.1",
  "application/vnd.dev.sigstore.bundle+json;version=0.2",
  "application/vnd.dev.sigstore.bundle+json;version=0.3",
  "application/vnd.dev.sigstore.bundle.v0.3+json",
] as const;

/** Largest signature file accepted; real ones are a few KiB, a manifest of 1M files ~150 MiB. */
export const MAX_SIGNATURE_BYTES = 256 * 1024 * 1024;

/**
 * Parses bundle bytes.
 *
 * @param bytes the signature file's content
 * @param source the file's path, named in every error
 * @throws {InputError} `SIGNATURE_MALFORMED` listing every invalid field
 */
export function parseBundle(bytes: Uint8Array, source: string): ParsedBundle {
  if (bytes.length === 0) {
    throw new InputError("SIGNATURE_MALFORMED", `Signature file '${source}' is empty`);
  }
  if (bytes.length > MAX_SIGNATURE_BYTES) {
    throw new InputError(
      "SIGNATURE_TOO_LARGE",
      `Signature file '${source}' is ${bytes.length} bytes, more than the ${MAX_SIGNATURE_BYTES} ` +
        "accepted",
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InputError(
      "SIGNATURE_MALFORMED",
      `Signature file '${source}' is not valid JSON (${reason}); expected a Sigstore bundle`,
      { cause: error },
    );
  }
  const problems: string[] = [];
  if (!isObject(json)) {
    throw new InputError(
      "SIGNATURE_MALFORMED",
      `Signature file '${source}' is not a Sigstore bundle: expected a JSON object`,
    );
  }
  const mediaType = json.mediaType;
  if (typeof mediaType !== "string") problems.push("mediaType: missing");
  else if (!(BUNDLE_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
    problems.push(`mediaType: unsupported '${mediaType}'`);
  }
  const envelope = parseEnvelope(json.dsseEnvelope, problems);
  const material = parseMaterial(json.verificationMaterial, problems);
  const tlog = isObject(json.verificationMaterial)
    ? json.verificationMaterial.tlogEntries
    : undefined;
  if (tlog !== undefined && !Array.isArray(tlog)) {
    problems.push("verificationMaterial.tlogEntries: not a list");
  }
  if (problems.length > 0 || !envelope || !material) {
    throw new InputError(
      "SIGNATURE_MALFORMED",
      `Signature file '${source}' is not a valid model signature bundle: ${problems.join("; ")}`,
    );
  }
  return {
    source,
    mediaType: mediaType as string,
    envelope,
    material,
    tlogEntryCount: Array.isArray(tlog) ? tlog.length : 0,
    raw: json,
  };
}

function parseEnvelope(value: unknown, problems: string[]): DsseEnvelope | undefined {
  if (value === undefined) {
    problems.push(
      "dsseEnvelope: missing (a message-signature bundle is not a model signature)",
    );
    return undefined;
  }
  if (!isObject(value)) {
    problems.push("dsseEnvelope: not an object");
    return undefined;
  }
  const start = problems.length;
  if (typeof value.payloadType !== "string") problems.push("dsseEnvelope.payloadType: missing");
  const payload = decodeBase64Field(value.payload, "dsseEnvelope.payload", problems);
  const signatures: DsseSignature[] = [];
  if (!Array.isArray(value.signatures)) {
    problems.push("dsseEnvelope.signatures: not a list");
  } else {
    value.signatures.forEach((s: unknown, i: number) => {
      const where = `dsseEnvelope.signatures[${i}]`;
      if (!isObject(s)) {
        problems.push(`${where}: not an object`);
        return;
      }
      const sig = decodeBase64Field(s.sig, `${where}.sig`, problems);
      if (s.keyid !== undefined && s.keyid !== null && typeof s.keyid !== "string") {
        problems.push(`${where}.keyid: not a string`);
      }
      if (sig) signatures.push({ sig, keyid: typeof s.keyid === "string" ? s.keyid : "" });
    });
  }
  if (problems.length > start || !payload) return undefined;
  return { payloadType: value.payloadType as string, payload, signatures };
}

function parseMaterial(value: unknown, problems: string[]): VerificationMaterial | undefined {
  if (!isObject(value)) {
    problems.push("verificationMaterial: missing");
    return undefined;
  }
  if (value.publicKey !== undefined) {
    const key = value.publicKey;
    if (!isObject(key)) {
      problems.push("verificationMaterial.publicKey: not an object");
      return undefined;
    }
    const material: VerificationMaterial = { kind: "publicKey" };
    if (key.hint !== undefined) {
      if (typeof key.hint !== "string") problems.push("verificationMaterial.publicKey.hint");
      else material.hint = key.hint;
    }
    if (key.rawBytes !== undefined) {
      const raw = decodeBase64Field(key.rawBytes, "verificationMaterial.publicKey.rawBytes", problems);
      if (raw) material.rawBytes = raw;
    }
    return material;
  }
  if (value.x509CertificateChain !== undefined) {
    const chain = value.x509CertificateChain;
    if (!isObject(chain) || !Array.isArray(chain.certificates) || chain.certificates.length === 0) {
      problems.push("verificationMaterial.x509CertificateChain.certificates: missing or empty");
      return undefined;
    }
    const certificates: Uint8Array[] = [];
    chain.certificates.forEach((c: unknown, i: number) => {
      const where = `verificationMaterial.x509CertificateChain.certificates[${i}].rawBytes`;
      const der = decodeBase64Field(isObject(c) ? c.rawBytes : undefined, where, problems);
      if (der) certificates.push(der);
    });
    return { kind: "x509CertificateChain", certificates };
  }
  if (value.certificate !== undefined) {
    const cert = value.certificate;
    const der = decodeBase64Field(
      isObject(cert) ? cert.rawBytes : undefined,
      "verificationMaterial.certificate.rawBytes",
      problems,
    );
    return der ? { kind: "certificate", certificate: der } : undefined;
  }
  problems.push(
    "verificationMaterial: no publicKey, x509CertificateChain or certificate",
  );
  return undefined;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64_URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Decodes standard or URL-safe base64; records a problem and returns undefined when invalid. */
function decodeBase64Field(
  value: unknown,
  where: string,
  problems: string[],
): Uint8Array | undefined {
  if (typeof value !== "string") {
    problems.push(`${where}: missing`);
    return undefined;
  }
  const text = value.replace(/\s+/g, "");
  let standard = text;
  if (!BASE64.test(text)) {
    if (!BASE64_URL.test(text)) {
      problems.push(`${where}: not base64`);
      return undefined;
    }
    standard = text.replaceAll("-", "+").replaceAll("_", "/");
  }
  try {
    const padded = standard.padEnd(Math.ceil(standard.length / 4) * 4, "=");
    const binary = atob(padded);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    problems.push(`${where}: not base64`);
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
