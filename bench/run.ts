/**
 * The benchmark driver: `deno task bench [--seconds=N] [--runtimes=deno,bun]`.
 *
 * For each runtime it starts a fresh nsqd (as a child process, exactly as users run it) and
 * measures: MPUB publish (200 × 100 B per batch, one connection), pipelined PUB (windows of 200),
 * and consume (RDY 2500, FIN each, from a pre-filled channel). Prints a table and writes the raw
 * results to bench/results/<timestamp>.json. Figures from one run are comparable with each other;
 * the machine is shared, so compare ratios, not absolute numbers across runs.
 */
import { type Runtime, RUNTIMES, startNsqd } from "../tests/e2e/harness.ts";
import { consume, createChannel, type LoadResult, publishMpub, publishPipelined } from "./load.ts";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const seconds = Number(args.get("seconds") ?? 5);
const runtimes = (args.get("runtimes")?.split(",") ?? RUNTIMES) as Runtime[];

interface Row {
  runtime: Runtime;
  scenario: string;
  result: LoadResult;
  rssMb?: number;
}

async function rssOf(pid: number): Promise<number> {
  try {
    const status = await Deno.readTextFile(`/proc/${pid}/status`);
    const m = status.match(/VmHWM:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

const rows: Row[] = [];
for (const runtime of runtimes) {
  const nsqd = await startNsqd(runtime, ["--mem-queue-size=1000000"]);
  try {
    await createChannel(nsqd.tcpPort, "bench_mpub", "ch");
    const mpub = await publishMpub(nsqd.tcpPort, { topic: "bench_mpub", seconds });
    rows.push({ runtime, scenario: "publish MPUB 200×100B", result: mpub });
    const cons = await consume(nsqd.tcpPort, { topic: "bench_mpub", channel: "ch", count: mpub.messages });
    rows.push({
      runtime,
      scenario: "consume RDY 2500 + FIN",
      result: cons,
      rssMb: await rssOf(nsqd.proc.pid),
    });
    const pipe = await publishPipelined(nsqd.tcpPort, { topic: "bench_pub", seconds });
    rows.push({ runtime, scenario: "publish PUB ×200 pipelined", result: pipe });
  } finally {
    await nsqd.stop();
  }
  // Disk-bound: every message goes through the topic's and the channel's disk queues.
  const disk = await startNsqd(runtime, ["--mem-queue-size=0"]);
  try {
    await createChannel(disk.tcpPort, "bench_disk", "ch");
    const pub = await publishMpub(disk.tcpPort, { topic: "bench_disk", seconds });
    rows.push({ runtime, scenario: "publish MPUB, --mem-queue-size=0 (disk)", result: pub });
    const cons = await consume(disk.tcpPort, { topic: "bench_disk", channel: "ch", count: pub.messages });
    rows.push({ runtime, scenario: "consume from disk", result: cons, rssMb: await rssOf(disk.proc.pid) });
  } finally {
    await disk.stop();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(
  `\nnsqd benchmark — ${seconds}s per publish scenario, 100-byte messages, ${Deno.build.os}/${Deno.build.arch}`,
);
console.log("| runtime | scenario | msgs | msg/s | MB/s | peak RSS |");
console.log("|---|---|---:|---:|---:|---:|");
for (const r of rows) {
  console.log(
    `| ${r.runtime} | ${r.scenario} | ${fmt(r.result.messages)} | ${fmt(r.result.msgsPerSec)} | ${
      r.result.mbPerSec.toFixed(1)
    } | ${r.rssMb ? r.rssMb.toFixed(0) + " MB" : ""} |`,
  );
}
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
const file = new URL(`./results/${new Date().toISOString().replaceAll(":", "-")}.json`, import.meta.url);
await Deno.writeTextFile(file, JSON.stringify({ seconds, rows }, null, 2));
console.log(`\nraw results: ${file.pathname}`);
