/**
 * Issue 12: with `--mem-queue-size=0 --sync-every=1`, nothing nsqd acknowledged is lost when it is SIGKILLed
 * under load, with or without a consumer attached, on every runtime (the loop itself: crash_loop.ts; a longer
 * run: bench/crash_loop.ts).
 */
import assert from "node:assert/strict";
import { crashLoop } from "./crash_loop.ts";
import {
  channelStats,
  consumer,
  type NsqdProcess,
  readMessages,
  runtimeTest,
  startNsqd,
  until,
} from "./harness.ts";

for (const consumer of [false, true]) {
  runtimeTest(
    `with --mem-queue-size=0 --sync-every=1, 10 SIGKILLs under pipelined PUBs${
      consumer ? " with a consumer FINning" : ""
    } lose no acknowledged message`,
    async (rt) => {
      const dataPath = await Deno.makeTempDir({ prefix: "nsqd-crash-loop-" });
      try {
        const r = await crashLoop({
          runtime: rt,
          dataPath,
          kills: 10,
          consumer,
          minMs: 200,
          maxMs: 900,
          seed: 12,
        });
        assert.ok(r.acknowledged > 500, `the publishers got going (${r.acknowledged} acknowledged)`);
        assert.deepEqual(r.lost, [], `acknowledged but never delivered (of ${r.acknowledged})`);
        if (consumer && r.redelivered > 0) {
          // What was in flight at a kill comes back, delivered before the crash: attempts > 1 (a message whose
          // delivery had not been logged yet comes back from the disk queue itself, with its attempts of then).
          assert.ok(r.redeliveredWithAttempts > 0, "redeliveries keep their attempts");
        }
      } finally {
        await Deno.remove(dataPath, { recursive: true }).catch(() => {});
      }
    },
    120_000,
  );
}

runtimeTest(
  "with --mem-queue-size=0 --sync-every=1, deferred (DPUB, REQ with a delay) and in-flight messages survive a SIGKILL, deferral and attempts kept",
  async (rt) => {
    const dataPath = await Deno.makeTempDir({ prefix: "nsqd-crash-deferred-" });
    const args = [`--data-path=${dataPath}`, "--mem-queue-size=0", "--sync-every=1"];
    let a: NsqdProcess | undefined = await startNsqd(rt, args);
    let b: NsqdProcess | undefined;
    try {
      const c = await consumer(a, "dt", "ch", 0);
      const p = await a.connectV2();
      await p.pub("dt", "requeued");
      await p.pub("dt", "in-flight");
      await p.dpub("dt", 2500, "dpub");
      await c.rdy(2);
      const [first, second] = await readMessages(c, 2);
      assert.deepEqual([first.text, second.text], ["requeued", "in-flight"]);
      await c.req(first.id, 2500);
      await until("one in flight, two deferred", async () => {
        const ch = await channelStats(a!, "dt", "ch");
        assert.deepEqual([ch.in_flight_count, ch.deferred_count, ch.depth], [1, 2, 0]);
      });
      await a.stop("SIGKILL");
      a = undefined;
      const killedAt = Date.now();

      b = await startNsqd(rt, args);
      const ch = await channelStats(b, "dt", "ch");
      assert.deepEqual(
        [ch.depth, ch.deferred_count],
        [1, 2],
        "in flight back on the queue, deferred deferred",
      );
      const sub = await consumer(b, "dt", "ch", 10);
      const back = await sub.readMessage();
      assert.deepEqual(
        [back.text, back.attempts],
        ["in-flight", 2],
        "delivered before the crash: attempts 2",
      );
      await sub.fin(back.id);
      const later = await readMessages(sub, 2, 10_000);
      assert.ok(Date.now() - killedAt >= 1500, "the deferred ones waited for their due time");
      assert.deepEqual(
        later.map((m) => [m.text, m.attempts]).sort(),
        [["dpub", 1], ["requeued", 2]],
        "deferred ones come when due, attempts kept",
      );
      for (const m of later) await sub.fin(m.id);
      await sub.expectNothing(500);
      sub.close();
      p.close();
      c.close();
    } finally {
      await a?.stop("SIGKILL").catch(() => {});
      await b?.stop().catch(() => {});
      await Deno.remove(dataPath, { recursive: true }).catch(() => {});
    }
  },
  60_000,
);
