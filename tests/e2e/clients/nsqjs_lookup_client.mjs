// An interop client: the unmodified official Node.js client library `nsqjs` discovers an nsqd
// through nsqlookupd's `/lookup` (Reader with lookupdHTTPAddresses only), run by Node.js.
//
//   node tests/e2e/clients/nsqjs_lookup_client.mjs <lookupd-http-port> <topic> <expected-body>
//
// Subscribes to <topic>/ch via the lookupd, finishes the first message, and prints one JSON line
// on stdout: `{"ok":true,"body":…,"nsqd":"host:port"}` (exit 0) or `{"ok":false,"reason":…}`
// (exit 1). Stops by itself within 10 s whatever happens.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const nsq = require("nsqjs");

const [httpPort, topic, expected] = process.argv.slice(2);
let reader = null;

function done(result) {
  process.stdout.write(JSON.stringify(result) + "\n");
  try {
    reader?.close();
  } catch { /* closing anyway */ }
  process.exit(result.ok ? 0 : 1);
}

setTimeout(() => done({ ok: false, reason: "timed out" }), 10_000).unref();

reader = new nsq.Reader(topic, "ch", {
  lookupdHTTPAddresses: [`127.0.0.1:${httpPort}`],
  lookupdPollInterval: 1,
  maxInFlight: 1,
});
reader.on("error", (err) => done({ ok: false, reason: `reader error: ${err?.message ?? err}` }));
reader.on("nsqd_connected", (host, port) => {
  reader.connectedTo = `${host}:${port}`;
});
reader.on("message", (msg) => {
  const body = msg.body.toString();
  msg.finish();
  done({ ok: body === expected, body, nsqd: reader.connectedTo ?? null });
});
reader.connect();
