import assert from "node:assert/strict";
import { encodeMpub, runtimeTest, withNsqd } from "./harness.ts";

async function rssMb(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+) kB/)![1]) / 1024;
}

runtimeTest(
  "a consumer that stops reading is not flooded: delivery pauses, the rest overflows to disk, memory stays bounded",
  async (rt) => {
    await withNsqd(rt, ["--mem-queue-size=1000"], async (nsqd) => {
      // A consumer with a big RDY that never reads its socket.
      const stuck = await nsqd.connectV2();
      await stuck.sub("bp", "c");
      await stuck.rdy(2500);
      const p = await nsqd.connectV2();
      const body = "x".repeat(4000);
      const before = await rssMb(nsqd.proc.pid);
      // 50 000 messages of 4 KB = ~200 MB published.
      for (let i = 0; i < 250; i++) {
        await p.write(encodeMpub("bp", Array.from({ length: 200 }, () => body)));
        await p.expectResponse("OK", 20_000);
      }
      const s = await nsqd.stats();
      const ch = s.topics[0].channels[0];
      // Only what fits the socket (kernel buffers + our 256 KB pending limit) went out; the rest waits.
      assert.ok(ch.in_flight_count > 0 && ch.in_flight_count < 2500, `in flight ${ch.in_flight_count}`);
      assert.ok(ch.backend_depth > 40_000, `backend depth ${ch.backend_depth}`);
      assert.equal(ch.depth + ch.in_flight_count, 50_000);
      const grown = (await rssMb(nsqd.proc.pid)) - before;
      assert.ok(grown < 120, `RSS grew by ${grown.toFixed(0)} MB for 200 MB published`);
      stuck.close();
      p.close();
    });
  },
  120_000,
);
