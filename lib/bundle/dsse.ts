/**
 * DSSE pre-authentication encoding (PAE), and the faulty encoding model_signing 0.2 signed.
 *
 * @module
 */

/** The only payload type of model signatures. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

const encoder = new TextEncoder();

/**
 * `DSSEv1 <len(type)> <type> <len(payload)> <payload>`, lengths in bytes, as in
 * https://github.com/secure-systems-lab/dsse/blob/v1.0.0/protocol.md
 */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const typeBytes = encoder.encode(payloadType);
  const header = encoder.encode(`DSSEv1 ${typeBytes.length} ${payloadType} ${payload.length} `);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header);
  out.set(payload, header.length);
  return out;
}

/**
 * The encoding model_signing 0.2 signed by mistake: the UTF-8 text
 * `DSSEV1 <len(type)> <type> <len(payload)> <Python repr of the payload bytes>`.
 */
export function paeCompat(payloadType: string, payload: Uint8Array): Uint8Array {
  const typeLength = encoder.encode(payloadType).length;
  return encoder.encode(
    `DSSEV1 ${typeLength} ${payloadType} ${payload.length} ${pythonBytesRepr(payload)}`,
  );
}

/** Python's `repr()` of a `bytes` value, e.g. `b'{\n  "a": 1}'`. */
export function pythonBytesRepr(bytes: Uint8Array): string {
  const hasSingle = bytes.includes(0x27);
  const hasDouble = bytes.includes(0x22);
  const quote = hasSingle && !hasDouble ? 0x22 : 0x27;
  let out = "b" + String.fromCharCode(quote);
  for (const b of bytes) {
    if (b === quote || b === 0x5c) out += "\\" + String.fromCharCode(b);
    else if (b === 0x09) out += "\\t";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b < 0x20 || b >= 0x7f) out += "\\x" + b.toString(16).padStart(2, "0");
    else out += String.fromCharCode(b);
  }
  return out + String.fromCharCode(quote);
}
