/**
 * What every NSQ utility app shares (shared/nsq-reference.md §10.1): Go flag parsing (usage and
 * exit 2 on a bad flag, exit 0 on `-h`), `--version` (`<app> v1.3.0-ts… (built w/…)`, exit 0),
 * Go's `log` lines on stderr (`2006/01/02 15:04:05 msg`), `log.Fatal` (exit 1), and a buffered
 * standard output that is flushed before the process exits.
 *
 * An app is a `run(ctx)` that resolves with its exit code; `runApp()` does the rest. A long-running
 * app (nsq_to_file, nsq_to_http, nsq_to_nsq) hands its {@link Service} to {@link serveUntilSignal}.
 *
 * @module
 */
import {
  FlagError,
  type FlagSpec,
  HelpRequested,
  type ParsedFlags,
  parseFlags,
  usage,
} from "../cli/flags.ts";
import { versionString } from "../internal/version.ts";
import type { Platform } from "../platform/types.ts";

/** One app: its name, its flags, and what it does once they are parsed. */
export interface App {
  /** The program name, as upstream's binary (`nsq_tail`, `to_nsq`, …). */
  name: string;
  /** Its flags (without `--version`, which `runApp` adds unless `noVersionFlag`). */
  flags(): FlagSpec[];
  /** to_nsq has no `--version` flag upstream. */
  noVersionFlag?: boolean;
  /** Runs the app; resolves with the exit code. Throw {@link AppFatal} (or any Error) for `log.Fatal`. */
  run(ctx: AppContext): Promise<number>;
}

/** What an app gets to work with. */
export interface AppContext {
  readonly platform: Platform;
  /** The parsed flags (values by flag name; durations in ns). */
  readonly flags: ParsedFlags;
  /** Buffered standard output. */
  readonly stdout: StdoutWriter;
  /** One Go `log` line on stderr: `2006/01/02 15:04:05 <msg>`. */
  log(msg: string): void;
}

/** Upstream's `log.Fatal(msg)`: `runApp` logs `msg` and exits 1. */
export class AppFatal extends Error {
  override name = "AppFatal";
}

/** Go's `log` standard prefix: local time `2006/01/02 15:04:05 `. */
export function goLogLine(msg: string, now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `${now.getFullYear()}/${p(now.getMonth() + 1)}/${p(now.getDate())} ${p(now.getHours())}:${
    p(now.getMinutes())
  }:${p(now.getSeconds())} ${msg}\n`;
}

/** `log.Printf(msg)`: one {@link goLogLine} on standard error. */
export function goLog(platform: Platform, msg: string): void {
  platform.writeStderr(goLogLine(msg));
}

/** Typed reads of parsed flag values, by flag name. */
export interface FlagValues {
  str(name: string): string;
  /** An int, a float, or a duration in nanoseconds. */
  num(name: string): number;
  bool(name: string): boolean;
  /** A repeatable flag's values, in order. */
  list(name: string): string[];
}

/** {@link FlagValues} over `flags`. */
export function flagValues(flags: ParsedFlags): FlagValues {
  const v = flags.values;
  return {
    str: (k) => v.get(k) as string,
    num: (k) => v.get(k) as number,
    bool: (k) => v.get(k) as boolean,
    list: (k) => v.get(k) as string[],
  };
}

/** Upstream's apps take no positional arguments: any is a `log.Fatal` (`unknown arguments: …`). */
export function refuseArgs(flags: ParsedFlags): void {
  if (flags.args.length > 0) throw new AppFatal(`unknown arguments: ${flags.args.join(" ")}`);
}

/** What a long-running app runs: consumers that work until they are told to stop. */
export interface Service {
  /** Connects; rejects when it cannot start (`log.Fatal`, exit 1). */
  start(): Promise<void>;
  /** Graceful stop: nothing more is taken, everything taken is answered (and written). */
  stop(): Promise<void>;
}

/**
 * Starts `service` and stops it gracefully on SIGINT/SIGTERM (handlers installed before it starts,
 * so a signal during start stops it too); resolves with 0 once it has stopped. A failed start or
 * stop is an {@link AppFatal}.
 */
export async function serveUntilSignal(platform: Platform, service: Service): Promise<number> {
  const stopped = Promise.withResolvers<void>();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    service.stop().then(stopped.resolve, (err) => {
      stopped.reject(new AppFatal(`stop failed: ${(err as Error).message}`));
    });
  };
  stopped.promise.catch(() => {}); // a failed start wins; a stop failing meanwhile is not unhandled
  platform.onSignal("SIGINT", stop);
  platform.onSignal("SIGTERM", stop);
  try {
    await service.start();
  } catch (err) {
    throw new AppFatal((err as Error).message);
  }
  await stopped.promise;
  return 0;
}

const encoder = new TextEncoder();

/**
 * Standard output gathered per tick into one write. `write()` resolves once its bytes were
 * written (so a consumer can FIN a message only after printing it) and rejects on a write error
 * (a closed pipe).
 */
export class StdoutWriter {
  readonly #platform: Platform;
  #chunks: Uint8Array[] = [];
  #size = 0;
  #pending: PromiseWithResolvers<void> | null = null;
  #flushing: Promise<void> = Promise.resolve();

  constructor(platform: Platform) {
    this.#platform = platform;
  }

  /** Queues `data` (text as UTF-8); the caller may reuse `data` once this returns. */
  write(data: Uint8Array | string): Promise<void> {
    const bytes = typeof data === "string" ? encoder.encode(data) : data.slice();
    this.#chunks.push(bytes);
    this.#size += bytes.length;
    if (this.#pending === null) {
      this.#pending = Promise.withResolvers<void>();
      const pending = this.#pending;
      // Everything written in this tick (a frame's worth of messages) goes out in one write.
      setTimeout(() => this.#flush(pending), 0);
    }
    return this.#pending.promise;
  }

  /** Resolves once everything queued so far is written. */
  flush(): Promise<void> {
    return this.#pending ? this.#pending.promise.catch(() => {}) : this.#flushing.catch(() => {});
  }

  #flush(pending: PromiseWithResolvers<void>): void {
    const out = new Uint8Array(this.#size);
    let off = 0;
    for (const c of this.#chunks) {
      out.set(c, off);
      off += c.length;
    }
    this.#chunks = [];
    this.#size = 0;
    this.#pending = null;
    const prev = this.#flushing;
    this.#flushing = prev.then(() => this.#platform.writeStdout(out)).then(pending.resolve, (err) => {
      pending.reject(err);
      throw err;
    });
    this.#flushing.catch(() => {});
  }
}

/**
 * Parses `args` for `app`, runs it and exits with its code, as upstream's `main()`: a flag error
 * prints the message and usage (exit 2), `-h` the usage (exit 0), `--version` the version (exit 0);
 * an {@link AppFatal} (or other error) from `run` is a `log.Fatal` (exit 1).
 */
export async function runApp(platform: Platform, args: readonly string[], app: App): Promise<void> {
  const specs = app.flags();
  if (!app.noVersionFlag) {
    specs.push({ name: "version", kind: "bool", default: false, usage: "print version string" });
  }
  let flags: ParsedFlags;
  try {
    flags = parseFlags(specs, [...args]);
  } catch (err) {
    if (err instanceof HelpRequested) {
      platform.writeStderr(usage(app.name, specs));
      return platform.exit(0);
    }
    if (err instanceof FlagError) {
      platform.writeStderr(`${err.message}\n${usage(app.name, specs)}`);
      return platform.exit(2);
    }
    throw err;
  }
  if (flags.values.get("version") === true) {
    await platform.writeStdout(encoder.encode(versionString(app.name, platform) + "\n"));
    return platform.exit(0);
  }
  const stdout = new StdoutWriter(platform);
  const log = (msg: string) => goLog(platform, msg);
  let code: number;
  try {
    code = await app.run({ platform, flags, stdout, log });
  } catch (err) {
    await stdout.flush();
    log((err as Error).message);
    return platform.exit(1);
  }
  await stdout.flush();
  platform.exit(code);
}
