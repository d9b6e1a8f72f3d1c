/**
 * The Consumer (go-nsq `consumer.go`, shared/nsq-reference.md §9.4): subscribes to one
 * topic/channel on any number of nsqds, given directly or discovered through nsqlookupd, and
 * hands each message to handlers (or to a `for await` loop).
 *
 * Flow control (RDY and backoff) is go-nsq's and lives in `rdy.ts`; the handlers and their
 * concurrency in `handlers.ts`.
 *
 * Hot path: a message frame becomes one `ConsumerMessage` and goes straight to a handler (or the
 * iterator); its FIN/REQ is appended to the connection's command buffer, which is written once
 * per tick. No timer and no promise per message, except the handler's own.
 */
import type { Platform } from "../platform/types.ts";
import { isValidChannelName, isValidTopicName } from "../protocol/names.ts";
import { BackoffSignal, BackoffState } from "./backoff.ts";
import { type ClientConfig, resolveClientConfig } from "./config.ts";
import { clientPlatform, NsqConnection, parseAddress } from "./connection.ts";
import { NsqClosedError, NsqConnectionError, NsqError } from "./errors.ts";
import { Fifo } from "./fifo.ts";
import { type HandlerOptions, Handlers, type MessageHandler } from "./handlers.ts";
import { LookupdPoller } from "./lookupd.ts";
import { ConsumerMessage, type MessageResponder } from "./message.ts";
import { RdyController, type RdyLink } from "./rdy.ts";

export type { HandlerOptions, MessageHandler } from "./handlers.ts";

/** Options of a {@link Consumer}: any client option of go-nsq (camelCase, ms), plus these. */
export interface ConsumerOptions extends Partial<ClientConfig> {
  /**
   * `true` (default): a message is finished when its handler resolves and requeued (with backoff)
   * when it throws, unless the handler answered it already. `false`: handlers answer themselves.
   */
  autoResponse?: boolean;
  /**
   * Called with a message delivered more than `maxAttempts` times, instead of a handler; the
   * message is finished afterwards (go-nsq's `LogFailedMessage`).
   */
  onGiveUp?: (msg: ConsumerMessage) => void | Promise<void>;
  /**
   * Errors that have no caller to go to: a handler's error, an error frame from nsqd, a lost
   * connection, a failed reconnect or nsqlookupd query. Default: one line on standard error.
   */
  onError?: (err: Error, msg?: ConsumerMessage) => void;
}

/** Counters of a {@link Consumer} (go-nsq `ConsumerStats`). */
export interface ConsumerStats {
  /** Message frames received. */
  messagesReceived: number;
  /** FINs sent (given-up messages included). */
  messagesFinished: number;
  /** REQs sent. */
  messagesRequeued: number;
  /** Open, subscribed nsqd connections. */
  connections: number;
}

/** One subscribed connection: its RDY bookkeeping (`RdyLink`) and what the Consumer adds. */
interface Link extends RdyLink {
  readonly address: string;
  readonly responder: MessageResponder;
  readonly fromLookupd: boolean;
  /** nsqd answered CLS: close once nothing is in flight. */
  closeWait: boolean;
  /** Successful nsqlookupd answers in a row that did not list it. */
  misses: number;
  /** Pending until nsqd answered SUB. */
  sub: PromiseWithResolvers<void> | null;
}

const textDecoder = new TextDecoder();

/**
 * Consumes one topic/channel from one or more nsqds. Add handlers (or iterate it with
 * `for await`), then connect; `stop()` ends it gracefully.
 */
export class Consumer implements AsyncIterable<ConsumerMessage> {
  /** The topic. */
  readonly topic: string;
  /** The channel. */
  readonly channel: string;
  readonly #options: Partial<ClientConfig>;
  #config: ClientConfig;
  #platform: Platform | null = null;
  readonly #onGiveUp: ConsumerOptions["onGiveUp"];
  readonly #onError: (err: Error, msg?: ConsumerMessage) => void;

  readonly #links = new Map<string, Link>();
  readonly #pending = new Set<string>();
  /** Addresses given to `connectToNsqd()` (reconnected when lost, unless nsqlookupd is used). */
  readonly #directAddrs: string[] = [];
  readonly #reconnectTimers = new Map<string, ReturnType<typeof setTimeout>>();
  #started = false;

  readonly #backoff: BackoffState;
  readonly #rdy: RdyController<Link>;

  readonly #lookupd: LookupdPoller;

  readonly #handlers: Handlers;

  #iterating = false;
  readonly #buffer = new Fifo<ConsumerMessage>();
  #waiter: PromiseWithResolvers<IteratorResult<ConsumerMessage, undefined>> | null = null;

  #received = 0;
  #finished = 0;
  #requeued = 0;

  #stopping = false;
  /** `Date.now()` read once per tick (0: not yet this tick): a frame's worth of messages shares it. */
  #clock = 0;
  readonly #clockStale = () => {
    this.#clock = 0;
  };
  #stopped: PromiseWithResolvers<void> | null = null;

  /**
   * Creates a consumer; nothing is dialled until `connectToNsqd()` or `connectToNsqlookupd()`.
   * @param topic a valid topic name (`[.a-zA-Z0-9_-]`, 1–64, optional `#ephemeral`)
   * @param channel a valid channel name
   * @param options client options (validated now)
   * @throws {TypeError} an invalid topic or channel name, an unknown option or a wrong type
   * @throws {RangeError} an option outside go-nsq's range
   */
  constructor(topic: string, channel: string, options: ConsumerOptions = {}) {
    if (typeof topic !== "string" || !isValidTopicName(topic)) throw new TypeError("invalid topic name");
    if (typeof channel !== "string" || !isValidChannelName(channel)) {
      throw new TypeError("invalid channel name");
    }
    this.topic = topic;
    this.channel = channel;
    const { autoResponse, onGiveUp, onError, ...config } = options;
    this.#options = config;
    this.#config = resolveClientConfig(config, "localhost");
    this.#onGiveUp = onGiveUp;
    this.#onError = onError ??
      ((err, msg) => console.error(`ERR [${topic}/${channel}]${msg ? ` msg ${msg.id}` : ""} ${err.message}`));
    this.#backoff = new BackoffState(this.#config);
    this.#rdy = new RdyController(this.#links, this.#config, this.#backoff, this.#config.maxInFlight);
    this.#lookupd = new LookupdPoller(topic, this.#config, {
      onFound: (addresses) => this.#onLookupdFound(addresses),
      onError: (err) => this.#onError(err),
    });
    this.#handlers = new Handlers({
      autoResponse: autoResponse ?? true,
      onError: (err, msg) => this.#onError(err, msg),
      onIdle: () => this.#maybeStopped(),
    });
  }

  /**
   * Adds a handler; every message goes to one handler with room. Call before connecting.
   * @param handler resolves (or returns) when done with the message
   * @param options `concurrency`: messages it works on at once (default 1)
   * @throws {TypeError} after a connect, while iterating, or with a bad concurrency
   */
  addHandler(handler: MessageHandler, options: HandlerOptions = {}): void {
    if (this.#started) throw new TypeError("already connected: add handlers before connecting");
    if (this.#iterating) {
      throw new TypeError("this consumer is being iterated: use handlers or for await, not both");
    }
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1) {
      throw new RangeError(`option concurrency must be an integer ≥ 1, got ${concurrency}`);
    }
    this.#handlers.add(handler, concurrency);
  }

  /**
   * Connects to one nsqd and subscribes; resolves once nsqd accepted the SUB. A directly given nsqd
   * is reconnected (every `lookupdPollInterval`) when the connection is lost, unless nsqlookupd is
   * used too.
   * @param address nsqd's TCP address, `host:port`
   * @throws {NsqClosedError} after `stop()`
   * @throws {NsqConnectionError} already connected to it, or the connection failed
   * @throws {NsqError} nsqd refused IDENTIFY, AUTH or SUB
   */
  connectToNsqd(address: string): Promise<void> {
    return this.#connect(address, false);
  }

  /**
   * Closes the connection to a directly given nsqd (gracefully: CLS, then close once its messages
   * are answered) and stops reconnecting to it.
   * @param address as given to `connectToNsqd()`
   * @throws {NsqConnectionError} `not connected` for an unknown address
   */
  disconnectFromNsqd(address: string): void {
    const i = this.#directAddrs.indexOf(address);
    const link = this.#links.get(address);
    if (i < 0 && link === undefined) throw new NsqConnectionError("not connected");
    if (i >= 0) this.#directAddrs.splice(i, 1);
    clearTimeout(this.#reconnectTimers.get(address));
    this.#reconnectTimers.delete(address);
    if (link) this.#closeLink(link);
  }

  /**
   * Adds an nsqlookupd: the first one is asked at once (this resolves after that query and the
   * connections it led to), then one of them, in turn, every `lookupdPollInterval` (the first
   * time after a random `lookupdPollJitter` share of it). New nsqds are connected; an nsqd no
   * longer listed in two answers in a row is closed gracefully.
   * @param address nsqlookupd's HTTP address, `host:port` or a URL (`https://h:4161/lookup`)
   * @throws {TypeError} an address without port
   * @throws {NsqClosedError} after `stop()`
   */
  async connectToNsqlookupd(address: string): Promise<void> {
    if (this.#stopping) throw new NsqClosedError("consumer stopped");
    if (!this.#lookupd.add(address)) return;
    this.#started = true;
    if (this.#lookupd.size > 1) return;
    await this.#lookupd.poll();
    if (this.#stopping) return;
    this.#lookupd.startTimer();
  }

  /**
   * Removes an nsqlookupd from the rotation (connections stay).
   * @throws {NsqConnectionError} unknown address, or the last one
   */
  disconnectFromNsqlookupd(address: string): void {
    this.#lookupd.remove(address);
  }

  /**
   * Changes the RDY budget shared by all connections; 0 pauses consumption.
   * @param maxInFlight an integer ≥ 0
   */
  changeMaxInFlight(maxInFlight: number): void {
    if (!Number.isInteger(maxInFlight) || maxInFlight < 0) {
      throw new RangeError(`maxInFlight must be an integer ≥ 0, got ${maxInFlight}`);
    }
    if (maxInFlight === this.#rdy.maxInFlight) return;
    this.#rdy.maxInFlight = maxInFlight;
    for (const link of this.#links.values()) this.#rdy.maybeUpdateRdy(link);
  }

  /** The counters so far. */
  stats(): ConsumerStats {
    return {
      messagesReceived: this.#received,
      messagesFinished: this.#finished,
      messagesRequeued: this.#requeued,
      connections: this.#links.size,
    };
  }

  /** The `host:port` of every connected nsqd. */
  get nsqdAddresses(): string[] {
    return [...this.#links.keys()];
  }

  /** Whether some connection has (almost) as many messages in flight as its RDY allows. */
  get isStarved(): boolean {
    for (const l of this.#links.values()) {
      if (!l.closing && l.inFlight > 0 && l.inFlight >= 0.85 * l.rdy) return true;
    }
    return false;
  }

  /** Current backoff level (0 = not backing off). */
  get backoffLevel(): number {
    return this.#backoff.level;
  }

  /**
   * The messages, for consumers without handlers: `for await (const msg of consumer)`. Answer
   * each with `finish()` or `requeue()` (nothing is answered for you). At most `maxInFlight`
   * messages wait here: nsqd sends no more until some are answered. Leaving the loop (break,
   * throw) stops the consumer; `stop()` ends the loop.
   * @throws {TypeError} the consumer has handlers, or is iterated already
   */
  [Symbol.asyncIterator](): AsyncIterator<ConsumerMessage, undefined> {
    if (this.#handlers.count > 0) {
      throw new TypeError("this consumer has handlers: use handlers or for await, not both");
    }
    if (this.#iterating) throw new TypeError("a consumer can be iterated only once");
    this.#iterating = true;
    return {
      next: () => {
        const msg = this.#buffer.shift();
        if (msg !== undefined) return Promise.resolve({ value: msg, done: false });
        if (this.#stopping) return Promise.resolve({ value: undefined, done: true });
        this.#waiter = Promise.withResolvers();
        return this.#waiter.promise;
      },
      return: () => {
        this.stop();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  /**
   * Stops gracefully: no more connects or polls, CLS to every nsqd (nsqd sends nothing more),
   * messages waiting for the iterator requeued, then each connection closes once its messages
   * are answered; resolves when all are closed and every handler returned. Idempotent.
   * @param options `timeoutMs` (default 30 s, as go-nsq): then connections are closed anyway
   */
  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    if (this.#stopped) return this.#stopped.promise;
    this.#stopping = true;
    this.#stopped = Promise.withResolvers<void>();
    this.#lookupd.stop();
    this.#rdy.stop();
    for (const t of this.#reconnectTimers.values()) clearTimeout(t);
    this.#reconnectTimers.clear();
    for (const link of this.#links.values()) this.#closeLink(link);
    // Not yet seen by application code: back to nsqd at once, no backoff (after the CLS, which
    // goes out in the same write: nsqd must not deliver them to us again).
    for (let msg = this.#buffer.shift(); msg !== undefined; msg = this.#buffer.shift()) msg.requeue(0, false);
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.resolve({ value: undefined, done: true });
    const safety = setTimeout(() => {
      for (const link of this.#links.values()) link.conn?.destroy();
      this.#stopped?.resolve();
    }, options.timeoutMs ?? 30_000);
    this.#stopped.promise.then(() => clearTimeout(safety));
    this.#maybeStopped();
    return this.#stopped.promise;
  }

  // ---- connections --------------------------------------------------------------------------------

  async #connect(address: string, fromLookupd: boolean): Promise<void> {
    if (this.#stopping) throw new NsqClosedError("consumer stopped");
    const addr = parseAddress(address);
    if (this.#links.has(address) || this.#pending.has(address)) {
      throw new NsqConnectionError("already connected");
    }
    this.#started = true;
    this.#pending.add(address);
    if (!fromLookupd && !this.#directAddrs.includes(address)) this.#directAddrs.push(address);
    const link = this.#newLink(address, fromLookupd);
    try {
      if (this.#platform === null) {
        this.#platform = await clientPlatform();
        this.#config = resolveClientConfig(this.#options, this.#platform.hostname());
      }
      const conn = await NsqConnection.open(this.#platform, addr, this.#config, {
        onResponse: (isError, data) => this.#onResponse(link, isError, data),
        onMessage: (data) => this.#onMessage(link, data),
        onClose: (err) => this.#onClose(link, err),
      });
      link.conn = conn;
      const maxRdy = conn.identity.max_rdy_count;
      link.maxRdy = typeof maxRdy === "number" ? maxRdy : 2500;
      if (this.#stopping) {
        conn.close();
        throw new NsqClosedError("consumer stopped");
      }
      link.sub = Promise.withResolvers<void>();
      conn.commands.line(`SUB ${this.topic} ${this.channel}`);
      conn.scheduleFlush();
      await link.sub.promise;
    } catch (err) {
      this.#pending.delete(address);
      this.#maybeStopped();
      throw err;
    }
    this.#pending.delete(address);
    if (this.#stopping) {
      this.#closeLink(link);
      this.#links.set(address, link);
      throw new NsqClosedError("consumer stopped");
    }
    link.lastMsgAt = Date.now();
    this.#links.set(address, link);
    // Lower the others first so that the budget they give up is there for the new one (go-nsq #341).
    for (const other of this.#links.values()) if (other !== link) this.#rdy.maybeUpdateRdy(other);
    this.#rdy.maybeUpdateRdy(link);
    this.#rdy.start();
  }

  #newLink(address: string, fromLookupd: boolean): Link {
    const link: Link = {
      address,
      conn: null,
      fromLookupd,
      rdy: 0,
      lastRdyAt: 0,
      lastMsgAt: 0,
      inFlight: 0,
      maxRdy: 2500,
      closing: false,
      closeWait: false,
      retryTimer: undefined,
      misses: 0,
      sub: null,
      responder: {
        respond: (_msg, raw, finish, delayMs, backoff) => this.#respond(link, raw, finish, delayMs, backoff),
        touch: (_msg, raw) => {
          const conn = link.conn;
          if (conn === null || conn.closed) return;
          conn.commands.touch(raw, 10);
          conn.scheduleFlush();
        },
        defaultRequeueDelay: (attempts) =>
          Math.min(this.#config.defaultRequeueDelay * attempts, this.#config.maxRequeueDelay),
      },
    };
    return link;
  }

  /** CLS: nsqd sends nothing more and answers CLOSE_WAIT; the socket closes when nothing is in flight. */
  #closeLink(link: Link): void {
    if (link.closing) return;
    link.closing = true;
    // nsqd sets RDY 0 on CLS: that budget is free again.
    this.#rdy.release(link);
    const conn = link.conn;
    if (conn === null || conn.closed) return;
    conn.commands.line("CLS");
    conn.scheduleFlush();
  }

  #onResponse(link: Link, isError: boolean, data: Uint8Array): void {
    const text = textDecoder.decode(data);
    if (link.sub !== null) {
      const sub = link.sub;
      link.sub = null;
      if (isError) {
        sub.reject(
          new NsqError(text, {
            prefix: `[${link.address}] failed to subscribe to ${this.topic}:${this.channel} - `,
          }),
        );
      } else sub.resolve();
      return;
    }
    if (isError) {
      // Fatal errors close the connection (nsqd does); E_FIN_FAILED & co. leave it open.
      this.#onError(new NsqError(text, { prefix: `(${link.address}) protocol error - ` }));
      return;
    }
    if (text === "CLOSE_WAIT") {
      link.closing = true;
      link.closeWait = true;
      if (link.inFlight <= 0) link.conn?.close();
    }
  }

  #onMessage(link: Link, data: Uint8Array): void {
    this.#received++;
    link.inFlight++;
    link.lastMsgAt = this.#now();
    let msg: ConsumerMessage;
    try {
      msg = new ConsumerMessage(data, link.address, link.responder);
    } catch (err) {
      link.conn?.destroy(new NsqConnectionError(`invalid message frame: ${(err as Error).message}`));
      return;
    }
    const max = this.#config.maxAttempts;
    if (max > 0 && msg.attempts > max) return this.#giveUp(msg);
    if (this.#handlers.count > 0) return this.#handlers.dispatch(msg);
    if (this.#stopping) return msg.requeue(0, false);
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      waiter.resolve({ value: msg, done: false });
    } else this.#buffer.push(msg);
  }

  #onClose(link: Link, err: Error | null): void {
    if (link.sub !== null) {
      // Lost before SUB was answered: `#connect()` reports it.
      link.sub.reject(err ?? new NsqConnectionError("connection closed"));
      link.sub = null;
      return;
    }
    if (this.#links.get(link.address) !== link) return;
    this.#links.delete(link.address);
    const hadRdy = this.#rdy.release(link);
    if (this.#stopping) return this.#maybeStopped();
    if (err !== null) {
      this.#onError(new NsqConnectionError(`(${link.address}) ${err.message}`, { cause: err }));
    }
    // Beyond go-nsq v1.1.0: the remaining connections get the share the closed one had.
    this.#rdy.lost(hadRdy);
    if (this.#lookupd.size > 0) {
      this.#lookupd.poll();
    } else if (this.#directAddrs.includes(link.address)) {
      this.#scheduleReconnect(link.address);
    }
  }

  #scheduleReconnect(address: string): void {
    if (this.#stopping || this.#reconnectTimers.has(address)) return;
    const timer = setTimeout(async () => {
      this.#reconnectTimers.delete(address);
      if (this.#stopping || !this.#directAddrs.includes(address)) return;
      try {
        await this.#connect(address, false);
      } catch (err) {
        if (this.#stopping || this.#links.has(address) || this.#pending.has(address)) return;
        this.#onError(new NsqConnectionError(`(${address}) reconnect failed - ${(err as Error).message}`));
        this.#scheduleReconnect(address);
      }
    }, this.#config.lookupdPollInterval);
    this.#reconnectTimers.set(address, timer);
  }

  /** An nsqlookupd answered: connect to new nsqds, close those missing from two answers in a row. */
  async #onLookupdFound(found: string[]): Promise<void> {
    for (const link of this.#links.values()) {
      if (!link.fromLookupd || link.closing) continue;
      if (found.includes(link.address)) link.misses = 0;
      else if (++link.misses >= 2) this.#closeLink(link);
    }
    const connects = found
      .filter((a) => !this.#links.has(a) && !this.#pending.has(a))
      .map((a) => this.#connect(a, true).catch((err) => this.#stopping || this.#onError(err)));
    await Promise.all(connects);
  }

  // ---- messages -----------------------------------------------------------------------------------

  #respond(link: Link, raw: Uint8Array, finish: boolean, delayMs: number, backoff: boolean): void {
    link.inFlight--;
    if (finish) this.#finished++;
    else this.#requeued++;
    // The backoff signal first (its RDY 0 goes out before the REQ, as go-nsq orders them).
    this.#rdy.signal(
      finish ? BackoffSignal.Resume : backoff ? BackoffSignal.Backoff : BackoffSignal.Continue,
    );
    const conn = link.conn;
    if (conn === null || conn.closed) return;
    if (finish) conn.commands.fin(raw, 10);
    else conn.commands.req(raw, 10, delayMs);
    conn.scheduleFlush();
    if (link.closeWait && link.inFlight <= 0) conn.close();
  }

  #giveUp(msg: ConsumerMessage): void {
    const hook = this.#onGiveUp;
    let result: void | Promise<void> = undefined;
    try {
      result = hook?.(msg);
    } catch (err) {
      this.#onError(err as Error, msg);
    }
    if (result instanceof Promise) {
      result.then(() => msg.finish(), (err) => {
        this.#onError(err as Error, msg);
        msg.finish();
      });
    } else msg.finish();
  }

  #now(): number {
    if (this.#clock === 0) {
      this.#clock = Date.now();
      queueMicrotask(this.#clockStale);
    }
    return this.#clock;
  }

  #maybeStopped(): void {
    if (!this.#stopping || this.#stopped === null) return;
    if (this.#links.size > 0 || this.#pending.size > 0 || this.#handlers.busy) return;
    this.#stopped.resolve();
  }
}
