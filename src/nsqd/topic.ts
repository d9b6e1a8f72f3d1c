/**
 * A topic: the stream publishers write to (nsq `nsqd/topic.go`). Each message is copied to every
 * channel; while the topic has no channel, or is paused, messages wait in the topic's own queue
 * (memory, then backend) and are fanned out once a channel appears or the topic resumes.
 */
import { GuidFactory } from "../protocol/guid.ts";
import { copyMessage, type Message, messageTimestamp } from "../protocol/message.ts";
import { isEphemeral } from "../protocol/names.ts";
import { type BackendQueue, DummyBackend } from "./diskqueue/backend_queue.ts";
import { Channel, type ChannelContext } from "./channel.ts";
import { DrainingError } from "./drain.ts";
import { MessageQueue } from "./message_queue.ts";
import type { NsqdOptions } from "./options.ts";

/** What a topic needs of its nsqd. */
export interface TopicContext {
  readonly options: NsqdOptions;
  setHealth(err: Error | null): void;
  /** The last channel of an ephemeral topic was deleted. */
  onEphemeralTopicEmpty(topic: Topic): void;
  /** A channel was created or deleted (metadata, lookupd). */
  onChannelChange(topic: Topic, channel: Channel, created: boolean): void;
  /** The disk queue named `name` (the topic, or `topic:channel`). */
  createBackend(name: string): BackendQueue;
  /** Where a channel keeps its unacknowledged log (see `ChannelContext.unackedLog`). */
  unackedLog(name: string): { path: string; enabled: boolean } | undefined;
  /** Where a channel keeps its deferred messages' due times (see `ChannelContext.deferredTimes`). */
  deferredTimes(name: string): { path: string; maxInMemory: number } | undefined;
  logError(msg: string): void;
  /** nsqd is draining: no new message, no new channel. */
  isDraining(): boolean;
  /** See `ChannelContext.armDeadlines`. */
  armDeadlines(channel: Channel): void;
}

/** Messages fanned out per turn of the event loop when a backlog drains, so other work runs too. */
const DRAIN_BATCH = 4096;
/** A backlog whose hand-over to the channels failed (disk full) is tried again after this long. */
const RETRY_MS = 1000;

export class Topic implements ChannelContext {
  readonly name: string;
  readonly ephemeral: boolean;
  readonly guid: GuidFactory;
  readonly #ctx: TopicContext;
  readonly #memQueueSize: number;
  #channels = new Map<string, Channel>();
  #channelList: Channel[] = [];
  #memQueue: MessageQueue;
  #backend: BackendQueue;
  #paused = false;
  #exiting = false;
  /** Until started, messages wait on the topic (channels are being pre-created from lookupd). */
  #started = false;
  #drainScheduled = false;
  /** Whether the last message `#putInMemory` handed to the channels was stored by every one. */
  #fanOutOk = true;
  #lastFanOutError: Error | undefined;

  messageCount = 0;
  messageBytes = 0;
  /** Messages dropped at the topic's hand-over to its channels, older than the max message age. */
  expiredCount = 0;
  /** The topic's own max message age (ms; 0 = none: `--max-msg-age` applies). See `POST /topic/max-msg-age`. */
  #maxMsgAge = 0;

  constructor(name: string, ctx: TopicContext) {
    this.name = name;
    this.ephemeral = isEphemeral(name);
    this.#ctx = ctx;
    this.guid = new GuidFactory(ctx.options.nodeId);
    this.#memQueueSize = ctx.options.memQueueSize;
    this.#memQueue = new MessageQueue();
    this.#backend = this.ephemeral ? new DummyBackend() : ctx.createBackend(name);
  }

  // ---- what its channels need (ChannelContext): the topic itself, not an object of closures per topic ----

  get options(): NsqdOptions {
    return this.#ctx.options;
  }
  setHealth(err: Error | null): void {
    this.#ctx.setHealth(err);
  }
  onEphemeralChannelEmpty(channel: Channel): void {
    this.#removeChannel(channel);
  }
  createBackend(name: string): BackendQueue {
    return this.#ctx.createBackend(name);
  }
  unackedLog(name: string): { path: string; enabled: boolean } | undefined {
    return this.#ctx.unackedLog(name);
  }
  deferredTimes(name: string): { path: string; maxInMemory: number } | undefined {
    return this.#ctx.deferredTimes(name);
  }
  logError(msg: string): void {
    this.#ctx.logError(msg);
  }
  armDeadlines(channel: Channel): void {
    this.#ctx.armDeadlines(channel);
  }

  get paused(): boolean {
    return this.#paused;
  }
  get exiting(): boolean {
    return this.#exiting;
  }
  get depth(): number {
    return this.#memQueue.length + this.#backend.depth;
  }
  get backendDepth(): number {
    return this.#backend.depth;
  }
  /** The topic's own max message age (ms; 0 = none set). */
  get maxMsgAge(): number {
    return this.#maxMsgAge;
  }

  /** Sets the topic's own max message age (ms; 0 clears it: `--max-msg-age` applies again). */
  setMaxMsgAge(ms: number): void {
    this.#maxMsgAge = ms;
  }

  /** The max message age in force (ms; 0 = off): the topic's own, else `--max-msg-age`. */
  get effectiveMaxMsgAge(): number {
    return this.#maxMsgAge || this.#ctx.options.maxMsgAge;
  }

  /** Channels sorted by name. */
  get channels(): Channel[] {
    return [...this.#channelList].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Channels in creation order (no copy: for hot loops that must not allocate). */
  get channelList(): readonly Channel[] {
    return this.#channelList;
  }

  getExistingChannel(name: string): Channel | undefined {
    return this.#channels.get(name);
  }

  /** Returns the channel, creating it (and starting the fan-out) if needed; not while draining. */
  getChannel(name: string): Channel {
    let channel = this.#channels.get(name);
    if (channel !== undefined) return channel;
    if (this.#ctx.isDraining()) throw new DrainingError();
    channel = new Channel(this.name, name, this);
    this.#channels.set(name, channel);
    this.#channelList.push(channel);
    this.#ctx.onChannelChange(this, channel, true);
    this.#scheduleDrain();
    return channel;
  }

  /**
   * Deletes a channel (`/channel/delete`): its clients are disconnected, its messages and files
   * dropped; the last channel of an ephemeral topic takes the topic with it. False if there is none.
   */
  deleteExistingChannel(name: string): boolean {
    const channel = this.#channels.get(name);
    if (channel === undefined) return false;
    this.#removeChannel(channel);
    return true;
  }

  /**
   * Deletes this very channel if it is still one of the topic's. The last client of an ephemeral
   * channel may leave after the channel was deleted (its connection closes on a later turn, or while
   * the deletion disconnects it), and by then another channel may have been made under its name.
   */
  #removeChannel(channel: Channel): void {
    if (this.#channels.get(channel.name) !== channel) return;
    this.#detachAndDelete(channel);
    if (this.#channels.size === 0 && this.ephemeral && !this.#exiting) this.#ctx.onEphemeralTopicEmpty(this);
  }

  /**
   * Takes the channel out of the topic before deleting it, so whatever its deletion sets off (clients
   * leaving) finds it gone. The list is replaced, not spliced: a fan-out in progress keeps its own.
   * A failure (a file that cannot be removed) is logged: the deletion goes on regardless.
   */
  #detachAndDelete(channel: Channel): void {
    this.#channels.delete(channel.name);
    this.#channelList = this.#channelList.filter((c) => c !== channel);
    try {
      channel.delete();
    } catch (err) {
      this.#ctx.logError(`TOPIC(${this.name}): failed to delete channel(${channel.name}) - ${err}`);
    }
    this.#ctx.onChannelChange(this, channel, false);
  }

  /** Publishes one message. Throws when the topic is exiting, nsqd draining, or the backend fails. */
  putMessage(msg: Message): void {
    if (this.#exiting) throw new Error("exiting");
    if (this.#ctx.isDraining()) throw new DrainingError();
    this.#put(msg);
    this.#count(msg);
  }

  /** A channel's write failed while this publish was fanned out: the publisher must not hear OK. */
  #fanOutFailed(): never {
    throw this.#lastFanOutError ?? new Error("failed to write to a channel");
  }

  /**
   * Publishes several messages; those put before a failure stay queued, as upstream. Messages bound
   * for the disk queue are written together (one write for an MPUB).
   */
  putMessages(msgs: Message[]): void {
    if (this.#exiting) throw new Error("exiting");
    if (this.#ctx.isDraining()) throw new DrainingError();
    let toDisk: Message[] | null = null;
    let ok = true;
    this.#beginBatch();
    try {
      for (const msg of msgs) {
        if (toDisk !== null) toDisk.push(msg);
        else if (!this.#putInMemory(msg)) toDisk = [msg];
        else if (this.#fanOutOk) this.#count(msg);
        else ok = false;
      }
    } finally {
      ok = this.#endBatch() && ok;
    }
    if (!ok) this.#fanOutFailed();
    if (toDisk !== null) {
      this.#writeToBackend(toDisk);
      for (const msg of toDisk) this.#count(msg);
    }
  }

  /** Channels write what a batch of messages sends to their disk queues once, at the end. */
  #beginBatch(): void {
    const chans = this.#channelList;
    for (let i = 0; i < chans.length; i++) chans[i].beginBatch();
  }

  /** Returns false when a channel failed to write what the batch sent it. */
  #endBatch(): boolean {
    const chans = this.#channelList;
    let ok = true;
    for (let i = 0; i < chans.length; i++) ok = chans[i].endBatch() && ok;
    return ok;
  }

  pause(): void {
    this.#paused = true;
  }

  unpause(): void {
    this.#paused = false;
    this.#scheduleDrain();
  }

  /** Drops every message queued on the topic and its disk queue's files (`/topic/empty`). */
  empty(): void {
    this.#memQueue.clear();
    this.#backend.empty();
  }

  /**
   * Deletes the topic: every channel is deleted, queues and files dropped. Runs once, and to the end
   * (a failure to remove files is logged); the ephemeral-topic rule does not fire on the way.
   */
  delete(): void {
    if (this.#exiting) return;
    this.#exiting = true;
    for (const channel of this.#channelList) {
      if (this.#channels.get(channel.name) === channel) this.#detachAndDelete(channel);
    }
    try {
      this.empty();
    } catch (err) {
      this.#ctx.logError(`TOPIC(${this.name}): failed to empty - ${err}`);
    }
    this.#backend.delete().catch((err) => this.#ctx.logError(`TOPIC(${this.name}): delete - ${err}`));
  }

  /**
   * Shutdown (upstream's `Topic.Close`): every channel is closed (its messages go to its disk
   * queue), then the topic's memory queue is written to the topic's disk queue, synced and closed.
   */
  async close(): Promise<void> {
    this.#exiting = true;
    for (const c of this.#channelList) await c.close();
    const msgs = this.#memQueue.drain();
    if (msgs.length > 0) {
      try {
        this.#backend.putMany(msgs);
      } catch (err) {
        this.#ctx.logError(`TOPIC(${this.name}): failed to write messages to backend - ${err}`);
      }
    }
    await this.#backend.close();
  }

  /** Starts the fan-out (upstream's `Topic.Start`, after channel pre-creation). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#scheduleDrain();
  }

  get started(): boolean {
    return this.#started;
  }

  #put(msg: Message): void {
    if (!this.#putInMemory(msg)) this.#writeToBackend([msg]);
    else if (!this.#fanOutOk) this.#fanOutFailed();
  }

  #count(msg: Message): void {
    this.messageCount++;
    this.messageBytes += msg.len;
  }

  /**
   * Hands a message straight to the channels when nothing waits (`#fanOutOk` then says whether every
   * channel took it), or queues it in memory; false when it must go to the topic's disk queue. With
   * --mem-queue-size=0 every message of a durable topic is on disk before it is acknowledged (upstream
   * 1.3.0, #1376): handed over, it is in each channel's disk queue (or unacknowledged log) already, so
   * no hand-over from the topic's disk queue is left for a crash to interrupt.
   */
  #putInMemory(msg: Message): boolean {
    if (
      this.#started && this.#channelList.length > 0 && !this.#paused && this.#memQueue.length === 0 &&
      this.#backend.depth === 0
    ) {
      this.#fanOutOk = this.#fanOut(msg);
      return true;
    }
    this.#fanOutOk = true;
    if (this.#memQueue.length < this.#memQueueSize) {
      this.#memQueue.push(msg);
      return true;
    }
    return false;
  }

  #writeToBackend(msgs: Message[]): void {
    try {
      if (msgs.length === 1) this.#backend.put(msgs[0]);
      else this.#backend.putMany(msgs);
      this.#ctx.setHealth(null);
    } catch (err) {
      this.#ctx.setHealth(err as Error);
      throw err;
    }
    this.#scheduleDrain();
  }

  /**
   * Copies a message to every channel: the first gets the original, the others copies. Returns false when
   * a channel could not store it (reported through health; the other channels still get it, as upstream).
   */
  #fanOut(msg: Message): boolean {
    let ok = true;
    const chans = this.#channelList;
    // The first channel may deliver (and count an attempt on) the original before the others
    // are copied: copy from the attempts it had on arrival.
    const attempts = msg.attempts;
    for (let i = 0; i < chans.length; i++) {
      const m = i === 0 ? msg : copyMessage(msg);
      m.attempts = attempts;
      const channel = chans[i];
      try {
        if (m.deferMs !== 0) channel.putMessageDeferred(m, m.deferMs);
        else channel.putMessage(m);
      } catch (err) {
        ok = false;
        this.#lastFanOutError = err as Error;
      }
    }
    return ok;
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled || this.depth === 0) return;
    this.#drainScheduled = true;
    queueMicrotask(() => this.#drain());
  }

  /**
   * Fans out the backlog in batches, yielding to the event loop between them. The topic's disk queue keeps
   * its read position on disk until the channels have written the batch: a crash in between brings the
   * batch back (at least once) instead of losing it; a failed write puts the reader back and tries later.
   */
  #drain(): void {
    this.#drainScheduled = false;
    if (!this.#started || this.#paused || this.#exiting || this.#channelList.length === 0) return;
    let n = 0;
    let preferBackend = false;
    let ok = true;
    let more = true;
    const backend = this.#backend;
    const maxAge = this.effectiveMaxMsgAge;
    const now = Date.now();
    backend.holdSync();
    const mark = backend.mark();
    this.#beginBatch();
    try {
      while (n < DRAIN_BATCH) {
        preferBackend = !preferBackend;
        const msg = preferBackend
          ? backend.read() ?? this.#memQueue.shift()
          : this.#memQueue.shift() ?? backend.read();
        if (msg === undefined) {
          more = false;
          break;
        }
        n++;
        // Waited on the topic (no channel yet, paused) past the max age: no channel gets it.
        if (maxAge !== 0 && now - messageTimestamp(msg) / 1e6 > maxAge) {
          this.expiredCount++;
          continue;
        }
        ok = this.#fanOut(msg) && ok;
      }
    } finally {
      ok = this.#endBatch() && ok;
      if (!ok) backend.rewind(mark);
      backend.releaseSync();
    }
    if (!ok) {
      this.#drainScheduled = true;
      setTimeout(() => this.#drain(), RETRY_MS);
    } else if (more && this.depth > 0) {
      this.#drainScheduled = true;
      setTimeout(() => this.#drain(), 0);
    }
  }
}
