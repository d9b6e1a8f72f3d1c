/**
 * The Consumer's message handlers (go-nsq `AddHandler` / `AddConcurrentHandlers` and their
 * `handlerLoop`): each handler works on up to `concurrency` messages at once; a message goes to the
 * first handler with room, or waits in a FIFO until one has. With auto-response on, a handler that
 * resolves finishes its message and one that throws requeues it (with backoff).
 *
 * No promise per message beyond the handler's own: a synchronous handler is answered in the same
 * call, and queued messages are started in a loop (no recursion, no microtask).
 */
import { Fifo } from "./fifo.ts";
import type { ConsumerMessage } from "./message.ts";

/** Handles one message; resolving finishes it, throwing requeues it (unless auto-response is off). */
export type MessageHandler = (msg: ConsumerMessage) => void | Promise<void>;

/** Options of {@link Consumer.addHandler}. */
export interface HandlerOptions {
  /** How many messages this handler works on at once (default 1). */
  concurrency?: number;
}

interface Pool {
  readonly fn: MessageHandler;
  readonly concurrency: number;
  active: number;
}

/** What the handlers report to their Consumer. */
export interface HandlerEvents {
  /** FIN/REQ for the handler when it returns (and did not answer itself). */
  readonly autoResponse: boolean;
  /** A handler threw or rejected. */
  onError(err: Error, msg: ConsumerMessage): void;
  /** A handler returned (the Consumer may be waiting for the last one to stop). */
  onIdle(): void;
}

/** The handlers of one Consumer and the messages waiting for one of them. */
export class Handlers {
  readonly #pools: Pool[] = [];
  readonly #queue = new Fifo<ConsumerMessage>();
  readonly #events: HandlerEvents;
  #draining = false;

  constructor(events: HandlerEvents) {
    this.#events = events;
  }

  /** How many handlers were added. */
  get count(): number {
    return this.#pools.length;
  }

  /** Whether a message is being handled or waits for a handler. */
  get busy(): boolean {
    if (this.#queue.length > 0) return true;
    for (const pool of this.#pools) if (pool.active > 0) return true;
    return false;
  }

  /** Adds a handler working on up to `concurrency` messages at once. */
  add(fn: MessageHandler, concurrency: number): void {
    this.#pools.push({ fn, concurrency, active: 0 });
  }

  /** Hands a message to the first handler with room, or queues it. */
  dispatch(msg: ConsumerMessage): void {
    for (const pool of this.#pools) {
      if (pool.active < pool.concurrency) return this.#run(pool, msg);
    }
    this.#queue.push(msg);
  }

  #run(pool: Pool, msg: ConsumerMessage): void {
    pool.active++;
    let result: void | Promise<void>;
    try {
      result = pool.fn(msg);
    } catch (err) {
      return this.#handled(pool, msg, err, true);
    }
    if (result instanceof Promise) {
      result.then(
        () => this.#handled(pool, msg, undefined, false),
        (err) => this.#handled(pool, msg, err, true),
      );
    } else this.#handled(pool, msg, undefined, false);
  }

  #handled(pool: Pool, msg: ConsumerMessage, err: unknown, failed: boolean): void {
    pool.active--;
    if (failed) {
      const e = err instanceof Error ? err : new Error(String(err));
      this.#events.onError(
        new Error(`Handler returned error (${e.message}) for msg ${msg.id}`, { cause: err }),
        msg,
      );
    }
    if (this.#events.autoResponse && msg.isAutoResponseEnabled && !msg.hasResponded) {
      if (failed) msg.requeue();
      else msg.finish();
    }
    this.#drainQueue();
    this.#events.onIdle();
  }

  /** Starts queued messages on handlers with room (a loop, so sync handlers don't recurse). */
  #drainQueue(): void {
    if (this.#draining) return;
    this.#draining = true;
    try {
      outer: while (this.#queue.length > 0) {
        for (const pool of this.#pools) {
          if (pool.active < pool.concurrency) {
            this.#run(pool, this.#queue.shift()!);
            continue outer;
          }
        }
        break;
      }
    } finally {
      this.#draining = false;
    }
  }
}
