/**
 * The `nsqadmin` entry point: `deno run -A src/cli/nsqadmin.ts [flags]` or
 * `bun src/cli/nsqadmin.ts [flags]`. Parses Go-style flags (and `--config`), starts the admin
 * server, and exits 0 on SIGINT/SIGTERM after closing its listener.
 */
import { Nsqadmin } from "../nsqadmin/nsqadmin.ts";
import { defaultNsqadminOptions } from "../nsqadmin/options.ts";
import { currentPlatform } from "../platform/mod.ts";
import { nsqadminFlagSpecs, parseNsqadminArgs } from "./nsqadmin_options.ts";
import { runProgram } from "./program.ts";

const platform = await currentPlatform();
await runProgram(platform, {
  name: "nsqadmin",
  defaults: defaultNsqadminOptions(),
  specs: nsqadminFlagSpecs,
  parse: (argv, defaults) => parseNsqadminArgs(argv, defaults),
  create: (options) => new Nsqadmin(platform, options),
});
