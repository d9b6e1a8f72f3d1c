/**
 * A test client that performs NSQ's IDENTIFY upgrades on its own, independently of the server's code:
 * TLS with node:tls, Deflate with node:zlib (raw, sync flush), Snappy with a framing codec written here
 * from the format description (raw blocks by the `snappyjs` package).
 */
import net from "node:net";
import tls from "node:tls";
import zlib from "node:zlib";
import SnappyJS from "snappyjs";
import {
  decodeMessage,
  encodeCommand,
  type Frame,
  FRAME_MESSAGE,
  FRAME_RESPONSE,
  type NsqMessage,
} from "./harness.ts";

const FIXTURES = new URL("./fixtures/", import.meta.url).pathname;
export const fixture = (name: string): string => Deno.readTextFileSync(FIXTURES + name);
const dec = new TextDecoder();

// ---- CRC-32C and the snappy framing format, from the spec -------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

function crc32c(b: Uint8Array): number {
  let c = 0xffffffff;
  for (const x of b) c = CRC_TABLE[(c ^ x) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function masked(b: Uint8Array): number {
  const c = crc32c(b);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

const STREAM_ID = new Uint8Array([0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59]);

/** Encodes one write as snappy frames: compressed chunks (odd writes uncompressed, to test both). */
class SnappyWriter {
  #started = false;
  #n = 0;
  encode(data: Uint8Array): Uint8Array {
    const parts: Uint8Array[] = [];
    if (!this.#started) {
      parts.push(STREAM_ID);
      this.#started = true;
    }
    for (let off = 0; off < data.length; off += 65536) {
      const piece = data.subarray(off, off + 65536);
      const compressed = this.#n++ % 2 === 0;
      const payload = compressed ? new Uint8Array(SnappyJS.compress(piece)) : piece;
      const chunk = new Uint8Array(8 + payload.length);
      chunk[0] = compressed ? 0x00 : 0x01;
      const len = 4 + payload.length;
      chunk[1] = len & 0xff;
      chunk[2] = (len >> 8) & 0xff;
      chunk[3] = (len >> 16) & 0xff;
      new DataView(chunk.buffer).setUint32(4, masked(piece), true);
      chunk.set(payload, 8);
      parts.push(chunk);
    }
    return concatBytes(parts);
  }
}

/** Decodes snappy frames, checking the stream identifier and every CRC. */
class SnappyReader {
  #buf: Uint8Array = new Uint8Array(0);
  #sawId = false;
  push(chunk: Uint8Array): Uint8Array {
    this.#buf = concatBytes([this.#buf, chunk]);
    const out: Uint8Array[] = [];
    while (this.#buf.length >= 4) {
      const type = this.#buf[0];
      const len = this.#buf[1] | (this.#buf[2] << 8) | (this.#buf[3] << 16);
      if (this.#buf.length < 4 + len) break;
      const body = this.#buf.subarray(4, 4 + len);
      if (type === 0xff) {
        if (dec.decode(body) !== "sNaPpY") throw new Error("bad stream identifier");
        this.#sawId = true;
      } else if (type === 0x00 || type === 0x01) {
        if (!this.#sawId) throw new Error("data before the stream identifier");
        const crc = new DataView(body.buffer, body.byteOffset).getUint32(0, true);
        const data = type === 0x00 ? new Uint8Array(SnappyJS.uncompress(body.subarray(4))) : body.slice(4);
        if (masked(data) !== crc) throw new Error("bad CRC");
        out.push(data);
      } else if (type < 0x80) throw new Error(`reserved chunk type ${type}`);
      this.#buf = this.#buf.slice(4 + len);
    }
    return concatBytes(out);
  }
}

function concatBytes(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

// ---- the client --------------------------------------------------------------------------------------

export class UpgradeClient {
  #sock: net.Socket;
  #buf: Uint8Array = new Uint8Array(0);
  #waiter: (() => void) | null = null;
  #closed = false;
  #out: (b: Uint8Array) => void;
  #inbound: (b: Uint8Array) => void;
  tlsSocket: tls.TLSSocket | null = null;

  private constructor(sock: net.Socket) {
    this.#sock = sock;
    this.#out = (b) => this.#sock.write(b);
    this.#inbound = (b) => this.#append(b);
    this.#listen(sock);
  }

  static connect(port: number): Promise<UpgradeClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect(port, "127.0.0.1", () => resolve(new UpgradeClient(sock)));
      sock.once("error", reject);
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  write(data: string | Uint8Array): void {
    this.#out(typeof data === "string" ? new TextEncoder().encode(data) : data);
  }

  command(line: string, body?: string | Uint8Array): void {
    this.write(encodeCommand(line, body));
  }

  async readFrame(timeoutMs = 5000): Promise<Frame> {
    const head = await this.#read(8, timeoutMs);
    const view = new DataView(head.buffer, head.byteOffset);
    const data = await this.#read(view.getUint32(0) - 4, timeoutMs);
    return { type: view.getInt32(4), data, text: dec.decode(data) };
  }

  async readNonHeartbeat(timeoutMs = 5000): Promise<Frame> {
    for (;;) {
      const f = await this.readFrame(timeoutMs);
      if (!(f.type === FRAME_RESPONSE && f.text === "_heartbeat_")) return f;
    }
  }

  async readMessage(timeoutMs = 5000): Promise<NsqMessage> {
    const f = await this.readNonHeartbeat(timeoutMs);
    if (f.type !== FRAME_MESSAGE) throw new Error(`expected a message, got ${f.type} ${f.text}`);
    return decodeMessage(f.data);
  }

  /**
   * Waits for data, then hands every complete frame in the buffer to `onFrame` synchronously (for
   * throughput runs: no promise per frame). Resolves with the number of frames handled (0 = closed).
   */
  async drainFrames(
    onFrame: (type: number, data: Uint8Array, off: number, len: number) => void,
  ): Promise<number> {
    // Wait for at least one complete frame.
    while (
      this.#buf.length - this.#off < 8 ||
      this.#buf.length - this.#off <
        4 + new DataView(this.#buf.buffer, this.#buf.byteOffset).getUint32(this.#off)
    ) {
      if (this.#closed) return 0;
      await new Promise<void>((r) => {
        this.#waiter = () => {
          this.#waiter = null;
          r();
        };
      });
    }
    let n = 0;
    const buf = this.#buf;
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    while (buf.length - this.#off >= 8) {
      const size = view.getUint32(this.#off);
      if (buf.length - this.#off < 4 + size) break;
      onFrame(view.getInt32(this.#off + 4), buf, this.#off + 8, size - 4);
      this.#off += 4 + size;
      n++;
    }
    return n;
  }

  /** Client side of the TLS upgrade on the same socket. */
  startTls(options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
    if (this.#buf.length > this.#off) throw new Error("plain bytes left before TLS");
    this.#sock.removeAllListeners("data");
    this.#sock.removeAllListeners("close");
    return new Promise((resolve, reject) => {
      const t = tls.connect({
        socket: this.#sock,
        servername: "localhost",
        ca: fixture("ca.pem"),
        ...options,
      }, () => resolve(t));
      t.once("error", reject);
      this.tlsSocket = t;
      this.#sock = t;
      this.#out = (b) => t.write(b);
      this.#listen(t);
    });
  }

  startDeflate(level: number): void {
    const write = this.#out;
    const deflate = zlib.createDeflateRaw({ level });
    deflate.on("data", (c: Uint8Array) => write(c));
    this.#out = (b) => {
      deflate.write(b);
      deflate.flush(zlib.constants.Z_SYNC_FLUSH);
    };
    const inflate = zlib.createInflateRaw();
    inflate.on("data", (c: Uint8Array) => this.#append(c));
    const rest = this.#buf.subarray(this.#off);
    this.#buf = new Uint8Array(0);
    this.#off = 0;
    this.#inbound = (b) => inflate.write(b);
    if (rest.length > 0) inflate.write(rest);
  }

  startSnappy(): void {
    const write = this.#out;
    const writer = new SnappyWriter();
    this.#out = (b) => write(writer.encode(b));
    const reader = new SnappyReader();
    const rest = this.#buf.subarray(this.#off);
    this.#buf = new Uint8Array(0);
    this.#off = 0;
    this.#inbound = (b) => this.#append(reader.push(b));
    if (rest.length > 0) this.#inbound(rest);
  }

  close(): void {
    this.#sock.destroy();
  }

  async expectClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.#closed) {
      if (Date.now() > deadline) throw new Error("still open");
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  #listen(sock: net.Socket): void {
    sock.on("data", (c: Uint8Array) => this.#inbound(new Uint8Array(c)));
    sock.on("close", () => {
      this.#closed = true;
      this.#waiter?.();
    });
    sock.on("error", () => {});
  }

  /** Unread bytes are #buf[#off..]; appends compact first so reads stay linear. */
  #off = 0;

  #append(b: Uint8Array): void {
    if (b.length === 0) return;
    this.#buf = concatBytes([this.#buf.subarray(this.#off), b]);
    this.#off = 0;
    this.#waiter?.();
  }

  async #read(n: number, timeoutMs: number): Promise<Uint8Array> {
    const deadline = Date.now() + timeoutMs;
    while (this.#buf.length - this.#off < n) {
      if (this.#closed) throw new Error(`closed with ${this.#buf.length - this.#off} of ${n} bytes`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out reading ${n} bytes`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.#waiter = () => {
          clearTimeout(t);
          this.#waiter = null;
          r();
        };
      });
    }
    const out = this.#buf.slice(this.#off, this.#off + n);
    this.#off += n;
    return out;
  }
}

/** Magic + IDENTIFY with feature negotiation; returns the parsed JSON reply. */
export async function identify(
  c: UpgradeClient,
  body: Record<string, unknown>,
): Promise<Record<string, unknown>> {
  c.write("  V2");
  c.command("IDENTIFY", JSON.stringify({ feature_negotiation: true, ...body }));
  const f = await c.readFrame();
  if (f.type !== FRAME_RESPONSE) throw new Error(`IDENTIFY: ${f.text}`);
  return JSON.parse(f.text);
}
