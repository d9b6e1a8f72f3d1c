/**
 * Load generators that behave like upstream's bench_writer / bench_reader: raw TCP, V2 protocol,
 * one connection each, counting messages per second. They run under Deno (the test runner's
 * runtime); the broker under test runs in its own process.
 */

const enc = new TextEncoder();

function int32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setInt32(0, n);
  return b;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Reads frames from a connection, calling `onFrame(type, data, off, len)` for each. */
class FrameReader {
  #buf = new Uint8Array(1 << 20);
  #start = 0;
  #end = 0;
  constructor(readonly conn: Deno.Conn) {}

  /** Reads once and hands every complete frame to `onFrame`; false at EOF. */
  async readSome(
    onFrame: (type: number, buf: Uint8Array, off: number, len: number) => void,
  ): Promise<boolean> {
    if (this.#end === this.#buf.length) {
      // compact or grow
      const live = this.#end - this.#start;
      const next = live * 2 > this.#buf.length ? new Uint8Array(this.#buf.length * 2) : this.#buf;
      next.copyWithin?.(0, 0, 0);
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#start = 0;
      this.#end = live;
    }
    const n = await this.conn.read(this.#buf.subarray(this.#end));
    if (n === null) return false;
    this.#end += n;
    const b = this.#buf;
    const view = new DataView(b.buffer);
    while (this.#end - this.#start >= 8) {
      const size = view.getUint32(this.#start);
      if (this.#end - this.#start < 4 + size) break;
      onFrame(view.getInt32(this.#start + 4), b, this.#start + 8, size - 4);
      this.#start += 4 + size;
    }
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return true;
  }
}

export interface LoadResult {
  messages: number;
  seconds: number;
  msgsPerSec: number;
  mbPerSec: number;
}

function result(messages: number, bytes: number, ms: number): LoadResult {
  const seconds = ms / 1000;
  return { messages, seconds, msgsPerSec: messages / seconds, mbPerSec: bytes / seconds / 1e6 };
}

/** MPUB batches of `batch` × `size`-byte messages for `seconds`, `depth` batches in flight. */
export async function publishMpub(
  port: number,
  opts: { topic: string; seconds: number; batch?: number; size?: number; depth?: number },
): Promise<LoadResult> {
  const batch = opts.batch ?? 200;
  const size = opts.size ?? 100;
  const depth = opts.depth ?? 1;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, enc.encode("  V2"));
  const body = new Uint8Array(size).fill(97);
  const inner = new Uint8Array(4 + batch * (4 + size));
  inner.set(int32(batch), 0);
  for (let i = 0; i < batch; i++) {
    inner.set(int32(size), 4 + i * (4 + size));
    inner.set(body, 8 + i * (4 + size));
  }
  const head = enc.encode(`MPUB ${opts.topic}\n`);
  const cmd = new Uint8Array(head.length + 4 + inner.length);
  cmd.set(head, 0);
  cmd.set(int32(inner.length), head.length);
  cmd.set(inner, head.length + 4);
  const reader = new FrameReader(conn);
  const start = performance.now();
  const end = start + opts.seconds * 1000;
  let sent = 0;
  let acked = 0;
  for (let i = 0; i < depth; i++) {
    await writeAll(conn, cmd);
    sent++;
  }
  while (acked < sent) {
    let oks = 0;
    const more = await reader.readSome((type) => {
      if (type !== 0) throw new Error("MPUB failed");
      oks++;
    });
    if (!more) throw new Error("connection closed");
    acked += oks;
    if (performance.now() < end) {
      for (let i = 0; i < oks; i++) {
        await writeAll(conn, cmd);
        sent++;
      }
    }
  }
  const ms = performance.now() - start;
  conn.close();
  return result(acked * batch, acked * batch * size, ms);
}

/** PUB commands pipelined: `window` PUBs written at once, then their OKs read. */
export async function publishPipelined(
  port: number,
  opts: { topic: string; seconds: number; size?: number; window?: number },
): Promise<LoadResult> {
  const size = opts.size ?? 100;
  const window = opts.window ?? 200;
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, enc.encode("  V2"));
  const head = enc.encode(`PUB ${opts.topic}\n`);
  const one = new Uint8Array(head.length + 4 + size);
  one.set(head, 0);
  one.set(int32(size), head.length);
  one.fill(98, head.length + 4);
  const burst = new Uint8Array(one.length * window);
  for (let i = 0; i < window; i++) burst.set(one, i * one.length);
  const reader = new FrameReader(conn);
  const start = performance.now();
  const end = start + opts.seconds * 1000;
  let acked = 0;
  while (performance.now() < end) {
    await writeAll(conn, burst);
    let oks = 0;
    while (oks < window) {
      if (!(await reader.readSome(() => oks++))) throw new Error("connection closed");
    }
    acked += oks;
  }
  const ms = performance.now() - start;
  conn.close();
  return result(acked, acked * size, ms);
}

/** Subscribes with RDY `rdy`, FINs every message, and stops after `count` messages. */
export async function consume(
  port: number,
  opts: { topic: string; channel: string; count: number; rdy?: number },
): Promise<LoadResult> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const reader = new FrameReader(conn);
  await writeAll(conn, enc.encode(`  V2SUB ${opts.topic} ${opts.channel}\nRDY ${opts.rdy ?? 2500}\n`));
  let received = 0;
  let bytes = 0;
  const fin = enc.encode("FIN 0000000000000000\n");
  let fins = new Uint8Array(fin.length * 4096);
  const start = performance.now();
  while (received < opts.count) {
    let n = 0;
    const more = await reader.readSome((type, buf, off, len) => {
      if (type !== 2) return;
      const at = n * fin.length;
      if (at + fin.length > fins.length) {
        const next = new Uint8Array(fins.length * 2);
        next.set(fins);
        fins = next;
      }
      fins.set(fin, at);
      fins.set(buf.subarray(off + 10, off + 26), at + 4);
      n++;
      bytes += len - 26;
    });
    if (!more) throw new Error("connection closed");
    if (n > 0) await writeAll(conn, fins.subarray(0, n * fin.length));
    received += n;
  }
  const ms = performance.now() - start;
  conn.close();
  return result(received, bytes, ms);
}

/** Creates a channel by subscribing once (so published messages are kept for it). */
export async function createChannel(port: number, topic: string, channel: string): Promise<void> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(conn, enc.encode(`  V2SUB ${topic} ${channel}\n`));
  const reader = new FrameReader(conn);
  let ok = false;
  while (!ok) {
    if (!(await reader.readSome((type) => (ok = type === 0)))) throw new Error("closed");
  }
  conn.close();
}
