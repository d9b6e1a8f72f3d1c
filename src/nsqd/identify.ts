/**
 * Decoding the IDENTIFY body the way Go's `encoding/json` fills nsqd's `identifyDataV2`
 * (shared/nsq-reference.md §1.8): unknown keys are ignored, keys match case-insensitively, `null`
 * leaves a field at its zero value, and a value of the wrong JSON type — including a number with a
 * fraction or exponent for an integer field, or one out of the field's range — fails the decode.
 */
import { jsonTopLevelEntries, skipWs } from "../protocol/go_json.ts";

export interface IdentifyData {
  clientId: string;
  hostname: string;
  userAgent: string;
  heartbeatInterval: number;
  outputBufferSize: number;
  outputBufferTimeout: number;
  featureNegotiation: boolean;
  tlsV1: boolean;
  deflate: boolean;
  deflateLevel: number;
  snappy: boolean;
  sampleRate: number;
  msgTimeout: number;
  topologyRegion: string;
  topologyZone: string;
}

type FieldKind = "string" | "bool" | "int" | "int32";

const FIELDS: Record<string, [keyof IdentifyData, FieldKind]> = {
  client_id: ["clientId", "string"],
  hostname: ["hostname", "string"],
  user_agent: ["userAgent", "string"],
  heartbeat_interval: ["heartbeatInterval", "int"],
  output_buffer_size: ["outputBufferSize", "int"],
  output_buffer_timeout: ["outputBufferTimeout", "int"],
  feature_negotiation: ["featureNegotiation", "bool"],
  tls_v1: ["tlsV1", "bool"],
  deflate: ["deflate", "bool"],
  deflate_level: ["deflateLevel", "int"],
  snappy: ["snappy", "bool"],
  sample_rate: ["sampleRate", "int32"],
  msg_timeout: ["msgTimeout", "int"],
  topology_region: ["topologyRegion", "string"],
  topology_zone: ["topologyZone", "string"],
};

const INT_LITERAL = /^-?(0|[1-9][0-9]*)$/;
const decoder = new TextDecoder();

/** Decodes an IDENTIFY body; throws a plain Error when Go's json.Unmarshal would fail. */
export function decodeIdentify(body: Uint8Array): IdentifyData {
  const text = decoder.decode(body);
  JSON.parse(text); // validates the whole document (throws as Go's decoder would)
  const data: IdentifyData = {
    clientId: "",
    hostname: "",
    userAgent: "",
    heartbeatInterval: 0,
    outputBufferSize: 0,
    outputBufferTimeout: 0,
    featureNegotiation: false,
    tlsV1: false,
    deflate: false,
    deflateLevel: 0,
    snappy: false,
    sampleRate: 0,
    msgTimeout: 0,
    topologyRegion: "",
    topologyZone: "",
  };
  const entries = topLevelEntries(text);
  if (entries === null) return data; // top-level null
  let firstError: Error | null = null;
  for (const [key, raw] of entries) {
    const field = FIELDS[key.toLowerCase()];
    if (field === undefined || raw === "null") continue;
    const [name, kind] = field;
    try {
      (data as unknown as Record<string, unknown>)[name] = convert(raw, kind, key);
    } catch (err) {
      // Go goes on decoding and reports the first type error at the end.
      firstError ??= err as Error;
    }
  }
  if (firstError) throw firstError;
  return data;
}

function convert(raw: string, kind: FieldKind, key: string): unknown {
  switch (kind) {
    case "string":
      if (raw[0] !== '"') throw typeError(raw, key, "string");
      return JSON.parse(raw);
    case "bool":
      if (raw !== "true" && raw !== "false") throw typeError(raw, key, "bool");
      return raw === "true";
    case "int":
    case "int32": {
      if (!INT_LITERAL.test(raw)) throw typeError(raw, key, kind === "int" ? "int" : "int32");
      const v = BigInt(raw);
      const bits = kind === "int" ? 63n : 31n;
      if (v < -(1n << bits) || v >= 1n << bits) throw typeError(raw, key, kind === "int" ? "int" : "int32");
      return Number(v);
    }
  }
}

function typeError(raw: string, key: string, goType: string): Error {
  const what = raw[0] === '"'
    ? "string"
    : raw[0] === "{"
    ? "object"
    : raw[0] === "["
    ? "array"
    : raw === "true" || raw === "false"
    ? "bool"
    : "number " + raw;
  return new Error(
    `json: cannot unmarshal ${what} into Go struct field identifyDataV2.${key} of type ${goType}`,
  );
}

/** The top-level object's keys with the raw text of their values; null for a top-level `null`. */
function topLevelEntries(text: string): [string, string][] | null {
  const i = skipWs(text, 0);
  if (text.startsWith("null", i)) return null;
  if (text[i] !== "{") {
    const what = text[i] === "["
      ? "array"
      : text[i] === '"'
      ? "string"
      : /[tf]/.test(text[i])
      ? "bool"
      : "number";
    throw new Error(`json: cannot unmarshal ${what} into Go value of type nsqd.identifyDataV2`);
  }
  return jsonTopLevelEntries(text);
}
