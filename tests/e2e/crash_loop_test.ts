/**
 * Issue 12: with `--mem-queue-size=0 --sync-every=1`, nothing nsqd acknowledged is lost when it is SIGKILLed
 * under load, with or without a consumer attached, on every runtime (the loop itself: crash_loop.ts; a longer
 * run: bench/crash_loop.ts).
 */
import assert from "node:assert/strict";
import { crashLoop } from "./crash_loop.ts";
import { runtimeTest } from "./harness.ts";

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
