// The nsqjs side of `bench/client.ts` (the official Node.js client, run by `node`); the same
// scenarios and arguments as bench/clients/nsq_ts.ts, with Writer and Reader:
//
//   node bench/clients/nsqjs.mjs pub|mpub <port> <topic> <seconds> <window>
//   node bench/clients/nsqjs.mjs sub <port> <topic> <channel> <count> <maxInFlight>
//
// Prints {"messages":n,"ms":t}.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const nsq = require("nsqjs");

const [mode, port, topic, ...rest] = process.argv.slice(2);
const body = Buffer.alloc(100, 97);

function publish() {
  const seconds = Number(rest[0]);
  const window = Number(rest[1]);
  const writer = new nsq.Writer("127.0.0.1", Number(port));
  const bodies = Array.from({ length: 200 }, () => body);
  const perCall = mode === "mpub" ? 200 : 1;
  return new Promise((resolve, reject) => {
    writer.on(nsq.Writer.ERROR, reject);
    writer.on(nsq.Writer.READY, () => {
      let sent = 0;
      let acked = 0;
      const start = performance.now();
      const end = start + seconds * 1000;
      const next = (err) => {
        if (err) return reject(err);
        acked++;
        if (performance.now() < end) {
          sent++;
          writer.publish(topic, mode === "mpub" ? bodies : body, next);
        } else if (acked === sent) {
          const ms = performance.now() - start;
          writer.close();
          resolve({ messages: acked * perCall, ms });
        }
      };
      for (let i = 0; i < window; i++) {
        sent++;
        writer.publish(topic, mode === "mpub" ? bodies : body, next);
      }
    });
    writer.connect();
  });
}

function subscribe() {
  const [channel, count, maxInFlight] = [rest[0], Number(rest[1]), Number(rest[2])];
  const reader = new nsq.Reader(topic, channel, {
    nsqdTCPAddresses: [`127.0.0.1:${port}`],
    maxInFlight,
  });
  let n = 0;
  let first = 0;
  return new Promise((resolve, reject) => {
    reader.on(nsq.Reader.ERROR, reject);
    reader.on(nsq.Reader.MESSAGE, (msg) => {
      msg.finish();
      if (n++ === 0) first = performance.now();
      if (n === count) {
        const ms = performance.now() - first;
        reader.close();
        resolve({ messages: count, ms });
      }
    });
    reader.connect();
  });
}

const result = mode === "sub" ? await subscribe() : await publish();
process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(0));
