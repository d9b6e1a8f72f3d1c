/**
 * Many connections (issue 20): `deno run -A bench/many.ts [--runtimes=deno,bun,bin] [--publishers=1000]
 * [--consumers=1000] [--topics=100] [--seconds=10] [--rate=20000] [--rdy=10] [--window=8]`.
 *
 * Per target, a fresh nsqd (default flags: `--mem-queue-size=10000`) gets `--publishers` publishing and
 * `--consumers` consuming connections spread evenly over `--topics` topics (one channel each; the
 * consumers of a topic share it, RDY `--rdy` each, unbuffered output as bench/load.ts's latency consumer,
 * FIN every message). Two phases of `--seconds`:
 *   max    every publisher keeps `--window` PUBs of 100 B unanswered (as fast as nsqd takes them);
 *   paced  `--rate` msg/s in all, spread over the publishers in 2 ms ticks.
 * Each body carries its send time, publisher and sequence number: the consumers measure publish → receive
 * latency and check, once everything answered OK was received, that nothing is missing (and count
 * duplicates). The load generator is this one Deno process; its CPU is reported beside nsqd's.
 */
import { type Runtime, startNsqd } from "../tests/e2e/harness.ts";
import { BenchArgs } from "./args.ts";
import { FrameReader, writeAll } from "./load.ts";
import { cpuSeconds } from "./process.ts";

const args = new BenchArgs("bench/many.ts", [
  "runtimes",
  "publishers",
  "consumers",
  "topics",
  "seconds",
  "rate",
  "rdy",
  "window",
]);
const whole = { integer: true, positive: true };
const runtimes = args.runtimes();
const PUBLISHERS = args.number("publishers", 1000, whole);
const CONSUMERS = args.number("consumers", 1000, whole);
const TOPICS = args.number("topics", 100, whole);
const SECONDS = args.number("seconds", 10, { positive: true });
const RATE = args.number("rate", 20_000, whole);
const RDY = args.number("rdy", 10, whole);
const WINDOW = args.number("window", 8, whole);
const SIZE = 100;

const enc = new TextEncoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What the consumers saw. */
class Tally {
  /** Per publisher, a byte per sequence number: how often it was received. */
  seen: Uint8Array[] = Array.from({ length: PUBLISHERS }, () => new Uint8Array(1024));
  received = 0;
  duplicates = 0;
  latencies: number[] = [];

  record(pub: number, seq: number, sentAt: number, now: number): void {
    let s = this.seen[pub];
    if (seq >= s.length) {
      let n = s.length * 2;
      while (n <= seq) n *= 2;
      const next = new Uint8Array(n);
      next.set(s);
      s = this.seen[pub] = next;
    }
    if (s[seq]++ > 0) this.duplicates++;
    else this.received++;
    this.latencies.push(now - sentAt);
  }

  /** Sequence numbers 0..acked[p]-1 of each publisher that never arrived. */
  missing(acked: number[]): number {
    let lost = 0;
    for (let p = 0; p < acked.length; p++) {
      const s = this.seen[p];
      for (let q = 0; q < acked[p]; q++) if (q >= s.length || s[q] === 0) lost++;
    }
    return lost;
  }
}

class Publisher {
  seq = 0;
  acked = 0;
  errors = 0;
  readonly #head: Uint8Array;
  constructor(readonly id: number, readonly conn: Deno.Conn, topic: string) {
    this.#head = enc.encode(`PUB ${topic}\n`);
    const reader = new FrameReader(conn, 4096);
    (async () => {
      try {
        while (
          await reader.readSome((type) => {
            if (type === 0) this.acked++;
            else if (type === 1) this.errors++;
          })
        ) { /* counting */ }
      } catch { /* closed */ }
    })();
  }

  get outstanding(): number {
    return this.seq - this.acked - this.errors;
  }

  /** Writes `n` PUBs (one write). */
  send(n: number): Promise<void> {
    const rec = this.#head.length + 4 + SIZE;
    const buf = new Uint8Array(n * rec);
    const dv = new DataView(buf.buffer);
    const now = performance.now();
    for (let i = 0; i < n; i++) {
      const off = i * rec;
      buf.set(this.#head, off);
      dv.setUint32(off + this.#head.length, SIZE);
      const body = off + this.#head.length + 4;
      dv.setFloat64(body, now);
      dv.setUint32(body + 8, this.id);
      dv.setUint32(body + 12, this.seq++);
    }
    return writeAll(this.conn, buf);
  }
}

async function consumer(port: number, topic: string, tally: Tally): Promise<Deno.Conn> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  conn.setNoDelay(true);
  // Unbuffered, as bench/load.ts's latency consumer: with the default output buffer (250 ms) a consumer
  // that gets fewer than RDY messages at a time receives them when the buffer's timer fires.
  const identify = enc.encode(JSON.stringify({ output_buffer_size: -1 }));
  const head = enc.encode("  V2IDENTIFY\n");
  const msg = new Uint8Array(head.length + 4 + identify.length);
  msg.set(head);
  new DataView(msg.buffer).setUint32(head.length, identify.length);
  msg.set(identify, head.length + 4);
  await writeAll(conn, msg);
  await writeAll(conn, enc.encode(`SUB ${topic} c\nRDY ${RDY}\n`));
  const reader = new FrameReader(conn, 4096);
  let subscribed!: () => void;
  let oks = 0;
  const ok = new Promise<void>((r) => subscribed = r);
  const fin = enc.encode("FIN 0000000000000000\n");
  (async () => {
    let fins = new Uint8Array(fin.length * RDY * 2);
    try {
      for (;;) {
        let n = 0;
        const more = await reader.readSome((type, buf, off) => {
          if (type === 0 && ++oks === 2) return subscribed(); // IDENTIFY's OK, then SUB's
          if (type !== 2) return;
          const dv = new DataView(buf.buffer, buf.byteOffset + off + 26, 16);
          tally.record(dv.getUint32(8), dv.getUint32(12), dv.getFloat64(0), performance.now());
          if ((n + 1) * fin.length > fins.length) {
            const next = new Uint8Array(fins.length * 2);
            next.set(fins);
            fins = next;
          }
          fins.set(fin, n * fin.length);
          fins.set(buf.subarray(off + 10, off + 26), n * fin.length + 4);
          n++;
        });
        if (!more) return;
        if (n > 0) await writeAll(conn, fins.subarray(0, n * fin.length));
      }
    } catch { /* closed */ }
  })();
  await ok;
  return conn;
}

interface PhaseResult {
  phase: string;
  published: number;
  msgsPerSec: number;
  p50: number;
  p99: number;
  p999: number;
  lost: number;
  duplicates: number;
  errors: number;
  nsqdCpu: number;
  genCpu: number;
}

async function phase(
  name: string,
  pubs: Publisher[],
  tally: Tally,
  pid: number,
  pace: boolean,
): Promise<PhaseResult> {
  const acked0 = pubs.map((p) => p.acked);
  const received0 = tally.received;
  tally.latencies = [];
  const cpu0 = cpuSeconds(pid);
  const gen0 = cpuSeconds("self");
  const start = performance.now();
  const end = start + SECONDS * 1000;
  let sent = 0;
  let cursor = 0;
  const writes: Promise<void>[] = [];
  while (performance.now() < end) {
    if (pace) {
      const due = Math.floor(((performance.now() - start) / 1000) * RATE) - sent;
      // Spread this tick's messages over the publishers, one write per publisher.
      const per = new Map<Publisher, number>();
      for (let i = 0; i < due; i++) {
        const p = pubs[cursor];
        cursor = (cursor + 1) % pubs.length;
        per.set(p, (per.get(p) ?? 0) + 1);
      }
      for (const [p, n] of per) writes.push(p.send(n));
      sent += due;
      await sleep(2);
    } else {
      for (const p of pubs) {
        const room = WINDOW - p.outstanding;
        if (room > 0) writes.push(p.send(room));
      }
      await sleep(1);
    }
    if (writes.length > 4096) await Promise.all(writes.splice(0));
  }
  await Promise.all(writes);
  // Every PUB answered, then everything answered OK received.
  const deadline = performance.now() + 30_000;
  while (pubs.some((p) => p.outstanding > 0) && performance.now() < deadline) await sleep(10);
  const published = pubs.reduce((n, p, i) => n + p.acked - acked0[i], 0);
  while (tally.received - received0 < published && performance.now() < deadline) await sleep(10);
  const seconds = (performance.now() - start) / 1000;
  const nsqdCpu = (cpuSeconds(pid) - cpu0) / seconds;
  const genCpu = (cpuSeconds("self") - gen0) / seconds;
  const lat = Float64Array.from(tally.latencies).sort();
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return {
    phase: name,
    published,
    msgsPerSec: published / SECONDS,
    p50: q(0.5),
    p99: q(0.99),
    p999: q(0.999),
    lost: tally.missing(pubs.map((p) => p.acked)),
    duplicates: tally.duplicates,
    errors: pubs.reduce((n, p) => n + p.errors, 0),
    nsqdCpu,
    genCpu,
  };
}

const rows: (PhaseResult & { runtime: Runtime })[] = [];
for (const runtime of runtimes) {
  const nsqd = await startNsqd(runtime);
  const conns: Deno.Conn[] = [];
  try {
    const tally = new Tally();
    for (let i = 0; i < CONSUMERS; i += 50) {
      const batch = await Promise.all(
        Array.from(
          { length: Math.min(50, CONSUMERS - i) },
          (_, k) => consumer(nsqd.tcpPort, `many_${(i + k) % TOPICS}`, tally),
        ),
      );
      conns.push(...batch);
    }
    const pubs: Publisher[] = [];
    for (let i = 0; i < PUBLISHERS; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: nsqd.tcpPort });
      conn.setNoDelay(true); // small paced writes must not wait for the peer's delayed ACK (Nagle)
      await writeAll(conn, enc.encode("  V2"));
      conns.push(conn);
      pubs.push(new Publisher(i, conn, `many_${i % TOPICS}`));
    }
    for (const [name, pace] of [["max", false], [`paced ${RATE / 1000}k/s`, true]] as const) {
      const r = await phase(name, pubs, tally, nsqd.proc.pid, pace);
      rows.push({ runtime, ...r });
      console.log(
        `${runtime} ${r.phase}: ${r.published} published (${Math.round(r.msgsPerSec)} msg/s), latency p50 ${
          r.p50.toFixed(1)
        } / p99 ${r.p99.toFixed(1)} / p99.9 ${
          r.p999.toFixed(1)
        } ms, lost ${r.lost}, duplicates ${r.duplicates}, ` +
          `errors ${r.errors}; CPU nsqd ${(100 * r.nsqdCpu).toFixed(0)} %, generator ${
            (100 * r.genCpu).toFixed(0)
          } %`,
      );
    }
  } finally {
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed */ }
    }
    await nsqd.stop();
  }
}

console.log(
  `\n${PUBLISHERS} publishers, ${CONSUMERS} consumers (RDY ${RDY}), ${TOPICS} topics, ${SECONDS} s per phase\n` +
    `| target | phase | msg/s | latency p50 / p99 / p99.9 | lost | duplicates | nsqd CPU | generator CPU |\n` +
    `| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |`,
);
for (const r of rows) {
  console.log(
    `| ${r.runtime} | ${r.phase} | ${Math.round(r.msgsPerSec).toLocaleString("en-US")} | ${
      r.p50.toFixed(1)
    } / ${r.p99.toFixed(1)} / ${r.p999.toFixed(1)} ms | ${r.lost} | ${r.duplicates} | ${
      (100 * r.nsqdCpu).toFixed(0)
    } % | ${(100 * r.genCpu).toFixed(0)} % |`,
  );
}
if (rows.some((r) => r.lost > 0 || r.errors > 0)) Deno.exit(1);
