/**
 * The soak of issue 20 for any length:
 * `deno run -A bench/soak.ts [--seconds=1800] [--runtime=deno|bun|bin] [--seed=N] [--warmup=S]
 * [--publishers=3] [--consumers=6] [--topics=4] [--publish-pause-ms=40]`.
 *
 * One nsqd on the chosen runtime under the mixed load of tests/e2e/soak.ts (the same code as the CI
 * test tests/e2e/soak_test.ts, which runs 60 s of it): RSS sampled every second (warm-up: the first
 * `--warmup` seconds, default a third of the run up to 120 s), then the accounting and the log checks.
 * Prints progress every 10 s, the report, and the RSS samples (one per 10 s); exits 1 on a problem or
 * when RSS grew faster than `SOAK_LONG_SLOPE_LIMIT_MB_PER_MIN` (tests/e2e/soak.ts) after warm-up.
 */
import { randomSeed } from "../tests/e2e/churn.ts";
import { startNsqd } from "../tests/e2e/harness.ts";
import { BenchArgs } from "./args.ts";
import { formatSoak, runSoak, SOAK_LONG_SLOPE_LIMIT_MB_PER_MIN, SOAK_NSQD_ARGS } from "../tests/e2e/soak.ts";

const args = new BenchArgs("bench/soak.ts", [
  "seconds",
  "runtime",
  "seed",
  "warmup",
  "publishers",
  "consumers",
  "topics",
  "publish-pause-ms",
]);
const num = (k: string, d: number) => args.number(k, d);
const seconds = num("seconds", 1800);
const seed = args.has("seed") ? num("seed", 0) : randomSeed();
const runtime = args.runtime();
const warmup = num("warmup", Math.min(120, seconds / 3));
const log = (line: string) => console.log(`[soak ${runtime}] ${line}`);
log(
  `seed ${seed} (replay: deno run -A bench/soak.ts --seed=${seed} --runtime=${runtime} --seconds=${seconds})`,
);

const nsqd = await startNsqd(runtime, SOAK_NSQD_ARGS);
let failed = true;
try {
  const r = await runSoak(nsqd, {
    seed,
    durationMs: seconds * 1000,
    warmupMs: warmup * 1000,
    publishers: num("publishers", 3),
    consumers: num("consumers", 6),
    topics: Math.max(1, num("topics", 4)),
    publishPauseMs: num("publish-pause-ms", 40),
    log,
  });
  if (r.slopeMbPerMin > SOAK_LONG_SLOPE_LIMIT_MB_PER_MIN) {
    r.problems.push(
      `RSS grew ${
        r.slopeMbPerMin.toFixed(2)
      } MB/min after warm-up (limit ${SOAK_LONG_SLOPE_LIMIT_MB_PER_MIN})`,
    );
  }
  log(
    `RSS every 10 s (MB): ${r.rss.filter((_, i) => i % 10 === 9).map(([, mb]) => mb.toFixed(0)).join(" ")}`,
  );
  log(formatSoak(r));
  log(`${(r.published / seconds).toFixed(0)} msg/s published on stable topics`);
  failed = r.problems.length > 0;
} finally {
  await nsqd.stop();
}
Deno.exit(failed ? 1 : 0);
