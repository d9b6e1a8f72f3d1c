/**
 * The `nsqd` program: `nsq nsqd [flags]`, `deno run -A src/cli/nsqd.ts [flags]` or
 * `bun src/cli/nsqd.ts [flags]`. Parses Go-style flags (and `--config`), starts the broker, and
 * exits 0 on SIGINT/SIGTERM after a clean shutdown (SIGTERM drains first with `--sigterm=drain`).
 */
import { Nsqd } from "../nsqd/nsqd.ts";
import { defaultNsqdOptions } from "../nsqd/options.ts";
import { currentPlatform } from "../platform/mod.ts";
import type { Platform } from "../platform/types.ts";
import { nsqdFlagSpecs, parseNsqdArgs } from "./nsqd_options.ts";
import { runProgram } from "./program.ts";

/** Runs nsqd with `args` (the flags, without the program name). */
export function main(platform: Platform, args: readonly string[]): Promise<void> {
  return runProgram(platform, {
    name: "nsqd",
    defaults: defaultNsqdOptions(platform.hostname()),
    specs: nsqdFlagSpecs,
    parse: (argv, defaults) => parseNsqdArgs(argv, defaults),
    create: (options) => new Nsqd(platform, options),
    drainOnSigterm: (options) => options.sigterm === "drain",
  }, args);
}

if (import.meta.main) {
  const platform = await currentPlatform();
  await main(platform, platform.args);
}
