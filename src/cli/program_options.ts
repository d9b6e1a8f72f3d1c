/**
 * From a daemon's command line and config file to its options (shared/nsq-reference.md §4.4): the
 * flag table of nsqd, nsqlookupd or nsqadmin parsed with Go's flag syntax, then go-options'
 * precedence — an explicit flag beats a config-file key, which beats the default.
 */
import { readFileSync } from "node:fs";
import { LOG_LEVEL_NAMES, parseLogLevel } from "../internal/logger.ts";
import { coerce, type CoerceKind, ConfigError, goValue, loadConfigFile } from "./config_file.ts";
import { type FlagSpec, type ParsedFlags, parseFlags } from "./flags.ts";

/** `--log-level` (nsq's `lg.LogLevel` flag value): case-insensitive level names. */
export function logLevelFlag(text: string): string {
  try {
    parseLogLevel(text);
  } catch {
    throw new Error(`invalid log level '${text}' (debug, info, warn, error, fatal)`);
  }
  return text.toLowerCase();
}

/** One flag of a daemon's option table: its option (null = accepted, no effect) and its kind. */
export interface ProgramOptionSpec<O> {
  flag: string;
  key: keyof O | null;
  kind: CoerceKind | "loglevel";
  usage: string;
  /** The config-file key when it is not the flag name with `_` (upstream's `cfg` tags). */
  cfg?: string;
}

/** A string option held as checked text: a custom `flag.Value` (nsq's tlsRequiredOption, …). */
export type TextOption = Required<Pick<FlagSpec, "set">> & Pick<FlagSpec, "boolFlag">;

/** What one daemon's options are made of. */
export interface ProgramOptionTable<O, S extends ProgramOptionSpec<O>> {
  /** Every flag but `--config` and `--version`, in upstream's order. */
  specs: readonly S[];
  /** The config-file key of a flag. */
  configKey(spec: S): string;
  /** Text options; a config file's value of each is checked, in this order, before `log_level`. */
  text?: ReadonlyMap<keyof O, TextOption>;
}

/** Parsed flags and the options they (and the config file) give. */
export interface ProgramArgs<O> {
  parsed: ParsedFlags;
  options: O;
}

/** The flag specs of a daemon, with the defaults of `defaults` (durations turned into ns). */
export function programFlagSpecs<O, S extends ProgramOptionSpec<O>>(
  table: ProgramOptionTable<O, S>,
  defaults: O,
): FlagSpec[] {
  const specs: FlagSpec[] = [
    { name: "version", kind: "bool", default: false, usage: "print version string" },
    { name: "config", kind: "string", default: "", usage: "path to config file" },
  ];
  for (const spec of table.specs) specs.push(toFlagSpec(table, spec, defaults));
  return specs;
}

function toFlagSpec<O, S extends ProgramOptionSpec<O>>(
  table: ProgramOptionTable<O, S>,
  spec: S,
  defaults: O,
): FlagSpec {
  const base = { name: spec.flag, usage: spec.usage };
  if (spec.key === null) return { ...base, kind: "bool", default: false };
  const value = defaults[spec.key];
  if (spec.kind === "loglevel") {
    return { ...base, kind: "string", default: LOG_LEVEL_NAMES[value as number], set: logLevelFlag };
  }
  const text = table.text?.get(spec.key);
  if (text !== undefined) return { ...base, kind: "string", default: value, ...text };
  if (spec.kind === "duration") return { ...base, kind: "duration", default: (value as number) * 1e6 };
  return { ...base, kind: spec.kind, default: value };
}

/**
 * Parses a daemon's arguments (and `--config`). Throws FlagError/HelpRequested (exit 2 / 0) or
 * ConfigError (exit 1).
 */
export function parseProgramArgs<O, S extends ProgramOptionSpec<O>>(
  table: ProgramOptionTable<O, S>,
  argv: string[],
  defaults: O,
  readText: (path: string) => string = (p) => readFileSync(p, "utf8"),
): ProgramArgs<O> {
  const parsed = parseFlags(programFlagSpecs(table, defaults), argv);
  const configPath = parsed.values.get("config") as string;
  let cfg = new Map<string, unknown>();
  if (configPath !== "") {
    cfg = loadConfigFile(configPath, readText);
    validateTextKeys(table, cfg);
  }
  const options = { ...defaults };
  const target = options as unknown as Record<PropertyKey, unknown>;
  for (const spec of table.specs) {
    if (spec.key === null) continue;
    const key = table.configKey(spec);
    let v: unknown;
    if (parsed.set.has(spec.flag) || !cfg.has(key)) {
      v = parsed.values.get(spec.flag);
    } else if (spec.kind === "loglevel" || table.text?.has(spec.key)) {
      v = String(cfg.get(key));
    } else {
      v = coerce(cfg.get(key), spec.kind, key);
    }
    if (spec.kind === "loglevel") v = parseLogLevel(v as string);
    else if (spec.kind === "duration") v = (v as number) / 1e6;
    else if (spec.kind === "floats") v = [...(v as number[])].sort((a, b) => b - a);
    target[spec.key] = v;
  }
  return { parsed, options };
}

/** The daemons' `config.Validate`: the text options, then log_level, are checked first. */
function validateTextKeys<O, S extends ProgramOptionSpec<O>>(
  table: ProgramOptionTable<O, S>,
  cfg: Map<string, unknown>,
): void {
  const checks: [S, (text: string) => unknown][] = [];
  for (const [key, { set }] of table.text ?? []) {
    for (const spec of table.specs) if (spec.key === key) checks.push([spec, set]);
  }
  for (const spec of table.specs) if (spec.kind === "loglevel") checks.push([spec, logLevelFlag]);
  for (const [spec, parse] of checks) {
    const key = table.configKey(spec);
    if (!cfg.has(key)) continue;
    const v = cfg.get(key);
    try {
      cfg.set(key, parse(goValue(v)));
    } catch {
      throw new ConfigError(`failed parsing ${key} ${goValue(v)}`);
    }
  }
}
