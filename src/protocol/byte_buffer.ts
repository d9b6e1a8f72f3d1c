/**
 * The growable byte buffer under `FrameBuffer` (server → client frames) and `CommandWriter`
 * (client → server commands): bytes are appended, the owner hands `bytes()` to the socket in one
 * write and then `reset()`s it. One per connection, reused for the life of the connection.
 */
export class ByteBuffer {
  /** The storage; `reserve()` may replace it, so read it after reserving. */
  protected buf: Uint8Array;
  /** Bytes written and not yet taken. */
  protected len = 0;

  /** Starts small (an idle connection keeps little); doubles as needed and keeps its size after. */
  constructor(initialSize = 1024) {
    this.buf = new Uint8Array(initialSize);
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.len;
  }

  /** A view of the buffered bytes, valid until the next write or reset. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }

  /** Forgets the buffered bytes (after they have been written). */
  reset(): void {
    this.len = 0;
  }

  /**
   * Makes room for `n` bytes and returns where they go. It may replace `buf`: call it before
   * reading `this.buf` (`this.buf[this.reserve(1)] = …` would write into the old buffer).
   */
  protected reserve(n: number): number {
    const off = this.len;
    const need = off + n;
    if (need > this.buf.length) {
      let cap = this.buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, off));
      this.buf = next;
    }
    this.len = need;
    return off;
  }
}
