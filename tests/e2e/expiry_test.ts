/**
 * Issue 19, part 3 (beyond upstream; nsq issues #302 and #1396): `--max-msg-age` and `POST /topic/max-msg-age`
 * drop messages older than a max age where they would be delivered (from memory and from disk) and count them
 * (`expired_count`); `POST /channel/max-depth` keeps a channel within a depth by dropping its oldest messages
 * (`dropped_count`). Both are persisted in nsqd.dat as fields upstream ignores, and both are off by default.
 */
import assert from "node:assert/strict";
import {
  assertV1Error,
  channelStats,
  consumer,
  type NsqdProcess,
  readMessages,
  runtimeTest,
  startNsqd,
  topicStats,
  until,
} from "./harness.ts";

async function post(nsqd: NsqdProcess, path: string): Promise<void> {
  const res = await nsqd.http(path, { method: "POST" });
  const text = await res.text();
  assert.equal(res.status, 200, `POST ${path}: ${text}`);
}

async function reply(nsqd: NsqdProcess, method: string, path: string, body?: string) {
  const res = await nsqd.http(path, { method, body });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function metric(nsqd: NsqdProcess, name: string, labels: string): Promise<number> {
  const text = await (await nsqd.http("/metrics")).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}{${labels}} `));
  assert.ok(line !== undefined, `${name}{${labels}} in:\n${text}`);
  return Number(line.slice(line.lastIndexOf(" ") + 1));
}

async function nsqdDat(dir: string) {
  return JSON.parse(await Deno.readTextFile(`${dir}/nsqd.dat`));
}

runtimeTest(
  "--max-msg-age drops exactly the messages older than it, from memory and from disk, and counts them",
  async (rt) => {
    const nsqd = await startNsqd(rt, ["--max-msg-age=1500ms", "--mem-queue-size=2"]);
    try {
      await post(nsqd, "/topic/create?topic=ex");
      await post(nsqd, "/channel/create?topic=ex&channel=ch");
      const p = await nsqd.connectV2();
      await p.mpub("ex", ["old0", "old1", "old2"]); // two in memory, one on disk
      await p.pub("ex", "old3");
      await p.pub("ex", "old4");
      assert.deepEqual((await channelStats(nsqd, "ex", "ch")).backend_depth, 3);
      await new Promise((r) => setTimeout(r, 1800));
      await p.mpub("ex", ["new0", "new1", "new2"]);
      const c = await consumer(nsqd, "ex", "ch", 10);
      const got = await readMessages(c, 3);
      assert.deepEqual(got.map((m) => m.text).sort(), ["new0", "new1", "new2"]);
      await c.expectNothing(300);
      const ch = await channelStats(nsqd, "ex", "ch");
      assert.deepEqual([ch.expired_count, ch.depth, ch.in_flight_count, ch.message_count], [5, 0, 3, 8]);
      assert.equal(Object.keys(ch).at(-1), "expired_count", "new keys come last");
      const t = await topicStats(nsqd, "ex");
      assert.deepEqual([t.max_msg_age, t.expired_count], [1.5e9, 0]);
      assert.equal(await metric(nsqd, "nsq_channel_expired_total", 'topic="ex",channel="ch"'), 5);
      assert.equal(await metric(nsqd, "nsq_topic_max_msg_age_seconds", 'topic="ex"'), 1.5);
      const text = await (await nsqd.http("/stats")).text();
      assert.match(text, /\[ex\s*\].* max-age: 1\.5s expired: 0\n/);
      assert.match(text, /\[ch\s*\].* expired: 5\n/);
      // An expired message that comes back (REQ) is dropped too.
      await new Promise((r) => setTimeout(r, 1600));
      await c.req(got[0].id, 0);
      await until("the requeued one expired", async () => {
        const s = await channelStats(nsqd, "ex", "ch");
        assert.deepEqual([s.expired_count, s.in_flight_count, s.depth], [6, 2, 0]);
      });
      await c.expectNothing(200);
      c.close();
      p.close();
    } finally {
      await nsqd.stop();
    }
  },
);

runtimeTest(
  "POST /topic/max-msg-age applies to messages waiting on the topic, is kept in nsqd.dat, and 0 clears it",
  async (rt) => {
    const dir = await Deno.makeTempDir({ prefix: "nsqd-expiry-" });
    let nsqd: NsqdProcess | undefined;
    try {
      nsqd = await startNsqd(rt, [`--data-path=${dir}`]);
      const p = await nsqd.connectV2();
      await p.mpub("tw", ["a", "b"]); // no channel: they wait on the topic
      p.close();
      const published = Date.now();
      await post(nsqd, "/topic/max-msg-age?topic=tw&max_msg_age=1s");
      assert.deepEqual((await topicStats(nsqd, "tw")).max_msg_age, 1e9);
      assert.equal(await nsqd.stop(), 0);
      const meta = await nsqdDat(dir);
      assert.deepEqual(meta.topics, [{ name: "tw", paused: false, channels: null, max_msg_age: 1e9 }]);

      nsqd = await startNsqd(rt, [`--data-path=${dir}`]);
      const t = await topicStats(nsqd, "tw");
      assert.deepEqual([t.depth, t.max_msg_age, t.expired_count], [2, 1e9, 0], "restored");
      await new Promise((r) => setTimeout(r, Math.max(0, published + 1200 - Date.now())));
      const c = await consumer(nsqd, "tw", "ch", 10);
      await until("both expired on the topic", async () => {
        const s = await topicStats(nsqd!, "tw");
        assert.deepEqual([s.depth, s.expired_count, s.channels[0].message_count], [0, 2, 0]);
      });
      await c.expectNothing(200);

      await post(nsqd, "/topic/max-msg-age?topic=tw&max_msg_age=0");
      const cleared = await topicStats(nsqd, "tw");
      assert.equal(cleared.max_msg_age, undefined);
      assert.equal(cleared.expired_count, 2, "the count stays once something was dropped");
      await until("nsqd.dat without max_msg_age", async () => {
        assert.deepEqual((await nsqdDat(dir)).topics, [
          { name: "tw", paused: false, channels: [{ name: "ch", paused: false }] },
        ]);
      });
      const p2 = await nsqd.connectV2();
      await p2.pub("tw", "fresh");
      assert.equal((await c.readMessage()).text, "fresh");
      c.close();
      p2.close();
    } finally {
      await nsqd?.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);

runtimeTest(
  "POST /channel/max-depth drops the oldest queued messages, in memory or on disk, counts them, and is kept in nsqd.dat",
  async (rt) => {
    const dir = await Deno.makeTempDir({ prefix: "nsqd-maxdepth-" });
    const args = [`--data-path=${dir}`, "--mem-queue-size=2"];
    let nsqd: NsqdProcess | undefined;
    try {
      nsqd = await startNsqd(rt, args);
      await post(nsqd, "/topic/create?topic=md");
      await post(nsqd, "/channel/create?topic=md&channel=recent");
      await post(nsqd, "/channel/create?topic=md&channel=all");
      await post(nsqd, "/channel/max-depth?topic=md&channel=recent&max_depth=3");
      const p = await nsqd.connectV2();
      await p.mpub("md", ["m0", "m1", "m2", "m3", "m4", "m5"]);
      await p.pub("md", "m6");
      p.close();
      const recent = await channelStats(nsqd, "md", "recent");
      assert.deepEqual([recent.depth, recent.max_depth, recent.dropped_count], [3, 3, 4]);
      assert.deepEqual(Object.keys(recent).slice(-2), ["max_depth", "dropped_count"]);
      const all = await channelStats(nsqd, "md", "all");
      assert.deepEqual([all.depth, all.max_depth, all.dropped_count], [7, undefined, undefined]);
      assert.equal(await metric(nsqd, "nsq_channel_dropped_total", 'topic="md",channel="recent"'), 4);
      assert.equal(await metric(nsqd, "nsq_channel_max_depth", 'topic="md",channel="recent"'), 3);
      assert.match(await (await nsqd.http("/stats")).text(), /\[recent\s*\].* max-depth: 3 dropped: 4\n/);
      assert.equal(await nsqd.stop(), 0);
      const channels = (await nsqdDat(dir)).topics[0].channels;
      assert.deepEqual(channels, [
        { name: "all", paused: false },
        { name: "recent", paused: false, max_depth: 3 },
      ]);

      nsqd = await startNsqd(rt, args);
      assert.equal((await channelStats(nsqd, "md", "recent")).max_depth, 3, "restored");
      const c = await consumer(nsqd, "md", "recent", 10);
      const got = await readMessages(c, 3);
      assert.deepEqual(got.map((m) => m.text).sort(), ["m4", "m5", "m6"], "the newest kept");
      await c.expectNothing(200);
      c.close();
      // Lowering it on a deep channel trims it now; 0 clears it.
      await post(nsqd, "/channel/max-depth?topic=md&channel=all&max_depth=5");
      assert.deepEqual((await channelStats(nsqd, "md", "all")).depth, 5);
      await post(nsqd, "/channel/max-depth?topic=md&channel=all&max_depth=0");
      const p2 = await nsqd.connectV2();
      await p2.mpub("md", ["x", "y"]);
      p2.close();
      const after = await channelStats(nsqd, "md", "all");
      assert.deepEqual([after.depth, after.max_depth, after.dropped_count], [7, 0, 2]);
    } finally {
      await nsqd?.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);

runtimeTest(
  "with the unacknowledged log (--mem-queue-size=0), a message expired on REQ is released and does not come back after a crash",
  async (rt) => {
    const dir = await Deno.makeTempDir({ prefix: "nsqd-expiry-log-" });
    let nsqd: NsqdProcess | undefined;
    try {
      nsqd = await startNsqd(rt, [
        `--data-path=${dir}`,
        "--mem-queue-size=0",
        "--sync-every=1",
        "--max-msg-age=800ms",
      ]);
      const c = await consumer(nsqd, "lg", "ch", 1);
      const p = await nsqd.connectV2();
      await p.pub("lg", "short-lived");
      p.close();
      const [m] = await readMessages(c, 1);
      await new Promise((r) => setTimeout(r, 1000));
      await c.req(m.id, 0);
      await until("expired, nothing in flight", async () => {
        const s = await channelStats(nsqd!, "lg", "ch");
        assert.deepEqual([s.expired_count, s.in_flight_count, s.depth], [1, 0, 0]);
      });
      await new Promise((r) => setTimeout(r, 200)); // the log's release is written at the end of the turn
      await nsqd.stop("SIGKILL");
      c.close();

      nsqd = await startNsqd(rt, [`--data-path=${dir}`, "--mem-queue-size=0"]);
      const again = await consumer(nsqd, "lg", "ch", 10);
      await again.expectNothing(800);
      assert.deepEqual((await channelStats(nsqd, "lg", "ch")).depth, 0);
      again.close();
    } finally {
      await nsqd?.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
);

runtimeTest("bad values for the max age and the max depth are HTTP 400 with a clear error", async (rt) => {
  const nsqd = await startNsqd(rt, ["--max-msg-age=1m"]);
  try {
    await post(nsqd, "/topic/create?topic=v");
    await post(nsqd, "/channel/create?topic=v&channel=c");
    const cases: [string, string, number, string][] = [
      ["POST", "/topic/max-msg-age?max_msg_age=1s", 400, "MISSING_ARG_TOPIC"],
      ["POST", "/topic/max-msg-age?topic=v", 400, "MISSING_ARG_MAX_MSG_AGE"],
      ["POST", "/topic/max-msg-age?topic=v&max_msg_age=soon", 400, "INVALID_ARG_MAX_MSG_AGE"],
      ["POST", "/topic/max-msg-age?topic=v&max_msg_age=10", 400, "INVALID_ARG_MAX_MSG_AGE"],
      ["POST", "/topic/max-msg-age?topic=v&max_msg_age=-1s", 400, "INVALID_ARG_MAX_MSG_AGE"],
      ["POST", "/topic/max-msg-age?topic=nope&max_msg_age=1s", 404, "TOPIC_NOT_FOUND"],
      ["POST", "/channel/max-depth?topic=v&max_depth=1", 400, "MISSING_ARG_CHANNEL"],
      ["POST", "/channel/max-depth?topic=v&channel=c", 400, "MISSING_ARG_MAX_DEPTH"],
      ["POST", "/channel/max-depth?topic=v&channel=c&max_depth=-1", 400, "INVALID_ARG_MAX_DEPTH"],
      ["POST", "/channel/max-depth?topic=v&channel=c&max_depth=1.5", 400, "INVALID_ARG_MAX_DEPTH"],
      ["POST", "/channel/max-depth?topic=v&channel=c&max_depth=", 400, "INVALID_ARG_MAX_DEPTH"],
      ["POST", "/channel/max-depth?topic=v&channel=c&max_depth=1e3", 400, "INVALID_ARG_MAX_DEPTH"],
      ["POST", "/channel/max-depth?topic=v&channel=nope&max_depth=1", 404, "CHANNEL_NOT_FOUND"],
    ];
    for (const [method, path, status, message] of cases) {
      assertV1Error(await reply(nsqd, method, path), status, message, `${method} ${path}`);
    }
    const t = await topicStats(nsqd, "v");
    assert.deepEqual([t.max_msg_age, t.channels[0].max_depth], [60e9, undefined], "nothing changed");

    // /config/max_msg_age: nanoseconds as every duration of /config; PUT takes a Go duration or ns.
    assert.deepEqual([await reply(nsqd, "GET", "/config/max_msg_age")].map((r) => [r.status, r.text]), [
      [200, "60000000000"],
    ]);
    const put = await reply(nsqd, "PUT", "/config/max_msg_age", "30s");
    assert.deepEqual([put.status, put.text], [200, "30000000000"]);
    const ns = await reply(nsqd, "PUT", "/config/max_msg_age", "0");
    assert.deepEqual([ns.status, ns.text], [200, "0"]);
    assertV1Error(await reply(nsqd, "PUT", "/config/max_msg_age", "soon"), 400, "INVALID_VALUE");
    assertV1Error(await reply(nsqd, "PUT", "/config/max_msg_age", "-5s"), 400, "INVALID_VALUE");
    assert.equal((await topicStats(nsqd, "v")).max_msg_age, undefined, "off again");
  } finally {
    await nsqd.stop();
  }
});
