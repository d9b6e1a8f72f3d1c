/**
 * Client interop: the unmodified official Node.js client library `nsqjs` (pinned devDependency),
 * run by Node.js against our nsqd. The client side lives in `clients/nsqjs_client.mjs`; it prints
 * one JSON line with what it saw, which is checked here together with nsqd's own `/stats`.
 *
 * `NODE_BIN` overrides the `node` executable.
 */
import assert from "node:assert/strict";
import { eventually, type NsqdProcess, runtimeTest, withNsqd } from "./harness.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const NSQJS_CLIENT = `${ROOT}tests/e2e/clients/nsqjs_client.mjs`;
const NODE = Deno.env.get("NODE_BIN") ?? "node";
const decoder = new TextDecoder();

// Must match the constants in clients/nsqjs_client.mjs.
const DEFER_MS = 1000;
const MSG_TIMEOUT_MS = 2000;
const BODIES = ["pub-1", "mpub-1", "mpub-2", "mpub-3", "dpub-1", "requeue-me", "touch-me"];

interface Delivery {
  body: string;
  id: string;
  attempts: number;
  timestampNs: string;
  timestampSkewMs: number;
  msgTimeout: number;
  maxMsgTimeout: number;
  atMs: number;
}

interface NsqjsResult {
  ok: boolean;
  reason?: string;
  nsqjsVersion: string;
  topic: string;
  channel: string;
  published: { kind: string; ok: boolean; error?: string }[];
  deliveries: Delivery[];
  finished: string[];
  requeued: { id: string; attempts: number }[];
  touched: {
    id: string;
    afterMs: number;
    finishAfterMs: number;
    timedOutClientSide: boolean;
    timedOutClientSideAtFinish: boolean;
  }[];
  errors: string[];
  deferred: { requestedMs: number; delayMs: number } | null;
  // deno-lint-ignore no-explicit-any
  clientStats: any[] | null;
}

/** Runs the nsqjs client against `nsqd`; returns its parsed JSON line, failing on a non-zero exit. */
async function runNsqjs(nsqd: NsqdProcess, name: string): Promise<NsqjsResult> {
  const out = await new Deno.Command(NODE, {
    args: [NSQJS_CLIENT, String(nsqd.tcpPort), name, `--http-port=${nsqd.httpPort}`],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(25_000),
  }).output();
  const stdout = decoder.decode(out.stdout).trim();
  const stderr = decoder.decode(out.stderr).trim();
  const context = `node exited ${out.code}${out.signal ? ` (${out.signal})` : ""}\nstdout: ${stdout}\n` +
    `stderr: ${stderr}\nnsqd log:\n${nsqd.proc.stderr}`;
  assert.equal(out.code, 0, context);
  const last = stdout.split("\n").at(-1) ?? "";
  let result: NsqjsResult;
  try {
    result = JSON.parse(last);
  } catch {
    throw new Error(`no JSON result line\n${context}`);
  }
  assert.equal(result.ok, true, context);
  return result;
}

runtimeTest("nsqjs 0.13.0 Writer (PUB, MPUB, DPUB) and Reader (FIN, REQ, TOUCH) interoperate", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const r = await runNsqjs(nsqd, `interop_${rt}`);
    const dump = JSON.stringify(r, null, 1);

    assert.equal(r.nsqjsVersion, "0.13.0");
    assert.deepEqual(r.errors, [], dump);

    // Every publish was answered OK (the Writer's callbacks got no error).
    assert.deepEqual(
      r.published.map((p) => [p.kind, p.ok]),
      [["PUB", true], ["MPUB", true], ["DPUB", true], ["PUB", true], ["PUB", true]],
      dump,
    );

    // Every body delivered once, except requeue-me which came twice; all finished.
    assert.deepEqual(r.deliveries.map((d) => d.body).sort(), [...BODIES, "requeue-me"].sort(), dump);
    assert.deepEqual([...r.finished].sort(), [...BODIES].sort(), dump);
    for (const d of r.deliveries) {
      assert.match(d.id, /^[0-9a-f]{16}$/, dump);
      // The IDENTIFY reply (feature_negotiation) carried our msg_timeout and the default max.
      assert.equal(d.msgTimeout, MSG_TIMEOUT_MS, dump);
      assert.equal(d.maxMsgTimeout, 15 * 60 * 1000, dump);
      // The nanosecond timestamp decodes (readBigInt64BE) to about now.
      assert.ok(Math.abs(d.timestampSkewMs) < 5000, `timestamp of ${d.body} is off: ${dump}`);
      if (d.body !== "requeue-me") assert.equal(d.attempts, 1, dump);
    }
    const firstDeliveries = r.deliveries.filter((d) => !(d.body === "requeue-me" && d.attempts === 2));
    assert.equal(new Set(firstDeliveries.map((d) => d.id)).size, BODIES.length, `ids not unique: ${dump}`);

    // REQ 0 (no backoff): redelivered with attempts 2, the same id and timestamp.
    const requeued = r.deliveries.filter((d) => d.body === "requeue-me");
    assert.deepEqual(requeued.map((d) => d.attempts), [1, 2], dump);
    assert.equal(requeued[0].id, requeued[1].id, dump);
    assert.equal(requeued[0].timestampNs, requeued[1].timestampNs, dump);
    assert.deepEqual(r.requeued, [{ id: requeued[0].id, attempts: 1 }], dump);

    // DPUB 1000: not delivered before the deferral elapsed (measured from before the send).
    assert.ok(r.deferred !== null, dump);
    assert.ok(r.deferred.delayMs >= DEFER_MS, `deferred message came early: ${dump}`);
    assert.ok(r.deferred.delayMs < DEFER_MS + 3000, `deferred message came late: ${dump}`);

    // TOUCH: the message was finished past its original 2000 ms timeout and was not redelivered.
    assert.equal(r.touched.length, 1, dump);
    const t = r.touched[0];
    assert.ok(t.afterMs < MSG_TIMEOUT_MS, dump);
    assert.ok(t.finishAfterMs > MSG_TIMEOUT_MS, dump);
    assert.equal(t.timedOutClientSideAtFinish, false, dump);

    // The nsqjs consumer as nsqd saw it, just before it disconnected.
    assert.ok(r.clientStats !== null, dump);
    assert.equal(r.clientStats.length, 1, dump);
    const c = r.clientStats[0];
    assert.equal(c.client_id, "nsqjs-interop", dump);
    assert.equal(c.user_agent, "nsqjs/0.13.0", dump);
    assert.equal(c.state, 3, dump); // subscribed
    assert.equal(c.ready_count, 10, dump);
    assert.equal(c.in_flight_count, 0, dump);
    assert.equal(c.message_count, BODIES.length + 1, dump);
    assert.equal(c.finish_count, BODIES.length, dump);
    assert.equal(c.requeue_count, 1, dump);

    // nsqd's view afterwards: everything finished, one requeue, no timeouts.
    const stats = await eventually(
      async () => {
        const s = await nsqd.stats(`&topic=${r.topic}`);
        return s.topics?.[0]?.channels?.[0]?.client_count === 0 ? s : null;
      },
      5000,
      "the nsqjs client to be gone from /stats",
    );
    assert.equal(stats.topics.length, 1);
    const topic = stats.topics[0];
    assert.equal(topic.topic_name, r.topic);
    assert.equal(topic.message_count, BODIES.length);
    assert.equal(topic.depth, 0);
    assert.equal(topic.channels.length, 1);
    const ch = topic.channels[0];
    assert.equal(ch.channel_name, r.channel);
    assert.equal(ch.message_count, BODIES.length);
    assert.equal(ch.depth, 0);
    assert.equal(ch.in_flight_count, 0);
    assert.equal(ch.deferred_count, 0);
    assert.equal(ch.requeue_count, 1);
    assert.equal(ch.timeout_count, 0);
  });
});
