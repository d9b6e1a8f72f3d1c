/**
 * The nsqd broker (nsq `nsqd/nsqd.go`): topics, clients, listeners, and the scan loop that expires
 * in-flight and deferred messages. Everything runtime-specific comes in through the `Platform`, so
 * several brokers can live in one process.
 */
import type {
  Conn,
  DirLock,
  Listener,
  NetAddr,
  Platform,
  TlsClientConfig,
  TlsServerConfig,
} from "../platform/types.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { nowNs } from "../protocol/message.ts";
import { newMessage } from "./body_arena.ts";
import { holdClock, monoMs, releaseClock, smallInt } from "./clock.ts";
import { isEphemeral, isValidChannelName, isValidTopicName } from "../protocol/names.ts";
import { DiskBackend } from "./diskqueue/backend_queue.ts";
import { DEFERRED_TIMES_SUFFIX } from "./diskqueue/deferred_times.ts";
import { UNACKED_LOG_SUFFIX } from "./diskqueue/unacked_log.ts";
import { lookupdTopicChannels, LookupLoop, type LookupPeer } from "./lookup.ts";
import {
  metadataFileName,
  MetadataWriter,
  queuesWithFiles,
  readMetadata,
  type TopicMetadata,
} from "./metadata.ts";
import { formatListenAddr, parseHostPort } from "../internal/address.ts";
import type { Channel } from "./channel.ts";
import { type ClientContext, ClientV2 } from "./client_v2.ts";
import { DrainingError, drainState } from "./drain.ts";
import { createHttpApp } from "./http/http.ts";
import { Logger } from "../internal/logger.ts";
import { TLS_MIN_VERSIONS } from "../internal/option_specs.ts";
import { type NsqdOptions, validateNsqdOptions } from "./options.ts";
import { ProtocolV2 } from "./protocol_v2.ts";
import { getStats, type Stats } from "./stats/stats.ts";
import { StatsdLoop } from "./stats/statsd.ts";
import { Topic, type TopicContext } from "./topic.ts";
import { NSQ_VERSION, versionString } from "../internal/version.ts";

/** What `Nsqd.stats()` returns: `/stats?format=json` without `memory`. */
export interface NsqdStats extends Stats {
  version: string;
  health: string;
  start_time: number;
  /** Present (true) only while draining, as Go's `omitempty`: the default shape stays upstream's. */
  draining?: true;
}

/** nsqd's QueueScanInterval: how often in-flight and deferred deadlines are checked. */
const QUEUE_SCAN_INTERVAL_MS = 100;

export class Nsqd {
  readonly version = NSQ_VERSION;
  readonly platform: Platform;
  readonly options: NsqdOptions;
  readonly logger: Logger;
  /** Unix seconds. */
  readonly startTime = Math.floor(Date.now() / 1000);
  #topics = new Map<string, Topic>();
  #clients = new Map<number, ClientV2>();
  #clientSeq = 0;
  #health: Error | null = null;
  #tcpListener: Listener | null = null;
  #httpListener: Listener | null = null;
  #httpsListener: Listener | null = null;
  /** The TLS settings when `--tls-cert` and `--tls-key` are given (clients may then negotiate tls_v1). */
  tlsConfig: TlsServerConfig | null = null;
  #scanTimer: ReturnType<typeof setInterval> | undefined;
  /** Channels with an in-flight or deferred deadline: what the queue scan looks at. */
  #armed = new Set<Channel>();
  #exiting = false;
  #draining = false;
  #drainTimer: ReturnType<typeof setTimeout> | undefined;
  #closing: Promise<void> | null = null;
  #resolveClosed!: () => void;
  /** Resolves once nsqd has closed, whatever closed it: `close()`, a finished drain, `PUT /config/shutdown`. */
  readonly closed: Promise<void> = new Promise((resolve) => (this.#resolveClosed = resolve));
  #statsd: StatsdLoop | null = null;
  #dirLock: DirLock | null = null;
  #lookup: LookupLoop | null = null;
  #loading = false;
  readonly #metadata: MetadataWriter;
  #topicCtx: TopicContext;
  #clientCtx: ClientContext;
  /** Clients to flush once the current read is handled (see ClientContext.requestFlush). */
  #flushQueue: ClientV2[] = [];
  #readDepth = 0;
  #flushScheduled = false;

  constructor(platform: Platform, options: NsqdOptions, logWrite?: (line: string) => void) {
    validateNsqdOptions(options);
    this.platform = platform;
    this.options = options;
    this.logger = new Logger(
      logWrite ?? ((line) => platform.writeStderr(line)),
      options.logPrefix,
      options.logLevel,
    );
    this.#topicCtx = {
      options,
      setHealth: (err) => this.setHealth(err),
      onEphemeralTopicEmpty: (topic) => this.#deleteTopic(topic),
      onChannelChange: (topic, channel, created) => this.#onChannelChange(topic, channel, created),
      createBackend: (name) => new DiskBackend(name, this.dataPath, options, this.logger),
      unackedLog: (name) => ({
        path: join(this.dataPath, name + UNACKED_LOG_SUFFIX),
        enabled: options.memQueueSize === 0,
      }),
      deferredTimes: (name) =>
        options.persistDeferred
          ? {
            path: join(this.dataPath, name + DEFERRED_TIMES_SUFFIX),
            maxInMemory: options.maxDeferredInMemory,
          }
          : undefined,
      logError: (msg) => this.logger.error(msg),
      isDraining: () => this.#draining,
      armDeadlines: (channel) => this.#armed.add(channel),
    };
    this.#metadata = new MetadataWriter(
      this.dataPath,
      this,
      (err) => this.logger.error(`failed to persist metadata - ${err.message}`),
    );
    this.#clientCtx = {
      options,
      debug: (msg) => this.logger.debug(msg),
      requestFlush: (client) => this.#requestFlush(client),
    };
  }

  /** The bound TCP address (after `start()`). */
  get tcpAddr(): NetAddr | null {
    return this.#tcpListener?.addr ?? null;
  }
  /** The bound HTTPS address, or null without TLS. */
  get httpsAddr(): NetAddr | null {
    return this.#httpsListener?.addr ?? null;
  }

  /** `403 {"message": "TLS_REQUIRED", "https_port": N}` (upstream's exact text, spaces included). */
  #tlsRequiredResponse(): Response {
    return new Response(`{"message": "TLS_REQUIRED", "https_port": ${this.httpsAddr?.port ?? 0}}`, {
      status: 403,
      headers: { "X-NSQ-Content-Type": "nsq; version=1.0", "Content-Type": "text/plain; charset=utf-8" },
    });
  }

  /** The bound HTTP address (after `start()`), or null when HTTP is disabled. */
  get httpAddr(): NetAddr | null {
    return this.#httpListener?.addr ?? null;
  }
  /** AUTH is on when `--auth-http-address` is given. */
  get authEnabled(): boolean {
    return this.options.authHttpAddresses.length > 0;
  }
  get exiting(): boolean {
    return this.#exiting;
  }
  /** Whether a drain has started (it ends with a clean shutdown; see `drain()`). */
  get draining(): boolean {
    return this.#draining;
  }
  /** `OK` or `NOK - <error>` (/ping, /stats). */
  get health(): string {
    return this.#health === null ? "OK" : `NOK - ${this.#health.message}`;
  }
  get isHealthy(): boolean {
    return this.#health === null;
  }

  setHealth(err: Error | null): void {
    if (err !== null && this.#health === null) this.logger.error(`unhealthy - ${err.message}`);
    this.#health = err;
  }

  /** The directory of nsqd.dat and the disk queues (`--data-path`, default the working directory). */
  get dataPath(): string {
    return this.options.dataPath === "" ? "." : this.options.dataPath;
  }

  /**
   * Locks the data path, restores topics and channels from nsqd.dat, binds the listeners and starts
   * serving. Throws (after undoing what it did) when any step fails.
   */
  async start(): Promise<void> {
    this.logger.info(versionString("nsqd", this.platform));
    this.logger.info(`ID: ${this.options.nodeId}`);
    try {
      this.#dirLock = this.platform.lockDirectory(this.dataPath);
    } catch (err) {
      throw new Error(`failed to lock data-path: ${(err as Error).message}`);
    }
    if (this.#dirLock === null) {
      this.logger.warn(`cannot flock ${this.dataPath} on this platform: not locked`);
    }
    try {
      this.#loadMetadata();
      this.#persistNow();
      this.tlsConfig = loadTlsConfig(this.options);
      const tcpAddr = parseHostPort(this.options.tcpAddress);
      const tcp = await listening(
        this.options.tcpAddress,
        () =>
          this.platform.listen(tcpAddr, (conn) => new ProtocolV2(this, conn), {
            tls: this.tlsConfig !== null,
          }),
      );
      this.#tcpListener = tcp;
      this.logger.info(`TCP: listening on ${formatListenAddr(tcp.addr)}`);
      const app = this.options.httpAddress !== "" || this.tlsConfig !== null ? createHttpApp(this) : null;
      if (app !== null && this.tlsConfig !== null && this.options.httpsAddress !== "") {
        const httpsAddr = parseHostPort(this.options.httpsAddress);
        const { key, cert, minVersion } = this.tlsConfig;
        const onHandshakeError = (remote: string, message: string) =>
          this.logger.error(`HTTPS: TLS handshake with ${remote} failed - ${message}`);
        const https = await listening(
          this.options.httpsAddress,
          () =>
            this.platform.serve(httpsAddr, (req, info) => app.fetch(req, info), {
              key,
              cert,
              minVersion,
              onHandshakeError,
            }),
        );
        this.#httpsListener = https;
        this.logger.info(`HTTPS: listening on ${formatListenAddr(https.addr)}`);
      }
      if (app !== null && this.options.httpAddress !== "") {
        const httpAddr = parseHostPort(this.options.httpAddress);
        // --tls-required=true (not tcp-https): the plain HTTP listener refuses everything (§3.11).
        const gate = this.options.tlsRequired === "true";
        const http = await listening(
          this.options.httpAddress,
          () =>
            this.platform.serve(
              httpAddr,
              (req, info) => gate ? this.#tlsRequiredResponse() : app.fetch(req, info),
            ),
        );
        this.#httpListener = http;
        this.logger.info(`HTTP: listening on ${formatListenAddr(http.addr)}`);
      }
    } catch (err) {
      await this.#httpsListener?.close();
      await this.#tcpListener?.close();
      this.#dirLock?.release();
      this.#dirLock = null;
      throw err;
    }
    this.#scanTimer = setInterval(() => this.#queueScan(), QUEUE_SCAN_INTERVAL_MS);
    this.#startLookup();
    if (this.options.statsdAddress !== "") {
      this.#statsd = new StatsdLoop(this);
      this.#statsd.start();
    }
  }

  /**
   * Shuts down as upstream's Exit: stop listening, close every client, persist nsqd.dat, then close
   * each topic and channel, which writes what they hold in memory (queued, in flight, deferred) to
   * their disk queues.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    if (this.#draining) {
      const { pending } = drainState(this.#topics.values());
      if (pending > 0) this.logger.info(`NSQ: drain ended early: clean shutdown, ${pending} messages kept`);
    }
    this.#exiting = true;
    clearTimeout(this.#drainTimer);
    clearInterval(this.#scanTimer);
    this.#scanTimer = undefined;
    this.#statsd?.stop();
    this.#lookup?.stop();
    await this.#tcpListener?.close();
    for (const client of [...this.#clients.values()]) {
      client.conn.close();
      client.dispose(); // timers stop now, not when the socket reports its close
    }
    await this.#httpListener?.close();
    await this.#httpsListener?.close();
    this.#metadata.cancel();
    this.#persistNow();
    for (const topic of this.#topics.values()) await topic.close();
    this.#dirLock?.release();
    this.#dirLock = null;
    this.logger.info("NSQ: exiting");
    this.#resolveClosed();
  }

  /**
   * Starts a drain (once; it cannot be cancelled): publishes are refused, no topic or channel is
   * created, consumers keep receiving what is queued, deferred or in flight, and once nothing
   * deliverable is left nsqd shuts down as `close()` does. Resolves once nsqd has closed: drained, after
   * `--drain-timeout`, or by a `close()` meanwhile (a clean shutdown, nothing lost).
   */
  drain(): Promise<void> {
    if (this.#draining || this.#exiting) return this.closed;
    this.#draining = true;
    const limit = this.options.drainTimeout;
    this.logger.info(
      `NSQ: draining: publishes refused, exiting once every topic and channel is empty${
        limit > 0 ? ` (at most ${limit} ms)` : ""
      }`,
    );
    if (limit > 0) {
      this.#drainTimer = setTimeout(() => {
        this.logger.warn(`NSQ: drain timed out after ${limit} ms`);
        void this.close();
      }, limit);
    }
    return this.closed;
  }

  /** Called on every scan while draining: closes nsqd once nothing deliverable is left. */
  #checkDrained(): void {
    const { pending, stranded } = drainState(this.#topics.values());
    if (pending > 0) return;
    for (const line of stranded) this.logger.warn(`${line}: left as a clean shutdown leaves them`);
    this.logger.info("NSQ: drained");
    void this.close();
  }

  /** Writes nsqd.dat soon (after a topic/channel create, delete, pause or unpause). */
  persistMetadata(): void {
    if (!this.#loading && !this.#exiting) this.#metadata.request();
  }

  #persistNow(): void {
    this.logger.info(`NSQ: persisting topic/channel metadata to ${metadataFileName(this.dataPath)}`);
    if (!this.#metadata.writeNow()) throw new Error("failed to persist metadata");
  }

  /** `LoadMetadata`: topics and channels (and paused flags) of the last run; invalid names skipped. */
  #loadMetadata(): void {
    const topics = this.#withQueuesOnDisk(readMetadata(this.dataPath)?.topics ?? []);
    this.#loading = true;
    try {
      for (const t of topics) {
        if (typeof t?.name !== "string" || !isValidTopicName(t.name)) {
          this.logger.warn(`skipping creation of invalid topic ${t?.name}`);
          continue;
        }
        const topic = this.getTopic(t.name);
        if (t.paused) topic.pause();
        const maxAge = metadataCount(t.max_msg_age);
        if (maxAge === undefined) {
          this.logger.warn(`TOPIC(${t.name}): ignoring invalid max_msg_age ${t.max_msg_age}`);
        } else if (maxAge > 0) topic.setMaxMsgAge(maxAge / 1e6);
        for (const c of t.channels ?? []) {
          if (typeof c?.name !== "string" || !isValidChannelName(c.name)) {
            this.logger.warn(`skipping creation of invalid channel ${c?.name}`);
            continue;
          }
          const channel = topic.getChannel(c.name);
          if (c.paused) channel.pause();
          const maxDepth = metadataCount(c.max_depth);
          if (maxDepth === undefined) {
            this.logger.warn(`CHANNEL(${c.name}): ignoring invalid max_depth ${c.max_depth}`);
          } else if (maxDepth > 0) channel.setMaxDepth(maxDepth);
        }
        topic.start();
      }
    } finally {
      this.#loading = false;
    }
  }

  /**
   * Beyond upstream: adds to `topics` (read from nsqd.dat) the topics and channels that have files in the data
   * path but are not listed — created shortly before a crash, before nsqd.dat was rewritten — so that
   * their messages are delivered rather than left on disk.
   */
  #withQueuesOnDisk(topics: TopicMetadata[]): TopicMetadata[] {
    const byName = new Map<string, TopicMetadata>();
    for (const t of topics) if (typeof t?.name === "string") byName.set(t.name, t);
    for (const { topic, channel } of queuesWithFiles(this.dataPath)) {
      if (!isValidTopicName(topic) || isEphemeral(topic)) continue;
      if (channel !== undefined && (!isValidChannelName(channel) || isEphemeral(channel))) continue;
      let t = byName.get(topic);
      if (t === undefined) {
        t = { name: topic, paused: false, channels: null };
        byName.set(topic, t);
        topics.push(t);
        this.logger.warn(`TOPIC(${topic}): has files in ${this.dataPath} but is not in nsqd.dat: created`);
      }
      if (channel !== undefined && !(t.channels ?? []).some((c) => c?.name === channel)) {
        (t.channels ??= []).push({ name: channel, paused: false });
        this.logger.warn(
          `TOPIC(${topic}): channel ${channel} has files in ${this.dataPath} but is not in nsqd.dat: created`,
        );
      }
    }
    return topics;
  }

  /** `PUT /config/nsqlookupd_tcp_addresses`: the lookupd peers to use (added and removed live). */
  setLookupdTcpAddresses(addresses: string[]): void {
    this.options.lookupdTcpAddresses = addresses;
    this.#lookup?.setAddresses(addresses);
  }

  /** The lookupds this nsqd knows (for tests and stats). */
  get lookupPeers(): readonly LookupPeer[] {
    return this.#lookup?.peers ?? [];
  }

  #startLookup(): void {
    const o = this.options;
    const hostname = this.platform.hostname();
    this.#lookup = new LookupLoop({
      platform: this.platform,
      logger: this.logger,
      maxBodySize: o.maxBodySize,
      tls: loadLookupdTlsConfig(o),
      identifyBody: () => ({
        version: NSQ_VERSION,
        tcp_port: o.broadcastTcpPort || (this.tcpAddr?.port ?? 0),
        http_port: o.broadcastHttpPort || (this.httpAddr?.port ?? 0),
        hostname,
        broadcast_address: o.broadcastAddress,
        topology_zone: o.topologyZone,
        topology_region: o.topologyRegion,
      }),
      registrations: () => {
        const out: [string, string][] = [];
        for (const t of this.#topics.values()) {
          if (t.channelList.length === 0) out.push([t.name, ""]);
          for (const c of t.channelList) out.push([t.name, c.name]);
        }
        return out;
      },
    });
    this.#lookup.setAddresses(o.lookupdTcpAddresses);
  }

  // ---- in-process API (embedding) ----------------------------------------------------------------

  /**
   * Publishes one message to `topic` (created if needed), as `POST /pub` does: `deferMs` > 0 defers
   * it. Throws a RangeError for an invalid topic name, an empty or too big body, or a bad deferral.
   */
  publish(topic: string, body: Uint8Array | string, options: { deferMs?: number } = {}): void {
    if (!isValidTopicName(topic)) throw new RangeError(`invalid topic name ${JSON.stringify(topic)}`);
    // (newMessage copies the body)
    const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
    if (bytes.length === 0) throw new RangeError("empty message");
    if (bytes.length > this.options.maxMsgSize) {
      throw new RangeError(`message too big ${bytes.length} > ${this.options.maxMsgSize}`);
    }
    const deferMs = options.deferMs ?? 0;
    if (!(deferMs >= 0 && deferMs <= this.options.maxReqTimeout)) {
      throw new RangeError(`invalid defer ${deferMs}`);
    }
    const t = this.getTopic(topic);
    const msg = newMessage(t.guid, bytes, nowNs());
    msg.deferMs = smallInt(Math.floor(deferMs));
    t.putMessage(msg);
  }

  /** The figures of `GET /stats?format=json` (upstream's JSON shape), without HTTP. */
  stats(options: { topic?: string; channel?: string; includeClients?: boolean } = {}): NsqdStats {
    const s = getStats(this, options.topic ?? "", options.channel ?? "", options.includeClients ?? true);
    const out: NsqdStats = {
      version: this.version,
      health: this.health,
      start_time: this.startTime,
      topics: s.topics,
      producers: s.producers,
    };
    if (this.#draining) out.draining = true;
    return out;
  }

  // ---- write coalescing -------------------------------------------------------------------------

  /** A socket read is being handled: flushes requested meanwhile wait for its end. */
  beginRead(): void {
    this.#readDepth++;
    holdClock();
  }

  endRead(): void {
    releaseClock();
    if (--this.#readDepth === 0) this.#runFlushes();
  }

  #requestFlush(client: ClientV2): void {
    client.flushRequested = true;
    this.#flushQueue.push(client);
    if (this.#readDepth === 0 && !this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(this.#runFlushes);
    }
  }

  #runFlushes = (): void => {
    this.#flushScheduled = false;
    const queue = this.#flushQueue;
    if (queue.length === 0) return;
    this.#flushQueue = [];
    for (const client of queue) {
      if (!client.flushRequested) continue;
      client.flushRequested = false;
      client.flush();
    }
  };

  // ---- clients ----------------------------------------------------------------------------------

  /** Registers a client after a good magic. */
  addClient(conn: Conn): ClientV2 {
    const client = new ClientV2(++this.#clientSeq, conn, this.#clientCtx);
    this.#clients.set(client.id, client);
    return client;
  }

  removeClient(client: ClientV2): void {
    this.#clients.delete(client.id);
    // In-flight messages are not requeued now: they time out (shared/nsq-reference.md §1.9).
    client.channel?.removeClient(client.id);
  }

  get clients(): IterableIterator<ClientV2> {
    return this.#clients.values();
  }

  // ---- topics -----------------------------------------------------------------------------------

  /** Returns the topic, creating it if needed (a DrainingError while draining). */
  getTopic(name: string): Topic {
    let topic = this.#topics.get(name);
    if (topic !== undefined) return topic;
    if (this.#draining) throw new DrainingError();
    topic = new Topic(name, this.#topicCtx);
    this.#topics.set(name, topic);
    this.logger.info(`TOPIC(${name}): created`);
    if (!topic.ephemeral) this.persistMetadata();
    this.#lookup?.notify("REGISTER", name, "");
    // While loading nsqd.dat, topics start once their channels are restored.
    if (!this.#loading) this.#preCreateChannelsAndStart(topic);
    return topic;
  }

  getExistingTopic(name: string): Topic | undefined {
    return this.#topics.get(name);
  }

  /** Deletes a topic and its channels (`/topic/delete`); false if there is none of that name. */
  deleteExistingTopic(name: string): boolean {
    const topic = this.#topics.get(name);
    if (topic === undefined) return false;
    this.#deleteTopic(topic);
    return true;
  }

  /**
   * Deletes this very topic if it is still ours: an ephemeral topic whose last channel went may have
   * been deleted already, and another made under its name. It leaves the map first, so nothing its
   * deletion sets off (clients leaving) finds it; then it is deleted to the end and announced.
   */
  #deleteTopic(topic: Topic): void {
    if (this.#topics.get(topic.name) !== topic) return;
    this.#topics.delete(topic.name);
    topic.delete();
    this.logger.info(`TOPIC(${topic.name}): deleted`);
    if (!topic.ephemeral) this.persistMetadata();
    this.#lookup?.notify("UNREGISTER", topic.name, "");
  }

  /** Topics sorted by name. */
  get topics(): Topic[] {
    return [...this.#topics.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  #onChannelChange(topic: Topic, channel: Channel, created: boolean): void {
    this.logger.info(`TOPIC(${topic.name}): ${created ? "new" : "deleting"} channel(${channel.name})`);
    if (!channel.ephemeral) this.persistMetadata();
    this.#lookup?.notify(created ? "REGISTER" : "UNREGISTER", topic.name, channel.name);
  }

  /**
   * Channel pre-creation (shared/nsq-reference.md §3.1): a topic created at runtime asks the
   * lookupds for the channels it has elsewhere in the cluster and creates them before it starts
   * fanning out, so none of them misses a message. Until then messages wait on the topic.
   */
  #preCreateChannelsAndStart(topic: Topic): void {
    const httpAddrs = this.#lookup?.httpAddresses() ?? [];
    if (httpAddrs.length === 0) {
      if (this.options.lookupdTcpAddresses.length > 0) {
        this.logger.error(
          `no available nsqlookupd to query for channels to pre-create for topic ${topic.name}`,
        );
      }
      topic.start();
      return;
    }
    lookupdTopicChannels(
      topic.name,
      httpAddrs,
      this.options.httpClientRequestTimeout,
      this.options.lookupdTls ? "https" : "http",
    )
      .catch((err) => {
        this.logger.warn(
          `failed to query nsqlookupd for channels to pre-create for topic ${topic.name} - ${
            (err as Error).message
          }`,
        );
        return [] as string[];
      })
      .then((found) => {
        if (topic.exiting) return;
        // A drain that started meanwhile creates no channel.
        const channels = this.#draining ? [] : found;
        for (const name of channels) {
          // Never pre-create an ephemeral channel: it has no consumer here.
          if (!name.endsWith("#ephemeral") && isValidChannelName(name)) topic.getChannel(name);
        }
        topic.start();
      });
  }

  /**
   * Expires in-flight and deferred messages of every channel whose earliest deadline has passed. Only
   * channels with something in flight or deferred are looked at (`#armed`): ten thousand idle channels
   * cost the scan nothing.
   */
  #queueScan(): void {
    const now = monoMs();
    for (const channel of this.#armed) {
      if (!channel.exiting && channel.nextDeadline <= now) {
        channel.processInFlightQueue(now);
        channel.processDeferredQueue(now);
      }
      if (channel.disarmIfIdle()) this.#armed.delete(channel);
    }
    if (this.#draining && !this.#exiting) this.#checkDrained();
  }
}

/** A count (or ns) of nsqd.dat's fields beyond upstream: 0 when absent, undefined when not a count. */
function metadataCount(v: unknown): number | undefined {
  if (v === undefined || v === null) return 0;
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
}

/**
 * Binds, reporting a failure in upstream's words:
 * `listen (127.0.0.1:4150) failed - listen tcp 127.0.0.1:4150: bind: address already in use`.
 */
async function listening(addr: string, bind: () => Promise<Listener>): Promise<Listener> {
  try {
    return await bind();
  } catch (err) {
    const msg = String((err as Error)?.message ?? err);
    const why = /in use|EADDRINUSE|Failed to listen/i.test(msg) ? "bind: address already in use" : msg;
    throw new Error(`listen (${addr}) failed - listen tcp ${addr}: ${why}`);
  }
}

/** `--lookupd-tls*`: how nsqd dials its lookupds (null: plain, upstream's behaviour). Files read now. */
function loadLookupdTlsConfig(o: NsqdOptions): TlsClientConfig | null {
  if (!o.lookupdTls) return null;
  const read = (path: string) => path === "" ? undefined : readFileSync(path, "utf8");
  return {
    serverName: "",
    ca: read(o.lookupdTlsRootCaFile),
    cert: read(o.lookupdTlsCert),
    key: read(o.lookupdTlsKey),
    insecureSkipVerify: o.lookupdTlsSkipVerify,
  };
}

/** nsqd's `buildTLSConfig`: none without cert and key; the files are read now (an error stops startup). */
function loadTlsConfig(o: NsqdOptions): TlsServerConfig | null {
  if (o.tlsCert === "" && o.tlsKey === "") return null;
  try {
    const config: TlsServerConfig = {
      cert: readFileSync(o.tlsCert, "utf8"),
      key: readFileSync(o.tlsKey, "utf8"),
      clientAuth: o.tlsClientAuthPolicy === "require"
        ? "require"
        : o.tlsClientAuthPolicy === "require-verify"
        ? "require-verify"
        : "none",
      minVersion: TLS_MIN_VERSIONS[o.tlsMinVersion] ?? "TLSv1",
    };
    if (o.tlsRootCaFile !== "") config.ca = readFileSync(o.tlsRootCaFile, "utf8");
    return config;
  } catch (err) {
    throw new Error(`failed to build TLS config - ${(err as Error).message}`);
  }
}
