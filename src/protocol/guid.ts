/**
 * Message IDs (nsq `nsqd/guid.go`, shared/nsq-reference.md §1.4): a snowflake-like 64-bit number
 * `((ts - twepoch) << 22) | (nodeId << 12) | sequence` with `ts = UnixNano >> 20`, written as 16
 * lowercase hex characters. One factory per topic, as upstream.
 *
 * Where upstream sleeps 1 ms when the clock goes backwards or 4096 IDs were made in one tick, this
 * factory borrows the next tick instead (we cannot block the event loop): IDs stay unique and
 * increasing, and the borrowed ticks are paid back as the clock catches up.
 */

const TWEPOCH = 1288834974288;
const SEQUENCE_MASK = 0xfff;

/** The 4096 sequence numbers as 3 ASCII hex digits each (the last 3 bytes of an ID). */
const SEQ_HEX = new Uint8Array(4096 * 3);
for (let i = 0; i < 4096; i++) {
  const h = i.toString(16).padStart(3, "0");
  for (let j = 0; j < 3; j++) SEQ_HEX[i * 3 + j] = h.charCodeAt(j);
}

const NO_PREFIX = new Uint8Array(0);

export class GuidFactory {
  readonly #nodeId: number;
  #lastTs = -1;
  #sequence = 0;
  /**
   * The first 13 hex digits (time and node) as ASCII, which change once per tick; made at the first ID (an
   * idle topic does not hold one: a small typed array costs ~200 bytes on V8).
   */
  #prefix = NO_PREFIX;

  constructor(nodeId: number) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId >= 1024) {
      throw new RangeError("--node-id must be [0,1024)");
    }
    this.#nodeId = nodeId;
  }

  /**
   * Writes the next ID as 16 ASCII bytes at `out[off]`: the tick's 13-byte prefix and the sequence's
   * 3 bytes (no string is made: IDs live next to the bodies).
   */
  writeNext(nowMs: number, out: Uint8Array, off: number): void {
    // UnixNano >> 20, computed from ms without losing the integer part.
    let ts = Math.floor((nowMs * 1e6) / 1048576);
    if (ts <= this.#lastTs) {
      ts = this.#lastTs;
      this.#sequence = (this.#sequence + 1) & SEQUENCE_MASK;
      if (this.#sequence === 0) ts = this.#lastTs + 1;
    } else {
      this.#sequence = 0;
    }
    let prefix = this.#prefix;
    if (ts !== this.#lastTs) {
      if (prefix === NO_PREFIX) prefix = this.#prefix = new Uint8Array(13);
      this.#lastTs = ts;
      const t = ts - TWEPOCH;
      // The top 32 bits are t >> 10; the low 32 bits hold t's low 10 bits, the node (10 bits) and the
      // sequence (12 bits): everything but the last 3 hex digits is fixed for this tick.
      const hi = Math.floor(t / 1024) >>> 0;
      const loTop = (((t % 1024) * 4194304) + this.#nodeId * 4096) >>> 12; // 20 bits
      const text = hi.toString(16).padStart(8, "0") + loTop.toString(16).padStart(5, "0");
      for (let i = 0; i < 13; i++) prefix[i] = text.charCodeAt(i);
    }
    for (let i = 0; i < 13; i++) out[off + i] = prefix[i];
    const s = this.#sequence * 3;
    out[off + 13] = SEQ_HEX[s];
    out[off + 14] = SEQ_HEX[s + 1];
    out[off + 15] = SEQ_HEX[s + 2];
  }

  /** The next ID as a string (tests; the broker uses `writeNext`). */
  next(nowMs = Date.now()): string {
    const b = new Uint8Array(16);
    this.writeNext(nowMs, b, 0);
    return String.fromCharCode(...b);
  }
}
