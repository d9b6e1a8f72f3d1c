/**
 * The crash loop (issue 12): nsqd with `--mem-queue-size=0 --sync-every=1` is SIGKILLed again and again while
 * two publishers keep PUBs pipelined (and, optionally, a consumer FINs what it receives); at the end one
 * consumer drains the channel. Every body whose `OK` reached its publisher must have reached a consumer.
 *
 * Shared by `tests/e2e/crash_loop_test.ts` (a few kills per runtime, in CI) and `bench/crash_loop.ts` (many).
 */
import {
  FRAME_MESSAGE,
  FRAME_RESPONSE,
  type NsqConn,
  type NsqdProcess,
  type Runtime,
  startNsqd,
} from "./harness.ts";

export interface CrashLoopOptions {
  runtime: Runtime;
  dataPath: string;
  kills: number;
  /** A consumer (RDY 100, FIN on receipt) runs in every round, not only at the end. */
  consumer: boolean;
  /** Each round lasts a random time in [minMs, maxMs) before the SIGKILL. */
  minMs: number;
  maxMs: number;
  /** Publisher connections and PUBs each keeps pipelined. */
  publishers?: number;
  pipeline?: number;
  /** Extra nsqd flags. */
  args?: string[];
  log?: (line: string) => void;
  /** Deterministic round lengths. */
  seed?: number;
}

export interface CrashLoopResult {
  acknowledged: number;
  /** Acknowledged bodies no consumer ever received. */
  lost: string[];
  /** Deliveries of a body that had been received before (at-least-once). */
  redelivered: number;
  /** Redeliveries whose attempts count was above 1 (the count survived the crash). */
  redeliveredWithAttempts: number;
  received: number;
}

const TOPIC = "kt";
const CHANNEL = "ch";
const enc = new TextEncoder();
const dec = new TextDecoder();

/** A small deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pubCommand(body: string): Uint8Array {
  const b = enc.encode(body);
  const line = enc.encode(`PUB ${TOPIC}\n`);
  const out = new Uint8Array(line.length + 4 + b.length);
  out.set(line);
  new DataView(out.buffer).setInt32(line.length, b.length);
  out.set(b, line.length + 4);
  return out;
}

/** Keeps `pipeline` PUBs outstanding until the connection dies; counts each `OK` as an acknowledgement. */
async function publisher(
  nsqd: NsqdProcess,
  next: () => string,
  acked: Set<string>,
  pipeline: number,
  stop: { done: boolean },
): Promise<void> {
  let conn: NsqConn;
  try {
    conn = await nsqd.connectV2();
  } catch {
    return;
  }
  const pending: string[] = [];
  const send = async () => {
    const body = next();
    pending.push(body);
    await conn.write(pubCommand(body));
  };
  try {
    for (let i = 0; i < pipeline; i++) await send();
    for (;;) {
      const f = await conn.readFrame(60_000);
      if (f.type === FRAME_RESPONSE && f.text === "_heartbeat_") {
        await conn.write("NOP\n");
        continue;
      }
      const body = pending.shift();
      if (f.type === FRAME_RESPONSE && f.text === "OK" && body !== undefined) acked.add(body);
      else throw new Error(`publisher got ${f.type} ${f.text}`);
      if (!stop.done) await send();
      else if (pending.length === 0) break;
    }
  } catch {
    // the kill: whatever was not acknowledged is not counted
  } finally {
    conn.close();
  }
}

interface Received {
  bodies: Map<string, number>;
  redelivered: number;
  redeliveredWithAttempts: number;
}

/** SUB, RDY 100, FIN each message; resolves when the connection dies or `idleMs` pass without a message. */
async function consumer(nsqd: NsqdProcess, got: Received, idleMs: number): Promise<void> {
  let conn: NsqConn;
  try {
    conn = await nsqd.connectV2();
    await conn.sub(TOPIC, CHANNEL);
    await conn.rdy(100);
  } catch {
    return;
  }
  try {
    for (;;) {
      let f;
      try {
        f = await conn.readFrame(idleMs);
      } catch (err) {
        if (/timed out/.test((err as Error).message)) return;
        throw err;
      }
      if (f.type === FRAME_RESPONSE && f.text === "_heartbeat_") {
        await conn.write("NOP\n");
        continue;
      }
      if (f.type !== FRAME_MESSAGE) throw new Error(`consumer got ${f.type} ${f.text}`);
      const attempts = (f.data[8] << 8) | f.data[9];
      const id = dec.decode(f.data.subarray(10, 26));
      const body = dec.decode(f.data.subarray(26));
      const seen = got.bodies.get(body) ?? 0;
      if (seen > 0) {
        got.redelivered++;
        if (attempts > 1) got.redeliveredWithAttempts++;
      }
      got.bodies.set(body, seen + 1);
      await conn.write(`FIN ${id}\n`);
    }
  } catch {
    // the kill
  } finally {
    conn.close();
  }
}

/** Runs the crash loop and reports what was acknowledged and never delivered. */
export async function crashLoop(o: CrashLoopOptions): Promise<CrashLoopResult> {
  const args = [`--data-path=${o.dataPath}`, "--mem-queue-size=0", "--sync-every=1", ...(o.args ?? [])];
  const random = prng(o.seed ?? 1);
  const acked = new Set<string>();
  const got: Received = { bodies: new Map(), redelivered: 0, redeliveredWithAttempts: 0 };
  let n = 0;
  const next = () => `m${n++}`;
  for (let round = 0; round < o.kills; round++) {
    const nsqd = await startNsqd(o.runtime, args);
    try {
      if (round === 0) {
        for (
          const path of [`/topic/create?topic=${TOPIC}`, `/channel/create?topic=${TOPIC}&channel=${CHANNEL}`]
        ) {
          const res = await nsqd.http(path, { method: "POST" });
          await res.body?.cancel();
          if (res.status !== 200) throw new Error(`${path}: ${res.status}`);
        }
      }
      const stop = { done: false };
      const work: Promise<void>[] = [];
      for (let p = 0; p < (o.publishers ?? 2); p++) {
        work.push(publisher(nsqd, next, acked, o.pipeline ?? 20, stop));
      }
      if (o.consumer) work.push(consumer(nsqd, got, 60_000));
      const ms = o.minMs + random() * (o.maxMs - o.minMs);
      await new Promise((r) => setTimeout(r, ms));
      await nsqd.stop("SIGKILL");
      await Promise.all(work);
      o.log?.(`round ${round + 1}/${o.kills}: ${Math.round(ms)} ms, ${acked.size} acknowledged so far`);
    } catch (err) {
      await nsqd.stop("SIGKILL").catch(() => {});
      throw err;
    }
  }
  const nsqd = await startNsqd(o.runtime, args);
  try {
    await consumer(nsqd, got, 1500);
  } finally {
    await nsqd.stop();
  }
  const lost = [...acked].filter((b) => !got.bodies.has(b));
  lost.sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)));
  return {
    acknowledged: acked.size,
    lost,
    redelivered: got.redelivered,
    redeliveredWithAttempts: got.redeliveredWithAttempts,
    received: got.bodies.size,
  };
}
