/**
 * What idle things cost (issue 20): `deno run -A bench/idle.ts [--runtimes=deno,bun,bin] [--topics=10000]
 * [--conns=2000] [--idle-seconds=10]`.
 *
 * Per target, a fresh nsqd (default flags) is warmed up (100 topics with a channel, 50 connections that
 * subscribe and leave), then:
 *   1. `--conns` connections that each subscribe (to the 100 warm-up topics, round robin) and send RDY 1,
 *      then stay idle (answering heartbeats): RSS delta / N;
 *   2. `--topics` topics with one channel each, made over HTTP (`POST /topic/create`, `/channel/create`):
 *      RSS delta / N;
 *   3. CPU used by nsqd over `--idle-seconds` while all of them are idle (% of one core).
 * RSS is read from /proc/<pid>/status after the process settles (10 s); the deltas include whatever the
 * engine's heap grew by, so they are what a user of the machine sees, not object sizes.
 */
import { type Runtime, startNsqd } from "../tests/e2e/harness.ts";
import { BenchArgs } from "./args.ts";
import { cpuSeconds, memoryMb } from "./process.ts";

const args = new BenchArgs("bench/idle.ts", ["runtimes", "topics", "conns", "idle-seconds"]);
const runtimes = args.runtimes();
const TOPICS = args.number("topics", 10_000, { integer: true, positive: true });
const CONNS = args.number("conns", 2_000, { integer: true, positive: true });
const IDLE_SECONDS = args.number("idle-seconds", 10, { positive: true });

const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Idle time for the engine to collect what the last step left behind (V8 shrinks its heap after ~8 s). */
const settle = () => sleep(SETTLE_MS);
const SETTLE_MS = 10_000;

const mb = (v: number) => v.toFixed(0);

async function createChannels(httpPort: number, from: number, to: number): Promise<void> {
  let next = from;
  const worker = async () => {
    while (next < to) {
      const i = next++;
      for (const path of [`/topic/create?topic=idle_${i}`, `/channel/create?topic=idle_${i}&channel=c`]) {
        const res = await fetch(`http://127.0.0.1:${httpPort}${path}`, { method: "POST" });
        await res.body?.cancel();
        if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

/** A subscribed connection that stays idle, answering heartbeats with NOP. */
async function subscriber(tcpPort: number, topic: string): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: tcpPort });
  await conn.write(enc.encode(`  V2SUB ${topic} c\nRDY 1\n`));
  // The SUB's OK: [size][type 0]["OK"].
  const buf = new Uint8Array(64);
  let got = 0;
  while (got < 10) {
    const n = await conn.read(buf.subarray(got));
    if (n === null) throw new Error("closed before SUB's OK");
    got += n;
  }
  (async () => {
    const b = new Uint8Array(256);
    try {
      for (;;) {
        const n = await conn.read(b);
        if (n === null) return;
        if (new TextDecoder().decode(b.subarray(0, n)).includes("_heartbeat_")) {
          await conn.write(enc.encode("NOP\n"));
        }
      }
    } catch { /* closed */ }
  })();
  return conn;
}

async function openSubscribers(tcpPort: number, n: number, topics: number, first = 0): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from(
        { length: Math.min(50, n - i) },
        (_, k) => subscriber(tcpPort, `idle_${first + ((i + k) % topics)}`),
      ),
    );
    conns.push(...batch);
  }
  return conns;
}

interface Row {
  runtime: Runtime;
  perTopicKb: number;
  perConnKb: number;
  idleCpuPct: number;
  rssMb: number;
}

const rows: Row[] = [];
for (const runtime of runtimes) {
  const nsqd = await startNsqd(runtime);
  const pid = nsqd.proc.pid;
  try {
    // Warm-up: the code paths run once, the heap reaches a working size.
    await createChannels(nsqd.httpPort, TOPICS, TOPICS + 100);
    for (const c of await openSubscribers(nsqd.tcpPort, 50, 100, TOPICS)) c.close();
    await settle();
    const base = memoryMb(pid);

    // Connections first, on the warm-up topics, so that their figure does not absorb the heap growth the
    // topics' HTTP requests leave behind.
    const conns = await openSubscribers(nsqd.tcpPort, CONNS, 100, TOPICS);
    await settle();
    const afterConns = memoryMb(pid);

    await createChannels(nsqd.httpPort, 0, TOPICS);
    await settle();
    const afterTopics = memoryMb(pid);

    const cpu0 = cpuSeconds(pid);
    const t0 = performance.now();
    await sleep(IDLE_SECONDS * 1000);
    const idleCpuPct = (100 * (cpuSeconds(pid) - cpu0)) / ((performance.now() - t0) / 1000);
    const row: Row = {
      runtime,
      perTopicKb: (1024 * (afterTopics - afterConns)) / TOPICS,
      perConnKb: (1024 * (afterConns - base)) / CONNS,
      idleCpuPct,
      rssMb: memoryMb(pid),
    };
    rows.push(row);
    console.log(
      `${runtime}: RSS ${mb(base)} MB at start, +${CONNS} idle subscribed connections → ${
        mb(afterConns)
      } MB, ` +
        `+${TOPICS} topics+channels → ${mb(afterTopics)} MB; idle CPU ${idleCpuPct.toFixed(1)} %`,
    );
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
  } finally {
    await nsqd.stop();
  }
}

console.log(
  `\n| target | per topic + channel | per idle subscribed connection | CPU at idle |\n| --- | ---: | ---: | ---: |`,
);
for (const r of rows) {
  console.log(
    `| ${r.runtime} | ${r.perTopicKb.toFixed(2)} KB | ${r.perConnKb.toFixed(1)} KB | ${
      r.idleCpuPct.toFixed(1)
    } % |`,
  );
}
