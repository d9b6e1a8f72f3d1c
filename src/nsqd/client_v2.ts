/**
 * One TCP client of the V2 protocol: its negotiated settings, counters, and output buffering
 * (nsq `nsqd/client_v2.go` plus the writing half of `protocol_v2.go`'s messagePump).
 *
 * Output: frames are appended to one reusable buffer. Where upstream flushes at once (a response or
 * error frame, or a client that stops being ready because its in-flight count reached RDY), we ask
 * the nsqd to flush at the end of the current read (or microtask): the bytes and their order are
 * the same, but a pipelined batch of PUBs, or a batch of FINs each freeing one slot, costs one write
 * instead of one per frame. Message frames otherwise stay buffered, as upstream's bufio.Writer, until
 * the buffer reaches `output_buffer_size` or `output_buffer_timeout` passes — one timer per buffered
 * batch, never one per message.
 */
import type { Conn, TlsInfo } from "../platform/types.ts";
import type { AuthState } from "../internal/auth.ts";
import { FrameBuffer, FrameType } from "../protocol/frame.ts";
import type { Message } from "../protocol/message.ts";
import type { Channel, Consumer } from "./channel.ts";
import type { NsqdOptions } from "./options.ts";

/** Client states (`nsqd/client_v2.go`); /stats reports the number. */
export const ClientState = { Init: 0, Disconnected: 1, Connected: 2, Subscribed: 3, Closing: 4 } as const;
export type ClientState = typeof ClientState[keyof typeof ClientState];

/** nsqd's ClientTimeout (not configurable): the default heartbeat is half of it. */
export const CLIENT_TIMEOUT_MS = 60_000;
const DEFAULT_OUTPUT_BUFFER_SIZE = 16 * 1024;
/** Stop delivering to a client while this much is still waiting for its socket (it reads slowly). */
const MAX_PENDING_SOCKET_BYTES = 256 * 1024;
/** Output held for the end of a read before it is written anyway. */
const MAX_COALESCED_BYTES = 256 * 1024;

const HEARTBEAT = new TextEncoder().encode("_heartbeat_");

/** What a client needs of its nsqd. */
export interface ClientContext {
  readonly options: NsqdOptions;
  /** Logs at debug level. */
  debug(msg: string): void;
  /** Flush this client at the end of the current read (or in a microtask outside reads). */
  requestFlush(client: ClientV2): void;
}

export class ClientV2 implements Consumer {
  readonly id: number;
  /** The connection frames are written to (replaced by a compressing wrapper after Snappy/Deflate). */
  conn: Conn;
  /** What the TLS upgrade negotiated, or null without TLS. */
  tls: TlsInfo | null = null;
  snappy = false;
  deflate = false;
  /** What the auth server granted (AUTH), or null. */
  auth: AuthState | null = null;
  /** The secret of the last AUTH (re-sent when the grant expires). */
  authSecret: Uint8Array | null = null;
  readonly #ctx: ClientContext;
  readonly connectTs: number;
  state: ClientState = ClientState.Init;

  clientId: string;
  hostname: string;
  userAgent = "";
  heartbeatInterval = CLIENT_TIMEOUT_MS / 2;
  msgTimeout: number;
  outputBufferSize = DEFAULT_OUTPUT_BUFFER_SIZE;
  outputBufferTimeout: number;
  sampleRate = 0;
  /** The settings the message pump took from the first IDENTIFY (upstream reads that event once). */
  pumpMsgTimeout: number;
  pumpSampleRate = 0;
  #identified = false;

  readyCount = 0;
  inFlightCount = 0;
  messageCount = 0;
  finishCount = 0;
  requeueCount = 0;
  /** Messages published per topic over this connection (/stats producers). */
  readonly pubCounts = new Map<string, number>();

  channel: Channel | null = null;

  #out = new FrameBuffer();
  /** Whether unflushed message frames are in #out (the flush timer only cares about those). */
  #messagesBuffered = false;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  #deadlineTimer: ReturnType<typeof setTimeout> | undefined;
  #lastReadAt = Date.now();
  /** A flush was requested and has not happened yet (see ClientContext.requestFlush). */
  flushRequested = false;
  #closed = false;
  /** Called when the connection must close (read deadline passed, channel deleted). */
  onTimeout: () => void = () => {};

  constructor(id: number, conn: Conn, ctx: ClientContext) {
    this.id = id;
    this.conn = conn;
    this.#ctx = ctx;
    this.connectTs = Date.now();
    this.clientId = conn.remoteAddr.hostname;
    this.hostname = conn.remoteAddr.hostname;
    this.msgTimeout = ctx.options.msgTimeout;
    this.pumpMsgTimeout = this.msgTimeout;
    this.outputBufferTimeout = ctx.options.outputBufferTimeout;
    this.#startHeartbeat(this.heartbeatInterval);
    this.#armDeadline();
  }

  get remoteAddress(): string {
    const a = this.conn.remoteAddr;
    return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
  }

  toString(): string {
    return `${this.remoteAddress}`;
  }

  // ---- reading side -------------------------------------------------------------------------

  /** A read arrived: resets the read deadline. */
  touchRead(): void {
    this.#lastReadAt = Date.now();
  }

  /** Applies an IDENTIFY's settings; only the first one reaches the message pump, as upstream. */
  applyIdentify(s: {
    heartbeatInterval: number;
    outputBufferSize: number;
    outputBufferTimeout: number;
    sampleRate: number;
    msgTimeout: number;
  }): void {
    this.heartbeatInterval = s.heartbeatInterval;
    this.outputBufferSize = s.outputBufferSize;
    this.outputBufferTimeout = s.outputBufferTimeout;
    this.sampleRate = s.sampleRate;
    this.msgTimeout = s.msgTimeout;
    this.#armDeadline();
    if (this.#identified) return;
    this.#identified = true;
    this.pumpMsgTimeout = s.msgTimeout;
    if (s.sampleRate > 0) this.pumpSampleRate = s.sampleRate;
    this.#startHeartbeat(s.heartbeatInterval);
  }

  // ---- Consumer (called by the channel) --------------------------------------------------------

  isReadyForMessages(): boolean {
    if (this.state !== ClientState.Subscribed || this.#closed) return false;
    if (this.channel === null || this.channel.paused) return false;
    const rdy = this.readyCount;
    if (this.inFlightCount >= rdy || rdy <= 0) return false;
    return this.conn.pendingBytes < MAX_PENDING_SOCKET_BYTES;
  }

  deliver(msg: Message): void {
    const rate = this.pumpSampleRate;
    // Sampling drops the message for the channel (not just for this client), as upstream.
    if (rate > 0 && Math.floor(Math.random() * 100) > rate) return;
    msg.attempts++;
    try {
      this.channel!.startInFlightTimeout(msg, this.id, this.pumpMsgTimeout);
    } catch { /* upstream ignores a duplicate in-flight ID here */ }
    this.inFlightCount++;
    this.messageCount++;
    this.#out.writeMessage(msg);
    this.#messagesBuffered = true;
    if (this.#out.length >= this.outputBufferSize) {
      // The buffer is full: it goes out at the end of this read (one write for the batch, the same
      // bytes as bufio's writes), or now if a long batch piled up a lot.
      if (this.#out.length >= MAX_COALESCED_BYTES) this.flush();
      else this.#requestFlush();
      return;
    }
    if (!this.isReadyForMessages()) {
      this.#requestFlush();
      return;
    }
    if (this.#flushTimer === undefined && this.outputBufferTimeout > 0) {
      this.#flushTimer = setTimeout(this.#onFlushTimer, this.outputBufferTimeout);
    }
  }

  timedOutMessage(): void {
    this.inFlightCount--;
  }

  emptyInFlight(): void {
    this.inFlightCount = 0;
  }

  closeForChannelDelete(): void {
    this.onTimeout();
  }

  // ---- counters (after FIN/REQ) -----------------------------------------------------------------

  finishedMessage(): void {
    this.finishCount++;
    this.inFlightCount--;
  }

  requeuedMessage(): void {
    this.requeueCount++;
    this.inFlightCount--;
  }

  /** CLS: RDY 0 and state closing. */
  startClose(): void {
    this.readyCount = 0;
    this.state = ClientState.Closing;
  }

  // ---- writing side -----------------------------------------------------------------------------

  /** Sends a response frame (flushed at the end of the current read, or now). */
  sendResponse(data: Uint8Array): void {
    this.#out.writeFrame(FrameType.Response, data);
    this.#requestFlush();
  }

  /** Sends an error frame (flushed like a response). */
  sendError(text: string): void {
    this.#out.writeTextFrame(FrameType.Error, text);
    this.#requestFlush();
  }

  /** Flushes if message frames wait in the buffer (the client stopped being ready). */
  flushMessages(): void {
    if (this.#messagesBuffered) this.#requestFlush();
  }

  /** Writes everything buffered to the socket. */
  flush(): void {
    this.#messagesBuffered = false;
    this.flushRequested = false;
    if (this.#out.length === 0) return;
    this.conn.write(this.#out.bytes());
    this.#out.reset();
  }

  /** Stops timers; the connection is gone. */
  dispose(): void {
    this.#closed = true;
    clearInterval(this.#heartbeatTimer);
    clearTimeout(this.#deadlineTimer);
    clearTimeout(this.#flushTimer);
    this.#heartbeatTimer = this.#deadlineTimer = this.#flushTimer = undefined;
  }

  #requestFlush(): void {
    if (!this.flushRequested) this.#ctx.requestFlush(this);
  }

  #onFlushTimer = (): void => {
    this.#flushTimer = undefined;
    if (this.#messagesBuffered) this.flush();
  };

  #startHeartbeat(interval: number): void {
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = undefined;
    if (interval <= 0) return;
    this.#heartbeatTimer = setInterval(() => {
      this.#out.writeFrame(FrameType.Response, HEARTBEAT);
      this.flush();
    }, interval);
  }

  /** The read deadline: 2 × heartbeat interval after the last read (none when heartbeats are off). */
  #armDeadline(): void {
    clearTimeout(this.#deadlineTimer);
    this.#deadlineTimer = undefined;
    if (this.heartbeatInterval <= 0 || this.#closed) return;
    const check = () => {
      this.#deadlineTimer = undefined;
      if (this.#closed || this.heartbeatInterval <= 0) return;
      const deadline = this.#lastReadAt + 2 * this.heartbeatInterval;
      const now = Date.now();
      if (now >= deadline) {
        this.#ctx.debug(`[${this}] read deadline passed, closing`);
        this.onTimeout();
        return;
      }
      // Reads moved the deadline: sleep until the new one (one timer per period, not per read).
      this.#deadlineTimer = setTimeout(check, deadline - now);
    };
    this.#deadlineTimer = setTimeout(
      check,
      Math.max(0, this.#lastReadAt + 2 * this.heartbeatInterval - Date.now()),
    );
  }
}
