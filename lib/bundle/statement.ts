/**
 * Decodes a verified DSSE payload into an in-toto Statement v1, checking its envelope-level facts.
 *
 * @module
 */

import { quoteValue } from "../_escape.ts";
import { InputError } from "../errors.ts";
import { IN_TOTO_PAYLOAD_TYPE } from "./dsse.ts";
import { decodeUtf8, scanJson } from "./json_limits.ts";
import { MAX_JSON_DEPTH, PAYLOAD_JSON_LIMITS } from "./parse_bundle.ts";

/** in-toto Statement v1 `_type`. */
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
/** Predicate type of OMS v1.0 signatures (model_signing 0.3 and later). */
export const PREDICATE_TYPE = "https://model_signing/signature/v1.0";
/** Predicate type of model_signing 0.2 signatures: one subject per file, no root digest. */
export const PREDICATE_TYPE_LEGACY = "https://model_signing/Digests/v0.1";

/** A subject of the statement. */
export interface Subject {
  name: string;
  digest: Record<string, string>;
}

/** The statement fields model-verify reads. */
export interface Statement {
  subjects: Subject[];
  predicateType: typeof PREDICATE_TYPE | typeof PREDICATE_TYPE_LEGACY;
  predicate: Record<string, unknown>;
}

/**
 * Parses and checks the statement.
 *
 * @throws {InputError} `PAYLOAD_INVALID` for a wrong payload type, invalid JSON, a wrong
 * `_type` or `predicateType`, or malformed subjects
 */
export function parseStatement(payloadType: string, payload: Uint8Array): Statement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw invalid(`payload type is ${quoteValue(payloadType)}, expected '${IN_TOTO_PAYLOAD_TYPE}'`);
  }
  const shape = scanJson(payload, PAYLOAD_JSON_LIMITS);
  if (shape.exceeded === "depth") {
    throw invalid(`payload nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  if (shape.exceeded === "values") {
    throw invalid(
      `payload holds more than ${PAYLOAD_JSON_LIMITS.maxValues} JSON values (about ` +
        `${
          Math.floor(PAYLOAD_JSON_LIMITS.maxValues / 4)
        } resources), more than model-verify accepts`,
    );
  }
  let json: unknown;
  try {
    const text = decodeUtf8(payload);
    json = LONG_NUMBER.test(text) ? JSON.parse(text, exactIntegers) : JSON.parse(text);
  } catch (error) {
    if (error instanceof InputError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw invalid(`payload is not JSON (${quoteValue(reason)})`);
  }
  if (!isObject(json)) throw invalid("payload is not a JSON object");
  if (json._type !== STATEMENT_TYPE) {
    throw invalid(`statement _type is ${quoteValue(json._type)}, expected '${STATEMENT_TYPE}'`);
  }
  const predicateType = json.predicateType;
  if (predicateType !== PREDICATE_TYPE && predicateType !== PREDICATE_TYPE_LEGACY) {
    throw invalid(
      `unknown predicateType ${quoteValue(predicateType)}, expected '${PREDICATE_TYPE}'`,
    );
  }
  if (!Array.isArray(json.subject) || json.subject.length === 0) {
    throw invalid("statement has no subject");
  }
  const subjects = json.subject.map((s: unknown, i: number): Subject => {
    if (!isObject(s) || typeof s.name !== "string" || !isObject(s.digest)) {
      throw invalid(`subject[${i}] needs a name and a digest`);
    }
    const entries = Object.entries(s.digest);
    for (const [k, v] of entries) {
      if (typeof v !== "string") {
        throw invalid(`subject[${i}].digest[${quoteValue(k)}] is not a string`);
      }
    }
    // fromEntries defines own properties, so a "__proto__" key stays a plain key.
    return { name: s.name, digest: Object.fromEntries(entries) as Record<string, string> };
  });
  const predicate = json.predicate;
  if (!isObject(predicate)) throw invalid("statement has no predicate object");
  return { subjects, predicateType, predicate };
}

/**
 * A number of 16 or more digits, which JSON.parse may round (checked before parsing slowly). A
 * JSON number follows `:`, `,` or `[` (and whitespace): runs of digits inside strings, such as
 * in hex digests (most signatures of 20,000 files have some), do not count. Parsing with the
 * reviver took far more memory (120,000 resources: 77 MiB of heap after parsing, not 46).
 */
export const LONG_NUMBER = /[:,[][ \t\n\r]*-?\d{16}/;

/**
 * Keeps integers beyond 2^53 exact, as bigints (model_signing writes shard sizes of any size);
 * uses the reviver's access to the source text (ES2025).
 */
function exactIntegers(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== "number" || Number.isSafeInteger(value)) return value;
  const source = context?.source;
  return source !== undefined && /^-?\d+$/.test(source) ? BigInt(source) : value;
}

function invalid(reason: string): InputError {
  return new InputError("PAYLOAD_INVALID", `Signature payload is not a model signature: ${reason}`);
}

/** True for a plain JSON object. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
