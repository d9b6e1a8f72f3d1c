/**
 * The runtime shim: the only surface through which the broker touches the runtime (Deno or Bun).
 *
 * Everything here is small on purpose (after nats.js `core/src/transport.ts`): sockets that push
 * bytes to callbacks and accept bytes to write, an HTTP server that runs a `fetch` handler, and the
 * few process facts the broker needs. Two brokers can share one process because nothing here is a
 * global singleton of the broker's.
 */

/** A TCP endpoint. */
export interface NetAddr {
  hostname: string;
  port: number;
}

/** What a connection reports to its owner. All callbacks run on the event loop, one at a time. */
export interface SocketEvents {
  /**
   * Bytes arrived. `chunk` is only valid during the call: the platform may reuse its memory
   * afterwards, so anything kept must be copied.
   */
  data(chunk: Uint8Array): void;
  /** Everything queued by `write()` has been handed to the kernel. */
  drain(): void;
  /** The peer closed its side (EOF). The owner decides when to `close()`. */
  end(): void;
  /** The connection is gone (either side, or an error). Called exactly once. */
  close(): void;
}

/** Server-side TLS settings (nsqd's `--tls-*` flags, files already read). */
export interface TlsServerConfig {
  /** PEM private key. */
  key: string;
  /** PEM certificate chain. */
  cert: string;
  /** PEM CA bundle to verify client certificates with (`--tls-root-ca-file`). */
  ca?: string;
  /** `--tls-client-auth-policy`: none, `require` (any certificate) or `require-verify` (verified against `ca`). */
  clientAuth: "none" | "require" | "require-verify";
  /** Lowest protocol version accepted (`--tls-min-version`). */
  minVersion: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
}

/** HTTPS settings of `Platform.serve`. */
export interface HttpsConfig {
  /** PEM private key. */
  key: string;
  /** PEM certificate chain. */
  cert: string;
  /** Lowest protocol version accepted (`--tls-min-version`; default: the runtime's). */
  minVersion?: TlsServerConfig["minVersion"];
  /** Told about each failed handshake, where the runtime reports them (the node:https path). */
  onHandshakeError?: (remote: string, message: string) => void;
}

/** Client-side TLS settings (go-nsq's `tls_*` options, files already read). */
export interface TlsClientConfig {
  /** The name the server certificate must match, also sent as SNI unless it is an IP address. */
  serverName: string;
  /** PEM CA bundle to verify the server with; default: the runtime's trusted roots. */
  ca?: string;
  /** PEM client certificate chain (for `--tls-client-auth-policy`); needs `key`. */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
  /** Accept any server certificate (go-nsq `tls_insecure_skip_verify`): encrypted, not authenticated. */
  insecureSkipVerify?: boolean;
}

/** What a finished TLS handshake negotiated (shown in /stats as upstream does). */
export interface TlsInfo {
  /** Go's names: `TLS1.2`, `TLS1.3`. */
  version: string;
  /** IANA cipher suite name, e.g. `TLS_AES_128_GCM_SHA256`. */
  cipherSuite: string;
  /** Common name of the client certificate, or "". */
  peerCommonName: string;
  /** Whether the client presented a certificate. */
  peerCertificate: boolean;
}

/** One accepted or dialled TCP connection. */
export interface Conn {
  readonly remoteAddr: NetAddr;
  readonly localAddr: NetAddr;
  /**
   * Queues `bytes` for writing; the caller may reuse `bytes` as soon as this returns (the platform
   * copies whatever it cannot write at once). Writes are delivered in order; partial writes are
   * finished on drain.
   */
  write(bytes: Uint8Array): void;
  /** Bytes accepted by `write()` that the kernel has not taken yet (the back-pressure signal). */
  readonly pendingBytes: number;
  /** Flushes what is queued, then closes. */
  close(): void;
  /** Closes now, dropping anything queued. */
  destroy(): void;
  /**
   * Turns this accepted connection into a TLS server connection (NSQ's `tls_v1` upgrade): bytes written
   * before the call go out in plain text first; afterwards both directions are encrypted and `data`
   * delivers plain text. Resolves once the handshake is done (rejects on failure or after 5 s).
   * Only on connections of a listener started with `{ tls: true }`.
   */
  upgradeTls?(config: TlsServerConfig): Promise<TlsInfo>;
  /**
   * Starts a client-side TLS handshake on this dialled connection (NSQ's `tls_v1` upgrade, after the
   * IDENTIFY reply): afterwards both directions are encrypted and `data` delivers plain text. Call it
   * from the `data` callback that delivered the last plain bytes. Resolves once the handshake is done;
   * rejects when the server is not verified, on failure, or after 5 s. Only on connections dialled
   * with `{ tls: true }`.
   */
  startTls?(config: TlsClientConfig): Promise<TlsInfo>;
}

/** Options of `Platform.connect`. */
export interface ConnectOptions {
  /** The connection must support `startTls` (on Deno this selects the node:net path). */
  tls?: boolean;
}

/** Options of `Platform.listen`. */
export interface ListenOptions {
  /** Accepted connections must support `upgradeTls` (on Deno this selects the node:net path). */
  tls?: boolean;
}

/** A bound listener (TCP or HTTP). */
export interface Listener {
  /** The address actually bound (the real port when port 0 was asked). */
  readonly addr: NetAddr;
  /** Stops accepting; for TCP listeners existing connections stay open. */
  close(): Promise<void>;
}

/** Handles one HTTP request (Hono's `app.fetch`). */
export type FetchHandler = (req: Request, info: { remoteAddr: NetAddr }) => Response | Promise<Response>;

/** Sends UDP datagrams (statsd). */
export interface UdpSender {
  send(bytes: Uint8Array, addr: NetAddr): Promise<void>;
  close(): void;
}

/** An exclusive lock on a directory (held until released or the process ends). */
export interface DirLock {
  release(): void;
}

/** Signals the broker reacts to. */
export type SignalName = "SIGINT" | "SIGTERM" | "SIGHUP";

/** The runtime, as seen by the broker. */
export interface Platform {
  readonly name: "deno" | "bun";
  /** The runtime's own version, e.g. "2.9.6". */
  readonly version: string;
  /** Binds a TCP listener; `onConn` returns the handlers of each accepted connection. */
  listen(addr: NetAddr, onConn: (conn: Conn) => SocketEvents, options?: ListenOptions): Promise<Listener>;
  /** Dials a TCP connection. */
  connect(addr: NetAddr, events: (conn: Conn) => SocketEvents, options?: ConnectOptions): Promise<Conn>;
  /** Serves HTTP with a fetch handler. */
  serve(addr: NetAddr, fetch: FetchHandler, tls?: HttpsConfig): Promise<Listener>;
  /** A UDP socket for sending. */
  createUdpSender(): UdpSender;
  /**
   * Takes an exclusive, non-blocking `flock` on a directory, as upstream's dirlock (so our nsqd and
   * Go's nsqd see each other's lock). Throws when another process holds it; returns null where
   * flock cannot be reached (no libc).
   */
  lockDirectory(path: string): DirLock | null;
  /** The OS host name. */
  hostname(): string;
  /** Runs `handler` on a signal; returns a function that removes it. */
  onSignal(signal: SignalName, handler: () => void): () => void;
  /** Writes text to standard error, synchronously (log lines must not be lost at exit). */
  writeStderr(text: string): void;
  /** Ends the process. */
  exit(code: number): never;
  /** The command-line arguments after the script name. */
  readonly args: readonly string[];
  /**
   * The name the process was started as (C's `argv[0]`): a link's own name for a compiled binary
   * started through a link, the runtime's path under `deno run` / `bun`.
   */
  readonly argv0: string;
  /** Writes bytes to standard output; resolves once written, rejects when it cannot be (a closed pipe). */
  writeStdout(bytes: Uint8Array): Promise<void>;
  /** Standard input as a byte stream. */
  stdin(): ReadableStream<Uint8Array>;
}
