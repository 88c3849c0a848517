/**
 * A Sigstore instance in the test process: fake Fulcio (with a CT log), Rekor and a timestamp
 * authority from `@sigstore/mock`, served over HTTP on 127.0.0.1, so `sigstore.attest` signs
 * against them exactly as against the real services. `trustedRoot()` describes the instance as a
 * TrustedRoot document.
 *
 * nock is not used: under Deno 2.9 it does not intercept `make-fetch-happen`'s plain-HTTP
 * requests, and fails on HTTPS (`getALPNNegotiatedProtocol is not a function`). A local server
 * needs only `--allow-net=127.0.0.1`.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import nodeCrypto from "node:crypto";
import {
  fulcioHandler,
  initializeCA,
  initializeCTLog,
  initializeTLog,
  initializeTSA,
  rekorHandler,
  tsaHandler,
} from "@sigstore/mock";
import { Entry } from "@sigstore/protobuf-specs/rekor/v2";
import { HashAlgorithm, PublicKeyDetails } from "@sigstore/protobuf-specs";
import * as sigstore from "sigstore";
import { parseBundle } from "../../lib/bundle/parse_bundle.ts";
import type { ParsedBundle } from "../../lib/bundle/types.ts";

/** Payload type of an in-toto statement, as model_signing signs it. */
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
/** Default identity (a SAN URI, as the mock Fulcio issues). */
export const DEFAULT_IDENTITY =
  "https://github.com/acme/models/.github/workflows/sign.yml@refs/heads/main";
/** Default OIDC issuer. */
export const DEFAULT_ISSUER = "https://token.actions.githubusercontent.com";
/** Validity start written into the trusted root for every authority. */
export const TRUST_START = "2000-01-01T00:00:00Z";

/** A serialized bundle (JSON object). */
export type BundleJson = Record<string, unknown>;

type HandlerFn = (body: string) => Promise<
  { statusCode: number; response: string | ArrayBufferView; contentType?: string }
>;
type KeyPair = { publicKey: nodeCrypto.KeyObject; privateKey: nodeCrypto.KeyObject };
type MockCA = Awaited<ReturnType<typeof initializeCA>>;
type MockCTLog = Awaited<ReturnType<typeof initializeCTLog>>;
type MockTSA = Awaited<ReturnType<typeof initializeTSA>>;

/** Clocks of the services; each defaults to the real time of the request. */
export interface VirtualSigstoreClocks {
  /** Fulcio: the certificate's notBefore (valid for 10 minutes). */
  fulcio?: Date;
  /** Rekor: the integrated time. */
  rekor?: Date;
  /**
   * TSA: the timestamp's genTime, rounded down to a whole second. Default: 30 s after start,
   * inside the validity of certificates issued right after start. (The mock writes fractional
   * seconds without trailing zeros, which `@sigstore/core` rejects, so it never gets any.)
   */
  tsa?: Date;
}

/** What to sign and which services to involve. */
export interface AttestOptions {
  identity?: string;
  issuer?: string;
  payloadType?: string;
  /** Upload to Rekor v1 (default true). */
  tlog?: boolean;
  /** Ask the TSA for an RFC 3161 timestamp (default false). */
  tsa?: boolean;
  /** Add a Rekor v2 entry (checkpoint + inclusion proof, no SET) built by this fixture. */
  rekorV2?: boolean;
}

/** An in-process Sigstore: start it with {@link VirtualSigstore.start}, dispose it after use. */
export class VirtualSigstore implements AsyncDisposable {
  readonly baseURL: string;
  readonly #server: Deno.HttpServer;
  readonly #tlogKeys: KeyPair;
  readonly #ca: MockCA;
  readonly #ctlog: MockCTLog;
  readonly #tsa: MockTSA;

  private constructor(
    server: Deno.HttpServer,
    baseURL: string,
    parts: { tlogKeys: KeyPair; ca: MockCA; ctlog: MockCTLog; tsa: MockTSA },
  ) {
    this.#server = server;
    this.baseURL = baseURL;
    this.#tlogKeys = parts.tlogKeys;
    this.#ca = parts.ca;
    this.#ctlog = parts.ctlog;
    this.#tsa = parts.tsa;
  }

  /** Starts the services on a free port of 127.0.0.1. */
  static async start(clocks: VirtualSigstoreClocks = {}): Promise<VirtualSigstore> {
    const handlers = new Map<string, HandlerFn>();
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      async (request) => {
        const handler = handlers.get(new URL(request.url).pathname);
        if (!handler || request.method !== "POST") return new Response("", { status: 404 });
        const result = await handler(await request.text());
        const body = typeof result.response === "string" ? result.response : new Uint8Array(
          result.response.buffer as ArrayBuffer,
          result.response.byteOffset,
          result.response.byteLength,
        );
        return new Response(body, {
          status: result.statusCode,
          headers: { "content-type": result.contentType ?? "text/plain" },
        });
      },
    );
    const baseURL = `http://127.0.0.1:${server.addr.port}`;
    const tlogKeys = ecKeyPair();
    const ctlog = await initializeCTLog(ecKeyPair(), clocks.fulcio);
    const ca = await initializeCA(ecKeyPair(), ctlog, clocks.fulcio);
    const tlog = await initializeTLog(baseURL, tlogKeys, clocks.rekor);
    const tsaTime = clocks.tsa?.getTime() ?? Date.now() + 30_000;
    const tsa = await initializeTSA(ecKeyPair(), new Date(Math.floor(tsaTime / 1000) * 1000));
    for (const handler of [fulcioHandler(ca), tsaHandler(tsa)]) {
      handlers.set(handler.path, handler.fn as HandlerFn);
    }
    // The mock logs the proposed entry as sent; Rekor stores a dsse entry in another shape.
    const rekor = rekorHandler(tlog);
    handlers.set(rekor.path, (body) => rekor.fn(JSON.stringify(toStoredEntry(JSON.parse(body)))));
    return new VirtualSigstore(server, baseURL, { tlogKeys, ca, ctlog, tsa });
  }

  /** Signs `payload` into a DSSE bundle with `sigstore.attest`. */
  async attest(payload: Uint8Array, options: AttestOptions = {}): Promise<BundleJson> {
    const claims = {
      sub: options.identity ?? DEFAULT_IDENTITY,
      iss: options.issuer ?? DEFAULT_ISSUER,
    };
    const bundle = await sigstore.attest(
      Buffer.from(payload),
      options.payloadType ?? IN_TOTO_PAYLOAD_TYPE,
      {
        fulcioURL: this.baseURL,
        rekorURL: this.baseURL,
        tlogUpload: options.tlog ?? true,
        ...(options.tsa ? { tsaServerURL: this.baseURL } : {}),
        identityToken: unsignedJwt(claims),
        retry: 0,
        timeout: 5000,
      },
    ) as unknown as BundleJson;
    if (options.rekorV2) this.#addRekorV2Entry(bundle);
    return bundle;
  }

  /** Signs `artifact` into a message-signature bundle with `sigstore.sign` (Rekor v1). */
  async sign(
    artifact: Uint8Array,
    options: Pick<AttestOptions, "identity" | "issuer"> = {},
  ): Promise<BundleJson> {
    return await sigstore.sign(Buffer.from(artifact), {
      fulcioURL: this.baseURL,
      rekorURL: this.baseURL,
      identityToken: unsignedJwt({
        sub: options.identity ?? DEFAULT_IDENTITY,
        iss: options.issuer ?? DEFAULT_ISSUER,
      }),
      retry: 0,
      timeout: 5000,
    }) as unknown as BundleJson;
  }

  /** The instance as a TrustedRoot JSON document. */
  trustedRoot(): BundleJson {
    const tlogKey = this.#tlogKeys.publicKey.export({ format: "der", type: "spki" });
    return {
      mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
      tlogs: [{
        baseUrl: this.baseURL,
        hashAlgorithm: "SHA2_256",
        publicKey: {
          rawBytes: b64(tlogKey),
          keyDetails: "PKIX_ECDSA_P256_SHA_256",
          validFor: { start: TRUST_START },
        },
        logId: { keyId: b64(sha256(tlogKey)) },
      }],
      certificateAuthorities: [{
        subject: { organization: "sigstore.mock", commonName: "sigstore" },
        uri: this.baseURL,
        certChain: { certificates: [{ rawBytes: b64(this.#ca.rootCertificate) }] },
        validFor: { start: TRUST_START },
      }],
      ctlogs: [{
        baseUrl: this.baseURL,
        hashAlgorithm: "SHA2_256",
        publicKey: {
          rawBytes: b64(this.#ctlog.publicKey),
          keyDetails: "PKIX_ECDSA_P256_SHA_256",
          validFor: { start: TRUST_START },
        },
        logId: { keyId: b64(this.#ctlog.logID) },
      }],
      timestampAuthorities: [{
        subject: { organization: "sigstore.mock", commonName: "tsa" },
        uri: this.baseURL,
        certChain: {
          certificates: [
            { rawBytes: b64(this.#tsa.intCertificate) },
            { rawBytes: b64(this.#tsa.rootCertificate) },
          ],
        },
        validFor: { start: TRUST_START },
      }],
    };
  }

  /** The instance as a ClientTrustConfig (what `model_signing --trust_config` reads). */
  clientTrustConfig(): BundleJson {
    return {
      mediaType: "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json",
      trustedRoot: this.trustedRoot(),
      signingConfig: {
        mediaType: "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        caUrls: [{ url: this.baseURL, majorApiVersion: 1, validFor: { start: TRUST_START } }],
        rekorTlogUrls: [{
          url: this.baseURL,
          majorApiVersion: 1,
          validFor: { start: TRUST_START },
        }],
        tsaUrls: [{ url: this.baseURL, majorApiVersion: 1, validFor: { start: TRUST_START } }],
        rekorTlogConfig: { selector: "ANY" },
        tsaConfig: { selector: "ANY" },
      },
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#server.shutdown();
  }

  /**
   * Appends a Rekor v2 style entry for the bundle's DSSE envelope: a `dsse` 0.0.2 body, a tree
   * of size 1, a checkpoint signed with the log key, no inclusion promise, integratedTime 0.
   */
  #addRekorV2Entry(bundle: BundleJson): void {
    const envelope = bundle.dsseEnvelope as {
      payload: string;
      signatures: { sig: string }[];
    };
    const material = bundle.verificationMaterial as {
      certificate: { rawBytes: string };
      tlogEntries?: unknown[];
    };
    material.tlogEntries ??= [];
    const body = Buffer.from(JSON.stringify(Entry.toJSON({
      kind: "dsse",
      apiVersion: "0.0.2",
      spec: {
        spec: {
          $case: "dsseV002",
          dsseV002: {
            payloadHash: {
              algorithm: HashAlgorithm.SHA2_256,
              digest: sha256(Buffer.from(envelope.payload, "base64")),
            },
            signatures: [{
              content: Buffer.from(envelope.signatures[0]!.sig, "base64"),
              verifier: {
                keyDetails: PublicKeyDetails.PKIX_ECDSA_P256_SHA_256,
                verifier: {
                  $case: "x509Certificate",
                  x509Certificate: {
                    rawBytes: Buffer.from(material.certificate.rawBytes, "base64"),
                  },
                },
              },
            }],
          },
        },
      },
    })));
    const tlogKey = this.#tlogKeys.publicKey.export({ format: "der", type: "spki" });
    const logId = sha256(tlogKey);
    const rootHash = sha256(Buffer.concat([Buffer.from([0]), body]));
    const origin = new URL(this.baseURL).host;
    const note = `${origin}\n1\n${b64(rootHash)}\n`;
    const signature = nodeCrypto.sign("sha256", Buffer.from(note), this.#tlogKeys.privateKey);
    const checkpoint = `${note}\n\u2014 ${origin} ${
      b64(Buffer.concat([logId.subarray(0, 4), signature]))
    }\n`;
    material.tlogEntries.push({
      logIndex: "0",
      logId: { keyId: b64(logId) },
      kindVersion: { kind: "dsse", version: "0.0.2" },
      integratedTime: "0",
      inclusionProof: {
        logIndex: "0",
        rootHash: b64(rootHash),
        treeSize: "1",
        hashes: [],
        checkpoint: { envelope: checkpoint },
      },
      canonicalizedBody: b64(body),
    });
  }
}

/** Parses a bundle JSON object the way the core does. */
export function toParsedBundle(bundle: BundleJson, source = "model.sig"): ParsedBundle {
  return parseBundle(new TextEncoder().encode(JSON.stringify(bundle)), source);
}

/** A deep copy of a bundle, for tampering. */
export function cloneBundle(bundle: BundleJson): BundleJson {
  return structuredClone(bundle);
}

/** Flips the lowest bit of byte `index` of a base64 value. */
export function flipBase64(value: string, index = 0): string {
  const bytes = Buffer.from(value, "base64");
  bytes[index % bytes.length]! ^= 1;
  return bytes.toString("base64");
}

/** A minimal in-toto statement, as bytes. */
export function statementBytes(name = "model", sha256Hex = "0".repeat(64)): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ name, digest: { sha256: sha256Hex } }],
    predicateType: "https://model_signing/signature/v1.0",
    predicate: {},
  }));
}

let scratchDir: string | undefined;

/**
 * Writes JSON to a new file in a per-process temp dir (removed when the process unloads) and
 * returns its path.
 */
export async function writeTempJson(value: unknown): Promise<string> {
  if (scratchDir === undefined) {
    const dir = await Deno.makeTempDir({ prefix: "model-verify-sigstore-test-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    scratchDir = dir;
  }
  const path = await Deno.makeTempFile({ dir: scratchDir, suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(value));
  return path;
}

/**
 * What Rekor v1 stores for a proposed `dsse` 0.0.1 entry: hashes of the envelope and payload and
 * the signatures with their verifiers. Other kinds are stored as proposed.
 */
function toStoredEntry(proposed: {
  kind: string;
  apiVersion: string;
  spec: { proposedContent?: { envelope: string; verifiers: string[] } };
}): unknown {
  const content = proposed.spec.proposedContent;
  if (proposed.kind !== "dsse" || !content) return proposed;
  const envelope = JSON.parse(content.envelope) as {
    payload: string;
    signatures: { sig: string }[];
  };
  const hex = (data: Uint8Array) => Buffer.from(data).toString("hex");
  return {
    apiVersion: proposed.apiVersion,
    kind: "dsse",
    spec: {
      envelopeHash: { algorithm: "sha256", value: hex(sha256(Buffer.from(content.envelope))) },
      payloadHash: {
        algorithm: "sha256",
        value: hex(sha256(Buffer.from(envelope.payload, "base64"))),
      },
      signatures: envelope.signatures.map((signature, i) => ({
        signature: signature.sig,
        verifier: content.verifiers[i] ?? content.verifiers[0],
      })),
    },
  };
}

function ecKeyPair(): KeyPair {
  return nodeCrypto.generateKeyPairSync("ec", { namedCurve: "P-256" });
}

function unsignedJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return `${part({ alg: "none", typ: "JWT" })}.${part(claims)}.`;
}

function sha256(data: Uint8Array): Buffer {
  return nodeCrypto.createHash("sha256").update(data).digest();
}

function b64(data: Uint8Array | ArrayBufferView): string {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64");
}
