/**
 * The compressed transports NSQ clients negotiate in IDENTIFY (shared/nsq-reference.md §1.8):
 * Snappy (the snappy framing format, as golang/snappy's Reader/Writer) and Deflate (raw DEFLATE at
 * the negotiated level, a sync flush after each write batch, as Go's compress/flate with Flush()).
 * Each wraps the connection's write side as a `Conn`, and gives a function that turns received
 * bytes into the plain stream.
 */
import { constants, createDeflateRaw, createInflateRaw } from "node:zlib";
import type { Conn, NetAddr } from "../platform/types.ts";
import { SnappyFrameDecoder, SnappyFrameEncoder } from "../protocol/snappy.ts";

/** Where decompressed bytes go, and what to do when the peer's stream is corrupt. */
export interface InboundSink {
  data(plain: Uint8Array): void;
  error(err: Error): void;
}

/** Writes through the snappy framing encoder; reads through its decoder. */
export class SnappyConn implements Conn {
  readonly remoteAddr: NetAddr;
  readonly localAddr: NetAddr;
  readonly #inner: Conn;
  readonly #encoder = new SnappyFrameEncoder();
  readonly #decoder = new SnappyFrameDecoder();
  readonly #sink: InboundSink;

  constructor(inner: Conn, sink: InboundSink) {
    this.#inner = inner;
    this.#sink = sink;
    this.remoteAddr = inner.remoteAddr;
    this.localAddr = inner.localAddr;
  }

  /** Received (compressed) bytes. */
  receive(chunk: Uint8Array): void {
    let plain: Uint8Array;
    try {
      plain = this.#decoder.push(chunk);
    } catch (err) {
      this.#sink.error(err as Error);
      return;
    }
    if (plain.length > 0) this.#sink.data(plain);
  }

  get pendingBytes(): number {
    return this.#inner.pendingBytes;
  }
  write(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#inner.write(this.#encoder.encode(bytes));
  }
  close(): void {
    this.#inner.close();
  }
  destroy(): void {
    this.#inner.destroy();
  }
}

/** Writes through raw DEFLATE with a sync flush per write; reads through raw INFLATE. */
export class DeflateConn implements Conn {
  readonly remoteAddr: NetAddr;
  readonly localAddr: NetAddr;
  readonly #inner: Conn;
  readonly #deflate;
  readonly #inflate;
  #closing = false;

  constructor(inner: Conn, level: number, sink: InboundSink) {
    this.#inner = inner;
    this.remoteAddr = inner.remoteAddr;
    this.localAddr = inner.localAddr;
    this.#deflate = createDeflateRaw({ level });
    this.#deflate.on("data", (chunk: Uint8Array) => inner.write(chunk));
    this.#deflate.on("error", () => inner.destroy());
    this.#inflate = createInflateRaw();
    this.#inflate.on("data", (chunk: Uint8Array) => sink.data(chunk));
    this.#inflate.on("error", (err: Error) => sink.error(err));
  }

  /** Received (compressed) bytes; the plain bytes arrive asynchronously through the sink. */
  receive(chunk: Uint8Array): void {
    this.#inflate.write(chunk.slice());
  }

  get pendingBytes(): number {
    return this.#inner.pendingBytes + this.#deflate.writableLength;
  }
  write(bytes: Uint8Array): void {
    if (bytes.length === 0 || this.#closing) return;
    // zlib keeps the buffer until it has compressed it: copy, the caller reuses its buffer.
    this.#deflate.write(bytes.slice());
    this.#deflate.flush(constants.Z_SYNC_FLUSH);
  }
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    // What was written (an error frame before a fatal close) is compressed and sent first.
    this.#deflate.flush(constants.Z_SYNC_FLUSH, () => this.#inner.close());
  }
  destroy(): void {
    this.#closing = true;
    this.#deflate.destroy();
    this.#inflate.destroy();
    this.#inner.destroy();
  }
}
