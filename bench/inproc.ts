/**
 * The broker's per-message CPU cost without sockets: `deno run -A bench/inproc.ts` (or `bun
 * bench/inproc.ts`). A real Nsqd in this process, fed by fake connections: MPUB batches of
 * 200 × 100 B into one topic with one channel, then a consumer (RDY 2500) that FINs every message.
 * `--mem-queue-size=0` sends everything through the disk queues.
 * The figures are upper bounds for the socket benchmarks of `bench/run.ts` on the same runtime.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogLevel } from "../src/internal/logger.ts";
import { Nsqd } from "../src/nsqd/nsqd.ts";
import { defaultNsqdOptions } from "../src/nsqd/options.ts";
import { ProtocolV2 } from "../src/nsqd/protocol_v2.ts";
import { currentPlatform } from "../src/platform/mod.ts";
import type { Conn, NetAddr } from "../src/platform/types.ts";

const MESSAGES = 1_000_000;
/** `--mem-queue-size=N` (default 1M: everything in memory; 0: everything through the disk queues). */
const argv: string[] = (globalThis as { Deno?: { args: string[] } }).Deno?.args ??
  (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2);
const memArg = argv.find((a) => a.startsWith("--mem-queue-size="));
const MEM_QUEUE_SIZE = memArg === undefined ? MESSAGES : Number(memArg.split("=")[1]);
const BATCH = 200;
const SIZE = 100;

class FakeConn implements Conn {
  readonly remoteAddr: NetAddr = { hostname: "127.0.0.1", port: 1 };
  readonly localAddr: NetAddr = { hostname: "127.0.0.1", port: 2 };
  readonly pendingBytes = 0;
  onWrite: (bytes: Uint8Array) => void = () => {};
  write(bytes: Uint8Array): void {
    this.onWrite(bytes);
  }
  close(): void {}
  destroy(): void {}
}

const enc = new TextEncoder();
function int32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}
function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

const platform = await currentPlatform();
const nsqd = new Nsqd(platform, {
  ...defaultNsqdOptions("bench"),
  tcpAddress: "127.0.0.1:0",
  httpAddress: "",
  memQueueSize: MEM_QUEUE_SIZE,
  dataPath: mkdtempSync(join(tmpdir(), "nsqd-inproc-")),
  logLevel: LogLevel.error,
});
await nsqd.start();
nsqd.getTopic("b").getChannel("ch");

// ---- publish -------------------------------------------------------------------------------------
const body = new Uint8Array(SIZE).fill(97);
const parts: Uint8Array[] = [enc.encode("MPUB b\n"), int32(4 + BATCH * (4 + SIZE)), int32(BATCH)];
for (let i = 0; i < BATCH; i++) parts.push(int32(SIZE), body);
const mpub = concat(parts);
const pubConn = new FakeConn();
let oks = 0;
pubConn.onWrite = () => oks++;
const pub = new ProtocolV2(nsqd, pubConn);
pub.data(enc.encode("  V2"));
let t = performance.now();
for (let i = 0; i < MESSAGES / BATCH; i++) pub.data(mpub);
await new Promise((r) => setTimeout(r, 0));
const pubMs = performance.now() - t;

// ---- consume -------------------------------------------------------------------------------------
const subConn = new FakeConn();
const sub = new ProtocolV2(nsqd, subConn);
let received = 0;
let fins = new Uint8Array(0);
let finLen = 0;
let carry = new Uint8Array(0);
const FIN = enc.encode("FIN 0000000000000000\n");
subConn.onWrite = (bytes) => {
  let b = bytes;
  if (carry.length > 0) b = concat([carry, bytes]);
  let off = 0;
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  while (b.length - off >= 8) {
    const size = dv.getUint32(off);
    if (b.length - off < 4 + size) break;
    if (dv.getInt32(off + 4) === 2) {
      if (finLen + FIN.length > fins.length) {
        const next = new Uint8Array(Math.max(4096, fins.length * 2));
        next.set(fins.subarray(0, finLen));
        fins = next;
      }
      fins.set(FIN, finLen);
      fins.set(b.subarray(off + 18, off + 34), finLen + 4);
      finLen += FIN.length;
      received++;
    }
    off += 4 + size;
  }
  carry = b.slice(off);
};
sub.data(enc.encode("  V2SUB b ch\nRDY 2500\n"));
t = performance.now();
while (received < MESSAGES) {
  // Deliveries are written when a read has been handled; wait for the event loop only when none came.
  if (finLen === 0) await new Promise((r) => setTimeout(r, 0));
  if (finLen > 0) {
    const batch = fins.slice(0, finLen);
    finLen = 0;
    sub.data(batch);
  }
}
const subMs = performance.now() - t;
const runtime = "Bun" in globalThis ? "bun" : "deno";
console.log(
  `${runtime} in-process, --mem-queue-size=${MEM_QUEUE_SIZE}: publish ${
    Math.round(MESSAGES / pubMs * 1000)
  } msg/s, consume ${Math.round(MESSAGES / subMs * 1000)} msg/s`,
);
await nsqd.close();
