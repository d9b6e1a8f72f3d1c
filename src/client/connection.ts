/**
 * One client connection to nsqd (go-nsq `conn.go`, shared/nsq-reference.md §9.3) over the platform
 * shim: the `"  V2"` magic, IDENTIFY with feature negotiation, the upgrades nsqd agreed to (TLS, then
 * Snappy or Deflate, each acknowledged by an `OK` through the new layer), AUTH when nsqd asks for it,
 * heartbeats answered with NOP, frames decoded incrementally.
 *
 * Writes are coalesced: commands appended to `commands` during one tick go to the socket in one
 * write, at the end of the tick (`scheduleFlush()`); no timer or promise per command.
 */
import { CommandWriter } from "../protocol/command.ts";
import { FrameDecoder, FrameType } from "../protocol/frame.ts";
import { DeflateConn, SnappyConn } from "../internal/compression.ts";
import type { Conn, NetAddr, Platform, SocketEvents, TlsInfo } from "../platform/types.ts";
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

/**
 * Until `Auth`, frames are taken one at a time from `#pre` (each may change the layer the bytes after
 * it belong to); from `Auth` on, the frame decoder takes everything.
 */
const Phase = {
  Identify: 0,
  TlsHandshake: 1,
  TlsOk: 2,
  CompressOk: 3,
  Auth: 4,
  Ready: 5,
  Closed: 6,
} as const;
type Phase = typeof Phase[keyof typeof Phase];

/** An open, identified connection to one nsqd. */
export class NsqConnection {
  /** The IDENTIFY response (nsqd's negotiated settings), `{}` from a server without feature negotiation. */
  identity: Record<string, unknown> = {};
  /** The AUTH response when nsqd required AUTH (`identity`, `identity_url`, `permission_count`). */
  auth: Record<string, unknown> | null = null;
  /** What the TLS handshake negotiated (`peerCommonName` is nsqd's), null on a plain connection. */
  tls: TlsInfo | null = null;
  /** Commands to send; call `scheduleFlush()` after appending. */
  readonly commands: CommandWriter = new CommandWriter();

  readonly #config: ClientConfig;
  readonly #handlers: ConnectionHandlers;
  readonly #decoder: FrameDecoder;
  readonly #addr: NetAddr;
  #sock: Conn | null = null;
  /** Where commands are written: the socket, or the compression layer over it. */
  #out: Conn | null = null;
  #compressed: SnappyConn | DeflateConn | null = null;
  /** Plain bytes received during the upgrades, not yet taken as a frame. */
  #pre: Uint8Array = new Uint8Array(0);
  #phase: Phase = Phase.Identify;
  #flushScheduled = false;
  #handshake = Promise.withResolvers<void>();
  #lastRead = Date.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #closeError: Error | null = null;
  /** The handshake failed: the connection is being destroyed, nothing more is read. */
  #failed = false;
  #userClosed = false;

  private constructor(addr: NetAddr, config: ClientConfig, handlers: ConnectionHandlers) {
    this.#addr = addr;
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
    const c = new NsqConnection(addr, config, handlers);
    const label = `${addr.hostname}:${addr.port}`;
    let timedOut = false;
    let dialTimer: ReturnType<typeof setTimeout> | undefined;
    const dial = platform.connect(addr, (sock) => c.#events(sock), { tls: config.tlsV1 });
    try {
      c.#out = c.#sock = await (config.dialTimeout > 0
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
    // Through the compression layer: deflate sends what it holds before the socket closes.
    this.#out?.close();
  }

  /** Closes now, dropping anything queued. */
  destroy(err?: Error): void {
    if (this.#phase === Phase.Closed) return;
    if (err && !this.#closeError) this.#closeError = err;
    (this.#out ?? this.#sock)?.destroy();
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
    if (this.commands.length === 0 || this.#out === null || this.#phase === Phase.Closed) return;
    this.#out.write(this.commands.bytes());
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
    this.#out ??= sock;
    return {
      data: (chunk) => {
        this.#lastRead = Date.now();
        if (this.#compressed !== null) this.#compressed.receive(chunk);
        else this.#plain(chunk);
      },
      drain: () => {},
      end: () => sock.close(),
      close: () => this.#onSocketClose(),
    };
  }

  #onSocketClose(): void {
    if (this.#phase === Phase.Closed) return;
    const wasReady = this.#phase === Phase.Ready;
    const phase = this.#phase;
    this.#phase = Phase.Closed;
    clearInterval(this.#timer);
    this.#compressed?.destroy();
    // nsqd closes after a TLS handshake it refused (with TLS 1.3, a missing or unverified client
    // certificate is refused after the client's side of the handshake is done).
    const tls = phase === Phase.TlsHandshake || phase === Phase.TlsOk;
    const err = this.#closeError ??
      (this.#userClosed
        ? null
        : new NsqConnectionError(`connection closed by nsqd${tls ? " during the TLS upgrade" : ""}`));
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
    const c = this.#config;
    if (
      (id.tls_v1 === true && !c.tlsV1) || (id.snappy === true && !c.snappy) ||
      (id.deflate === true && !c.deflate)
    ) {
      // nsqd grants only what was asked for; refuse rather than misread the stream.
      return this.#failHandshake(new NsqConnectionError(`nsqd negotiated a feature not asked for: ${text}`));
    }
    if (id.tls_v1 !== true) return this.#afterTls();
    // nsqd waits for our ClientHello: nothing may follow its reply in plain text.
    if (this.#pre.length > 0) {
      return this.#failHandshake(new NsqConnectionError("unexpected data before the TLS handshake"));
    }
    const sock = this.#sock!;
    if (sock.startTls === undefined) {
      return this.#failHandshake(new NsqConnectionError("TLS is not supported on this connection"));
    }
    this.#phase = Phase.TlsHandshake;
    const t = c.tlsConfig ?? {};
    // Started within the data callback that delivered the reply, so no ciphertext reaches the plain side.
    sock.startTls({
      serverName: t.serverName ?? this.#addr.hostname,
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      insecureSkipVerify: t.insecureSkipVerify,
    }).then(
      (info) => {
        if (this.#phase !== Phase.TlsHandshake) return;
        this.tls = info;
        this.#phase = Phase.TlsOk;
        this.#advance();
      },
      (err: Error) => {
        if (this.#phase === Phase.Closed) return;
        this.#failHandshake(
          new NsqConnectionError(`TLS handshake with ${this.#label} failed: ${err.message}`, { cause: err }),
        );
      },
    );
  }

  get #label(): string {
    return `${this.#addr.hostname}:${this.#addr.port}`;
  }

  /** Plain bytes (after TLS and decompression): taken frame by frame during the upgrades, then decoded. */
  #plain(bytes: Uint8Array): void {
    if (this.#phase === Phase.Closed || this.#failed) return;
    try {
      if (this.#phase >= Phase.Auth) {
        this.#decoder.push(bytes);
        return;
      }
      if (this.#pre.length === 0) this.#pre = bytes.slice();
      else {
        const all = new Uint8Array(this.#pre.length + bytes.length);
        all.set(this.#pre);
        all.set(bytes, this.#pre.length);
        this.#pre = all;
      }
      this.#advance();
    } catch (err) {
      this.destroy(new NsqConnectionError(`protocol error: ${(err as Error).message}`, { cause: err }));
    }
  }

  /** Takes the frames of the handshake from `#pre`, one at a time, while one is expected. */
  #advance(): void {
    while (
      !this.#failed &&
      (this.#phase === Phase.Identify || this.#phase === Phase.TlsOk || this.#phase === Phase.CompressOk)
    ) {
      const pre = this.#pre;
      if (pre.length < 8) return;
      const size = new DataView(pre.buffer, pre.byteOffset).getUint32(0);
      if (size < 4 || size > 1024 * 1024) throw new RangeError(`invalid frame size ${size}`);
      if (pre.length < 4 + size) return;
      const type = new DataView(pre.buffer, pre.byteOffset).getUint32(4);
      const data = pre.subarray(8, 4 + size);
      this.#pre = pre.subarray(4 + size);
      if (type === FrameType.Response && isHeartbeat(data)) continue;
      if (this.#phase === Phase.Identify) this.#onIdentifyResponse(type, data);
      else this.#onUpgradeOk(type, data);
    }
    // The handshake frames are done (or failed): what follows belongs to the frame decoder.
    if (this.#phase >= Phase.Auth && this.#phase !== Phase.Closed && this.#pre.length > 0) {
      const rest = this.#pre;
      this.#pre = new Uint8Array(0);
      this.#decoder.push(rest);
    }
  }

  /** The `OK` that acknowledges the TLS or the compression upgrade. */
  #onUpgradeOk(type: number, data: Uint8Array): void {
    const what = this.#phase === Phase.TlsOk ? "TLS" : this.identity.snappy === true ? "Snappy" : "Deflate";
    if (type !== FrameType.Response || decoder.decode(data) !== "OK") {
      return this.#failHandshake(new NsqConnectionError(`invalid response from ${what} upgrade`));
    }
    if (this.#phase === Phase.TlsOk) this.#afterTls();
    else this.#afterUpgrades();
  }

  /** Snappy or Deflate if negotiated (upstream's order: after TLS). */
  #afterTls(): void {
    const id = this.identity;
    if (id.snappy !== true && id.deflate !== true) return this.#afterUpgrades();
    const sink = {
      data: (plain: Uint8Array) => this.#plain(plain),
      error: (err: Error) =>
        this.destroy(new NsqConnectionError(`protocol error: ${err.message}`, { cause: err })),
    };
    const sock = this.#sock!;
    const wrapped = id.snappy === true
      ? new SnappyConn(sock, sink)
      : new DeflateConn(sock, this.#config.deflateLevel, sink);
    this.#compressed = wrapped;
    this.#out = wrapped;
    this.#phase = Phase.CompressOk;
    // Bytes after the last plain frame are already compressed (nsqd sends its OK at once).
    const rest = this.#pre;
    this.#pre = new Uint8Array(0);
    if (rest.length > 0) wrapped.receive(rest);
  }

  #afterUpgrades(): void {
    if (this.identity.auth_required === true) {
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
    this.#failed = true;
    this.#pre = new Uint8Array(0);
    this.#handshake.reject(err);
    this.destroy(err);
  }
}
