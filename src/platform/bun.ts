/**
 * The Bun platform: `Bun.listen`/`Bun.connect` for TCP, `Bun.serve` for HTTP.
 *
 * Bun's `socket.write()` returns how many bytes it took and silently drops the rest
 * (shared/PLATFORM-FACTS.md): the remainder is copied and queued, and sent from `drain`. TLS
 * upgrades (nsqd's accepted sockets, the client's dialled ones) use the native `upgradeTLS`.
 */
import { hostname as osHostname } from "node:os";
import { writeSync } from "node:fs";
import { constants } from "node:crypto";
import type { BunRuntime, BunSocket, BunSocketHandler, BunTlsOptions, NodeProcess } from "./bun_types.ts";
import { goTlsVersion } from "./node_conn.ts";
import { createUdpSender } from "./udp.ts";
import type {
  Conn,
  DirLock,
  FetchHandler,
  HttpsConfig,
  Listener,
  NetAddr,
  Platform,
  SignalName,
  SocketEvents,
  TlsClientConfig,
  TlsInfo,
  TlsServerConfig,
} from "./types.ts";

const g = globalThis as unknown as { Bun: BunRuntime; process: NodeProcess };

const LOCK_EX = 2;
const LOCK_NB = 4;
const O_RDONLY = 0;

interface BunFfi {
  dlopen(path: string, symbols: Record<string, { args: number[]; returns: number }>): {
    symbols: Record<string, (...args: unknown[]) => number>;
    close(): void;
  };
  FFIType: { i32: number; ptr: number };
  ptr(buf: Uint8Array): unknown;
}

// `bun:ffi` is loaded at startup (top-level await) so that locking stays synchronous.
const ffi: BunFfi | null = await import("bun:" + "ffi").then((m) => m as BunFfi).catch(() => null);

/** flock(2) through libc with bun:ffi: Bun has no file lock API of its own. */
function bunLockDirectory(path: string): DirLock | null {
  if (ffi === null) return null;
  let libc;
  try {
    const { i32, ptr } = ffi.FFIType;
    libc = ffi.dlopen("libc.so.6", {
      open: { args: [ptr, i32], returns: i32 },
      flock: { args: [i32, i32], returns: i32 },
      close: { args: [i32], returns: i32 },
    });
  } catch {
    return null;
  }
  const cpath = new TextEncoder().encode(path + "\0");
  const fd = libc.symbols.open(ffi.ptr(cpath), O_RDONLY);
  if (fd < 0) throw new Error(`cannot flock directory ${path} - no such file or directory`);
  if (libc.symbols.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    libc.symbols.close(fd);
    throw new Error(`cannot flock directory ${path} - resource temporarily unavailable`);
  }
  const lib = libc;
  return {
    release() {
      lib.symbols.close(fd);
      lib.close();
    },
  };
}

/**
 * `--tls-min-version` as OpenSSL's `SSL_OP_NO_*` bits: Bun's `minVersion` is ignored by `upgradeTLS`
 * and refused by `Bun.serve`, whereas `secureOptions` works in both (measured on Bun 1.4.5).
 */
function noOlderThan(min: TlsServerConfig["minVersion"] | undefined): number {
  const order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"];
  const bits = [constants.SSL_OP_NO_TLSv1, constants.SSL_OP_NO_TLSv1_1, constants.SSL_OP_NO_TLSv1_2];
  const n = min === undefined ? 0 : order.indexOf(min);
  return bits.slice(0, Math.max(n, 0)).reduce((a, b) => a | b, constants.SSL_OP_NO_SSLv3 ?? 0);
}

class BunConn implements Conn {
  readonly remoteAddr: NetAddr;
  readonly localAddr: NetAddr;
  events!: SocketEvents;
  #socket: BunSocket<BunConn>;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #closeWhenFlushed = false;
  #closed = false;
  #closedReported = false;

  constructor(socket: BunSocket<BunConn>) {
    this.#socket = socket;
    this.remoteAddr = { hostname: socket.remoteAddress, port: socket.remotePort };
    this.localAddr = { hostname: socket.localAddress, port: socket.localPort };
    socket.setNoDelay(true);
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  write(bytes: Uint8Array): void {
    if (this.#closed || this.#closeWhenFlushed || bytes.length === 0) return;
    if (this.#pendingBytes > 0) {
      // Keep order: something is already waiting for drain.
      this.#pending.push(bytes.slice());
      this.#pendingBytes += bytes.length;
      return;
    }
    const n = this.#socket.write(bytes, 0, bytes.length);
    if (n < 0) {
      this.destroy();
      return;
    }
    if (n < bytes.length) {
      this.#pending.push(bytes.slice(n));
      this.#pendingBytes += bytes.length - n;
    }
  }

  close(): void {
    if (this.#closed) return;
    if (this.#pendingBytes > 0) {
      this.#closeWhenFlushed = true;
      return;
    }
    this.#closed = true;
    this.#socket.end();
  }

  destroy(): void {
    if (this.#closed && this.#pendingBytes === 0) return;
    this.#closed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#socket.terminate();
  }

  /** After a TLS upgrade the plain socket still reports events (ciphertext): they are ignored. */
  upgraded = false;

  upgradeTls(config: TlsServerConfig): Promise<TlsInfo> {
    return this.#upgrade(
      {
        key: config.key,
        cert: config.cert,
        ca: config.ca,
        requestCert: config.clientAuth !== "none",
        rejectUnauthorized: config.clientAuth === "require-verify",
        secureOptions: noOlderThan(config.minVersion),
      },
      (success, authorizationError, hasPeer) => {
        if (
          !success || (config.clientAuth === "require-verify" && authorizationError) ||
          (config.clientAuth !== "none" && !hasPeer)
        ) {
          return new Error(authorizationError?.message ?? "tls: client didn't provide a certificate");
        }
        return null;
      },
    );
  }

  startTls(config: TlsClientConfig): Promise<TlsInfo> {
    return this.#upgrade(
      {
        ca: config.ca,
        cert: config.cert,
        key: config.key,
        rejectUnauthorized: !config.insecureSkipVerify,
        serverName: config.serverName,
      },
      (success, authorizationError) => {
        if (success && (config.insecureSkipVerify || !authorizationError)) return null;
        return new Error(authorizationError?.message ?? "tls: handshake failed");
      },
    );
  }

  /**
   * Bun's `upgradeTLS`, for either side; `refuse` turns the handshake's outcome into an error (or
   * null to accept).
   */
  #upgrade(
    options: BunTlsOptions,
    refuse: (success: boolean, authorizationError: Error | null, hasPeer: boolean) => Error | null,
  ): Promise<TlsInfo> {
    // Pending plaintext (the IDENTIFY request or response) must go out before the handshake starts.
    if (this.#pendingBytes > 0) return Promise.reject(new Error("unflushed data before TLS upgrade"));
    return new Promise<TlsInfo>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error("TLS handshake timeout"));
        this.destroy();
      }, 5000);
      const [, secure] = this.#socket.upgradeTLS<BunConn>({
        data: this,
        tls: options,
        socket: {
          handshake: (sock, success, authorizationError) => {
            clearTimeout(timer);
            const peer = sock.getPeerCertificate?.() as { subject?: { CN?: string } } | undefined;
            const hasPeer = peer !== undefined && peer !== null && Object.keys(peer).length > 0;
            const err = refuse(success, authorizationError, hasPeer);
            if (err !== null) {
              reject(err);
              sock.terminate();
              return;
            }
            const cipher = sock.getCipher?.() as { standardName?: string; name?: string } | undefined;
            resolve({
              version: goTlsVersion(sock.getTLSVersion?.() as string | undefined),
              cipherSuite: cipher?.standardName ?? cipher?.name ?? "",
              peerCommonName: hasPeer ? String(peer?.subject?.CN ?? "") : "",
              peerCertificate: hasPeer,
            });
          },
          data: (_sock, data) => this.events.data(data),
          drain: () => this.onDrain(),
          end: () => this.events.end(),
          close: () => this.onClose(),
          error: () => {},
        },
      });
      this.upgraded = true;
      this.#socket = secure;
    });
  }

  /** Bun says the socket can take more: send what waits, in order. */
  onDrain(): void {
    while (this.#pending.length > 0) {
      const buf = this.#pending[0];
      const n = this.#socket.write(buf, 0, buf.length);
      if (n < 0) {
        this.destroy();
        return;
      }
      this.#pendingBytes -= n;
      if (n < buf.length) {
        this.#pending[0] = buf.subarray(n);
        return;
      }
      this.#pending.shift();
    }
    if (this.#closeWhenFlushed) {
      this.#closeWhenFlushed = false;
      this.close();
      return;
    }
    if (!this.#closed) this.events.drain();
  }

  /** Called by Bun's close callback (once per socket; the plain one too after an upgrade). */
  onClose(): void {
    if (this.#closedReported) return;
    this.#closedReported = true;
    this.#closed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.events.close();
  }
}

function socketHandler(onConn: (conn: Conn) => SocketEvents): BunSocketHandler<BunConn> {
  return {
    open(socket) {
      const conn = new BunConn(socket);
      socket.data = conn;
      conn.events = onConn(conn);
    },
    data(socket, data) {
      if (!socket.data.upgraded) socket.data.events.data(data);
    },
    drain(socket) {
      if (!socket.data.upgraded) socket.data.onDrain();
    },
    end(socket) {
      if (!socket.data.upgraded) socket.data.events.end();
    },
    close(socket) {
      socket.data?.onClose();
    },
    error() {
      // close follows
    },
  };
}

export const bunPlatform: Platform = {
  name: "bun",
  version: g.Bun.version,
  args: g.process.argv.slice(2),
  argv0: g.process.argv0,

  listen(addr: NetAddr, onConn: (conn: Conn) => SocketEvents): Promise<Listener> {
    const listener = g.Bun.listen<BunConn>({
      hostname: addr.hostname,
      port: addr.port,
      allowHalfOpen: true,
      socket: socketHandler(onConn),
    });
    return Promise.resolve({
      addr: { hostname: addr.hostname, port: listener.port },
      close(): Promise<void> {
        listener.stop(false);
        return Promise.resolve();
      },
    });
  },

  async connect(addr: NetAddr, events: (conn: Conn) => SocketEvents): Promise<Conn> {
    const socket = await g.Bun.connect<BunConn>({
      hostname: addr.hostname,
      port: addr.port,
      allowHalfOpen: true,
      socket: socketHandler(events),
    });
    return socket.data;
  },

  serve(addr: NetAddr, fetch: FetchHandler, tls?: HttpsConfig): Promise<Listener> {
    const server = g.Bun.serve({
      hostname: addr.hostname,
      port: addr.port,
      ...(tls ? { tls: { key: tls.key, cert: tls.cert, secureOptions: noOlderThan(tls.minVersion) } } : {}),
      fetch(req, srv) {
        const ip = srv.requestIP(req);
        return fetch(req, { remoteAddr: { hostname: ip?.address ?? "", port: ip?.port ?? 0 } });
      },
    });
    return Promise.resolve({
      addr: { hostname: addr.hostname, port: server.port },
      close: () => server.stop(true),
    });
  },

  createUdpSender,
  lockDirectory: bunLockDirectory,

  hostname(): string {
    return osHostname();
  },

  onSignal(signal: SignalName, handler: () => void): () => void {
    g.process.on(signal, handler);
    return () => g.process.off(signal, handler);
  },

  writeStderr(text: string): void {
    writeSync(2, text);
  },

  exit(code: number): never {
    return g.process.exit(code);
  },

  async writeStdout(bytes: Uint8Array): Promise<void> {
    await g.Bun.write(g.Bun.stdout, bytes);
  },

  stdin(): ReadableStream<Uint8Array> {
    return g.Bun.stdin.stream();
  },
};
