/**
 * A topic: the stream publishers write to (nsq `nsqd/topic.go`). Each message is copied to every
 * channel; while the topic has no channel, or is paused, messages wait in the topic's own queue
 * (memory, then backend) and are fanned out once a channel appears or the topic resumes.
 */
import { GuidFactory } from "../protocol/guid.ts";
import type { Message } from "../protocol/message.ts";
import { isEphemeral } from "../protocol/names.ts";
import { type BackendQueue, DummyBackend, MemoryBackend } from "./backend_queue.ts";
import { Channel, type ChannelContext } from "./channel.ts";
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
}

/** Messages fanned out per turn of the event loop when a backlog drains, so other work runs too. */
const DRAIN_BATCH = 4096;

export class Topic {
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
  #channelCtx: ChannelContext;

  messageCount = 0;
  messageBytes = 0;

  constructor(name: string, ctx: TopicContext) {
    this.name = name;
    this.ephemeral = isEphemeral(name);
    this.#ctx = ctx;
    this.guid = new GuidFactory(ctx.options.nodeId);
    this.#memQueueSize = ctx.options.memQueueSize;
    this.#memQueue = new MessageQueue(Math.min(this.#memQueueSize, 1024));
    this.#backend = this.ephemeral ? new DummyBackend() : new MemoryBackend();
    this.#channelCtx = {
      options: ctx.options,
      setHealth: (err) => ctx.setHealth(err),
      onEphemeralChannelEmpty: (channel) => this.deleteExistingChannel(channel.name),
    };
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

  /** Returns the channel, creating it (and starting the fan-out) if needed. */
  getChannel(name: string): Channel {
    let channel = this.#channels.get(name);
    if (channel !== undefined) return channel;
    channel = new Channel(this.name, name, this.#channelCtx);
    this.#channels.set(name, channel);
    this.#channelList.push(channel);
    this.#ctx.onChannelChange(this, channel, true);
    this.#scheduleDrain();
    return channel;
  }

  /** Deletes a channel; throws if it does not exist. */
  deleteExistingChannel(name: string): void {
    const channel = this.#channels.get(name);
    if (channel === undefined) throw new Error("channel does not exist");
    this.#channels.delete(name);
    this.#channelList.splice(this.#channelList.indexOf(channel), 1);
    channel.delete();
    this.#ctx.onChannelChange(this, channel, false);
    if (this.#channels.size === 0 && this.ephemeral) this.#ctx.onEphemeralTopicEmpty(this);
  }

  /** Publishes one message. Throws when the topic is exiting or the backend fails. */
  putMessage(msg: Message): void {
    if (this.#exiting) throw new Error("exiting");
    this.#put(msg);
    this.messageCount++;
    this.messageBytes += msg.body.length;
  }

  /** Publishes several messages; those put before a failure stay queued, as upstream. */
  putMessages(msgs: Message[]): void {
    if (this.#exiting) throw new Error("exiting");
    for (const msg of msgs) {
      this.#put(msg);
      this.messageCount++;
      this.messageBytes += msg.body.length;
    }
  }

  pause(): void {
    this.#paused = true;
  }

  unpause(): void {
    this.#paused = false;
    this.#scheduleDrain();
  }

  /** Drops every message queued on the topic (`/topic/empty`). */
  empty(): void {
    this.#memQueue.clear();
    this.#backend.empty();
  }

  /** Deletes the topic: every channel is deleted and queues dropped. */
  delete(): void {
    this.#exiting = true;
    for (const name of [...this.#channels.keys()]) this.deleteExistingChannel(name);
    this.empty();
  }

  /** Stops the topic and hands back what it and its channels hold (for shutdown). */
  close(): { topic: Message[]; channels: Map<string, Message[]> } {
    this.#exiting = true;
    const channels = new Map<string, Message[]>();
    for (const c of this.#channelList) channels.set(c.name, c.close());
    const topic = this.#memQueue.drain();
    topic.push(...this.#backend.drain());
    return { topic, channels };
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
    if (
      this.#started && this.#channelList.length > 0 && !this.#paused && this.#memQueue.length === 0 &&
      this.#backend.depth === 0
    ) {
      this.#fanOut(msg);
      return;
    }
    if (this.#memQueue.length < this.#memQueueSize) {
      this.#memQueue.push(msg);
      return;
    }
    try {
      this.#backend.put(msg);
      this.#ctx.setHealth(null);
    } catch (err) {
      this.#ctx.setHealth(err as Error);
      throw err;
    }
  }

  /** Copies a message to every channel: the first gets the original, the others copies. */
  #fanOut(msg: Message): void {
    const chans = this.#channelList;
    // The first channel may deliver (and count an attempt on) the original before the others
    // are copied: copy from the attempts it had on arrival.
    const attempts = msg.attempts;
    for (let i = 0; i < chans.length; i++) {
      const m = i === 0 ? msg : msg.copy();
      m.attempts = attempts;
      const channel = chans[i];
      if (m.deferMs !== 0) {
        channel.putMessageDeferred(m, m.deferMs);
      } else {
        try {
          channel.putMessage(m);
        } catch {
          // Reported through health; upstream logs and goes on with the other channels.
        }
      }
    }
  }

  #scheduleDrain(): void {
    if (this.#drainScheduled || this.depth === 0) return;
    this.#drainScheduled = true;
    queueMicrotask(() => this.#drain());
  }

  /** Fans out the backlog in batches, yielding to the event loop between them. */
  #drain(): void {
    this.#drainScheduled = false;
    if (!this.#started || this.#paused || this.#exiting || this.#channelList.length === 0) return;
    let n = 0;
    let preferBackend = false;
    while (n < DRAIN_BATCH) {
      preferBackend = !preferBackend;
      const msg = preferBackend
        ? this.#backend.read() ?? this.#memQueue.shift()
        : this.#memQueue.shift() ?? this.#backend.read();
      if (msg === undefined) return;
      this.#fanOut(msg);
      n++;
    }
    if (this.depth > 0) {
      this.#drainScheduled = true;
      setTimeout(() => this.#drain(), 0);
    }
  }
}
