/**
 * Runs the client's Producer on whatever runtime executes this file (the e2e suite runs it on Bun):
 * `producer_client.ts <port> <topic> <count> [batch]` publishes `count` messages `0`…`count-1`
 * pipelined, then one MPUB and one DPUB, closes, and prints `published <n>`.
 */
import { Producer } from "../../../mod.ts";

const [port, topic, count, mode] = (globalThis as unknown as { process: { argv: string[] } }).process.argv
  .slice(2);
const producer = new Producer(`127.0.0.1:${port}`, { batch: mode === "batch" });
const all: Promise<void>[] = [];
for (let i = 0; i < Number(count); i++) all.push(producer.publish(topic, String(i)));
await Promise.all(all);
await producer.publishMany(topic, ["mpub-a", "mpub-b"]);
await producer.publishDeferred(topic, 1, "dpub");
await producer.close();
console.log(`published ${Number(count) + 3}`);
