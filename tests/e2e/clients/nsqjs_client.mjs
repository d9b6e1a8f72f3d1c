// An interop client: drives an nsqd with the unmodified official Node.js client library `nsqjs`
// (Writer + Reader), run by Node.js.
//
//   node tests/e2e/clients/nsqjs_client.mjs <nsqd-tcp-port> [test-name] [--http-port=N]
//
// (the port may also come from NSQD_TCP_PORT, the HTTP port from NSQD_HTTP_PORT). Scenarios, all on
// one topic (derived from the test name) and channel `ch`:
//   - Writer: publish() of one message (PUB), of an array (MPUB), deferPublish() (DPUB 1000 ms),
//     and two more single publishes, `requeue-me` and `touch-me`, each awaited through its callback;
//   - Reader (nsqdTCPAddresses, maxInFlight 10, messageTimeout 2000 → IDENTIFY msg_timeout):
//     finishes every message; `requeue-me` is msg.requeue(0, false)'d on attempt 1 and finished when
//     redelivered; `touch-me` is touched at 1200 ms and finished at 2600 ms, which only works if the
//     TOUCH pushed the broker's 2000 ms timeout out (otherwise it is redelivered with attempts 2).
// Prints one JSON line on stdout: `{"ok":true,...}` and exits 0, or `{"ok":false,"reason":...}`
// and exits 1. Stops by itself within 15 s whatever happens.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const nsq = require("nsqjs");
const NSQJS_VERSION = require("nsqjs/package.json").version;

const HARD_DEADLINE_MS = 15_000;
const DEFER_MS = 1000;
const MSG_TIMEOUT_MS = 2000;
const TOUCH_AT_MS = 1200;
const FINISH_TOUCHED_AT_MS = 2600;
const GRACE_MS = 500;

const positional = process.argv.slice(2).filter((a) => !a.startsWith("--"));
const flags = Object.fromEntries(
  process.argv.slice(2).filter((a) => a.startsWith("--")).map((a) => {
    const [k, ...v] = a.slice(2).split("=");
    return [k, v.join("=")];
  }),
);
const tcpPort = Number(positional[0] ?? process.env.NSQD_TCP_PORT);
const httpPort = Number(flags["http-port"] ?? process.env.NSQD_HTTP_PORT ?? 0);
const testName = positional[1] ?? process.env.NSQ_TEST_NAME ?? "nsqjs";
const topic = `${testName.replace(/[^\w.-]/g, "_").slice(0, 40)}_${process.pid}`;
const channel = "ch";

const started = Date.now();
const result = {
  ok: false,
  nsqjsVersion: NSQJS_VERSION,
  topic,
  channel,
  published: [],
  deliveries: [],
  finished: [],
  requeued: [],
  touched: [],
  errors: [],
  deferred: null,
  clientStats: null,
  elapsedMs: 0,
};

let reader = null;
let writer = null;
let exiting = false;

function finish(ok, reason) {
  if (exiting) return;
  exiting = true;
  result.ok = ok;
  if (reason) result.reason = reason;
  result.elapsedMs = Date.now() - started;
  try {
    reader?.close();
  } catch (err) {
    result.errors.push(`reader.close: ${err}`);
  }
  try {
    writer?.close();
  } catch (err) {
    result.errors.push(`writer.close: ${err}`);
  }
  // Let CLS / FIN bytes leave before exiting.
  setTimeout(() => {
    process.stdout.write(JSON.stringify(result) + "\n", () => process.exit(ok ? 0 : 1));
  }, 100);
}

function fail(reason) {
  finish(false, reason);
}

setTimeout(
  () => fail(`timed out after ${HARD_DEADLINE_MS} ms (deliveries so far: ${result.deliveries.length})`),
  HARD_DEADLINE_MS,
);

process.on("uncaughtException", (err) => fail(`uncaught exception: ${err?.stack ?? err}`));
process.on("unhandledRejection", (err) => fail(`unhandled rejection: ${err?.stack ?? err}`));

if (!Number.isInteger(tcpPort) || tcpPort <= 0) {
  fail(`usage: nsqjs_client.mjs <nsqd-tcp-port> [test-name] [--http-port=N] (got ${process.argv.slice(2)})`);
} else {
  main().catch((err) => fail(`main: ${err?.stack ?? err}`));
}

function once(emitter, event, errorEvents = []) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      emitter.off(event, onEvent);
      for (const e of errorEvents) emitter.off(e, onError);
    };
    const onEvent = (...args) => {
      cleanup();
      resolve(args);
    };
    const onError = (err) => {
      cleanup();
      reject(new Error(`${event} not reached: ${err ?? "closed"}`));
    };
    emitter.on(event, onEvent);
    for (const e of errorEvents) emitter.on(e, onError);
  });
}

function publish(kind, fn) {
  return new Promise((resolve, reject) => {
    const sentAt = Date.now();
    fn((err) => {
      const entry = { kind, ok: !err, ms: Date.now() - sentAt };
      if (err) entry.error = String(err);
      result.published.push(entry);
      if (err) reject(new Error(`${kind} failed: ${err}`));
      else resolve(sentAt);
    });
  });
}

const EXPECTED_FINISHED = ["pub-1", "mpub-1", "mpub-2", "mpub-3", "dpub-1", "requeue-me", "touch-me"];
let deferSentAt = 0;
let doneTimer = null;

function checkDone() {
  const done = EXPECTED_FINISHED.every((b) => result.finished.includes(b));
  if (!done || doneTimer) return;
  // Wait a little for anything unexpected (a redelivery, an error frame) before concluding.
  doneTimer = setTimeout(conclude, GRACE_MS);
}

async function conclude() {
  if (httpPort > 0) {
    try {
      const res = await fetch(
        `http://127.0.0.1:${httpPort}/stats?format=json&topic=${encodeURIComponent(topic)}`,
      );
      const stats = await res.json();
      const ch = stats.topics?.[0]?.channels?.find((c) => c.channel_name === channel);
      result.clientStats = ch?.clients ?? null;
    } catch (err) {
      result.errors.push(`stats: ${err}`);
    }
  }
  const problems = [];
  const sorted = [...result.finished].sort();
  if (JSON.stringify(sorted) !== JSON.stringify([...EXPECTED_FINISHED].sort())) {
    problems.push(`finished ${JSON.stringify(result.finished)}`);
  }
  if (result.deliveries.length !== EXPECTED_FINISHED.length + 1) {
    problems.push(`expected ${EXPECTED_FINISHED.length + 1} deliveries, got ${result.deliveries.length}`);
  }
  if (result.errors.length > 0) problems.push(`errors: ${result.errors.join("; ")}`);
  if (problems.length > 0) fail(problems.join(" | "));
  else finish(true);
}

function onMessage(msg) {
  const body = msg.body.toString();
  const now = Date.now();
  const tsMs = Number(msg.timestamp / 1_000_000n);
  const delivery = {
    body,
    id: msg.id,
    attempts: msg.attempts,
    timestampNs: msg.timestamp.toString(),
    timestampSkewMs: now - tsMs,
    msgTimeout: msg.msgTimeout,
    maxMsgTimeout: msg.maxMsgTimeout,
    atMs: now - started,
  };
  result.deliveries.push(delivery);

  if (body === "dpub-1" && result.deferred === null) {
    result.deferred = { requestedMs: DEFER_MS, delayMs: now - deferSentAt };
  }

  if (body === "requeue-me" && msg.attempts === 1) {
    result.requeued.push({ id: msg.id, attempts: msg.attempts });
    msg.requeue(0, false);
    return;
  }

  if (body === "touch-me" && msg.attempts === 1) {
    setTimeout(() => {
      if (exiting) return;
      msg.touch();
      result.touched.push({ id: msg.id, afterMs: Date.now() - now, timedOutClientSide: msg.timedOut });
    }, TOUCH_AT_MS);
    setTimeout(() => {
      if (exiting) return;
      const t = result.touched.find((x) => x.id === msg.id);
      if (t) {
        t.finishAfterMs = Date.now() - now;
        t.timedOutClientSideAtFinish = msg.timedOut;
      }
      msg.finish();
      result.finished.push(body);
      checkDone();
    }, FINISH_TOUCHED_AT_MS);
    return;
  }

  msg.finish();
  result.finished.push(body);
  checkDone();
}

async function main() {
  reader = new nsq.Reader(topic, channel, {
    nsqdTCPAddresses: [`127.0.0.1:${tcpPort}`],
    maxInFlight: 10,
    messageTimeout: MSG_TIMEOUT_MS,
    clientId: "nsqjs-interop",
  });
  reader.on(nsq.Reader.MESSAGE, onMessage);
  reader.on(nsq.Reader.ERROR, (err) => {
    result.errors.push(`reader: ${err}`);
    fail(`reader error: ${err}`);
  });
  reader.on(nsq.Reader.NSQD_CLOSED, () => {
    if (!exiting) fail("reader: nsqd closed the connection");
  });
  const readerReady = once(reader, nsq.Reader.READY, [nsq.Reader.ERROR, nsq.Reader.NOT_READY]);
  reader.connect();
  await readerReady;

  writer = new nsq.Writer("127.0.0.1", tcpPort);
  writer.on(nsq.Writer.ERROR, (err) => {
    result.errors.push(`writer: ${err}`);
    fail(`writer error: ${err}`);
  });
  writer.on(nsq.Writer.CLOSED, () => {
    if (!exiting) fail("writer: nsqd closed the connection");
  });
  const writerReady = once(writer, nsq.Writer.READY, [nsq.Writer.ERROR, nsq.Writer.CLOSED]);
  writer.connect();
  await writerReady;

  await publish("PUB", (cb) => writer.publish(topic, "pub-1", cb));
  await publish("MPUB", (cb) => writer.publish(topic, ["mpub-1", "mpub-2", "mpub-3"], cb));
  deferSentAt = Date.now();
  // nsqjs 0.13.0's Writer.deferPublish hands `msg` to produceMessages unwrapped, and that throws
  // "Expect an array of messages" for anything but an array: a one-element array is what gives DPUB.
  await publish("DPUB", (cb) => writer.deferPublish(topic, ["dpub-1"], DEFER_MS, cb));
  await publish("PUB", (cb) => writer.publish(topic, "requeue-me", cb));
  await publish("PUB", (cb) => writer.publish(topic, "touch-me", cb));
}
