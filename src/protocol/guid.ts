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

/** ASCII codes of the lowercase hex digits. */
const HEX = [48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102];

export class GuidFactory {
  readonly #nodeId: number;
  #lastTs = -1;
  #sequence = 0;
  /** The 8 hex digits of the top 32 bits, as character codes (they change once per tick). */
  #hi = [48, 48, 48, 48, 48, 48, 48, 48];
  #loBase = 0;

  constructor(nodeId: number) {
    if (!Number.isInteger(nodeId) || nodeId < 0 || nodeId >= 1024) {
      throw new RangeError("--node-id must be [0,1024)");
    }
    this.#nodeId = nodeId;
  }

  /** The next ID (one flat 16-character string: it is hashed as a map key on every FIN). */
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
      // The top 32 bits are t >> 10; the low 32 bits hold t's low 10 bits, the node and the sequence.
      const hi = Math.floor(t / 1024) >>> 0;
      for (let i = 0; i < 8; i++) this.#hi[i] = HEX[(hi >>> (28 - 4 * i)) & 15];
      this.#loBase = ((t % 1024) * 4194304) + this.#nodeId * 4096;
    }
    const lo = (this.#loBase + this.#sequence) >>> 0;
    const h = this.#hi;
    return String.fromCharCode(
      h[0],
      h[1],
      h[2],
      h[3],
      h[4],
      h[5],
      h[6],
      h[7],
      HEX[lo >>> 28],
      HEX[(lo >>> 24) & 15],
      HEX[(lo >>> 20) & 15],
      HEX[(lo >>> 16) & 15],
      HEX[(lo >>> 12) & 15],
      HEX[(lo >>> 8) & 15],
      HEX[(lo >>> 4) & 15],
      HEX[lo & 15],
    );
  }
}
