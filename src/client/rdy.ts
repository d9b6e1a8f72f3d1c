/**
 * The Consumer's flow control (go-nsq `consumer.go`: `perConnMaxInFlight`, `maybeUpdateRDY`,
 * `updateRDY`, `rdyLoop`/`redistributeRDY`, `startStopContinueBackoff`, `resume`;
 * shared/nsq-reference.md §9.4): how many messages each nsqd may send (RDY), so that all of them
 * together never exceed `maxInFlight`.
 *
 * RDY per connection = maxInFlight / #connections (at least 1). With more connections than budget,
 * or in backoff with several connections, RDY 1 rotates on a timer among them. A requeue with
 * backoff sets RDY 0 everywhere for a growing period (`BackoffState`), then lets one message through
 * (RDY 1) to test the waters; successes bring the level down, level 0 restores full RDY.
 */
import { BackoffSignal, type BackoffState } from "./backoff.ts";
import type { ClientConfig } from "./config.ts";
import type { NsqConnection } from "./connection.ts";

/** One subscribed connection, as flow control sees it. */
export interface RdyLink {
  conn: NsqConnection | null;
  /** RDY last sent. */
  rdy: number;
  lastRdyAt: number;
  lastMsgAt: number;
  /** Messages received and not answered yet. */
  inFlight: number;
  /** nsqd's `max_rdy_count`. */
  maxRdy: number;
  /** CLS sent (stop, disconnect, or gone from nsqlookupd): no more RDY. */
  closing: boolean;
  /** A refused RDY update, tried again later. */
  retryTimer: ReturnType<typeof setTimeout> | undefined;
}

const RESUME = BackoffSignal.Resume;

/** go-nsq retries a RDY update refused for lack of budget after this long. */
const RDY_RETRY_MS = 5000;

type RdyConfig = Pick<ClientConfig, "lowRdyIdleTimeout" | "lowRdyTimeout" | "rdyRedistributeInterval">;

/** The RDY budget of one Consumer over its connections (`links`, owned by the Consumer). */
export class RdyController<L extends RdyLink> {
  /** The budget shared by all connections (go-nsq `maxInFlight`). */
  maxInFlight: number;
  /** RDY sent and not taken back, over all connections. */
  totalRdy = 0;
  /** A connection with RDY went away, or backoff is on: rotate RDY 1 at the next tick. */
  needRedistribute = false;
  readonly #links: ReadonlyMap<string, L>;
  readonly #config: RdyConfig;
  readonly #backoff: BackoffState;
  #backoffTimer: ReturnType<typeof setTimeout> | undefined;
  #redistributeTimer: ReturnType<typeof setInterval> | undefined;
  #stopped = false;

  /**
   * @param links the Consumer's subscribed connections (read, never changed here)
   * @param config the redistribution timings
   * @param backoff the backoff level (signals are applied here)
   * @param maxInFlight the initial budget
   */
  constructor(links: ReadonlyMap<string, L>, config: RdyConfig, backoff: BackoffState, maxInFlight: number) {
    this.#links = links;
    this.#config = config;
    this.#backoff = backoff;
    this.maxInFlight = maxInFlight;
  }

  /** Starts the redistribution timer (once the first connection is subscribed). */
  start(): void {
    this.#redistributeTimer ??= setInterval(() => this.redistribute(), this.#config.rdyRedistributeInterval);
  }

  /** No more RDY updates: stops every timer (the Consumer is stopping). */
  stop(): void {
    this.#stopped = true;
    clearInterval(this.#redistributeTimer);
    clearTimeout(this.#backoffTimer);
    this.#backoff.timerPending = false;
    for (const link of this.#links.values()) {
      clearTimeout(link.retryTimer);
      link.retryTimer = undefined;
    }
  }

  /** Takes back a connection's RDY (CLS sent, or the connection is gone); returns what it had. */
  release(link: L): number {
    const had = link.rdy;
    clearTimeout(link.retryTimer);
    link.retryTimer = undefined;
    this.totalRdy -= had;
    link.rdy = 0;
    return had;
  }

  /** RDY per connection: maxInFlight / #connections, at least 1, at most maxInFlight. */
  perConnMaxInFlight(): number {
    const b = this.maxInFlight;
    const s = Math.floor(b / Math.max(1, this.#links.size));
    return Math.min(Math.max(1, s), b);
  }

  /** Sets the connection's RDY to its share, unless backing off. */
  maybeUpdateRdy(link: L): void {
    if (this.#backoff.level > 0 || this.#backoff.timerPending) return;
    this.updateRdy(link, this.perConnMaxInFlight());
  }

  /** go-nsq `updateRDY`: never exceed maxInFlight over all connections; false if refused. */
  updateRdy(link: L, count: number): boolean {
    if (link.closing || link.conn === null || link.conn.closed || this.#stopped) return false;
    if (count > link.maxRdy) count = link.maxRdy;
    clearTimeout(link.retryTimer);
    link.retryTimer = undefined;
    // Lowering never exceeds the budget (go-nsq refuses it when over budget; we don't).
    if (count > link.rdy) {
      const room = this.maxInFlight - this.totalRdy + link.rdy;
      if (room > 0 && room < count) count = room;
      if (room <= 0 && count > 0) {
        if (link.rdy === 0) {
          // Starved: try again later (any other successful update cancels this).
          link.retryTimer = setTimeout(() => this.updateRdy(link, count), RDY_RETRY_MS);
        }
        return false;
      }
    }
    if (count === 0 && link.rdy === 0) return true;
    this.totalRdy += count - link.rdy;
    link.rdy = count;
    link.lastRdyAt = Date.now();
    link.conn.commands.line(`RDY ${count}`);
    link.conn.scheduleFlush();
    return true;
  }

  /** go-nsq `redistributeRDY`: with more connections than budget (or in backoff), rotate RDY 1. */
  redistribute(): void {
    if (this.#backoff.timerPending || this.#stopped) return;
    const links = [...this.#links.values()].filter((l) => !l.closing);
    if (links.length === 0) return;
    if (links.length > this.maxInFlight) this.needRedistribute = true;
    if (this.#backoff.level > 0 && links.length > 1) this.needRedistribute = true;
    if (!this.needRedistribute) return;
    this.needRedistribute = false;
    const now = Date.now();
    for (const l of links) {
      if (
        l.rdy > 0 && (now - l.lastMsgAt > this.#config.lowRdyIdleTimeout ||
          now - l.lastRdyAt > this.#config.lowRdyTimeout)
      ) {
        this.updateRdy(l, 0);
      }
    }
    let available = (this.#backoff.level > 0 ? 1 : this.maxInFlight) - this.totalRdy;
    while (links.length > 0 && available > 0) {
      available--;
      const [choice] = links.splice(Math.floor(Math.random() * links.length), 1);
      this.updateRdy(choice, 1);
    }
  }

  /** A connection closed while it had RDY: its share goes to the others (beyond go-nsq v1.1.0). */
  lost(hadRdy: number): void {
    if (hadRdy > 0 && (this.#backoff.level > 0 || this.#links.size === this.maxInFlight)) {
      this.needRedistribute = true;
    }
    for (const other of this.#links.values()) this.maybeUpdateRdy(other);
  }

  /** go-nsq `startStopContinueBackoff`: one message's answer moves the backoff level. */
  signal(signal: BackoffSignal): void {
    // The common case, a success while not backing off, changes nothing (BackoffState agrees).
    if (signal === RESUME && this.#backoff.level === 0) return;
    if (this.#stopped) return;
    const action = this.#backoff.signal(signal);
    if (action.kind === "none") return;
    if (action.kind === "exit") {
      const n = this.perConnMaxInFlight();
      for (const link of this.#links.values()) this.updateRdy(link, n);
      return;
    }
    for (const link of this.#links.values()) this.updateRdy(link, 0);
    this.#startBackoffTimer(action.delayMs);
  }

  #startBackoffTimer(ms: number): void {
    this.#backoff.timerPending = true;
    this.#backoffTimer = setTimeout(() => this.#resume(), ms);
  }

  /** The backoff period is over: one random connection gets RDY 1 (one message at a time). */
  #resume(): void {
    this.#backoffTimer = undefined;
    if (this.#stopped) {
      this.#backoff.timerPending = false;
      return;
    }
    const links = [...this.#links.values()].filter((l) => !l.closing);
    if (links.length === 0) return this.#startBackoffTimer(1000);
    const choice = links[Math.floor(Math.random() * links.length)];
    // The timer is over: an update must not be skipped as "in backoff timeout".
    this.#backoff.timerPending = false;
    if (!this.updateRdy(choice, 1)) this.#startBackoffTimer(1000);
  }
}
