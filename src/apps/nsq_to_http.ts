/**
 * nsq_to_http (upstream v1.3.0 `apps/nsq_to_http`, shared/nsq-reference.md §10.6): sends every
 * message of a topic to HTTP endpoints — `--get` (the body query-escaped into the URL's `%s`) or
 * `--post` (the body as request body) — with round-robin, hostpool or send-to-all modes and `-n`
 * concurrent requests. A failed request (transport error or non-2xx answer) requeues the message
 * with backoff; a message is FINed only once its request succeeded.
 *
 * Run it as `nsq nsq_to_http [flags]` (or the `nsq_to_http` link), or from source:
 * `deno run -A src/cli/nsq.ts nsq_to_http [flags]`, `bun src/cli/nsq.ts nsq_to_http [flags]`.
 *
 * @module
 */
import { Consumer } from "../client/consumer.ts";
import type { ConsumerMessage } from "../client/message.ts";
import type { FlagSpec } from "../cli/flags.ts";
import { NSQ_VERSION, userAgent } from "../internal/version.ts";
import type { Platform } from "../platform/types.ts";
import { isValidChannelName, isValidTopicName } from "../protocol/names.ts";
import {
  type App,
  type AppContext,
  AppFatal,
  flagValues,
  goLog,
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
import { HostPool, RoundRobin, type Selector } from "./host_pool.ts";
import { checkStatusEvery, statusEveryFlag, TimerMetrics } from "./timer_metrics.ts";

/** How destinations are chosen. */
export type HttpMode = "round-robin" | "hostpool" | "all";

/** nsq_to_http's options (durations in ms). */
export interface NsqToHttpOptions extends ConsumerSources {
  topic: string;
  channel: string;
  method: "GET" | "POST";
  addresses: string[];
  contentType: string;
  headers: [string, string][];
  mode: HttpMode;
  concurrency: number;
  maxInFlight: number;
  sample: number;
  statusEvery: number;
  requestTimeout: number;
  consumerOpts: ClientFlagOptions;
}

const NS_PER_MS = 1e6;

/** The nsq_to_http app. */
export const NSQ_TO_HTTP: App = {
  name: "nsq_to_http",
  flags: (): FlagSpec[] => [
    { name: "topic", kind: "string", default: "", usage: "nsq topic" },
    { name: "channel", kind: "string", default: "nsq_to_http", usage: "nsq channel" },
    { name: "n", kind: "int", default: 100, usage: "number of concurrent publishers" },
    {
      name: "mode",
      kind: "string",
      default: "hostpool",
      usage: "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy",
    },
    { name: "sample", kind: "float", default: 1.0, usage: "% of messages to publish (float b/w 0 -> 1)" },
    statusEveryFlag("handler"),
    {
      name: "content-type",
      kind: "string",
      default: "application/octet-stream",
      usage: "the Content-Type used for POST requests",
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
      default: 20_000 * NS_PER_MS,
      usage: "timeout for HTTP request",
    },
    {
      name: "get",
      kind: "strings",
      default: [],
      usage:
        "HTTP address to make a GET request to. '%s' will be printf replaced with data (may be given multiple times)",
    },
    {
      name: "post",
      kind: "strings",
      default: [],
      usage:
        "HTTP address to make a POST request to.  data will be in the body (may be given multiple times)",
    },
    {
      name: "header",
      kind: "strings",
      default: [],
      usage: "Custom header for HTTP requests (may be given multiple times)",
    },
    ...consumerFlags(),
  ],
  run: (ctx) => serveUntilSignal(ctx.platform, new NsqToHttp(ctx.platform, optionsFrom(ctx))),
};

/** Runs nsq_to_http with `args`. */
export function main(platform: Platform, args: readonly string[]): Promise<void> {
  return runApp(platform, args, NSQ_TO_HTTP);
}

function optionsFrom({ flags, log }: AppContext): NsqToHttpOptions {
  const { str, num, list } = flagValues(flags);
  const consumerOpts = clientFlagOptions(list("consumer-opt"));
  refuseArgs(flags);
  const topic = str("topic"), channel = str("channel");
  if (topic === "" || channel === "") throw new AppFatal("--topic and --channel are required");
  if (!isValidTopicName(topic)) throw new AppFatal("--topic is invalid");
  if (!isValidChannelName(channel)) throw new AppFatal("--channel is invalid");
  const contentType = str("content-type");
  if (contentType === "") throw new AppFatal("--content-type requires a value when used");
  const gets = list("get"), posts = list("post");
  if (flags.set.has("content-type") && posts.length === 0) {
    throw new AppFatal("--content-type only used with --post");
  }
  const addrs = consumerSources(flags.values);
  if (gets.length === 0 && posts.length === 0) throw new AppFatal("--get or --post required");
  if (gets.length > 0 && posts.length > 0) throw new AppFatal("use --get or --post not both");
  for (const g of gets) {
    if (g.split("%s").length !== 2) {
      throw new AppFatal("invalid GET address - must be a printf string");
    }
  }
  const sample = num("sample");
  if (sample > 1 || sample < 0) throw new AppFatal("ERROR: --sample must be between 0.0 and 1.0");
  const headers: [string, string][] = list("header").map((h) => {
    const colon = h.indexOf(":");
    if (colon <= 0) {
      throw new AppFatal(`invalid --header ${JSON.stringify(h)}: should be 'Key: Value'`);
    }
    return [h.slice(0, colon).trim(), h.slice(colon + 1).trim()];
  });
  const n = num("n");
  if (n < 1) throw new AppFatal("-n must be at least 1");
  const statusEvery = checkStatusEvery(num("status-every"), log);
  return {
    ...addrs,
    topic,
    channel,
    method: gets.length > 0 ? "GET" : "POST",
    addresses: gets.length > 0 ? gets : posts,
    contentType,
    headers,
    mode: parseMode(str("mode"), log),
    concurrency: n,
    maxInFlight: num("max-in-flight"),
    sample,
    statusEvery,
    requestTimeout: num("http-client-request-timeout") / NS_PER_MS,
    consumerOpts,
  };
}

/** `round-robin`, `hostpool` (and `epsilon-greedy`, served by the same pool), anything else: send to all. */
export function parseMode(mode: string, log: (msg: string) => void = () => {}): HttpMode {
  if (mode === "round-robin") return "round-robin";
  if (mode === "hostpool" || mode === "epsilon-greedy") return "hostpool";
  if (mode !== "all") {
    log(
      `WARNING: unknown --mode ${JSON.stringify(mode)}: sending every message to every address`,
    );
  }
  return "all";
}

/**
 * Go's `url.QueryEscape` of raw bytes: `A-Z a-z 0-9 - _ . ~` as they are, space as `+`, every other
 * byte as `%XX`.
 * @example
 * ```ts
 * import { queryEscape } from "./nsq_to_http.ts";
 * queryEscape(new TextEncoder().encode("a b&c")); // "a+b%26c"
 * ```
 */
export function queryEscape(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) {
    if (
      (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) ||
      b === 0x2d || b === 0x5f || b === 0x2e || b === 0x7e
    ) out += String.fromCharCode(b);
    else if (b === 0x20) out += "+";
    else out += "%" + b.toString(16).toUpperCase().padStart(2, "0");
  }
  return out;
}

/** The running tool: one Consumer whose `-n` concurrent handlers make the requests. */
export class NsqToHttp implements Service {
  readonly #o: NsqToHttpOptions;
  readonly #consumer: Consumer;
  readonly #selector: Selector | null;
  readonly #aggregate: TimerMetrics;
  readonly #perAddress = new Map<string, TimerMetrics>();
  readonly #headers: Headers;

  constructor(platform: Platform, options: NsqToHttpOptions) {
    this.#o = options;
    const log = (line: string) => goLog(platform, line);
    this.#aggregate = new TimerMetrics(options.statusEvery, "[aggregate]:", log);
    if (options.addresses.length > 1) {
      for (const a of options.addresses) {
        this.#perAddress.set(a, new TimerMetrics(options.statusEvery, `[${a}]:`, log));
      }
    }
    this.#selector = options.mode === "round-robin"
      ? new RoundRobin(options.addresses)
      : options.mode === "hostpool"
      ? new HostPool(options.addresses)
      : null;
    this.#headers = new Headers({ "User-Agent": `nsq_to_http v${NSQ_VERSION}` });
    if (options.method === "POST") this.#headers.set("Content-Type", options.contentType);
    for (const [k, val] of options.headers) this.#headers.set(k, val);
    this.#consumer = new Consumer(options.topic, options.channel, {
      ...options.consumerOpts,
      maxInFlight: options.maxInFlight,
      userAgent: userAgent("nsq_to_http"),
      onError: (err) => log(`ERR [${options.topic}/${options.channel}] ${err.message}`),
    });
    this.#consumer.addHandler((msg) => this.#handle(msg), { concurrency: options.concurrency });
  }

  async start(): Promise<void> {
    for (const a of this.#o.nsqdTcpAddresses) await this.#consumer.connectToNsqd(a);
    for (const a of this.#o.lookupdHttpAddresses) await this.#consumer.connectToNsqlookupd(a);
  }

  stop(): Promise<void> {
    return this.#consumer.stop();
  }

  async #handle(msg: ConsumerMessage): Promise<void> {
    if (this.#o.sample < 1 && Math.random() > this.#o.sample) return;
    const started = performance.now();
    if (this.#selector === null) {
      // Send to all, in order; the first failure requeues (earlier addresses get it again).
      for (const a of this.#o.addresses) await this.#send(a, msg.body);
    } else {
      const a = this.#selector.next();
      try {
        await this.#send(a, msg.body);
      } catch (err) {
        this.#selector.failed(a);
        throw err;
      }
      this.#selector.succeeded(a);
      this.#perAddress.get(a)?.status(started);
    }
    this.#aggregate.status(started);
  }

  async #send(address: string, body: Uint8Array): Promise<void> {
    const isGet = this.#o.method === "GET";
    const url = isGet ? address.replace("%s", queryEscape(body)) : address;
    const res = await fetch(url, {
      method: this.#o.method,
      headers: this.#headers,
      body: isGet ? undefined : (body as Uint8Array<ArrayBuffer>),
      signal: AbortSignal.timeout(this.#o.requestTimeout),
    });
    await res.arrayBuffer().catch(() => {});
    if (res.status < 200 || res.status > 299) throw new Error(`got status code ${res.status}`);
  }
}
