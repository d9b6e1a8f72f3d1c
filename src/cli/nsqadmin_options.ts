/**
 * From nsqadmin's command line and config file to `NsqadminOptions` (shared/nsq-reference.md
 * §11.1, §4.4): the flag table of `src/nsqadmin/options.ts` parsed with Go's flag syntax, then
 * go-options' precedence — an explicit flag beats a config-file key, which beats the default.
 */
import {
  NSQADMIN_OPTION_SPECS,
  nsqadminConfigKey,
  type NsqadminOptions,
  type NsqadminOptionSpec,
} from "../nsqadmin/options.ts";
import type { FlagSpec } from "./flags.ts";
import {
  parseProgramArgs,
  type ProgramArgs,
  programFlagSpecs,
  type ProgramOptionTable,
} from "./program_options.ts";

const NSQADMIN_TABLE: ProgramOptionTable<NsqadminOptions, NsqadminOptionSpec> = {
  specs: NSQADMIN_OPTION_SPECS,
  configKey: nsqadminConfigKey,
};

/** The flag specs of nsqadmin, with the defaults of `defaults` (durations turned into ns). */
export function nsqadminFlagSpecs(defaults: NsqadminOptions): FlagSpec[] {
  return programFlagSpecs(NSQADMIN_TABLE, defaults);
}

/** nsqadmin's parsed flags and options. */
export type NsqadminArgs = ProgramArgs<NsqadminOptions>;

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
  readText?: (path: string) => string,
): NsqadminArgs {
  return parseProgramArgs(NSQADMIN_TABLE, argv, defaults, readText);
}
