/**
 * The IDENTIFY body an nsqd sends to nsqlookupd (nsq `nsqd/lookup.go` `connectCallback`), decoded
 * the way Go's `encoding/json` fills nsqlookupd's `PeerInfo`: unknown keys are ignored, keys match
 * case-insensitively, `null` leaves a field empty, the last duplicate wins, and a value of the wrong
 * JSON type (a string port, a fractional or out-of-range number) fails the whole decode.
 */

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
  for (const [key, raw] of topLevelEntries(text)) {
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

/** The top-level object's keys with the raw text of their values (the text is valid JSON). */
function topLevelEntries(text: string): [string, string][] {
  const out: [string, string][] = [];
  let i = skipWs(text, 0) + 1; // past '{'
  i = skipWs(text, i);
  if (text[i] === "}") return out;
  for (;;) {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, skipWs(text, keyEnd) + 1); // past ':'
    const start = i;
    i = skipValue(text, i);
    out.push([key, text.slice(start, i)]);
    i = skipWs(text, i);
    if (text[i] !== ",") return out;
    i = skipWs(text, i + 1);
  }
}

function skipWs(t: string, i: number): number {
  while (i < t.length && (t[i] === " " || t[i] === "\t" || t[i] === "\n" || t[i] === "\r")) i++;
  return i;
}

function skipString(t: string, i: number): number {
  i++; // opening quote
  while (t[i] !== '"') i += t[i] === "\\" ? 2 : 1;
  return i + 1;
}

function skipValue(t: string, i: number): number {
  const c = t[i];
  if (c === '"') return skipString(t, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    while (i < t.length) {
      const ch = t[i];
      if (ch === '"') {
        i = skipString(t, i);
        continue;
      }
      if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < t.length && !",}] \t\n\r".includes(t[i])) i++;
  return i;
}
