/**
 * Where published messages keep their bytes: the 16-byte ID followed by the body, copied into
 * shared slabs. A small message costs a slice of a slab instead of an ArrayBuffer of its own (an
 * ArrayBuffer and its backing store cost far more than a 100-byte body), and no string or view is
 * made for it (see `Message`). A slab lives as long as any message in it, so slabs are small
 * (16 KiB) and large messages get their own buffer; with FIFO consumption slabs are freed as they
 * are drained.
 */
import { copyBytes } from "../protocol/bytes.ts";
import type { GuidFactory } from "../protocol/guid.ts";
import { makeMessage, type Message, MSG_ID_LENGTH, tsHiOf, tsLoOf } from "../protocol/message.ts";

export class BodyArena {
  readonly #slabSize: number;
  #slab = new Uint8Array(0);
  #used = 0;
  /** The buffer of the last `alloc()`. */
  buf: Uint8Array = this.#slab;

  constructor(slabSize = 16 * 1024) {
    this.#slabSize = slabSize;
  }

  /** Room for `n` bytes: returns their offset in `this.buf` (a slab, or a buffer of their own). */
  alloc(n: number): number {
    if (n > this.#slabSize >> 2) {
      this.buf = new Uint8Array(n);
      return 0;
    }
    if (this.#used + n > this.#slab.length) {
      this.#slab = new Uint8Array(this.#slabSize);
      this.#used = 0;
    }
    this.buf = this.#slab;
    const at = this.#used;
    this.#used = at + n;
    return at;
  }

  /**
   * A new message with the next ID of `guid` (at `nowMs`) and a copy of `src[start..end)` as its
   * body, published at `tsHi:tsLo` (the int32 halves of its timestamp in ns).
   */
  message(
    guid: GuidFactory,
    nowMs: number,
    src: Uint8Array,
    start: number,
    end: number,
    tsHi: number,
    tsLo: number,
  ): Message {
    const n = end - start;
    const at = this.alloc(MSG_ID_LENGTH + n);
    const buf = this.buf;
    guid.writeNext(nowMs, buf, at);
    copyBytes(src, start, end, buf, at + MSG_ID_LENGTH);
    return makeMessage(buf, at, n, tsHi, tsLo);
  }
}

/** A message with the next ID of `guid` and a copy of `body`, published now (`nowNs`). */
export function newMessage(guid: GuidFactory, body: Uint8Array, nowNs: number, arena?: BodyArena): Message {
  return (arena ?? new BodyArena(0)).message(
    guid,
    Math.floor(nowNs / 1e6),
    body,
    0,
    body.length,
    tsHiOf(nowNs),
    tsLoOf(nowNs),
  );
}
