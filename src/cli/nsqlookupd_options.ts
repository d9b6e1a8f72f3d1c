/**
 * From nsqlookupd's command line and config file to `NsqlookupdOptions` (shared/nsq-reference.md
 * §4.3–4.4): the flag table of `src/nsqlookupd/options.ts` parsed with Go's flag syntax, then
 * go-options' precedence — an explicit flag beats a config-file key, which beats the default.
 */
import { readFileSync } from "node:fs";
import { LOG_LEVEL_NAMES, parseLogLevel } from "../internal/logger.ts";
import {
  NSQLOOKUPD_OPTION_SPECS,
  nsqlookupdConfigKey,
  type NsqlookupdOptions,
  type NsqlookupdOptionSpec,
} from "../nsqlookupd/options.ts";
import { coerce, ConfigError, goValue, loadConfigFile } from "./config_file.ts";
import { logLevelFlag } from "./nsqd_options.ts";
import { type FlagSpec, type ParsedFlags, parseFlags } from "./flags.ts";

/** The flag specs of nsqlookupd, with the defaults of `defaults` (durations turned into ns). */
export function nsqlookupdFlagSpecs(defaults: NsqlookupdOptions): FlagSpec[] {
  const specs: FlagSpec[] = [
    { name: "config", kind: "string", default: "", usage: "path to config file" },
    { name: "version", kind: "bool", default: false, usage: "print version string" },
  ];
  for (const spec of NSQLOOKUPD_OPTION_SPECS) specs.push(toFlagSpec(spec, defaults));
  return specs;
}

function toFlagSpec(spec: NsqlookupdOptionSpec, defaults: NsqlookupdOptions): FlagSpec {
  const base = { name: spec.flag, usage: spec.usage };
  if (spec.key === null) return { ...base, kind: "bool", default: false };
  const value = defaults[spec.key];
  switch (spec.kind) {
    case "loglevel":
      return { ...base, kind: "string", default: LOG_LEVEL_NAMES[value as number], set: logLevelFlag };
    case "duration":
      return { ...base, kind: "duration", default: (value as number) * 1e6 };
    default:
      return { ...base, kind: spec.kind, default: value };
  }
}

export interface NsqlookupdArgs {
  parsed: ParsedFlags;
  options: NsqlookupdOptions;
}

/**
 * Parses nsqlookupd's arguments (and `--config`). Throws FlagError/HelpRequested (exit 2 / 0) or
 * ConfigError (exit 1).
 *
 * @example
 * ```ts
 * import { parseNsqlookupdArgs } from "./nsqlookupd_options.ts";
 * import { defaultNsqlookupdOptions } from "../nsqlookupd/options.ts";
 * const { options } = parseNsqlookupdArgs(["-tombstone-lifetime=1s"], defaultNsqlookupdOptions("h"));
 * console.assert(options.tombstoneLifetime === 1000);
 * ```
 */
export function parseNsqlookupdArgs(
  argv: string[],
  defaults: NsqlookupdOptions,
  readText: (path: string) => string = (p) => readFileSync(p, "utf8"),
): NsqlookupdArgs {
  const parsed = parseFlags(nsqlookupdFlagSpecs(defaults), argv);
  const configPath = parsed.values.get("config") as string;
  let cfg = new Map<string, unknown>();
  if (configPath !== "") {
    cfg = loadConfigFile(configPath, readText);
    // apps/nsqlookupd's config.Validate: log_level is checked before anything else.
    if (cfg.has("log_level")) {
      const v = cfg.get("log_level");
      try {
        cfg.set("log_level", logLevelFlag(goValue(v)));
      } catch {
        throw new ConfigError(`failed parsing log_level ${goValue(v)}`);
      }
    }
  }
  const options = { ...defaults };
  const target = options as unknown as Record<string, unknown>;
  for (const spec of NSQLOOKUPD_OPTION_SPECS) {
    if (spec.key === null) continue;
    const key = nsqlookupdConfigKey(spec);
    let v: unknown;
    if (parsed.set.has(spec.flag) || !cfg.has(key)) {
      v = parsed.values.get(spec.flag);
    } else if (spec.kind === "loglevel") {
      v = String(cfg.get(key));
    } else {
      v = coerce(cfg.get(key), spec.kind, key);
    }
    if (spec.kind === "loglevel") v = parseLogLevel(v as string);
    else if (spec.kind === "duration") v = (v as number) / 1e6;
    target[spec.key] = v;
  }
  return { parsed, options };
}
