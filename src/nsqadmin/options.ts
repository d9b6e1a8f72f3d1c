/**
 * nsqadmin's options (shared/nsq-reference.md §11.1, nsq `nsqadmin/options.go` and
 * `apps/nsqadmin/main.go`): one table gives each option its flag, config-file key, kind and usage
 * text. Durations are held in milliseconds; `validateNsqadminOptions` makes upstream's startup checks.
 */
import { LogLevel } from "../internal/logger.ts";
import { LOG_OPTION_SPECS } from "../internal/option_specs.ts";

/** nsqadmin's options: its flags in camelCase, durations in milliseconds. */
export interface NsqadminOptions {
  /** `--log-level`: log verbosity (1 = debug … 5 = fatal). */
  logLevel: LogLevel;
  /** `--log-prefix`: log message prefix. */
  logPrefix: string;
  /** `--http-address`: <addr>:<port> to listen on for HTTP clients. */
  httpAddress: string;
  /** `--base-path`: URL prefix of every route (a leading `/` is added, the path cleaned). */
  basePath: string;
  /** `--dev-static-dir`: accepted; the UI is built in. */
  devStaticDir: string;
  /** `--graphite-url`: accepted (graphs are not drawn from graphite). */
  graphiteUrl: string;
  /** `--proxy-graphite`: accepted. */
  proxyGraphite: boolean;
  /** `--statsd-counter-format`: accepted. */
  statsdCounterFormat: string;
  /** `--statsd-gauge-format`: accepted. */
  statsdGaugeFormat: string;
  /** `--statsd-prefix`: accepted. */
  statsdPrefix: string;
  /** `--statsd-interval`: accepted. */
  statsdInterval: number;
  /** `--notification-http-endpoint`: where each admin action is POSTed as JSON ("" = none). */
  notificationHttpEndpoint: string;
  /** `--http-client-connect-timeout`: timeout of a connection to an nsqd or nsqlookupd. */
  httpClientConnectTimeout: number;
  /** `--http-client-request-timeout`: timeout of a whole request to an nsqd or nsqlookupd. */
  httpClientRequestTimeout: number;
  /**
   * `--http-client-auth-token`: sent as `Authorization: Bearer <token>` with every request to an nsqd or
   * nsqlookupd (beyond upstream: for daemons started with `--http-auth`; the token needs `admin` for actions).
   */
  httpClientAuthToken: string;
  /** `--http-client-tls-insecure-skip-verify`: accepted (HTTPS upstreams use the system trust store). */
  httpClientTlsInsecureSkipVerify: boolean;
  /** `--http-client-tls-root-ca-file`: accepted. */
  httpClientTlsRootCaFile: string;
  /** `--http-client-tls-cert`: accepted (must come with the key). */
  httpClientTlsCert: string;
  /** `--http-client-tls-key`: accepted (must come with the cert). */
  httpClientTlsKey: string;
  /** `--allow-config-from-cidr`: who may use `/config` ("" = anyone). */
  allowConfigFromCidr: string;
  /** `--acl-http-header`: the request header that names the user. */
  aclHttpHeader: string;
  /** `--admin-user`: users allowed to act on the cluster (empty = everyone). */
  adminUsers: string[];
  /** `--lookupd-http-address`: nsqlookupd HTTP addresses to discover the cluster from. */
  nsqlookupdHttpAddresses: string[];
  /** `--nsqd-http-address`: nsqd HTTP addresses (instead of lookupds). */
  nsqdHttpAddresses: string[];
}

export type NsqadminOptionKind = "string" | "bool" | "duration" | "loglevel" | "strings";

/** One flag: its option (null = accepted, no effect), its kind, and its config-file key. */
export interface NsqadminOptionSpec {
  flag: string;
  key: keyof NsqadminOptions | null;
  kind: NsqadminOptionKind;
  usage: string;
  /** The config-file key when it is not the flag name with `_` (upstream's `cfg` tags). */
  cfg?: string;
}

/** Every nsqadmin flag but `--config` and `--version`, in upstream's order. */
export const NSQADMIN_OPTION_SPECS: readonly NsqadminOptionSpec[] = [
  ...LOG_OPTION_SPECS,
  {
    flag: "http-address",
    key: "httpAddress",
    kind: "string",
    usage: "<addr>:<port> to listen on for HTTP clients",
  },
  { flag: "base-path", key: "basePath", kind: "string", usage: "URL base path" },
  { flag: "dev-static-dir", key: "devStaticDir", kind: "string", usage: "(development use only)" },
  { flag: "graphite-url", key: "graphiteUrl", kind: "string", usage: "graphite HTTP address" },
  { flag: "proxy-graphite", key: "proxyGraphite", kind: "bool", usage: "proxy HTTP requests to graphite" },
  {
    flag: "statsd-counter-format",
    key: "statsdCounterFormat",
    kind: "string",
    usage: "The counter stats key formatting applied by the implementation of statsd. " +
      "If no formatting is desired, set this to an empty string.",
  },
  {
    flag: "statsd-gauge-format",
    key: "statsdGaugeFormat",
    kind: "string",
    usage: "The gauge stats key formatting applied by the implementation of statsd. " +
      "If no formatting is desired, set this to an empty string.",
  },
  {
    flag: "statsd-prefix",
    key: "statsdPrefix",
    kind: "string",
    usage: "prefix used for keys sent to statsd (%s for host replacement, must match nsqd)",
  },
  {
    flag: "statsd-interval",
    key: "statsdInterval",
    kind: "duration",
    usage: "time interval nsqd is configured to push to statsd (must match nsqd)",
  },
  {
    flag: "notification-http-endpoint",
    key: "notificationHttpEndpoint",
    kind: "string",
    usage: "HTTP endpoint (fully qualified) to which POST notifications of admin actions will be sent",
  },
  {
    flag: "http-client-connect-timeout",
    key: "httpClientConnectTimeout",
    kind: "duration",
    usage: "timeout for HTTP connect",
  },
  {
    flag: "http-client-request-timeout",
    key: "httpClientRequestTimeout",
    kind: "duration",
    usage: "timeout for HTTP request",
  },
  {
    flag: "http-client-auth-token",
    key: "httpClientAuthToken",
    kind: "string",
    usage: "token sent as 'Authorization: Bearer <token>' to nsqd and nsqlookupd (started with --http-auth)",
  },
  {
    flag: "http-client-tls-insecure-skip-verify",
    key: "httpClientTlsInsecureSkipVerify",
    kind: "bool",
    usage: "configure the HTTP client to skip verification of TLS certificates",
  },
  {
    flag: "http-client-tls-root-ca-file",
    key: "httpClientTlsRootCaFile",
    kind: "string",
    usage: "path to CA file for the HTTP client",
  },
  {
    flag: "http-client-tls-cert",
    key: "httpClientTlsCert",
    kind: "string",
    usage: "path to certificate file for the HTTP client",
  },
  {
    flag: "http-client-tls-key",
    key: "httpClientTlsKey",
    kind: "string",
    usage: "path to key file for the HTTP client",
  },
  {
    flag: "allow-config-from-cidr",
    key: "allowConfigFromCidr",
    kind: "string",
    usage: "A CIDR from which to allow HTTP requests to the /config endpoint",
  },
  {
    flag: "acl-http-header",
    key: "aclHttpHeader",
    kind: "string",
    usage: "HTTP header to check for authenticated admin users",
  },
  {
    flag: "admin-user",
    key: "adminUsers",
    kind: "strings",
    cfg: "admin_users",
    usage:
      "admin user (may be given multiple times; if specified, only these users will be able to perform privileged actions)",
  },
  {
    flag: "lookupd-http-address",
    key: "nsqlookupdHttpAddresses",
    kind: "strings",
    cfg: "nsqlookupd_http_addresses",
    usage: "lookupd HTTP address (may be given multiple times)",
  },
  {
    flag: "nsqd-http-address",
    key: "nsqdHttpAddresses",
    kind: "strings",
    cfg: "nsqd_http_addresses",
    usage: "nsqd HTTP address (may be given multiple times)",
  },
];

/** The config-file key of a flag: its `cfg` tag, else the flag name with `-` → `_`. */
export function nsqadminConfigKey(spec: NsqadminOptionSpec): string {
  return spec.cfg ?? spec.flag.replaceAll("-", "_");
}

/**
 * The defaults of upstream's `NewOptions`, with durations in ms.
 *
 * @example
 * ```ts
 * import { defaultNsqadminOptions } from "./options.ts";
 * const o = defaultNsqadminOptions();
 * console.assert(o.httpAddress === "0.0.0.0:4171" && o.aclHttpHeader === "X-Forwarded-User");
 * ```
 */
export function defaultNsqadminOptions(): NsqadminOptions {
  return {
    logLevel: LogLevel.info,
    logPrefix: "[nsqadmin] ",
    httpAddress: "0.0.0.0:4171",
    basePath: "/",
    devStaticDir: "",
    graphiteUrl: "",
    proxyGraphite: false,
    statsdCounterFormat: "stats.counters.%s.count",
    statsdGaugeFormat: "stats.gauges.%s",
    statsdPrefix: "nsq.%s",
    statsdInterval: 60_000,
    notificationHttpEndpoint: "",
    httpClientConnectTimeout: 2_000,
    httpClientRequestTimeout: 5_000,
    httpClientAuthToken: "",
    httpClientTlsInsecureSkipVerify: false,
    httpClientTlsRootCaFile: "",
    httpClientTlsCert: "",
    httpClientTlsKey: "",
    allowConfigFromCidr: "127.0.0.1/8",
    aclHttpHeader: "X-Forwarded-User",
    adminUsers: [],
    nsqlookupdHttpAddresses: [],
    nsqdHttpAddresses: [],
  };
}

/**
 * Upstream's `nsqadmin.New` checks, in its order; throws a `RangeError` with upstream's text.
 * Returns the cleaned base path (leading `/`, no trailing `/`, `.`/`..` resolved).
 *
 * @example
 * ```ts
 * import { defaultNsqadminOptions, validateNsqadminOptions } from "./options.ts";
 * const o = { ...defaultNsqadminOptions(), nsqdHttpAddresses: ["127.0.0.1:4151"], basePath: "admin/" };
 * console.assert(validateNsqadminOptions(o) === "/admin");
 * ```
 */
export function validateNsqadminOptions(o: NsqadminOptions): string {
  if (o.nsqdHttpAddresses.length === 0 && o.nsqlookupdHttpAddresses.length === 0) {
    throw new RangeError("--nsqd-http-address or --lookupd-http-address required");
  }
  if (o.nsqdHttpAddresses.length !== 0 && o.nsqlookupdHttpAddresses.length !== 0) {
    throw new RangeError("use --nsqd-http-address or --lookupd-http-address not both");
  }
  if (o.httpClientTlsCert !== "" && o.httpClientTlsKey === "") {
    throw new RangeError("--http-client-tls-key must be specified with --http-client-tls-cert");
  }
  if (o.httpClientTlsKey !== "" && o.httpClientTlsCert === "") {
    throw new RangeError("--http-client-tls-cert must be specified with --http-client-tls-key");
  }
  for (const a of o.nsqlookupdHttpAddresses) {
    if (!isHostPort(a)) {
      throw new RangeError(`failed to resolve --lookupd-http-address (${a}) - missing port`);
    }
  }
  for (const a of o.nsqdHttpAddresses) {
    if (!isHostPort(a)) throw new RangeError(`failed to resolve --nsqd-http-address (${a}) - missing port`);
  }
  if (o.proxyGraphite) {
    try {
      new URL(o.graphiteUrl);
    } catch {
      throw new RangeError(`failed to parse --graphite-url (${o.graphiteUrl})`);
    }
  }
  if (o.allowConfigFromCidr !== "" && parseCidr(o.allowConfigFromCidr) === null) {
    throw new RangeError(
      `failed to parse --allow-config-from-cidr (${o.allowConfigFromCidr}) - invalid CIDR address: ${o.allowConfigFromCidr}`,
    );
  }
  return cleanBasePath(o.basePath);
}

function isHostPort(a: string): boolean {
  return /^(\[[^\]]+\]|[^:\[\]]*):[0-9]+$/.test(a);
}

/** `path.Clean("/" + p)`, and `""` for the root so that routes are `base + "/api/…"`. */
export function cleanBasePath(p: string): string {
  const out: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") out.pop();
    else out.push(seg);
  }
  return out.length === 0 ? "" : "/" + out.join("/");
}

/** An IPv4 or IPv6 CIDR as bytes + prefix length, or null. */
export interface Cidr {
  bytes: number[];
  bits: number;
}

/** Parses `a.b.c.d/n` or `v6/n` (Go's `net.ParseCIDR`); null if invalid. */
export function parseCidr(s: string): Cidr | null {
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const bytes = parseIp(s.slice(0, slash));
  const bitsText = s.slice(slash + 1);
  if (bytes === null || !/^[0-9]{1,3}$/.test(bitsText)) return null;
  const bits = Number(bitsText);
  if (bits > bytes.length * 8) return null;
  return { bytes, bits };
}

/** Whether `ip` (text) lies in `cidr`; IPv4-mapped IPv6 addresses count as IPv4. */
export function cidrContains(cidr: Cidr, ip: string): boolean {
  let bytes = parseIp(ip);
  if (bytes === null) return false;
  if (bytes.length === 16 && cidr.bytes.length === 4 && isV4Mapped(bytes)) bytes = bytes.slice(12);
  if (bytes.length !== cidr.bytes.length) return false;
  for (let i = 0; i < cidr.bits; i++) {
    const mask = 0x80 >> (i % 8);
    if ((bytes[i >> 3] & mask) !== (cidr.bytes[i >> 3] & mask)) return false;
  }
  return true;
}

function isV4Mapped(b: number[]): boolean {
  return b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

/** Parses an IPv4 or IPv6 address into 4 or 16 bytes; null if invalid. */
export function parseIp(s: string): number[] | null {
  if (/^[0-9]{1,3}(\.[0-9]{1,3}){3}$/.test(s)) {
    const parts = s.split(".").map(Number);
    return parts.every((n) => n <= 255) ? parts : null;
  }
  if (!s.includes(":")) return null;
  let text = s;
  let tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    const v4 = parseIp(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = v4;
    text = text.slice(0, lastColon + 1) + "0:0";
  }
  const halves = text.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string) => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0]);
  const rest = halves.length === 2 ? groups(halves[1]) : [];
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const all = [...head, ...Array(8 - total).fill("0"), ...rest];
  const out: number[] = [];
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
    const n = parseInt(g, 16);
    out.push(n >> 8, n & 0xff);
  }
  if (tail.length === 4) out.splice(12, 4, ...tail);
  return out;
}
