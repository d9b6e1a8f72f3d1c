/**
 * The `nsqadmin` program: `nsq nsqadmin [flags]`, `deno run -A src/cli/nsqadmin.ts [flags]` or
 * `bun src/cli/nsqadmin.ts [flags]`. Parses Go-style flags (and `--config`), starts the admin
 * server, and exits 0 on SIGINT/SIGTERM after closing its listener.
 */
import { Nsqadmin } from "../nsqadmin/nsqadmin.ts";
import { defaultNsqadminOptions } from "../nsqadmin/options.ts";
import { currentPlatform } from "../platform/mod.ts";
import type { Platform } from "../platform/types.ts";
import { nsqadminFlagSpecs, parseNsqadminArgs } from "./nsqadmin_options.ts";
import { runProgram } from "./program.ts";

/** Runs nsqadmin with `args` (the flags, without the program name). */
export function main(platform: Platform, args: readonly string[]): Promise<void> {
  return runProgram(platform, {
    name: "nsqadmin",
    defaults: defaultNsqadminOptions(),
    specs: nsqadminFlagSpecs,
    parse: (argv, defaults) => parseNsqadminArgs(argv, defaults),
    create: (options) => new Nsqadmin(platform, options),
  }, args);
}

if (import.meta.main) {
  const platform = await currentPlatform();
  await main(platform, platform.args);
}
