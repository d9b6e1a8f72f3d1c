/**
 * From nsqadmin's command line and config file to `NsqadminOptions` (shared/nsq-reference.md
 * §11.1, §4.4): the flag table of `src/nsqadmin/options.ts` parsed with Go's flag syntax, then
 * go-options' precedence — an explicit flag beats a config-file key, which beats the default.
 */
import { readFileSync } from "node:fs";
import { LOG_LEVEL_NAMES, parseLogLevel } from "../internal/logger.ts";
import {
  NSQADMIN_OPTION_SPECS,
  nsqadminConfigKey,
  type NsqadminOptions,
  type NsqadminOptionSpec,
} from "../nsqadmin/options.ts";
import { coerce, ConfigError, goValue, loadConfigFile } from "./config_file.ts";
import { logLevelFlag } from "./nsqd_options.ts";
import { type FlagSpec, type ParsedFlags, parseFlags } from "./flags.ts";

/** The flag specs of nsqadmin, with the defaults of `defaults` (durations turned into ns). */
export function nsqadminFlagSpecs(defaults: NsqadminOptions): FlagSpec[] {
  const specs: FlagSpec[] = [
    { name: "version", kind: "bool", default: false, usage: "print version string" },
    { name: "config", kind: "string", default: "", usage: "path to config file" },
  ];
  for (const spec of NSQADMIN_OPTION_SPECS) specs.push(toFlagSpec(spec, defaults));
  return specs;
}

function toFlagSpec(spec: NsqadminOptionSpec, defaults: NsqadminOptions): FlagSpec {
  const base = { name: spec.flag, usage: spec.usage };
  if (spec.key === null) return { ...base, kind: "bool", default: false };
  const value = defaults[spec.key];
  switch (spec.kind) {
    case "loglevel":
      return { ...base, kind: "string", default: LOG_LEVEL_NAMES[value as number], set: logLevelFlag };
    case "duration":
      return { ...base, kind: "duration", default: (value as number) * 1e6 };
    case "strings":
      return { ...base, kind: "strings", default: [...(value as string[])] };
    default:
      return { ...base, kind: spec.kind, default: value };
  }
}

export interface NsqadminArgs {
  parsed: ParsedFlags;
  options: NsqadminOptions;
}

/**
 * Parses nsqadmin's arguments (and `--config`). Throws FlagError/HelpRequested (exit 2 / 0) or
 * ConfigError (exit 1).
 *
 * @example
 * ```ts
 * import { parseNsqadminArgs } from "./nsqadmin_options.ts";
 * import { defaultNsqadminOptions } from "../nsqadmin/options.ts";
 * const { options } = parseNsqadminArgs(
 *   ["--lookupd-http-address=a:4161", "--lookupd-http-address=b:4161"],
 *   defaultNsqadminOptions(),
 * );
 * console.assert(options.nsqlookupdHttpAddresses.length === 2);
 * ```
 */
export function parseNsqadminArgs(
  argv: string[],
  defaults: NsqadminOptions,
  readText: (path: string) => string = (p) => readFileSync(p, "utf8"),
): NsqadminArgs {
  const parsed = parseFlags(nsqadminFlagSpecs(defaults), argv);
  const configPath = parsed.values.get("config") as string;
  let cfg = new Map<string, unknown>();
  if (configPath !== "") {
    cfg = loadConfigFile(configPath, readText);
    // apps/nsqadmin's config.Validate: log_level is checked before anything else.
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
  for (const spec of NSQADMIN_OPTION_SPECS) {
    if (spec.key === null) continue;
    const key = nsqadminConfigKey(spec);
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
