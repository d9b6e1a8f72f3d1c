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

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Reads frames from a connection, calling `onFrame(type, data, off, len)` for each. */
export class FrameReader {
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  /** `size`: the first buffer's size (it grows for larger frames). */
  constructor(readonly conn: Deno.Conn, size = 1 << 20) {
    this.#buf = new Uint8Array(size);
  }

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

/**
 * `conns` consumers on one channel (RDY `rdy` each, as upstream's bench_reader runs one per core),
 * FINning every message, until `count` messages were received between them.
 */
export async function consume(
  port: number,
  opts: { topic: string; channel: string; count: number; rdy?: number; conns?: number },
): Promise<LoadResult> {
  const n = opts.conns ?? 1;
  const conns = await Promise.all(
    Array.from({ length: n }, () => Deno.connect({ hostname: "127.0.0.1", port })),
  );
  let received = 0;
  let bytes = 0;
  const start = performance.now();
  let end = 0;
  const fin = enc.encode("FIN 0000000000000000\n");
  const one = async (conn: Deno.Conn) => {
    const reader = new FrameReader(conn);
    await writeAll(conn, enc.encode(`  V2SUB ${opts.topic} ${opts.channel}\nRDY ${opts.rdy ?? 2500}\n`));
    let fins = new Uint8Array(fin.length * 4096);
    while (received < opts.count) {
      let got = 0;
      let more: boolean;
      try {
        more = await reader.readSome((type, buf, off, len) => {
          if (type !== 2) return;
          const at = got * fin.length;
          if (at + fin.length > fins.length) {
            const next = new Uint8Array(fins.length * 2);
            next.set(fins);
            fins = next;
          }
          fins.set(fin, at);
          fins.set(buf.subarray(off + 10, off + 26), at + 4);
          got++;
          bytes += len - 26;
        });
      } catch (err) {
        if (received >= opts.count) break; // closed by the consumer that finished the count
        throw err;
      }
      if (!more) {
        if (received >= opts.count) break;
        throw new Error("connection closed");
      }
      received += got;
      if (received >= opts.count) {
        end ||= performance.now();
        break;
      }
      try {
        if (got > 0) await writeAll(conn, fins.subarray(0, got * fin.length));
      } catch (err) {
        if (received >= opts.count) break;
        throw err;
      }
    }
    // The count is reached: the other consumers may be waiting for messages that will not come.
    for (const c of conns) {
      try {
        c.close();
      } catch { /* closed already */ }
    }
  };
  await Promise.all(conns.map(one));
  return result(received, bytes, (end || performance.now()) - start);
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

/** Latency percentiles (ms) of a run. */
export interface LatencyResult {
  rate: number;
  messages: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/**
 * End-to-end latency: publishes `rate` msg/s (PUB in 1 ms ticks) for `seconds` while a consumer
 * (unbuffered output, RDY 2500, FIN each) receives them; each body carries its send time.
 */
export async function latency(
  port: number,
  opts: { topic: string; rate: number; seconds: number; size?: number },
): Promise<LatencyResult> {
  const size = Math.max(opts.size ?? 100, 16);
  const sub = await Deno.connect({ hostname: "127.0.0.1", port });
  const identify = enc.encode(JSON.stringify({ output_buffer_size: -1 }));
  await writeAll(sub, enc.encode("  V2IDENTIFY\n"));
  await writeAll(sub, int32(identify.length));
  await writeAll(sub, identify);
  await writeAll(sub, enc.encode(`SUB ${opts.topic} lat\nRDY 2500\n`));
  const pub = await Deno.connect({ hostname: "127.0.0.1", port });
  await writeAll(pub, enc.encode("  V2"));
  const pubReader = new FrameReader(pub);
  (async () => {
    try {
      while (await pubReader.readSome(() => {})) { /* drain OKs */ }
    } catch { /* closed */ }
  })();
  const lat: number[] = [];
  const total = Math.round(opts.rate * opts.seconds);
  const reader = new FrameReader(sub);
  const fin = enc.encode("FIN 0000000000000000\n");
  const done = (async () => {
    while (lat.length < total) {
      const fins: Uint8Array[] = [];
      const more = await reader.readSome((type, buf, off, len) => {
        if (type !== 2) return;
        const sent = new DataView(buf.buffer, buf.byteOffset + off + 26, 8).getFloat64(0);
        lat.push(performance.now() - sent);
        const f = fin.slice();
        f.set(buf.subarray(off + 10, off + 26), 4);
        fins.push(f);
        void len;
      });
      if (!more) break;
      if (fins.length > 0) {
        const all = new Uint8Array(fins.length * fin.length);
        fins.forEach((f, i) => all.set(f, i * fin.length));
        await writeAll(sub, all);
      }
    }
  })();
  // Publish in 1 ms ticks: rate/1000 PUBs per tick (fractions carried over).
  const head = enc.encode(`PUB ${opts.topic}\n`);
  let sent = 0;
  const start = performance.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * opts.rate));
    const n = due - sent;
    if (n > 0) {
      const batch = new Uint8Array(n * (head.length + 4 + size));
      for (let i = 0; i < n; i++) {
        const off = i * (head.length + 4 + size);
        batch.set(head, off);
        batch.set(int32(size), off + head.length);
        new DataView(batch.buffer, off + head.length + 4, 8).setFloat64(0, performance.now());
      }
      await writeAll(pub, batch);
      sent += n;
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  sub.close();
  pub.close();
  lat.sort((a, b) => a - b);
  const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  return {
    rate: opts.rate,
    messages: lat.length,
    p50: q(0.5),
    p99: q(0.99),
    p999: q(0.999),
    max: lat[lat.length - 1],
  };
}
