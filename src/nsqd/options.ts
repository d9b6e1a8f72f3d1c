/**
 * nsqd's options (shared/nsq-reference.md §4.1): one table gives each option its flag name, its
 * config-file key, its kind and its default, so the command line, a config file and
 * `/config/:opt` all agree. Durations are held in milliseconds.
 */
import { createHash } from "node:crypto";
import { validateHttpAuth } from "../internal/http_auth.ts";
import { HTTP_AUTH_OPTION_SPECS, LOG_OPTION_SPECS, tlsFileOptionSpecs } from "../internal/option_specs.ts";
import { LogLevel } from "../internal/logger.ts";

/** nsqd's options: its flags in camelCase, durations in milliseconds. */
export interface NsqdOptions {
  /** `--node-id`: unique part for message IDs, (int) in range [0,1024) (default is hash of hostname). */
  nodeId: number;
  /** `--log-level`: set log verbosity: debug, info, warn, error, or fatal. */
  logLevel: LogLevel;
  /** `--log-prefix`: log message prefix. */
  logPrefix: string;
  /** `--tcp-address`: <addr>:<port> to listen on for TCP clients. */
  tcpAddress: string;
  /** `--http-address`: <addr>:<port> to listen on for HTTP clients. */
  httpAddress: string;
  /** `--https-address`: <addr>:<port> to listen on for HTTPS clients. */
  httpsAddress: string;
  /** `--broadcast-address`: address that will be registered with lookupd (defaults to the OS hostname). */
  broadcastAddress: string;
  /** `--broadcast-tcp-port`: TCP port that will be registered with lookupd (defaults to the TCP port that this nsqd is listening on). */
  broadcastTcpPort: number;
  /** `--broadcast-http-port`: HTTP port that will be registered with lookupd (defaults to the HTTP port that this nsqd is listening on). */
  broadcastHttpPort: number;
  /** `--lookupd-tcp-address`: lookupd TCP address (may be given multiple times). */
  lookupdTcpAddresses: string[];
  /** `--auth-http-address`: <addr>:<port> or a full url to query auth server (may be given multiple times). */
  authHttpAddresses: string[];
  /** `--auth-http-request-method`: HTTP method to use for auth server requests (get or post). */
  authHttpRequestMethod: string;
  /** `--http-client-connect-timeout`: timeout for HTTP connect (ms). */
  httpClientConnectTimeout: number;
  /** `--http-client-request-timeout`: timeout for HTTP request (ms). */
  httpClientRequestTimeout: number;
  /** `--topology-region`: A region represents a larger domain, typically a geographical region that encompasses multiple zones. */
  topologyRegion: string;
  /** `--topology-zone`: A zone represents a logical failure domain. */
  topologyZone: string;
  /** `--data-path`: path to store disk-backed messages. */
  dataPath: string;
  /** `--mem-queue-size`: number of messages to keep in memory (per topic/channel). */
  memQueueSize: number;
  /** `--max-bytes-per-file`: number of bytes per diskqueue file before rolling. */
  maxBytesPerFile: number;
  /** `--sync-every`: number of messages per diskqueue fsync. */
  syncEvery: number;
  /** `--sync-timeout`: duration of time per diskqueue fsync (ms). */
  syncTimeout: number;
  /** `--queue-scan-worker-pool-max`: max concurrency for checking in-flight and deferred message timeouts. */
  queueScanWorkerPoolMax: number;
  /** `--queue-scan-selection-count`: number of channels to check per cycle (every 100ms) for in-flight and deferred timeouts. */
  queueScanSelectionCount: number;
  /** `--msg-timeout`: default duration to wait before auto-requeing a message (ms). */
  msgTimeout: number;
  /** `--max-msg-timeout`: maximum duration before a message will timeout (ms). */
  maxMsgTimeout: number;
  /** `--max-msg-size`: maximum size of a single message in bytes. */
  maxMsgSize: number;
  /** `--max-req-timeout`: maximum requeuing timeout for a message (ms). */
  maxReqTimeout: number;
  /** `--max-body-size`: maximum size of a single command body. */
  maxBodySize: number;
  /** `--max-heartbeat-interval`: maximum client configurable duration of time between client heartbeats (ms). */
  maxHeartbeatInterval: number;
  /** `--max-rdy-count`: maximum RDY count for a client. */
  maxRdyCount: number;
  /** `--max-output-buffer-size`: maximum client configurable size (in bytes) for a client output buffer. */
  maxOutputBufferSize: number;
  /** `--max-output-buffer-timeout`: maximum client configurable duration of time between flushing to a client (ms). */
  maxOutputBufferTimeout: number;
  /** `--min-output-buffer-timeout`: minimum client configurable duration of time between flushing to a client (ms). */
  minOutputBufferTimeout: number;
  /** `--output-buffer-timeout`: default duration of time between flushing data to clients (ms). */
  outputBufferTimeout: number;
  /** `--max-channel-consumers`: maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited). */
  maxChannelConsumers: number;
  /** `--statsd-address`: UDP <addr>:<port> of a statsd daemon for pushing stats. */
  statsdAddress: string;
  /** `--statsd-interval`: duration between pushing to statsd (ms). */
  statsdInterval: number;
  /** `--statsd-mem-stats`: toggle sending memory and GC stats to statsd. */
  statsdMemStats: boolean;
  /** `--statsd-prefix`: prefix used for keys sent to statsd (%s for host replacement). */
  statsdPrefix: string;
  /** `--statsd-udp-packet-size`: the size in bytes of statsd UDP packets. */
  statsdUdpPacketSize: number;
  /** `--statsd-exclude-ephemeral`: Skip ephemeral topics and channels when sending stats to statsd. */
  statsdExcludeEphemeral: boolean;
  /** `--e2e-processing-latency-percentile`: message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated '1.0,0.99,0.5', default none). */
  e2eProcessingLatencyPercentiles: number[];
  /** `--e2e-processing-latency-window-time`: calculate end to end latency quantiles for this duration of time (ie: 60s would only show quantile calculations from the past 60 seconds) (ms). */
  e2eProcessingLatencyWindowTime: number;
  /** `--tls-cert`: path to certificate file. */
  tlsCert: string;
  /** `--tls-key`: path to key file. */
  tlsKey: string;
  /** `--tls-client-auth-policy`: client certificate auth policy ('require' or 'require-verify'). */
  tlsClientAuthPolicy: string;
  /** `--tls-root-ca-file`: path to certificate authority file. */
  tlsRootCaFile: string;
  /** `--tls-required`: require TLS for client connections (true, false, tcp-https). */
  tlsRequired: string;
  /** `--tls-min-version`: minimum SSL/TLS version acceptable ('ssl3.0', 'tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3'). */
  tlsMinVersion: string;
  /** `--deflate`: enable deflate feature negotiation (client compression). */
  deflate: boolean;
  /** `--max-deflate-level`: max deflate compression level a client can negotiate (> values == > nsqd CPU usage). */
  maxDeflateLevel: number;
  /** `--snappy`: enable snappy feature negotiation (client compression). */
  snappy: boolean;
  /** `--enable-experiment`: enable experimental feature (may be given multiple times) (valid options: topology-aware-consumption). */
  enableExperiment: string[];
  /**
   * `--sigterm`: what SIGTERM does: `clean-shutdown` (upstream's behaviour) or `drain` (refuse publishes,
   * deliver what is queued, exit once empty). The command line only: embedded, call `drain()`.
   */
  sigterm: string;
  /** `--drain-timeout`: a drain still running after this long becomes a clean shutdown (ms; 0 = no limit). */
  drainTimeout: number;
  /**
   * `--persist-deferred`: deferred messages (DPUB, REQ with a delay) keep their due time across a restart
   * (`<topic>:<channel>.deferred.dat` beside the disk queue; beyond upstream).
   */
  persistDeferred: boolean;
  /**
   * `--max-deferred-in-memory`: with --persist-deferred, deferred messages past this many per channel wait in
   * the channel's disk queue instead of memory (0 = no limit).
   */
  maxDeferredInMemory: number;
  /**
   * `--max-msg-age`: a message older than this (now − its publish timestamp) is dropped instead of delivered
   * and counted as expired (ms; 0 = off; a topic may set its own with `POST /topic/max-msg-age`).
   */
  maxMsgAge: number;
  /**
   * `--http-auth`: how HTTP API requests are authorized (beyond upstream, nsq #1183/#1426): `""` (none,
   * upstream's behaviour), `auth-server` (the `--auth-http-address` servers, secret as a Bearer token)
   * or `token-file` (`--http-auth-token-file`).
   */
  httpAuth: string;
  /** `--http-auth-token-file`: JSON file of tokens and their grants (see src/internal/http_auth.ts). */
  httpAuthTokenFile: string;
  /** `--http-auth-open`: paths whose GET needs no token under --http-auth (e.g. /ping,/info). */
  httpAuthOpen: string[];
  /** `--lookupd-tls`: dial nsqlookupd over TLS (beyond upstream, nsq #876; default plain). */
  lookupdTls: boolean;
  /** `--lookupd-tls-root-ca-file`: CA bundle that signed the lookupds' certificates (default: system roots). */
  lookupdTlsRootCaFile: string;
  /** `--lookupd-tls-cert`: client certificate shown to lookupds that require one. */
  lookupdTlsCert: string;
  /** `--lookupd-tls-key`: key of `--lookupd-tls-cert`. */
  lookupdTlsKey: string;
  /** `--lookupd-tls-skip-verify`: accept any lookupd certificate (encrypted, not authenticated). */
  lookupdTlsSkipVerify: boolean;
}

export type OptionKind = "string" | "bool" | "int" | "float" | "duration" | "strings" | "floats" | "loglevel";

/** One configurable option: its flag, its config-file key (flag with `-` → `_` unless set) and kind. */
export interface OptionSpec {
  flag: string;
  key: keyof NsqdOptions | null;
  cfg?: string;
  kind: OptionKind;
  usage: string;
}

/** Every nsqd flag, in upstream's order. `key: null` = accepted but has no option (deprecated). */
export const NSQD_OPTION_SPECS: OptionSpec[] = [
  ...LOG_OPTION_SPECS,
  {
    flag: "node-id",
    key: "nodeId",
    cfg: "id",
    kind: "int",
    usage: "unique part for message IDs, (int) in range [0,1024) (default is hash of hostname)",
  },
  { flag: "worker-id", key: null, kind: "bool", usage: "[deprecated] use --node-id" },
  {
    flag: "https-address",
    key: "httpsAddress",
    kind: "string",
    usage: "<addr>:<port> to listen on for HTTPS clients",
  },
  {
    flag: "http-address",
    key: "httpAddress",
    kind: "string",
    usage: "<addr>:<port> to listen on for HTTP clients",
  },
  {
    flag: "tcp-address",
    key: "tcpAddress",
    kind: "string",
    usage: "<addr>:<port> to listen on for TCP clients",
  },
  {
    flag: "auth-http-address",
    key: "authHttpAddresses",
    cfg: "auth_http_addresses",
    kind: "strings",
    usage: "<addr>:<port> or a full url to query auth server (may be given multiple times)",
  },
  {
    flag: "auth-http-request-method",
    key: "authHttpRequestMethod",
    cfg: "auth_http_request_method",
    kind: "string",
    usage: "HTTP method to use for auth server requests (get or post)",
  },
  {
    flag: "broadcast-address",
    key: "broadcastAddress",
    kind: "string",
    usage: "address that will be registered with lookupd (defaults to the OS hostname)",
  },
  {
    flag: "broadcast-tcp-port",
    key: "broadcastTcpPort",
    kind: "int",
    usage:
      "TCP port that will be registered with lookupd (defaults to the TCP port that this nsqd is listening on)",
  },
  {
    flag: "broadcast-http-port",
    key: "broadcastHttpPort",
    kind: "int",
    usage:
      "HTTP port that will be registered with lookupd (defaults to the HTTP port that this nsqd is listening on)",
  },
  {
    flag: "lookupd-tcp-address",
    key: "lookupdTcpAddresses",
    cfg: "nsqlookupd_tcp_addresses",
    kind: "strings",
    usage: "lookupd TCP address (may be given multiple times)",
  },
  {
    flag: "http-client-connect-timeout",
    key: "httpClientConnectTimeout",
    cfg: "http_client_connect_timeout",
    kind: "duration",
    usage: "timeout for HTTP connect",
  },
  {
    flag: "http-client-request-timeout",
    key: "httpClientRequestTimeout",
    cfg: "http_client_request_timeout",
    kind: "duration",
    usage: "timeout for HTTP request",
  },
  {
    flag: "topology-region",
    key: "topologyRegion",
    kind: "string",
    usage:
      "A region represents a larger domain, typically a geographical region that encompasses multiple zones",
  },
  {
    flag: "topology-zone",
    key: "topologyZone",
    kind: "string",
    usage: "A zone represents a logical failure domain",
  },
  { flag: "data-path", key: "dataPath", kind: "string", usage: "path to store disk-backed messages" },
  {
    flag: "mem-queue-size",
    key: "memQueueSize",
    kind: "int",
    usage: "number of messages to keep in memory (per topic/channel)",
  },
  {
    flag: "max-bytes-per-file",
    key: "maxBytesPerFile",
    kind: "int",
    usage: "number of bytes per diskqueue file before rolling",
  },
  { flag: "sync-every", key: "syncEvery", kind: "int", usage: "number of messages per diskqueue fsync" },
  {
    flag: "sync-timeout",
    key: "syncTimeout",
    kind: "duration",
    usage: "duration of time per diskqueue fsync",
  },
  {
    flag: "queue-scan-worker-pool-max",
    key: "queueScanWorkerPoolMax",
    kind: "int",
    usage: "max concurrency for checking in-flight and deferred message timeouts",
  },
  {
    flag: "queue-scan-selection-count",
    key: "queueScanSelectionCount",
    kind: "int",
    usage: "number of channels to check per cycle (every 100ms) for in-flight and deferred timeouts",
  },
  {
    flag: "msg-timeout",
    key: "msgTimeout",
    kind: "duration",
    usage: "default duration to wait before auto-requeing a message",
  },
  {
    flag: "max-msg-timeout",
    key: "maxMsgTimeout",
    kind: "duration",
    usage: "maximum duration before a message will timeout",
  },
  {
    flag: "max-msg-size",
    key: "maxMsgSize",
    kind: "int",
    usage: "maximum size of a single message in bytes",
  },
  {
    flag: "max-req-timeout",
    key: "maxReqTimeout",
    kind: "duration",
    usage: "maximum requeuing timeout for a message",
  },
  { flag: "max-body-size", key: "maxBodySize", kind: "int", usage: "maximum size of a single command body" },
  {
    flag: "max-heartbeat-interval",
    key: "maxHeartbeatInterval",
    kind: "duration",
    usage: "maximum client configurable duration of time between client heartbeats",
  },
  { flag: "max-rdy-count", key: "maxRdyCount", kind: "int", usage: "maximum RDY count for a client" },
  {
    flag: "max-output-buffer-size",
    key: "maxOutputBufferSize",
    kind: "int",
    usage: "maximum client configurable size (in bytes) for a client output buffer",
  },
  {
    flag: "max-output-buffer-timeout",
    key: "maxOutputBufferTimeout",
    kind: "duration",
    usage: "maximum client configurable duration of time between flushing to a client",
  },
  {
    flag: "min-output-buffer-timeout",
    key: "minOutputBufferTimeout",
    kind: "duration",
    usage: "minimum client configurable duration of time between flushing to a client",
  },
  {
    flag: "output-buffer-timeout",
    key: "outputBufferTimeout",
    kind: "duration",
    usage: "default duration of time between flushing data to clients",
  },
  {
    flag: "max-channel-consumers",
    key: "maxChannelConsumers",
    kind: "int",
    usage: "maximum channel consumer connection count per nsqd instance (default 0, i.e., unlimited)",
  },
  {
    flag: "statsd-address",
    key: "statsdAddress",
    kind: "string",
    usage: "UDP <addr>:<port> of a statsd daemon for pushing stats",
  },
  {
    flag: "statsd-interval",
    key: "statsdInterval",
    kind: "duration",
    usage: "duration between pushing to statsd",
  },
  {
    flag: "statsd-mem-stats",
    key: "statsdMemStats",
    kind: "bool",
    usage: "toggle sending memory and GC stats to statsd",
  },
  {
    flag: "statsd-prefix",
    key: "statsdPrefix",
    kind: "string",
    usage: "prefix used for keys sent to statsd (%s for host replacement)",
  },
  {
    flag: "statsd-udp-packet-size",
    key: "statsdUdpPacketSize",
    kind: "int",
    usage: "the size in bytes of statsd UDP packets",
  },
  {
    flag: "statsd-exclude-ephemeral",
    key: "statsdExcludeEphemeral",
    kind: "bool",
    usage: "Skip ephemeral topics and channels when sending stats to statsd",
  },
  {
    flag: "e2e-processing-latency-percentile",
    key: "e2eProcessingLatencyPercentiles",
    cfg: "e2e_processing_latency_percentiles",
    kind: "floats",
    usage:
      "message processing time percentiles (as float (0, 1.0]) to track (can be specified multiple times or comma separated '1.0,0.99,0.5', default none)",
  },
  {
    flag: "e2e-processing-latency-window-time",
    key: "e2eProcessingLatencyWindowTime",
    kind: "duration",
    usage:
      "calculate end to end latency quantiles for this duration of time (ie: 60s would only show quantile calculations from the past 60 seconds)",
  },
  ...tlsFileOptionSpecs("path to certificate file"),
  {
    flag: "tls-required",
    key: "tlsRequired",
    kind: "string",
    usage: "require TLS for client connections (true, false, tcp-https)",
  },
  {
    flag: "tls-min-version",
    key: "tlsMinVersion",
    kind: "string",
    usage: "minimum SSL/TLS version acceptable ('ssl3.0', 'tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3')",
  },
  {
    flag: "deflate",
    key: "deflate",
    kind: "bool",
    usage: "enable deflate feature negotiation (client compression)",
  },
  {
    flag: "max-deflate-level",
    key: "maxDeflateLevel",
    kind: "int",
    usage: "max deflate compression level a client can negotiate (> values == > nsqd CPU usage)",
  },
  {
    flag: "snappy",
    key: "snappy",
    kind: "bool",
    usage: "enable snappy feature negotiation (client compression)",
  },
  {
    flag: "enable-experiment",
    key: "enableExperiment",
    cfg: "enable_experiment",
    kind: "strings",
    usage:
      "enable experimental feature (may be given multiple times) (valid options: topology-aware-consumption)",
  },
  // Beyond upstream v1.3.0: draining mode (nsq issue #1302).
  {
    flag: "sigterm",
    key: "sigterm",
    kind: "string",
    usage:
      "what SIGTERM does: clean-shutdown, or drain (refuse publishes, deliver what is queued, exit once empty)",
  },
  {
    flag: "drain-timeout",
    key: "drainTimeout",
    kind: "duration",
    usage: "a drain still running after this long becomes a clean shutdown (0 = no limit)",
  },
  // Beyond upstream v1.3.0: deferred messages that survive restarts (nsq issues #34, #674, #871, #1137, #1375).
  {
    flag: "persist-deferred",
    key: "persistDeferred",
    kind: "bool",
    usage: "deferred messages (DPUB, REQ with a delay) keep their due time across restarts",
  },
  {
    flag: "max-deferred-in-memory",
    key: "maxDeferredInMemory",
    kind: "int",
    usage:
      "with --persist-deferred, deferred messages past this many per channel wait on disk (0 = no limit)",
  },
  // Beyond upstream v1.3.0: message expiry (nsq issue #302).
  {
    flag: "max-msg-age",
    key: "maxMsgAge",
    kind: "duration",
    usage: "drop (and count as expired) messages older than this instead of delivering them (0 = off)",
  },
  ...HTTP_AUTH_OPTION_SPECS,
  // Beyond upstream v1.3.0: TLS between nsqd and nsqlookupd (nsq issue #876).
  { flag: "lookupd-tls", key: "lookupdTls", kind: "bool", usage: "dial nsqlookupd over TLS" },
  {
    flag: "lookupd-tls-root-ca-file",
    key: "lookupdTlsRootCaFile",
    kind: "string",
    usage: "with --lookupd-tls: CA file to verify nsqlookupd certificates (default: system roots)",
  },
  {
    flag: "lookupd-tls-cert",
    key: "lookupdTlsCert",
    kind: "string",
    usage: "with --lookupd-tls: client certificate file for nsqlookupd",
  },
  {
    flag: "lookupd-tls-key",
    key: "lookupdTlsKey",
    kind: "string",
    usage: "with --lookupd-tls: client key file for nsqlookupd",
  },
  {
    flag: "lookupd-tls-skip-verify",
    key: "lookupdTlsSkipVerify",
    kind: "bool",
    usage: "with --lookupd-tls: do not verify nsqlookupd certificates (encrypted, not authenticated)",
  },
];

/** The config-file / `/config/:opt` name of an option. */
export function configKey(spec: OptionSpec): string {
  return spec.cfg ?? spec.flag.replaceAll("-", "_");
}

/** nsqd's default node ID: crc32(md5(hostname)) % 1024. */
export function defaultNodeId(hostname: string): number {
  const digest = createHash("md5").update(hostname).digest();
  return crc32(digest) % 1024;
}

/** The defaults of `nsqd/options.go` `NewOptions`, with durations in ms. */
export function defaultNsqdOptions(hostname: string): NsqdOptions {
  return {
    nodeId: defaultNodeId(hostname),
    logLevel: LogLevel.info,
    logPrefix: "[nsqd] ",
    tcpAddress: "0.0.0.0:4150",
    httpAddress: "0.0.0.0:4151",
    httpsAddress: "0.0.0.0:4152",
    broadcastAddress: hostname,
    broadcastTcpPort: 0,
    broadcastHttpPort: 0,
    lookupdTcpAddresses: [],
    authHttpAddresses: [],
    authHttpRequestMethod: "get",
    httpClientConnectTimeout: 2000,
    httpClientRequestTimeout: 5000,
    topologyRegion: "",
    topologyZone: "",
    dataPath: "",
    memQueueSize: 10000,
    maxBytesPerFile: 100 * 1024 * 1024,
    syncEvery: 2500,
    syncTimeout: 2000,
    queueScanWorkerPoolMax: 4,
    queueScanSelectionCount: 20,
    msgTimeout: 60_000,
    maxMsgTimeout: 15 * 60_000,
    maxMsgSize: 1024 * 1024,
    maxReqTimeout: 60 * 60_000,
    maxBodySize: 5 * 1024 * 1024,
    maxHeartbeatInterval: 60_000,
    maxRdyCount: 2500,
    maxOutputBufferSize: 64 * 1024,
    maxOutputBufferTimeout: 30_000,
    minOutputBufferTimeout: 25,
    outputBufferTimeout: 250,
    maxChannelConsumers: 0,
    statsdAddress: "",
    statsdInterval: 60_000,
    statsdMemStats: true,
    statsdPrefix: "nsq.%s",
    statsdUdpPacketSize: 508,
    statsdExcludeEphemeral: false,
    e2eProcessingLatencyPercentiles: [],
    e2eProcessingLatencyWindowTime: 10 * 60_000,
    tlsCert: "",
    tlsKey: "",
    tlsClientAuthPolicy: "",
    tlsRootCaFile: "",
    tlsRequired: "false",
    tlsMinVersion: "tls1.0",
    deflate: true,
    maxDeflateLevel: 6,
    snappy: true,
    enableExperiment: [],
    sigterm: "clean-shutdown",
    drainTimeout: 0,
    persistDeferred: false,
    maxDeferredInMemory: 0,
    maxMsgAge: 0,
    httpAuth: "",
    httpAuthTokenFile: "",
    httpAuthOpen: [],
    lookupdTls: false,
    lookupdTlsRootCaFile: "",
    lookupdTlsCert: "",
    lookupdTlsKey: "",
    lookupdTlsSkipVerify: false,
  };
}

/** Checks what `nsqd.New` checks; throws a RangeError a user can act on. */
export function validateNsqdOptions(o: NsqdOptions): void {
  // Any client certificate policy means TLS is required (nsqd.New).
  if (o.tlsClientAuthPolicy !== "" && o.tlsRequired === "false") o.tlsRequired = "true";
  if (o.maxDeflateLevel < 1 || o.maxDeflateLevel > 9) {
    throw new RangeError("--max-deflate-level must be [1,9]");
  }
  if (o.nodeId < 0 || o.nodeId >= 1024) throw new RangeError("--node-id must be [0,1024)");
  if (o.authHttpRequestMethod !== "get" && o.authHttpRequestMethod !== "post") {
    throw new RangeError("--auth-http-request-method must be post or get");
  }
  for (const p of o.e2eProcessingLatencyPercentiles) {
    if (!(p > 0 && p <= 1)) throw new RangeError(`invalid E2E processing latency percentile: ${p}`);
  }
  if (o.tlsRequired !== "false" && (o.tlsCert === "" || o.tlsKey === "")) {
    throw new RangeError("cannot require TLS client connections without TLS key and cert");
  }
  if (o.memQueueSize < 0) throw new RangeError("--mem-queue-size must be >= 0");
  if (o.sigterm !== "clean-shutdown" && o.sigterm !== "drain") {
    throw new RangeError(`--sigterm must be clean-shutdown or drain (not ${JSON.stringify(o.sigterm)})`);
  }
  if (!(o.drainTimeout >= 0)) throw new RangeError("--drain-timeout must be >= 0");
  if (!(o.maxDeferredInMemory >= 0)) throw new RangeError("--max-deferred-in-memory must be >= 0");
  if (o.maxDeferredInMemory > 0 && !o.persistDeferred) {
    throw new RangeError("--max-deferred-in-memory needs --persist-deferred");
  }
  if (!(o.maxMsgAge >= 0)) throw new RangeError("--max-msg-age must be >= 0");
  validateHttpAuth(o.httpAuth, o.httpAuthTokenFile, o.httpAuthOpen);
  const lookupdTlsSet = o.lookupdTlsRootCaFile !== "" || o.lookupdTlsCert !== "" || o.lookupdTlsKey !== "" ||
    o.lookupdTlsSkipVerify;
  if (lookupdTlsSet && !o.lookupdTls) throw new RangeError("--lookupd-tls-* options need --lookupd-tls");
  if ((o.lookupdTlsCert === "") !== (o.lookupdTlsKey === "")) {
    throw new RangeError("--lookupd-tls-cert and --lookupd-tls-key go together");
  }
  if (o.httpAuth === "auth-server" && o.authHttpAddresses.length === 0) {
    throw new RangeError("--http-auth=auth-server needs --auth-http-address");
  }
}

let CRC_TABLE: Uint32Array | undefined;

/** CRC-32 (IEEE), as Go's `crc32.ChecksumIEEE`. */
export function crc32(bytes: Uint8Array): number {
  if (!CRC_TABLE) {
    CRC_TABLE = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      CRC_TABLE[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
