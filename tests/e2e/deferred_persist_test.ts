/**
 * Issue 19, part 2: with `--persist-deferred`, deferred messages (DPUB, REQ with a delay) keep their due time
 * across a clean restart, and past `--max-deferred-in-memory` they wait in the disk queue; without the flag a
 * restart delivers them at once (upstream's behaviour, and what upstream does on our data directory).
 */
import assert from "node:assert/strict";
import {
  channelStats,
  consumer,
  type NsqdProcess,
  readMessages,
  runtimeTest,
  startNsqd,
  until,
} from "./harness.ts";

runtimeTest(
  "with --persist-deferred, DPUB'd and REQ-delayed messages wait for their due time across a clean restart",
  async (rt) => {
    const dataPath = await Deno.makeTempDir({ prefix: "nsqd-deferred-" });
    const args = [`--data-path=${dataPath}`, "--persist-deferred"];
    let nsqd: NsqdProcess | undefined = await startNsqd(rt, args);
    try {
      const c = await consumer(nsqd, "dt", "ch", 0);
      const p = await nsqd.connectV2();
      const start = Date.now();
      await p.pub("dt", "requeued");
      await p.dpub("dt", 2500, "soon");
      await p.dpub("dt", 3_600_000, "in an hour");
      await c.rdy(1);
      const [first] = await readMessages(c, 1);
      await c.req(first.id, 2500);
      await until("two deferred", async () => {
        const ch = await channelStats(nsqd!, "dt", "ch");
        assert.deepEqual([ch.deferred_count, ch.in_flight_count], [3, 0]);
      });
      p.close();
      c.close();
      assert.equal(await nsqd.stop(), 0);

      nsqd = await startNsqd(rt, args);
      const sub = await consumer(nsqd, "dt", "ch", 10);
      const got = await readMessages(sub, 2, 10_000);
      assert.ok(Date.now() - start >= 2400, `not before they were due (${Date.now() - start} ms)`);
      assert.deepEqual(
        got.map((m) => [m.text, m.attempts]).sort(),
        [["requeued", 2], ["soon", 1]],
        "due ones come, attempts kept",
      );
      for (const m of got) await sub.fin(m.id);
      await sub.expectNothing(500);
      await until("the hour-long one still deferred", async () => {
        const ch = await channelStats(nsqd!, "dt", "ch");
        assert.deepEqual([ch.deferred_count, ch.depth], [1, 0]);
      });
      sub.close();
      assert.equal(await nsqd.stop(), 0);

      // Without the flag (as upstream on this directory): delivered at once, nothing lost.
      nsqd = await startNsqd(rt, [`--data-path=${dataPath}`]);
      const plain = await consumer(nsqd, "dt", "ch", 10);
      const [late] = await readMessages(plain, 1, 3000);
      assert.equal(late.text, "in an hour");
      plain.close();
    } finally {
      await nsqd?.stop().catch(() => {});
      await Deno.remove(dataPath, { recursive: true }).catch(() => {});
    }
  },
  60_000,
);

runtimeTest(
  "past --max-deferred-in-memory deferred messages wait in the disk queue and still come when due",
  async (rt) => {
    await withDeferred(rt, ["--persist-deferred", "--max-deferred-in-memory=2"], async (nsqd) => {
      const p = await nsqd.connectV2();
      const start = Date.now();
      const delays = [2600, 1500, 3200, 1800, 2200, 2900];
      for (const [i, ms] of delays.entries()) await p.dpub("dm", ms, `m${i}`);
      const ch = await channelStats(nsqd, "dm", "ch");
      assert.deepEqual([ch.deferred_count, ch.depth], [2, 4], "two in memory, the rest on disk");
      const sub = await consumer(nsqd, "dm", "ch", 10);
      const arrived = new Map<string, number>();
      while (arrived.size < delays.length) {
        const m = await sub.readMessage(6000);
        arrived.set(m.text, Date.now() - start);
        await sub.fin(m.id);
      }
      for (const [i, ms] of delays.entries()) {
        const at = arrived.get(`m${i}`)!;
        assert.ok(at >= ms - 50, `m${i} (due at ${ms} ms) not early: ${at} ms`);
      }
      assert.ok(Math.max(...arrived.values()) < 3200 + 2500, "none much later than the last due time");
      sub.close();
      p.close();
    });
  },
  60_000,
);

async function withDeferred(
  rt: Parameters<typeof startNsqd>[0],
  args: string[],
  fn: (nsqd: NsqdProcess) => Promise<void>,
): Promise<void> {
  const nsqd = await startNsqd(rt, args);
  try {
    for (const path of ["/topic/create?topic=dm", "/channel/create?topic=dm&channel=ch"]) {
      const res = await nsqd.http(path, { method: "POST" });
      await res.body?.cancel();
    }
    await fn(nsqd);
  } finally {
    await nsqd.stop();
  }
}
