/**
 * What nsqd's and nsqlookupd's entry points share, as upstream's apps do: Go flag errors (usage,
 * exit 2), `-h` (usage, exit 0), config errors (a FATAL log line, exit 1), `--version` (stdout,
 * exit 0), and a clean exit 0 on SIGINT/SIGTERM — with the signal handlers installed before the
 * listeners start, since tools signal as soon as they see the `listening on` lines. With nsqd's
 * `--sigterm=drain` the first SIGTERM starts a drain instead; a second one (or SIGINT) is a clean
 * shutdown. A server that closes by itself (a finished drain, `PUT /config/shutdown`) exits 0 too.
 */
import { Logger, LogLevel } from "../internal/logger.ts";
import { versionString } from "../internal/version.ts";
import type { Platform } from "../platform/types.ts";
import { FlagError, type FlagSpec, HelpRequested, type ParsedFlags, usage } from "./flags.ts";

/** One program: how to parse its arguments and what it runs. */
export interface Program<O> {
  name: "nsqd" | "nsqlookupd" | "nsqadmin";
  defaults: O & { logPrefix: string };
  specs(defaults: O): FlagSpec[];
  parse(argv: string[], defaults: O): { parsed: ParsedFlags; options: O };
  /** Creates the server (throws on bad options). */
  create(options: O): Server;
  /** Whether SIGTERM starts a drain (`Server.drain`) rather than a clean shutdown. */
  drainOnSigterm?(options: O): boolean;
}

/** What a program runs. */
export interface Server {
  start(): Promise<void>;
  close(): Promise<void>;
  /** Starts a drain; resolves once the server has closed. */
  drain?(): Promise<void>;
  /** Resolves once the server has closed, whatever closed it. */
  readonly closed?: Promise<void>;
}

/** Parses the command line (`args`, default: the process's), starts the program, and exits as upstream does. */
export async function runProgram<O>(
  platform: Platform,
  program: Program<O>,
  args: readonly string[] = platform.args,
): Promise<void> {
  const { name, defaults } = program;
  let result: { parsed: ParsedFlags; options: O };
  try {
    result = program.parse([...args], defaults);
  } catch (err) {
    if (err instanceof HelpRequested) {
      platform.writeStderr(usage(name, program.specs(defaults)));
      return platform.exit(0);
    }
    if (err instanceof FlagError) {
      platform.writeStderr(`${err.message}\n${usage(name, program.specs(defaults))}`);
      return platform.exit(2);
    }
    // A config file or value the program refuses: a FATAL log line, exit 1, as upstream's logFatal.
    fatal(platform, defaults.logPrefix, (err as Error).message);
    return platform.exit(1);
  }
  const { parsed, options } = result;
  if (parsed.values.get("version")) {
    console.log(versionString(name, platform));
    return platform.exit(0);
  }

  let server: Server | null = null;
  let started = false;
  let stopRequested = false;
  let draining = false;
  const stop = async () => {
    if (stopRequested) return;
    stopRequested = true;
    if (!started) return; // start() finishing will see the request
    await server!.close();
    platform.exit(0);
  };
  platform.onSignal("SIGINT", stop);
  platform.onSignal("SIGTERM", () => {
    // The first SIGTERM of a started server with --sigterm=drain drains; any other is a clean shutdown.
    if (started && !draining && !stopRequested && server?.drain && program.drainOnSigterm?.(options)) {
      draining = true;
      void server.drain();
      return;
    }
    void stop();
  });
  try {
    server = program.create(options);
    await server.start();
  } catch (err) {
    fatal(
      platform,
      (options as { logPrefix?: string }).logPrefix ?? defaults.logPrefix,
      `failed to instantiate ${name} - ${(err as Error).message}`,
    );
    return platform.exit(1);
  }
  started = true;
  void server.closed?.then(() => platform.exit(0));
  if (stopRequested) {
    await server.close();
    platform.exit(0);
  }
}

function fatal(platform: Platform, prefix: string, msg: string): void {
  new Logger((l) => platform.writeStderr(l), prefix, LogLevel.info).fatal(msg);
}
