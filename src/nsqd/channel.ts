/**
 * A channel: one consumer group's copy of a topic's stream (nsq `nsqd/channel.go`).
 *
 * Messages wait in the memory queue (then the backend past `--mem-queue-size`) until a subscribed
 * client is ready; `dispatch()` hands them out round-robin to clients whose in-flight count is below
 * their RDY. Delivered messages sit in the in-flight queue until FIN, REQ or timeout; REQ with a
 * delay and DPUB put them in the deferred queue. The nsqd-wide scan loop expires both queues.
 */
import { type Message, messageId, messageTimestamp } from "../protocol/message.ts";
import { isEphemeral } from "../protocol/names.ts";
import { holdClock, monoMs, releaseClock, smallInt } from "./clock.ts";
import { type BackendQueue, DummyBackend } from "./diskqueue/backend_queue.ts";
import { InFlightIndex } from "./in_flight_index.ts";
import { DeadlineQueue, InFlightQueue } from "./in_flight_queue.ts";
import { MessageQueue } from "./message_queue.ts";
import type { NsqdOptions } from "./options.ts";
import { Quantile } from "./stats/quantile.ts";
import { DeferredTimes } from "./diskqueue/deferred_times.ts";
import { type HeldMessage, UnackedLog } from "./diskqueue/unacked_log.ts";

/** A message whose put back on the disk queue failed (disk full) is tried again after this long. */
const RETRY_MS = 1000;

/** What a channel needs of a subscribed client. */
export interface Consumer {
  readonly id: number;
  /** Whether the client can take one more message now (RDY, in-flight, back-pressure). */
  isReadyForMessages(): boolean;
  /** Delivers a message (the channel has already counted it in flight). */
  deliver(msg: Message): void;
  /** One of its in-flight messages timed out. */
  timedOutMessage(): void;
  /** The channel is going away: close the connection. */
  closeForChannelDelete(): void;
  /** The channel was emptied: nothing is in flight any more (upstream's `clientV2.Empty`). */
  emptyInFlight(): void;
}

/** What a channel needs of its nsqd and topic. */
export interface ChannelContext {
  readonly options: NsqdOptions;
  /** A message could not be stored (disk error): report it in /ping and /stats health. */
  setHealth(err: Error | null): void;
  /** The last client of an ephemeral channel left. */
  onEphemeralChannelEmpty(channel: Channel): void;
  /** The disk queue named `name` (`topic:channel`). */
  createBackend(name: string): BackendQueue;
  /**
   * Where the channel named `name` (`topic:channel`) keeps its unacknowledged log, and whether it should
   * keep one (with `--mem-queue-size=0`); undefined when there is no data path for it (ephemeral).
   */
  unackedLog(name: string): { path: string; enabled: boolean } | undefined;
  /**
   * With --persist-deferred: where the channel named `name` keeps the due times of its deferred messages,
   * and how many it keeps in memory at most (0 = no limit); undefined otherwise.
   */
  deferredTimes(name: string): { path: string; maxInMemory: number } | undefined;
  /** The topic's max message age (ms; 0 = off): older messages are dropped instead of delivered. */
  readonly effectiveMaxMsgAge: number;
  /** Logs an error. */
  logError(msg: string): void;
  /** The channel has an in-flight or deferred deadline now: include it in the queue scan. */
  armDeadlines(channel: Channel): void;
}

export class Channel {
  readonly topicName: string;
  readonly name: string;
  readonly ephemeral: boolean;
  readonly #ctx: ChannelContext;
  readonly #memQueueSize: number;
  #memQueue: MessageQueue;
  #backend: BackendQueue;
  #inFlight = new InFlightIndex();
  #inFlightPQ = new DeadlineQueue();
  #deferred = new InFlightIndex();
  #deferredPQ = new InFlightQueue();
  /** The subscribed clients by ID; made at the first subscription (an idle channel holds none). */
  #clients: Map<number, Consumer> | undefined;
  #clientList: Consumer[] = [];
  #rr = 0;
  /** Whether the queue scan looks at this channel (see `armDeadlines`, `disarmIfIdle`). */
  #armed = false;
  #preferBackend = false;
  #dispatching = false;
  #paused = false;
  #exiting = false;
  /** Messages bound for the disk queue while a batch is open (see `beginBatch`). */
  #toDisk: Message[] = [];
  /** Held messages among `#toDisk`: released from the log once written (see `#putHeld`). */
  #releaseAfterWrite: Message[] = [];
  #batchDepth = 0;
  /**
   * With --mem-queue-size=0: every in-flight and deferred message is logged here until it is finished or back
   * on the disk queue, so a crash loses none (see unacked_log.ts).
   */
  #log: UnackedLog | undefined;
  #logFlushScheduled = false;
  /** Disk-queue sync holds taken by this turn's dispatches, released once the log is written. */
  #turnHolds = 0;
  /** Disk-queue sync holds kept because the log could not be written (released by a retry). */
  #logBlockedHolds = 0;
  #logRetry: ReturnType<typeof setTimeout> | undefined;
  /**
   * With --persist-deferred: due times (ms since the epoch) of deferred messages that wait in the disk queue
   * (after a restart, or past `#maxDeferredInMemory`), by ID; a message read before its time is deferred again.
   */
  #dueTimes: Map<string, number> | undefined;
  #dueFile: DeferredTimes | undefined;
  #maxDeferredInMemory = 0;
  /** Max depth (0 = none): past it the oldest queued message is dropped (see `#trim`). */
  #maxDepth = 0;

  messageCount = 0;
  requeueCount = 0;
  timeoutCount = 0;
  /** Messages dropped because they were older than the max message age (beyond upstream). */
  expiredCount = 0;
  /** Messages dropped because the channel was deeper than its max depth (beyond upstream). */
  droppedCount = 0;
  /** End-to-end processing latency (publish → FIN), when percentiles are configured (§3.9). */
  readonly e2eLatency: Quantile | undefined;

  constructor(topicName: string, name: string, ctx: ChannelContext) {
    this.topicName = topicName;
    this.name = name;
    this.ephemeral = isEphemeral(name);
    this.#ctx = ctx;
    this.#memQueueSize = ctx.options.memQueueSize;
    this.#memQueue = new MessageQueue();
    this.#backend = this.ephemeral ? new DummyBackend() : ctx.createBackend(`${topicName}:${name}`);
    const o = ctx.options;
    if (o.e2eProcessingLatencyPercentiles.length > 0) {
      this.e2eLatency = new Quantile(o.e2eProcessingLatencyWindowTime, o.e2eProcessingLatencyPercentiles);
    }
    if (!this.ephemeral) {
      this.#openUnackedLog();
      const times = ctx.deferredTimes(`${topicName}:${name}`);
      if (times !== undefined) {
        this.#dueFile = new DeferredTimes(times.path);
        this.#dueTimes = this.#dueFile.load((msg) => ctx.logError(`CHANNEL(${name}): ${msg}`));
        this.#maxDeferredInMemory = times.maxInMemory;
      }
    }
  }

  /** Whether a deferred message must wait in the disk queue (--max-deferred-in-memory reached). */
  #mustSpill(): boolean {
    return this.#maxDeferredInMemory > 0 && this.#deferred.size >= this.#maxDeferredInMemory;
  }

  /**
   * Puts a deferred message in the disk queue with its due time beside it (--max-deferred-in-memory reached).
   * A message that was held (in flight, or read off the disk queue) is released from the log once written.
   */
  #spillDeferred(msg: Message, dueWallMs: number, held: boolean): void {
    this.#dueTimes!.set(messageId(msg), dueWallMs);
    this.#dueFile!.append(msg, dueWallMs);
    if (held && this.#log !== undefined) this.#releaseAfterWrite.push(msg);
    this.#toDisk.push(msg);
    if (this.#batchDepth === 0) {
      this.#flushToDisk();
      this.#trim();
    }
  }

  /**
   * A message just read for delivery whose due time (kept by --persist-deferred) has not come: it is deferred
   * again, in memory or, past the limit, back in the disk queue. Returns whether it was.
   */
  #deferIfNotDue(msg: Message): boolean {
    const id = messageId(msg);
    const due = this.#dueTimes!.get(id);
    if (due === undefined) return false;
    this.#dueTimes!.delete(id);
    const left = due - Date.now();
    if (left <= 0) return false;
    if (this.#mustSpill()) {
      this.#spillDeferred(msg, due, true);
      return true;
    }
    this.#startDeferredTimeout(msg, left);
    const log = this.#log;
    if (log !== undefined) {
      log.hold(msg, due);
      this.#scheduleLogFlush();
    }
    return true;
  }

  /**
   * Reads back what a crash left in the unacknowledged log: messages that were in flight (or whose deferral
   * is due) go back on the disk queue, attempts kept; deferred ones are deferred again until their due time.
   * Then a fresh log holds the deferred ones (or, when the log is off, they go on the disk queue too).
   */
  #openUnackedLog(): void {
    const where = this.#ctx.unackedLog(`${this.topicName}:${this.name}`);
    if (where === undefined) return;
    const logError = (msg: string) => this.#ctx.logError(`CHANNEL(${this.name}): ${msg}`);
    const recovered = UnackedLog.recover(where.path, (_level, msg) => logError(msg));
    const now = Date.now();
    const requeue: Message[] = [];
    const defer: HeldMessage[] = [];
    for (const h of recovered) {
      if (where.enabled && h.dueWallMs > now) defer.push(h);
      else requeue.push(h.msg);
    }
    try {
      if (requeue.length > 0) this.#backend.putMany(requeue);
    } catch (err) {
      // Keep them held (and logged) and try the disk queue again shortly.
      logError(`failed to requeue ${requeue.length} unacknowledged messages - ${err}`);
      if (!where.enabled) return; // the old log stays as it is for the next start
      for (const msg of requeue) defer.push({ msg, dueWallMs: now + RETRY_MS });
    }
    if (!where.enabled) {
      UnackedLog.create(where.path, [], this.#logOptions(logError)).close(true);
      return;
    }
    for (const h of defer) {
      this.#deferred.add(h.msg);
      h.msg.pri = smallInt(monoMs() + Math.max(0, h.dueWallMs - now));
      this.#deferredPQ.push(h.msg);
      this.#arm();
    }
    this.#log = UnackedLog.create(where.path, defer, this.#logOptions(logError));
  }

  #logOptions(logError: (msg: string) => void) {
    return {
      sync: this.#ctx.options.syncEvery <= 1,
      live: () => this.#heldMessages(),
      log: (_level: "warn" | "error", msg: string) => logError(msg),
    };
  }

  /** Due times of every deferred message, in memory or waiting in the disk queue (for a clean shutdown). */
  #dueEntries(): { data: Uint8Array; off: number; dueWallMs: number }[] {
    const out: { data: Uint8Array; off: number; dueWallMs: number }[] = [];
    const wallNow = Date.now();
    const monoNow = monoMs();
    this.#deferred.forEach((m) =>
      out.push({ data: m.data, off: m.off, dueWallMs: wallNow + Math.max(0, m.pri - monoNow) })
    );
    const ids = new Uint8Array(this.#dueTimes!.size * 16);
    let i = 0;
    for (const [id, dueWallMs] of this.#dueTimes!) {
      for (let k = 0; k < 16; k++) ids[i * 16 + k] = id.charCodeAt(k);
      out.push({ data: ids, off: i * 16, dueWallMs });
      i++;
    }
    return out;
  }

  /** Every message the log must hold, with its due time (for a rewrite of the log). */
  #heldMessages(): HeldMessage[] {
    const out: HeldMessage[] = [];
    this.#inFlight.forEach((msg) => out.push({ msg, dueWallMs: 0 }));
    const wallNow = Date.now();
    const monoNow = monoMs();
    this.#deferred.forEach((msg) => out.push({ msg, dueWallMs: wallNow + Math.max(0, msg.pri - monoNow) }));
    // On their way back to the disk queue: held until written (a rewrite must not drop them).
    for (const msg of this.#releaseAfterWrite) out.push({ msg, dueWallMs: 0 });
    return out;
  }

  /** Writes what was logged (see `UnackedLog.flush`); a failure is reported through health. */
  #flushLog(): boolean {
    const log = this.#log;
    if (log === undefined || !log.dirty) return true;
    try {
      log.flush();
      return true;
    } catch (err) {
      this.#ctx.setHealth(err as Error);
      this.#ctx.logError(`CHANNEL(${this.name}): failed to write the unacknowledged log - ${err}`);
      return false;
    }
  }

  #scheduleLogFlush(): void {
    if (this.#logFlushScheduled) return;
    this.#logFlushScheduled = true;
    queueMicrotask(() => {
      this.#logFlushScheduled = false;
      this.#endTurn();
    });
  }

  /**
   * Once per turn of the event loop (not per dispatch, which a FIN can trigger): writes what the turn logged
   * in one write, then lets the disk queue persist the read position its dispatches moved.
   */
  #endTurn(): void {
    const holds = this.#turnHolds;
    this.#turnHolds = 0;
    if (this.#flushLog()) {
      for (let i = 0; i < holds; i++) this.#backend.releaseSync();
    } else {
      this.#logBlockedHolds += holds;
      this.#retryLogLater();
    }
  }

  /** The log could not be written: try again shortly; until then the disk queue's read position stays put. */
  #retryLogLater(): void {
    if (this.#logRetry !== undefined || this.#exiting) return;
    this.#logRetry = setTimeout(() => {
      this.#logRetry = undefined;
      if (this.#exiting) return;
      if (!this.#flushLog()) return this.#retryLogLater();
      this.#ctx.setHealth(null);
      for (; this.#logBlockedHolds > 0; this.#logBlockedHolds--) this.#backend.releaseSync();
    }, RETRY_MS);
  }

  /** A held message is safe again (finished, dropped, or written back to the disk queue). */
  #release(msg: Message): void {
    const log = this.#log;
    if (log === undefined) return;
    log.release(msg);
    this.#scheduleLogFlush();
  }

  get paused(): boolean {
    return this.#paused;
  }
  get exiting(): boolean {
    return this.#exiting;
  }
  /** Memory queue + backend, as /stats `depth` (in-flight and deferred are not included). */
  get depth(): number {
    return this.#memQueue.length + this.#backend.depth;
  }
  get backendDepth(): number {
    return this.#backend.depth;
  }
  get inFlightCount(): number {
    return this.#inFlight.size;
  }
  get deferredCount(): number {
    return this.#deferred.size;
  }
  get clientCount(): number {
    return this.#clientList.length;
  }
  get clients(): readonly Consumer[] {
    return this.#clientList;
  }

  /** The max depth (0 = none): past it the oldest queued message is dropped and counted. */
  get maxDepth(): number {
    return this.#maxDepth;
  }

  /** Sets the max depth (0 = none); a channel already deeper loses its oldest messages now. */
  setMaxDepth(n: number): void {
    this.#maxDepth = n;
    this.#trim();
  }

  /**
   * Whether `msg` is older than the topic's max message age (now − its publish timestamp, which it keeps
   * across the disk queue and restarts); counted as expired when it is.
   */
  #expired(msg: Message): boolean {
    const maxAge = this.#ctx.effectiveMaxMsgAge;
    if (maxAge === 0 || Date.now() - messageTimestamp(msg) / 1e6 <= maxAge) return false;
    this.expiredCount++;
    return true;
  }

  /**
   * Drops the oldest queued messages while the channel is deeper than its max depth (drop-oldest: RabbitMQ's
   * `x-overflow: drop-head`, JetStream's `discard: old`). Not while a batch's messages wait to be written:
   * `endBatch` trims once they are. A dropped message was never held by the log (queued, not in flight).
   */
  #trim(): void {
    const max = this.#maxDepth;
    if (max === 0 || this.#toDisk.length > 0) return;
    while (this.depth > max) {
      const msg = this.#takeOldest();
      if (msg === undefined) break;
      this.droppedCount++;
      if (this.#dueTimes !== undefined && this.#dueTimes.size > 0) this.#dueTimes.delete(messageId(msg));
    }
  }

  /** Removes the queued message with the oldest timestamp: the head of the memory or of the disk queue. */
  #takeOldest(): Message | undefined {
    const mem = this.#memQueue;
    const backend = this.#backend;
    if (backend.depth === 0) return mem.shift();
    const head = mem.peek();
    if (head === undefined) return backend.read();
    // Read the disk queue's head to compare; put the reader back if the memory's head is older.
    backend.holdSync();
    try {
      const mark = backend.mark();
      const d = backend.read();
      if (d === undefined) return mem.shift();
      // A tie (one MPUB) goes to memory: within a batch, memory fills before the disk queue.
      if (messageTimestamp(d) < messageTimestamp(head)) return d;
      backend.rewind(mark);
      return mem.shift();
    } finally {
      backend.releaseSync();
    }
  }

  /** A message from the topic (counted in message_count). Throws once the channel is deleted or closed. */
  putMessage(msg: Message): void {
    if (this.#exiting) throw new Error("exiting");
    this.messageCount++;
    this.#put(msg);
  }

  /** A deferred message from the topic (DPUB, `/pub?defer`): straight to the deferred queue. */
  putMessageDeferred(msg: Message, deferMs: number): void {
    if (this.#exiting) return;
    this.messageCount++;
    if (this.#mustSpill()) return this.#spillDeferred(msg, Date.now() + deferMs, false);
    this.#startDeferredTimeout(msg, deferMs);
    const log = this.#log;
    if (log === undefined) return;
    log.hold(msg, Date.now() + deferMs);
    // Logged before the publisher hears OK (in a batch, `endBatch` writes it).
    if (this.#batchDepth === 0) log.flush();
  }

  /** Subscribes a client; throws `exiting` once the channel is deleted (upstream's `AddClient`). */
  addClient(client: Consumer): void {
    if (this.#exiting) throw new Error("exiting");
    const clients = this.#clients ??= new Map();
    if (clients.has(client.id)) return;
    const max = this.#ctx.options.maxChannelConsumers;
    if (max !== 0 && clients.size >= max) {
      throw new Error(`consumers for ${this.topicName}:${this.name} exceeds limit of ${max}`);
    }
    clients.set(client.id, client);
    this.#clientList.push(client);
  }

  /**
   * A client left. Nothing happens once the channel is deleted or closed (its clients are being
   * disconnected by that): an ephemeral channel is deleted when its last client leaves, only once.
   */
  removeClient(clientId: number): void {
    if (this.#exiting) return;
    const client = this.#clients?.get(clientId);
    if (!client) return;
    this.#clients!.delete(clientId);
    this.#clientList.splice(this.#clientList.indexOf(client), 1);
    if (this.#clientList.length === 0 && this.ephemeral) this.#ctx.onEphemeralChannelEmpty(this);
  }

  pause(): void {
    this.#paused = true;
  }

  unpause(): void {
    this.#paused = false;
    this.dispatch();
  }

  /** Hands queued messages to ready clients until one side runs out. */
  dispatch(): void {
    if (this.#dispatching || this.#paused) return;
    const clients = this.#clientList;
    if (clients.length === 0) return;
    this.#dispatching = true;
    holdClock();
    // With the log, the read position may reach the disk only once what was read is logged as in flight
    // (at the end of this turn, see #endTurn).
    const log = this.#log;
    if (log !== undefined) {
      this.#backend.holdSync();
      this.#turnHolds++;
    }
    try {
      // A client picked for a message that was not delivered (expired, or deferred again) takes the next one.
      let client: Consumer | undefined;
      while (this.#memQueue.length > 0 || this.#backend.depth > 0) {
        client ??= this.#nextReadyClient(clients);
        if (client === undefined) break;
        const msg = this.#take();
        if (msg === undefined) break;
        // Dropped here, where it would be delivered: whether it waited in memory or on disk. It is not held by
        // the log (a message read for delivery is held only once delivered), so there is nothing to release.
        if (this.#expired(msg)) {
          if (this.#dueTimes !== undefined && this.#dueTimes.size > 0) this.#dueTimes.delete(messageId(msg));
          continue;
        }
        if (this.#dueTimes !== undefined && this.#dueTimes.size > 0 && this.#deferIfNotDue(msg)) {
          // Back in the disk queue (memory for deferred messages is full): stop, or this could go round.
          if (this.#mustSpill()) break;
          continue;
        }
        client.deliver(msg);
        client = undefined;
      }
    } finally {
      releaseClock();
      this.#dispatching = false;
      if (log !== undefined) this.#scheduleLogFlush();
    }
  }

  finishMessage(clientId: number, id: string): Message {
    const msg = this.#popInFlight(clientId, id);
    this.#inFlightPQ.remove(msg);
    this.e2eLatency?.insert(messageTimestamp(msg));
    this.#release(msg);
    return msg;
  }

  /** REQ: timeout 0 puts it back now, otherwise into the deferred queue. */
  requeueMessage(clientId: number, id: string, timeoutMs: number): void {
    const msg = this.#popInFlight(clientId, id);
    this.#inFlightPQ.remove(msg);
    this.requeueCount++;
    if (timeoutMs === 0) {
      if (this.#exiting) throw new Error("exiting");
      this.#putHeld(msg);
      return;
    }
    if (this.#mustSpill()) return this.#spillDeferred(msg, Date.now() + timeoutMs, true);
    this.#startDeferredTimeout(msg, timeoutMs);
    const log = this.#log;
    if (log !== undefined) {
      log.release(msg);
      log.hold(msg, Date.now() + timeoutMs);
      this.#scheduleLogFlush();
    }
  }

  /** TOUCH: a new deadline of now + msgTimeout, capped at delivery + --max-msg-timeout. */
  touchMessage(clientId: number, id: string, clientMsgTimeout: number): void {
    const msg = this.#inFlight.get(id);
    if (msg === undefined) throw new Error("ID not in flight");
    if (msg.clientId !== clientId) throw new Error("client does not own message");
    this.#inFlightPQ.remove(msg);
    let deadline = monoMs() + clientMsgTimeout;
    const cap = msg.deliveryTs + this.#ctx.options.maxMsgTimeout;
    if (deadline - msg.deliveryTs >= this.#ctx.options.maxMsgTimeout) deadline = cap;
    msg.pri = smallInt(deadline);
    this.#inFlightPQ.push(msg);
    this.#arm();
  }

  /** Times out expired in-flight messages (equivalent to REQ 0). Returns whether any expired. */
  processInFlightQueue(now: number): boolean {
    let dirty = false;
    let msg;
    this.beginBatch();
    try {
      while ((msg = this.#inFlightPQ.peekAndShift(now)) !== undefined) {
        dirty = true;
        this.#inFlight.delete(msg);
        this.timeoutCount++;
        this.#clients?.get(msg.clientId)?.timedOutMessage();
        this.#putOrLog(msg);
      }
    } finally {
      this.endBatch();
    }
    return dirty;
  }

  /** Moves due deferred messages back to the queue. Returns whether any were due. */
  processDeferredQueue(now: number): boolean {
    let dirty = false;
    let msg;
    this.beginBatch();
    try {
      while ((msg = this.#deferredPQ.peekAndShift(now)) !== undefined) {
        dirty = true;
        this.#deferred.delete(msg);
        this.#putOrLog(msg);
      }
    } finally {
      this.endBatch();
    }
    return dirty;
  }

  /** The earliest in-flight or deferred deadline (ms), or Infinity. */
  get nextDeadline(): number {
    return Math.min(this.#inFlightPQ.nextDeadline, this.#deferredPQ.nextDeadline);
  }

  /** Drops every queued, in-flight and deferred message and the disk queue's files (`/channel/empty`). */
  empty(): void {
    try {
      this.#log?.clear();
    } catch (err) {
      this.#ctx.logError(`CHANNEL(${this.name}): failed to clear the unacknowledged log - ${err}`);
    }
    this.#inFlight.clear();
    this.#inFlightPQ.drain();
    this.#deferred.clear();
    this.#deferredPQ.drain();
    for (const client of this.#clientList) client.emptyInFlight();
    this.#memQueue.clear();
    this.#toDisk = [];
    this.#releaseAfterWrite = [];
    this.#backend.empty();
    if (this.#dueTimes !== undefined) {
      this.#dueTimes.clear();
      this.#dueFile!.remove();
    }
  }

  /** Deletes the channel: its clients are disconnected, its messages and files dropped. Runs once. */
  delete(): void {
    if (this.#exiting) return;
    this.#exiting = true;
    clearTimeout(this.#logRetry);
    for (const client of [...this.#clientList]) client.closeForChannelDelete();
    try {
      this.empty();
    } catch (err) {
      this.#ctx.logError(`CHANNEL(${this.name}): failed to empty - ${err}`);
    }
    this.#log?.close(true);
    this.#log = undefined;
    this.#dueFile?.remove();
    this.#backend.delete().catch((err) => this.#ctx.logError(`CHANNEL(${this.name}): delete - ${err}`));
  }

  /**
   * Shutdown (upstream's `Channel.Close` → flush): the memory queue and every in-flight and deferred
   * message go to the disk queue (in-flight and deferral state are lost, attempts kept), then the
   * disk queue is synced and closed. Ephemeral channels drop them.
   */
  async close(): Promise<void> {
    this.#exiting = true;
    const due = this.#dueTimes === undefined ? undefined : this.#dueEntries();
    const msgs = this.#memQueue.drain();
    msgs.push(...this.#inFlightPQ.drain(), ...this.#deferredPQ.drain());
    this.#inFlight.clear();
    this.#deferred.clear();
    clearTimeout(this.#logRetry);
    let saved = true;
    if (msgs.length > 0) {
      try {
        this.#backend.putMany(msgs);
      } catch (err) {
        saved = false;
        this.#ctx.logError(`CHANNEL(${this.name}): failed to write messages to backend - ${err}`);
      }
    }
    await this.#backend.close();
    if (due !== undefined && saved) {
      try {
        this.#dueFile!.save(due);
      } catch (err) {
        this.#ctx.logError(`CHANNEL(${this.name}): failed to save deferred due times - ${err}`);
      }
    }
    // Everything is on the disk queue now (upstream's layout); if it could not be, the log keeps them.
    if (!saved) this.#flushLog();
    this.#log?.close(saved);
    this.#log = undefined;
  }

  /**
   * Opens a batch of puts (a topic fanning out an MPUB, or a drained backlog): messages that must go to
   * the disk queue are written together by the matching `endBatch()`, one write instead of one per
   * message. Batches nest.
   */
  beginBatch(): void {
    this.#batchDepth++;
  }

  /**
   * Closes a batch: writes what it sent to disk, and what it logged (errors go to health, as a failed put
   * does). Returns false when a write failed (the batch's disk-bound messages are then not stored).
   */
  endBatch(): boolean {
    if (--this.#batchDepth > 0) return true;
    let ok = this.#flushLog();
    if (this.#toDisk.length === 0) return ok;
    try {
      this.#flushToDisk();
    } catch (err) {
      ok = false;
      this.#ctx.logError(`CHANNEL(${this.name}): failed to write messages to backend - ${err}`);
    }
    if (this.#clientList.length > 0) this.dispatch();
    this.#trim();
    return ok;
  }

  #flushToDisk(): void {
    const msgs = this.#toDisk;
    this.#toDisk = [];
    const held = this.#releaseAfterWrite;
    if (held.length > 0) this.#releaseAfterWrite = [];
    try {
      this.#backend.putMany(msgs);
      this.#ctx.setHealth(null);
    } catch (err) {
      this.#ctx.setHealth(err as Error);
      // Held messages stay held (and logged) and are tried again shortly.
      for (const m of held) this.#deferForRetry(m);
      throw err;
    }
    // Released before anything can deliver them again (a later hold of the same ID must come after).
    for (const m of held) this.#release(m);
  }

  /**
   * Puts back a message that was in flight or deferred (REQ, timeout, due): with the log it stays held
   * until it is on the disk queue.
   */
  #putHeld(msg: Message): void {
    // Expired on its way back (REQ, timeout, due): dropped instead of queued, and no longer held.
    if (this.#expired(msg)) return this.#release(msg);
    if (this.#log !== undefined) this.#releaseAfterWrite.push(msg);
    this.#put(msg);
  }

  #deferForRetry(msg: Message): void {
    try {
      this.#startDeferredTimeout(msg, RETRY_MS);
    } catch { /* already deferred */ }
  }

  #put(msg: Message): void {
    const clients = this.#clientList;
    // Fast path: nothing is waiting, so hand it straight to a ready client. With
    // --mem-queue-size=0 a durable channel has no memory queue at all: everything goes through disk.
    let noneReady = false;
    if (
      !this.#dispatching && !this.#paused && clients.length > 0 && this.#memQueue.length === 0 &&
      this.#backend.depth === 0 && this.#toDisk.length === 0 && (this.#memQueueSize > 0 || this.ephemeral)
    ) {
      const client = this.#nextReadyClient(clients);
      if (client !== undefined) {
        client.deliver(msg);
        return;
      }
      noneReady = true; // dispatch() below would scan the same clients again
    }
    if (this.#memQueue.length < this.#memQueueSize && this.#toDisk.length === 0) {
      this.#memQueue.push(msg);
    } else {
      // Once a batch spills, the rest of it follows on disk, in order.
      this.#toDisk.push(msg);
      if (this.#batchDepth > 0) return;
      this.#flushToDisk();
    }
    if (clients.length > 0 && !noneReady) this.dispatch();
    // After the dispatch: a message a client could take does not count against the max depth.
    if (this.#maxDepth !== 0) this.#trim();
  }

  /** A put from the scan loop: a disk error is reported through health and logged, not thrown. */
  #putOrLog(msg: Message): void {
    try {
      this.#putHeld(msg);
    } catch (err) {
      this.#ctx.logError(`CHANNEL(${this.name}): failed to put message - ${err}`);
    }
  }

  #take(): Message | undefined {
    // Go's select picks memory or disk at random when both are ready: alternate between them.
    this.#preferBackend = !this.#preferBackend;
    if (this.#preferBackend && this.#backend.depth > 0) return this.#backend.read() ?? this.#memQueue.shift();
    return this.#memQueue.shift() ?? this.#backend.read();
  }

  #nextReadyClient(clients: Consumer[]): Consumer | undefined {
    const n = clients.length;
    for (let i = 0; i < n; i++) {
      if (this.#rr >= n) this.#rr = 0;
      const client = clients[this.#rr++];
      if (client.isReadyForMessages()) return client;
    }
    return undefined;
  }

  /** Called by a client just before it writes a message: counts it in flight. */
  startInFlightTimeout(msg: Message, clientId: number, timeoutMs: number): void {
    const now = monoMs();
    msg.clientId = clientId;
    msg.deliveryTs = now;
    msg.pri = smallInt(now + timeoutMs);
    if (!this.#inFlight.add(msg)) throw new Error("ID already in flight");
    this.#inFlightPQ.push(msg);
    this.#arm();
    // Written before the disk queue's read position moves past it (dispatch holds that sync).
    this.#log?.hold(msg, 0);
  }

  /** FIN of the ID at `buf[off..off+16)` (the FIN fast path: no ID string is made). */
  finishMessageAt(clientId: number, buf: Uint8Array, off: number): Message {
    const msg = this.#inFlight.getAt(buf, off);
    if (msg === undefined) throw new Error("ID not in flight");
    if (msg.clientId !== clientId) throw new Error("client does not own message");
    this.#inFlight.delete(msg);
    this.#inFlightPQ.remove(msg);
    this.e2eLatency?.insert(messageTimestamp(msg));
    this.#release(msg);
    return msg;
  }

  #popInFlight(clientId: number, id: string): Message {
    const msg = this.#inFlight.get(id);
    if (msg === undefined) throw new Error("ID not in flight");
    if (msg.clientId !== clientId) throw new Error("client does not own message");
    this.#inFlight.delete(msg);
    return msg;
  }

  #startDeferredTimeout(msg: Message, timeoutMs: number): void {
    if (!this.#deferred.add(msg)) throw new Error("ID already deferred");
    msg.pri = smallInt(monoMs() + timeoutMs);
    this.#deferredPQ.push(msg);
    this.#arm();
  }

  #arm(): void {
    if (this.#armed) return;
    this.#armed = true;
    this.#ctx.armDeadlines(this);
  }

  /**
   * For the queue scan: true (and the channel is no longer armed) when nothing is in flight or deferred,
   * or the channel is gone; the next delivery or deferral arms it again.
   */
  disarmIfIdle(): boolean {
    if (!this.#exiting && this.nextDeadline !== Infinity) return false;
    this.#armed = false;
    return true;
  }
}
