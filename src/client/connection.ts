/**
 * One client connection to nsqd (go-nsq `conn.go`, shared/nsq-reference.md §9.3) over the platform
 * shim: the `"  V2"` magic, IDENTIFY with feature negotiation, AUTH when nsqd asks for it,
 * heartbeats answered with NOP, frames decoded incrementally.
 *
 * Writes are coalesced: commands appended to `commands` during one tick go to the socket in one
 * write, at the end of the tick (`scheduleFlush()`); no timer or promise per command.
 */
import { CommandWriter } from "../protocol/command.ts";
import { FrameDecoder, FrameType } from "../protocol/frame.ts";
import type { Conn, NetAddr, Platform, SocketEvents } from "../platform/types.ts";
import type { ClientConfig } from "./config.ts";
import { NsqConnectionError, NsqError } from "./errors.ts";

const MAGIC_V2 = new TextEncoder().encode("  V2");
const decoder = new TextDecoder();

/** What the owner (Producer, Consumer) receives once the handshake is done. */
export interface ConnectionHandlers {
  /** A response frame (heartbeats excluded) or an error frame; `data` is valid only during the call. */
  onResponse(isError: boolean, data: Uint8Array): void;
  /** A message frame's data (valid only during the call). */
  onMessage?(data: Uint8Array): void;
  /** The connection is gone (after a successful open); `err` says why, null after `close()`. */
  onClose(err: Error | null): void;
}

/**
 * The platform of the running runtime, loaded on first use (clients are created synchronously and
 * connect later; `mod.ts` users never pass a platform).
 */
export async function clientPlatform(): Promise<Platform> {
  return await (await import("../platform/mod.ts")).currentPlatform();
}

/** Parses `host:port` or `[v6]:port`. */
export function parseAddress(address: string): NetAddr {
  const m = address.match(/^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/);
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port > 0 && port < 65536)) {
    throw new TypeError(`invalid nsqd address "${address}": expected host:port`);
  }
  return { hostname: m[1] ?? (m[2] === "" ? "127.0.0.1" : m[2]), port };
}

function isHeartbeat(data: Uint8Array): boolean {
  // "_heartbeat_"
  return data.length === 11 && data[0] === 95 && data[1] === 104 && data[10] === 95;
}

const Phase = { Identify: 0, Auth: 1, Ready: 2, Closed: 3 } as const;
type Phase = typeof Phase[keyof typeof Phase];

/** An open, identified connection to one nsqd. */
export class NsqConnection {
  /** The IDENTIFY response (nsqd's negotiated settings), `{}` from a server without feature negotiation. */
  identity: Record<string, unknown> = {};
  /** The AUTH response when nsqd required AUTH (`identity`, `identity_url`, `permission_count`). */
  auth: Record<string, unknown> | null = null;
  /** Commands to send; call `scheduleFlush()` after appending. */
  readonly commands: CommandWriter = new CommandWriter();

  readonly #config: ClientConfig;
  readonly #handlers: ConnectionHandlers;
  readonly #decoder: FrameDecoder;
  #sock: Conn | null = null;
  #phase: Phase = Phase.Identify;
  #flushScheduled = false;
  #handshake = Promise.withResolvers<void>();
  #lastRead = Date.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closeError: Error | null = null;
  #userClosed = false;

  private constructor(config: ClientConfig, handlers: ConnectionHandlers) {
    this.#config = config;
    this.#handlers = handlers;
    this.#decoder = new FrameDecoder((type, data) => this.#onFrame(type, data));
    // Settled possibly before `open()` awaits it (the socket may close at once): not unhandled.
    this.#handshake.promise.catch(() => {});
  }

  /**
   * Dials `addr`, sends the magic and IDENTIFY (and AUTH if asked), and resolves once nsqd accepted
   * them. Rejects with an `NsqError` (IDENTIFY/AUTH refused) or an `NsqConnectionError`.
   */
  static async open(
    platform: Platform,
    addr: NetAddr,
    config: ClientConfig,
    handlers: ConnectionHandlers,
  ): Promise<NsqConnection> {
    if (config.tlsV1 || config.snappy || config.deflate) {
      const which = config.tlsV1 ? "tlsV1" : config.snappy ? "snappy" : "deflate";
      throw new NsqConnectionError(`${which} is not supported by this client yet`);
    }
    const c = new NsqConnection(config, handlers);
    const label = `${addr.hostname}:${addr.port}`;
    let timedOut = false;
    let dialTimer: ReturnType<typeof setTimeout> | undefined;
    const dial = platform.connect(addr, (sock) => c.#events(sock));
    try {
      c.#sock = await (config.dialTimeout > 0
        ? Promise.race([
          dial,
          new Promise<never>((_, reject) => {
            dialTimer = setTimeout(() => {
              timedOut = true;
              reject(new NsqConnectionError(`dial ${label}: timed out after ${config.dialTimeout} ms`));
            }, config.dialTimeout);
          }),
        ])
        : dial);
    } catch (err) {
      if (timedOut) dial.then((s) => s.destroy(), () => {});
      if (err instanceof NsqConnectionError) throw err;
      throw new NsqConnectionError(`dial ${label}: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(dialTimer);
    }
    c.#sock.write(MAGIC_V2);
    c.commands.identify(JSON.stringify(c.#identifyBody()));
    c.#flush();
    c.#startReadTimer();
    try {
      await c.#handshake.promise;
    } catch (err) {
      c.destroy();
      throw err;
    }
    return c;
  }

  /** Whether the socket is gone or closing. */
  get closed(): boolean {
    return this.#phase === Phase.Closed || this.#userClosed;
  }

  /** Sends what `commands` holds at the end of this tick (one write for everything issued meanwhile). */
  scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  /** Sends what is queued, then closes; `onClose(null)` follows. */
  close(): void {
    if (this.#userClosed || this.#phase === Phase.Closed) return;
    this.#userClosed = true;
    this.#flush();
    this.#sock?.close();
  }

  /** Closes now, dropping anything queued. */
  destroy(err?: Error): void {
    if (this.#phase === Phase.Closed) return;
    if (err && !this.#closeError) this.#closeError = err;
    this.#sock?.destroy();
  }

  #identifyBody(): Record<string, unknown> {
    const c = this.#config;
    return {
      client_id: c.clientId,
      hostname: c.hostname,
      user_agent: c.userAgent,
      short_id: c.clientId,
      long_id: c.hostname,
      tls_v1: c.tlsV1,
      deflate: c.deflate,
      deflate_level: c.deflateLevel,
      snappy: c.snappy,
      feature_negotiation: true,
      heartbeat_interval: c.heartbeatInterval === -1 ? -1 : Math.trunc(c.heartbeatInterval),
      sample_rate: c.sampleRate,
      output_buffer_size: c.outputBufferSize,
      output_buffer_timeout: c.outputBufferTimeout === -1 ? -1 : Math.trunc(c.outputBufferTimeout),
      msg_timeout: Math.trunc(c.msgTimeout),
    };
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.commands.length === 0 || this.#sock === null || this.#phase === Phase.Closed) return;
    this.#sock.write(this.commands.bytes());
    this.commands.reset();
  }

  /** go-nsq arms a read deadline before every read; one interval timer per connection does the same. */
  #startReadTimer(): void {
    const timeout = this.#config.readTimeout;
    this.#timer = setInterval(() => {
      if (Date.now() - this.#lastRead > timeout) {
        this.destroy(new NsqConnectionError(`read timeout: nothing received for ${timeout} ms`));
      }
    }, Math.max(50, Math.min(timeout / 4, 5000)));
  }

  #events(sock: Conn): SocketEvents {
    this.#sock ??= sock;
    return {
      data: (chunk) => {
        this.#lastRead = Date.now();
        try {
          this.#decoder.push(chunk);
        } catch (err) {
          this.destroy(new NsqConnectionError(`protocol error: ${(err as Error).message}`, { cause: err }));
        }
      },
      drain: () => {},
      end: () => sock.close(),
      close: () => this.#onSocketClose(),
    };
  }

  #onSocketClose(): void {
    if (this.#phase === Phase.Closed) return;
    const wasReady = this.#phase === Phase.Ready;
    this.#phase = Phase.Closed;
    clearInterval(this.#timer);
    const err = this.#closeError ??
      (this.#userClosed ? null : new NsqConnectionError("connection closed by nsqd"));
    if (!wasReady) {
      this.#handshake.reject(err ?? new NsqConnectionError("connection closed during the handshake"));
      return;
    }
    this.#handlers.onClose(err);
  }

  #onFrame(type: number, data: Uint8Array): void {
    if (type === FrameType.Response && isHeartbeat(data)) {
      this.commands.line("NOP");
      this.scheduleFlush();
      return;
    }
    switch (this.#phase) {
      case Phase.Ready:
        if (type === FrameType.Message) this.#handlers.onMessage?.(data);
        else if (type === FrameType.Response || type === FrameType.Error) {
          this.#handlers.onResponse(type === FrameType.Error, data);
        } else this.destroy(new NsqConnectionError(`unknown frame type ${type}`));
        return;
      case Phase.Identify:
        return this.#onIdentifyResponse(type, data);
      case Phase.Auth:
        return this.#onAuthResponse(type, data);
    }
  }

  #onIdentifyResponse(type: number, data: Uint8Array): void {
    const text = decoder.decode(data);
    if (type !== FrameType.Response) {
      return this.#failHandshake(new NsqError(text, { prefix: "failed to IDENTIFY - " }));
    }
    if (text.startsWith("{")) {
      try {
        this.identity = JSON.parse(text);
      } catch (err) {
        return this.#failHandshake(
          new NsqConnectionError(`invalid IDENTIFY response ${text}`, { cause: err }),
        );
      }
    }
    const id = this.identity;
    if (id.tls_v1 === true || id.snappy === true || id.deflate === true) {
      // We never ask for these yet, so nsqd never grants them; refuse rather than misread the stream.
      return this.#failHandshake(new NsqConnectionError(`nsqd negotiated an unsupported feature: ${text}`));
    }
    if (id.auth_required === true) {
      if (this.#config.authSecret === "") return this.#failHandshake(new NsqConnectionError("Auth Required"));
      this.#phase = Phase.Auth;
      this.commands.auth(this.#config.authSecret);
      this.#flush();
      return;
    }
    this.#ready();
  }

  #onAuthResponse(type: number, data: Uint8Array): void {
    const text = decoder.decode(data);
    if (type !== FrameType.Response) {
      return this.#failHandshake(new NsqError(text, { prefix: "Error authenticating " }));
    }
    try {
      this.auth = JSON.parse(text);
    } catch {
      this.auth = {};
    }
    this.#ready();
  }

  #ready(): void {
    this.#phase = Phase.Ready;
    this.#handshake.resolve();
  }

  #failHandshake(err: Error): void {
    this.#handshake.reject(err);
    this.destroy(err);
  }
}
