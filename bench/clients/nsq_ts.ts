/**
 * The client under test in `bench/client.ts`, run as a child process on Deno or Bun:
 *
 *   <runtime> bench/clients/nsq_ts.ts pub|batch|mpub <port> <topic> <seconds> <window>
 *   <runtime> bench/clients/nsq_ts.ts sub <port> <topic> <channel> <count> <maxInFlight>
 *
 * `pub`: `publish()` of 100-byte bodies with `window` in flight (each answer starts the next);
 * `batch`: the same with `batch: true`; `mpub`: `publishMany()` of 200 × 100 B, `window` in flight;
 * `sub`: a Consumer with a no-op handler (auto-FIN) until `count` messages arrived. Prints
 * `{"messages":n,"ms":t}` (for `sub`, timed from the first message to the last).
 */
import { Consumer, Producer } from "../../mod.ts";

const argv: string[] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);
const [mode, port, topic] = argv;
const address = `127.0.0.1:${port}`;
const body = new Uint8Array(100).fill(97);

async function publish(): Promise<{ messages: number; ms: number }> {
  const seconds = Number(argv[3]);
  const window = Number(argv[4]);
  const producer = new Producer(address, { batch: mode === "batch" });
  await producer.ping(); // connected before the clock starts
  const bodies = Array.from({ length: 200 }, () => body);
  const perCall = mode === "mpub" ? 200 : 1;
  const send = (): Promise<void> =>
    mode === "mpub" ? producer.publishMany(topic, bodies) : producer.publish(topic, body);
  let sent = 0;
  let acked = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  await new Promise<void>((resolve, reject) => {
    const next = () => {
      acked++;
      if (performance.now() < end) {
        sent++;
        send().then(next, reject);
      } else if (acked === sent) resolve();
    };
    for (let i = 0; i < window; i++) {
      sent++;
      send().then(next, reject);
    }
  });
  const ms = performance.now() - start;
  await producer.close();
  return { messages: acked * perCall, ms };
}

async function subscribe(): Promise<{ messages: number; ms: number }> {
  const channel = argv[3];
  const count = Number(argv[4]);
  const consumer = new Consumer(topic, channel, { maxInFlight: Number(argv[5]) });
  let n = 0;
  let first = 0;
  let last = 0;
  const done = Promise.withResolvers<void>();
  consumer.addHandler(() => {
    if (n++ === 0) first = performance.now();
    if (n === count) {
      last = performance.now();
      done.resolve();
    }
  });
  await consumer.connectToNsqd(address);
  await done.promise;
  await consumer.stop();
  return { messages: count, ms: last - first };
}

const result = mode === "sub" ? await subscribe() : await publish();
console.log(JSON.stringify(result));
