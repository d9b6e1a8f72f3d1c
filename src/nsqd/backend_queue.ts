/**
 * Where a topic or channel puts messages past `--mem-queue-size` (nsq's `BackendQueue`).
 *
 * This slice keeps the overflow in memory (`MemoryBackend`); the disk queue of the durability issue
 * implements the same interface. Ephemeral topics and channels use `DummyBackend`, which drops the
 * overflow as upstream's `dummyBackendQueue` does (shared/nsq-reference.md §3.3).
 */
import type { Message } from "../protocol/message.ts";
import { MessageQueue } from "./message_queue.ts";

export interface BackendQueue {
  /** Stores a message; throws when it cannot (the caller reports it as a health error). */
  put(msg: Message): void;
  /** The next stored message, or undefined when none can be read now. */
  read(): Message | undefined;
  /** Messages stored and not yet read. */
  readonly depth: number;
  /** Drops everything stored. */
  empty(): void;
  /** Hands back everything stored (for shutdown and tests). */
  drain(): Message[];
}

/** Keeps the overflow in memory, in order. */
export class MemoryBackend implements BackendQueue {
  #queue = new MessageQueue();

  put(msg: Message): void {
    this.#queue.push(msg);
  }
  read(): Message | undefined {
    return this.#queue.shift();
  }
  get depth(): number {
    return this.#queue.length;
  }
  empty(): void {
    this.#queue.clear();
  }
  drain(): Message[] {
    return this.#queue.drain();
  }
}

/** Drops what it is given (ephemeral topics and channels). */
export class DummyBackend implements BackendQueue {
  put(_msg: Message): void {}
  read(): Message | undefined {
    return undefined;
  }
  get depth(): number {
    return 0;
  }
  empty(): void {}
  drain(): Message[] {
    return [];
  }
}
