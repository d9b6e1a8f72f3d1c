/**
 * `GET /metrics`: nsqd's figures in the Prometheus text exposition format (version 0.0.4), the
 * answer to upstream's most asked-for missing feature (shared/nsq-reference.md §6 row 4, nsq #732).
 * The body is read with an independent parser (`parse-prometheus-text-format`), and the values are
 * checked against what was published, requeued, timed out and held in flight.
 */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { type NsqConn, type NsqdProcess, runtimeTest, type StatsJson, until, withNsqd } from "./harness.ts";

// ---- local helpers ------------------------------------------------------------------------------

interface Sample {
  value: string;
  labels?: Record<string, string>;
}

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: Sample[];
}

interface Scrape {
  status: number;
  contentType: string;
  text: string;
  families: Map<string, Family>;
}

async function scrape(nsqd: NsqdProcess): Promise<Scrape> {
  const res = await nsqd.http("/metrics");
  const text = await res.text();
  const parsed = parsePrometheusTextFormat(text) as Family[];
  return {
    status: res.status,
    contentType: res.headers.get("content-type") ?? "",
    text,
    families: new Map(parsed.map((f) => [f.name, f])),
  };
}

/** The value of the sample of `name` whose labels are exactly `labels` (undefined when absent). */
function value(s: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = s.families.get(name);
  if (!fam) return undefined;
  const want = JSON.stringify(Object.entries(labels).sort());
  const m = fam.metrics.find((m) => JSON.stringify(Object.entries(m.labels ?? {}).sort()) === want);
  return m === undefined ? undefined : Number(m.value);
}

function family(s: Scrape, name: string): Family {
  const fam = s.families.get(name);
  assert.ok(fam, `family ${name} missing in:\n${s.text}`);
  return fam;
}

async function channelStats(nsqd: NsqdProcess, topic: string, channel: string): Promise<StatsJson> {
  const s = await nsqd.stats();
  const t = (s.topics ?? []).find((t: StatsJson) => t.topic_name === topic);
  return t?.channels.find((c: StatsJson) => c.channel_name === channel);
}

async function consumer(
  nsqd: NsqdProcess,
  topic: string,
  channel: string,
  rdy: number,
  identify?: Record<string, unknown>,
): Promise<NsqConn> {
  const c = await nsqd.connectV2();
  if (identify) assert.equal((await c.identify(identify)).text, "OK");
  await c.sub(topic, channel);
  await c.rdy(rdy);
  await until(`${topic}/${channel} ready`, async () => {
    const ch = await channelStats(nsqd, topic, channel);
    assert.ok(ch?.clients?.some((cl: StatsJson) => cl.ready_count === rdy));
  });
  return c;
}

async function post(nsqd: NsqdProcess, path: string, body?: string): Promise<void> {
  const res = await nsqd.http(path, { method: "POST", body });
  const text = await res.text();
  assert.equal(res.status, 200, `POST ${path}: ${text}`);
}

// ---- tests ---------------------------------------------------------------------------------------

runtimeTest(
  "GET /metrics answers 200 in the Prometheus text format 0.0.4 with process and uptime figures",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const s = await scrape(nsqd);
      assert.equal(s.status, 200);
      assert.ok(s.contentType.startsWith("text/plain; version=0.0.4"), `content-type ${s.contentType}`);
      assert.ok(s.text.endsWith("\n"), "the exposition ends with a newline");
      assert.ok(s.families.size > 0, "some families");

      const rss = value(s, "process_resident_memory_bytes");
      assert.ok(rss !== undefined && rss > 0, `process_resident_memory_bytes ${rss}`);
      assert.equal(family(s, "process_resident_memory_bytes").type, "GAUGE");

      const uptime = value(s, "nsq_uptime_seconds");
      assert.ok(uptime !== undefined && uptime >= 0 && uptime < 600, `nsq_uptime_seconds ${uptime}`);
      assert.equal(value(s, "nsq_clients"), 0, "no TCP client yet");

      // every family is declared with HELP and TYPE, and samples of a family are not split up
      for (const name of s.families.keys()) {
        assert.match(s.text, new RegExp(`^# TYPE ${name} \\w+$`, "m"), `TYPE of ${name}`);
        assert.match(s.text, new RegExp(`^# HELP ${name} .+$`, "m"), `HELP of ${name}`);
        assert.equal(s.text.split("\n").filter((l) => l.startsWith(`# TYPE ${name} `)).length, 1, name);
      }

      // the uptime goes on
      await until("uptime grows", async () => {
        const later = value(await scrape(nsqd), "nsq_uptime_seconds");
        assert.ok(later !== undefined && later > uptime, `${later} > ${uptime}`);
      }, 10_000);
    });
  },
);

runtimeTest(
  "GET /metrics reports topic and channel depths and counters after publishing, requeueing, timing out and holding messages",
  async (rt) => {
    await withNsqd(rt, ["--msg-timeout=1s"], async (nsqd) => {
      const cons = await consumer(nsqd, "t", "c", 1);
      // its own msg_timeout keeps the held message from timing out like c's
      const holder = await consumer(nsqd, "t", "c2", 1, { msg_timeout: 60_000 });
      await post(nsqd, "/mpub?topic=t", "a\nbb\nccc");

      // c: one requeue, one FIN, one timeout (RDY 0 so the timed-out message stays queued next to
      // the one never delivered again)
      const first = await cons.readMessage();
      await cons.req(first.id, 0);
      const second = await cons.readMessage();
      await cons.fin(second.id);
      await cons.readMessage();
      await cons.rdy(0);
      // c2: one message held in flight
      await holder.readMessage();

      await post(nsqd, "/pub?topic=nochan", "x");
      await post(nsqd, "/pub?topic=nochan", "y");
      await post(nsqd, "/topic/create?topic=a.b-c_d");
      await post(nsqd, "/pub?topic=a.b-c_d", "z");

      await until("the third message of c timed out", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.deepEqual([ch.timeout_count, ch.in_flight_count, ch.depth], [1, 0, 2]);
      }, 15_000);
      await until("nochan holds two messages", async () => {
        const s = await nsqd.stats("&topic=nochan");
        assert.equal(s.topics[0].depth, 2);
      });

      const s = await scrape(nsqd);
      assert.equal(s.status, 200);
      const t = { topic: "t" };
      const c = { topic: "t", channel: "c" };
      const c2 = { topic: "t", channel: "c2" };
      const expected: [string, Record<string, string>, number][] = [
        ["nsq_topic_depth", t, 0],
        ["nsq_topic_depth", { topic: "nochan" }, 2],
        ["nsq_topic_depth", { topic: "a.b-c_d" }, 1],
        ["nsq_topic_messages_total", t, 3],
        ["nsq_topic_messages_total", { topic: "nochan" }, 2],
        ["nsq_topic_messages_total", { topic: "a.b-c_d" }, 1],
        ["nsq_channel_depth", c, 2],
        ["nsq_channel_depth", c2, 2],
        ["nsq_channel_in_flight", c, 0],
        ["nsq_channel_in_flight", c2, 1],
        ["nsq_channel_messages_total", c, 3],
        ["nsq_channel_messages_total", c2, 3],
        ["nsq_channel_requeued_total", c, 1],
        ["nsq_channel_requeued_total", c2, 0],
        ["nsq_channel_timed_out_total", c, 1],
        ["nsq_channel_timed_out_total", c2, 0],
        ["nsq_channel_clients", c, 1],
        ["nsq_channel_clients", c2, 1],
        ["nsq_clients", {}, 2],
      ];
      for (const [name, labels, v] of expected) {
        assert.equal(value(s, name, labels), v, `${name}${JSON.stringify(labels)}\n${s.text}`);
      }
      // a topic without channels has no channel samples; channel samples name both labels
      for (const name of ["nsq_channel_depth", "nsq_channel_messages_total", "nsq_channel_clients"]) {
        const labelSets = family(s, name).metrics.map((m) => JSON.stringify(m.labels));
        assert.deepEqual(labelSets.sort(), [JSON.stringify(c), JSON.stringify(c2)].sort(), name);
      }
      const rss = value(s, "process_resident_memory_bytes");
      assert.ok(rss !== undefined && rss > 0, `process_resident_memory_bytes ${rss}`);
      const uptime = value(s, "nsq_uptime_seconds");
      assert.ok(uptime !== undefined && uptime >= 0, `nsq_uptime_seconds ${uptime}`);

      cons.close();
      holder.close();
      await until("both consumers gone", async () => {
        assert.equal(value(await scrape(nsqd), "nsq_clients"), 0);
      });
    });
  },
);

runtimeTest("in GET /metrics counters have TYPE counter and end in _total, gauges do not", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 1);
    await post(nsqd, "/pub?topic=t", "m");
    await c.readMessage();
    const s = await scrape(nsqd);
    for (
      const name of [
        "nsq_topic_messages_total",
        "nsq_channel_messages_total",
        "nsq_channel_requeued_total",
        "nsq_channel_timed_out_total",
      ]
    ) {
      assert.equal(family(s, name).type, "COUNTER", name);
    }
    for (
      const name of [
        "nsq_topic_depth",
        "nsq_channel_depth",
        "nsq_channel_in_flight",
        "nsq_channel_clients",
        "nsq_clients",
        "nsq_uptime_seconds",
        "process_resident_memory_bytes",
      ]
    ) {
      assert.equal(family(s, name).type, "GAUGE", name);
    }
    for (const fam of s.families.values()) {
      if (fam.type === "COUNTER") {
        assert.ok(fam.name.endsWith("_total"), `counter ${fam.name} ends in _total`);
      }
      if (fam.name.endsWith("_total")) assert.equal(fam.type, "COUNTER", `${fam.name} is a counter`);
    }
    assert.match(s.text, /^# TYPE nsq_topic_messages_total counter$/m);
    assert.match(s.text, /^# TYPE nsq_topic_depth gauge$/m);
    c.close();
  });
});

runtimeTest(
  "GET /metrics keeps topic and channel names with dots, dashes and underscores as label values",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "my.topic-1_x", "ch.a-b_c", 1);
      await post(nsqd, "/pub?topic=my.topic-1_x", "m");
      await c.readMessage();
      const s = await scrape(nsqd);
      assert.equal(value(s, "nsq_topic_messages_total", { topic: "my.topic-1_x" }), 1);
      assert.equal(value(s, "nsq_channel_in_flight", { topic: "my.topic-1_x", channel: "ch.a-b_c" }), 1);
      assert.match(s.text, /^nsq_topic_depth\{topic="my\.topic-1_x"\} 0$/m);
      c.close();
    });
  },
);
