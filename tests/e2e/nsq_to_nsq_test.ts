/**
 * nsq_to_nsq (shared/nsq-reference.md §10.7) between real nsqds, on Deno and on Bun: every message
 * copied (same or `--destination-topic`), round-robin over two destinations, the JSON filters, a
 * destination that is down (messages requeued, none lost once it is up), and the flag errors.
 */
import assert from "node:assert/strict";
import {
  channelStats,
  type NsqdProcess,
  runApp,
  runtimeTest,
  startApp,
  startNsqd,
  topicStats,
  until,
} from "./harness.ts";

async function mpub(nsqd: NsqdProcess, topic: string, bodies: string[]): Promise<void> {
  const res = await nsqd.http(`/mpub?topic=${topic}`, { method: "POST", body: bodies.join("\n") });
  assert.equal(res.status, 200, await res.text());
}

/** Reads `n` messages of `topic` from `nsqd` (a fresh channel) and FINs them. */
async function consumeAll(nsqd: NsqdProcess, topic: string, n: number): Promise<string[]> {
  const c = await nsqd.connectV2();
  try {
    await c.sub(topic, "check");
    await c.rdy(n + 10);
    const out: string[] = [];
    while (out.length < n) {
      const m = await c.readMessage(10_000);
      out.push(new TextDecoder().decode(m.body));
      await c.fin(m.id);
    }
    await c.expectNothing(200);
    return out;
  } finally {
    c.close();
  }
}

async function drained(nsqd: NsqdProcess, topic: string): Promise<void> {
  await until("every message FINed", async () => {
    const ch = await channelStats(nsqd, topic, "nsq_to_nsq");
    assert.equal(ch?.depth, 0);
    assert.equal(ch?.in_flight_count, 0);
    assert.equal(ch?.deferred_count, 0);
  }, 15_000);
}

runtimeTest(
  "nsq_to_nsq copies every message to --destination-topic, round-robin over two nsqds",
  async (rt) => {
    const [src, d1, d2] = await Promise.all([startNsqd(rt), startNsqd(rt), startNsqd(rt)]);
    try {
      const bodies = Array.from({ length: 20 }, (_, i) => `m${i}`);
      await mpub(src, "from", bodies);
      const app = startApp(rt, "nsq_to_nsq", [
        "--topic=from",
        `--nsqd-tcp-address=127.0.0.1:${src.tcpPort}`,
        `--destination-nsqd-tcp-address=127.0.0.1:${d1.tcpPort}`,
        `--destination-nsqd-tcp-address=127.0.0.1:${d2.tcpPort}`,
        "--destination-topic=to",
        "--mode=round-robin",
        "--status-every=10",
      ]);
      await drained(src, "from");
      app.signal("SIGTERM");
      assert.equal((await app.status).code, 0, app.stderr);
      const n1 = (await topicStats(d1, "to"))?.message_count ?? 0;
      const n2 = (await topicStats(d2, "to"))?.message_count ?? 0;
      assert.deepEqual([n1, n2], [10, 10]);
      const got = [...await consumeAll(d1, "to", 10), ...await consumeAll(d2, "to", 10)];
      assert.deepEqual(got.sort(), [...bodies].sort());
      assert.match(app.stderr, /\[aggregate\]: finished 20 - 99th: /);
    } finally {
      await Promise.all([src.stop(), d1.stop(), d2.stop()]);
    }
  },
);

runtimeTest(
  "nsq_to_nsq --require-json-field/--require-json-value pass matching JSON only; --whitelist-json-field keeps listed keys, sorted",
  async (rt) => {
    const [src, dst] = await Promise.all([startNsqd(rt), startNsqd(rt)]);
    try {
      await mpub(src, "j", [
        '{"type":"a","z":1,"b":2.0,"drop":"x"}',
        '{"type":"b","z":1}',
        '{"z":3}',
        "not json",
        '{"type":"a","b":"s"}',
      ]);
      await mpub(src, "k", ['{"n":5,"v":1}', '{"n":5.0}', '{"n":"5"}', '{"n":"05"}', '{"n":6}', '{"n":[5]}']);
      const app = startApp(rt, "nsq_to_nsq", [
        "--topic=j",
        `--nsqd-tcp-address=127.0.0.1:${src.tcpPort}`,
        `--destination-nsqd-tcp-address=127.0.0.1:${dst.tcpPort}`,
        "--require-json-field=type",
        "--require-json-value=a",
        "--whitelist-json-field=z",
        "--whitelist-json-field=b",
        "--whitelist-json-field=type",
      ]);
      await drained(src, "j");
      app.signal("SIGTERM");
      assert.equal((await app.status).code, 0);
      assert.deepEqual(await consumeAll(dst, "j", 2), ['{"b":2,"type":"a","z":1}', '{"b":"s","type":"a"}']);
      assert.match(app.stderr, /ERROR: Unable to decode json: not json/);

      // A JSON number compares as a number, a JSON string as a string; the body passes unchanged.
      const num = startApp(rt, "nsq_to_nsq", [
        "--topic=k",
        `--nsqd-tcp-address=127.0.0.1:${src.tcpPort}`,
        `--destination-nsqd-tcp-address=127.0.0.1:${dst.tcpPort}`,
        "--require-json-field=n",
        "--require-json-value=5",
      ]);
      await drained(src, "k");
      num.signal("SIGTERM");
      assert.equal((await num.status).code, 0);
      assert.deepEqual(await consumeAll(dst, "k", 3), ['{"n":5,"v":1}', '{"n":5.0}', '{"n":"5"}']);
    } finally {
      await Promise.all([src.stop(), dst.stop()]);
    }
  },
);

runtimeTest(
  "nsq_to_nsq requeues while the destination is down and delivers everything once it is up",
  async (rt) => {
    const src = await startNsqd(rt);
    // A port nothing listens on yet: take one from a throwaway listener.
    const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    let dst: NsqdProcess | null = null;
    try {
      const bodies = ["x1", "x2", "x3"];
      await mpub(src, "down", bodies);
      const app = startApp(rt, "nsq_to_nsq", [
        "--topic=down",
        `--nsqd-tcp-address=127.0.0.1:${src.tcpPort}`,
        `--destination-nsqd-tcp-address=127.0.0.1:${port}`,
        "--consumer-opt=default_requeue_delay,100ms",
        "--consumer-opt=backoff_multiplier,10ms",
        "--consumer-opt=max_attempts,0",
        "--producer-opt=dial_timeout,500ms",
      ]);
      await until("requeued", async () => {
        const ch = await channelStats(src, "down", "nsq_to_nsq");
        assert.ok((ch?.requeue_count ?? 0) > 0);
      }, 10_000);
      dst = await startNsqd(rt, [`--tcp-address=127.0.0.1:${port}`]);
      await drained(src, "down");
      app.signal("SIGTERM");
      assert.equal((await app.status).code, 0, app.stderr);
      assert.deepEqual((await consumeAll(dst, "down", 3)).sort(), bodies);
    } finally {
      await src.stop();
      await dst?.stop();
    }
  },
);

runtimeTest("nsq_to_nsq refuses bad flags and values with upstream's messages", async (rt) => {
  const src = ["--nsqd-tcp-address=a:1"];
  const cases: [string[], number, string][] = [
    [[...src, "--destination-nsqd-tcp-address=b:2"], 1, "--topic and --channel are required"],
    [["--topic=bad topic", ...src, "--destination-nsqd-tcp-address=b:2"], 1, "--topic is invalid"],
    [["--topic=t", ...src, "--destination-nsqd-tcp-address=b:2", "--channel=a b"], 1, "--channel is invalid"],
    [["--topic=t", ...src], 1, "--destination-nsqd-tcp-address required"],
    [
      ["--topic=t", "--destination-nsqd-tcp-address=b:2"],
      1,
      "--nsqd-tcp-address or --lookupd-http-address required",
    ],
    [
      ["--topic=t", ...src, "--destination-nsqd-tcp-address=b:2", "--destination-topic=a/b"],
      1,
      "--destination-topic is invalid",
    ],
    [
      ["--topic=t", ...src, "--destination-nsqd-tcp-address=b:2", "--producer-opt=nope"],
      2,
      "invalid option nope",
    ],
  ];
  for (const [args, code, text] of cases) {
    const r = await runApp(rt, "nsq_to_nsq", args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(r.stderr.includes(text), `${args.join(" ")}: ${r.stderr}`);
  }
});
