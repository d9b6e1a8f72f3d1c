/**
 * From nsqlookupd's command line and config file to `NsqlookupdOptions` (shared/nsq-reference.md
 * §4.3–4.4): the flag table of `src/nsqlookupd/options.ts` parsed with Go's flag syntax, then
 * go-options' precedence — an explicit flag beats a config-file key, which beats the default.
 */
import {
  NSQLOOKUPD_OPTION_SPECS,
  nsqlookupdConfigKey,
  type NsqlookupdOptions,
  type NsqlookupdOptionSpec,
} from "../nsqlookupd/options.ts";
import type { FlagSpec } from "./flags.ts";
import {
  parseProgramArgs,
  type ProgramArgs,
  programFlagSpecs,
  type ProgramOptionTable,
} from "./program_options.ts";

const NSQLOOKUPD_TABLE: ProgramOptionTable<NsqlookupdOptions, NsqlookupdOptionSpec> = {
  specs: NSQLOOKUPD_OPTION_SPECS,
  configKey: nsqlookupdConfigKey,
};

/** The flag specs of nsqlookupd, with the defaults of `defaults` (durations turned into ns). */
export function nsqlookupdFlagSpecs(defaults: NsqlookupdOptions): FlagSpec[] {
  return programFlagSpecs(NSQLOOKUPD_TABLE, defaults);
}

/** nsqlookupd's parsed flags and options. */
export type NsqlookupdArgs = ProgramArgs<NsqlookupdOptions>;

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
  readText?: (path: string) => string,
): NsqlookupdArgs {
  return parseProgramArgs(NSQLOOKUPD_TABLE, argv, defaults, readText);
}
