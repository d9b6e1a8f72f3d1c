/**
 * `nsq_tail` (upstream v1.3.0 `apps/nsq_tail`, shared/nsq-reference.md §10.2): consumes one or
 * more topics and writes each message body, followed by `\n`, to standard output.
 *
 * Unlike upstream, `-n` counts messages over all topics, and the last message is printed and
 * FINed before the process exits (upstream exits inside the handler, leaving it unanswered);
 * messages delivered beyond `-n` are requeued, not dropped.
 *
 * @module
 */
import { Consumer } from "../client/consumer.ts";
import type { ConsumerMessage } from "../client/message.ts";
import type { FlagSpec } from "../cli/flags.ts";
import { userAgent } from "../internal/version.ts";
import type { Platform } from "../platform/types.ts";
import { type App, type AppContext, AppFatal, runApp } from "./app.ts";
import { clientFlagOptions, consumerFlags, consumerSources } from "./client_flags.ts";

const encoder = new TextEncoder();

/** The nsq_tail app. */
export const NSQ_TAIL: App = {
  name: "nsq_tail",
  flags: (): FlagSpec[] => [
    { name: "channel", kind: "string", default: "", usage: "NSQ channel" },
    { name: "n", kind: "int", default: 0, usage: "total messages to show (will wait if starved)" },
    {
      name: "print-topic",
      kind: "bool",
      default: false,
      usage: "print topic name where message was received",
    },
    { name: "topic", kind: "strings", default: [], usage: "NSQ topic (may be given multiple times)" },
    ...consumerFlags(),
  ],
  run: tail,
};

/** Runs nsq_tail with `args`. */
export function main(platform: Platform, args: readonly string[]): Promise<void> {
  return runApp(platform, args, NSQ_TAIL);
}

async function tail({ platform, flags, stdout, log }: AppContext): Promise<number> {
  const v = flags.values;
  let channel = v.get("channel") as string;
  if (channel === "") {
    channel = `tail${String(Math.floor(Math.random() * 1e9) % 999999).padStart(6, "0")}#ephemeral`;
  }
  const sources = consumerSources(v);
  const topics = v.get("topic") as string[];
  if (topics.length === 0) throw new AppFatal("--topic required");
  const total = v.get("n") as number;
  let maxInFlight = v.get("max-in-flight") as number;
  // Don't ask for more messages than we want.
  if (total > 0 && total < maxInFlight) maxInFlight = total;
  const printTopic = v.get("print-topic") as boolean;

  let shown = 0;
  let failure: Error | null = null;
  const done = Promise.withResolvers<void>();
  const consumers: Consumer[] = [];
  const stop = () => done.resolve();
  platform.onSignal("SIGINT", stop);
  platform.onSignal("SIGTERM", stop);

  for (const topic of topics) {
    log(`Adding consumer for topic: ${topic}`);
    const prefix = encoder.encode(`${topic} | `);
    let consumer: Consumer;
    try {
      consumer = new Consumer(topic, channel, {
        userAgent: userAgent("nsq_tail"),
        ...clientFlagOptions(v.get("consumer-opt") as string[]),
        maxInFlight,
      });
    } catch (err) {
      throw new AppFatal((err as Error).message);
    }
    consumer.addHandler(async (msg: ConsumerMessage) => {
      if (total > 0 && shown >= total) {
        // Beyond -n (another connection or topic delivered it): back to nsqd for someone else.
        msg.requeue(0, false);
        return;
      }
      shown++;
      const body = msg.body;
      const line = new Uint8Array((printTopic ? prefix.length : 0) + body.length + 1);
      if (printTopic) line.set(prefix);
      line.set(body, printTopic ? prefix.length : 0);
      line[line.length - 1] = 10;
      const written = stdout.write(line);
      if (total > 0 && shown === total) stopAfter(written);
      try {
        await written;
      } catch (err) {
        failure ??= new Error(`ERROR: failed to write to os.Stdout - ${(err as Error).message}`);
        msg.requeue(0, false);
        done.resolve();
      }
    }, { concurrency: Math.max(1, maxInFlight) });
    consumers.push(consumer);
  }
  // -n reached: exit once the last message is written and FINed (the handler's return FINs it).
  function stopAfter(written: Promise<void>) {
    // Ask for nothing more meanwhile (whatever is already on its way is requeued above).
    for (const c of consumers) c.changeMaxInFlight(0);
    written.then(() => setTimeout(stop, 0), () => {});
  }

  for (const consumer of consumers) {
    try {
      for (const a of sources.nsqdTcpAddresses) await consumer.connectToNsqd(a);
      for (const a of sources.lookupdHttpAddresses) await consumer.connectToNsqlookupd(a);
    } catch (err) {
      throw new AppFatal((err as Error).message);
    }
  }

  await done.promise;
  await Promise.all(consumers.map((c) => c.stop()));
  if (failure) throw new AppFatal((failure as Error).message);
  return 0;
}
