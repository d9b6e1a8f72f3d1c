/**
 * The Producer (go-nsq `producer.go`, shared/nsq-reference.md §9.5): publishes to one nsqd over one
 * connection, opened lazily by the first command and again, on demand, after it was lost.
 *
 * Commands are pipelined: every call writes its command at once (coalesced into one socket write
 * per tick) and appends one pending entry to a FIFO; nsqd answers in order, so each response or
 * error frame settles the oldest entry. When the connection is lost every pending entry rejects with
 * an `NsqConnectionError` — the client never resends, so nothing is duplicated by it, and nothing
 * is dropped silently.
 *
 * Optional batching (beyond go-nsq): `publish()` calls for one topic within `maxDelayMs` become one
 * MPUB; all of them settle with its answer.
 */
import type { Body } from "../protocol/command.ts";
import { CommandWriter } from "../protocol/command.ts";
import type { NetAddr, Platform } from "../platform/types.ts";
import { type ClientConfig, resolveClientConfig } from "./config.ts";
import { clientPlatform, NsqConnection, parseAddress } from "./connection.ts";
import { NsqClosedError, NsqConnectionError, NsqError } from "./errors.ts";

export type { Body } from "../protocol/command.ts";

/** Auto-batching of `publish()` calls (off by default). */
export interface BatchOptions {
  /** Send a topic's batch once it holds this many messages (default 100). */
  maxMessages?: number;
  /** Send a batch at the latest this long after its first message (default 5 ms). */
  maxDelayMs?: number;
  /** Send a topic's batch once its bodies reach this many bytes (default 1 MiB; keep below nsqd's --max-body-size). */
  maxBytes?: number;
}

/** Options of a {@link Producer}: any client option of go-nsq (camelCase, ms), plus batching. */
export interface ProducerOptions extends Partial<ClientConfig> {
  /** `true` or limits: `publish()` calls within a short window become one MPUB per topic. */
  batch?: boolean | BatchOptions;
}

/** One command awaiting its answer. */
interface Pending {
  resolve(value: void): void;
  reject(err: unknown): void;
}

/** One connection and the commands written to it, not yet answered (oldest at `head`). */
interface Link {
  conn: NsqConnection;
  pending: (Pending | undefined)[];
  head: number;
}

function expect(link: Link): Promise<void> {
  const p = Promise.withResolvers<void>();
  link.pending.push(p);
  return p.promise;
}

/** One topic's open batch: every `publish()` in it gets the same promise (no promise per message). */
interface Batch {
  bodies: CommandWriter;
  count: number;
  settle: PromiseWithResolvers<void>;
}

const textDecoder = new TextDecoder();

/**
 * Publishes messages to one nsqd. Each method returns a promise that resolves when nsqd answered
 * OK, and rejects with an {@link NsqError} carrying nsqd's code (`E_BAD_TOPIC`, `E_BAD_MESSAGE`, …),
 * an {@link NsqConnectionError} when the connection failed or was lost with the command in flight,
 * or an {@link NsqClosedError} after `close()`.
 */
export class Producer {
  /** The nsqd address, `host:port`. */
  readonly address: string;
  readonly #addr: NetAddr;
  readonly #options: ProducerOptions;
  #config: ClientConfig;
  #platform: Platform | null = null;
  /** The connection new commands go to (null: none yet, or it failed). */
  #link: Link | null = null;
  /** Every connection not closed yet (a failed one lingers until nsqd closes it). */
  #links = new Set<Link>();
  #connecting: Promise<Link> | null = null;
  /** Commands issued while connecting, sent in order once the connection is up. */
  #backlog = new CommandWriter(1024);
  #backlogPending: Pending[] = [];
  #drained: PromiseWithResolvers<void> | null = null;
  #closed = false;
  #closing: Promise<void> | null = null;
  readonly #batch: Required<BatchOptions> | null;
  #batches = new Map<string, Batch>();
  /** A batch's buffer, kept for the next batch once its MPUB was copied to the connection. */
  #spareBodies: CommandWriter | null = null;
  /** The last topic name `checkTopic()` accepted (publishers mostly use one or a few). */
  #checkedTopic = "";
  #batchTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * Creates a producer; nothing is dialled until the first command.
   * @param address nsqd's TCP address, `host:port`
   * @param options client options (validated now: a bad one throws a RangeError or TypeError)
   * @throws {TypeError} a malformed address, an unknown option or a value of the wrong type
   * @throws {RangeError} an option outside go-nsq's range
   */
  constructor(address: string, options: ProducerOptions = {}) {
    this.address = address;
    this.#addr = parseAddress(address);
    const { batch, ...config } = options;
    this.#options = config;
    this.#config = resolveClientConfig(config, "localhost");
    this.#batch = batch ? resolveBatch(batch === true ? {} : batch) : null;
  }

  /** Commands sent and not yet answered (plus those waiting for the connection). */
  get inFlight(): number {
    let n = this.#backlogPending.length;
    for (const link of this.#links) n += link.pending.length - link.head;
    return n;
  }

  /** Whether a connection to nsqd is open. */
  get connected(): boolean {
    return this.#link !== null;
  }

  /**
   * Publishes one message (PUB); with batching on, it may travel in an MPUB with others.
   * @param topic the topic (nsqd checks the name)
   * @param body bytes, or text sent as UTF-8 (copied before this returns)
   */
  publish(topic: string, body: Body): Promise<void> {
    if (this.#closed) return Promise.reject(new NsqClosedError());
    const bad = this.#checkTopic(topic);
    if (bad) return Promise.reject(bad);
    if (this.#batch !== null) return this.#addToBatch(topic, body);
    const link = this.#link;
    if (link !== null) {
      link.conn.commands.pub(topic, body);
      link.conn.scheduleFlush();
      return expect(link);
    }
    this.#backlog.pub(topic, body);
    return this.#expectAfterConnect();
  }

  /**
   * Publishes several messages to one topic atomically (MPUB).
   * @param topic the topic
   * @param bodies at least one body
   */
  publishMany(topic: string, bodies: readonly Body[]): Promise<void> {
    if (this.#closed) return Promise.reject(new NsqClosedError());
    const bad = this.#checkTopic(topic);
    if (bad) return Promise.reject(bad);
    const link = this.#link;
    if (link !== null) {
      link.conn.commands.mpub(topic, bodies);
      link.conn.scheduleFlush();
      return expect(link);
    }
    this.#backlog.mpub(topic, bodies);
    return this.#expectAfterConnect();
  }

  /**
   * Publishes one message delivered after `delayMs` (DPUB; truncated to whole ms, range checked by nsqd).
   * @param topic the topic
   * @param delayMs the delay in milliseconds
   * @param body the message
   */
  publishDeferred(topic: string, delayMs: number, body: Body): Promise<void> {
    if (this.#closed) return Promise.reject(new NsqClosedError());
    const bad = this.#checkTopic(topic);
    if (bad) return Promise.reject(bad);
    const link = this.#link;
    if (link !== null) {
      link.conn.commands.dpub(topic, delayMs, body);
      link.conn.scheduleFlush();
      return expect(link);
    }
    this.#backlog.dpub(topic, delayMs, body);
    return this.#expectAfterConnect();
  }

  /** Connects if needed and sends NOP (nsqd does not answer it); resolves once it is sent. */
  async ping(): Promise<void> {
    if (this.#closed) throw new NsqClosedError();
    const conn = this.#link?.conn ?? (await this.#connect()).conn;
    conn.commands.line("NOP");
    conn.scheduleFlush();
  }

  /**
   * Sends any open batch, waits until every command in flight is answered (or the connection is
   * lost), then closes the connection. Later calls reject with {@link NsqClosedError}.
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#closed = true;
    this.#closing = (async () => {
      this.#flushBatches();
      if (this.#connecting) await this.#connecting.catch(() => {});
      while (this.inFlight > 0) {
        this.#drained = Promise.withResolvers<void>();
        await this.#drained.promise;
      }
      this.#link = null;
      for (const link of this.#links) link.conn.close();
    })();
    return this.#closing;
  }

  #expectAfterConnect(): Promise<void> {
    const p = Promise.withResolvers<void>();
    this.#backlogPending.push(p);
    this.#connect().catch(() => {}); // failures reject the backlog
    return p.promise;
  }

  #connect(): Promise<Link> {
    this.#connecting ??= this.#open().finally(() => {
      this.#connecting = null;
    });
    return this.#connecting;
  }

  async #open(): Promise<Link> {
    let conn: NsqConnection | null = null;
    let link: Link | null = null;
    try {
      if (this.#platform === null) {
        this.#platform = await clientPlatform();
        this.#config = resolveClientConfig(this.#options, this.#platform.hostname());
      }
      conn = await NsqConnection.open(this.#platform, this.#addr, this.#config, {
        onResponse: (isError, data) => this.#onResponse(link!, isError, data),
        onClose: (err) => this.#onClose(link, err),
      });
      if (conn.closed) throw new NsqConnectionError("connection closed right after the handshake");
    } catch (err) {
      const waiting = this.#backlogPending;
      this.#backlogPending = [];
      this.#backlog.reset();
      for (const p of waiting) p.reject(err);
      throw err;
    }
    link = { conn, pending: [], head: 0 };
    // Everything issued while connecting goes out first, in order, in this same tick.
    if (this.#backlog.length > 0) {
      conn.commands.append(this.#backlog.bytes());
      this.#backlog.reset();
      link.pending = this.#backlogPending;
      this.#backlogPending = [];
      conn.scheduleFlush();
    }
    this.#link = link;
    this.#links.add(link);
    return link;
  }

  #onResponse(link: Link, isError: boolean, data: Uint8Array): void {
    const p = link.pending[link.head];
    if (p === undefined) {
      // go-nsq master: an answer nobody waits for means we lost track; start over.
      this.#detach(link);
      link.conn.destroy(new NsqConnectionError(`unexpected ${isError ? "error" : "response"} from nsqd`));
      return;
    }
    link.pending[link.head++] = undefined;
    if (link.head === link.pending.length) {
      link.pending.length = 0;
      link.head = 0;
      this.#drained?.resolve();
    } else if (link.head >= 1024 && link.head * 2 >= link.pending.length) {
      link.pending = link.pending.slice(link.head);
      link.head = 0;
    }
    if (isError) {
      // Every error a PUB, MPUB or DPUB can get is fatal: nsqd closes the connection after it and
      // reads nothing more. New commands go to a new connection; those already sent on this one
      // reject when it closes.
      this.#detach(link);
      link.conn.close();
      p.reject(new NsqError(textDecoder.decode(data)));
    } else p.resolve();
  }

  #detach(link: Link): void {
    if (this.#link === link) this.#link = null;
  }

  #onClose(link: Link | null, err: Error | null): void {
    if (link === null) return; // closed before `#open()` finished: it reports the failure itself
    this.#detach(link);
    this.#links.delete(link);
    const { pending, head } = link;
    link.pending = [];
    link.head = 0;
    const reason = new NsqConnectionError(
      `not connected: ${err?.message ?? "connection closed"}`,
      err ? { cause: err } : undefined,
    );
    for (let i = head; i < pending.length; i++) pending[i]!.reject(reason);
    this.#drained?.resolve();
  }

  #addToBatch(topic: string, body: Body): Promise<void> {
    const limits = this.#batch!;
    let batch = this.#batches.get(topic);
    if (batch === undefined) {
      const bodies = this.#spareBodies ?? new CommandWriter(16 * 1024);
      this.#spareBodies = null;
      batch = { bodies, count: 0, settle: Promise.withResolvers<void>() };
      this.#batches.set(topic, batch);
    }
    batch.bodies.sizedBody(body);
    batch.count++;
    const p = batch.settle.promise;
    if (batch.count >= limits.maxMessages || batch.bodies.length >= limits.maxBytes) {
      this.#batches.delete(topic);
      this.#sendBatch(topic, batch);
    } else if (this.#batchTimer === undefined) {
      this.#batchTimer = setTimeout(() => this.#flushBatches(), limits.maxDelayMs);
    }
    return p;
  }

  #flushBatches(): void {
    clearTimeout(this.#batchTimer);
    this.#batchTimer = undefined;
    const batches = this.#batches;
    this.#batches = new Map();
    for (const [topic, batch] of batches) this.#sendBatch(topic, batch);
  }

  #sendBatch(topic: string, batch: Batch): void {
    const encoded = batch.bodies.bytes();
    const link = this.#link;
    const target = link?.conn.commands ?? this.#backlog;
    // One message travels as PUB, so its answer (and error code) is PUB's.
    if (batch.count === 1) target.pub(topic, encoded.subarray(4));
    else target.mpubEncoded(topic, batch.count, encoded);
    // Copied: the buffer serves the next batch.
    batch.bodies.reset();
    this.#spareBodies = batch.bodies;
    const fanOut: Pending = batch.settle;
    if (link !== null) {
      link.pending.push(fanOut);
      link.conn.scheduleFlush();
    } else {
      this.#backlogPending.push(fanOut);
      this.#connect().catch(() => {});
    }
  }

  #checkTopic(topic: string): TypeError | null {
    if (topic === this.#checkedTopic) return null;
    const bad = checkTopic(topic);
    if (bad === null) this.#checkedTopic = topic;
    return bad;
  }
}

function checkTopic(topic: string): TypeError | null {
  // nsqd judges the name (go-nsq sends any). Refuse only what changes the command itself: a line
  // break would start another command, a space another parameter ("PUB a b" publishes to "a").
  if (typeof topic !== "string" || /[\n\r ]/.test(topic)) {
    return new TypeError(`invalid topic ${JSON.stringify(topic)}: must not contain a space or line break`);
  }
  return null;
}

function resolveBatch(b: BatchOptions): Required<BatchOptions> {
  const out = {
    maxMessages: b.maxMessages ?? 100,
    maxDelayMs: b.maxDelayMs ?? 5,
    maxBytes: b.maxBytes ?? 1 << 20,
  };
  if (!Number.isInteger(out.maxMessages) || out.maxMessages < 1) {
    throw new RangeError(`option batch.maxMessages must be an integer ≥ 1, got ${out.maxMessages}`);
  }
  if (!(out.maxDelayMs >= 0) || !Number.isFinite(out.maxDelayMs)) {
    throw new RangeError(`option batch.maxDelayMs must be ≥ 0 ms, got ${out.maxDelayMs}`);
  }
  if (!(out.maxBytes >= 1) || !Number.isFinite(out.maxBytes)) {
    throw new RangeError(`option batch.maxBytes must be ≥ 1, got ${out.maxBytes}`);
  }
  return out;
}
