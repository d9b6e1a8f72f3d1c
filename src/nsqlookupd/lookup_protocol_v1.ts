/**
 * nsqlookupd's TCP protocol V1 for one connection (nsq `nsqlookupd/tcp.go` +
 * `nsqlookupd/lookup_protocol_v1.go`, shared/nsq-reference.md §5.1): the `"  V1"` magic, then
 * newline-terminated commands — PING, IDENTIFY (with a size-prefixed JSON body), REGISTER and
 * UNREGISTER — from the nsqds of the cluster.
 *
 * Responses, errors included, are `[4-byte BE size][data]` with no frame type. Every client error
 * is fatal: it is sent, then the connection is closed; that mapping happens here and nowhere else.
 * When the connection ends, the peer is removed from every registration but the keys stay.
 */
import type { Conn, SocketEvents } from "../platform/types.ts";
import { CommandParser, type CommandSink } from "../protocol/command_parser.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { ClientError, ErrorCode } from "../protocol/errors.ts";
import { formatDuration } from "../protocol/go_duration.ts";
import { goJson } from "../protocol/go_json.ts";
import { writeUint32 } from "../protocol/message.ts";
import { isEphemeral, isValidChannelName, isValidTopicName } from "../protocol/names.ts";
import { NSQ_VERSION } from "../internal/version.ts";
import { formatPeerAddr } from "../internal/address.ts";
import { decodeIdentifyBody } from "./identify.ts";
import type { Nsqlookupd } from "./nsqlookupd.ts";
import { Category, type PeerInfo, Producer, type Registration, unixNanos } from "./registration_db.ts";

const MAGIC_V1 = "  V1";
const OK = new TextEncoder().encode("OK");
const CLIENT_REGISTRATION: Registration = { category: Category.Client, key: "", subKey: "" };

/** Which part of IDENTIFY the parser is reading (names the read that failed at EOF). */
const Step = { None: 0, IdentifySize: 1, IdentifyBody: 2 } as const;
type Step = typeof Step[keyof typeof Step];

/** Handles one accepted TCP connection: the magic first, then protocol V1. */
export class LookupProtocolV1 implements SocketEvents, CommandSink {
  readonly #lookupd: Nsqlookupd;
  readonly #conn: Conn;
  readonly #parser: CommandParser;
  /** `ip:port` of the peer: its id once identified, and its name in logs. */
  readonly addr: string;
  #magic: Uint8Array | null = new Uint8Array(4);
  #magicLen = 0;
  #peerInfo: PeerInfo | null = null;
  #step: Step = Step.None;
  #exited = false;
  /** Responses produced while one chunk is handled, written together at its end. */
  #out: Uint8Array[] | null = null;

  constructor(lookupd: Nsqlookupd, conn: Conn) {
    this.#lookupd = lookupd;
    this.#conn = conn;
    this.#parser = new CommandParser(this);
    this.addr = formatPeerAddr(conn.remoteAddr);
    lookupd.logger.info(`TCP: new client(${this.addr})`);
  }

  /** The peer's IDENTIFY data, once identified. */
  get peerInfo(): PeerInfo | null {
    return this.#peerInfo;
  }

  /** Closes the connection (nsqlookupd is exiting). */
  shutdown(): void {
    this.#conn.close();
  }

  // ---- SocketEvents ----------------------------------------------------------------------------

  data(chunk: Uint8Array): void {
    if (this.#exited) return;
    if (this.#magic !== null) {
      const take = Math.min(4 - this.#magicLen, chunk.length);
      this.#magic.set(chunk.subarray(0, take), this.#magicLen);
      this.#magicLen += take;
      if (this.#magicLen < 4) return;
      if (!this.#acceptMagic()) return;
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    this.#out = [];
    try {
      this.#parser.push(chunk);
    } finally {
      this.#flush();
    }
  }

  drain(): void {}

  end(): void {
    if (this.#exited) return;
    if (this.#magic !== null) {
      const why = this.#magicLen === 0 ? "EOF" : "unexpected EOF";
      this.#lookupd.logger.error(`failed to read protocol version - ${why}`);
      this.#closeBeforeLoop();
      return;
    }
    // io.ReadFull's errors: EOF when nothing of the item arrived, unexpected EOF when part did.
    const eof = new Error(this.#parser.hasPartial ? "unexpected EOF" : "EOF");
    if (this.#step === Step.IdentifySize) {
      this.#fail(new ClientError(ErrorCode.BadBody, "IDENTIFY failed to read body size", { cause: eof }));
    } else if (this.#step === Step.IdentifyBody) {
      this.#fail(new ClientError(ErrorCode.BadBody, "IDENTIFY failed to read body", { cause: eof }));
    } else {
      // A partial command line at EOF is dropped, as bufio's ReadString returns it with io.EOF.
      this.#exit("EOF");
    }
  }

  close(): void {
    // The connection is gone (reset, or closed by us): leave the IO loop if not done yet.
    this.#exit(null);
  }

  // ---- CommandSink -----------------------------------------------------------------------------

  line(line: Uint8Array): void {
    const params = latin1(trimGoSpace(line)).split(" ");
    try {
      const response = this.#exec(params);
      if (response !== null) this.#send(response);
    } catch (err) {
      this.#handleError(err);
    }
  }

  size(n: number): void {
    this.#step = Step.IdentifyBody;
    if (n < 0) {
      // Go's make([]byte, n) panics here, taking the whole nsqlookupd down; refuse the body instead.
      this.#fail(new ClientError(ErrorCode.BadBody, "IDENTIFY failed to read body"));
    } else if (n === 0) {
      this.bytes(new Uint8Array(0));
    } else {
      this.#parser.expectBytes(n);
    }
  }

  bytes(data: Uint8Array): void {
    this.#step = Step.None;
    try {
      this.#send(this.#identify(data));
    } catch (err) {
      this.#handleError(err);
    }
  }

  lineTooLong(): void {
    // Upstream reads lines of any length; a 16 KiB command line is no command nsqd sends.
    this.#lookupd.logger.error(`[${this.addr}] - command line longer than 16 KiB`);
    this.#exit("line too long");
  }

  // ---- the connection --------------------------------------------------------------------------

  #acceptMagic(): boolean {
    const magic = latin1(this.#magic!);
    this.#magic = null;
    this.#lookupd.logger.info(`CLIENT(${this.addr}): desired protocol magic '${printable(magic)}'`);
    if (magic !== MAGIC_V1) {
      this.#conn.write(encodeResponse(ascii("E_BAD_PROTOCOL")));
      this.#closeBeforeLoop();
      this.#lookupd.logger.error(`client(${this.addr}) bad protocol magic '${printable(magic)}'`);
      return false;
    }
    return true;
  }

  /** Closes a connection that never got to the IO loop (no magic, or a wrong one). */
  #closeBeforeLoop(): void {
    this.#exited = true;
    this.#parser.stop();
    this.#conn.close();
    this.#lookupd.removeClient(this);
  }

  #send(data: Uint8Array): void {
    const bytes = encodeResponse(data);
    if (this.#out !== null) this.#out.push(bytes);
    else this.#conn.write(bytes);
  }

  #flush(): void {
    const out = this.#out;
    this.#out = null;
    if (out === null || out.length === 0) return;
    this.#conn.write(out.length === 1 ? out[0] : concatBytes(out));
  }

  #handleError(err: unknown): void {
    if (!(err instanceof ClientError)) throw err;
    this.#fail(err);
  }

  /** Sends a fatal error, closes the connection and leaves the IO loop. */
  #fail(err: ClientError): void {
    const cause = err.cause instanceof Error ? ` - ${err.cause.message}` : "";
    this.#lookupd.logger.error(`[${this.addr}] - ${printable(err.wireText)}${cause}`);
    this.#parser.stop();
    this.#send(latin1Bytes(err.wireText));
    this.#flush();
    this.#conn.close();
    this.#exit(printable(err.wireText));
  }

  /** Leaves the IO loop: the peer's producers go, the keys stay. */
  #exit(err: string | null): void {
    if (this.#exited) return;
    this.#exited = true;
    this.#parser.stop();
    const log = this.#lookupd.logger;
    const db = this.#lookupd.db;
    log.info(`PROTOCOL(V1): [${this.addr}] exiting ioloop`);
    const peer = this.#peerInfo;
    if (peer !== null) {
      for (const r of db.lookupRegistrations(peer.id)) {
        if (db.removeProducer(r, peer.id).removed) {
          log.info(
            `DB: client(${this.addr}) UNREGISTER category:${r.category} key:${r.key} subkey:${r.subKey}`,
          );
        }
      }
    }
    if (err !== null) log.error(`client(${this.addr}) - ${err}`);
    this.#lookupd.removeClient(this);
    this.#conn.close();
  }

  // ---- commands --------------------------------------------------------------------------------

  #exec(params: string[]): Uint8Array | null {
    switch (params[0]) {
      case "PING":
        return this.#ping();
      case "IDENTIFY":
        if (this.#peerInfo !== null) throw new ClientError(ErrorCode.Invalid, "cannot IDENTIFY again");
        this.#step = Step.IdentifySize;
        this.#parser.expectSize();
        return null;
      case "REGISTER":
        return this.#register(params.slice(1));
      case "UNREGISTER":
        return this.#unregister(params.slice(1));
    }
    throw new ClientError(ErrorCode.Invalid, `invalid command ${params[0]}`);
  }

  #ping(): Uint8Array {
    const peer = this.#peerInfo;
    // A PING may come before IDENTIFY: it is answered, and updates nothing.
    if (peer !== null) {
      const now = unixNanos();
      const since = formatDuration(Number(now - peer.lastUpdate));
      this.#lookupd.logger.info(`CLIENT(${peer.id}): pinged (last ping ${since})`);
      peer.lastUpdate = now;
    }
    return OK;
  }

  #identify(body: Uint8Array): Uint8Array {
    let fields;
    try {
      fields = decodeIdentifyBody(body);
    } catch (err) {
      throw new ClientError(ErrorCode.BadBody, "IDENTIFY failed to decode JSON body", { cause: err });
    }
    if (
      fields.broadcastAddress === "" || fields.tcpPort === 0 || fields.httpPort === 0 || fields.version === ""
    ) {
      throw new ClientError(ErrorCode.BadBody, "IDENTIFY missing fields");
    }
    const peer: PeerInfo = { ...fields, id: this.addr, remoteAddress: this.addr, lastUpdate: unixNanos() };
    const { db, logger } = this.#lookupd;
    logger.info(
      `CLIENT(${this.addr}): IDENTIFY Address:${peer.broadcastAddress} TCP:${peer.tcpPort} ` +
        `HTTP:${peer.httpPort} Version:${peer.version}`,
    );
    this.#peerInfo = peer;
    if (db.addProducer(CLIENT_REGISTRATION, new Producer(peer))) {
      logger.info(`DB: client(${this.addr}) REGISTER category:client key: subkey:`);
    }
    // A Go map: keys in sorted order.
    const info = this.#lookupd;
    return new TextEncoder().encode(goJson({
      broadcast_address: info.options.broadcastAddress,
      hostname: info.platform.hostname(),
      http_port: info.httpAddr?.port ?? 0,
      tcp_port: info.tcpAddr?.port ?? 0,
      version: NSQ_VERSION,
    }));
  }

  #register(params: string[]): Uint8Array {
    const peer = this.#requirePeer();
    const [topic, channel] = topicChannel("REGISTER", params);
    const { db, logger } = this.#lookupd;
    if (channel !== "") {
      const key = { category: Category.Channel, key: topic, subKey: channel };
      if (db.addProducer(key, new Producer(peer))) {
        logger.info(`DB: client(${this.addr}) REGISTER category:channel key:${topic} subkey:${channel}`);
      }
    }
    const key = { category: Category.Topic, key: topic, subKey: "" };
    if (db.addProducer(key, new Producer(peer))) {
      logger.info(`DB: client(${this.addr}) REGISTER category:topic key:${topic} subkey:`);
    }
    return OK;
  }

  #unregister(params: string[]): Uint8Array {
    const peer = this.#requirePeer();
    const [topic, channel] = topicChannel("UNREGISTER", params);
    const { db, logger } = this.#lookupd;
    if (channel !== "") {
      const key = { category: Category.Channel, key: topic, subKey: channel };
      const { removed, left } = db.removeProducer(key, peer.id);
      if (removed) {
        logger.info(`DB: client(${this.addr}) UNREGISTER category:channel key:${topic} subkey:${channel}`);
      }
      // An ephemeral channel goes with its last producer.
      if (left === 0 && isEphemeral(channel)) db.removeRegistration(key);
      return OK;
    }
    // A topic UNREGISTER: nsqd unregisters its channels first, so any left here is unexpected.
    for (const r of db.findRegistrations(Category.Channel, topic, "*")) {
      if (db.removeProducer(r, peer.id).removed) {
        logger.warn(
          `client(${this.addr}) unexpected UNREGISTER category:channel key:${topic} subkey:${r.subKey}`,
        );
      }
    }
    const key = { category: Category.Topic, key: topic, subKey: "" };
    const { removed, left } = db.removeProducer(key, peer.id);
    if (removed) logger.info(`DB: client(${this.addr}) UNREGISTER category:topic key:${topic} subkey:`);
    if (left === 0 && isEphemeral(topic)) db.removeRegistration(key);
    return OK;
  }

  #requirePeer(): PeerInfo {
    if (this.#peerInfo === null) throw new ClientError(ErrorCode.Invalid, "client must IDENTIFY");
    return this.#peerInfo;
  }
}

/** `<topic> [<channel>]` of REGISTER/UNREGISTER, validated; extra params are ignored. */
function topicChannel(command: string, params: string[]): [string, string] {
  if (params.length === 0) {
    throw new ClientError(ErrorCode.Invalid, `${command} insufficient number of params`);
  }
  const topic = params[0];
  const channel = params.length >= 2 ? params[1] : "";
  if (!isValidTopicName(topic)) {
    throw new ClientError(ErrorCode.BadTopic, `${command} topic name '${topic}' is not valid`);
  }
  if (channel !== "" && !isValidChannelName(channel)) {
    throw new ClientError(ErrorCode.BadChannel, `${command} channel name '${channel}' is not valid`);
  }
  return [topic, channel];
}

/** `[4-byte BE size][data]` (upstream's `protocol.SendResponse`). */
function encodeResponse(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  writeUint32(out, 0, data.length);
  out.set(data, 4);
  return out;
}

/** Go's `strings.TrimSpace` on raw bytes: ASCII white space and UTF-8 encoded Unicode spaces. */
export function trimGoSpace(b: Uint8Array): Uint8Array {
  let start = 0;
  let end = b.length;
  while (start < end) {
    const n = spaceAt(b, start, end);
    if (n === 0) break;
    start += n;
  }
  while (end > start) {
    const n = spaceBefore(b, start, end);
    if (n === 0) break;
    end -= n;
  }
  return b.subarray(start, end);
}

/** UTF-8 encodings of the non-ASCII characters `unicode.IsSpace` accepts. */
const UNICODE_SPACES: readonly (readonly number[])[] = [
  [0xc2, 0x85],
  [0xc2, 0xa0],
  [0xe1, 0x9a, 0x80],
  ...Array.from({ length: 11 }, (_, i) => [0xe2, 0x80, 0x80 + i]),
  [0xe2, 0x80, 0xa8],
  [0xe2, 0x80, 0xa9],
  [0xe2, 0x80, 0xaf],
  [0xe2, 0x81, 0x9f],
  [0xe3, 0x80, 0x80],
];

function isAsciiSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Length of the white-space character starting at `i`, or 0. */
function spaceAt(b: Uint8Array, i: number, end: number): number {
  if (isAsciiSpace(b[i])) return 1;
  if (b[i] < 0x80) return 0;
  for (const seq of UNICODE_SPACES) {
    if (i + seq.length <= end && seq.every((x, k) => b[i + k] === x)) return seq.length;
  }
  return 0;
}

/** Length of the white-space character ending just before `end`, or 0. */
function spaceBefore(b: Uint8Array, start: number, end: number): number {
  if (isAsciiSpace(b[end - 1])) return 1;
  if (b[end - 1] < 0x80) return 0;
  for (const seq of UNICODE_SPACES) {
    const i = end - seq.length;
    if (i >= start && seq.every((x, k) => b[i + k] === x)) return seq.length;
  }
  return 0;
}

/** Bytes as a string of one char per byte, so they go back to the wire unchanged. */
function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}

function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function ascii(s: string): Uint8Array {
  return latin1Bytes(s);
}

/** A byte string (latin1) as the UTF-8 text Go's log would print. */
function printable(s: string): string {
  return /[\x80-\xff]/.test(s) ? new TextDecoder().decode(latin1Bytes(s)) : s;
}
