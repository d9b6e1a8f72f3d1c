import assert from "node:assert/strict";
import { runtimeTest, withNsqd } from "./harness.ts";

runtimeTest(
  "sample_rate delivers about that share of a channel's messages and drops the rest (§1.9)",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await nsqd.connectV2();
      const opts = {
        feature_negotiation: true,
        sample_rate: 30,
        output_buffer_timeout: -1,
        output_buffer_size: -1,
      };
      assert.equal(JSON.parse((await c.identify(opts)).text).sample_rate, 30);
      await c.sub("t", "c");
      await c.rdy(2500);
      const p = await nsqd.connectV2();
      const N = 2000;
      for (let i = 0; i < N; i += 200) await p.mpub("t", Array.from({ length: 200 }, (_, k) => `m${i + k}`));
      // Read until nothing more arrives for a second, FINing each.
      let received = 0;
      for (;;) {
        const m = await c.readMessage(1000).catch(() => null);
        if (m === null) break;
        received++;
        await c.fin(m.id);
      }
      await c.command("NOP");
      const s = await nsqd.stats();
      const ch = s.topics[0].channels[0];
      assert.equal(ch.message_count, N);
      assert.equal(ch.depth, 0);
      assert.equal(ch.clients[0].sample_rate, 30);
      // rand(0..99) <= 30 keeps 31 %: allow a wide band for randomness.
      assert.ok(received > N * 0.2 && received < N * 0.45, `received ${received} of ${N}`);
      c.close();
      p.close();
    });
  },
  60_000,
);
