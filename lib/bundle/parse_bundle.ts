/**
 * Reads a Sigstore bundle (JSON) into a {@link ParsedBundle}. Every invalid field is collected
 * first and reported in one error.
 *
 * @module
 */

import { escapeName, quoteValue } from "../_escape.ts";
import { InputError } from "../errors.ts";
import type { DsseEnvelope, DsseSignature, ParsedBundle, VerificationMaterial } from "./types.ts";

/** Bundle media types model-verify accepts. */
export const BUNDLE_MEDIA_TYPES = [
  "application/vnd.dev.sigstore.bundle+json;version=0.1",
  "application/vnd.dev.sigstore.bundle+json;version=0.2",
  "application/vnd.dev.sigstore.bundle+json;version=0.3",
  "application/vnd.dev.sigstore.bundle.v0.3+json",
] as const;

/**
 * Largest signature file accepted, checked before reading on and before parsing: 64 MiB.
 *
 * A model_signing bundle costs about 260 bytes per resource (a pretty-printed JSON entry with a
 * 45-character name, base64-encoded in the DSSE payload), so 64 MiB holds about 260,000 files or
 * shards: two orders of magnitude above the largest model repositories (thousands of files; a
 * 1 TB model in 1 GB shards is 1,000 resources). Parsing costs about six times the file size in
 * memory (bytes, text, JSON tree, decoded payload, its text and tree): a 64 MiB bundle took 2-3 s
 * and 400 MiB here, a 1M-resource one (~250 MiB) would need 1.5 GiB and fail an init container's
 * memory limit with an OOM kill instead of a message. A hostile signature is refused first.
 */
export const MAX_SIGNATURE_BYTES = 64 * 1024 * 1024;

/**
 * Deepest JSON nesting accepted in a bundle or a payload. Real bundles nest six levels (an
 * inclusion proof's hashes), payloads four. Deeper documents are rejected before `JSON.parse`,
 * so no code ever walks a hostile tree.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses bundle bytes.
 *
 * @param bytes the signature file's content
 * @param source the file's path, named in every error
 * @throws {InputError} `SIGNATURE_MALFORMED` listing every invalid field
 */
export function parseBundle(bytes: Uint8Array, source: string): ParsedBundle {
  const where = `Signature file '${escapeName(source)}'`;
  if (bytes.length === 0) {
    throw new InputError("SIGNATURE_MALFORMED", `${where} is empty`);
  }
  if (bytes.length > MAX_SIGNATURE_BYTES) {
    throw new InputError(
      "SIGNATURE_TOO_LARGE",
      `${where} is ${bytes.length} bytes, more than the ${MAX_SIGNATURE_BYTES} accepted`,
    );
  }
  let json: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
      throw new InputError(
        "SIGNATURE_MALFORMED",
        `${where} nests deeper than ${MAX_JSON_DEPTH} levels; expected a Sigstore bundle`,
      );
    }
    json = JSON.parse(text);
  } catch (error) {
    if (error instanceof InputError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new InputError(
      "SIGNATURE_MALFORMED",
      `${where} is not valid JSON (${quoteValue(reason)}); expected a Sigstore bundle`,
      { cause: error },
    );
  }
  const problems: string[] = [];
  if (!isObject(json)) {
    throw new InputError(
      "SIGNATURE_MALFORMED",
      `${where} is not a Sigstore bundle: expected a JSON object`,
    );
  }
  const mediaType = json.mediaType;
  if (typeof mediaType !== "string") problems.push(notAString("mediaType", mediaType));
  else if (!(BUNDLE_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
    problems.push(`mediaType: unsupported ${quoteValue(mediaType)}`);
  }
  if (json.messageSignature !== undefined && json.dsseEnvelope !== undefined) {
    problems.push("messageSignature: not allowed next to dsseEnvelope");
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
      `${where} is not a valid model signature bundle: ${listProblems(problems)}`,
    );
  }
  if (envelope.signatures.length !== 1) {
    throw new InputError(
      "SIGNATURE_COUNT",
      `${where} holds ${envelope.signatures.length} DSSE signatures; expected exactly one`,
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
  if (typeof value.payloadType !== "string") {
    problems.push(notAString("dsseEnvelope.payloadType", value.payloadType));
  }
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
      if (sig?.length === 0) problems.push(`${where}.sig: empty`);
      if (s.keyid !== undefined && s.keyid !== null && typeof s.keyid !== "string") {
        problems.push(`${where}.keyid: not a string`);
      }
      if (sig && sig.length > 0) {
        signatures.push({ sig, keyid: typeof s.keyid === "string" ? s.keyid : "" });
      }
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
  const kinds = ["publicKey", "x509CertificateChain", "certificate"].filter((k) =>
    value[k] !== undefined
  );
  if (kinds.length > 1) {
    problems.push(`verificationMaterial: holds ${kinds.join(" and ")}; expected one`);
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
      if (typeof key.hint !== "string") {
        problems.push(notAString("verificationMaterial.publicKey.hint", key.hint));
      } else material.hint = key.hint;
    }
    if (key.rawBytes !== undefined) {
      const raw = decodeBase64Field(
        key.rawBytes,
        "verificationMaterial.publicKey.rawBytes",
        problems,
      );
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

/**
 * Decodes standard or URL-safe base64, padded or not, ASCII whitespace ignored; records a
 * problem and returns undefined when invalid. Native (`Uint8Array.fromBase64`): a payload of
 * tens of thousands of resources is megabytes of base64.
 */
function decodeBase64Field(
  value: unknown,
  where: string,
  problems: string[],
): Uint8Array | undefined {
  if (typeof value !== "string") {
    problems.push(`${where}: missing`);
    return undefined;
  }
  for (const alphabet of ["base64", "base64url"] as const) {
    try {
      return Uint8Array.fromBase64(value, { alphabet });
    } catch {
      // try the other alphabet
    }
  }
  problems.push(`${where}: not base64`);
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Most problems named in one message; a hostile bundle may have millions. */
const MAX_PROBLEMS_LISTED = 10;

function listProblems(problems: readonly string[]): string {
  const shown = problems.slice(0, MAX_PROBLEMS_LISTED).join("; ");
  const more = problems.length - MAX_PROBLEMS_LISTED;
  return more > 0 ? `${shown}; and ${more} more` : shown;
}

function notAString(field: string, value: unknown): string {
  return value === undefined
    ? `${field}: missing`
    : `${field}: not a string (${quoteValue(value)})`;
}

/**
 * True when JSON text nests objects and lists deeper than `max`. Scans the text without parsing
 * it (strings are skipped), so that a hostile document is refused before anything walks it.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}
