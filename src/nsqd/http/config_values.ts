/**
 * Option values as Go's `json.Marshal` prints nsqd's Options struct (`GET /config/:opt`,
 * shared/nsq-reference.md §2.6): durations in nanoseconds, `log_level` and `tls_required` as
 * integers, `tls_min_version` as the uint16 TLS version number.
 */
import { configKey, NSQD_OPTION_SPECS, type NsqdOptions } from "../options.ts";

const TLS_REQUIRED: Record<string, number> = { false: 0, "tcp-https": 1, true: 2 };
const TLS_VERSIONS: Record<string, number> = {
  "": 0,
  "tls1.0": 0x0301,
  "tls1.1": 0x0302,
  "tls1.2": 0x0303,
  "tls1.3": 0x0304,
};

/** The value of the option whose config-file name is `name`, or undefined when there is none. */
export function configOptionValue(options: NsqdOptions, name: string): unknown {
  const spec = NSQD_OPTION_SPECS.find((s) => s.key !== null && configKey(s) === name);
  if (spec === undefined || spec.key === null) return undefined;
  const value = options[spec.key];
  switch (spec.key) {
    case "tlsRequired":
      return TLS_REQUIRED[value as string] ?? 0;
    case "tlsMinVersion":
      return TLS_VERSIONS[value as string] ?? 0;
  }
  return spec.kind === "duration" ? (value as number) * 1e6 : value;
}
