/**
 * Delivery semantics of nsqd over TCP (shared/nsq-reference.md §1.3, §1.4, §1.6, §1.7, §1.9, §3.1–3.6):
 * message frames byte by byte, fan-out, RDY, requeue/defer/timeouts, heartbeats, output buffering,
 * CLS, ephemeral topics/channels and memory-queue overflow, checked on the wire and in /stats.
 */
import assert from "node:assert/strict";
import {
  channelStats,
  concat,
  encodeCommand,
  encodeMpub,
  type Frame,
  FRAME_ERROR,
  FRAME_MESSAGE,
  FRAME_RESPONSE,
  type NsqConn,
  type NsqdProcess,
  readMessages,
  runtimeTest,
  topicStats,
  until,
  withNsqd,
} from "./harness.ts";

const decoder = new TextDecoder();

// ---- local helpers ------------------------------------------------------------------------------

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Reads `n` non-heartbeat frames. */
async function readFrames(c: NsqConn, n: number, timeoutMs = 5000): Promise<Frame[]> {
  const out: Frame[] = [];
  while (out.length < n) out.push(await c.readNonHeartbeat(timeoutMs));
  return out;
}

/** Reads every frame until the server closes the connection; throws if it stays open. */
async function framesUntilClosed(c: NsqConn, timeoutMs: number): Promise<Frame[]> {
  const deadline = Date.now() + timeoutMs;
  const frames: Frame[] = [];
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`connection still open after ${timeoutMs} ms`);
    try {
      frames.push(await c.readFrame(left));
    } catch (err) {
      if (/EOF/.test((err as Error).message)) return frames;
      throw err;
    }
  }
}

/** A consumer: connected, optionally IDENTIFYed, subscribed, with RDY sent. */
async function consumer(
  nsqd: NsqdProcess,
  topic: string,
  channel: string,
  rdy: number,
  identify?: Record<string, unknown>,
): Promise<NsqConn> {
  const c = await nsqd.connectV2();
  if (identify) {
    const f = await c.identify(identify);
    assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
  }
  await c.sub(topic, channel);
  if (rdy > 0) await c.rdy(rdy);
  return c;
}

// ---- §1.3 / §1.4 message frames -----------------------------------------------------------------

runtimeTest(
  "a message frame carries size, type 2, a nanosecond timestamp, attempts 1, a hex ID and the exact body",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const body = new Uint8Array(256).map((_, i) => i); // every byte value, including \n and NUL
      const p = await nsqd.connectV2();
      const before = BigInt(Date.now()) * 1_000_000n;
      await p.pub("t", body);
      const after = BigInt(Date.now()) * 1_000_000n;

      const c = await consumer(nsqd, "t", "c", 1);
      const head = await c.readExactly(8);
      const view = new DataView(head.buffer);
      assert.equal(view.getUint32(0), 4 + 26 + body.length, "frame size = 4 + 8 + 2 + 16 + body");
      assert.equal(view.getInt32(4), FRAME_MESSAGE);
      const data = await c.readExactly(26 + body.length);
      const dv = new DataView(data.buffer);
      const ts = dv.getBigInt64(0);
      const slack = 2_000_000_000n; // 2 s either side
      assert.ok(ts >= before - slack && ts <= after + slack, `timestamp ${ts} not near ${before}..${after}`);
      assert.equal(dv.getUint16(8), 1, "attempts");
      assert.match(decoder.decode(data.subarray(10, 26)), /^[0-9a-f]{16}$/);
      assert.deepEqual(data.subarray(26), body);
      p.close();
      c.close();
    });
  },
);

runtimeTest("message IDs are unique and increase in publish order within a topic", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 100);
    const p = await nsqd.connectV2();
    for (let i = 0; i < 20; i++) await p.pub("t", `p${String(i).padStart(2, "0")}`);
    await p.mpub("t", Array.from({ length: 20 }, (_, i) => `q${String(i).padStart(2, "0")}`));
    const msgs = await readMessages(c, 40);
    const byBody = new Map(msgs.map((m) => [m.text, m.id]));
    assert.equal(new Set(msgs.map((m) => m.id)).size, 40, "IDs are unique");
    const order = [...Array.from({ length: 20 }, (_, i) => `p${String(i).padStart(2, "0")}`)].concat(
      Array.from({ length: 20 }, (_, i) => `q${String(i).padStart(2, "0")}`),
    );
    const ids = order.map((b) => byBody.get(b)!);
    for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
    for (let i = 1; i < ids.length; i++) {
      assert.ok(
        ids[i - 1] < ids[i],
        `ID of ${order[i]} (${ids[i]}) not above ${order[i - 1]} (${ids[i - 1]})`,
      );
    }
    p.close();
    c.close();
  });
});

// ---- §3.1 topic queue and fan-out ---------------------------------------------------------------

runtimeTest(
  "messages published before any channel exists wait on the topic and all arrive on SUB",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const p = await nsqd.connectV2();
      for (const b of ["a", "b", "c"]) await p.pub("t", b);
      const t = await topicStats(nsqd, "t");
      assert.ok(t, "topic t in /stats");
      assert.equal(t.depth, 3);
      assert.deepEqual(t.channels, []);
      assert.equal(t.message_count, 3);

      const c = await consumer(nsqd, "t", "c", 10);
      const msgs = await readMessages(c, 3);
      assert.deepEqual(msgs.map((m) => m.text).sort(), ["a", "b", "c"]);
      await c.expectNothing(200);
      await until("topic depth 0 and channel holding 3 in flight", async () => {
        const t = await topicStats(nsqd, "t");
        assert.equal(t.depth, 0);
        assert.equal(t.channels.length, 1);
        assert.equal(t.channels[0].in_flight_count, 3);
      });
      p.close();
      c.close();
    });
  },
);

runtimeTest("every channel of a topic gets every message with the same ID", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c1 = await consumer(nsqd, "t", "one", 10);
    const c2 = await consumer(nsqd, "t", "two", 10);
    const p = await nsqd.connectV2();
    const bodies = ["m1", "m2", "m3", "m4", "m5"];
    for (const b of bodies) await p.pub("t", b);
    const got1 = await readMessages(c1, 5);
    const got2 = await readMessages(c2, 5);
    const ids1 = new Map(got1.map((m) => [m.text, m.id]));
    const ids2 = new Map(got2.map((m) => [m.text, m.id]));
    assert.deepEqual([...ids1.keys()].sort(), bodies);
    assert.deepEqual(ids2, new Map(bodies.map((b) => [b, ids1.get(b)!])));
    const ts1 = new Map(got1.map((m) => [m.text, m.timestamp]));
    for (const m of got2) assert.equal(m.timestamp, ts1.get(m.text), "the copy keeps the publish timestamp");
    // Each channel gets its own copy (§3.1), so each first delivery carries attempts 1 (§1.4).
    assert.deepEqual(got1.map((m) => m.attempts), [1, 1, 1, 1, 1], "attempts on channel one");
    assert.deepEqual(got2.map((m) => m.attempts), [1, 1, 1, 1, 1], "attempts on channel two");
    await c1.expectNothing(200);
    await c2.expectNothing(0);
    p.close();
    c1.close();
    c2.close();
  });
});

runtimeTest("two consumers on one channel share its messages as their RDY counts allow", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const a = await consumer(nsqd, "t", "c", 2);
    const b = await consumer(nsqd, "t", "c", 2);
    const p = await nsqd.connectV2();
    await p.mpub("t", ["1", "2", "3", "4"]);
    const gotA = await readMessages(a, 2);
    const gotB = await readMessages(b, 2);
    await a.expectNothing(300);
    await b.expectNothing(0);
    const all = [...gotA, ...gotB].map((m) => m.text).sort();
    assert.deepEqual(all, ["1", "2", "3", "4"], "each message to exactly one consumer");

    // Both are at their RDY: a fifth message waits until a FIN frees a slot (on A only).
    await p.pub("t", "5");
    await a.expectNothing(300);
    await b.expectNothing(0);
    await a.fin(gotA[0].id);
    const fifth = await a.readMessage();
    assert.equal(fifth.text, "5");
    await b.expectNothing(300);
    p.close();
    a.close();
    b.close();
  });
});

// ---- §1.9 RDY ------------------------------------------------------------------------------------

runtimeTest(
  "RDY caps the messages in flight, RDY 0 stops delivery and raising RDY resumes it",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const p = await nsqd.connectV2();
      await p.mpub("t", ["1", "2", "3", "4", "5"]);
      const c = await consumer(nsqd, "t", "c", 2);
      const first = await readMessages(c, 2);
      await c.expectNothing(400);
      await until("2 in flight, 3 queued", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.equal(ch.in_flight_count, 2);
        assert.equal(ch.depth, 3);
        assert.equal(ch.clients[0].ready_count, 2);
      });

      await c.fin(first[0].id);
      const third = await c.readMessage();
      await c.expectNothing(400);

      await c.rdy(0);
      await c.fin(first[1].id);
      await c.fin(third.id);
      await c.expectNothing(500);
      await until("nothing in flight with RDY 0, 2 still queued", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.equal(ch.in_flight_count, 0);
        assert.equal(ch.depth, 2);
        assert.equal(ch.clients[0].ready_count, 0);
      });

      await c.rdy(5);
      const rest = await readMessages(c, 2);
      const texts = [...first, third, ...rest].map((m) => m.text).sort();
      assert.deepEqual(texts, ["1", "2", "3", "4", "5"]);
      await c.expectNothing(200);
      p.close();
      c.close();
    });
  },
);

// ---- §3.5 requeue, defer, attempts ---------------------------------------------------------------

runtimeTest("REQ 0 redelivers the message at once with attempts 2", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 1);
    const p = await nsqd.connectV2();
    await p.pub("t", "again");
    const m = await c.readMessage();
    assert.equal(m.attempts, 1);
    await c.req(m.id, 0);
    const m2 = await c.readMessage();
    assert.equal(m2.id, m.id);
    assert.equal(m2.text, "again");
    assert.equal(m2.attempts, 2);
    await until("requeue_count 1", async () => {
      const ch = await channelStats(nsqd, "t", "c");
      assert.equal(ch.requeue_count, 1);
      assert.equal(ch.clients[0].requeue_count, 1);
      assert.equal(ch.message_count, 1, "requeues are not counted as new messages");
    });
    p.close();
    c.close();
  });
});

runtimeTest("REQ with a 300 ms delay defers the message, then redelivers it with attempts 2", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 1);
    const p = await nsqd.connectV2();
    await p.pub("t", "later");
    const m = await c.readMessage();
    const t0 = Date.now();
    await c.req(m.id, 300);
    await c.pub("barrier", "x"); // its OK proves the REQ was processed
    const ch = await channelStats(nsqd, "t", "c");
    const checkedAt = Date.now() - t0;
    assert.ok(checkedAt < 300, `stats came back too late (${checkedAt} ms) to see the deferral`);
    assert.equal(ch.deferred_count, 1);
    assert.equal(ch.in_flight_count, 0);
    assert.equal(ch.requeue_count, 1);

    const m2 = await c.readMessage(8000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 250, `redelivered after ${elapsed} ms, before the 300 ms delay`);
    assert.equal(m2.id, m.id);
    assert.equal(m2.attempts, 2);
    await until("deferred_count back to 0", async () => {
      assert.equal((await channelStats(nsqd, "t", "c")).deferred_count, 0);
    });
    p.close();
    c.close();
  });
});

runtimeTest("DPUB 300 delivers no sooner than 300 ms, with attempts 1", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 1);
    const p = await nsqd.connectV2();
    const t0 = Date.now();
    await p.dpub("t", 300, "deferred");
    const m = await c.readMessage(8000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 250, `delivered after ${elapsed} ms, before the 300 ms deferral`);
    assert.equal(m.text, "deferred");
    assert.equal(m.attempts, 1);
    p.close();
    c.close();
  });
});

runtimeTest("a REQ timeout above --max-req-timeout is clamped, not refused", async (rt) => {
  await withNsqd(rt, ["--max-req-timeout=1s"], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 1);
    const p = await nsqd.connectV2();
    await p.pub("t", "clamped");
    const m = await c.readMessage();
    const t0 = Date.now();
    await c.req(m.id, 3_600_000);
    await c.pub("barrier", "x"); // no error frame, the connection lives on
    assert.equal((await channelStats(nsqd, "t", "c")).deferred_count, 1);
    const m2 = await c.readMessage(10_000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 850, `redelivered after ${elapsed} ms, before the clamped 1 s`);
    assert.equal(m2.id, m.id);
    assert.equal(m2.attempts, 2);
    p.close();
    c.close();
  });
});

// ---- §3.5 in-flight timeouts ---------------------------------------------------------------------

runtimeTest(
  "an unfinished message is redelivered after the client's 1 s msg_timeout with attempts 2",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "t", "c", 1, { msg_timeout: 1000 });
      const p = await nsqd.connectV2();
      await p.pub("t", "slow");
      const m = await c.readMessage();
      const t0 = Date.now();
      const m2 = await c.readMessage(10_000);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 850, `redelivered after ${elapsed} ms, before msg_timeout`);
      assert.equal(m2.id, m.id);
      assert.equal(m2.attempts, 2);
      await until("timeout_count 1", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.equal(ch.timeout_count, 1);
        assert.equal(ch.in_flight_count, 1);
      });
      await c.fin(m2.id);
      await until("finished", async () => {
        assert.equal((await channelStats(nsqd, "t", "c")).in_flight_count, 0);
      });
      p.close();
      c.close();
    });
  },
);

runtimeTest(
  "a message delivered after the channel had nothing in flight for a while still times out (queue scan)",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "t", "c", 1, { msg_timeout: 1000 });
      const p = await nsqd.connectV2();
      // The first message is finished at once: the channel has nothing in flight and the scan (every 100 ms)
      // stops looking at it; the next delivery must bring it back.
      await p.pub("t", "quick");
      await c.fin((await c.readMessage()).id);
      await sleep(400);
      await p.pub("t", "slow");
      const m = await c.readMessage();
      const m2 = await c.readMessage(10_000);
      assert.equal(m2.id, m.id);
      assert.equal(m2.attempts, 2);
      await c.fin(m2.id);
      // And deferred messages too (REQ with a delay), after another idle spell.
      await sleep(400);
      await p.pub("t", "deferred");
      const d = await c.readMessage();
      await c.req(d.id, 300);
      const d2 = await c.readMessage(10_000);
      assert.equal(d2.id, d.id);
      assert.equal(d2.attempts, 2);
      await c.fin(d2.id);
      p.close();
      c.close();
    });
  },
);

runtimeTest("TOUCH before the deadline postpones the redelivery", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 1, { msg_timeout: 1000 });
    const p = await nsqd.connectV2();
    await p.pub("t", "touched");
    const m = await c.readMessage();
    const t0 = Date.now();
    // Touch every 500 ms three times: the last deadline is ~2.5 s after delivery.
    for (let i = 1; i <= 3; i++) {
      await c.expectNothing(t0 + 500 * i - Date.now());
      await c.touch(m.id);
    }
    await c.expectNothing(t0 + 2300 - Date.now());
    assert.equal((await channelStats(nsqd, "t", "c")).timeout_count, 0);
    const m2 = await c.readMessage(10_000);
    assert.equal(m2.id, m.id);
    assert.equal(m2.attempts, 2);
    p.close();
    c.close();
  });
});

runtimeTest(
  "a message in flight to a client that disconnects is redelivered to another only after its msg_timeout",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const a = await consumer(nsqd, "t", "c", 1, { msg_timeout: 2000 });
      const p = await nsqd.connectV2();
      await p.pub("t", "orphan");
      const m = await a.readMessage();
      const delivered = Date.now();
      const b = await consumer(nsqd, "t", "c", 1);
      a.close();
      await until("A removed from the channel, message still in flight", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.equal(ch.client_count, 1);
        assert.equal(ch.in_flight_count, 1);
        assert.equal(ch.depth, 0);
      });
      await b.expectNothing(delivered + 1700 - Date.now());
      const m2 = await b.readMessage(12_000);
      const elapsed = Date.now() - delivered;
      assert.ok(elapsed >= 1700, `redelivered ${elapsed} ms after delivery, before the 2 s msg_timeout`);
      assert.equal(m2.id, m.id);
      assert.equal(m2.attempts, 2);
      await until("timeout_count 1", async () => {
        assert.equal((await channelStats(nsqd, "t", "c")).timeout_count, 1);
      });
      p.close();
      b.close();
    });
  },
);

runtimeTest("FIN and REQ are reflected in the channel and client counters of /stats", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 3);
    const p = await nsqd.connectV2();
    await p.mpub("t", ["a", "b", "c"]);
    const msgs = await readMessages(c, 3);
    await until("3 in flight", async () => {
      const ch = await channelStats(nsqd, "t", "c");
      assert.equal(ch.in_flight_count, 3);
      assert.equal(ch.message_count, 3);
      assert.equal(ch.depth, 0);
      const cl = ch.clients[0];
      assert.equal(cl.in_flight_count, 3);
      assert.equal(cl.message_count, 3);
      assert.equal(cl.finish_count, 0);
    });

    await c.fin(msgs[0].id);
    await c.fin(msgs[1].id);
    await until("2 finished", async () => {
      const ch = await channelStats(nsqd, "t", "c");
      assert.equal(ch.in_flight_count, 1);
      assert.equal(ch.clients[0].in_flight_count, 1);
      assert.equal(ch.clients[0].finish_count, 2);
    });

    await c.req(msgs[2].id, 0);
    const again = await c.readMessage();
    assert.equal(again.id, msgs[2].id);
    await until("1 requeued", async () => {
      const ch = await channelStats(nsqd, "t", "c");
      assert.equal(ch.requeue_count, 1);
      assert.equal(ch.clients[0].requeue_count, 1);
      assert.equal(ch.clients[0].message_count, 4);
      assert.equal(ch.message_count, 3);
      assert.equal(ch.in_flight_count, 1);
    });

    await c.fin(again.id);
    await until("all finished", async () => {
      const ch = await channelStats(nsqd, "t", "c");
      assert.equal(ch.in_flight_count, 0);
      assert.equal(ch.depth, 0);
      assert.equal(ch.clients[0].in_flight_count, 0);
      assert.equal(ch.clients[0].finish_count, 3);
    });
    p.close();
    c.close();
  });
});

// ---- §1.9 heartbeats ----------------------------------------------------------------------------

runtimeTest("an idle subscribed client gets a _heartbeat_ response about every second", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 1, { heartbeat_interval: 1000 });
    const start = Date.now();
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const f = await c.readFrame(4000);
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "_heartbeat_"]);
      times.push(Date.now());
      await c.command("NOP");
    }
    assert.ok(times[0] - start <= 2500, `first heartbeat after ${times[0] - start} ms`);
    for (let i = 1; i < times.length; i++) {
      const gap = times[i] - times[i - 1];
      assert.ok(gap >= 500 && gap <= 2500, `heartbeat gap ${gap} ms`);
    }
    c.close();
  });
});

runtimeTest(
  "a client that sends nothing for two heartbeat intervals is closed without an error frame",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await nsqd.connectV2();
      const f = await c.identify({ heartbeat_interval: 1000 });
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
      const start = Date.now();
      const frames = await framesUntilClosed(c, 8000);
      const elapsed = Date.now() - start;
      assert.ok(elapsed >= 1500, `closed after ${elapsed} ms, before two 1 s intervals`);
      for (const fr of frames) assert.deepEqual([fr.type, fr.text], [FRAME_RESPONSE, "_heartbeat_"]);
      assert.ok(frames.length >= 1, "heartbeats were sent before the close");
      c.close();
    });
  },
);

runtimeTest(
  "a client that keeps sending NOP stays connected past several heartbeat intervals",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await nsqd.connectV2();
      const f = await c.identify({ heartbeat_interval: 1000 });
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
      for (let i = 0; i < 8; i++) {
        await c.expectNothing(500); // heartbeats are skipped; an EOF would throw
        await c.command("NOP");
      }
      await c.pub("t", "still here");
      c.close();
    });
  },
);

// ---- §1.9 output buffering ------------------------------------------------------------------------

runtimeTest("with RDY above 1 a message waits for the 500 ms output_buffer_timeout", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const p = await nsqd.connectV2();
    await p.pub("t", "buffered");
    const c = await nsqd.connectV2();
    const start = Date.now();
    const f = await c.identify({ output_buffer_timeout: 500 });
    assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
    await c.sub("t", "c");
    await c.rdy(10);
    const m = await c.readMessage(5000);
    const elapsed = Date.now() - start;
    assert.equal(m.text, "buffered");
    assert.ok(elapsed >= 400, `arrived after ${elapsed} ms, before the 500 ms output buffer timeout`);
    p.close();
    c.close();
  });
});

runtimeTest("with RDY 1 a message is flushed at once despite a 500 ms output_buffer_timeout", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const p = await nsqd.connectV2();
    await p.pub("t", "unbuffered");
    const c = await nsqd.connectV2();
    const f = await c.identify({ output_buffer_timeout: 500 });
    assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
    await c.sub("t", "c");
    const start = Date.now();
    await c.rdy(1);
    const m = await c.readMessage(5000);
    const elapsed = Date.now() - start;
    assert.equal(m.text, "unbuffered");
    assert.ok(elapsed < 250, `arrived after ${elapsed} ms, expected at once`);
    p.close();
    c.close();
  });
});

runtimeTest("output_buffer_size -1 delivers at once even with RDY above 1", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const p = await nsqd.connectV2();
    await p.pub("t", "unbuffered");
    const c = await nsqd.connectV2();
    const f = await c.identify({ output_buffer_size: -1, output_buffer_timeout: 500 });
    assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"]);
    await c.sub("t", "c");
    const start = Date.now();
    await c.rdy(10);
    const m = await c.readMessage(5000);
    const elapsed = Date.now() - start;
    assert.equal(m.text, "unbuffered");
    assert.ok(elapsed < 250, `arrived after ${elapsed} ms, expected at once`);
    // A message published while subscribed also comes straight away.
    const t1 = Date.now();
    await p.pub("t", "second");
    const m2 = await c.readMessage(5000);
    assert.equal(m2.text, "second");
    assert.ok(Date.now() - t1 < 250, `second arrived after ${Date.now() - t1} ms`);
    p.close();
    c.close();
  });
});

// ---- §1.7 CLS ------------------------------------------------------------------------------------

runtimeTest(
  "after CLS the server answers CLOSE_WAIT, delivers nothing more even after RDY, and still accepts FIN",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "t", "c", 1);
      const p = await nsqd.connectV2();
      await p.mpub("t", ["first", "second", "third"]);
      const m = await c.readMessage();
      await c.command("CLS");
      await c.expectResponse("CLOSE_WAIT");
      await c.rdy(5); // silently ignored while closing
      await c.expectNothing(500);
      await until("client closing with RDY 0", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.equal(ch.clients[0].state, 4);
        assert.equal(ch.clients[0].ready_count, 0);
        assert.equal(ch.depth, 2);
      });
      await c.fin(m.id);
      await until("FIN accepted while closing", async () => {
        const ch = await channelStats(nsqd, "t", "c");
        assert.equal(ch.in_flight_count, 0);
        assert.equal(ch.clients[0].finish_count, 1);
      });
      await c.expectNothing(300);
      await c.pub("other", "x"); // the socket is still open and serving commands
      p.close();
      c.close();
    });
  },
);

// ---- §3.3 ephemeral ------------------------------------------------------------------------------

runtimeTest("an ephemeral channel disappears from /stats when its last consumer disconnects", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const a = await consumer(nsqd, "t", "c#ephemeral", 1);
    const b = await consumer(nsqd, "t", "c#ephemeral", 1);
    await until("channel with 2 clients", async () => {
      assert.equal((await channelStats(nsqd, "t", "c#ephemeral"))?.client_count, 2);
    });
    a.close();
    await until("channel with 1 client", async () => {
      assert.equal((await channelStats(nsqd, "t", "c#ephemeral"))?.client_count, 1);
    });
    b.close();
    await until("channel gone", async () => {
      const t = await topicStats(nsqd, "t");
      assert.ok(t, "the non-ephemeral topic stays");
      assert.deepEqual(t.channels, []);
    });
  });
});

runtimeTest(
  "an ephemeral topic disappears when its last ephemeral channel goes with its consumer",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "t#ephemeral", "c#ephemeral", 1);
      const p = await nsqd.connectV2();
      await p.pub("t#ephemeral", "x");
      const m = await c.readMessage();
      await c.fin(m.id);
      assert.ok(await topicStats(nsqd, "t#ephemeral"), "topic exists while consumed");
      c.close();
      await until("topic gone", async () => {
        assert.equal(await topicStats(nsqd, "t#ephemeral"), undefined);
      });
      p.close();
    });
  },
);

runtimeTest(
  "an ephemeral channel drops messages beyond --mem-queue-size instead of spilling to disk",
  async (rt) => {
    await withNsqd(rt, ["--mem-queue-size=5"], async (nsqd) => {
      const c = await consumer(nsqd, "t", "c#ephemeral", 0);
      const p = await nsqd.connectV2();
      await p.mpub("t", Array.from({ length: 10 }, (_, i) => `m${i}`));
      await until("all 10 handed to the channel", async () => {
        const t = await topicStats(nsqd, "t");
        assert.equal(t.depth, 0);
        assert.equal(t.channels[0].message_count, 10);
      });
      const ch = await channelStats(nsqd, "t", "c#ephemeral");
      assert.equal(ch.backend_depth, 0);
      assert.equal(ch.depth, 5);
      await c.rdy(10);
      const got = await readMessages(c, ch.depth);
      assert.equal(new Set(got.map((m) => m.text)).size, ch.depth);
      await c.expectNothing(500);
      p.close();
      c.close();
    });
  },
);

// ---- §1.6 publishing from a subscribed connection, MPUB order --------------------------------------

runtimeTest("a subscribed connection can also PUB and gets OK", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 1);
    await c.command("PUB t", "self");
    const frames = await readFrames(c, 2);
    const responses = frames.filter((f) => f.type === FRAME_RESPONSE);
    const messages = frames.filter((f) => f.type === FRAME_MESSAGE);
    assert.deepEqual(responses.map((f) => f.text), ["OK"]);
    assert.equal(messages.length, 1);
    assert.ok(frames.every((f) => f.type !== FRAME_ERROR));
    assert.equal(decoder.decode(messages[0].data.subarray(26)), "self");
    c.close();
  });
});

runtimeTest("an MPUB of 100 messages reaches a consumer with RDY 100 complete and in order", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 100);
    const p = await nsqd.connectV2();
    const bodies = Array.from({ length: 100 }, (_, i) => `msg-${i}`);
    await p.mpub("t", bodies);
    const got = await readMessages(c, 100);
    assert.deepEqual(got.map((m) => m.text), bodies);
    await c.expectNothing(200);
    await until("100 in flight", async () => {
      assert.equal((await channelStats(nsqd, "t", "c")).in_flight_count, 100);
    });
    p.close();
    c.close();
  });
});

// ---- §3.2 memory queue overflow --------------------------------------------------------------------

runtimeTest(
  "messages beyond --mem-queue-size are kept in the backend and all delivered in the end",
  async (rt) => {
    await withNsqd(rt, ["--mem-queue-size=2"], async (nsqd) => {
      const p = await nsqd.connectV2();
      for (let i = 0; i < 10; i++) await p.pub("t", `m${i}`);
      const t = await topicStats(nsqd, "t");
      assert.equal(t.depth, 10);
      assert.ok(t.backend_depth > 0, `topic backend_depth ${t.backend_depth}`);

      const c = await consumer(nsqd, "t", "c", 0);
      await until("all 10 moved to the channel, overflow in its backend", async () => {
        const t = await topicStats(nsqd, "t");
        assert.equal(t.depth, 0);
        const ch = t.channels[0];
        assert.equal(ch.depth, 10);
        assert.ok(ch.backend_depth > 0, `channel backend_depth ${ch.backend_depth}`);
      });
      await c.rdy(10);
      const got = await readMessages(c, 10);
      assert.deepEqual(got.map((m) => m.text).sort(), Array.from({ length: 10 }, (_, i) => `m${i}`));
      await c.expectNothing(200);
      p.close();
      c.close();
    });
  },
);

// ---- §1.2/§1.7 stream handling ------------------------------------------------------------------

runtimeTest("1000 PUBs written in one write get 1000 OK responses in order", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const p = await nsqd.connectV2();
    const bodies = Array.from({ length: 1000 }, (_, i) => `m${i}`);
    await p.write(concat(...bodies.map((b) => encodeCommand("PUB t", b))));
    for (let i = 0; i < 1000; i++) {
      const f = await p.readFrame(10_000);
      assert.deepEqual([f.type, f.text], [FRAME_RESPONSE, "OK"], `response ${i}`);
    }
    assert.equal((await topicStats(nsqd, "t")).message_count, 1000);
    const c = await consumer(nsqd, "t", "c", 1000);
    const got = await readMessages(c, 1000, 10_000);
    assert.deepEqual(got.map((m) => m.text), bodies);
    p.close();
    c.close();
  });
}, 90_000);

runtimeTest("a PUB written one byte at a time still works", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const p = await nsqd.connect();
    const bytes = concat("  V2", encodeCommand("PUB t", "trickle"));
    for (const b of bytes) {
      await p.write(new Uint8Array([b]));
      await sleep(2); // keep every byte in its own TCP segment
    }
    await p.expectResponse("OK");
    const c = await consumer(nsqd, "t", "c", 1);
    const m = await c.readMessage();
    assert.equal(m.text, "trickle");
    p.close();
    c.close();
  });
});

// Also split an MPUB across two writes at awkward offsets (inside the size, inside a body).
runtimeTest("an MPUB split across writes mid-header and mid-body is read correctly", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const p = await nsqd.connectV2();
    const bytes = encodeMpub("t", ["alpha", "beta", "gamma"]);
    for (const [from, to] of [[0, 7], [7, 13], [13, 25], [25, bytes.length]]) {
      await p.write(bytes.subarray(from, to));
      await sleep(20);
    }
    await p.expectResponse("OK");
    const c = await consumer(nsqd, "t", "c", 3);
    const got = await readMessages(c, 3);
    assert.deepEqual(got.map((m) => m.text), ["alpha", "beta", "gamma"]);
    p.close();
    c.close();
  });
});
