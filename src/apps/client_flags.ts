/**
 * The flags the NSQ utility apps share (shared/nsq-reference.md §10.1): `--consumer-opt` /
 * `--producer-opt` (go-nsq's `ConfigFlag`, `key,value` → `Config.Set`), and the source flags
 * `--nsqd-tcp-address` / `--lookupd-http-address` with upstream's "exactly one of them" check.
 *
 * go-nsq's option keys map onto the client's camelCase options; values are coerced and
 * range-checked as `Config.Set` does, so a bad one fails flag parsing with go-nsq's text
 * (`invalid value "read_timeout,5" for flag -consumer-opt: failed to coerce option read_timeout
 * (5) - time: missing unit in duration "5"`, exit 2).
 *
 * @module
 */
import { readFileSync } from "node:fs";
import type { ClientConfig } from "../client/config.ts";
import { type FlagSpec, formatDuration, type ParsedFlags, parseDuration } from "../cli/flags.ts";

/** Kinds of go-nsq option values. */
type OptKind =
  | "duration"
  | "float"
  | "int"
  | "bool"
  | "string"
  | "strategy"
  | "tls-file"
  | "tls-bool"
  | "tls-version";

interface OptSpec {
  /** The client option it sets (`null`: validated, then ignored — see {@link IGNORED_OPTIONS}). */
  field: keyof ClientConfig | "tlsConfig" | null;
  kind: OptKind;
  /** Bounds in Go units: nanoseconds for durations. */
  min?: number;
  max?: number;
  /** The key inside `tlsConfig` for the `tls-*` kinds. */
  tlsKey?: "ca" | "cert" | "key" | "insecureSkipVerify";
}

const MS = 1e6;
const S = 1000 * MS;
const MIN = 60 * S;

/** go-nsq v1.1.0's `Config` keys (§9.1) and what each sets. */
const GO_NSQ_OPTIONS: Record<string, OptSpec> = {
  dial_timeout: { field: "dialTimeout", kind: "duration" },
  read_timeout: { field: "readTimeout", kind: "duration", min: 100 * MS, max: 5 * MIN },
  write_timeout: { field: "writeTimeout", kind: "duration", min: 100 * MS, max: 5 * MIN },
  local_addr: { field: null, kind: "string" },
  lookupd_poll_interval: { field: "lookupdPollInterval", kind: "duration", min: 10 * MS, max: 5 * MIN },
  lookupd_poll_jitter: { field: "lookupdPollJitter", kind: "float", min: 0, max: 1 },
  lookupd_poll_timeout: { field: "lookupdPollTimeout", kind: "duration" },
  max_requeue_delay: { field: "maxRequeueDelay", kind: "duration", min: 0, max: 60 * MIN },
  default_requeue_delay: { field: "defaultRequeueDelay", kind: "duration", min: 0, max: 60 * MIN },
  backoff_strategy: { field: "backoffStrategy", kind: "strategy" },
  max_backoff_duration: { field: "maxBackoffDuration", kind: "duration", min: 0, max: 60 * MIN },
  backoff_multiplier: { field: "backoffMultiplier", kind: "duration", min: 0, max: 60 * MIN },
  max_attempts: { field: "maxAttempts", kind: "int", min: 0, max: 65535 },
  low_rdy_idle_timeout: { field: "lowRdyIdleTimeout", kind: "duration", min: S, max: 5 * MIN },
  low_rdy_timeout: { field: "lowRdyTimeout", kind: "duration", min: S, max: 5 * MIN },
  rdy_redistribute_interval: { field: "rdyRedistributeInterval", kind: "duration", min: MS, max: 5 * S },
  client_id: { field: "clientId", kind: "string" },
  hostname: { field: "hostname", kind: "string" },
  user_agent: { field: "userAgent", kind: "string" },
  heartbeat_interval: { field: "heartbeatInterval", kind: "duration" },
  sample_rate: { field: "sampleRate", kind: "int", min: 0, max: 99 },
  tls_v1: { field: "tlsV1", kind: "bool" },
  tls_root_ca_file: { field: "tlsConfig", kind: "tls-file", tlsKey: "ca" },
  tls_insecure_skip_verify: { field: "tlsConfig", kind: "tls-bool", tlsKey: "insecureSkipVerify" },
  tls_cert: { field: "tlsConfig", kind: "tls-file", tlsKey: "cert" },
  tls_key: { field: "tlsConfig", kind: "tls-file", tlsKey: "key" },
  tls_min_version: { field: null, kind: "tls-version" },
  deflate: { field: "deflate", kind: "bool" },
  deflate_level: { field: "deflateLevel", kind: "int", min: 1, max: 9 },
  snappy: { field: "snappy", kind: "bool" },
  output_buffer_size: { field: "outputBufferSize", kind: "int" },
  output_buffer_timeout: { field: "outputBufferTimeout", kind: "duration" },
  max_in_flight: { field: "maxInFlight", kind: "int", min: 0 },
  msg_timeout: { field: "msgTimeout", kind: "duration", min: 0 },
  auth_secret: { field: "authSecret", kind: "string" },
  skip_lookupd_authorization: { field: null, kind: "bool" },
};

/**
 * go-nsq keys that are accepted and checked but change nothing here: `local_addr` (the client
 * dials from the default address), `tls_min_version` (the runtime's TLS minimum, TLS 1.2, applies)
 * and `skip_lookupd_authorization`.
 */
export const IGNORED_OPTIONS: readonly string[] = Object.entries(GO_NSQ_OPTIONS)
  .filter(([, s]) => s.field === null).map(([k]) => k);

/**
 * go-nsq keys this client has no equivalent for: refused with a clear message (exit 2) rather than
 * mistaken for a typo (`tls_config` takes a Go `*tls.Config`, not text; the others are newer go-nsq's).
 */
const UNSUPPORTED_OPTIONS: ReadonlySet<string> = new Set([
  "tls_config",
  "topology_region",
  "topology_zone",
  "max_msg_size",
]);

/** What `--consumer-opt`/`--producer-opt` build: client options (TLS material as PEM text). */
export type ClientFlagOptions = Partial<ClientConfig> & {
  tlsConfig?: { ca?: string; cert?: string; key?: string; insecureSkipVerify?: boolean };
};

/**
 * go-nsq's `Config.Set(name, value)` for a string value: sets `options` or throws an Error with
 * go-nsq's message. TLS files are read now (`tls_root_ca_file`, `tls_cert`, `tls_key`).
 *
 * @example
 * ```ts
 * import { setClientOption } from "./client_flags.ts";
 * const o = {};
 * setClientOption(o, "read-timeout", "2s"); // { readTimeout: 2000 }
 * ```
 */
export function setClientOption(
  options: ClientFlagOptions,
  name: string,
  value: string,
  readText: (path: string) => string = (p) => readFileSync(p, "utf8"),
): void {
  const key = name.replaceAll("-", "_");
  if (UNSUPPORTED_OPTIONS.has(key)) throw new Error(`option ${key} is not supported by this client`);
  const spec = GO_NSQ_OPTIONS[key];
  if (spec === undefined) throw new Error(`invalid option ${name}`);
  const coerceError = (err: string) => new Error(`failed to coerce option ${key} (${value}) - ${err}`);
  let v: number | boolean | string;
  switch (spec.kind) {
    case "duration":
      try {
        v = parseDuration(value);
      } catch (err) {
        throw coerceError((err as Error).message);
      }
      break;
    case "float":
      v = Number(value);
      if (value.trim() === "" || !Number.isFinite(v)) {
        throw coerceError(`strconv.ParseFloat: parsing ${JSON.stringify(value)}: invalid syntax`);
      }
      break;
    case "int":
      if (!/^[+-]?\d+$/.test(value)) {
        throw coerceError(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
      }
      v = Number(value);
      break;
    case "bool":
    case "tls-bool": {
      const b = parseGoBool(value);
      if (b === undefined) {
        throw coerceError(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
      }
      v = b;
      break;
    }
    case "strategy":
      if (value === "" || value === "exponential") v = "exponential";
      else if (value === "full_jitter") v = "full_jitter";
      else throw coerceError("invalid value type");
      break;
    case "tls-version":
      if (!["ssl3.0", "tls1.0", "tls1.1", "tls1.2"].includes(value)) {
        throw new Error(`ERROR: ${value} is not a tls version`);
      }
      return;
    case "tls-file":
    case "string":
      v = value;
      break;
  }
  if (typeof v === "number") {
    const show = (n: number) => spec.kind === "duration" ? formatDuration(n) : String(n);
    if (spec.min !== undefined && v < spec.min) {
      throw new Error(`invalid ${key} ! ${show(v)} < ${show(spec.min)}`);
    }
    if (spec.max !== undefined && v > spec.max) {
      throw new Error(`invalid ${key} ! ${show(v)} > ${show(spec.max)}`);
    }
    if (spec.kind === "duration") v = v / MS;
  }
  if (spec.field === null) return;
  if (spec.field === "tlsConfig") {
    const tls = options.tlsConfig ??= {};
    if (spec.kind === "tls-file") {
      try {
        (tls as Record<string, unknown>)[spec.tlsKey!] = readText(v as string);
      } catch (err) {
        throw new Error(`${key}: ${(err as Error).message}`);
      }
    } else {
      tls.insecureSkipVerify = v as boolean;
    }
    return;
  }
  (options as Record<string, unknown>)[spec.field] = v;
}

function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}

/**
 * go-nsq's `ConfigFlag.Set("key,value")`: split at the first comma; a key alone means `true`.
 *
 * @example
 * ```ts
 * import { applyConfigFlag } from "./client_flags.ts";
 * const o = {};
 * applyConfigFlag(o, "max_attempts,10"); // { maxAttempts: 10 }
 * applyConfigFlag(o, "snappy");          // { maxAttempts: 10, snappy: true }
 * ```
 */
export function applyConfigFlag(
  options: ClientFlagOptions,
  text: string,
  readText?: (path: string) => string,
): void {
  const comma = text.indexOf(",");
  if (comma === -1) setClientOption(options, text, "true", readText);
  else setClientOption(options, text.slice(0, comma), text.slice(comma + 1), readText);
}

/**
 * The `--consumer-opt` / `--producer-opt` flag: repeatable; each value is checked as it is parsed
 * (a bad one is a flag error, exit 2). Turn the collected values into options with
 * {@link clientFlagOptions}.
 */
export function clientOptFlag(name: "consumer-opt" | "producer-opt"): FlagSpec {
  const seen: string[] = [];
  const scratch: ClientFlagOptions = {};
  return {
    name,
    kind: "strings",
    default: [],
    usage: `option to passthrough to nsq.${
      name === "consumer-opt" ? "Consumer" : "Producer"
    } (may be given multiple times, http://godoc.org/github.com/nsqio/go-nsq#Config)`,
    set: (text) => {
      applyConfigFlag(scratch, text);
      seen.push(text);
      return [...seen];
    },
  };
}

/**
 * The client options of the collected `--consumer-opt` / `--producer-opt` values, in order. Each
 * value was checked alone when parsed; the combination (go-nsq's `Config.Validate()`:
 * `heartbeat_interval` below `read_timeout`, not both `snappy` and `deflate`) is checked by the
 * Consumer or Producer they are given to, which the apps report as a `log.Fatal` (exit 1).
 */
export function clientFlagOptions(values: readonly string[]): ClientFlagOptions {
  const options: ClientFlagOptions = {};
  for (const text of values) applyConfigFlag(options, text);
  return options;
}

/** `--max-in-flight` (200). */
export const MAX_IN_FLIGHT_FLAG: FlagSpec = {
  name: "max-in-flight",
  kind: "int",
  default: 200,
  usage: "max number of messages to allow in flight",
};

/** `--nsqd-tcp-address` (repeatable). */
export const NSQD_TCP_ADDRESS_FLAG: FlagSpec = {
  name: "nsqd-tcp-address",
  kind: "strings",
  default: [],
  usage: "nsqd TCP address (may be given multiple times)",
};

/** `--lookupd-http-address` (repeatable). */
export const LOOKUPD_HTTP_ADDRESS_FLAG: FlagSpec = {
  name: "lookupd-http-address",
  kind: "strings",
  default: [],
  usage: "lookupd HTTP address (may be given multiple times)",
};

/**
 * The flags every consumer app has (nsq_tail, nsq_to_file, nsq_to_http, nsq_to_nsq):
 * `--max-in-flight`, `--nsqd-tcp-address`, `--lookupd-http-address` and `--consumer-opt`.
 */
export function consumerFlags(): FlagSpec[] {
  return [
    MAX_IN_FLIGHT_FLAG,
    NSQD_TCP_ADDRESS_FLAG,
    LOOKUPD_HTTP_ADDRESS_FLAG,
    clientOptFlag("consumer-opt"),
  ];
}

/** Where a consumer app reads from. */
export interface ConsumerSources {
  nsqdTcpAddresses: string[];
  lookupdHttpAddresses: string[];
}

/**
 * Upstream's check of the source flags: exactly one kind must be given. Throws an Error with
 * upstream's text (the app's `log.Fatal`, exit 1).
 *
 * @example
 * ```ts
 * import { consumerSources } from "./client_flags.ts";
 * consumerSources(new Map([["nsqd-tcp-address", ["127.0.0.1:4150"]], ["lookupd-http-address", []]]));
 * ```
 */
export function consumerSources(values: ParsedFlags["values"]): ConsumerSources {
  const nsqdTcpAddresses = values.get("nsqd-tcp-address") as string[];
  const lookupdHttpAddresses = values.get("lookupd-http-address") as string[];
  if (nsqdTcpAddresses.length === 0 && lookupdHttpAddresses.length === 0) {
    throw new Error("--nsqd-tcp-address or --lookupd-http-address required");
  }
  if (nsqdTcpAddresses.length > 0 && lookupdHttpAddresses.length > 0) {
    throw new Error("use --nsqd-tcp-address or --lookupd-http-address not both");
  }
  return { nsqdTcpAddresses, lookupdHttpAddresses };
}
