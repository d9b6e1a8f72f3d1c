/**
 * The Deno platform: `Deno.listen`/`Deno.connect` for TCP, `Deno.serve` for HTTP.
 *
 * Reads use `conn.read()` into one reused buffer per connection (the fastest read path measured on
 * Deno, see shared/PLATFORM-FACTS.md). `conn.write()` may write only part of a buffer, and it is
 * asynchronous: while one write is under way, later writes are gathered and sent together.
 */
import process from "node:process";
import { nodeConnect, nodeListen } from "./node_conn.ts";
import { nodeServeHttps } from "./node_https.ts";
import { createUdpSender } from "./udp.ts";
import type {
  Conn,
  ConnectOptions,
  DirLock,
  FetchHandler,
  HttpsConfig,
  Listener,
  ListenOptions,
  NetAddr,
  Platform,
  SignalName,
  SocketEvents,
} from "./types.ts";

/**
 * The read buffer starts small and doubles while reads fill it, up to the largest size; after a run of
 * small reads it goes back to the smallest (an idle connection keeps 4 KiB, not 64).
 */
const MIN_READ_BUFFER = 4 * 1024;
const MAX_READ_BUFFER = 64 * 1024;
const SMALL_READS_TO_SHRINK = 8;
/** The first write buffer's size; it doubles as needed. */
const MIN_WRITE_BUFFER = 4 * 1024;

class DenoConn implements Conn {
  readonly remoteAddr: NetAddr;
  readonly localAddr: NetAddr;
  #conn: Deno.Conn;
  #events!: SocketEvents;
  /** Bytes accepted and not yet handed to `conn.write()`: one copy, gathered while a write runs. */
  #pend: Uint8Array = new Uint8Array(0);
  #pendLen = 0;
  /** The buffer of the last finished write, reused for the next batch. */
  #spare: Uint8Array | null = null;
  #pendingBytes = 0;
  #writing = false;
  #closeWhenFlushed = false;
  #closed = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
    const remote = conn.remoteAddr as Deno.NetAddr;
    const local = conn.localAddr as Deno.NetAddr;
    this.remoteAddr = { hostname: remote.hostname, port: remote.port };
    this.localAddr = { hostname: local.hostname, port: local.port };
    try {
      (conn as Deno.TcpConn).setNoDelay(true);
    } catch { /* not a TCP socket */ }
  }

  start(events: SocketEvents): void {
    this.#events = events;
    this.#readLoop();
  }

  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  write(bytes: Uint8Array): void {
    if (this.#closed || this.#closeWhenFlushed || bytes.length === 0) return;
    // The caller reuses its buffer as soon as we return and conn.write() is asynchronous: copy once.
    const need = this.#pendLen + bytes.length;
    if (need > this.#pend.length) {
      let cap = Math.max(MIN_WRITE_BUFFER, this.#pend.length * 2);
      while (cap < need) cap *= 2;
      const next = this.#spare !== null && this.#spare.length >= need && this.#pendLen === 0
        ? this.#spare
        : new Uint8Array(cap);
      if (next === this.#spare) this.#spare = null;
      next.set(this.#pend.subarray(0, this.#pendLen));
      this.#pend = next;
    }
    this.#pend.set(bytes, this.#pendLen);
    this.#pendLen = need;
    this.#pendingBytes += bytes.length;
    if (!this.#writing) this.#writeLoop();
  }

  close(): void {
    if (this.#closed) return;
    if (this.#writing) {
      this.#closeWhenFlushed = true;
      return;
    }
    this.destroy();
  }

  destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pend = new Uint8Array(0);
    this.#pendLen = 0;
    this.#spare = null;
    this.#pendingBytes = 0;
    try {
      this.#conn.close();
    } catch { /* already closed */ }
    this.#events.close();
  }

  async #readLoop(): Promise<void> {
    let buf = new Uint8Array(MIN_READ_BUFFER);
    let small = 0;
    try {
      while (!this.#closed) {
        const n = await this.#conn.read(buf);
        if (this.#closed) return;
        if (n === null) {
          this.#events.end();
          return;
        }
        this.#events.data(buf.subarray(0, n));
        // The handler is done with the bytes (it copies what it keeps): the buffer may be replaced.
        if (n === buf.length) {
          small = 0;
          if (buf.length < MAX_READ_BUFFER) buf = new Uint8Array(buf.length * 2);
        } else if (buf.length > MIN_READ_BUFFER && n <= buf.length >> 4 && ++small >= SMALL_READS_TO_SHRINK) {
          small = 0;
          buf = new Uint8Array(MIN_READ_BUFFER);
        }
      }
    } catch {
      this.destroy();
    }
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#pendLen > 0 && !this.#closed) {
        // Take the gathered bytes; later writes gather into the spare buffer meanwhile.
        const buf = this.#pend;
        const len = this.#pendLen;
        this.#pend = this.#spare ?? new Uint8Array(0);
        this.#spare = null;
        this.#pendLen = 0;
        let off = 0;
        while (off < len) {
          off += await this.#conn.write(buf.subarray(off, len));
          if (this.#closed) return;
        }
        this.#pendingBytes -= len;
        if (buf.length <= 1024 * 1024) this.#spare = buf;
      }
    } catch {
      this.#writing = false;
      this.destroy();
      return;
    }
    this.#writing = false;
    if (this.#closed) return;
    if (this.#closeWhenFlushed) {
      this.destroy();
      return;
    }
    this.#events.drain();
  }
}

function toNetAddr(addr: Deno.Addr): NetAddr {
  const a = addr as Deno.NetAddr;
  return { hostname: a.hostname, port: a.port };
}

const encoder = new TextEncoder();

const LOCK_EX = 2;
const LOCK_NB = 4;
const O_RDONLY = 0;

/** flock(2) through libc with Deno's FFI: Deno has no non-blocking file lock of its own. */
function denoLockDirectory(path: string): DirLock | null {
  let libc;
  try {
    libc = Deno.dlopen("libc.so.6", {
      open: { parameters: ["buffer", "i32"], result: "i32" },
      flock: { parameters: ["i32", "i32"], result: "i32" },
      close: { parameters: ["i32"], result: "i32" },
    });
  } catch {
    return null;
  }
  const fd = libc.symbols.open(encoder.encode(path + "\0"), O_RDONLY);
  if (fd < 0) throw new Error(`cannot flock directory ${path} - no such file or directory`);
  if (libc.symbols.flock(fd, LOCK_EX | LOCK_NB) !== 0) {
    libc.symbols.close(fd);
    throw new Error(`cannot flock directory ${path} - resource temporarily unavailable`);
  }
  return {
    release() {
      libc.symbols.close(fd);
      libc.close();
    },
  };
}

export const denoPlatform: Platform = {
  name: "deno",
  version: Deno.version.deno,
  args: Deno.args,
  // Deno has no argv[0] of its own; node:process keeps the one the process was started with.
  argv0: process.argv0,

  listen(addr: NetAddr, onConn: (conn: Conn) => SocketEvents, options?: ListenOptions): Promise<Listener> {
    // Deno cannot upgrade an accepted socket to TLS: listeners that must offer tls_v1 use node:net.
    if (options?.tls) return nodeListen(addr, onConn);
    const listener = Deno.listen({ hostname: addr.hostname, port: addr.port, transport: "tcp" });
    (async () => {
      try {
        for await (const raw of listener) {
          const conn = new DenoConn(raw);
          conn.start(onConn(conn));
        }
      } catch { /* listener closed */ }
    })();
    return Promise.resolve({
      addr: toNetAddr(listener.addr),
      close(): Promise<void> {
        try {
          listener.close();
        } catch { /* already closed */ }
        return Promise.resolve();
      },
    });
  },

  async connect(
    addr: NetAddr,
    events: (conn: Conn) => SocketEvents,
    options?: ConnectOptions,
  ): Promise<Conn> {
    // Deno.startTls verifies against a CA but takes no client certificate and cannot skip
    // verification (go-nsq's tls_cert/tls_key, tls_insecure_skip_verify): a connection that may be
    // upgraded uses node:net/node:tls, whose client side does all three.
    if (options?.tls) return await nodeConnect(addr, events);
    const raw = await Deno.connect({ hostname: addr.hostname, port: addr.port, transport: "tcp" });
    const conn = new DenoConn(raw);
    conn.start(events(conn));
    return conn;
  },

  serve(addr: NetAddr, fetch: FetchHandler, tls?: HttpsConfig): Promise<Listener> {
    // Deno.serve's TLS accepts 1.2 and 1.3 and has no version setting: 1.3 only needs node:https.
    if (tls?.minVersion === "TLSv1.3") return nodeServeHttps(addr, fetch, tls);
    // Deno.serve binds synchronously (and throws on a bind error), so the address is known here.
    const server = Deno.serve(
      {
        hostname: addr.hostname,
        port: addr.port,
        onListen() {},
        ...(tls ? { key: tls.key, cert: tls.cert } : {}),
      },
      (req, info) => fetch(req, { remoteAddr: toNetAddr(info.remoteAddr) }),
    );
    return Promise.resolve({ addr: toNetAddr(server.addr), close: () => server.shutdown() });
  },

  createUdpSender,
  lockDirectory: denoLockDirectory,

  hostname(): string {
    return Deno.hostname();
  },

  onSignal(signal: SignalName, handler: () => void): () => void {
    Deno.addSignalListener(signal, handler);
    return () => Deno.removeSignalListener(signal, handler);
  },

  writeStderr(text: string): void {
    const bytes = encoder.encode(text);
    let off = 0;
    while (off < bytes.length) off += Deno.stderr.writeSync(bytes.subarray(off));
  },

  exit(code: number): never {
    Deno.exit(code);
  },

  async writeStdout(bytes: Uint8Array): Promise<void> {
    let off = 0;
    while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
  },

  stdin(): ReadableStream<Uint8Array> {
    return Deno.stdin.readable;
  },
};
