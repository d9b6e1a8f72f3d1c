/**
 * nsq_to_nsq (upstream v1.3.0 `apps/nsq_to_nsq`, shared/nsq-reference.md §10.7): republishes every
 * message of one or more topics to other nsqds (`--destination-nsqd-tcp-address`), under the same
 * or another topic name, optionally filtered (`--require-json-field` / `--require-json-value`) and
 * reduced (`--whitelist-json-field`). A message is FINed once its publish succeeded, requeued
 * (with backoff) when it failed.
 *
 * Run it as `nsq nsq_to_nsq [flags]` (or the `nsq_to_nsq` link), or from source:
 * `deno run -A src/cli/nsq.ts nsq_to_nsq [flags]`, `bun src/cli/nsq.ts nsq_to_nsq [flags]`.
 *
 * @module
 */
import { Consumer } from "../client/consumer.ts";
import type { ConsumerMessage } from "../client/message.ts";
import { Producer } from "../client/producer.ts";
import type { FlagSpec } from "../cli/flags.ts";
import { userAgent } from "../internal/version.ts";
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
  clientOptFlag,
  consumerFlags,
  type ConsumerSources,
  consumerSources,
} from "./client_flags.ts";
import { HostPool, RoundRobin, type Selector } from "./host_pool.ts";
import { checkStatusEvery, statusEveryFlag, TimerMetrics } from "./timer_metrics.ts";

/** nsq_to_nsq's options. */
export interface NsqToNsqOptions extends ConsumerSources {
  topics: string[];
  channel: string;
  destinations: string[];
  destinationTopic: string;
  mode: "round-robin" | "hostpool";
  maxInFlight: number;
  statusEvery: number;
  whitelistJsonFields: string[];
  requireJsonField: string;
  requireJsonValue: string;
  consumerOpts: ClientFlagOptions;
  producerOpts: ClientFlagOptions;
}

/** The nsq_to_nsq app. */
export const NSQ_TO_NSQ: App = {
  name: "nsq_to_nsq",
  flags: (): FlagSpec[] => [
    { name: "channel", kind: "string", default: "nsq_to_nsq", usage: "nsq channel" },
    {
      name: "destination-topic",
      kind: "string",
      default: "",
      usage: "use this destination topic for all consumed topics (default is consumed topic name)",
    },
    statusEveryFlag("destination"),
    {
      name: "mode",
      kind: "string",
      default: "hostpool",
      usage: "the upstream request mode options: round-robin, hostpool (default), epsilon-greedy",
    },
    {
      name: "require-json-field",
      kind: "string",
      default: "",
      usage: "for JSON messages: only pass messages that contain this field",
    },
    {
      name: "require-json-value",
      kind: "string",
      default: "",
      usage: "for JSON messages: only pass messages in which the required field has this value",
    },
    { name: "topic", kind: "strings", default: [], usage: "nsq topic (may be given multiple times)" },
    {
      name: "destination-nsqd-tcp-address",
      kind: "strings",
      default: [],
      usage: "destination nsqd TCP address (may be given multiple times)",
    },
    {
      name: "whitelist-json-field",
      kind: "strings",
      default: [],
      usage: "for JSON messages: pass this field (may be given multiple times)",
    },
    clientOptFlag("producer-opt"),
    ...consumerFlags(),
  ],
  run: (ctx) => serveUntilSignal(ctx.platform, new NsqToNsq(ctx.platform, optionsFrom(ctx))),
};

/** Runs nsq_to_nsq with `args`. */
export function main(platform: Platform, args: readonly string[]): Promise<void> {
  return runApp(platform, args, NSQ_TO_NSQ);
}

function optionsFrom({ flags, log }: AppContext): NsqToNsqOptions {
  const { str, num, list } = flagValues(flags);
  const consumerOpts = clientFlagOptions(list("consumer-opt"));
  const producerOpts = clientFlagOptions(list("producer-opt"));
  refuseArgs(flags);
  const topics = list("topic"), channel = str("channel");
  if (topics.length === 0 || channel === "") throw new AppFatal("--topic and --channel are required");
  for (const t of topics) if (!isValidTopicName(t)) throw new AppFatal("--topic is invalid");
  if (!isValidChannelName(channel)) throw new AppFatal("--channel is invalid");
  const destinationTopic = str("destination-topic");
  if (destinationTopic !== "" && !isValidTopicName(destinationTopic)) {
    throw new AppFatal("--destination-topic is invalid");
  }
  const addrs = consumerSources(flags.values);
  const destinations = list("destination-nsqd-tcp-address");
  if (destinations.length === 0) throw new AppFatal("--destination-nsqd-tcp-address required");
  const requireJsonValue = str("require-json-value");
  const requireJsonField = str("require-json-field");
  if (requireJsonValue !== "" && requireJsonField === "") {
    throw new AppFatal("--require-json-value needs --require-json-field");
  }
  const mode = str("mode");
  if (mode !== "round-robin" && mode !== "hostpool" && mode !== "epsilon-greedy") {
    log(`WARNING: unknown --mode ${JSON.stringify(mode)}: using round-robin`);
  }
  const statusEvery = checkStatusEvery(num("status-every"), log);
  return {
    ...addrs,
    topics,
    channel,
    destinations,
    destinationTopic,
    mode: mode === "hostpool" || mode === "epsilon-greedy" ? "hostpool" : "round-robin",
    maxInFlight: num("max-in-flight"),
    statusEvery,
    whitelistJsonFields: list("whitelist-json-field"),
    requireJsonField,
    requireJsonValue,
    consumerOpts,
    producerOpts,
  };
}

/** What the JSON filters decide for one body: the body to publish, or null to drop the message. */
export function filterJson(
  body: Uint8Array,
  o: Pick<NsqToNsqOptions, "whitelistJsonFields" | "requireJsonField" | "requireJsonValue">,
  log: (line: string) => void = () => {},
): Uint8Array | null {
  if (o.requireJsonField === "" && o.whitelistJsonFields.length === 0) return body;
  const text = new TextDecoder().decode(body);
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch {
    obj = undefined;
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    log(`ERROR: Unable to decode json: ${text}`);
    return null;
  }
  const rec = obj as Record<string, unknown>;
  if (o.requireJsonField !== "") {
    if (!Object.hasOwn(rec, o.requireJsonField)) return null;
    if (o.requireJsonValue !== "") {
      const value = rec[o.requireJsonField];
      if (typeof value === "string") {
        if (value !== o.requireJsonValue) return null;
      } else if (typeof value === "number") {
        const want = Number(o.requireJsonValue);
        if (o.requireJsonValue.trim() === "" || Number.isNaN(want) || value !== want) return null;
      } else return null;
    }
  }
  if (o.whitelistJsonFields.length === 0) return body;
  const out: Record<string, unknown> = {};
  for (const k of [...o.whitelistJsonFields].sort()) if (Object.hasOwn(rec, k)) out[k] = rec[k];
  return new TextEncoder().encode(JSON.stringify(out));
}

/** The running tool: a Consumer per source topic, a Producer per destination. */
export class NsqToNsq implements Service {
  readonly #o: NsqToNsqOptions;
  readonly #log: (line: string) => void;
  readonly #consumers: Consumer[] = [];
  readonly #producers = new Map<string, Producer>();
  readonly #selector: Selector;
  readonly #aggregate: TimerMetrics;
  readonly #perDestination = new Map<string, TimerMetrics>();

  constructor(platform: Platform, options: NsqToNsqOptions) {
    this.#o = options;
    const log = this.#log = (line: string) => goLog(platform, line);
    this.#aggregate = new TimerMetrics(options.statusEvery, "[aggregate]:", log);
    for (const d of options.destinations) {
      this.#producers.set(
        d,
        new Producer(d, { ...options.producerOpts, userAgent: userAgent("nsq_to_nsq") }),
      );
      if (options.destinations.length > 1) {
        this.#perDestination.set(d, new TimerMetrics(options.statusEvery, `[${d}]:`, log));
      }
    }
    this.#selector = options.mode === "round-robin"
      ? new RoundRobin(options.destinations)
      : new HostPool(options.destinations);
    for (const topic of options.topics) {
      const consumer = new Consumer(topic, options.channel, {
        ...options.consumerOpts,
        maxInFlight: options.maxInFlight,
        userAgent: userAgent("nsq_to_nsq"),
        onError: (err) => log(`ERR [${topic}/${options.channel}] ${err.message}`),
      });
      consumer.addHandler((msg) => this.#handle(topic, msg), { concurrency: options.destinations.length });
      this.#consumers.push(consumer);
    }
  }

  async start(): Promise<void> {
    for (const c of this.#consumers) {
      for (const a of this.#o.nsqdTcpAddresses) await c.connectToNsqd(a);
      for (const a of this.#o.lookupdHttpAddresses) await c.connectToNsqlookupd(a);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.#consumers.map((c) => c.stop()));
    await Promise.all([...this.#producers.values()].map((p) => p.close()));
  }

  async #handle(topic: string, msg: ConsumerMessage): Promise<void> {
    const body = filterJson(msg.body, this.#o, this.#log);
    if (body === null) return; // filtered out: FIN
    const started = performance.now();
    const dest = this.#selector.next();
    try {
      await this.#producers.get(dest)!.publish(this.#o.destinationTopic || topic, body);
    } catch (err) {
      this.#selector.failed(dest);
      throw err;
    }
    this.#selector.succeeded(dest);
    this.#perDestination.get(dest)?.status(started);
    this.#aggregate.status(started);
  }
}
