/**
 * From nsqd's command line to `NsqdOptions`: the Go-style flag table of
 * `src/nsqd/options.ts`, with Go's flag syntax (shared/nsq-reference.md §4).
 */
import { LogLevel, parseLogLevel } from "../nsqd/logger.ts";
import { NSQD_OPTION_SPECS, type NsqdOptions, type OptionSpec } from "../nsqd/options.ts";
import { type FlagKind, type FlagSpec, type ParsedFlags, parseFlags } from "./flags.ts";

const LOG_LEVEL_NAMES: Record<number, string> = { 1: "debug", 2: "info", 3: "warn", 4: "error", 5: "fatal" };

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
  switch (spec.kind) {
    case "loglevel":
      return {
        name: spec.flag,
        kind: "string",
        default: LOG_LEVEL_NAMES[value as number],
        usage: spec.usage,
      };
    case "duration":
      return { name: spec.flag, kind: "duration", default: (value as number) * 1e6, usage: spec.usage };
    default:
      return { name: spec.flag, kind: spec.kind as FlagKind, default: value, usage: spec.usage };
  }
}

/** Parses nsqd's arguments; throws FlagError/HelpRequested (exit 2) or RangeError (exit 1). */
export function parseNsqdArgs(
  argv: string[],
  defaults: NsqdOptions,
): { parsed: ParsedFlags; options: NsqdOptions } {
  const parsed = parseFlags(nsqdFlagSpecs(defaults), argv);
  const options = { ...defaults };
  const target = options as unknown as Record<string, unknown>;
  for (const spec of NSQD_OPTION_SPECS) {
    if (spec.key === null) continue;
    const v = parsed.values.get(spec.flag);
    switch (spec.kind) {
      case "loglevel":
        target[spec.key] = parseLogLevel(v as string) as LogLevel;
        break;
      case "duration":
        target[spec.key] = (v as number) / 1e6;
        break;
      default:
        target[spec.key] = v;
    }
  }
  return { parsed, options };
}
