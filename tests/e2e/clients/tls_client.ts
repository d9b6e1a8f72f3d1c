/**
 * Runs the client over TLS on whatever runtime executes this file (the e2e suite runs it on Bun):
 * `tls_client.ts <port> <topic> <count>` publishes `count` messages with a Producer and receives them
 * with a Consumer, both with TLS (the test CA and client certificate) and snappy, then prints
 * `received <n>`.
 */
import { readFileSync } from "node:fs";
import { Consumer, Producer } from "../../../mod.ts";

const [port, topic, count] = (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);
const fix = new URL("../fixtures/", import.meta.url).pathname;
const options = {
  tlsV1: true,
  tlsConfig: {
    ca: readFileSync(fix + "ca.pem", "utf8"),
    cert: readFileSync(fix + "client.pem", "utf8"),
    key: readFileSync(fix + "client.key", "utf8"),
  },
  snappy: true,
};
const address = `127.0.0.1:${port}`;
const n = Number(count);
const producer = new Producer(address, options);
await Promise.all(Array.from({ length: n }, (_, i) => producer.publish(topic, `message ${i} `.repeat(20))));
await producer.close();

let received = 0;
const done = Promise.withResolvers<void>();
const consumer = new Consumer(topic, "ch", { ...options, maxInFlight: 50 });
consumer.addHandler(() => {
  if (++received === n) done.resolve();
});
await consumer.connectToNsqd(address);
await done.promise;
await consumer.stop();
console.log(`received ${received}`);
