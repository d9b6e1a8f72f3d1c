/**
 * The soak of issue 20 in CI: 90 s of the mixed load of tests/e2e/soak.ts per runtime (publishers,
 * consumers that FIN, REQ with delays, let messages time out and reconnect, a churner creating and
 * deleting topics and channels, a disk-bound topic), then: every message accounted for, no error in
 * nsqd's log, and after warm-up the heap's floor flat and RSS without gross growth. `NSQ_SOAK_SECONDS` sets the length, `NSQ_SOAK_SEED` replays
 * a seed (the interleaving with the broker still varies).
 */
import { randomSeed } from "./churn.ts";
import { runtimeTest, startNsqd } from "./harness.ts";
import {
  formatSoak,
  runSoak,
  SOAK_CI_HEAP_SLOPE_LIMIT_MB_PER_MIN,
  SOAK_CI_SLOPE_CONFIRM_MB_PER_MIN,
  SOAK_CI_SLOPE_LIMIT_MB_PER_MIN,
  SOAK_NSQD_ARGS,
} from "./soak.ts";

// 90 s, warm-up 30 s: a leak's slope stays the same over a longer window, while the engine's warm-up growth
// (a heap-sizing step, code tiering up on a loaded machine) is spread over it; with 60 s (30 s of slope) a
// healthy Deno run on the loaded CI machine read 18 MB/min of heap floor and 45 MB/min of RSS.
const seconds = Number(Deno.env.get("NSQ_SOAK_SECONDS") ?? 90);
const seedEnv = Deno.env.get("NSQ_SOAK_SEED");

runtimeTest(
  `soak ${seconds} s: every message accounted for, no error logged, heap flat after warm-up`,
  async (runtime) => {
    const seed = seedEnv === undefined ? randomSeed() : Number(seedEnv);
    const replay = `NSQ_SOAK_SEED=${seed} NSQ_RUNTIMES=${runtime} deno test -A tests/e2e/soak_test.ts`;
    console.log(`[${runtime}] soak seed ${seed} (replay: ${replay})`);
    const nsqd = await startNsqd(runtime, SOAK_NSQD_ARGS);
    try {
      const r = await runSoak(nsqd, {
        seed,
        durationMs: seconds * 1000,
        warmupMs: Math.min(30_000, seconds * 1000 / 2),
        publishers: 3,
        consumers: 6,
        topics: 4,
        publishPauseMs: 40,
      });
      // A leak raises both the heap's floor and RSS; either alone moves for other reasons (see soak.ts).
      const heap = r.heapFloorSlopeMbPerMin;
      const rss = r.slopeMbPerMin;
      if (heap > SOAK_CI_HEAP_SLOPE_LIMIT_MB_PER_MIN && rss > SOAK_CI_SLOPE_CONFIRM_MB_PER_MIN) {
        r.problems.push(
          `heap floor grew ${heap.toFixed(2)} MB/min and RSS ${
            rss.toFixed(2)
          } MB/min after warm-up (limits ` +
            `${SOAK_CI_HEAP_SLOPE_LIMIT_MB_PER_MIN} and ${SOAK_CI_SLOPE_CONFIRM_MB_PER_MIN} together)`,
        );
      } else if (rss > SOAK_CI_SLOPE_LIMIT_MB_PER_MIN) {
        r.problems.push(
          `RSS grew ${rss.toFixed(2)} MB/min after warm-up (limit ${SOAK_CI_SLOPE_LIMIT_MB_PER_MIN})`,
        );
      }
      const text = formatSoak(r);
      if (r.problems.length > 0) throw new Error(`soak failed (replay: ${replay}):\n${text}`);
      console.log(`[${runtime}] ${text}`);
    } finally {
      await nsqd.stop();
    }
  },
  (seconds + 60) * 1000,
);
