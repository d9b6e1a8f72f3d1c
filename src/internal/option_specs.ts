/**
 * Flag-table rows more than one daemon has (nsqd, nsqlookupd, nsqadmin): each program's table
 * (`src/<program>/options.ts`) spreads them in at upstream's place, so a flag reads the same in all;
 * and `TLS_MIN_VERSIONS`, what `--tls-min-version` means to nsqd and nsqlookupd alike.
 */
import type { TlsServerConfig } from "../platform/types.ts";

/** `--log-level`, `--log-prefix` and the deprecated `--verbose` (accepted, no effect). */
export const LOG_OPTION_SPECS = [
  {
    flag: "log-level",
    key: "logLevel",
    kind: "loglevel",
    usage: "set log verbosity: debug, info, warn, error, or fatal",
  },
  { flag: "log-prefix", key: "logPrefix", kind: "string", usage: "log message prefix" },
  // Deprecated and not an option upstream (no config key), but scripts still pass it.
  { flag: "verbose", key: null, kind: "bool", usage: "[deprecated] has no effect, use --log-level" },
] as const;

/** Beyond upstream v1.3.0: an authorized HTTP API (nsq issues #1183, #1426). */
export const HTTP_AUTH_OPTION_SPECS = [
  {
    flag: "http-auth",
    key: "httpAuth",
    kind: "string",
    usage: "authorize HTTP API requests (Bearer token): auth-server (--auth-http-address) or token-file",
  },
  {
    flag: "http-auth-token-file",
    key: "httpAuthTokenFile",
    kind: "string",
    usage: "with --http-auth=token-file: JSON file of tokens and their grants",
  },
  {
    flag: "http-auth-open",
    key: "httpAuthOpen",
    kind: "strings",
    usage:
      "with --http-auth: paths whose GET needs no token (may be given multiple times or comma separated)",
  },
] as const;

/** `--tls-cert` (with its program's usage), `--tls-key`, `--tls-client-auth-policy`, `--tls-root-ca-file`. */
export function tlsFileOptionSpecs<U extends string>(certUsage: U) {
  return [
    { flag: "tls-cert", key: "tlsCert", kind: "string", usage: certUsage },
    { flag: "tls-key", key: "tlsKey", kind: "string", usage: "path to key file" },
    {
      flag: "tls-client-auth-policy",
      key: "tlsClientAuthPolicy",
      kind: "string",
      usage: "client certificate auth policy ('require' or 'require-verify')",
    },
    {
      flag: "tls-root-ca-file",
      key: "tlsRootCaFile",
      kind: "string",
      usage: "path to certificate authority file",
    },
  ] as const;
}

/** `--tls-min-version`'s values as the TLS layer's minimum versions (nsqd and nsqlookupd). */
export const TLS_MIN_VERSIONS: Readonly<Record<string, TlsServerConfig["minVersion"]>> = {
  "tls1.0": "TLSv1",
  "tls1.1": "TLSv1.1",
  "tls1.2": "TLSv1.2",
  "tls1.3": "TLSv1.3",
};
