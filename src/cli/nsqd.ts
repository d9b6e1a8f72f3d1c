/**
 * The `nsqd` entry point: `deno run -A src/cli/nsqd.ts [flags]` or `bun src/cli/nsqd.ts [flags]`.
 * Parses Go-style flags, starts the broker, and exits 0 on SIGINT/SIGTERM after a clean shutdown.
 */
import { currentPlatform } from "../platform/mod.ts";
import { Logger, LogLevel } from "../nsqd/logger.ts";
import { Nsqd } from "../nsqd/nsqd.ts";
import { defaultNsqdOptions } from "../nsqd/options.ts";
import { NSQ_VERSION, RELEASE_VERSION } from "../nsqd/version.ts";
import { FlagError, HelpRequested, usage } from "./flags.ts";
import { nsqdFlagSpecs, parseNsqdArgs } from "./nsqd_options.ts";

async function main(): Promise<void> {
  const platform = await currentPlatform();
  const defaults = defaultNsqdOptions(platform.hostname());
  let result: ReturnType<typeof parseNsqdArgs>;
  try {
    result = parseNsqdArgs([...platform.args], defaults);
  } catch (err) {
    if (err instanceof HelpRequested) {
      platform.writeStderr(usage("nsqd", nsqdFlagSpecs(defaults)));
      return platform.exit(0);
    }
    if (err instanceof FlagError) {
      platform.writeStderr(`${err.message}\n${usage("nsqd", nsqdFlagSpecs(defaults))}`);
      return platform.exit(2);
    }
    // A config file or value nsqd refuses: a FATAL log line, exit 1, as upstream's logFatal.
    new Logger((l) => platform.writeStderr(l), defaults.logPrefix, LogLevel.info).fatal(
      (err as Error).message,
    );
    return platform.exit(1);
  }
  const { parsed, options } = result;
  if (parsed.values.get("version")) {
    console.log(
      `nsqd v${RELEASE_VERSION} (NSQ protocol ${NSQ_VERSION}; ${platform.name} ${platform.version})`,
    );
    platform.exit(0);
  }

  const fatalLog = new Logger((l) => platform.writeStderr(l), options.logPrefix, LogLevel.info);
  // Signal handlers go in before start(): a signal that arrives while starting (tools send one as
  // soon as they see the listening lines) still means a clean shutdown and exit 0.
  let nsqd: Nsqd | null = null;
  let started = false;
  let stopRequested = false;
  const stop = async () => {
    if (stopRequested) return;
    stopRequested = true;
    if (!started) return; // start() finishing will see the request
    await nsqd!.close();
    platform.exit(0);
  };
  platform.onSignal("SIGINT", stop);
  platform.onSignal("SIGTERM", stop);
  try {
    nsqd = new Nsqd(platform, options);
    await nsqd.start();
  } catch (err) {
    fatalLog.fatal(`failed to instantiate nsqd - ${(err as Error).message}`);
    return platform.exit(1);
  }
  started = true;
  if (stopRequested) {
    await nsqd.close();
    platform.exit(0);
  }
}

await main();
