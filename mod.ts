/**
 * Embed NSQ brokers in a Deno or Bun program: `startNsqd()` and `startNsqlookupd()` run upstream
 * compatible brokers in this process, on the runtime it runs on. Options are the brokers' flags in
 * camelCase (`memQueueSize` for `--mem-queue-size`), durations in milliseconds.
 *
 * @example A broker on ephemeral ports: publish in-process, read its stats, stop it
 * ```ts
 * import { startNsqd } from "./mod.ts";
 *
 * const dataPath = await Deno.makeTempDir();
 * const nsqd = await startNsqd({ tcpAddress: "127.0.0.1:0", httpAddress: "127.0.0.1:0", dataPath, logLevel: "warn" });
 * nsqd.publish("events", "hello");
 * console.log(nsqd.tcpAddr?.port, nsqd.stats().topics?.[0].depth); // <port> 1
 * await nsqd.close();
 * ```
 *
 * @module
 */
import { type LogLevelName, parseLogLevel } from "./src/internal/logger.ts";
import { Nsqd } from "./src/nsqd/nsqd.ts";
import { defaultNsqdOptions, type NsqdOptions } from "./src/nsqd/options.ts";
import { Nsqlookupd } from "./src/nsqlookupd/nsqlookupd.ts";
import { defaultNsqlookupdOptions, type NsqlookupdOptions } from "./src/nsqlookupd/options.ts";
import { currentPlatform } from "./src/platform/mod.ts";

export { NSQ_VERSION, RELEASE_VERSION } from "./src/internal/version.ts";
export type { NsqdOptions } from "./src/nsqd/options.ts";
export type { NsqlookupdOptions } from "./src/nsqlookupd/options.ts";

export { LogLevel, type LogLevelName } from "./src/internal/logger.ts";

/**
 * The client: {@link Producer} publishes to one nsqd (lazy connection, pipelined PUB/MPUB/DPUB,
 * reconnect on demand, optional batching); {@link Consumer} receives.
 *
 * @example Publish to an nsqd (here one embedded in this process)
 * ```ts
 * import { Producer, startNsqd } from "./mod.ts";
 *
 * const nsqd = await startNsqd({ tcpAddress: "127.0.0.1:0", httpAddress: "", dataPath: await Deno.makeTempDir(), logLevel: "warn" });
 * const producer = new Producer(`127.0.0.1:${nsqd.tcpAddr!.port}`);
 * await producer.publish("events", "hello");
 * await producer.publishMany("events", ["a", "b", "c"]);
 * await producer.publishDeferred("events", 1000, JSON.stringify({ later: true }));
 * await producer.close();
 * await nsqd.close();
 * ```
 */
export { type BatchOptions, type Body, Producer, type ProducerOptions } from "./src/client/producer.ts";
export {
  type BackoffStrategy,
  type ClientConfig,
  defaultClientConfig,
  type TlsClientOptions,
} from "./src/client/config.ts";
export { NsqClosedError, NsqConnectionError, NsqError } from "./src/client/errors.ts";

/**
 * The client's {@link Consumer}: subscribes to a topic/channel on nsqds given directly or found
 * through nsqlookupd, with go-nsq's flow control (`maxInFlight` shared by all connections, RDY
 * redistribution, backoff), handlers with concurrency or a `for await` loop, and a graceful
 * `stop()`.
 *
 * @example Consume what a Producer published (here through an nsqd embedded in this process)
 * ```ts
 * import { Consumer, Producer, startNsqd } from "./mod.ts";
 *
 * const nsqd = await startNsqd({ tcpAddress: "127.0.0.1:0", httpAddress: "", dataPath: await Deno.makeTempDir(), logLevel: "warn" });
 * const address = `127.0.0.1:${nsqd.tcpAddr!.port}`;
 * const producer = new Producer(address);
 * await producer.publishMany("events", ["a", "b", "c"]);
 *
 * const consumer = new Consumer("events", "archive", { maxInFlight: 10 });
 * const got: string[] = [];
 * consumer.addHandler(async (msg) => { got.push(msg.text); }, { concurrency: 2 }); // resolves: FIN; throws: REQ
 * await consumer.connectToNsqd(address);
 * while (got.length < 3) await new Promise((r) => setTimeout(r, 10));
 * await consumer.stop(); // CLS, waits for the handlers, closes
 * console.log(got.sort()); // ["a", "b", "c"]
 * await producer.close();
 * await nsqd.close();
 * ```
 */
export {
  Consumer,
  type ConsumerOptions,
  type ConsumerStats,
  type HandlerOptions,
  type MessageHandler,
} from "./src/client/consumer.ts";
export { ConsumerMessage } from "./src/client/message.ts";

/** A bound TCP address. */
export interface Address {
  /** The host name or IP the listener is bound to. */
  hostname: string;
  /** The port (the real one when port 0 was asked). */
  port: number;
}

/**
 * The statistics of an nsqd, in the JSON shape of upstream's `GET /stats?format=json` (without
 * `memory`): `topics` (each with `channels`, and each channel with `clients`) and `producers`.
 */
export interface NsqdStats {
  /** NSQ protocol version, `1.3.0`. */
  version: string;
  /** `OK`, or `NOK - <error>` after a failed disk write. */
  health: string;
  /** Start time, Unix seconds. */
  start_time: number;
  /** One entry per topic (null when a `topic` filter matched none). */
  topics: Record<string, unknown>[] | null;
  /** TCP connections that published (null when none). */
  producers: Record<string, unknown>[] | null;
  /** `true` while draining; absent otherwise (upstream's shape). */
  draining?: true;
}

/** A running nsqd started by {@link startNsqd}. */
export interface EmbeddedNsqd {
  /** Where it listens for TCP clients. */
  readonly tcpAddr: Address | null;
  /** Where it serves HTTP (null when `httpAddress` is `""`). */
  readonly httpAddr: Address | null;
  /** Whether a drain has started ({@link EmbeddedNsqd.drain} or `PUT /config/drain`). */
  readonly draining: boolean;
  /** Resolves once it has closed, whatever closed it: `close()`, a finished drain, `PUT /config/shutdown`. */
  readonly closed: Promise<void>;
  /**
   * Publishes a message to `topic` (created if needed), as `POST /pub` does. Throws an Error
   * `draining` while draining.
   * @param topic a valid topic name
   * @param body the message body (not empty, at most `maxMsgSize` bytes)
   * @param options `deferMs` > 0 delays delivery
   */
  publish(topic: string, body: Uint8Array | string, options?: { deferMs?: number }): void;
  /**
   * Its statistics, as `GET /stats?format=json`.
   * @param options `topic` / `channel` filters, `includeClients` (default true)
   */
  stats(options?: { topic?: string; channel?: string; includeClients?: boolean }): NsqdStats;
  /**
   * Stops it: clients disconnected, messages and nsqd.dat persisted, ports and the data path released.
   * During a drain, ends the drain the same way (nothing is lost).
   */
  close(): Promise<void>;
  /**
   * Starts a drain (it cannot be cancelled): publishes are refused, no topic or channel is created,
   * consumers keep receiving what is queued, deferred or in flight, then it closes as `close()` does.
   * A drain does not wait for a topic without channels, or a paused topic or channel: their messages
   * are kept on disk, as `close()` keeps them. `drainTimeout` (ms) bounds it.
   * @returns resolves once closed: drained, timed out, or by a `close()` meanwhile.
   *
   * @example An nsqd with nothing queued closes at once
   * ```ts
   * import { startNsqd } from "./mod.ts";
   *
   * const nsqd = await startNsqd({ tcpAddress: "127.0.0.1:0", httpAddress: "", dataPath: await Deno.makeTempDir(), logLevel: "warn" });
   * await nsqd.drain();
   * console.log(nsqd.draining); // true
   * ```
   */
  drain(): Promise<void>;
}

/** A running nsqlookupd started by {@link startNsqlookupd}. */
export interface EmbeddedNsqlookupd {
  /** Where it listens for nsqd connections. */
  readonly tcpAddr: Address | null;
  /** Where it serves HTTP (`/lookup`, `/nodes`, …). */
  readonly httpAddr: Address | null;
  /** Stops it and releases its ports. */
  close(): Promise<void>;
}

/** Options of {@link startNsqd}: any nsqd option; unset ones take nsqd's defaults. */
export type StartNsqdOptions = Partial<Omit<NsqdOptions, "logLevel">> & {
  /** `debug`, `info` (default), `warn`, `error` or `fatal`. */
  logLevel?: LogLevelName;
  /** Where log lines go (default: standard error). */
  log?: (line: string) => void;
};

/** Options of {@link startNsqlookupd}: any nsqlookupd option; unset ones take its defaults. */
export type StartNsqlookupdOptions = Partial<Omit<NsqlookupdOptions, "logLevel">> & {
  /** `debug`, `info` (default), `warn`, `error` or `fatal`. */
  logLevel?: LogLevelName;
  /** Where log lines go (default: standard error). */
  log?: (line: string) => void;
};

/**
 * Starts an nsqd in this process and resolves once it listens (its data path locked and nsqd.dat
 * loaded). `close()` stops it: clients disconnected, messages persisted, ports released.
 *
 * @param options nsqd options; defaults: TCP 0.0.0.0:4150, HTTP 0.0.0.0:4151, data in the working directory.
 * @returns the running broker.
 *
 * @example
 * ```ts
 * import { startNsqd } from "./mod.ts";
 *
 * const dataPath = await Deno.makeTempDir();
 * const nsqd = await startNsqd({ tcpAddress: "127.0.0.1:0", httpAddress: "", dataPath, logLevel: "error" });
 * nsqd.publish("orders", JSON.stringify({ id: 1 }));
 * await nsqd.close();
 * ```
 */
export async function startNsqd(options: StartNsqdOptions = {}): Promise<EmbeddedNsqd> {
  const platform = await currentPlatform();
  const { logLevel, log, ...rest } = options;
  const opts: NsqdOptions = { ...defaultNsqdOptions(platform.hostname()), ...rest };
  if (logLevel !== undefined) opts.logLevel = parseLogLevel(logLevel);
  const nsqd = new Nsqd(platform, opts, log);
  await nsqd.start();
  return nsqd as unknown as EmbeddedNsqd;
}

/**
 * Starts an nsqlookupd in this process and resolves once it listens. `close()` stops it.
 *
 * @param options nsqlookupd options; defaults: TCP 0.0.0.0:4160, HTTP 0.0.0.0:4161.
 * @returns the running lookup daemon.
 *
 * @example An nsqlookupd and an nsqd that registers with it
 * ```ts
 * import { startNsqd, startNsqlookupd } from "./mod.ts";
 *
 * const lookupd = await startNsqlookupd({ tcpAddress: "127.0.0.1:0", httpAddress: "127.0.0.1:0", logLevel: "warn" });
 * const nsqd = await startNsqd({
 *   tcpAddress: "127.0.0.1:0",
 *   httpAddress: "127.0.0.1:0",
 *   dataPath: await Deno.makeTempDir(),
 *   lookupdTcpAddresses: [`127.0.0.1:${lookupd.tcpAddr!.port}`],
 *   logLevel: "warn",
 * });
 * await nsqd.close();
 * await lookupd.close();
 * ```
 */
export async function startNsqlookupd(options: StartNsqlookupdOptions = {}): Promise<EmbeddedNsqlookupd> {
  const platform = await currentPlatform();
  const { logLevel, log, ...rest } = options;
  const opts: NsqlookupdOptions = { ...defaultNsqlookupdOptions(platform.hostname()), ...rest };
  if (logLevel !== undefined) opts.logLevel = parseLogLevel(logLevel);
  const lookupd = new Nsqlookupd(platform, opts, log);
  await lookupd.start();
  return lookupd;
}
