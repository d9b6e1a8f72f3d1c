/**
 * A min-heap of messages ordered by `msg.pri` (a deadline in ms), with each message's position
 * kept in `msg.index` so any message can be removed in O(log n) (nsq `nsqd/in_flight_pqueue.go`).
 * Used for the in-flight queue and for the deferred queue of a channel.
 */
import type { Message } from "../protocol/message.ts";

export class InFlightQueue {
  #heap: Message[] = [];

  get length(): number {
    return this.#heap.length;
  }

  push(msg: Message): void {
    const h = this.#heap;
    msg.index = h.length;
    h.push(msg);
    this.#up(msg.index);
  }

  /** Removes `msg` (which must be in this queue). */
  remove(msg: Message): void {
    const h = this.#heap;
    const i = msg.index;
    if (i < 0 || i >= h.length || h[i] !== msg) return;
    const last = h.pop()!;
    if (i < h.length) {
      h[i] = last;
      last.index = i;
      this.#down(i);
      this.#up(last.index);
    }
    msg.index = -1;
  }

  /** Removes and returns the earliest message if its deadline is at or before `now`. */
  peekAndShift(now: number): Message | undefined {
    const h = this.#heap;
    if (h.length === 0 || h[0].pri > now) return undefined;
    const top = h[0];
    this.remove(top);
    return top;
  }

  /** The earliest deadline, or Infinity. */
  get nextDeadline(): number {
    return this.#heap.length === 0 ? Infinity : this.#heap[0].pri;
  }

  /** Removes every message (order unspecified). */
  drain(): Message[] {
    const out = this.#heap;
    for (const m of out) m.index = -1;
    this.#heap = [];
    return out;
  }

  #up(i: number): void {
    const h = this.#heap;
    const item = h[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent];
      if (p.pri <= item.pri) break;
      h[i] = p;
      p.index = i;
      i = parent;
    }
    h[i] = item;
    item.index = i;
  }

  #down(i: number): void {
    const h = this.#heap;
    const n = h.length;
    const item = h[i];
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && h[child + 1].pri < h[child].pri) child++;
      const c = h[child];
      if (c.pri >= item.pri) break;
      h[i] = c;
      c.index = i;
      i = child;
    }
    h[i] = item;
    item.index = i;
  }
}
