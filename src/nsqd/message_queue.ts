/**
 * A FIFO ring buffer of messages: the memory queue of a topic or channel (nsq's buffered Go
 * channel of capacity `--mem-queue-size`). Grows by doubling; never shrinks below its start size.
 */
import type { Message } from "../protocol/message.ts";

export class MessageQueue {
  #items: (Message | undefined)[];
  #head = 0;
  #size = 0;
  #mask: number;

  constructor(initialCapacity = 16) {
    let cap = 16;
    while (cap < initialCapacity) cap *= 2;
    this.#items = new Array(cap);
    this.#mask = cap - 1;
  }

  get length(): number {
    return this.#size;
  }

  push(msg: Message): void {
    if (this.#size === this.#items.length) this.#grow();
    this.#items[(this.#head + this.#size) & this.#mask] = msg;
    this.#size++;
  }

  /** The oldest message, left in place, or undefined when empty. */
  peek(): Message | undefined {
    return this.#size === 0 ? undefined : this.#items[this.#head];
  }

  /** Removes and returns the oldest message, or undefined when empty. */
  shift(): Message | undefined {
    if (this.#size === 0) return undefined;
    const i = this.#head;
    const msg = this.#items[i];
    this.#items[i] = undefined;
    this.#head = (i + 1) & this.#mask;
    this.#size--;
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
    this.#items = new Array(16);
    this.#mask = 15;
    this.#head = 0;
    this.#size = 0;
  }

  #grow(): void {
    const old = this.#items;
    const cap = old.length * 2;
    const next: (Message | undefined)[] = new Array(cap);
    for (let i = 0; i < this.#size; i++) next[i] = old[(this.#head + i) & this.#mask];
    this.#items = next;
    this.#head = 0;
    this.#mask = cap - 1;
  }
}
