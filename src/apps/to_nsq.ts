/**
 * `to_nsq` (upstream v1.3.0 `apps/to_nsq`, shared/nsq-reference.md §10.3): reads standard input,
 * splits it at `--delimiter` (one byte, default newline) and publishes every non-empty chunk, without
 * its delimiter, to the topic on **every** `--nsqd-tcp-address` (fan-out), at most `--rate` chunks a
 * second.
 *
 * Unlike upstream, a final chunk without a trailing delimiter is published whole (upstream drops
 * its last byte), the rate is a token bucket that is never exceeded (capacity `--rate`, starting
 * with one token), and publishes are pipelined (each nsqd still receives them in input order); a
 * failed publish is fatal, as upstream.
 *
 * @module
 */
import { Producer } from "../client/producer.ts";
import type { FlagSpec } from "../cli/flags.ts";
import { userAgent } from "../internal/version.ts";
import type { Platform } from "../platform/types.ts";
import { type App, type AppContext, AppFatal, runApp } from "./app.ts";
import { clientFlagOptions, clientOptFlag } from "./client_flags.ts";

/** Publishes not yet answered, per producer, before reading on. */
const MAX_PENDING = 1024;

/** The to_nsq app. */
export const TO_NSQ: App = {
  name: "to_nsq",
  noVersionFlag: true,
  flags: (): FlagSpec[] => [
    { name: "topic", kind: "string", default: "", usage: "NSQ topic to publish to" },
    { name: "delimiter", kind: "string", default: "\n", usage: "character to split input from stdin" },
    { name: "rate", kind: "int", default: 0, usage: "Throttle messages to n/second. 0 to disable" },
    {
      name: "nsqd-tcp-address",
      kind: "strings",
      default: [],
      usage: "destination nsqd TCP address (may be given multiple times)",
    },
    clientOptFlag("producer-opt"),
  ],
  run: toNsq,
};

/** Runs to_nsq with `args`. */
export function main(platform: Platform, args: readonly string[]): Promise<void> {
  return runApp(platform, args, TO_NSQ);
}

/** A token bucket: `rate` tokens a second, at most `rate` banked, one to start with. */
class Throttle {
  #tokens = 1;
  #last = performance.now();
  constructor(readonly rate: number) {}

  /** Resolves when a token is available, and takes it. */
  async take(): Promise<void> {
    for (;;) {
      const now = performance.now();
      this.#tokens = Math.min(this.rate, this.#tokens + (now - this.#last) * this.rate / 1000);
      this.#last = now;
      if (this.#tokens >= 1) {
        this.#tokens -= 1;
        return;
      }
      await new Promise((r) => setTimeout(r, Math.ceil((1 - this.#tokens) * 1000 / this.rate)));
    }
  }
}

async function toNsq({ platform, flags, log }: AppContext): Promise<number> {
  const v = flags.values;
  const topic = v.get("topic") as string;
  if (topic === "") throw new AppFatal("--topic required");
  const delimiter = new TextEncoder().encode(v.get("delimiter") as string);
  if (delimiter.length !== 1) throw new AppFatal("--delimiter must be a single byte");
  const addresses = v.get("nsqd-tcp-address") as string[];
  if (addresses.length === 0) throw new AppFatal("--nsqd-tcp-address required");
  const rate = v.get("rate") as number;

  const options = { userAgent: userAgent("to_nsq"), ...clientFlagOptions(v.get("producer-opt") as string[]) };
  let producers: Producer[];
  try {
    producers = addresses.map((a) => new Producer(a, options));
  } catch (err) {
    throw new AppFatal((err as Error).message);
  }
  let throttle: Throttle | null = null;
  if (rate > 0) {
    log(`Throttling messages rate to max:${rate}/second`);
    throttle = new Throttle(rate);
  }

  const stopped = Promise.withResolvers<"stop">();
  platform.onSignal("SIGINT", () => stopped.resolve("stop"));
  platform.onSignal("SIGTERM", () => stopped.resolve("stop"));
  let failure: Error | null = null;
  const failed = Promise.withResolvers<"stop">();
  const pending: Promise<void>[] = [];

  const publish = async (body: Uint8Array) => {
    if (throttle) {
      if (await Promise.race([throttle.take(), stopped.promise, failed.promise]) === "stop") return false;
    }
    for (const p of producers) {
      const sent = p.publish(topic, body).catch((err) => {
        failure ??= err as Error;
        failed.resolve("stop");
      });
      pending.push(sent);
    }
    if (pending.length >= MAX_PENDING * producers.length) {
      await Promise.all(pending.splice(0));
    }
    return failure === null;
  };

  const reader = platform.stdin().getReader();
  let carry = new Uint8Array(0);
  const d = delimiter[0];
  reading: for (;;) {
    const r = await Promise.race([reader.read(), stopped.promise, failed.promise]);
    if (r === "stop") break;
    if (r.done) {
      if (carry.length > 0) await publish(carry);
      break;
    }
    let chunk = r.value;
    if (carry.length > 0) {
      const joined = new Uint8Array(carry.length + chunk.length);
      joined.set(carry);
      joined.set(chunk, carry.length);
      chunk = joined;
    }
    let start = 0;
    for (let i = chunk.indexOf(d); i !== -1; i = chunk.indexOf(d, start)) {
      if (i > start && !(await publish(chunk.subarray(start, i)))) break reading;
      start = i + 1;
    }
    carry = chunk.slice(start);
  }
  reader.cancel().catch(() => {});
  await Promise.all(pending);
  await Promise.all(producers.map((p) => p.close()));
  if (failure) throw new AppFatal((failure as Error).message);
  return 0;
}
