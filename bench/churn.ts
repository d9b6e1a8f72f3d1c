/**
 * The churn load of issue 14 for minutes, with more clients:
 * `deno run -A bench/churn.ts [--seconds=180] [--seed=N] [--runtime=deno|bun|bin] [--publishers=8]
 * [--consumers=16] [--topics=20] [--admin-interval-ms=20] [--publish-pause-ms=4] [--durable]`.
 * `--durable` runs nsqd with `--mem-queue-size=0 --sync-every=1` (disk queues and unacknowledged logs).
 *
 * One nsqd (registered with one nsqlookupd) on the chosen runtime, the load and the checks of
 * tests/e2e/churn.ts (the same code as the CI test `tests/e2e/churn_test.ts`, which runs ~20 s of it).
 * Prints the seed first, progress every 5 s, then the figures and any problem; exits 1 on a problem.
 * A failing seed replays the same script with `--seed=N` (the interleaving with the broker still varies).
 */
import { formatReport, randomSeed, runChurn, startChurnCluster, verifyChurn } from "../tests/e2e/churn.ts";
import { BenchArgs } from "./args.ts";

const args = new BenchArgs("bench/churn.ts", [
  "seconds",
  "seed",
  "runtime",
  "publishers",
  "consumers",
  "topics",
  "admin-interval-ms",
  "publish-pause-ms",
  "durable",
]);
const num = (k: string, d: number) => args.number(k, d);
const seconds = num("seconds", 180);
const seed = args.has("seed") ? num("seed", 0) : randomSeed();
const runtime = args.runtime();

const log = (line: string) => console.log(`[churn ${runtime}] ${line}`);
log(
  `seed ${seed} (replay: deno run -A bench/churn.ts --seed=${seed} --runtime=${runtime} --seconds=${seconds})`,
);
const { nsqd, lookupd, stop } = await startChurnCluster(
  runtime,
  args.has("durable") ? ["--mem-queue-size=0", "--sync-every=1"] : [],
);
let failed = true;
try {
  const started = Date.now();
  const run = await runChurn(nsqd, {
    seed,
    durationMs: seconds * 1000,
    publishers: num("publishers", 8),
    consumers: num("consumers", 16),
    topics: Math.max(2, num("topics", 20)),
    adminIntervalMs: num("admin-interval-ms", 20),
    publishPauseMs: num("publish-pause-ms", 4),
    log,
  });
  const checksStarted = Date.now();
  const report = await verifyChurn(run, lookupd, { memQueueSize0: args.has("durable") });
  const checksSeconds = ((Date.now() - checksStarted) / 1000).toFixed(1);
  const adminCalls = Object.values(report.admin).flatMap((s) => Object.values(s)).reduce((a, b) => a + b, 0);
  const fivexx = Object.values(report.admin).flatMap((s) => Object.entries(s))
    .filter(([status]) => Number(status) >= 500).reduce((n, [, c]) => n + c, 0);
  log(formatReport(report));
  log(
    `${seconds} s of load + ${checksSeconds} s of checks (${
      ((Date.now() - started) / 1000).toFixed(0)
    } s): ` +
      `${adminCalls} admin calls (${(adminCalls / seconds).toFixed(0)}/s, ` +
      `${report.admin["topic/delete"]?.[200] ?? 0} topics and ${
        report.admin["channel/delete"]?.[200] ?? 0
      } ` +
      `channels deleted), ${fivexx} answered 5xx; ${report.published} messages published ` +
      `(${(report.published / seconds).toFixed(0)}/s), ${report.delivered} delivered; ` +
      `${report.problems.length} problems`,
  );
  failed = report.problems.length > 0;
} finally {
  await stop();
}
Deno.exit(failed ? 1 : 0);
