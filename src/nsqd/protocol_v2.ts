/**
 * The V2 protocol of one TCP connection (nsq `nsqd/tcp.go` + `nsqd/protocol_v2.go`): the magic, the
 * read loop, and every command (shared/nsq-reference.md §1.5–1.8).
 *
 * Commands are executed as soon as the parser hands over their parts, in upstream's order of checks,
 * so each error comes at the same point in the byte stream as upstream's. A `ClientError` thrown by
 * a command becomes an error frame here and nowhere else; fatal ones then close the connection.
 */
import type { Conn, SocketEvents, TlsServerConfig } from "../platform/types.ts";
import { byteToBase10 } from "../protocol/byte_base10.ts";
import { CommandParser, type CommandSink } from "../protocol/command_parser.ts";
import { ClientError, ErrorCode, NonFatalClientError } from "../protocol/errors.ts";
import { encodeFrame, FrameType } from "../protocol/frame.ts";
import { goBytesString, goQuote } from "../protocol/go_format.ts";
import {
  makeMessage,
  type Message,
  messageIdFromBytes,
  MSG_ID_LENGTH,
  nowNs,
  tsHiOf,
  tsLoOf,
} from "../protocol/message.ts";
import { isValidChannelName, isValidTopicName } from "../protocol/names.ts";
import { authResponseJson, type AuthState, queryAuthd } from "../internal/auth.ts";
import { BodyArena } from "./body_arena.ts";
import { smallInt } from "./clock.ts";
import { ClientState, type ClientV2 } from "./client_v2.ts";
import { DeflateConn, SnappyConn } from "../internal/compression.ts";
import { decodeIdentify, type IdentifyData } from "./identify.ts";
import type { Nsqd } from "./nsqd.ts";
import type { Topic } from "./topic.ts";

const MAGIC_V2 = "  V2";
const OK = new TextEncoder().encode("OK");
const CLOSE_WAIT = new TextEncoder().encode("CLOSE_WAIT");
const encoder = new TextEncoder();

/** Which part of which command the parser is reading (names the read that failed at EOF). */
const Step = {
  None: 0,
  IdentifySize: 1,
  IdentifyBody: 2,
  AuthSize: 3,
  AuthBody: 4,
  PubSize: 5,
  PubBody: 6,
  DpubSize: 7,
  DpubBody: 8,
  MpubSize: 9,
  MpubCount: 10,
  MpubMsgSize: 11,
  MpubMsgBody: 12,
} as const;
type Step = typeof Step[keyof typeof Step];

const EOF_ERRORS: Record<number, [ErrorCode, string]> = {
  [Step.IdentifySize]: [ErrorCode.BadBody, "IDENTIFY failed to read body size"],
  [Step.IdentifyBody]: [ErrorCode.BadBody, "IDENTIFY failed to read body"],
  [Step.AuthSize]: [ErrorCode.BadBody, "AUTH failed to read body size"],
  [Step.AuthBody]: [ErrorCode.BadBody, "AUTH failed to read body"],
  [Step.PubSize]: [ErrorCode.BadMessage, "PUB failed to read message body size"],
  [Step.PubBody]: [ErrorCode.BadMessage, "PUB failed to read message body"],
  [Step.DpubSize]: [ErrorCode.BadMessage, "DPUB failed to read message body size"],
  [Step.DpubBody]: [ErrorCode.BadMessage, "DPUB failed to read message body"],
  [Step.MpubSize]: [ErrorCode.BadBody, "MPUB failed to read body size"],
  [Step.MpubCount]: [ErrorCode.BadBody, "MPUB failed to read message count"],
  [Step.MpubMsgBody]: [ErrorCode.BadMessage, "MPUB failed to read message body"],
};

/** Handles one accepted TCP connection: the magic first, then the V2 protocol. */
export class ProtocolV2 implements SocketEvents, CommandSink {
  readonly #nsqd: Nsqd;
  readonly #conn: Conn;
  #client: ClientV2 | null = null;
  #parser: CommandParser;
  #magic: Uint8Array | null = new Uint8Array(4);
  #magicLen = 0;
  #step: Step = Step.None;
  #closed = false;
  /** The compression layer, once negotiated: received bytes go through it. */
  #compressed: SnappyConn | DeflateConn | null = null;
  /** Published bodies are copied into shared slabs (memory per queued message). */
  #arena = new BodyArena();
  /** The time of the read being handled: ms since the epoch, and ns as the int32 halves of an int64. */
  #readMs = 0;
  #readTsHi = 0;
  #readTsLo = 0;

  // The command being read.
  #topicName = "";
  #topic: Topic | null = null;
  #deferMs = 0;
  #mpubCount = 0;
  #mpubMessages: Message[] = [];

  constructor(nsqd: Nsqd, conn: Conn) {
    this.#nsqd = nsqd;
    this.#conn = conn;
    this.#parser = new CommandParser(this);
  }

  // ---- SocketEvents ----------------------------------------------------------------------------

  data(chunk: Uint8Array): void {
    if (this.#closed) return;
    if (this.#magic !== null) {
      const take = Math.min(4 - this.#magicLen, chunk.length);
      this.#magic.set(chunk.subarray(0, take), this.#magicLen);
      this.#magicLen += take;
      if (this.#magicLen < 4) return;
      if (!this.#acceptMagic()) return;
      chunk = chunk.subarray(take);
      if (chunk.length === 0) return;
    }
    this.#client!.touchRead();
    if (this.#compressed !== null) this.#compressed.receive(chunk);
    else this.#parse(chunk);
  }

  /** One clock reading for everything published while handling a read (or an auth answer). */
  #stampRead(): void {
    const ns = nowNs();
    this.#readMs = Math.floor(ns / 1e6);
    this.#readTsHi = tsHiOf(ns);
    this.#readTsLo = tsLoOf(ns);
  }

  /** Plain protocol bytes (after TLS and decompression) into the parser. */
  #parse(chunk: Uint8Array): void {
    if (this.#closed) return;
    this.#stampRead();
    this.#nsqd.beginRead();
    try {
      this.#parser.push(chunk);
    } finally {
      this.#nsqd.endRead();
    }
  }

  drain(): void {
    // The socket caught up: the client may take messages again.
    this.#client?.channel?.dispatch();
  }

  end(): void {
    if (this.#closed) return;
    const eofError = this.#step === Step.MpubMsgSize
      ? [ErrorCode.BadMessage, `MPUB failed to read message(${this.#mpubMessages.length}) body size`] as const
      : EOF_ERRORS[this.#step];
    if (eofError !== undefined && this.#client !== null) {
      this.#fail(new ClientError(eofError[0], eofError[1]));
      return;
    }
    this.#close();
  }

  close(): void {
    this.#closed = true;
    const client = this.#client;
    if (client === null) return;
    client.dispose();
    try {
      this.#nsqd.removeClient(client);
    } catch (err) {
      // Called from the platform's socket callbacks, where a throw would be lost (Bun) or stop the
      // process (an unhandled rejection on Deno): log it as the bug it is.
      this.#nsqd.logger.error(`[${client}] - internal error: ${(err as Error)?.stack ?? err}`);
    }
    this.#nsqd.logger.info(`PROTOCOL(V2): [${client}] exiting ioloop`);
  }

  // ---- CommandSink -----------------------------------------------------------------------------

  line(line: Uint8Array): void {
    try {
      this.#exec(splitParams(line));
    } catch (err) {
      this.#handleError(err);
    }
  }

  lineAt(buf: Uint8Array, start: number, end: number): void {
    // The hot command of a consumer: `FIN <16-byte id>` is handled without a view or splitting.
    if (
      end - start === 20 && buf[start] === 70 && buf[start + 1] === 73 && buf[start + 2] === 78 &&
      buf[start + 3] === 32 && this.#nsqd.options.tlsRequired === "false"
    ) {
      try {
        this.#finAt(buf, start + 4);
      } catch (err) {
        this.#handleError(err);
      }
      return;
    }
    this.line(buf.subarray(start, end));
  }

  size(n: number): void {
    try {
      this.#onSize(n);
    } catch (err) {
      this.#handleError(err);
    }
  }

  bytes(data: Uint8Array): void {
    try {
      this.#onBytes(data);
    } catch (err) {
      this.#handleError(err);
    }
  }

  bytesAt(buf: Uint8Array, start: number, end: number): void {
    // MPUB's message bodies, the hot path of publishing: copied into the arena without a view first.
    if (this.#step === Step.MpubMsgBody) {
      this.#step = Step.None;
      try {
        this.#mpubMessage(buf, start, end);
      } catch (err) {
        this.#handleError(err);
      }
      return;
    }
    this.bytes(buf.subarray(start, end));
  }

  lineTooLong(): void {
    // bufio.ErrBufferFull: upstream closes without an error frame.
    this.#nsqd.logger.error(`[${this.#client}] - failed to read command - bufio: buffer full`);
    this.#close();
  }

  // ---- connection ------------------------------------------------------------------------------

  #acceptMagic(): boolean {
    const magic = String.fromCharCode(...this.#magic!);
    this.#magic = null;
    if (magic !== MAGIC_V2) {
      this.#conn.write(encodeFrame(FrameType.Error, ErrorCode.BadProtocol));
      this.#conn.close();
      this.#closed = true;
      this.#nsqd.logger.error(
        `client(${this.#conn.remoteAddr.hostname}:${this.#conn.remoteAddr.port}) bad protocol magic '${magic}'`,
      );
      return false;
    }
    const client = this.#nsqd.addClient(this.#conn);
    client.onTimeout = () => this.#close();
    this.#client = client;
    this.#nsqd.logger.info(`CLIENT(${client}): desired protocol magic '${MAGIC_V2}'`);
    return true;
  }

  #handleError(err: unknown): void {
    if (err instanceof ClientError) {
      this.#fail(err);
      return;
    }
    // A bug, not the client's fault: keep the broker up, drop this connection.
    this.#nsqd.logger.error(`[${this.#client}] - internal error: ${(err as Error)?.stack ?? err}`);
    this.#parser.stop();
    this.#close();
  }

  #fail(err: ClientError): void {
    const client = this.#client!;
    const cause = err.cause instanceof Error ? ` - ${err.cause.message}` : "";
    this.#nsqd.logger.error(`[${client}] - ${err.wireText}${cause}`);
    client.sendError(err.wireText);
    if (err.fatal) {
      this.#parser.stop();
      client.flush();
      this.#close();
    }
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#parser.stop();
    this.#client?.flush();
    this.#conn.close();
  }

  // ---- commands --------------------------------------------------------------------------------

  #exec(params: Uint8Array[]): void {
    const name = ascii(params[0]);
    if (name === "IDENTIFY") return this.#identify();
    this.#enforceTlsPolicy(name);
    switch (name) {
      case "FIN":
        return this.#fin(params);
      case "RDY":
        return this.#rdy(params);
      case "REQ":
        return this.#req(params);
      case "PUB":
        return this.#pub(params);
      case "MPUB":
        return this.#mpub(params);
      case "DPUB":
        return this.#dpub(params);
      case "NOP":
        return;
      case "TOUCH":
        return this.#touch(params);
      case "SUB":
        return this.#sub(params);
      case "CLS":
        return this.#cls();
      case "AUTH":
        return this.#auth(params);
    }
    throw new ClientError(ErrorCode.Invalid, `invalid command ${goBytesString(params[0])}`);
  }

  #enforceTlsPolicy(name: string): void {
    if (this.#nsqd.options.tlsRequired !== "false" && this.#client!.tls === null) {
      throw new ClientError(ErrorCode.Invalid, `cannot ${name} in current state (TLS required)`);
    }
  }

  #identify(): void {
    if (this.#client!.state !== ClientState.Init) {
      throw new ClientError(ErrorCode.Invalid, "cannot IDENTIFY in current state");
    }
    this.#expectSize(Step.IdentifySize);
  }

  #auth(params: Uint8Array[]): void {
    if (this.#client!.state !== ClientState.Init) {
      throw new ClientError(ErrorCode.Invalid, "cannot AUTH in current state");
    }
    if (params.length !== 1) throw new ClientError(ErrorCode.Invalid, "AUTH invalid number of parameters");
    this.#expectSize(Step.AuthSize);
  }

  #sub(params: Uint8Array[]): void {
    const client = this.#client!;
    if (client.state !== ClientState.Init) {
      throw new ClientError(ErrorCode.Invalid, "cannot SUB in current state");
    }
    if (client.heartbeatInterval <= 0) {
      throw new ClientError(ErrorCode.Invalid, "cannot SUB with heartbeats disabled");
    }
    if (params.length < 3) throw new ClientError(ErrorCode.Invalid, "SUB insufficient number of parameters");
    const topicName = goBytesString(params[1]);
    if (!isValidTopicName(topicName)) {
      throw new ClientError(ErrorCode.BadTopic, `SUB topic name ${goQuote(params[1])} is not valid`);
    }
    const channelName = goBytesString(params[2]);
    if (!isValidChannelName(channelName)) {
      throw new ClientError(ErrorCode.BadChannel, `SUB channel name ${goQuote(params[2])} is not valid`);
    }
    this.#checkAuth("SUB", topicName, channelName, () => {
      let channel;
      try {
        // While draining, a new topic or channel is refused: `SUB failed draining`.
        channel = this.#nsqd.getTopic(topicName).getChannel(channelName);
        channel.addClient(client);
      } catch (err) {
        throw new ClientError(ErrorCode.SubFailed, `SUB failed ${(err as Error).message}`, { cause: err });
      }
      client.state = ClientState.Subscribed;
      client.channel = channel;
      client.sendResponse(OK);
    });
  }

  #rdy(params: Uint8Array[]): void {
    const client = this.#client!;
    if (client.state === ClientState.Closing) {
      // Just ignore ready changes on a closing channel.
      this.#nsqd.logger.info(
        `PROTOCOL(V2): [${client}] ignoring RDY after CLS in state ClientStateV2Closing`,
      );
      return;
    }
    if (client.state !== ClientState.Subscribed) {
      throw new ClientError(ErrorCode.Invalid, "cannot RDY in current state");
    }
    let count = 1;
    if (params.length > 1) {
      count = byteToBase10(params[1]);
      if (count < 0) {
        throw new ClientError(ErrorCode.Invalid, `RDY could not parse count ${goBytesString(params[1])}`);
      }
    }
    const max = this.#nsqd.options.maxRdyCount;
    if (count > max) {
      // Fatal, otherwise clients would have inconsistent state.
      throw new ClientError(ErrorCode.Invalid, `RDY count ${count} out of range 0-${max}`);
    }
    client.readyCount = count;
    this.#readyStateChanged();
  }

  #fin(params: Uint8Array[]): void {
    this.#requireSubscribedOrClosing("FIN");
    if (params.length < 2) throw new ClientError(ErrorCode.Invalid, "FIN insufficient number of params");
    this.#finishMessage(messageId(params[1]));
  }

  /** FIN of a well-formed `FIN <id>` line, the ID read in place: the state check, then the finish. */
  #finAt(buf: Uint8Array, off: number): void {
    this.#requireSubscribedOrClosing("FIN");
    const client = this.#client!;
    try {
      client.channel!.finishMessageAt(client.id, buf, off);
    } catch (err) {
      const id = messageIdFromBytes(buf, off);
      throw new NonFatalClientError(ErrorCode.FinFailed, `FIN ${id} failed ${(err as Error).message}`);
    }
    client.finishedMessage();
    this.#readyStateChanged();
  }

  #finishMessage(id: string): void {
    const client = this.#client!;
    try {
      client.channel!.finishMessage(client.id, id);
    } catch (err) {
      throw new NonFatalClientError(ErrorCode.FinFailed, `FIN ${id} failed ${(err as Error).message}`);
    }
    client.finishedMessage();
    this.#readyStateChanged();
  }

  #req(params: Uint8Array[]): void {
    const client = this.#client!;
    this.#requireSubscribedOrClosing("REQ");
    if (params.length < 3) throw new ClientError(ErrorCode.Invalid, "REQ insufficient number of params");
    const id = messageId(params[1]);
    let timeoutMs = byteToBase10(params[2]);
    if (timeoutMs < 0) {
      throw new ClientError(ErrorCode.Invalid, `REQ could not parse timeout ${goBytesString(params[2])}`);
    }
    const max = this.#nsqd.options.maxReqTimeout;
    if (timeoutMs > max) {
      this.#nsqd.logger.info(
        `[${client}] REQ timeout ${timeoutMs * 1e6} out of range 0-${max * 1e6}. Setting to ${max * 1e6}`,
      );
      timeoutMs = max;
    }
    try {
      client.channel!.requeueMessage(client.id, id, timeoutMs);
    } catch (err) {
      throw new NonFatalClientError(ErrorCode.ReqFailed, `REQ ${id} failed ${(err as Error).message}`);
    }
    client.requeuedMessage();
    this.#readyStateChanged();
  }

  #touch(params: Uint8Array[]): void {
    const client = this.#client!;
    this.#requireSubscribedOrClosing("TOUCH");
    if (params.length < 2) throw new ClientError(ErrorCode.Invalid, "TOUCH insufficient number of params");
    const id = messageId(params[1]);
    try {
      client.channel!.touchMessage(client.id, id, client.msgTimeout);
    } catch (err) {
      throw new NonFatalClientError(ErrorCode.TouchFailed, `TOUCH ${id} failed ${(err as Error).message}`);
    }
  }

  #cls(): void {
    const client = this.#client!;
    if (client.state !== ClientState.Subscribed) {
      throw new ClientError(ErrorCode.Invalid, "cannot CLS in current state");
    }
    client.startClose();
    client.sendResponse(CLOSE_WAIT);
  }

  #pub(params: Uint8Array[]): void {
    if (params.length < 2) throw new ClientError(ErrorCode.Invalid, "PUB insufficient number of parameters");
    this.#topicName = validTopic(params[1], "PUB");
    this.#expectSize(Step.PubSize);
  }

  #dpub(params: Uint8Array[]): void {
    if (params.length < 3) throw new ClientError(ErrorCode.Invalid, "DPUB insufficient number of parameters");
    this.#topicName = validTopic(params[1], "DPUB");
    const timeoutMs = byteToBase10(params[2]);
    if (timeoutMs < 0) {
      throw new ClientError(ErrorCode.Invalid, `DPUB could not parse timeout ${goBytesString(params[2])}`);
    }
    const max = this.#nsqd.options.maxReqTimeout;
    if (timeoutMs > max) {
      throw new ClientError(ErrorCode.Invalid, `DPUB timeout ${timeoutMs} out of range 0-${max}`);
    }
    this.#deferMs = timeoutMs;
    this.#expectSize(Step.DpubSize);
  }

  #mpub(params: Uint8Array[]): void {
    if (params.length < 2) throw new ClientError(ErrorCode.Invalid, "MPUB insufficient number of parameters");
    const name = goBytesString(params[1]);
    if (!isValidTopicName(name)) {
      throw new ClientError(
        ErrorCode.BadTopic,
        `E_BAD_TOPIC MPUB topic name ${goQuote(params[1])} is not valid`,
      );
    }
    // Auth is checked before the body (shared/nsq-reference.md §1.7).
    this.#checkAuth("MPUB", name, "", () => {
      // Upstream gets (so creates) the topic before reading the body.
      try {
        this.#topic = this.#nsqd.getTopic(name);
      } catch (err) {
        throw new ClientError(ErrorCode.MpubFailed, `MPUB failed ${(err as Error).message}`, { cause: err });
      }
      this.#topicName = name;
      this.#expectSize(Step.MpubSize);
    });
  }

  // ---- bodies ----------------------------------------------------------------------------------

  #expectSize(step: Step): void {
    this.#step = step;
    this.#parser.expectSize();
  }

  #expectBytes(step: Step, n: number): void {
    this.#step = step;
    this.#parser.expectBytes(n);
  }

  #onSize(n: number): void {
    const o = this.#nsqd.options;
    switch (this.#step) {
      case Step.IdentifySize:
      case Step.AuthSize: {
        const cmd = this.#step === Step.IdentifySize ? "IDENTIFY" : "AUTH";
        if (n > o.maxBodySize) {
          throw new ClientError(ErrorCode.BadBody, `${cmd} body too big ${n} > ${o.maxBodySize}`);
        }
        if (n <= 0) throw new ClientError(ErrorCode.BadBody, `${cmd} invalid body size ${n}`);
        return this.#expectBytes(this.#step === Step.IdentifySize ? Step.IdentifyBody : Step.AuthBody, n);
      }
      case Step.PubSize:
      case Step.DpubSize: {
        const cmd = this.#step === Step.PubSize ? "PUB" : "DPUB";
        if (n <= 0) throw new ClientError(ErrorCode.BadMessage, `${cmd} invalid message body size ${n}`);
        if (n > o.maxMsgSize) {
          throw new ClientError(ErrorCode.BadMessage, `${cmd} message too big ${n} > ${o.maxMsgSize}`);
        }
        return this.#expectBytes(this.#step === Step.PubSize ? Step.PubBody : Step.DpubBody, n);
      }
      case Step.MpubSize:
        if (n <= 0) throw new ClientError(ErrorCode.BadBody, `MPUB invalid body size ${n}`);
        if (n > o.maxBodySize) {
          throw new ClientError(ErrorCode.BadBody, `MPUB body too big ${n} > ${o.maxBodySize}`);
        }
        return this.#expectSize(Step.MpubCount);
      case Step.MpubCount: {
        // 4 == total num, 5 == length + min 1
        const maxMessages = Math.floor((o.maxBodySize - 4) / 5);
        if (n <= 0 || n > maxMessages) {
          throw new ClientError(ErrorCode.BadBody, `MPUB invalid message count ${n}`);
        }
        this.#mpubCount = n;
        this.#mpubMessages = [];
        return this.#expectSize(Step.MpubMsgSize);
      }
      case Step.MpubMsgSize: {
        const i = this.#mpubMessages.length;
        if (n <= 0) throw new ClientError(ErrorCode.BadMessage, `MPUB invalid message(${i}) body size ${n}`);
        if (n > o.maxMsgSize) {
          throw new ClientError(ErrorCode.BadMessage, `MPUB message too big ${n} > ${o.maxMsgSize}`);
        }
        return this.#expectBytes(Step.MpubMsgBody, n);
      }
    }
  }

  #onBytes(data: Uint8Array): void {
    const step = this.#step;
    this.#step = Step.None;
    switch (step) {
      case Step.IdentifyBody:
        return this.#identifyBody(data);
      case Step.AuthBody:
        return this.#authBody(data);
      case Step.PubBody:
      case Step.DpubBody:
        return this.#publishOne(data, step === Step.PubBody ? "PUB" : "DPUB");
      case Step.MpubMsgBody:
        return this.#mpubMessage(data, 0, data.length);
    }
  }

  /** One MPUB message body, `buf[start..end)`; the last one publishes the batch. */
  #mpubMessage(buf: Uint8Array, start: number, end: number): void {
    const topic = this.#topic!;
    // One clock reading per read: messages of one MPUB share a publish time (ns apart upstream).
    this.#mpubMessages.push(
      this.#arena.message(topic.guid, this.#readMs, buf, start, end, this.#readTsHi, this.#readTsLo),
    );
    if (this.#mpubMessages.length < this.#mpubCount) return this.#expectSize(Step.MpubMsgSize);
    const msgs = this.#mpubMessages;
    this.#mpubMessages = [];
    this.#topic = null;
    try {
      topic.putMessages(msgs);
    } catch (err) {
      throw new ClientError(ErrorCode.MpubFailed, `MPUB failed ${(err as Error).message}`, { cause: err });
    }
    this.#countPublished(this.#topicName, msgs.length);
    this.#client!.sendResponse(OK);
  }

  #publishOne(data: Uint8Array, cmd: "PUB" | "DPUB"): void {
    // The body is read before the auth check (upstream), and kept: the check may wait for the auth
    // server. Its ID (written in front of it) is made once the topic is known.
    const n = data.length;
    const at = this.#arena.alloc(MSG_ID_LENGTH + n);
    const buf = this.#arena.buf;
    buf.set(data, at + MSG_ID_LENGTH);
    const topicName = this.#topicName;
    const deferMs = this.#deferMs;
    this.#checkAuth(cmd, topicName, "", () => {
      try {
        // While draining, getTopic (of a new topic) and putMessage refuse: `PUB failed draining`.
        const topic = this.#nsqd.getTopic(topicName);
        topic.guid.writeNext(this.#readMs, buf, at);
        const msg = makeMessage(buf, at, n, this.#readTsHi, this.#readTsLo);
        if (cmd === "DPUB") msg.deferMs = smallInt(deferMs);
        topic.putMessage(msg);
      } catch (err) {
        const code = cmd === "PUB" ? ErrorCode.PubFailed : ErrorCode.DpubFailed;
        throw new ClientError(code, `${cmd} failed ${(err as Error).message}`, { cause: err });
      }
      this.#countPublished(topicName, 1);
      this.#client!.sendResponse(OK);
    });
  }

  #identifyBody(body: Uint8Array): void {
    const client = this.#client!;
    const o = this.#nsqd.options;
    let data: IdentifyData;
    try {
      data = decodeIdentify(body);
    } catch (err) {
      throw new ClientError(ErrorCode.BadBody, "IDENTIFY failed to decode JSON body", { cause: err });
    }
    this.#nsqd.logger.info(`[${client}] IDENTIFY: ${JSON.stringify(data)}`);
    client.clientId = data.clientId;
    client.hostname = data.hostname;
    client.userAgent = data.userAgent;

    let heartbeatInterval = client.heartbeatInterval;
    const hb = data.heartbeatInterval;
    if (hb === -1) heartbeatInterval = 0;
    else if (hb === 0) { /* keep the default */ }
    else if (hb >= 1000 && hb <= o.maxHeartbeatInterval) heartbeatInterval = hb;
    else throw identifyError(`heartbeat interval (${hb}) is invalid`);

    let outputBufferTimeout = client.outputBufferTimeout;
    let outputBufferSize = client.outputBufferSize;
    const obt = data.outputBufferTimeout;
    if (obt === -1) outputBufferTimeout = 0;
    else if (obt === 0) { /* keep the default */ }
    else if (obt >= o.minOutputBufferTimeout && obt <= o.maxOutputBufferTimeout) outputBufferTimeout = obt;
    else throw identifyError(`output buffer timeout (${obt}) is invalid`);
    const obs = data.outputBufferSize;
    if (obs === -1) {
      // Effectively no buffer: every write goes straight to the socket.
      outputBufferSize = 1;
      outputBufferTimeout = 0;
    } else if (obs === 0) { /* keep the default */ }
    else if (obs >= 64 && obs <= o.maxOutputBufferSize) outputBufferSize = obs;
    else throw identifyError(`output buffer size (${obs}) is invalid`);

    const sampleRate = data.sampleRate;
    if (sampleRate < 0 || sampleRate > 99) throw identifyError(`sample rate (${sampleRate}) is invalid`);

    let msgTimeout = client.msgTimeout;
    const mt = data.msgTimeout;
    if (mt === 0) { /* keep the default */ }
    else if (mt >= 1000 && mt <= o.maxMsgTimeout) msgTimeout = mt;
    else throw identifyError(`msg timeout (${mt}) is invalid`);

    client.applyIdentify({
      heartbeatInterval,
      outputBufferSize,
      outputBufferTimeout,
      sampleRate,
      msgTimeout,
    });

    if (!data.featureNegotiation) {
      client.sendResponse(OK);
      return;
    }
    const tlsConfig = this.#nsqd.tlsConfig;
    const tlsV1 = tlsConfig !== null && data.tlsV1;
    const deflate = o.deflate && data.deflate;
    const snappy = o.snappy && data.snappy;
    let deflateLevel = 6;
    if (deflate && data.deflateLevel > 0) deflateLevel = data.deflateLevel;
    if (o.maxDeflateLevel < deflateLevel) deflateLevel = o.maxDeflateLevel;
    if (deflate && snappy) {
      throw new ClientError(ErrorCode.IdentifyFailed, "cannot enable both deflate and snappy compression");
    }
    const resp = JSON.stringify({
      max_rdy_count: o.maxRdyCount,
      version: this.#nsqd.version,
      max_msg_timeout: o.maxMsgTimeout,
      msg_timeout: client.msgTimeout,
      tls_v1: tlsV1,
      deflate,
      deflate_level: deflateLevel,
      max_deflate_level: o.maxDeflateLevel,
      snappy,
      sample_rate: client.sampleRate,
      auth_required: this.#nsqd.authEnabled,
      output_buffer_size: client.outputBufferSize,
      output_buffer_timeout: client.outputBufferTimeout,
      topology_region: o.topologyRegion,
      topology_zone: o.topologyZone,
    });
    client.sendResponse(encoder.encode(resp));
    if (!tlsV1 && !snappy && !deflate) return;

    // The upgrades, in upstream's order: TLS, then Snappy or Deflate, each acknowledged by an OK sent
    // through the new layer. The JSON reply goes out in plain text first; whatever followed it in this
    // read belongs to the new layer (a client waits for the reply first, so there is nothing).
    client.flush();
    this.#parser.stop();
    this.#parser = new CommandParser(this);
    this.#upgrade(tlsV1 ? tlsConfig : null, snappy, deflate ? deflateLevel : 0);
  }

  async #upgrade(tls: TlsServerConfig | null, snappy: boolean, deflateLevel: number): Promise<void> {
    const client = this.#client!;
    const log = this.#nsqd.logger;
    try {
      if (tls !== null) {
        log.info(`PROTOCOL(V2): [${client}] upgrading connection to TLS`);
        if (this.#conn.upgradeTls === undefined) throw new Error("TLS not supported on this connection");
        client.tls = await this.#conn.upgradeTls(tls).catch((err: Error) => {
          const min = this.#nsqd.options.tlsMinVersion;
          throw new Error(`TLS handshake failed (--tls-min-version=${min}) - ${err.message}`);
        });
        if (this.#closed) return;
        client.sendResponse(OK);
        client.flush();
      }
      const sink = {
        data: (plain: Uint8Array) => this.#parse(plain),
        error: (err: Error) => {
          log.error(`[${client}] - failed to read command - ${err.message}`);
          this.#close();
        },
      };
      if (snappy) {
        log.info(`PROTOCOL(V2): [${client}] upgrading connection to snappy`);
        const wrapped = new SnappyConn(this.#conn, sink);
        this.#compressed = wrapped;
        client.conn = wrapped;
        client.snappy = true;
        client.sendResponse(OK);
        client.flush();
      }
      if (deflateLevel > 0) {
        log.info(`PROTOCOL(V2): [${client}] upgrading connection to deflate`);
        const wrapped = new DeflateConn(this.#conn, deflateLevel, sink);
        this.#compressed = wrapped;
        client.conn = wrapped;
        client.deflate = true;
        client.sendResponse(OK);
        client.flush();
      }
    } catch (err) {
      // The stream is in an unknown state (a failed handshake): upstream's error frame cannot reach the
      // client either. Log it and close.
      log.error(`[${client}] - E_IDENTIFY_FAILED IDENTIFY failed ${(err as Error).message}`);
      this.#closed = true;
      this.#parser.stop();
      this.#conn.destroy();
    }
  }

  // ---- helpers ---------------------------------------------------------------------------------

  #requireSubscribedOrClosing(cmd: string): void {
    const state = this.#client!.state;
    if (state !== ClientState.Subscribed && state !== ClientState.Closing) {
      throw new ClientError(ErrorCode.Invalid, `cannot ${cmd} in current state`);
    }
  }

  /** AUTH's body: the secret, sent to the auth server (shared/nsq-reference.md §3.12). */
  #authBody(body: Uint8Array): void {
    const client = this.#client!;
    if (client.auth?.hasAuthorizations) throw new ClientError(ErrorCode.Invalid, "AUTH already set");
    if (!this.#nsqd.authEnabled) throw new ClientError(ErrorCode.AuthDisabled, "AUTH disabled");
    const secret = body.slice();
    client.authSecret = secret;
    this.#whileWaiting(this.#queryAuth(secret), (state) => {
      client.auth = state;
      if (!state.hasAuthorizations) {
        throw new ClientError(ErrorCode.Unauthorized, "AUTH no authorizations found");
      }
      client.sendResponse(encoder.encode(authResponseJson(state)));
    });
  }

  #queryAuth(secret: Uint8Array): Promise<AuthState> {
    const client = this.#client!;
    const o = this.#nsqd.options;
    return queryAuthd({
      addresses: o.authHttpAddresses,
      method: o.authHttpRequestMethod === "post" ? "post" : "get",
      connectTimeoutMs: o.httpClientConnectTimeout,
      requestTimeoutMs: o.httpClientRequestTimeout,
    }, {
      remoteIp: client.conn.remoteAddr.hostname,
      tls: client.tls !== null,
      secret,
      commonName: client.tls?.peerCommonName ?? "",
    }).catch((err) => {
      // Errors talking to the auth server are logged, never shown to the (untrusted) client.
      this.#nsqd.logger.warn(`PROTOCOL(V2): [${client}] AUTH failed ${(err as Error).message}`);
      throw new ClientError(ErrorCode.AuthFailed, "AUTH failed", { cause: err });
    });
  }

  /**
   * upstream's CheckAuth, then `then`: with auth enabled the client must have authorizations that allow
   * `cmd` on topic/channel (`""` channel = publish); expired ones are re-queried first, which pauses
   * the connection's parser until the auth server answers.
   */
  #checkAuth(cmd: string, topic: string, channel: string, then: () => void): void {
    if (!this.#nsqd.authEnabled) return then();
    const client = this.#client!;
    const auth = client.auth;
    if (!auth?.hasAuthorizations) throw new ClientError(ErrorCode.AuthFirst, `AUTH required before ${cmd}`);
    const authorize = (state: AuthState) => {
      if (!state.isAllowed(topic, channel, channel === "" ? "publish" : "subscribe")) {
        throw new ClientError(
          ErrorCode.Unauthorized,
          `AUTH failed for ${cmd} on ${goQuote(encoder.encode(topic))} ${goQuote(encoder.encode(channel))}`,
        );
      }
      then();
    };
    if (!auth.isExpired()) return authorize(auth);
    this.#whileWaiting(this.#queryAuth(client.authSecret ?? new Uint8Array(0)), (state) => {
      client.auth = state;
      authorize(state);
    });
  }

  /** Holds the parser until `work` settles, then runs `then` (errors become error frames as usual). */
  #whileWaiting<T>(work: Promise<T>, then: (value: T) => void): void {
    this.#parser.pause();
    work.then((value) => {
      if (this.#closed) return;
      this.#stampRead();
      this.#nsqd.beginRead();
      try {
        then(value);
      } finally {
        this.#nsqd.endRead();
      }
    }).catch((err) => {
      if (!this.#closed) this.#handleError(err);
    }).finally(() => {
      if (!this.#closed) this.#resumeParser();
    });
  }

  #resumeParser(): void {
    this.#stampRead();
    this.#nsqd.beginRead();
    try {
      this.#parser.resume();
    } finally {
      this.#nsqd.endRead();
    }
  }

  #countPublished(topic: string, n: number): void {
    const counts = this.#client!.pubCounts;
    counts.set(topic, (counts.get(topic) ?? 0) + n);
  }

  /** RDY changed or an in-flight slot freed: deliver more, or flush what waits if no longer ready. */
  #readyStateChanged(): void {
    const client = this.#client!;
    if (client.isReadyForMessages()) client.channel?.dispatch();
    else client.flushMessages();
  }
}

function identifyError(text: string): ClientError {
  return new ClientError(ErrorCode.BadBody, `IDENTIFY ${text}`);
}

function validTopic(param: Uint8Array, cmd: string): string {
  const name = goBytesString(param);
  if (!isValidTopicName(name)) {
    throw new ClientError(ErrorCode.BadTopic, `${cmd} topic name ${goQuote(param)} is not valid`);
  }
  return name;
}

function messageId(param: Uint8Array): string {
  if (param.length !== MSG_ID_LENGTH) throw new ClientError(ErrorCode.Invalid, "invalid message ID");
  return messageIdFromBytes(param);
}

/** `bytes.Split(line, " ")`: double spaces make empty params. */
function splitParams(line: Uint8Array): Uint8Array[] {
  const params: Uint8Array[] = [];
  let start = 0;
  for (;;) {
    const sp = line.indexOf(32, start);
    if (sp < 0) {
      params.push(line.subarray(start));
      return params;
    }
    params.push(line.subarray(start, sp));
    start = sp + 1;
  }
}

/** A short ASCII token as a string (command names). */
function ascii(b: Uint8Array): string {
  if (b.length > 8) return goBytesString(b);
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return s;
}
