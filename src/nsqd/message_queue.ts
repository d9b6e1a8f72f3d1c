/**
 * A FIFO ring buffer of messages: the memory queue of a topic or channel (nsq's buffered Go
 * channel of capacity `--mem-queue-size`).
 *
 * Queued messages are kept packed, not as objects: a reference to the buffer holding ID and body,
 * and the message's numbers in an Int32Array. `shift()` makes the message object again. A million
 * queued messages are then a million array slots and typed-array entries for the garbage collector,
 * not a million objects to mark on every major GC (on V8 the objects of a deep queue were allocated
 * straight in the old generation and marked again and again: the largest cost of publishing into
 * one, and ~120 bytes each). The objects `shift()` makes live only until FIN, in the young generation.
 *
 * It starts with no storage (an idle topic or channel costs no ring), grows by doubling and shrinks
 * by halving once three quarters are empty, so a burst's ring is not kept.
 */
import { makeDeliveryMessage, type Message } from "../protocol/message.ts";

/** Int32 fields per entry: off, len (-1: the entry is a message object), tsHi, tsLo, attempts. */
const STRIDE = 5;
/** Capacity of the first ring. */
const MIN_CAPACITY = 16;
/** Rings up to this capacity are not shrunk. */
const SHRINK_ABOVE = 256;

const NO_REFS: (Uint8Array | Message | undefined)[] = [];
const NO_INTS = new Int32Array(0);

export class MessageQueue {
  /** Per entry: the buffer of ID and body, or (len -1) the message object itself. */
  #refs = NO_REFS;
  #ints = NO_INTS;
  #head = 0;
  #size = 0;
  #cap = 0;

  get length(): number {
    return this.#size;
  }

  push(msg: Message): void {
    if (this.#size === this.#cap) this.#resize(this.#cap === 0 ? MIN_CAPACITY : this.#cap * 2);
    const i = (this.#head + this.#size) & (this.#cap - 1);
    const b = i * STRIDE;
    const ints = this.#ints;
    if (msg.deferMs === 0) {
      // The common case: everything else a message holds is reset when it is delivered again.
      this.#refs[i] = msg.data;
      ints[b] = msg.off;
      ints[b + 1] = msg.len;
      ints[b + 2] = msg.tsHi;
      ints[b + 3] = msg.tsLo;
      ints[b + 4] = msg.attempts;
    } else {
      // A deferral asked for at publish (waiting on a topic): rare, kept whole.
      this.#refs[i] = msg;
      ints[b + 1] = -1;
    }
    this.#size++;
  }

  /** The oldest message, left in place (a new object on each call), or undefined when empty. */
  peek(): Message | undefined {
    return this.#size === 0 ? undefined : this.#at(this.#head);
  }

  /** Removes and returns the oldest message, or undefined when empty. */
  shift(): Message | undefined {
    if (this.#size === 0) return undefined;
    const i = this.#head;
    const msg = this.#at(i);
    this.#refs[i] = undefined;
    this.#head = (i + 1) & (this.#cap - 1);
    this.#size--;
    if (this.#cap > SHRINK_ABOVE && this.#size * 4 < this.#cap) this.#resize(this.#cap / 2);
    return msg;
  }

  /** Removes every message and returns them in order. */
  drain(): Message[] {
    const out: Message[] = [];
    let m;
    while ((m = this.shift()) !== undefined) out.push(m);
    return out;
  }

  clear(): void {
    this.#refs = NO_REFS;
    this.#ints = NO_INTS;
    this.#cap = 0;
    this.#head = 0;
    this.#size = 0;
  }

  #at(i: number): Message {
    const b = i * STRIDE;
    const ints = this.#ints;
    const len = ints[b + 1];
    if (len === -1) return this.#refs[i] as Message;
    return makeDeliveryMessage(
      this.#refs[i] as Uint8Array,
      ints[b],
      len,
      ints[b + 2],
      ints[b + 3],
      ints[b + 4],
    );
  }

  #resize(cap: number): void {
    const refs: (Uint8Array | Message | undefined)[] = new Array(cap).fill(undefined);
    const ints = new Int32Array(cap * STRIDE);
    // The entries run from head to the end of the old ring, then on from its start.
    const size = this.#size;
    const head = this.#head;
    const first = Math.min(size, this.#cap - head);
    for (let k = 0; k < first; k++) refs[k] = this.#refs[head + k];
    for (let k = first; k < size; k++) refs[k] = this.#refs[k - first];
    ints.set(this.#ints.subarray(head * STRIDE, (head + first) * STRIDE), 0);
    ints.set(this.#ints.subarray(0, (size - first) * STRIDE), first * STRIDE);
    this.#refs = refs;
    this.#ints = ints;
    this.#cap = cap;
    this.#head = 0;
  }
}
