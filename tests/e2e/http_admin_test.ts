/**
 * nsqd's administrative HTTP API (shared/nsq-reference.md §2.1, §2.2, §2.4, §2.6, §3.1, §3.4, §3.13):
 * topic/channel create/delete/empty/pause/unpause with every error of the endpoint table and their
 * effects on delivery and /stats, the text format of /stats, GET/PUT /config/:opt, and
 * `--max-channel-consumers`.
 */
import assert from "node:assert/strict";
import {
  assertV1Error,
  channelStats,
  consumer,
  encodeCommand,
  JSON_TYPE,
  NSQ_HEADER,
  type NsqdProcess,
  readMessages,
  type Reply,
  runtimeTest,
  type StatsJson,
  topicStats,
  until,
  withNsqd,
} from "./harness.ts";

// ---- local helpers ------------------------------------------------------------------------------

async function call(
  nsqd: NsqdProcess,
  method: string,
  path: string,
  body?: string,
): Promise<Reply> {
  const res = await nsqd.http(path, { method, body });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers };
}

function post(nsqd: NsqdProcess, path: string): Promise<Reply> {
  return call(nsqd, "POST", path);
}

/** Asserts a V1 success without data: 200, an empty body and the NSQ header. */
function assertEmptyOk(r: Reply, what = ""): void {
  assert.deepEqual([r.status, r.text], [200, ""], what);
  assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER, `X-NSQ-Content-Type ${what}`);
}

/** Asserts a V1 JSON success with exactly `body`. */
function assertJsonOk(r: Reply, body: string, what = ""): void {
  assert.deepEqual([r.status, r.text], [200, body], what);
  assert.equal(r.headers.get("content-type"), JSON_TYPE, `content-type ${what}`);
  assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER, `X-NSQ-Content-Type ${what}`);
}

async function topicNames(nsqd: NsqdProcess): Promise<string[]> {
  return ((await nsqd.stats()).topics ?? []).map((t: StatsJson) => t.topic_name);
}

async function channelNames(nsqd: NsqdProcess, topic: string): Promise<string[] | undefined> {
  return (await topicStats(nsqd, topic))?.channels.map((c: StatsJson) => c.channel_name);
}

/** Waits until the channel lists a client whose ready count is `rdy` (the RDY has been processed). */
async function untilReady(nsqd: NsqdProcess, topic: string, channel: string, rdy: number): Promise<void> {
  await until(`a client of ${topic}/${channel} with RDY ${rdy}`, async () => {
    const ch = await channelStats(nsqd, topic, channel);
    assert.ok(
      ch?.clients?.some((c: StatsJson) => c.ready_count === rdy),
      `clients ${JSON.stringify(ch?.clients)}`,
    );
  });
}

async function pub(nsqd: NsqdProcess, topic: string, body: string): Promise<void> {
  const r = await call(nsqd, "POST", `/pub?topic=${encodeURIComponent(topic)}`, body);
  assert.deepEqual([r.status, r.text], [200, "OK"], `POST /pub?topic=${topic}`);
}

/** A raw TCP connection (so its local port is known); what it is sent is written in one go. */
async function rawClient(nsqd: NsqdProcess, ...commands: Uint8Array[]): Promise<[Deno.TcpConn, number]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: nsqd.tcpPort });
  const parts = [new TextEncoder().encode("  V2"), ...commands];
  for (const bytes of parts) {
    let off = 0;
    while (off < bytes.length) off += await conn.write(bytes.subarray(off));
  }
  return [conn, (conn.localAddr as Deno.NetAddr).port];
}

const TOPIC_ENDPOINTS = ["create", "delete", "empty", "pause", "unpause"];
const CHANNEL_ENDPOINTS = ["create", "delete", "empty", "pause", "unpause"];
const INVALID_NAMES = ["bad!name", "with space", "a".repeat(65), "t#notephemeral"];

// ---- success answers and errors of the endpoint table (§2.2) ------------------------------------

runtimeTest(
  "every topic and channel admin endpoint answers 200 with an empty body and the X-NSQ header",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const ok = async (path: string) => assertEmptyOk(await post(nsqd, path), `POST ${path}`);
      await ok("/topic/create?topic=t");
      await ok("/channel/create?topic=t&channel=c");
      await ok("/topic/pause?topic=t");
      await ok("/topic/unpause?topic=t");
      await ok("/topic/empty?topic=t");
      await ok("/channel/pause?topic=t&channel=c");
      await ok("/channel/unpause?topic=t&channel=c");
      await ok("/channel/empty?topic=t&channel=c");
      await ok("/channel/delete?topic=t&channel=c");
      await ok("/topic/delete?topic=t");
      // pausing twice and unpausing what is not paused are no errors
      await ok("/topic/create?topic=t");
      await ok("/topic/create?topic=t");
      await ok("/topic/unpause?topic=t");
      await ok("/topic/pause?topic=t");
      await ok("/topic/pause?topic=t");
      await ok("/channel/create?topic=t&channel=c");
      await ok("/channel/create?topic=t&channel=c");
      await ok("/channel/unpause?topic=t&channel=c");
      await ok("/channel/pause?topic=t&channel=c");
      await ok("/channel/pause?topic=t&channel=c");
      // names at the limits of §1.10
      await ok(`/topic/create?topic=${"x".repeat(64)}`);
      await ok(`/topic/create?topic=${encodeURIComponent("._-AZaz09#ephemeral")}`);
      await ok(`/channel/create?topic=t&channel=${"y".repeat(64)}`);
      await ok(`/channel/create?topic=t&channel=${encodeURIComponent("e#ephemeral")}`);
      assert.deepEqual(await topicNames(nsqd), ["._-AZaz09#ephemeral", "t", "x".repeat(64)]);
      assert.deepEqual(await channelNames(nsqd, "t"), ["c", "e#ephemeral", "y".repeat(64)]);
    });
  },
);

runtimeTest("the topic endpoints without a topic parameter answer 400 MISSING_ARG_TOPIC", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    for (const ep of TOPIC_ENDPOINTS) {
      assertV1Error(await post(nsqd, `/topic/${ep}`), 400, "MISSING_ARG_TOPIC", `/topic/${ep}`);
      assertV1Error(
        await post(nsqd, `/topic/${ep}?channel=c`),
        400,
        "MISSING_ARG_TOPIC",
        `/topic/${ep}?channel`,
      );
    }
    assert.deepEqual(await topicNames(nsqd), []);
  });
});

runtimeTest(
  "POST /topic/create and /topic/empty reject an invalid or empty topic name with 400 INVALID_TOPIC",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      for (const ep of ["create", "empty"]) {
        for (const name of [...INVALID_NAMES, ""]) {
          const path = `/topic/${ep}?topic=${encodeURIComponent(name)}`;
          assertV1Error(await post(nsqd, path), 400, "INVALID_TOPIC", path);
        }
      }
      assert.deepEqual(await topicNames(nsqd), [], "no topic was created");
    });
  },
);

runtimeTest(
  "POST /topic/delete, /topic/pause and /topic/unpause do not validate the name: an invalid one is 404 TOPIC_NOT_FOUND",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      for (const ep of ["delete", "pause", "unpause"]) {
        for (const name of [...INVALID_NAMES, ""]) {
          const path = `/topic/${ep}?topic=${encodeURIComponent(name)}`;
          assertV1Error(await post(nsqd, path), 404, "TOPIC_NOT_FOUND", path);
        }
      }
    });
  },
);

runtimeTest(
  "the topic endpoints other than create answer 404 TOPIC_NOT_FOUND for a topic that does not exist",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      await pub(nsqd, "other", "x");
      for (const ep of ["delete", "empty", "pause", "unpause"]) {
        assertV1Error(await post(nsqd, `/topic/${ep}?topic=nope`), 404, "TOPIC_NOT_FOUND", `/topic/${ep}`);
      }
      assert.deepEqual(await topicNames(nsqd), ["other"], "no topic was created");
    });
  },
);

runtimeTest(
  "the channel endpoints check topic presence, topic name, channel presence and channel name in that order",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      for (const ep of CHANNEL_ENDPOINTS) {
        const check = async (query: string, status: number, message: string) => {
          const path = `/channel/${ep}${query}`;
          assertV1Error(await post(nsqd, path), status, message, path);
        };
        await check("", 400, "MISSING_ARG_TOPIC");
        await check("?channel=c", 400, "MISSING_ARG_TOPIC");
        for (const name of [...INVALID_NAMES, ""]) {
          const topic = encodeURIComponent(name);
          await check(`?topic=${topic}`, 400, "INVALID_ARG_TOPIC");
          await check(`?topic=${topic}&channel=c`, 400, "INVALID_ARG_TOPIC");
          await check(`?topic=${topic}&channel=${topic}`, 400, "INVALID_ARG_TOPIC");
        }
        await check("?topic=t", 400, "MISSING_ARG_CHANNEL");
        for (const name of [...INVALID_NAMES, ""]) {
          await check(`?topic=t&channel=${encodeURIComponent(name)}`, 400, "INVALID_ARG_CHANNEL");
        }
        await check("?topic=t&channel=c", 404, "TOPIC_NOT_FOUND");
      }
      assert.deepEqual(await topicNames(nsqd), [], "no topic was created");
    });
  },
);

runtimeTest(
  "the channel endpoints other than create answer 404 CHANNEL_NOT_FOUND for a channel that does not exist",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      assertEmptyOk(await post(nsqd, "/topic/create?topic=t"));
      assertEmptyOk(await post(nsqd, "/channel/create?topic=t&channel=other"));
      for (const ep of ["delete", "empty", "pause", "unpause"]) {
        const path = `/channel/${ep}?topic=t&channel=nope`;
        assertV1Error(await post(nsqd, path), 404, "CHANNEL_NOT_FOUND", path);
      }
      assert.deepEqual(await channelNames(nsqd, "t"), ["other"], "no channel was created");
    });
  },
);

runtimeTest("the admin endpoints answer a GET with 405 METHOD_NOT_ALLOWED and do nothing", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    for (const ep of TOPIC_ENDPOINTS) {
      const path = `/topic/${ep}?topic=t`;
      assertV1Error(await call(nsqd, "GET", path), 405, "METHOD_NOT_ALLOWED", `GET ${path}`);
    }
    for (const ep of CHANNEL_ENDPOINTS) {
      const path = `/channel/${ep}?topic=t&channel=c`;
      assertV1Error(await call(nsqd, "GET", path), 405, "METHOD_NOT_ALLOWED", `GET ${path}`);
    }
    assert.deepEqual(await topicNames(nsqd), [], "GET /topic/create created nothing");
  });
});

// ---- effects -------------------------------------------------------------------------------------

runtimeTest("POST /topic/create creates an empty topic and POST /topic/delete removes it", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    assertEmptyOk(await post(nsqd, "/topic/create?topic=t"));
    const t = await topicStats(nsqd, "t");
    assert.deepEqual(
      [t?.depth, t?.message_count, t?.paused, t?.channels],
      [0, 0, false, []],
      JSON.stringify(t),
    );
    assertEmptyOk(await post(nsqd, "/topic/delete?topic=t"));
    assert.deepEqual(await topicNames(nsqd), []);
    assertV1Error(await post(nsqd, "/topic/delete?topic=t"), 404, "TOPIC_NOT_FOUND", "second delete");
  });
});

runtimeTest(
  "POST /channel/create needs an existing topic and the new channel gets the messages published later",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      assertV1Error(await post(nsqd, "/channel/create?topic=t&channel=c"), 404, "TOPIC_NOT_FOUND");
      assert.deepEqual(await topicNames(nsqd), [], "the topic was not created implicitly");

      assertEmptyOk(await post(nsqd, "/topic/create?topic=t"));
      assertEmptyOk(await post(nsqd, "/channel/create?topic=t&channel=c"));
      const ch = await channelStats(nsqd, "t", "c");
      assert.deepEqual(
        [ch?.depth, ch?.message_count, ch?.client_count, ch?.paused],
        [0, 0, 0, false],
        JSON.stringify(ch),
      );

      await pub(nsqd, "t", "one");
      await pub(nsqd, "t", "two");
      await until("both messages on channel c", async () => {
        const t = await topicStats(nsqd, "t");
        assert.equal(t.depth, 0, "topic depth");
        assert.deepEqual([t.channels[0].depth, t.channels[0].message_count], [2, 2]);
      });
      const c = await consumer(nsqd, "t", "c", 5);
      const got = (await readMessages(c, 2)).map((m) => m.text).sort();
      assert.deepEqual(got, ["one", "two"]);
      c.close();
    });
  },
);

runtimeTest(
  "pausing a topic keeps new messages on the topic, and unpausing hands them to the channel",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "t", "c", 10);
      await untilReady(nsqd, "t", "c", 10);
      assertEmptyOk(await post(nsqd, "/topic/pause?topic=t"));
      const paused = await topicStats(nsqd, "t");
      assert.deepEqual([paused.paused, paused.channels[0].paused], [true, false]);

      await pub(nsqd, "t", "a");
      await pub(nsqd, "t", "b");
      await until("two messages held on the paused topic", async () => {
        const t = await topicStats(nsqd, "t");
        assert.deepEqual([t.depth, t.message_count], [2, 2], "topic depth and message_count");
        assert.deepEqual([t.channels[0].depth, t.channels[0].message_count], [0, 0], "channel");
      });
      await c.expectNothing(600);
      const still = await topicStats(nsqd, "t");
      assert.deepEqual([still.depth, still.channels[0].message_count], [2, 0], "still held");

      assertEmptyOk(await post(nsqd, "/topic/unpause?topic=t"));
      const got = (await readMessages(c, 2)).map((m) => m.text);
      assert.deepEqual(got, ["a", "b"]);
      await until("topic drained", async () => {
        const t = await topicStats(nsqd, "t");
        assert.deepEqual([t.paused, t.depth, t.channels[0].message_count], [false, 0, 2]);
      });
      c.close();
    });
  },
);

runtimeTest(
  "pausing a channel stops deliveries to its consumers, in-flight messages can still be finished, and unpausing resumes",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "t", "c", 10);
      const other = await consumer(nsqd, "t", "other", 10);
      await untilReady(nsqd, "t", "c", 10);
      await untilReady(nsqd, "t", "other", 10);
      await pub(nsqd, "t", "m1");
      const [m1] = await readMessages(c, 1);
      assert.equal(m1.text, "m1");
      assert.equal((await readMessages(other, 1))[0].text, "m1");

      assertEmptyOk(await post(nsqd, "/channel/pause?topic=t&channel=c"));
      const t = await topicStats(nsqd, "t");
      const byName = new Map(t.channels.map((ch: StatsJson) => [ch.channel_name, ch.paused]));
      assert.deepEqual([t.paused, byName.get("c"), byName.get("other")], [false, true, false]);

      await pub(nsqd, "t", "m2");
      await pub(nsqd, "t", "m3");
      assert.deepEqual((await readMessages(other, 2)).map((m) => m.text), ["m2", "m3"], "other channel");
      await until("two messages queued on the paused channel", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.deepEqual([ch.depth, ch.in_flight_count, ch.message_count], [2, 1, 3]);
      });

      await c.fin(m1.id);
      await until("the in-flight message finished", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.equal(ch.in_flight_count, 0, "channel in_flight_count");
        assert.deepEqual([ch.clients[0].finish_count, ch.clients[0].in_flight_count], [1, 0]);
      });
      await c.expectNothing(600);
      assert.equal((await channelStats(nsqd, "t", "c")).depth, 2, "still queued while paused");

      assertEmptyOk(await post(nsqd, "/channel/unpause?topic=t&channel=c"));
      assert.deepEqual((await readMessages(c, 2)).map((m) => m.text), ["m2", "m3"]);
      const ch = await channelStats(nsqd, "t", "c");
      assert.deepEqual([ch.paused, ch.depth, ch.in_flight_count], [false, 0, 2]);
      c.close();
      other.close();
    });
  },
);

runtimeTest(
  "a consumer that subscribes to a paused channel gets nothing until it is unpaused",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      assertEmptyOk(await post(nsqd, "/topic/create?topic=t"));
      assertEmptyOk(await post(nsqd, "/channel/create?topic=t&channel=c"));
      assertEmptyOk(await post(nsqd, "/channel/pause?topic=t&channel=c"));
      await pub(nsqd, "t", "x");
      const c = await consumer(nsqd, "t", "c", 1);
      await untilReady(nsqd, "t", "c", 1);
      await c.expectNothing(600);
      assertEmptyOk(await post(nsqd, "/channel/unpause?topic=t&channel=c"));
      assert.equal((await c.readMessage()).text, "x");
      c.close();
    });
  },
);

runtimeTest("POST /topic/empty drops the messages queued on the topic", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    for (const b of ["a", "b", "c"]) await pub(nsqd, "t", b);
    await until("three messages on the topic", async () => {
      assert.equal((await topicStats(nsqd, "t")).depth, 3);
    });
    assertEmptyOk(await post(nsqd, "/topic/empty?topic=t"));
    const t = await topicStats(nsqd, "t");
    assert.deepEqual([t.depth, t.backend_depth, t.message_count], [0, 0, 3]);

    // the emptied messages never reach a channel created afterwards, new ones do
    const c = await consumer(nsqd, "t", "c", 5);
    await pub(nsqd, "t", "after");
    assert.equal((await c.readMessage()).text, "after");
    await c.expectNothing(300);
    c.close();
  });
});

runtimeTest("POST /topic/empty on a paused topic drops what it held for its channels", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 5);
    assertEmptyOk(await post(nsqd, "/topic/pause?topic=t"));
    await pub(nsqd, "t", "a");
    await pub(nsqd, "t", "b");
    await until("held on the topic", async () => assert.equal((await topicStats(nsqd, "t")).depth, 2));
    assertEmptyOk(await post(nsqd, "/topic/empty?topic=t"));
    assert.equal((await topicStats(nsqd, "t")).depth, 0);
    assertEmptyOk(await post(nsqd, "/topic/unpause?topic=t"));
    await c.expectNothing(500);
    assert.equal((await channelStats(nsqd, "t", "c")).message_count, 0);
    c.close();
  });
});

runtimeTest(
  "POST /channel/empty drops queued, in-flight and deferred messages and resets the clients' in-flight counts",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "t", "c", 1);
      await untilReady(nsqd, "t", "c", 1);
      const r = await call(nsqd, "POST", "/mpub?topic=t", "a\nb\nc");
      assert.deepEqual([r.status, r.text], [200, "OK"]);
      const [first] = await readMessages(c, 1);
      assert.equal(first.text, "a");
      const d = await call(nsqd, "POST", "/pub?topic=t&defer=60000", "deferred");
      assert.deepEqual([d.status, d.text], [200, "OK"]);
      await until("one in flight, two queued, one deferred", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.deepEqual(
          [ch.depth, ch.in_flight_count, ch.deferred_count, ch.clients[0].in_flight_count],
          [2, 1, 1, 1],
        );
      });

      assertEmptyOk(await post(nsqd, "/channel/empty?topic=t&channel=c"));
      const ch = await channelStats(nsqd, "t", "c");
      assert.deepEqual(
        {
          depth: ch.depth,
          backend_depth: ch.backend_depth,
          in_flight_count: ch.in_flight_count,
          deferred_count: ch.deferred_count,
          client_in_flight: ch.clients[0].in_flight_count,
          message_count: ch.message_count,
        },
        {
          depth: 0,
          backend_depth: 0,
          in_flight_count: 0,
          deferred_count: 0,
          client_in_flight: 0,
          message_count: 4,
        },
      );

      // RDY 1 with nothing in flight any more: the next message is delivered, the dropped ones never
      await pub(nsqd, "t", "next");
      assert.equal((await c.readMessage()).text, "next");
      // the emptied in-flight message is no longer in flight: FIN fails, non-fatally
      await c.fin(first.id);
      await c.expectError(`E_FIN_FAILED FIN ${first.id} failed ID not in flight`);
      await c.expectNothing(300);
      c.close();
    });
  },
);

runtimeTest(
  "deleting a channel closes its consumers' connections and leaves other channels alone",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c1 = await consumer(nsqd, "t", "c", 5);
      const c2 = await consumer(nsqd, "t", "c", 5);
      const other = await consumer(nsqd, "t", "other", 5);
      await until("three consumers", async () => {
        assert.deepEqual([(await channelStats(nsqd, "t", "c"))?.client_count], [2]);
        assert.deepEqual([(await channelStats(nsqd, "t", "other"))?.client_count], [1]);
      });

      assertEmptyOk(await post(nsqd, "/channel/delete?topic=t&channel=c"));
      await c1.expectClosed(5000);
      await c2.expectClosed(5000);
      assert.deepEqual(await channelNames(nsqd, "t"), ["other"]);

      await pub(nsqd, "t", "still here");
      assert.equal((await other.readMessage()).text, "still here");
      assert.equal((await topicStats(nsqd, "t")).channels.length, 1, "no channel came back");
      other.close();
    });
  },
);

runtimeTest("deleting a topic removes it with its channels and closes their consumers", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 5);
    assertEmptyOk(await post(nsqd, "/channel/create?topic=t&channel=c2"));
    await pub(nsqd, "t", "x");
    await c.readMessage();
    await pub(nsqd, "keep", "y");

    assertEmptyOk(await post(nsqd, "/topic/delete?topic=t"));
    await c.expectClosed(5000);
    assert.deepEqual(await topicNames(nsqd), ["keep"]);
    assertV1Error(await post(nsqd, "/channel/create?topic=t&channel=c2"), 404, "TOPIC_NOT_FOUND");
    assertV1Error(await post(nsqd, "/topic/empty?topic=t"), 404, "TOPIC_NOT_FOUND");

    // a topic of the same name starts from scratch
    await pub(nsqd, "t", "z");
    const t = await topicStats(nsqd, "t");
    assert.deepEqual([t.message_count, t.channels], [1, []]);
  });
});

// ---- /stats JSON and text show pause ---------------------------------------------------------------

runtimeTest("paused topics and channels show paused true in /stats JSON", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    assertEmptyOk(await post(nsqd, "/topic/create?topic=t"));
    assertEmptyOk(await post(nsqd, "/channel/create?topic=t&channel=c"));
    assertEmptyOk(await post(nsqd, "/channel/create?topic=t&channel=d"));
    assertEmptyOk(await post(nsqd, "/topic/pause?topic=t"));
    assertEmptyOk(await post(nsqd, "/channel/pause?topic=t&channel=d"));
    const t = await topicStats(nsqd, "t");
    assert.deepEqual(
      [t.paused, t.channels.map((c: StatsJson) => [c.channel_name, c.paused])],
      [true, [["c", false], ["d", true]]],
    );
    assertEmptyOk(await post(nsqd, "/topic/unpause?topic=t"));
    assertEmptyOk(await post(nsqd, "/channel/unpause?topic=t&channel=d"));
    const u = await topicStats(nsqd, "t");
    assert.deepEqual(
      [u.paused, u.channels.map((c: StatsJson) => [c.channel_name, c.paused])],
      [false, [["c", false], ["d", false]]],
    );
  });
});

// ---- GET /stats text format (§2.4) -----------------------------------------------------------------

const MEMORY_KEYS = [
  "heap_objects",
  "heap_idle_bytes",
  "heap_in_use_bytes",
  "heap_released_bytes",
  "gc_pause_usec_100",
  "gc_pause_usec_99",
  "gc_pause_usec_95",
  "next_gc_bytes",
  "gc_total_runs",
];
const START_TIME = /^start_time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/;
/** A Go `time.Duration` string. */
const GO_DURATION = String.raw`(0s|(\d+h)?(\d+m)?(\d+(\.\d+)?(ns|µs|us|ms|s)))`;
const UPTIME = new RegExp(`^uptime ${GO_DURATION}$`);
/** `connected:` is a duration truncated to seconds. */
const CONNECTED = String.raw`connected: (\d+h)?(\d+m)?\d+s`;

async function statsText(nsqd: NsqdProcess, query = ""): Promise<string> {
  const r = await call(nsqd, "GET", `/stats${query}`);
  assert.equal(r.status, 200);
  assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER);
  assert.match(r.headers.get("content-type") ?? "", /^text\/plain/);
  assert.ok(r.text.endsWith("\n"), "ends with a newline");
  return r.text;
}

runtimeTest(
  "GET /stats without format answers the text page: version, start_time, uptime, health, memory, no topics and no producers",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      for (const query of ["", "?format=text", "?format=bogus"]) {
        const lines = (await statsText(nsqd, query)).split("\n");
        assert.match(lines[0], /^nsqd v1\.3\.0(-[a-z0-9.]+)? \(built w\/[a-z0-9.-]+\)$/, query);
        assert.match(lines[1], START_TIME, query);
        assert.match(lines[2], UPTIME, query);
        assert.deepEqual(lines.slice(3, 7), ["", "Health: OK", "", "Memory:"], query);
        for (let i = 0; i < MEMORY_KEYS.length; i++) {
          assert.match(
            lines[7 + i],
            new RegExp(`^   ${MEMORY_KEYS[i].padEnd(25)}\\t\\d+$`),
            `${query} memory ${i}`,
          );
        }
        assert.deepEqual(lines.slice(16), ["", "Topics: None", "", "Producers: None", ""], query);
      }
    });
  },
);

runtimeTest("GET /stats with include_mem=false leaves the Memory block out of the text page", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    for (const v of ["false", "0"]) {
      const lines = (await statsText(nsqd, `?include_mem=${v}`)).split("\n");
      assert.match(lines[0], /^nsqd v1\.3\.0/);
      assert.deepEqual(lines.slice(3), ["", "Health: OK", "", "Topics: None", "", "Producers: None", ""], v);
    }
    const withMem = await statsText(nsqd, "?include_mem=true");
    assert.match(withMem, /\nMemory:\n/);
  });
});

runtimeTest(
  "GET /stats text lists topics, channels, consumers and producers with nsqd's padding",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      // a consumer of work/c with one message in flight
      const [cons, consPort] = await rawClient(
        nsqd,
        encodeCommand("IDENTIFY", JSON.stringify({ hostname: "ch", user_agent: "c/1" })),
        encodeCommand("SUB work c"),
        encodeCommand("RDY 2"),
      );
      await untilReady(nsqd, "work", "c", 2);
      await pub(nsqd, "work", "job");
      await until("one in flight", async () => {
        assert.equal((await channelStats(nsqd, "work", "c")).in_flight_count, 1);
      });
      // a TCP producer of t, which has no channel
      const [prod, prodPort] = await rawClient(
        nsqd,
        encodeCommand("IDENTIFY", JSON.stringify({ hostname: "ph", user_agent: "p/1" })),
        encodeCommand("PUB t", "hello"),
      );
      await until("the producer is listed", async () => {
        assert.equal((await nsqd.stats()).producers?.length, 1);
      });
      assertEmptyOk(await post(nsqd, "/topic/create?topic=a-very-long-topic-name"));

      const text = await statsText(nsqd);
      const lines = text.split("\n");
      const from = lines.indexOf("Topics:");
      assert.ok(from > 0, text);
      const rest = lines.slice(from);
      const expected: (string | RegExp)[] = [
        "Topics:",
        "   [a-very-long-topic-name] depth: 0     be-depth: 0     msgs: 0        e2e%: ",
        "",
        "   [t              ] depth: 1     be-depth: 0     msgs: 1        e2e%: ",
        "",
        "   [work           ] depth: 0     be-depth: 0     msgs: 1        e2e%: ",
        "      [c                        ] depth: 0     be-depth: 0     inflt: 1    def: 0    re-q: 0     " +
        "timeout: 0     msgs: 1        e2e%: ",
        new RegExp(
          `^        \\[V2 ${escape(`ch:${consPort} c/1`.padEnd(21))}\\] state: 3 inflt: 1    rdy: 2    ` +
            `fin: 0        re-q: 0        msgs: 1        ${CONNECTED}$`,
        ),
        "",
        "Producers:",
        new RegExp(
          `^   \\[V2 ${escape(`ph:${prodPort} p/1`.padEnd(21))}\\] msgs: 1        topics: t=1 ${CONNECTED}$`,
        ),
        "",
      ];
      assert.equal(rest.length, expected.length, text);
      expected.forEach((e, i) => {
        if (typeof e === "string") assert.equal(rest[i], e, `line ${i}\n${text}`);
        else assert.match(rest[i], e, `line ${i}\n${text}`);
      });
      cons.close();
      prod.close();
    });
  },
);

runtimeTest("GET /stats text prefixes paused topics and channels with *P", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    assertEmptyOk(await post(nsqd, "/topic/create?topic=t"));
    assertEmptyOk(await post(nsqd, "/channel/create?topic=t&channel=c"));
    assertEmptyOk(await post(nsqd, "/channel/create?topic=t&channel=d"));
    assertEmptyOk(await post(nsqd, "/topic/create?topic=u"));
    assertEmptyOk(await post(nsqd, "/channel/create?topic=u&channel=e"));
    assertEmptyOk(await post(nsqd, "/topic/pause?topic=t"));
    assertEmptyOk(await post(nsqd, "/channel/pause?topic=t&channel=d"));
    assertEmptyOk(await post(nsqd, "/channel/pause?topic=u&channel=e"));
    const text = await statsText(nsqd, "?include_mem=false");
    const lines = text.split("\n");
    const chan = (prefix: string, name: string) =>
      `${prefix}[${name.padEnd(25)}] depth: 0     be-depth: 0     inflt: 0    def: 0    re-q: 0     ` +
      "timeout: 0     msgs: 0        e2e%: ";
    assert.deepEqual(lines.slice(lines.indexOf("Topics:")), [
      "Topics:",
      "*P [t              ] depth: 0     be-depth: 0     msgs: 0        e2e%: ",
      chan("      ", "c"),
      chan("   *P ", "d"),
      "",
      "   [u              ] depth: 0     be-depth: 0     msgs: 0        e2e%: ",
      chan("   *P ", "e"),
      "",
      "Producers: None",
      "",
    ], text);
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

// ---- GET/PUT /config/:opt (§2.6) ---------------------------------------------------------------------

runtimeTest(
  "GET /config/:opt answers the option's value as Go JSON (durations in nanoseconds)",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const cases: [string, string][] = [
        ["msg_timeout", "60000000000"],
        ["max_msg_timeout", "900000000000"],
        ["max_req_timeout", "3600000000000"],
        ["max_rdy_count", "2500"],
        ["max_msg_size", "1048576"],
        ["mem_queue_size", "10000"],
        ["nsqlookupd_tcp_addresses", "[]"],
        ["log_level", "2"],
        ["max_channel_consumers", "0"],
        ["max_deflate_level", "6"],
        ["statsd_mem_stats", "true"],
        ["statsd_udp_packet_size", "508"],
      ];
      for (const [opt, value] of cases) assertJsonOk(await call(nsqd, "GET", `/config/${opt}`), value, opt);
      const id = await call(nsqd, "GET", "/config/id");
      assert.equal(id.status, 200);
      const n = JSON.parse(id.text);
      assert.ok(Number.isInteger(n) && n >= 0 && n < 1024, `default id ${id.text}`);
    });
  },
);

runtimeTest("GET /config/:opt reflects the flags nsqd was started with", async (rt) => {
  await withNsqd(
    rt,
    ["--msg-timeout=2s", "--node-id=42", "--mem-queue-size=7", "--max-rdy-count=50", "--log-level=debug"],
    async (nsqd) => {
      assertJsonOk(await call(nsqd, "GET", "/config/msg_timeout"), "2000000000");
      assertJsonOk(await call(nsqd, "GET", "/config/id"), "42");
      assertJsonOk(await call(nsqd, "GET", "/config/mem_queue_size"), "7");
      assertJsonOk(await call(nsqd, "GET", "/config/max_rdy_count"), "50");
      assertJsonOk(await call(nsqd, "GET", "/config/log_level"), "1");
    },
  );
});

runtimeTest("GET /config of an unknown option answers 400 INVALID_OPTION", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    for (const opt of ["bogus", "node_id", "msg-timeout", "MSG_TIMEOUT", "config", "version"]) {
      assertV1Error(await call(nsqd, "GET", `/config/${opt}`), 400, "INVALID_OPTION", opt);
    }
  });
});

runtimeTest(
  "the deprecated --verbose and --worker-id flags have no option behind them: GET /config answers 400 INVALID_OPTION",
  async (rt) => {
    await withNsqd(rt, ["--verbose", "--worker-id"], async (nsqd) => {
      for (const opt of ["verbose", "worker_id"]) {
        assertV1Error(await call(nsqd, "GET", `/config/${opt}`), 400, "INVALID_OPTION", opt);
      }
    });
  },
);

runtimeTest(
  "PUT /config/nsqlookupd_tcp_addresses echoes the new array and GET returns it afterwards",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const put = await call(nsqd, "PUT", "/config/nsqlookupd_tcp_addresses", '["127.0.0.1:4160"]');
      assertJsonOk(put, '["127.0.0.1:4160"]', "PUT");
      assertJsonOk(await call(nsqd, "GET", "/config/nsqlookupd_tcp_addresses"), '["127.0.0.1:4160"]', "GET");
      assertJsonOk(await call(nsqd, "PUT", "/config/nsqlookupd_tcp_addresses", "[]"), "[]", "PUT []");
      assertJsonOk(await call(nsqd, "GET", "/config/nsqlookupd_tcp_addresses"), "[]", "GET after []");
    });
  },
);

runtimeTest("PUT /config/log_level takes a plain level name and answers its number", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    assertJsonOk(await call(nsqd, "PUT", "/config/log_level", "debug"), "1", "debug");
    assertJsonOk(await call(nsqd, "GET", "/config/log_level"), "1", "GET after debug");
    assertJsonOk(await call(nsqd, "PUT", "/config/log_level", "error"), "4", "error");
    assertJsonOk(await call(nsqd, "GET", "/config/log_level"), "4", "GET after error");
    assertV1Error(await call(nsqd, "PUT", "/config/log_level", "loud"), 400, "INVALID_VALUE", "loud");
    assertJsonOk(await call(nsqd, "GET", "/config/log_level"), "4", "unchanged by a bad value");
  });
});

runtimeTest(
  "PUT /config answers 400 INVALID_VALUE for bad JSON, 413 for an empty or oversized body and 400 INVALID_OPTION for other options",
  async (rt) => {
    await withNsqd(rt, ["--max-msg-size=64"], async (nsqd) => {
      const put = (opt: string, body: string) => call(nsqd, "PUT", `/config/${opt}`, body);
      for (const body of ["not json", "[", '{"a":1}', "[1,2]", '"127.0.0.1:4160"']) {
        assertV1Error(await put("nsqlookupd_tcp_addresses", body), 400, "INVALID_VALUE", body);
      }
      assertJsonOk(await call(nsqd, "GET", "/config/nsqlookupd_tcp_addresses"), "[]", "unchanged");

      for (const opt of ["nsqlookupd_tcp_addresses", "log_level", "msg_timeout", "bogus"]) {
        assertV1Error(await put(opt, ""), 413, "INVALID_VALUE", `${opt} empty body`);
      }
      const big = JSON.stringify(["127.0.0.1:4160", "x".repeat(64)]);
      assertV1Error(await put("nsqlookupd_tcp_addresses", big), 413, "INVALID_VALUE", "body > max-msg-size");

      assertV1Error(await put("msg_timeout", "2s"), 400, "INVALID_OPTION", "msg_timeout");
      assertV1Error(await put("max_rdy_count", "10"), 400, "INVALID_OPTION", "max_rdy_count");
      assertV1Error(await put("bogus", "1"), 400, "INVALID_OPTION", "bogus");
      assertJsonOk(await call(nsqd, "GET", "/config/msg_timeout"), "60000000000", "msg_timeout unchanged");
      assertV1Error(
        await call(nsqd, "POST", "/config/log_level", "debug"),
        405,
        "METHOD_NOT_ALLOWED",
        "POST /config",
      );
    });
  },
);

// ---- --max-channel-consumers (§3.13) -------------------------------------------------------------------

runtimeTest(
  "with --max-channel-consumers=1 a second SUB to the same channel fails with E_SUB_FAILED and is closed",
  async (rt) => {
    await withNsqd(rt, ["--max-channel-consumers=1"], async (nsqd) => {
      const first = await consumer(nsqd, "t", "c", 1);
      const second = await nsqd.connectV2();
      await second.command("SUB t c");
      await second.expectError("E_SUB_FAILED SUB failed consumers for t:c exceeds limit of 1");
      await second.expectClosed();

      const elsewhere = await consumer(nsqd, "t", "c2", 1);
      await until("one client on each channel", async () => {
        assert.equal((await channelStats(nsqd, "t", "c"))?.client_count, 1);
        assert.equal((await channelStats(nsqd, "t", "c2"))?.client_count, 1);
      });
      await pub(nsqd, "t", "m");
      assert.equal((await first.readMessage()).text, "m");
      assert.equal((await elsewhere.readMessage()).text, "m");

      // once the first consumer has gone, the channel has room again
      first.close();
      await until("the first consumer is gone", async () => {
        assert.equal((await channelStats(nsqd, "t", "c"))?.client_count, 0);
      });
      const third = await consumer(nsqd, "t", "c", 1);
      await third.command("NOP");
      await third.expectNothing(200);
      elsewhere.close();
      third.close();
    });
  },
);
