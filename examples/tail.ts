/**
 * A tiny `nsq_tail` on the client's Consumer: finds the nsqds of a topic through nsqlookupd (or
 * connects to the given nsqds), prints every message body and finishes it; Ctrl-C (or `--n=N`
 * messages) stops it gracefully. Runs on Deno and Bun.
 *
 *   deno run -A examples/tail.ts --lookupd-http-address=127.0.0.1:4161 --topic=test [--channel=tail]
 *   bun examples/tail.ts --nsqd-tcp-address=127.0.0.1:4150 --topic=test --n=10
 */
import { Consumer } from "../mod.ts";

const argv: string[] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);
const args = new Map(argv.map((a) => a.replace(/^--?/, "").split("=") as [string, string]));
const topic = args.get("topic");
if (!topic) throw new TypeError("--topic is required");
const limit = Number(args.get("n") ?? Infinity);

const consumer = new Consumer(topic, args.get("channel") ?? "tail#ephemeral", { maxInFlight: 200 });
let seen = 0;
consumer.addHandler((msg) => {
  console.log(msg.text); // returning finishes it
  if (++seen === limit) consumer.stop();
});
const nsqd = args.get("nsqd-tcp-address");
if (nsqd) await consumer.connectToNsqd(nsqd);
else await consumer.connectToNsqlookupd(args.get("lookupd-http-address") ?? "127.0.0.1:4161");
(globalThis as unknown as { process: { on(s: string, f: () => void): void } }).process?.on(
  "SIGINT",
  () => consumer.stop(),
);
