/**
 * Reads a Sigstore bundle (JSON) into a {@link ParsedBundle}. Every invalid field is collected
 * first and reported in one error.
 *
 * @module
 */

import { escapeName, quoteValue } from "../_escape.ts";
import { InputError } from "../errors.ts";
import { materializeJson, parseJsonBytes, RawJsonString } from "./json_bytes.ts";
import { type JsonLimits, scanJson } from "./json_limits.ts";
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
 * Shape limits of a bundle, checked on its bytes before `JSON.parse`. Real bundles hold a few
 * hundred values (a Sigstore bundle's inclusion proof is the largest part); the payload, however
 * large, is one base64 string. So a list of millions of signatures, log entries or certificates
 * costs one scan, not millions of objects.
 */
export const BUNDLE_JSON_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxValues: 10_000 };

/**
 * Shape limits of a signed payload (the in-toto statement), checked on its bytes before
 * `JSON.parse`. A resource costs four values (`{"name","algorithm","digest"}` and the comma
 * after it; a model_signing 0.2 subject the same), so this admits about 125,000 resources: a
 * quarter more than a 100,000-file model. Measured with the compiled binary's flags
 * (`scripts/bench_hostile_signature.ts`), a signed payload of 120,000 resources is decoded and
 * checked in under 1 s and 202 MiB peak; 150,000 took 244 MiB, too close to the 256 MiB an init
 * container is typically given.
 */
export const PAYLOAD_JSON_LIMITS: JsonLimits = { maxDepth: MAX_JSON_DEPTH, maxValues: 500_000 };

const EMPTY = new Uint8Array(0);

/**
 * Strings in a bundle longer than this (in bytes) stay bytes ({@link RawJsonString}) until used:
 * only the payload is legitimately that long, and its base64 is decoded from the bytes in
 * slices. Any other field that long is refused as "not a string".
 */
const RAW_STRING_BYTES = 1 << 20;
/**
 * Slice of base64 text decoded at a time, a multiple of four. Small enough (64 KiB) that each
 * slice's string dies in V8's young generation: 1 MiB slices went to the large-object space, and a
 * 22 MB payload left 22 MiB of old-generation garbage that raised the whole run's peak RSS.
 */
const BASE64_SLICE = 1 << 16;

/** Most certificates in a bundle's chain (leaf included). */
export const MAX_BUNDLE_CERTIFICATES = 16;
/** Most transparency log entries, and most RFC 3161 timestamps, in a bundle. */
export const MAX_BUNDLE_TLOG_ENTRIES = 16;

/**
 * Parses bundle bytes.
 *
 * @param bytes the signature file's content
 * @param source the file's path, named in every error
 * @throws {InputError} `SIGNATURE_MALFORMED` listing every invalid field,
 * `SIGNATURE_TOO_COMPLEX` when the shape exceeds {@link BUNDLE_JSON_LIMITS}
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
  const json = parseJsonBounded(bytes, where);
  checkLongStrings(json, where);
  // Let the file's bytes go before the payload is decoded: at the size cap they are 64 MiB.
  bytes = EMPTY;
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
  } else if (Array.isArray(tlog) && tlog.length > MAX_BUNDLE_TLOG_ENTRIES) {
    problems.push(
      `verificationMaterial.tlogEntries: ${tlog.length} entries, more than the ` +
        `${MAX_BUNDLE_TLOG_ENTRIES} accepted`,
    );
  }
  const timestamps = isObject(json.verificationMaterial) &&
      isObject(json.verificationMaterial.timestampVerificationData)
    ? json.verificationMaterial.timestampVerificationData.rfc3161Timestamps
    : undefined;
  if (Array.isArray(timestamps) && timestamps.length > MAX_BUNDLE_TLOG_ENTRIES) {
    problems.push(
      `verificationMaterial.timestampVerificationData.rfc3161Timestamps: ${timestamps.length} ` +
        `timestamps, more than the ${MAX_BUNDLE_TLOG_ENTRIES} accepted`,
    );
  }
  if (problems.length > 0 || !envelope || !material) {
    throw new InputError(
      "SIGNATURE_MALFORMED",
      `${where} is not a valid model signature bundle: ${listProblems(problems)}`,
    );
  }
  let rawCopy: Record<string, unknown> | undefined;
  const signatureCount = envelope.declaredSignatures ?? envelope.signatures.length;
  if (signatureCount !== 1) {
    throw new InputError(
      "SIGNATURE_COUNT",
      `${where} holds ${signatureCount} DSSE signatures; expected exactly one`,
    );
  }
  return {
    source,
    mediaType: mediaType as string,
    envelope,
    material,
    tlogEntryCount: Array.isArray(tlog) ? tlog.length : 0,
    // Only the Sigstore method reads the plain document: build it (the payload as a string)
    // when it asks, so the other methods never hold the payload twice.
    get raw(): Record<string, unknown> {
      try {
        return (rawCopy ??= materializeJson(json) as Record<string, unknown>);
      } catch (error) {
        // A long string other than the payload with a raw control character or bad UTF-8.
        throw new InputError(
          "SIGNATURE_MALFORMED",
          `${where} is not valid JSON (${quoteValue(String(error))}); expected a Sigstore bundle`,
          { cause: error },
        );
      }
    },
  };
}

/**
 * Scans the bytes against {@link BUNDLE_JSON_LIMITS}, then decodes and parses them. The text
 * lives only inside this function, so it can be collected as soon as the tree exists.
 */
function parseJsonBounded(bytes: Uint8Array, where: string): unknown {
  const shape = scanJson(bytes, BUNDLE_JSON_LIMITS);
  if (shape.exceeded === "depth") {
    throw new InputError(
      "SIGNATURE_MALFORMED",
      `${where} nests deeper than ${MAX_JSON_DEPTH} levels; expected a Sigstore bundle`,
    );
  }
  if (shape.exceeded === "values") {
    throw new InputError(
      "SIGNATURE_TOO_COMPLEX",
      `${where} holds more than ${BUNDLE_JSON_LIMITS.maxValues} JSON values; a model signature ` +
        "bundle holds a few hundred (the signed payload is one string)",
    );
  }
  try {
    return parseJsonBytes(bytes, { rawStringsAbove: RAW_STRING_BYTES });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new InputError(
      "SIGNATURE_MALFORMED",
      `${where} is not valid JSON (${quoteValue(reason)}); expected a Sigstore bundle`,
      { cause: error },
    );
  }
}

/**
 * Long strings stay bytes while parsing ({@link RawJsonString}); the payload's are checked when
 * its base64 is decoded. Any other one (only a hostile bundle has them) is checked here, so the
 * bundle is refused exactly when `JSON.parse` would refuse it.
 */
function checkLongStrings(json: unknown, where: string): void {
  const payload = isObject(json) && isObject(json.dsseEnvelope)
    ? json.dsseEnvelope.payload
    : undefined;
  const visit = (value: unknown): void => {
    if (value instanceof RawJsonString) {
      if (value === payload) return;
      try {
        value.toString();
      } catch (error) {
        throw new InputError(
          "SIGNATURE_MALFORMED",
          `${where} is not valid JSON (${quoteValue(String(error))}); expected a Sigstore bundle`,
          { cause: error },
        );
      }
    } else if (Array.isArray(value)) value.forEach(visit);
    else if (typeof value === "object" && value !== null) Object.values(value).forEach(visit);
  };
  visit(json);
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
    // Exactly one is accepted (checked by the caller, with the real count): decoding more than
    // two would only cost time.
    value.signatures.slice(0, 2).forEach((s: unknown, i: number) => {
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
  return {
    payloadType: value.payloadType as string,
    payload,
    signatures,
    ...(Array.isArray(value.signatures) && value.signatures.length > 2
      ? { declaredSignatures: value.signatures.length }
      : {}),
  };
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
    if (chain.certificates.length > MAX_BUNDLE_CERTIFICATES) {
      problems.push(
        `verificationMaterial.x509CertificateChain.certificates: ${chain.certificates.length} ` +
          `certificates, more than the ${MAX_BUNDLE_CERTIFICATES} accepted`,
      );
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
  if (value instanceof RawJsonString) {
    const bytes = decodeBase64Bytes(value.bytes);
    if (!bytes) problems.push(`${where}: not base64`);
    return bytes;
  }
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

/**
 * Decodes base64 text held as bytes the way {@link decodeBase64Field} decodes a string (either
 * alphabet, padding optional, spaces ignored), a slice at a time, so no string of the whole text
 * is made. Control characters, which JSON forbids in strings but base64 decoding would skip as
 * whitespace, are refused.
 */
function decodeBase64Bytes(text: Uint8Array): Uint8Array | undefined {
  let end = text.length;
  while (end > 0 && text[end - 1] === 0x3d) end--;
  const padding = text.indexOf(0x3d);
  if (padding >= 0 && padding < end) return undefined; // padding only at the end
  for (const alphabet of ["base64", "base64url"] as const) {
    const out = decodeBase64Slices(text, alphabet, Math.floor((end * 3) / 4));
    if (out) return out;
  }
  return undefined;
}

function decodeBase64Slices(
  text: Uint8Array,
  alphabet: "base64" | "base64url",
  expected: number,
): Uint8Array | undefined {
  const out = new Uint8Array(expected);
  const decoder = new TextDecoder();
  let written = 0;
  let pos = 0;
  try {
    while (pos < text.length) {
      const bytes = text.subarray(pos, pos + BASE64_SLICE);
      const last = pos + bytes.length >= text.length;
      const slice = decoder.decode(bytes);
      if (slice.length !== bytes.length) return undefined; // not ASCII
      const result = out.subarray(written).setFromBase64(slice, {
        alphabet,
        lastChunkHandling: last ? "loose" : "stop-before-partial",
      });
      written += result.written;
      if (last ? result.read !== slice.length : result.read === 0) return undefined;
      pos += result.read;
    }
  } catch {
    return undefined;
  }
  if (written === expected) return out;
  // Fewer bytes than characters allow: the text held whitespace. Spaces are fine in a JSON
  // string, tabs, newlines, form feeds and carriage returns are not.
  for (const control of [0x09, 0x0a, 0x0c, 0x0d]) {
    if (text.indexOf(control) >= 0) return undefined;
  }
  return out.slice(0, written);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value) &&
    !(value instanceof RawJsonString);
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
  return scanJson(text, { maxDepth: max, maxValues: Infinity }).exceeded === "depth";
}
