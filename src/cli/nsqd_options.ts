/**
 * From nsqd's command line and config file to `NsqdOptions` (shared/nsq-reference.md §4): the flag
 * table of `src/nsqd/options.ts` parsed with Go's flag syntax, then go-options' precedence —
 * an explicit flag beats a config-file key, which beats the default.
 */
import { configKey, NSQD_OPTION_SPECS, type NsqdOptions, type OptionSpec } from "../nsqd/options.ts";
import type { FlagSpec } from "./flags.ts";
import {
  parseProgramArgs,
  type ProgramArgs,
  programFlagSpecs,
  type ProgramOptionTable,
  type TextOption,
} from "./program_options.ts";

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

/** nsqd's table: `--tls-required` and `--tls-min-version` are checked text. */
const NSQD_TABLE: ProgramOptionTable<NsqdOptions, OptionSpec> = {
  specs: NSQD_OPTION_SPECS,
  configKey,
  text: new Map<keyof NsqdOptions, TextOption>([
    ["tlsRequired", { set: parseTlsRequired, boolFlag: true }],
    ["tlsMinVersion", { set: parseTlsMinVersion }],
  ]),
};

/** The flag specs of nsqd, with the defaults of `defaults` (durations turned into ns). */
export function nsqdFlagSpecs(defaults: NsqdOptions): FlagSpec[] {
  return programFlagSpecs(NSQD_TABLE, defaults);
}

/** nsqd's parsed flags and options. */
export type NsqdArgs = ProgramArgs<NsqdOptions>;

/**
 * Parses nsqd's arguments (and `--config`). Throws FlagError/HelpRequested (exit 2), ConfigError
 * or RangeError (exit 1).
 */
export function parseNsqdArgs(
  argv: string[],
  defaults: NsqdOptions,
  readText?: (path: string) => string,
): NsqdArgs {
  return parseProgramArgs(NSQD_TABLE, argv, defaults, readText);
}
