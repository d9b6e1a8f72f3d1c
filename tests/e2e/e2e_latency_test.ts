import assert from "node:assert/strict";
import { runtimeTest, withNsqd } from "./harness.ts";

runtimeTest(
  "e2e processing latency percentiles appear in /stats after FINs, per channel and merged per topic",
  async (rt) => {
    await withNsqd(rt, [
      "--e2e-processing-latency-percentile=1.0,0.5",
      "--e2e-processing-latency-percentile=0.99",
    ], async (nsqd) => {
      const before = await nsqd.stats();
      assert.deepEqual(before.topics, []);
      const a = await nsqd.connectV2();
      const b = await nsqd.connectV2();
      await a.identify({ output_buffer_timeout: -1, output_buffer_size: -1 });
      await b.identify({ output_buffer_timeout: -1, output_buffer_size: -1 });
      await a.sub("t", "a");
      await b.sub("t", "b");
      await a.rdy(1);
      await b.rdy(1);
      const p = await nsqd.connectV2();
      for (let i = 0; i < 4; i++) await p.pub("t", `m${i}`);
      for (const c of [a, b]) {
        for (let i = 0; i < 4; i++) {
          const m = await c.readMessage();
          if (c === b) await new Promise((r) => setTimeout(r, 30)); // channel b is slower
          await c.fin(m.id);
        }
        await c.command("NOP");
      }
      await new Promise((r) => setTimeout(r, 100));
      const s = await nsqd.stats();
      const topic = s.topics[0];
      const [ca, cb] = topic.channels;
      for (const lat of [ca.e2e_processing_latency, cb.e2e_processing_latency]) {
        assert.equal(lat.count, 4);
        assert.deepEqual(lat.percentiles.map((p: { quantile: number }) => p.quantile), [1, 0.99, 0.5]);
        for (const p of lat.percentiles) assert.ok(p.value > 0 && p.value < 10e9, `value ${p.value} ns`);
      }
      // b waited 30 ms before each FIN: its latencies are larger.
      assert.ok(cb.e2e_processing_latency.percentiles[0].value >= 30e6);
      assert.equal(topic.e2e_processing_latency.count, 8);
      assert.deepEqual(
        topic.e2e_processing_latency.percentiles.map((p: { quantile: number }) => p.quantile),
        [1, 0.99, 0.5],
      );
      // The text format prints them human readable.
      const text = await (await nsqd.http("/stats")).text();
      assert.match(text, /\[t\s+\] depth: 0\s+be-depth: 0\s+msgs: 4\s+e2e%: [0-9.]+[nums]s?, [0-9.]+[nums]/);
      for (const c of [a, b, p]) c.close();
    });
  },
);

runtimeTest("without latency percentiles /stats reports count 0 and null percentiles", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const p = await nsqd.connectV2();
    await p.pub("t", "x");
    await nsqd.http("/channel/create?topic=t&channel=c", { method: "POST" }).then((r) => r.body?.cancel());
    const s = await nsqd.stats();
    assert.deepEqual(s.topics[0].e2e_processing_latency, { count: 0, percentiles: null });
    assert.deepEqual(s.topics[0].channels[0].e2e_processing_latency, { count: 0, percentiles: null });
    p.close();
  });
});
