/**
 * The broker under churn (issue 14): admin calls every 20 ms (topic and channel create, delete, empty,
 * pause, unpause, /stats) while publishers publish and consumers come and go, then the checks of
 * `verifyChurn` (tests/e2e/churn.ts). ~30 s per runtime. `NSQ_CHURN_SEED=<n>` replays a seed (every
 * failure prints its own); `NSQ_CHURN_SECONDS` sets the length of the load (default 20).
 */
import { formatReport, randomSeed, runChurn, startChurnCluster, verifyChurn } from "./churn.ts";
import { runtimeTest } from "./harness.ts";

const seedEnv = Deno.env.get("NSQ_CHURN_SEED");
const seconds = Number(Deno.env.get("NSQ_CHURN_SECONDS") ?? 20);

for (const durable of [false, true]) {
  // Durable: every message through the disk queues and the unacknowledged logs, which admin actions
  // (empty, delete) race too.
  const extra = durable ? ["--mem-queue-size=0", "--sync-every=1"] : [];
  const load = durable ? Math.min(seconds, 10) : seconds;
  runtimeTest(
    `admin actions every 20 ms while clients come and go${
      durable ? " (--mem-queue-size=0 --sync-every=1)" : ""
    }: no 5xx, no internal error, /stats agrees with the clients`,
    async (runtime) => {
      const seed = seedEnv === undefined ? randomSeed() : Number(seedEnv);
      const replay = `NSQ_CHURN_SEED=${seed} NSQ_RUNTIMES=${runtime} deno test -A tests/e2e/churn_test.ts${
        durable ? " --filter mem-queue-size" : ""
      }`;
      // Printed first: a run that hangs past the test's timeout is replayable too.
      console.log(`[${runtime}] churn seed ${seed} (replay: ${replay})`);
      const { nsqd, lookupd, stop } = await startChurnCluster(runtime, extra);
      try {
        const run = await runChurn(nsqd, {
          seed,
          durationMs: load * 1000,
          publishers: 4,
          consumers: 6,
          topics: 20,
          adminIntervalMs: 20,
          publishPauseMs: 4,
        });
        const report = await verifyChurn(run, lookupd, { memQueueSize0: durable });
        if (report.problems.length > 0) {
          throw new Error(`churn with seed ${seed} failed (replay: ${replay}):\n${formatReport(report)}`);
        }
        console.log(`[${runtime}] ${formatReport(report)}`);
      } catch (err) {
        if (err instanceof Error && !err.message.includes("replay:")) {
          err.message = `churn with seed ${seed} failed (replay: ${replay}): ${err.message}`;
        }
        throw err;
      } finally {
        await stop();
      }
    },
    120_000,
  );
}
