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

/** Compact the FIFO once this many slots before its head are spent, or this many holes pile up. */
const COMPACT_SLACK = 1024;

/**
 * The in-flight queue of a channel: the same operations as `InFlightQueue`, for deadlines that mostly
 * arrive in order. Every delivery's deadline is now + the client's message timeout, so with one timeout
 * per channel (the usual case) deadlines only grow: those go to a FIFO where push, the FIN of the oldest
 * message and the timeout of the earliest are O(1) and touch one message, where a heap touches two per
 * level (cache misses on messages spread over the heap: the heap was ~5 % of a consumer's profile). A
 * deadline earlier than the last one in the FIFO (TOUCH, clients with different timeouts) goes to a heap;
 * the earliest of both heads comes out first.
 *
 * A message in the FIFO has `index` = -2 - its slot; a removed one leaves a hole that is skipped, and the
 * FIFO is compacted (slots renumbered) when holes or spent slots pile up, so memory stays proportional to
 * the messages in flight.
 */
export class DeadlineQueue {
  #fifo: (Message | undefined)[] = [];
  /** First slot that may hold a message. */
  #head = 0;
  /** Messages in the FIFO. */
  #live = 0;
  /** Deadline of the last message appended to the FIFO. */
  #lastPri = 0;
  readonly #heap = new InFlightQueue();

  get length(): number {
    return this.#live + this.#heap.length;
  }

  push(msg: Message): void {
    if (this.#live > 0 && msg.pri < this.#lastPri) {
      this.#heap.push(msg);
      return;
    }
    msg.index = -2 - this.#fifo.length;
    this.#fifo.push(msg);
    this.#live++;
    this.#lastPri = msg.pri;
  }

  /** Removes `msg` (which must be in this queue). */
  remove(msg: Message): void {
    const index = msg.index;
    if (index >= 0) {
      this.#heap.remove(msg);
      return;
    }
    const slot = -2 - index;
    if (slot < this.#head || slot >= this.#fifo.length || this.#fifo[slot] !== msg) return;
    this.#fifo[slot] = undefined;
    msg.index = -1;
    this.#live--;
    this.#tidy();
  }

  /** Removes and returns the earliest message if its deadline is at or before `now`. */
  peekAndShift(now: number): Message | undefined {
    const first = this.#live > 0 ? this.#fifo[this.#head]! : undefined;
    const top = this.#heap.nextDeadline;
    if (first !== undefined && first.pri <= top) {
      if (first.pri > now) return undefined;
      this.remove(first);
      return first;
    }
    return this.#heap.peekAndShift(now);
  }

  /** The earliest deadline, or Infinity. */
  get nextDeadline(): number {
    const top = this.#heap.nextDeadline;
    if (this.#live === 0) return top;
    const pri = this.#fifo[this.#head]!.pri;
    return pri < top ? pri : top;
  }

  /** Removes every message (order unspecified). */
  drain(): Message[] {
    const out: Message[] = [];
    for (let i = this.#head; i < this.#fifo.length; i++) {
      const m = this.#fifo[i];
      if (m === undefined) continue;
      m.index = -1;
      out.push(m);
    }
    this.#fifo = [];
    this.#head = 0;
    this.#live = 0;
    for (const m of this.#heap.drain()) out.push(m);
    return out;
  }

  /** Keeps the head on a message, and the FIFO no bigger than a bounded slack over its messages. */
  #tidy(): void {
    const fifo = this.#fifo;
    if (this.#live === 0) {
      fifo.length = 0;
      this.#head = 0;
      return;
    }
    let head = this.#head;
    while (fifo[head] === undefined) head++;
    this.#head = head;
    const holes = fifo.length - head - this.#live;
    // (compacting costs the messages and holes after the head: amortized O(1) per removal)
    if (head < COMPACT_SLACK + this.#live && holes < COMPACT_SLACK + this.#live) return;
    // Compact: keep the messages in order from slot 0 and renumber them.
    let n = 0;
    for (let i = head; i < fifo.length; i++) {
      const m = fifo[i];
      if (m === undefined) continue;
      m.index = -2 - n;
      fifo[n++] = m;
    }
    fifo.length = n;
    this.#head = 0;
  }
}
