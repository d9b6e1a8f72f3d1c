/**
 * nsqlookupd's options (shared/nsq-reference.md §4.3, nsq `nsqlookupd/options.go` and
 * `apps/nsqlookupd/options.go`): one table gives each option its flag, config-file key, kind and
 * usage text. Durations are held in milliseconds.
 */
import { LogLevel } from "../internal/logger.ts";
import { HTTP_AUTH_OPTION_SPECS, LOG_OPTION_SPECS, tlsFileOptionSpecs } from "../internal/option_specs.ts";

/** nsqlookupd's options: its flags in camelCase, durations in milliseconds. */
export interface NsqlookupdOptions {
  /** `--log-level`: log verbosity (1 = debug … 5 = fatal). */
  logLevel: LogLevel;
  /** `--log-prefix`: log message prefix. */
  logPrefix: string;
  /** `--tcp-address`: <addr>:<port> to listen on for TCP clients. */
  tcpAddress: string;
  /** `--http-address`: <addr>:<port> to listen on for HTTP clients. */
  httpAddress: string;
  /** Sent to nsqd in the IDENTIFY response (nsqd uses it to pre-create channels). */
  broadcastAddress: string;
  /** A producer that has not PINGed for longer is hidden from `/lookup` and `/nodes`. */
  inactiveProducerTimeout: number;
  /** How long `/topic/tombstone` hides a producer from `/lookup`. */
  tombstoneLifetime: number;
  /** `--http-auth` (beyond upstream): `""` (none), `auth-server` or `token-file`; see src/internal/http_auth.ts. */
  httpAuth: string;
  /** `--http-auth-token-file`: JSON file of tokens and their grants. */
  httpAuthTokenFile: string;
  /** `--http-auth-open`: paths whose GET needs no token under --http-auth. */
  httpAuthOpen: string[];
  /** `--auth-http-address`: auth servers for `--http-auth=auth-server` (as nsqd's flag). */
  authHttpAddresses: string[];
  /** `--auth-http-request-method`: get or post. */
  authHttpRequestMethod: string;
  /** `--tls-cert` (beyond upstream, nsq #876): with `--tls-key`, TLS on the TCP port and HTTPS on the HTTP port. */
  tlsCert: string;
  /** `--tls-key`. */
  tlsKey: string;
  /** `--tls-client-auth-policy`: `require` or `require-verify` a client certificate from nsqd. */
  tlsClientAuthPolicy: string;
  /** `--tls-root-ca-file`: CA that signs the client certificates (require-verify). */
  tlsRootCaFile: string;
  /** `--tls-min-version`: tls1.0 … tls1.3. */
  tlsMinVersion: string;
}

export type NsqlookupdOptionKind = "string" | "strings" | "bool" | "duration" | "loglevel";

/** One flag: its option (null = accepted, no effect), its kind, and its config-file key. */
export interface NsqlookupdOptionSpec {
  flag: string;
  key: keyof NsqlookupdOptions | null;
  kind: NsqlookupdOptionKind;
  usage: string;
}

/** Every nsqlookupd flag but `--config` and `--version`, in upstream's order. */
export const NSQLOOKUPD_OPTION_SPECS: readonly NsqlookupdOptionSpec[] = [
  ...LOG_OPTION_SPECS,
  {
    flag: "tcp-address",
    key: "tcpAddress",
    kind: "string",
    usage: "<addr>:<port> to listen on for TCP clients",
  },
  {
    flag: "http-address",
    key: "httpAddress",
    kind: "string",
    usage: "<addr>:<port> to listen on for HTTP clients",
  },
  {
    flag: "broadcast-address",
    key: "broadcastAddress",
    kind: "string",
    usage: "address of this lookupd node, (default to the OS hostname)",
  },
  {
    flag: "inactive-producer-timeout",
    key: "inactiveProducerTimeout",
    kind: "duration",
    usage: "duration of time a producer will remain in the active list since its last ping",
  },
  {
    flag: "tombstone-lifetime",
    key: "tombstoneLifetime",
    kind: "duration",
    usage: "duration of time a producer will remain tombstoned if registration remains",
  },
  ...HTTP_AUTH_OPTION_SPECS,
  {
    flag: "auth-http-address",
    key: "authHttpAddresses",
    kind: "strings",
    usage:
      "with --http-auth=auth-server: <addr>:<port> or a full url of an auth server (may be given multiple times)",
  },
  {
    flag: "auth-http-request-method",
    key: "authHttpRequestMethod",
    kind: "string",
    usage: "HTTP method to use for auth server requests (get or post)",
  },
  // Beyond upstream v1.3.0: TLS between nsqd and nsqlookupd (nsq issue #876).
  ...tlsFileOptionSpecs("path to certificate file: TLS on the TCP port, HTTPS on the HTTP port"),
  {
    flag: "tls-min-version",
    key: "tlsMinVersion",
    kind: "string",
    usage: "minimum SSL/TLS version acceptable ('tls1.0', 'tls1.1', 'tls1.2' or 'tls1.3')",
  },
];

/** The config-file key of a flag: the flag name with `-` → `_` (nsqlookupd has no `cfg` tags). */
export function nsqlookupdConfigKey(spec: NsqlookupdOptionSpec): string {
  return spec.flag.replaceAll("-", "_");
}

/**
 * The defaults of upstream's `NewOptions`, with durations in ms.
 *
 * @example
 * ```ts
 * import { defaultNsqlookupdOptions } from "./options.ts";
 * const o = defaultNsqlookupdOptions("host-a");
 * console.assert(o.tcpAddress === "0.0.0.0:4160" && o.broadcastAddress === "host-a");
 * ```
 */
export function defaultNsqlookupdOptions(hostname: string): NsqlookupdOptions {
  return {
    logLevel: LogLevel.info,
    logPrefix: "[nsqlookupd] ",
    tcpAddress: "0.0.0.0:4160",
    httpAddress: "0.0.0.0:4161",
    broadcastAddress: hostname,
    inactiveProducerTimeout: 300_000,
    tombstoneLifetime: 45_000,
    httpAuth: "",
    httpAuthTokenFile: "",
    httpAuthOpen: [],
    authHttpAddresses: [],
    authHttpRequestMethod: "get",
    tlsCert: "",
    tlsKey: "",
    tlsClientAuthPolicy: "",
    tlsRootCaFile: "",
    tlsMinVersion: "tls1.0",
  };
}
