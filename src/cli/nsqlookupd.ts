/**
 * The `nsqlookupd` entry point: `deno run -A src/cli/nsqlookupd.ts [flags]` or
 * `bun src/cli/nsqlookupd.ts [flags]`. Parses Go-style flags (and `--config`), starts the daemon,
 * and exits 0 on SIGINT/SIGTERM after closing its listeners.
 */
import { currentPlatform } from "../platform/mod.ts";
import { Logger, LogLevel } from "../nsqd/logger.ts";
import { NSQ_VERSION, RELEASE_VERSION } from "../nsqd/version.ts";
import { Nsqlookupd } from "../nsqlookupd/nsqlookupd.ts";
import { defaultNsqlookupdOptions } from "../nsqlookupd/options.ts";
import { FlagError, HelpRequested, usage } from "./flags.ts";
import { nsqlookupdFlagSpecs, parseNsqlookupdArgs } from "./nsqlookupd_options.ts";

async function main(): Promise<void> {
  const platform = await currentPlatform();
  const defaults = defaultNsqlookupdOptions(platform.hostname());
  let result: ReturnType<typeof parseNsqlookupdArgs>;
  try {
    result = parseNsqlookupdArgs([...platform.args], defaults);
  } catch (err) {
    if (err instanceof HelpRequested) {
      platform.writeStderr(usage("nsqlookupd", nsqlookupdFlagSpecs(defaults)));
      return platform.exit(0);
    }
    if (err instanceof FlagError) {
      platform.writeStderr(`${err.message}\n${usage("nsqlookupd", nsqlookupdFlagSpecs(defaults))}`);
      return platform.exit(2);
    }
    // A config file or value nsqlookupd refuses: a FATAL log line, exit 1, as upstream's logFatal.
    new Logger((l) => platform.writeStderr(l), defaults.logPrefix, LogLevel.info).fatal(
      (err as Error).message,
    );
    return platform.exit(1);
  }
  const { parsed, options } = result;
  if (parsed.values.get("version")) {
    console.log(
      `nsqlookupd v${RELEASE_VERSION} (NSQ protocol ${NSQ_VERSION}; ${platform.name} ${platform.version})`,
    );
    return platform.exit(0);
  }

  const lookupd = new Nsqlookupd(platform, options);
  // Signals are handled from before the listening lines are logged: whoever waits for those lines
  // may signal at once.
  let starting: Promise<void> = Promise.resolve();
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await starting.catch(() => {});
    await lookupd.close();
    platform.exit(0);
  };
  platform.onSignal("SIGINT", stop);
  platform.onSignal("SIGTERM", stop);
  try {
    starting = lookupd.start();
    await starting;
  } catch (err) {
    lookupd.logger.fatal(`failed to instantiate nsqlookupd - ${(err as Error).message}`);
    return platform.exit(1);
  }
}

await main();
