/**
 * The IDENTIFY body an nsqd sends to nsqlookupd (nsq `nsqd/lookup.go` `connectCallback`), decoded
 * the way Go's `encoding/json` fills nsqlookupd's `PeerInfo`: unknown keys are ignored, keys match
 * case-insensitively, `null` leaves a field empty, the last duplicate wins, and a value of the wrong
 * JSON type (a string port, a fractional or out-of-range number) fails the whole decode.
 */

import { jsonTopLevelEntries } from "../protocol/go_json.ts";

/** The fields of `PeerInfo` that come from the IDENTIFY body. */
export interface IdentifyFields {
  hostname: string;
  broadcastAddress: string;
  tcpPort: number;
  httpPort: number;
  version: string;
  topologyZone: string;
  topologyRegion: string;
}

type FieldKind = "string" | "int";

/** JSON name → field. `remote_address` is decoded (so its type is checked) and then overwritten. */
const FIELDS: Record<string, [keyof IdentifyFields | null, FieldKind]> = {
  remote_address: [null, "string"],
  hostname: ["hostname", "string"],
  broadcast_address: ["broadcastAddress", "string"],
  tcp_port: ["tcpPort", "int"],
  http_port: ["httpPort", "int"],
  version: ["version", "string"],
  topology_zone: ["topologyZone", "string"],
  topology_region: ["topologyRegion", "string"],
};

const INT_LITERAL = /^-?(0|[1-9][0-9]*)$/;
const TWO_63 = 1n << 63n;
// Keep a byte-order mark: Go's decoder rejects it, TextDecoder would silently drop it.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/**
 * Decodes an IDENTIFY body; throws an Error (with a Go-like message, for the log) when Go's
 * `json.Unmarshal` into `PeerInfo` would fail.
 *
 * @example
 * ```ts
 * import { decodeIdentifyBody } from "./identify.ts";
 * const body = new TextEncoder().encode('{"TCP_PORT":4150,"http_port":4151,"version":"1.3.0"}');
 * const f = decodeIdentifyBody(body);
 * console.assert(f.tcpPort === 4150 && f.broadcastAddress === "");
 * ```
 */
export function decodeIdentifyBody(body: Uint8Array): IdentifyFields {
  const text = decoder.decode(body);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new Error(body.length === 0 ? "unexpected end of JSON input" : (err as Error).message);
  }
  const out: IdentifyFields = {
    hostname: "",
    broadcastAddress: "",
    tcpPort: 0,
    httpPort: 0,
    version: "",
    topologyZone: "",
    topologyRegion: "",
  };
  if (doc === null) return out;
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new Error(`json: cannot unmarshal ${jsonKind(doc)} into Go value of type nsqlookupd.PeerInfo`);
  }
  // JSON.parse turns numbers into doubles: take the raw text of each top-level value instead.
  let firstError: Error | null = null;
  for (const [key, raw] of jsonTopLevelEntries(text)) {
    const field = FIELDS[key.toLowerCase()];
    if (field === undefined || raw === "null") continue;
    const [name, kind] = field;
    try {
      const value = convert(raw, kind, key);
      if (name !== null) (out as unknown as Record<string, unknown>)[name] = value;
    } catch (err) {
      // Go keeps decoding after a type error and reports the first one at the end.
      firstError ??= err as Error;
    }
  }
  if (firstError !== null) throw firstError;
  return out;
}

function convert(raw: string, kind: FieldKind, key: string): string | number {
  if (kind === "string") {
    if (raw[0] !== '"') throw typeError(raw, key, "string");
    return JSON.parse(raw) as string;
  }
  if (!INT_LITERAL.test(raw)) throw typeError(raw, key, "int");
  const v = BigInt(raw);
  if (v < -TWO_63 || v >= TWO_63) throw typeError(raw, key, "int");
  return Number(v);
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "string") return "string";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return "number";
  return "object";
}

function typeError(raw: string, key: string, goType: string): Error {
  const c = raw[0];
  const what = c === '"'
    ? "string"
    : c === "{"
    ? "object"
    : c === "["
    ? "array"
    : raw === "true" || raw === "false"
    ? "bool"
    : "number " + raw;
  return new Error(`json: cannot unmarshal ${what} into Go struct field PeerInfo.${key} of type ${goType}`);
}
