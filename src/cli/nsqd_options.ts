/**
 * From nsqd's command line and config file to `NsqdOptions` (shared/nsq-reference.md §4): the flag
 * table of `src/nsqd/options.ts` parsed with Go's flag syntax, then go-options' precedence —
 * an explicit flag beats a config-file key, which beats the default.
 */
import { readFileSync } from "node:fs";
import { LOG_LEVEL_NAMES, parseLogLevel } from "../internal/logger.ts";
import { configKey, NSQD_OPTION_SPECS, type NsqdOptions, type OptionSpec } from "../nsqd/options.ts";
import { coerce, type CoerceKind, ConfigError, goValue, loadConfigFile } from "./config_file.ts";
import { type FlagKind, type FlagSpec, type ParsedFlags, parseFlags } from "./flags.ts";

/** `--tls-required` (nsq's tlsRequiredOption): a bool flag that also takes `tcp-https`. */
export function parseTlsRequired(text: string): string {
  const s = text.toLowerCase();
  if (s === "tcp-https") return "tcp-https";
  if (["1", "t", "true"].includes(s)) return "true";
  if (["0", "f", "false"].includes(s)) return "false";
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}

/** `--tls-min-version` (nsq's tlsMinVersionOption). */
export function parseTlsMinVersion(text: string): string {
  const s = text.toLowerCase();
  if (["", "tls1.0", "tls1.1", "tls1.2", "tls1.3"].includes(s)) return s === "" ? "tls1.0" : s;
  throw new Error(`unknown tlsVersionOption ${JSON.stringify(s)}`);
}

/** `--log-level` (nsq's `lg.LogLevel` flag value): case-insensitive level names. */
export function logLevelFlag(text: string): string {
  try {
    parseLogLevel(text);
  } catch {
    throw new Error(`invalid log level '${text}' (debug, info, warn, error, fatal)`);
  }
  return text.toLowerCase();
}

/** The flag specs of nsqd, with the defaults of `defaults` (durations turned into ns). */
export function nsqdFlagSpecs(defaults: NsqdOptions): FlagSpec[] {
  const specs: FlagSpec[] = [
    { name: "version", kind: "bool", default: false, usage: "print version string" },
    { name: "config", kind: "string", default: "", usage: "path to config file" },
  ];
  for (const spec of NSQD_OPTION_SPECS) specs.push(toFlagSpec(spec, defaults));
  return specs;
}

function toFlagSpec(spec: OptionSpec, defaults: NsqdOptions): FlagSpec {
  const value = spec.key === null ? false : defaults[spec.key];
  const base = { name: spec.flag, usage: spec.usage };
  if (spec.kind === "loglevel") {
    return { ...base, kind: "string", default: LOG_LEVEL_NAMES[value as number], set: logLevelFlag };
  }
  if (spec.key === "tlsRequired") {
    return { ...base, kind: "string", default: value, set: parseTlsRequired, boolFlag: true };
  }
  if (spec.key === "tlsMinVersion") {
    return { ...base, kind: "string", default: value, set: parseTlsMinVersion };
  }
  if (spec.kind === "duration") return { ...base, kind: "duration", default: (value as number) * 1e6 };
  return { ...base, kind: spec.kind as FlagKind, default: value };
}

export interface NsqdArgs {
  parsed: ParsedFlags;
  options: NsqdOptions;
}

/**
 * Parses nsqd's arguments (and `--config`). Throws FlagError/HelpRequested (exit 2), ConfigError
 * or RangeError (exit 1).
 */
export function parseNsqdArgs(
  argv: string[],
  defaults: NsqdOptions,
  readText: (path: string) => string = (p) => readFileSync(p, "utf8"),
): NsqdArgs {
  const parsed = parseFlags(nsqdFlagSpecs(defaults), argv);
  const configPath = parsed.values.get("config") as string;
  let cfg = new Map<string, unknown>();
  if (configPath !== "") {
    cfg = loadConfigFile(configPath, readText);
    validateSpecialKeys(cfg);
  }
  const options = { ...defaults };
  const target = options as unknown as Record<string, unknown>;
  for (const spec of NSQD_OPTION_SPECS) {
    if (spec.key === null) continue;
    const key = configKey(spec);
    let v: unknown;
    if (parsed.set.has(spec.flag) || !cfg.has(key)) {
      v = parsed.values.get(spec.flag);
    } else {
      v = cfg.get(key);
      if (spec.kind === "loglevel" || spec.key === "tlsRequired" || spec.key === "tlsMinVersion") {
        v = String(v);
      } else {
        v = coerce(v, spec.kind as CoerceKind, key);
      }
    }
    if (spec.kind === "loglevel") v = parseLogLevel(v as string);
    else if (spec.kind === "duration") v = (v as number) / 1e6;
    else if (spec.kind === "floats") v = [...(v as number[])].sort((a, b) => b - a);
    target[spec.key] = v;
  }
  return { parsed, options };
}

/** nsqd's `config.Validate`: tls_required, tls_min_version and log_level are checked first. */
function validateSpecialKeys(cfg: Map<string, unknown>): void {
  const check = (key: string, parse: (s: string) => string) => {
    if (!cfg.has(key)) return;
    const v = cfg.get(key);
    try {
      cfg.set(key, parse(goValue(v)));
    } catch {
      throw new ConfigError(`failed parsing ${key} ${goValue(v)}`);
    }
  };
  check("tls_required", parseTlsRequired);
  check("tls_min_version", parseTlsMinVersion);
  check("log_level", logLevelFlag);
}
