/**
 * The `nsqlookupd` entry point: `deno run -A src/cli/nsqlookupd.ts [flags]` or
 * `bun src/cli/nsqlookupd.ts [flags]`. Parses Go-style flags (and `--config`), starts the daemon,
 * and exits 0 on SIGINT/SIGTERM after closing its listeners.
 */
import { Nsqlookupd } from "../nsqlookupd/nsqlookupd.ts";
import { defaultNsqlookupdOptions } from "../nsqlookupd/options.ts";
import { currentPlatform } from "../platform/mod.ts";
import { nsqlookupdFlagSpecs, parseNsqlookupdArgs } from "./nsqlookupd_options.ts";
import { runProgram } from "./program.ts";

const platform = await currentPlatform();
await runProgram(platform, {
  name: "nsqlookupd",
  defaults: defaultNsqlookupdOptions(platform.hostname()),
  specs: nsqlookupdFlagSpecs,
  parse: (argv, defaults) => parseNsqlookupdArgs(argv, defaults),
  create: (options) => new Nsqlookupd(platform, options),
});
