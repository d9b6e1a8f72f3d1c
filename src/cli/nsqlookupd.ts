/**
 * The `nsqlookupd` program: `nsq nsqlookupd [flags]`, `deno run -A src/cli/nsqlookupd.ts [flags]`
 * or `bun src/cli/nsqlookupd.ts [flags]`. Parses Go-style flags (and `--config`), starts the
 * daemon, and exits 0 on SIGINT/SIGTERM after closing its listeners.
 */
import { Nsqlookupd } from "../nsqlookupd/nsqlookupd.ts";
import { defaultNsqlookupdOptions } from "../nsqlookupd/options.ts";
import { currentPlatform } from "../platform/mod.ts";
import type { Platform } from "../platform/types.ts";
import { nsqlookupdFlagSpecs, parseNsqlookupdArgs } from "./nsqlookupd_options.ts";
import { runProgram } from "./program.ts";

/** Runs nsqlookupd with `args` (the flags, without the program name). */
export function main(platform: Platform, args: readonly string[]): Promise<void> {
  return runProgram(platform, {
    name: "nsqlookupd",
    defaults: defaultNsqlookupdOptions(platform.hostname()),
    specs: nsqlookupdFlagSpecs,
    parse: (argv, defaults) => parseNsqlookupdArgs(argv, defaults),
    create: (options) => new Nsqlookupd(platform, options),
  }, args);
}

if (import.meta.main) {
  const platform = await currentPlatform();
  await main(platform, platform.args);
}
