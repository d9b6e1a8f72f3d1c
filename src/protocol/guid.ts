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

/** The 4096 sequence numbers as 3 hex digits (the last 3 characters of an ID). */
const SEQ_HEX: string[] = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, "0"));

export class GuidFactory {
  readonly #nodeId: number;
  #lastTs = -1;
  #sequence = 0;
  /** The first 13 hex digits (time and node), which change once per tick. */
  #prefix = "";

  constructor(nodeId: number) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId >= 1024) {
      throw new RangeError("--node-id must be [0,1024)");
    }
    this.#nodeId = nodeId;
  }

  /** The next ID: a per-tick prefix plus the sequence (one concatenation per message). */
  next(nowMs = Date.now()): string {
    // UnixNano >> 20, computed from ms without losing the integer part.
    let ts = Math.floor((nowMs * 1e6) / 1048576);
    if (ts <= this.#lastTs) {
      ts = this.#lastTs;
      this.#sequence = (this.#sequence + 1) & SEQUENCE_MASK;
      if (this.#sequence === 0) ts = this.#lastTs + 1;
    } else {
      this.#sequence = 0;
    }
    if (ts !== this.#lastTs) {
      this.#lastTs = ts;
      const t = ts - TWEPOCH;
      // The top 32 bits are t >> 10; the low 32 bits hold t's low 10 bits, the node (10 bits) and the
      // sequence (12 bits): everything but the last 3 hex digits is fixed for this tick.
      const hi = Math.floor(t / 1024) >>> 0;
      const loTop = (((t % 1024) * 4194304) + this.#nodeId * 4096) >>> 12; // 20 bits
      this.#prefix = hi.toString(16).padStart(8, "0") + loTop.toString(16).padStart(5, "0");
    }
    return this.#prefix + SEQ_HEX[this.#sequence];
  }
}
