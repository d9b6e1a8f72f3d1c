/**
 * The long crash loop (issue 12): `deno run -A bench/crash_loop.ts [--kills=100] [--runtimes=deno,bun,bin]
 * [--consumer=both|yes|no] [--min-ms=300] [--max-ms=1500] [--seed=1]`.
 *
 * nsqd with `--mem-queue-size=0 --sync-every=1` is SIGKILLed `--kills` times while two publishers keep 20 PUBs
 * pipelined (and a consumer FINs what it receives, with `--consumer=yes`); then the channel is drained. Prints
 * per runtime how many bodies were acknowledged and how many of those never reached a consumer (must be 0).
 */
import { crashLoop } from "../tests/e2e/crash_loop.ts";
import type { Runtime } from "../tests/e2e/harness.ts";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const kills = Number(args.get("kills") ?? 100);
const runtimes = (args.get("runtimes") ?? "deno,bun").split(",") as Runtime[];
const consumerModes = { both: [false, true], yes: [true], no: [false] }[args.get("consumer") ?? "both"] ??
  [false, true];
const minMs = Number(args.get("min-ms") ?? 300);
const maxMs = Number(args.get("max-ms") ?? 1500);
const seed = Number(args.get("seed") ?? 1);

const rows: string[] = [];
let failed = false;
for (const runtime of runtimes) {
  for (const withConsumer of consumerModes) {
    const dataPath = await Deno.makeTempDir({ prefix: "nsqd-crash-loop-" });
    const started = Date.now();
    try {
      const r = await crashLoop({
        runtime,
        dataPath,
        kills,
        consumer: withConsumer,
        minMs,
        maxMs,
        seed,
        log: (line) => console.error(`[${runtime}${withConsumer ? " +consumer" : ""}] ${line}`),
      });
      if (r.lost.length > 0) failed = true;
      rows.push(
        `| ${runtime} | ${withConsumer ? "yes" : "no"} | ${kills} | ${r.acknowledged} | ${r.lost.length} | ` +
          `${r.redelivered} (${r.redeliveredWithAttempts} with attempts > 1) | ${
            Math.round((Date.now() - started) / 1000)
          } s |`,
      );
      if (r.lost.length > 0) console.error(`[${runtime}] lost: ${r.lost.slice(0, 50).join(" ")}`);
    } finally {
      await Deno.remove(dataPath, { recursive: true }).catch(() => {});
    }
  }
}
console.log(
  "| nsqd | consumer in every round | kills | acknowledged | acknowledged but never delivered | redelivered | time |",
);
console.log("|---|---|---:|---:|---:|---:|---:|");
for (const row of rows) console.log(row);
if (failed) Deno.exit(1);
