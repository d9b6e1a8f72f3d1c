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
import { type Runtime, startNsqd } from "../tests/e2e/harness.ts";
import { formatSoak, runSoak, SOAK_LONG_SLOPE_LIMIT_MB_PER_MIN, SOAK_NSQD_ARGS } from "../tests/e2e/soak.ts";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const known = [
  "seconds",
  "runtime",
  "seed",
  "warmup",
  "publishers",
  "consumers",
  "topics",
  "publish-pause-ms",
];
for (const k of args.keys()) {
  if (!known.includes(k)) {
    console.error(`bench/soak.ts: unknown flag --${k} (known: ${known.map((f) => `--${f}`).join(" ")})`);
    Deno.exit(2);
  }
}
const num = (k: string, d: number) => {
  const v = Number(args.get(k) ?? d);
  if (!Number.isFinite(v) || v < 0) {
    console.error(`bench/soak.ts: --${k} must be a non-negative number`);
    Deno.exit(2);
  }
  return v;
};
const seconds = num("seconds", 1800);
const seed = args.has("seed") ? num("seed", 0) : randomSeed();
const runtime = (args.get("runtime") ?? "deno") as Runtime;
if (!["deno", "bun", "bin"].includes(runtime)) {
  console.error("bench/soak.ts: --runtime must be deno, bun or bin");
  Deno.exit(2);
}
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
