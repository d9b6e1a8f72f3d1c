/**
 * nsq_to_file (upstream v1.3.0 `apps/nsq_to_file`, shared/nsq-reference.md §10.5): writes every
 * message of one or more topics to files, one body per line, with rotation, gzip and a work dir.
 * No message is FINed before the fsync that covers it, so a crash or a kill loses nothing: what
 * was not synced is redelivered by nsqd.
 *
 * Run it as `nsq nsq_to_file [flags]` (or the `nsq_to_file` link), or from source:
 * `deno run -A src/cli/nsq.ts nsq_to_file [flags]`, `bun src/cli/nsq.ts nsq_to_file [flags]`.
 *
 * @module
 */
import { hostname as osHostname } from "node:os";
import { pid } from "node:process";
import { Consumer } from "../client/consumer.ts";
import type { ConsumerMessage } from "../client/message.ts";
import type { FlagSpec } from "../cli/flags.ts";
import { Logger, type LogLevel, parseLogLevel } from "../internal/logger.ts";
import { userAgent } from "../internal/version.ts";
import type { Platform } from "../platform/types.ts";
import { isValidChannelName } from "../protocol/names.ts";
import {
  type App,
  type AppContext,
  AppFatal,
  flagValues,
  refuseArgs,
  runApp,
  serveUntilSignal,
  type Service,
} from "./app.ts";
import {
  type ClientFlagOptions,
  clientFlagOptions,
  consumerFlags,
  type ConsumerSources,
  consumerSources,
} from "./client_flags.ts";
import { FileLogger, type FileLoggerOptions } from "./file_logger.ts";

/** nsq_to_file's options (durations in ms). */
export interface NsqToFileOptions extends ConsumerSources, Omit<FileLoggerOptions, "hostIdentifier" | "pid"> {
  topics: string[];
  topicPattern: RegExp | null;
  topicRefresh: number;
  channel: string;
  consumerOpts: ClientFlagOptions;
  hostIdentifier: string;
  syncInterval: number;
  httpRequestTimeout: number;
  logLevel: LogLevel;
  logPrefix: string;
}

const NS_PER_MS = 1e6;

/** The nsq_to_file app. */
export const NSQ_TO_FILE: App = {
  name: "nsq_to_file",
  flags: (): FlagSpec[] => [
    {
      name: "log-level",
      kind: "string",
      default: "info",
      usage: "set log verbosity: debug, info, warn, error, or fatal",
    },
    { name: "log-prefix", kind: "string", default: "[nsq_to_file] ", usage: "log message prefix" },
    { name: "channel", kind: "string", default: "nsq_to_file", usage: "nsq channel" },
    { name: "output-dir", kind: "string", default: "/tmp", usage: "directory to write output files to" },
    {
      name: "work-dir",
      kind: "string",
      default: "",
      usage: "directory for in-progress files before moving to output-dir",
    },
    {
      name: "datetime-format",
      kind: "string",
      default: "%Y-%m-%d_%H",
      usage: "strftime compatible format for <DATETIME> in filename format",
    },
    {
      name: "filename-format",
      kind: "string",
      default: "<TOPIC>.<HOST><REV>.<DATETIME>.log",
      usage:
        "output filename format (<TOPIC>, <HOST>, <PID>, <DATETIME>, <REV> are replaced. <REV> is increased " +
        "when file already exists)",
    },
    {
      name: "host-identifier",
      kind: "string",
      default: "",
      usage:
        "value to output in log filename in place of hostname. <SHORT_HOST> and <HOSTNAME> are valid replacement tokens",
    },
    {
      name: "gzip-level",
      kind: "int",
      default: 6,
      usage: "gzip compression level (1-9, 1=BestSpeed, 9=BestCompression)",
    },
    { name: "gzip", kind: "bool", default: false, usage: "gzip output files." },
    {
      name: "skip-empty-files",
      kind: "bool",
      default: false,
      usage: "skip writing empty files",
    },
    {
      name: "topic-refresh",
      kind: "duration",
      default: 60_000 * NS_PER_MS,
      usage: "how frequently the topic list should be refreshed",
    },
    {
      name: "topic-pattern",
      kind: "string",
      default: "",
      usage: "only log topics matching the following pattern",
    },
    {
      name: "rotate-size",
      kind: "int",
      default: 0,
      usage: "rotate the file when it grows bigger than `rotate-size` bytes",
    },
    {
      name: "rotate-interval",
      kind: "duration",
      default: 0,
      usage: "rotate the file every duration",
    },
    {
      name: "sync-interval",
      kind: "duration",
      default: 30_000 * NS_PER_MS,
      usage: "sync file to disk every duration",
    },
    {
      name: "http-client-connect-timeout",
      kind: "duration",
      default: 2000 * NS_PER_MS,
      usage: "timeout for HTTP connect",
    },
    {
      name: "http-client-request-timeout",
      kind: "duration",
      default: 5000 * NS_PER_MS,
      usage: "timeout for HTTP request",
    },
    { name: "topic", kind: "strings", default: [], usage: "nsq topic (may be given multiple times)" },
    ...consumerFlags(),
  ],
  run: (ctx) => serveUntilSignal(ctx.platform, new NsqToFile(ctx.platform, optionsFrom(ctx))),
};

/** Runs nsq_to_file with `args`. */
export function main(platform: Platform, args: readonly string[]): Promise<void> {
  return runApp(platform, args, NSQ_TO_FILE);
}

function optionsFrom({ flags, platform }: AppContext): NsqToFileOptions {
  const { str, num, bool, list } = flagValues(flags);
  const consumerOpts = clientFlagOptions(list("consumer-opt"));
  refuseArgs(flags);
  let logLevel: LogLevel;
  try {
    logLevel = parseLogLevel(str("log-level"));
  } catch {
    throw new AppFatal("--log-level is invalid");
  }
  const channel = str("channel");
  if (channel === "") throw new AppFatal("--channel is required");
  if (!isValidChannelName(channel)) throw new AppFatal("--channel is invalid");
  const addrs = consumerSources(flags.values);
  const topics = list("topic");
  const pattern = str("topic-pattern");
  if (topics.length === 0 && pattern === "") throw new AppFatal("--topic or --topic-pattern required");
  if (topics.length === 0 && addrs.lookupdHttpAddresses.length === 0) {
    throw new AppFatal("--lookupd-http-address must be specified when no --topic specified");
  }
  const gzipLevel = num("gzip-level");
  if (gzipLevel < 1 || gzipLevel > 9) {
    throw new AppFatal(`invalid --gzip-level value (${gzipLevel}), should be 1-9`);
  }
  let topicPattern: RegExp | null = null;
  if (pattern !== "") {
    try {
      topicPattern = new RegExp(pattern);
    } catch (err) {
      throw new AppFatal(`error compiling --topic-pattern: ${(err as Error).message}`);
    }
  }
  const maxInFlight = num("max-in-flight");
  if (maxInFlight < 1) throw new AppFatal("--max-in-flight must be at least 1");
  const outputDir = str("output-dir");
  const host = platform.hostname() || osHostname();
  const shortHost = host.split(".")[0];
  const ident = str("host-identifier");
  return {
    ...addrs,
    topics,
    topicPattern,
    topicRefresh: num("topic-refresh") / NS_PER_MS,
    channel,
    consumerOpts,
    maxInFlight,
    outputDir,
    workDir: str("work-dir") === "" ? outputDir : str("work-dir"),
    filenameFormat: str("filename-format"),
    datetimeFormat: str("datetime-format"),
    hostIdentifier: ident === "" ? shortHost : ident.replaceAll("<SHORT_HOST>", shortHost).replaceAll(
      "<HOSTNAME>",
      host,
    ),
    gzipLevel: bool("gzip") ? gzipLevel : 0,
    rotateSize: num("rotate-size"),
    rotateInterval: num("rotate-interval") / NS_PER_MS,
    skipEmptyFiles: bool("skip-empty-files"),
    syncInterval: num("sync-interval") / NS_PER_MS,
    httpRequestTimeout: num("http-client-request-timeout") / NS_PER_MS,
    logLevel,
    logPrefix: str("log-prefix"),
  };
}

interface TopicOutput {
  consumer: Consumer;
  file: FileLogger;
}

/** The running tool: one Consumer and one FileLogger per topic. */
export class NsqToFile implements Service {
  readonly #platform: Platform;
  readonly #o: NsqToFileOptions;
  readonly #log: Logger;
  readonly #topics = new Map<string, TopicOutput>();
  /** Topics refused (pattern, bad file name): not logged again on every refresh. */
  readonly #skipped = new Set<string>();
  #syncTimer: ReturnType<typeof setInterval> | undefined;
  #refreshTimer: ReturnType<typeof setInterval> | undefined;
  #stopping = false;

  constructor(platform: Platform, options: NsqToFileOptions) {
    this.#platform = platform;
    this.#o = options;
    this.#log = new Logger((l) => platform.writeStderr(l), options.logPrefix, options.logLevel);
  }

  async start(): Promise<void> {
    this.#syncTimer = setInterval(() => this.#guard(() => this.#tick()), this.#o.syncInterval);
    this.#platform.onSignal("SIGHUP", () => this.#guard(() => this.#closeFiles()));
    if (this.#o.topics.length > 0) {
      for (const topic of this.#o.topics) await this.#addTopic(topic);
      return;
    }
    await this.#refreshTopics();
    this.#refreshTimer = setInterval(() => void this.#refreshTopics(), this.#o.topicRefresh);
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    clearInterval(this.#syncTimer);
    clearInterval(this.#refreshTimer);
    // CLS first (nsqd sends no more; late arrivals are requeued by the handler), then every
    // written message is synced and FINed, then the connections close.
    const stops = [...this.#topics.values()].map((t) => t.consumer.stop());
    this.#guard(() => this.#closeFiles());
    await Promise.all(stops);
  }

  #tick(): void {
    for (const { file } of this.#topics.values()) file.tick();
  }

  #closeFiles(): void {
    for (const { file } of this.#topics.values()) file.close();
  }

  /** Runs file I/O; an error is fatal (upstream: `log.Fatal`), and what was not synced is redelivered. */
  #guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.fatal((err as Error).message);
      this.#platform.exit(1);
    }
  }

  async #refreshTopics(): Promise<void> {
    if (this.#stopping) return;
    const found = new Set<string>();
    for (const addr of this.#o.lookupdHttpAddresses) {
      try {
        for (const t of await this.#lookupdTopics(addr)) found.add(t);
      } catch (err) {
        this.#log.error(`error querying nsqlookupd ${addr}/topics - ${(err as Error).message}`);
      }
    }
    for (const topic of [...found].sort()) await this.#addTopic(topic);
  }

  async #lookupdTopics(addr: string): Promise<string[]> {
    const base = /^https?:\/\//.test(addr) ? addr.replace(/\/$/, "") : `http://${addr}`;
    const res = await fetch(`${base}/topics`, {
      headers: { Accept: "application/vnd.nsq; version=1.0" },
      signal: AbortSignal.timeout(this.#o.httpRequestTimeout),
    });
    if (!res.ok) throw new Error(`got response ${res.status}`);
    const body = await res.json() as { topics?: unknown; data?: { topics?: unknown } };
    const topics = body.topics ?? body.data?.topics;
    return Array.isArray(topics) ? topics.filter((t): t is string => typeof t === "string") : [];
  }

  async #addTopic(topic: string): Promise<void> {
    if (this.#stopping || this.#topics.has(topic) || this.#skipped.has(topic)) return;
    const pattern = this.#o.topicPattern;
    if (pattern !== null && !pattern.test(topic)) {
      this.#skipped.add(topic);
      this.#log.info(`skipping topic ${topic} (doesn't match pattern ${pattern.source})`);
      return;
    }
    let file: FileLogger;
    try {
      file = new FileLogger(topic, this.#o.channel, { ...this.#o, pid }, this.#log);
    } catch (err) {
      this.#skipped.add(topic);
      this.#log.error(`couldn't create logger for new topic ${topic}: ${(err as Error).message}`);
      return;
    }
    const consumer = new Consumer(topic, this.#o.channel, {
      ...this.#o.consumerOpts,
      maxInFlight: this.#o.maxInFlight,
      userAgent: userAgent("nsq_to_file"),
      autoResponse: false,
      onError: (err) => this.#log.error(`[${topic}/${this.#o.channel}] ${err.message}`),
    });
    const output = { consumer, file };
    consumer.addHandler((msg) => this.#onMessage(output, msg));
    this.#topics.set(topic, output);
    try {
      for (const a of this.#o.nsqdTcpAddresses) await consumer.connectToNsqd(a);
      for (const a of this.#o.lookupdHttpAddresses) await consumer.connectToNsqlookupd(a);
    } catch (err) {
      if (this.#stopping) return;
      throw new Error(`[${topic}/${this.#o.channel}] ${(err as Error).message}`);
    }
  }

  #onMessage(output: TopicOutput, msg: ConsumerMessage): void {
    // Arrived after the CLS: nothing is written any more, nsqd gets it back at once.
    if (this.#stopping) return msg.requeue(0, false);
    this.#guard(() => output.file.write(msg, output.consumer.isStarved));
  }
}
