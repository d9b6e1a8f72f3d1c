/**
 * What an idle topic with one channel holds on the engine's heap (issue 20), without what creating it
 * over HTTP leaves behind: `deno run -A --v8-flags=--expose-gc bench/idle_heap.ts [--topics=10000]` or
 * `bun bench/idle_heap.ts [--topics=10000]`.
 *
 * A real Nsqd in this process (its data path a temporary directory); 100 topics+channels first (warm-up),
 * then `--topics` more; heap used (and RSS) after a full GC before and after, divided by the count.
 * bench/idle.ts measures the same from outside (RSS deltas of an nsqd process), which includes the garbage
 * of the HTTP requests and of rewriting nsqd.dat after each creation, as upstream does.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { LogLevel } from "../src/internal/logger.ts";
import { Nsqd } from "../src/nsqd/nsqd.ts";
import { defaultNsqdOptions } from "../src/nsqd/options.ts";
import { currentPlatform } from "../src/platform/mod.ts";

const argv: string[] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ?? process.argv.slice(2);
const topicsArg = argv.find((a) => a.startsWith("--topics="));
const N = topicsArg === undefined ? 10_000 : Number(topicsArg.split("=")[1]);
if (!Number.isInteger(N) || N <= 0) {
  console.error("bench/idle_heap.ts: --topics must be a positive integer");
  process.exit(2);
}
const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
const gc = g.gc ?? (g.Bun ? () => g.Bun!.gc(true) : undefined);
if (gc === undefined) {
  console.error("bench/idle_heap.ts: no GC to call: run Deno with --v8-flags=--expose-gc");
  process.exit(2);
}
const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 100));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
};

const dataPath = mkdtempSync(join(tmpdir(), "nsqd-idle-heap-"));
const nsqd = new Nsqd(await currentPlatform(), {
  ...defaultNsqdOptions("bench"),
  tcpAddress: "127.0.0.1:0",
  httpAddress: "",
  dataPath,
  logLevel: LogLevel.error,
});
await nsqd.start();
for (let i = 0; i < 100; i++) nsqd.getTopic(`warm_${i}`).getChannel("c");
const before = await settle();
for (let i = 0; i < N; i++) nsqd.getTopic(`idle_${i}`).getChannel("c");
const after = await settle();
const runtime = g.Bun ? "bun" : "deno";
console.log(
  `${runtime}: ${N} idle topics with a channel each: heap ${((after.heap - before.heap) / N).toFixed(0)} B ` +
    `per topic+channel (RSS ${((after.rss - before.rss) / N).toFixed(0)} B)`,
);
await nsqd.close();
rmSync(dataPath, { recursive: true, force: true });
process.exit(0);
