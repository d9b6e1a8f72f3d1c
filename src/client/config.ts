/**
 * Client configuration: go-nsq v1.1.0's `Config` (shared/nsq-reference.md §9.1) with its option
 * names in camelCase, durations in milliseconds, the same defaults and the same `min`/`max` ranges.
 * `resolveClientConfig()` fills defaults and validates once; a bad value is a RangeError (or a
 * TypeError for a wrong type) naming the option and the allowed range.
 */
import { RELEASE_VERSION } from "../internal/version.ts";

/** go-nsq's backoff strategies. */
export type BackoffStrategy = "exponential" | "full_jitter";

/**
 * TLS settings of a client (go-nsq's `tls_root_ca_file`, `tls_cert`, `tls_key`,
 * `tls_insecure_skip_verify`), with PEM text instead of file names. Used when `tlsV1` is set.
 */
export interface TlsClientOptions {
  /** PEM CA bundle the nsqd certificate must chain to (default: the runtime's trusted roots). */
  ca?: string;
  /** PEM client certificate, for an nsqd with `--tls-client-auth-policy`; needs `key`. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /** Accept any nsqd certificate: the connection is encrypted but nsqd is not authenticated. */
  insecureSkipVerify?: boolean;
  /** The name nsqd's certificate must match (default: the host part of the nsqd address). */
  serverName?: string;
}

/** Every option of a client (Producer or Consumer); durations in milliseconds. */
export interface ClientConfig {
  /** TCP connect timeout (go-nsq `dial_timeout`, default 1 s). */
  dialTimeout: number;
  /** A connection with nothing received for this long is closed (`read_timeout`, 100 ms–5 min, default 60 s). */
  readTimeout: number;
  /** Longest wait for written bytes to leave (`write_timeout`, 100 ms–5 min, default 1 s). */
  writeTimeout: number;
  /** Period of nsqlookupd polls and of reconnects (`lookupd_poll_interval`, 10 ms–5 min, default 60 s). */
  lookupdPollInterval: number;
  /** Fraction of the poll interval used as random start delay (`lookupd_poll_jitter`, 0–1, default 0.3). */
  lookupdPollJitter: number;
  /** Timeout of one nsqlookupd HTTP query (`lookupd_poll_timeout`, default 60 s). */
  lookupdPollTimeout: number;
  /** Cap of a computed requeue delay (`max_requeue_delay`, 0–60 min, default 15 min). */
  maxRequeueDelay: number;
  /** Requeue delay per attempt (`default_requeue_delay`, 0–60 min, default 90 s). */
  defaultRequeueDelay: number;
  /** `exponential` (default) or `full_jitter`. */
  backoffStrategy: BackoffStrategy;
  /** Cap of one backoff period, 0 disables backoff (`max_backoff_duration`, 0–60 min, default 2 min). */
  maxBackoffDuration: number;
  /** Unit of the backoff formula (`backoff_multiplier`, 0–60 min, default 1 s). */
  backoffMultiplier: number;
  /** Give up on a message after this many attempts, 0 = never (`max_attempts`, 0–65535, default 5). */
  maxAttempts: number;
  /** Reclaim RDY from a connection idle this long (`low_rdy_idle_timeout`, 1 s–5 min, default 10 s). */
  lowRdyIdleTimeout: number;
  /** Reclaim RDY held this long (`low_rdy_timeout`, 1 s–5 min, default 30 s). */
  lowRdyTimeout: number;
  /** Period of RDY redistribution (`rdy_redistribute_interval`, 1 ms–5 s, default 5 s). */
  rdyRedistributeInterval: number;
  /** IDENTIFY `client_id` (default: the host name up to the first dot). */
  clientId: string;
  /** IDENTIFY `hostname` (default: the host name). */
  hostname: string;
  /** IDENTIFY `user_agent` (default `nsq-ts/<version>`). */
  userAgent: string;
  /** Heartbeats asked of nsqd, -1 disables (`heartbeat_interval`, default 30 s; nsqd accepts 1 s up to its max). */
  heartbeatInterval: number;
  /** Percentage of the channel's messages to receive, 0 = all (`sample_rate`, 0–99). */
  sampleRate: number;
  /**
   * Ask for TLS (`tls_v1`): when nsqd agrees, the connection is upgraded after IDENTIFY. As go-nsq,
   * the connection stays plain if nsqd has no TLS configured (its IDENTIFY reply says `tls_v1: false`).
   */
  tlsV1: boolean;
  /** CA, client certificate, skip-verify and server name for `tlsV1` (go-nsq `tls_config`). */
  tlsConfig?: TlsClientOptions;
  /** Ask for deflate compression (`deflate`); not together with `snappy`. */
  deflate: boolean;
  /** Deflate level (`deflate_level`, 1–9, default 6; nsqd lowers it to its `--max-deflate-level`). */
  deflateLevel: number;
  /** Ask for snappy compression (`snappy`); not together with `deflate`. */
  snappy: boolean;
  /** nsqd's output buffer for this connection in bytes, -1 = unbuffered (`output_buffer_size`, default 16384). */
  outputBufferSize: number;
  /** nsqd's flush timeout for this connection, -1 = no timed flush (`output_buffer_timeout`, default 250 ms). */
  outputBufferTimeout: number;
  /** A consumer's total RDY budget (`max_in_flight`, ≥ 0, default 1). */
  maxInFlight: number;
  /** Server-side message timeout, 0 = nsqd's default (`msg_timeout`, ≥ 0). */
  msgTimeout: number;
  /** Secret sent with AUTH when nsqd requires it (`auth_secret`). */
  authSecret: string;
}

/** Ranges of go-nsq's `min`/`max` struct tags (durations converted to ms). */
const RANGES: Partial<Record<keyof ClientConfig, { min?: number; max?: number; int?: boolean }>> = {
  dialTimeout: { min: 0 },
  readTimeout: { min: 100, max: 5 * 60_000 },
  writeTimeout: { min: 100, max: 5 * 60_000 },
  lookupdPollInterval: { min: 10, max: 5 * 60_000 },
  lookupdPollJitter: { min: 0, max: 1 },
  lookupdPollTimeout: { min: 0 },
  maxRequeueDelay: { min: 0, max: 60 * 60_000 },
  defaultRequeueDelay: { min: 0, max: 60 * 60_000 },
  maxBackoffDuration: { min: 0, max: 60 * 60_000 },
  backoffMultiplier: { min: 0, max: 60 * 60_000 },
  maxAttempts: { min: 0, max: 65535, int: true },
  lowRdyIdleTimeout: { min: 1000, max: 5 * 60_000 },
  lowRdyTimeout: { min: 1000, max: 5 * 60_000 },
  rdyRedistributeInterval: { min: 1, max: 5000 },
  heartbeatInterval: { int: true },
  sampleRate: { min: 0, max: 99, int: true },
  deflateLevel: { min: 1, max: 9, int: true },
  outputBufferSize: { int: true },
  outputBufferTimeout: {},
  maxInFlight: { min: 0, int: true },
  msgTimeout: { min: 0 },
};

const BOOLEANS: readonly (keyof ClientConfig)[] = ["tlsV1", "deflate", "snappy"];
const STRINGS: readonly (keyof ClientConfig)[] = ["clientId", "hostname", "userAgent", "authSecret"];

/** go-nsq's defaults; the identity fields come from `hostname`. */
export function defaultClientConfig(hostname: string): ClientConfig {
  return {
    dialTimeout: 1000,
    readTimeout: 60_000,
    writeTimeout: 1000,
    lookupdPollInterval: 60_000,
    lookupdPollJitter: 0.3,
    lookupdPollTimeout: 60_000,
    maxRequeueDelay: 15 * 60_000,
    defaultRequeueDelay: 90_000,
    backoffStrategy: "exponential",
    maxBackoffDuration: 2 * 60_000,
    backoffMultiplier: 1000,
    maxAttempts: 5,
    lowRdyIdleTimeout: 10_000,
    lowRdyTimeout: 30_000,
    rdyRedistributeInterval: 5000,
    clientId: hostname.split(".")[0],
    hostname,
    userAgent: `nsq-ts/${RELEASE_VERSION}`,
    heartbeatInterval: 30_000,
    sampleRate: 0,
    tlsV1: false,
    deflate: false,
    deflateLevel: 6,
    snappy: false,
    outputBufferSize: 16384,
    outputBufferTimeout: 250,
    maxInFlight: 1,
    msgTimeout: 0,
    authSecret: "",
  };
}

function fmtMs(key: keyof ClientConfig, v: number): string {
  const r = RANGES[key];
  if (r?.int || key === "lookupdPollJitter") return String(v);
  return `${v} ms`;
}

/**
 * Defaults plus `options`, validated as go-nsq's `Config.Validate()` does.
 *
 * @throws {TypeError} an unknown option or a value of the wrong type
 * @throws {RangeError} a value outside its range, or `heartbeatInterval` > `readTimeout`
 */
export function resolveClientConfig(options: Partial<ClientConfig>, hostname: string): ClientConfig {
  const config = defaultClientConfig(hostname);
  for (const [key, value] of Object.entries(options) as [keyof ClientConfig, unknown][]) {
    if (value === undefined) continue;
    if (key === "tlsConfig") {
      config.tlsConfig = validateTlsOptions(value);
      continue;
    }
    if (!(key in config)) throw new TypeError(`unknown client option "${key}"`);
    (config as unknown as Record<string, unknown>)[key] = value;
  }
  for (const key of Object.keys(config) as (keyof ClientConfig)[]) {
    if (key === "tlsConfig") continue;
    const value = config[key];
    if (BOOLEANS.includes(key)) {
      if (typeof value !== "boolean") {
        throw new TypeError(`option ${key} must be a boolean, got ${String(value)}`);
      }
      continue;
    }
    if (STRINGS.includes(key)) {
      if (typeof value !== "string") {
        throw new TypeError(`option ${key} must be a string, got ${String(value)}`);
      }
      continue;
    }
    if (key === "backoffStrategy") {
      if (value !== "exponential" && value !== "full_jitter") {
        throw new RangeError(
          `option backoffStrategy must be "exponential" or "full_jitter", got ${String(value)}`,
        );
      }
      continue;
    }
    const range = RANGES[key] ?? {};
    if (typeof value !== "number" || !Number.isFinite(value)) {
      throw new TypeError(`option ${key} must be a finite number, got ${String(value)}`);
    }
    if (range.int && !Number.isInteger(value)) {
      throw new RangeError(`option ${key} must be an integer, got ${value}`);
    }
    const min = range.min, max = range.max;
    if ((min !== undefined && value < min) || (max !== undefined && value > max)) {
      const allowed = max === undefined
        ? `at least ${fmtMs(key, min!)}`
        : `between ${fmtMs(key, min!)} and ${fmtMs(key, max)}`;
      throw new RangeError(`option ${key} must be ${allowed}, got ${fmtMs(key, value)}`);
    }
  }
  if (config.snappy && config.deflate) {
    // nsqd would refuse the IDENTIFY (E_IDENTIFY_FAILED): say so before connecting.
    throw new RangeError("options snappy and deflate cannot both be enabled");
  }
  if (config.tlsConfig !== undefined && !config.tlsV1) {
    // Not an error in go-nsq, which then connects in plain text; a TLS setting that is ignored is
    // more likely a mistake.
    throw new RangeError("option tlsConfig needs tlsV1: true");
  }
  if (config.heartbeatInterval > config.readTimeout) {
    throw new RangeError(
      `option heartbeatInterval (${config.heartbeatInterval} ms) must be less than readTimeout (${config.readTimeout} ms)`,
    );
  }
  return config;
}

const TLS_KEYS = ["ca", "cert", "key", "insecureSkipVerify", "serverName"];

function validateTlsOptions(value: unknown): TlsClientOptions {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(`option tlsConfig must be an object, got ${String(value)}`);
  }
  const o = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined) continue;
    if (!TLS_KEYS.includes(k)) throw new TypeError(`unknown option tlsConfig.${k}`);
    const want = k === "insecureSkipVerify" ? "boolean" : "string";
    if ((want === "boolean" ? typeof v !== "boolean" : typeof v !== "string")) {
      throw new TypeError(`option tlsConfig.${k} must be a ${want}, got ${String(v)}`);
    }
  }
  if ((o.cert === undefined) !== (o.key === undefined)) {
    throw new RangeError("options tlsConfig.cert and tlsConfig.key must be given together");
  }
  return { ...o } as TlsClientOptions;
}
