/**
 * Publishes lines to a topic with the client's Producer: the arguments after the flags, or every
 * line of standard input. Runs on Deno and Bun.
 *
 *   deno run -A examples/publish.ts --nsqd-tcp-address=127.0.0.1:4150 --topic=test hello world
 *   seq 1000 | bun examples/publish.ts --topic=test
 */
import { Producer } from "../mod.ts";

const argv: string[] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);
const flags = new Map(
  argv.filter((a) => a.startsWith("-")).map((a) => a.replace(/^--?/, "").split("=") as [string, string]),
);
const topic = flags.get("topic");
if (!topic) throw new TypeError("--topic is required");
const words = argv.filter((a) => !a.startsWith("-"));

// batch: lines read in one go travel as MPUBs of up to 100.
const producer = new Producer(flags.get("nsqd-tcp-address") ?? "127.0.0.1:4150", { batch: true });
const sent: Promise<void>[] = [];
if (words.length > 0) {
  sent.push(producer.publish(topic, words.join(" ")));
} else {
  const { createInterface } = await import("node:readline");
  const { stdin } = await import("node:process");
  for await (const line of createInterface({ input: stdin })) sent.push(producer.publish(topic, line));
}
await Promise.all(sent);
await producer.close();
console.error(`published ${sent.length} message(s) to ${topic}`);
