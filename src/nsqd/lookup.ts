/**
 * nsqd's side of discovery (nsq `nsqd/lookup.go`, `nsqd/lookup_peer.go`, shared/nsq-reference.md
 * §5.5): one peer per `--lookupd-tcp-address`, connected lazily; on every (re)connect the magic,
 * IDENTIFY and a REGISTER of every topic and channel; REGISTER/UNREGISTER as topics and channels come
 * and go; a PING every 15 s; a failed command closes the peer and the next one reconnects. Commands
 * of one peer run one at a time with 1 s deadlines; nothing here blocks publishers.
 */
import type { Conn, NetAddr, Platform, TlsClientConfig } from "../platform/types.ts";
import { readInt32, writeUint32 } from "../protocol/message.ts";
import { parseHostPort } from "../internal/address.ts";
import type { Logger } from "../internal/logger.ts";
import { userAgent } from "../internal/version.ts";

const PING_INTERVAL_MS = 15_000;
const IO_TIMEOUT_MS = 1000;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What a lookupd told us about itself in its IDENTIFY response. */
export interface LookupdInfo {
  tcp_port: number;
  http_port: number;
  version: string;
  broadcast_address: string;
}

/** What the lookup loop needs of its nsqd. */
export interface LookupContext {
  readonly platform: Platform;
  readonly logger: Logger;
  /** The IDENTIFY body (§5.1): version, ports, hostname, broadcast address, topology. */
  identifyBody(): Record<string, unknown>;
  /** `[topic, channel]` pairs to REGISTER after a connect (`""` channel for a topic without any). */
  registrations(): [string, string][];
  readonly maxBodySize: number;
  /**
   * `--lookupd-tls*` (beyond upstream, nsq #876): dial lookupds over TLS from the first byte; an empty
   * `serverName` means the host of each lookupd's address. Null: plain TCP (upstream's behaviour).
   */
  readonly tls?: TlsClientConfig | null;
}

function command(line: string, body?: Uint8Array): Uint8Array {
  const head = encoder.encode(line + "\n");
  if (body === undefined) return head;
  const out = new Uint8Array(head.length + 4 + body.length);
  out.set(head);
  writeUint32(out, head.length, body.length);
  out.set(body, head.length + 4);
  return out;
}

/** `REGISTER t [c]` / `UNREGISTER t [c]`. */
export function registerCommand(verb: "REGISTER" | "UNREGISTER", topic: string, channel: string): Uint8Array {
  return command(channel === "" ? `${verb} ${topic}` : `${verb} ${topic} ${channel}`);
}

/** One nsqlookupd, as nsqd sees it. */
export class LookupPeer {
  readonly addr: string;
  info: LookupdInfo | null = null;
  readonly #ctx: LookupContext;
  #conn: Conn | null = null;
  #connecting: Promise<void> | null = null;
  #chain: Promise<unknown> = Promise.resolve();
  #buf = new Uint8Array(0);
  #waiter: ((data: Uint8Array | Error) => void) | null = null;
  #closed = false;

  constructor(addr: string, ctx: LookupContext) {
    this.addr = addr;
    this.#ctx = ctx;
  }

  toString(): string {
    return this.addr;
  }

  /** Queues a command (null = just connect); resolves with the response, or null on failure. */
  command(cmd: Uint8Array | null, what = ""): Promise<Uint8Array | null> {
    const run = async (): Promise<Uint8Array | null> => {
      if (this.#closed) return null;
      try {
        if (this.#conn === null) await this.#connect();
        if (cmd === null) return null;
        return await this.#roundTrip(cmd);
      } catch (err) {
        if (!this.#closed) this.#ctx.logger.error(`LOOKUPD(${this}): ${what} - ${(err as Error).message}`);
        this.#drop();
        return null;
      }
    };
    const p = this.#chain.then(run, run);
    this.#chain = p;
    return p;
  }

  /** Closes for good (removed from the list of lookupds). */
  close(): void {
    this.#closed = true;
    this.#drop();
  }

  async #connect(): Promise<void> {
    let addr: NetAddr;
    try {
      addr = parseHostPort(this.addr);
    } catch (err) {
      throw new Error(`bad address: ${(err as Error).message}`);
    }
    this.#ctx.logger.info(`LOOKUP connecting to ${this.addr}`);
    const conn = await withDeadline(
      this.#ctx.platform.connect(addr, (c) => ({
        data: (chunk) => this.#onData(c, chunk),
        drain: () => {},
        end: () => c.destroy(),
        close: () => {
          if (this.#conn === c) this.#drop();
        },
      }), { tls: Boolean(this.#ctx.tls) }),
      IO_TIMEOUT_MS,
      "dial timeout",
    );
    this.#conn = conn;
    this.#buf = new Uint8Array(0);
    const tls = this.#ctx.tls;
    if (tls) {
      if (conn.startTls === undefined) throw new Error("TLS not supported on this connection");
      const info = await conn.startTls({ ...tls, serverName: tls.serverName || addr.hostname }).catch(
        (err) => {
          throw new Error(`TLS handshake failed - ${(err as Error).message}`);
        },
      );
      this.#ctx.logger.info(`LOOKUPD(${this}): TLS ${info.version} ${info.cipherSuite}`);
    }
    conn.write(encoder.encode("  V1"));
    await this.#onConnect();
  }

  /** The connect callback: IDENTIFY, then REGISTER everything. */
  async #onConnect(): Promise<void> {
    const body = encoder.encode(JSON.stringify(this.#ctx.identifyBody()));
    const resp = await this.#roundTrip(command("IDENTIFY", body));
    const text = decoder.decode(resp);
    if (text === "E_INVALID") {
      this.#ctx.logger.info(`LOOKUPD(${this}): lookupd returned ${text}`);
      throw new Error("lookupd returned E_INVALID");
    }
    try {
      this.info = JSON.parse(text) as LookupdInfo;
    } catch {
      throw new Error(`parsing response - ${text}`);
    }
    this.#ctx.logger.info(`LOOKUPD(${this}): peer info ${text}`);
    if (!this.info.broadcast_address) this.#ctx.logger.error(`LOOKUPD(${this}): no broadcast address`);
    for (const [topic, channel] of this.#ctx.registrations()) {
      const cmd = registerCommand("REGISTER", topic, channel);
      this.#ctx.logger.info(`LOOKUPD(${this}): ${decoder.decode(cmd).trim()}`);
      await this.#roundTrip(cmd);
    }
  }

  #roundTrip(cmd: Uint8Array): Promise<Uint8Array> {
    const conn = this.#conn;
    if (conn === null) return Promise.reject(new Error("not connected"));
    return withDeadline(
      new Promise<Uint8Array>((resolve, reject) => {
        this.#waiter = (r) => (r instanceof Error ? reject(r) : resolve(r));
        conn.write(cmd);
        this.#deliver();
      }),
      IO_TIMEOUT_MS,
      "i/o timeout",
    ).finally(() => {
      this.#waiter = null;
    });
  }

  #onData(conn: Conn, chunk: Uint8Array): void {
    if (conn !== this.#conn) return;
    const next = new Uint8Array(this.#buf.length + chunk.length);
    next.set(this.#buf);
    next.set(chunk, this.#buf.length);
    this.#buf = next;
    this.#deliver();
  }

  /** Hands a complete `[size][data]` response to the waiting command. */
  #deliver(): void {
    if (this.#waiter === null || this.#buf.length < 4) return;
    const size = readInt32(this.#buf, 0);
    if (size < 0 || size > this.#ctx.maxBodySize) {
      this.#waiter(
        new Error(`response body size (${size}) is greater than limit (${this.#ctx.maxBodySize})`),
      );
      return;
    }
    if (this.#buf.length < 4 + size) return;
    const data = this.#buf.slice(4, 4 + size);
    this.#buf = this.#buf.slice(4 + size);
    this.#waiter(data);
  }

  #drop(): void {
    const conn = this.#conn;
    this.#conn = null;
    this.info = null;
    this.#waiter?.(new Error("connection closed"));
    conn?.destroy();
  }
}

/** The lookup loop: the peers of `--lookupd-tcp-address`, pings, and notifications. */
export class LookupLoop {
  readonly #ctx: LookupContext;
  #peers: LookupPeer[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(ctx: LookupContext) {
    this.#ctx = ctx;
  }

  get peers(): readonly LookupPeer[] {
    return this.#peers;
  }

  /** Adds peers for new addresses and closes those no longer listed (also `PUT /config/…`). */
  setAddresses(addresses: readonly string[]): void {
    const keep: LookupPeer[] = [];
    for (const peer of this.#peers) {
      if (addresses.includes(peer.addr)) keep.push(peer);
      else {
        this.#ctx.logger.info(`LOOKUP(${peer}): removing peer`);
        peer.close();
      }
    }
    for (const addr of addresses) {
      if (keep.some((p) => p.addr === addr)) continue;
      this.#ctx.logger.info(`LOOKUP(${addr}): adding peer`);
      const peer = new LookupPeer(addr, this.#ctx);
      keep.push(peer);
      peer.command(null, "connect"); // start the connection
    }
    this.#peers = keep;
    if (this.#peers.length > 0 && this.#timer === undefined) {
      this.#timer = setInterval(() => this.#ping(), PING_INTERVAL_MS);
    } else if (this.#peers.length === 0) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Tells every lookupd that a topic or channel appeared or went away. */
  notify(verb: "REGISTER" | "UNREGISTER", topic: string, channel: string): void {
    const cmd = registerCommand(verb, topic, channel);
    const what = decoder.decode(cmd).trim();
    for (const peer of this.#peers) {
      this.#ctx.logger.info(`LOOKUPD(${peer}): ${channel === "" ? "topic" : "channel"} ${what}`);
      peer.command(cmd, what);
    }
  }

  /** HTTP addresses (`broadcast_address:http_port`) of the lookupds we are connected to. */
  httpAddresses(): string[] {
    const out: string[] = [];
    for (const p of this.#peers) {
      if (p.info?.broadcast_address) out.push(`${p.info.broadcast_address}:${p.info.http_port}`);
    }
    return out;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    for (const p of this.#peers) p.close();
    this.#peers = [];
  }

  #ping(): void {
    for (const peer of this.#peers) {
      this.#ctx.logger.debug(`LOOKUPD(${peer}): sending heartbeat`);
      peer.command(command("PING"), "PING");
    }
  }
}

/**
 * `GetLookupdTopicChannels`: the union of `/channels?topic=` of every lookupd, asked in parallel;
 * fails only when every lookupd fails.
 */
export async function lookupdTopicChannels(
  topic: string,
  httpAddrs: string[],
  timeoutMs: number,
  scheme: "http" | "https" = "http",
): Promise<string[]> {
  const results = await Promise.allSettled(httpAddrs.map(async (addr) => {
    const res = await fetch(`${scheme}://${addr}/channels?topic=${encodeURIComponent(topic)}`, {
      headers: { Accept: "application/vnd.nsq; version=1.0", "User-Agent": userAgent("nsqd") },
      signal: AbortSignal.timeout(timeoutMs),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`got response ${res.status} from ${addr}`);
    }
    const json = await res.json() as { channels?: string[] };
    return json.channels ?? [];
  }));
  const channels = new Set<string>();
  let ok = 0;
  const errors: string[] = [];
  for (const r of results) {
    if (r.status === "fulfilled") {
      ok++;
      for (const c of r.value) channels.add(c);
    } else errors.push(String((r.reason as Error)?.message ?? r.reason));
  }
  if (ok === 0 && httpAddrs.length > 0) {
    throw new Error(`Failed to query any nsqlookupd: ${errors.join("; ")}`);
  }
  return [...channels];
}

function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(what)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
