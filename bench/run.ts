/**
 * The benchmark driver: `deno task bench [--seconds=N] [--runtimes=deno,bun,bin] [--only=a,b,…]`.
 *
 * For each target (nsqd on Deno, on Bun, or the compiled binary `dist/nsqd`) it starts a fresh nsqd as
 * a child process and measures, with raw-TCP load generators that behave like upstream's
 * bench_writer / bench_reader (bench/load.ts, running under Deno in this process):
 *   publish   MPUB 200 × 100 B, one connection, then one per core (upstream's bench_writer), then 4,
 *             --mem-queue-size=1000000
 *   pipelined PUB in windows of 200
 *   consume   RDY 2500 + FIN each, from the pre-filled channel: one connection, then one per core
 *             (upstream's bench_reader)
 *   fanout    1 topic × 4 channels, 4 consumers at once
 *   latency   publish at 10 k/s and 100 k/s while consuming (unbuffered consumer): p50/p99/p999
 *   disk      --mem-queue-size=0: publish, then consume from disk
 *   rss       peak RSS with 1 M messages queued
 * Prints one table and writes the raw results to bench/results/<timestamp>.json. The machine is shared:
 * compare figures from one run with each other, not across runs.
 */
import { type NsqdProcess, type Runtime, RUNTIMES, startNsqd } from "../tests/e2e/harness.ts";
import {
  consume,
  createChannel,
  latency,
  type LatencyResult,
  type LoadResult,
  publishMpub,
  publishPipelined,
} from "./load.ts";
import { memoryMb } from "./process.ts";

const args = new Map(Deno.args.map((a) => a.replace(/^--/, "").split("=") as [string, string]));
const seconds = Number(args.get("seconds") ?? 5);
const runtimes = (args.get("runtimes")?.split(",") ?? RUNTIMES) as Runtime[];
const only = args.get("only")?.split(",");
const want = (s: string) => only === undefined || only.includes(s);

interface Row {
  runtime: Runtime;
  scenario: string;
  result?: LoadResult;
  latency?: LatencyResult;
  rssMb?: number;
}

function sum(results: LoadResult[]): LoadResult {
  const messages = results.reduce((n, r) => n + r.messages, 0);
  const secs = Math.max(...results.map((r) => r.seconds));
  return {
    messages,
    seconds: secs,
    msgsPerSec: messages / secs,
    mbPerSec: results.reduce((n, r) => n + r.mbPerSec * r.seconds, 0) / secs,
  };
}

async function withBroker(runtime: Runtime, flags: string[], fn: (n: NsqdProcess) => Promise<void>) {
  const nsqd = await startNsqd(runtime, flags);
  try {
    await fn(nsqd);
  } finally {
    await nsqd.stop();
  }
}

const rows: Row[] = [];
for (const runtime of runtimes) {
  const mem = ["--mem-queue-size=1000000"];
  if (want("publish") || want("consume")) {
    await withBroker(runtime, mem, async (n) => {
      await createChannel(n.tcpPort, "b1", "ch");
      const one = await publishMpub(n.tcpPort, { topic: "b1", seconds });
      rows.push({ runtime, scenario: "publish MPUB 200×100B, 1 conn", result: one });
      const cons = await consume(n.tcpPort, { topic: "b1", channel: "ch", count: one.messages });
      rows.push({ runtime, scenario: "consume RDY 2500 + FIN", result: cons });
    });
    // What upstream's bench.sh does on this machine: bench_writer and bench_reader start one
    // connection per core (runtime.GOMAXPROCS(0) workers).
    const cores = navigator.hardwareConcurrency;
    await withBroker(runtime, mem, async (n) => {
      await createChannel(n.tcpPort, "b2", "ch");
      const pubs = await Promise.all(
        Array.from({ length: cores }, () => publishMpub(n.tcpPort, { topic: "b2", seconds })),
      );
      const pub = sum(pubs);
      rows.push({ runtime, scenario: `publish MPUB 200×100B, ${cores} conns (bench_writer)`, result: pub });
      const cons = await consume(n.tcpPort, {
        topic: "b2",
        channel: "ch",
        count: pub.messages,
        conns: cores,
      });
      rows.push({ runtime, scenario: `consume RDY 2500 + FIN, ${cores} conns (bench_reader)`, result: cons });
    });
    await withBroker(runtime, mem, async (n) => {
      const four = await Promise.all(
        [0, 1, 2, 3].map((i) => publishMpub(n.tcpPort, { topic: `b4_${i}`, seconds })),
      );
      rows.push({
        runtime,
        scenario: "publish MPUB 200×100B, 4 conns",
        result: sum(four),
        rssMb: memoryMb(n.proc.pid, "VmHWM"),
      });
    });
  }
  if (want("pipelined")) {
    await withBroker(runtime, mem, async (n) => {
      const pipe = await publishPipelined(n.tcpPort, { topic: "bp", seconds });
      rows.push({ runtime, scenario: "publish PUB ×200 pipelined", result: pipe });
    });
  }
  if (want("fanout")) {
    await withBroker(runtime, mem, async (n) => {
      for (let i = 0; i < 4; i++) await createChannel(n.tcpPort, "bf", `c${i}`);
      const pub = await publishMpub(n.tcpPort, { topic: "bf", seconds: seconds / 2 });
      const drained = await Promise.all(
        [0, 1, 2, 3].map((i) => consume(n.tcpPort, { topic: "bf", channel: `c${i}`, count: pub.messages })),
      );
      rows.push({ runtime, scenario: "fan-out 1 topic × 4 channels (deliveries)", result: sum(drained) });
    });
  }
  if (want("latency")) {
    for (const rate of [10_000, 100_000]) {
      await withBroker(runtime, mem, async (n) => {
        const lat = await latency(n.tcpPort, { topic: "bl", rate, seconds: Math.min(seconds, 5) });
        rows.push({ runtime, scenario: `latency @ ${rate / 1000}k msg/s`, latency: lat });
      });
    }
  }
  if (want("disk")) {
    await withBroker(runtime, ["--mem-queue-size=0"], async (n) => {
      await createChannel(n.tcpPort, "bd", "ch");
      const pub = await publishMpub(n.tcpPort, { topic: "bd", seconds });
      rows.push({ runtime, scenario: "publish MPUB, --mem-queue-size=0 (disk)", result: pub });
      const cons = await consume(n.tcpPort, { topic: "bd", channel: "ch", count: pub.messages });
      rows.push({ runtime, scenario: "consume from disk", result: cons });
    });
  }
  if (want("rss")) {
    await withBroker(runtime, mem, async (n) => {
      await createChannel(n.tcpPort, "br", "ch");
      let queued = 0;
      while (queued < 1_000_000) {
        queued += (await publishMpub(n.tcpPort, { topic: "br", seconds: 0.5 })).messages;
      }
      rows.push({
        runtime,
        scenario: `RSS with ${(queued / 1e6).toFixed(2)} M queued`,
        rssMb: memoryMb(n.proc.pid, "VmHWM"),
      });
    });
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(
  `\nnsqd benchmark — ${seconds}s per publish scenario, 100-byte messages, ${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} cores`,
);
console.log("| runtime | scenario | msgs | msg/s | MB/s | latency p50 / p99 / p999 | peak RSS |");
console.log("|---|---|---:|---:|---:|---|---:|");
for (const r of rows) {
  const res = r.result;
  const lat = r.latency;
  console.log(
    `| ${r.runtime} | ${r.scenario} | ${res ? fmt(res.messages) : lat ? fmt(lat.messages) : ""} | ${
      res ? fmt(res.msgsPerSec) : ""
    } | ${res ? res.mbPerSec.toFixed(1) : ""} | ${
      lat ? `${lat.p50.toFixed(2)} / ${lat.p99.toFixed(2)} / ${lat.p999.toFixed(2)} ms` : ""
    } | ${r.rssMb ? r.rssMb.toFixed(0) + " MB" : ""} |`,
  );
}
await Deno.mkdir(new URL("./results/", import.meta.url), { recursive: true });
const file = new URL(`./results/${new Date().toISOString().replaceAll(":", "-")}.json`, import.meta.url);
await Deno.writeTextFile(file, JSON.stringify({ seconds, rows }, null, 2));
console.log(`\nraw results: ${file.pathname}`);
