/**
 * The NSQ message and its binary encoding (nsq `nsqd/message.go`, shared/nsq-reference.md §1.4):
 * `[8-byte BE int64 timestamp ns][2-byte BE uint16 attempts][16-byte ASCII id][body]`.
 */

/** Length of a message ID on the wire. */
export const MSG_ID_LENGTH = 16;
/** Header bytes before the body: timestamp + attempts + id. */
export const MESSAGE_HEADER_LENGTH = 8 + 2 + MSG_ID_LENGTH;

import { copyBytes } from "./bytes.ts";

const TWO_32 = 4294967296;

/**
 * A message and the broker's bookkeeping for it. One object per message per channel.
 *
 * The ID and the body are bytes in a shared buffer, `data[off..off+16)` then `len` bytes of body,
 * never mutated, shared by the copies a topic makes for its channels: a published message costs
 * this one object and its bytes in a slab (no string for the ID, no view for the body), and it goes
 * to the wire with one copy of ID and body together.
 *
 * A plain object made by `makeMessage()` (one object literal, not a class): V8 tracks the survival
 * of objects made at a literal and, when a queue keeps them, allocates them straight in the old
 * generation; a class instance is copied by every young-generation GC first (twice the cost of
 * publishing into a deep queue, measured).
 */
export interface Message {
  /** Holds the 16 ID bytes at `off`, then the body. */
  readonly data: Uint8Array;
  readonly off: number;
  /** Body length in bytes. */
  readonly len: number;
  /**
   * Publish time, nanoseconds since the Unix epoch, as the two 32-bit halves of the int64 on the
   * wire, so a timestamp read from disk (written by upstream nsqd) is written back bit for bit.
   * Both are kept as signed int32 (`| 0`): every numeric field of a message stays a small integer,
   * so V8 never stores one as a boxed double (see `pri`).
   */
  readonly tsHi: number;
  readonly tsLo: number;
  /** Deliveries so far; incremented just before each delivery. */
  attempts: number;
  /** Deferral asked for at publish (DPUB, `/pub?defer`), in ms; 0 for none. */
  deferMs: number;
  /** The client it is in flight to. */
  clientId: number;
  /** When it was last delivered (`monoMs()`), for TOUCH's cap. */
  deliveryTs: number;
  /**
   * Priority in the in-flight or deferred queue: a deadline in `monoMs()` (ms since the process
   * started, not since the epoch: an integer that fits a V8 small integer, where a Date.now()
   * deadline would make the field a boxed double, and turning the field into a double after a
   * million messages were queued costs V8 a slow migration of every one of them).
   */
  pri: number;
  /** Position in that queue's heap, -1 when in none. */
  index: number;
  /** Hash of the ID for the in-flight index, -1 until computed. */
  idKey: number;
}

/** A message whose ID and body are `data[off..off+16+len)`, published at `tsHi:tsLo` (int32 halves). */
export function makeMessage(
  data: Uint8Array,
  off: number,
  len: number,
  tsHi: number,
  tsLo: number,
  attempts = 0,
  deferMs = 0,
): Message {
  return {
    data,
    off,
    len,
    tsHi: tsHi | 0,
    tsLo: tsLo | 0,
    attempts,
    deferMs,
    clientId: 0,
    deliveryTs: 0,
    pri: 0,
    index: -1,
    idKey: -1,
  };
}

/**
 * `makeMessage()` for messages that live only while in flight: those a memory queue hands out (it keeps them
 * packed, see `MessageQueue`) and those read back from a disk queue. Its own object literal: V8 decides per
 * literal whether to allocate straight in the old generation, and these must stay young whatever the
 * workload does with the objects made at `makeMessage()` (deferred messages, kept for long, are made there).
 */
export function makeDeliveryMessage(
  data: Uint8Array,
  off: number,
  len: number,
  tsHi: number,
  tsLo: number,
  attempts: number,
): Message {
  return {
    data,
    off,
    len,
    tsHi,
    tsLo,
    attempts,
    deferMs: 0,
    clientId: 0,
    deliveryTs: 0,
    pri: 0,
    index: -1,
    idKey: -1,
  };
}

/**
 * A message from an ID string and a body (copied), published at `timestamp` (ns since the epoch;
 * a double, exact to ~256 ns). For tests and cold paths; the broker writes IDs into slabs itself.
 */
export function createMessage(id: string, body: Uint8Array, timestamp: number, attempts = 0): Message {
  const data = new Uint8Array(MSG_ID_LENGTH + body.length);
  for (let i = 0; i < MSG_ID_LENGTH; i++) data[i] = id.charCodeAt(i);
  data.set(body, MSG_ID_LENGTH);
  return makeMessage(data, 0, body.length, tsHiOf(timestamp), tsLoOf(timestamp), attempts);
}

/** A copy for another channel: same ID, body, timestamp, attempts and deferral. */
export function copyMessage(m: Message): Message {
  return makeMessage(m.data, m.off, m.len, m.tsHi, m.tsLo, m.attempts, m.deferMs);
}

/** The ID as 16 characters (lowercase hex for IDs made here); made on each call. */
export function messageId(m: Message): string {
  return messageIdFromBytes(m.data, m.off);
}

/** A view of the body. */
export function messageBody(m: Message): Uint8Array {
  const start = m.off + MSG_ID_LENGTH;
  return m.data.subarray(start, start + m.len);
}

/** Publish time in ns since the epoch, as a double (for latency arithmetic). */
export function messageTimestamp(m: Message): number {
  return m.tsHi * TWO_32 + (m.tsLo >>> 0);
}

/** Whether the message's ID is the 16 bytes at `buf[off]`. */
export function idEquals(m: Message, buf: Uint8Array, off: number): boolean {
  const d = m.data;
  const o = m.off;
  for (let i = 0; i < MSG_ID_LENGTH; i++) if (d[o + i] !== buf[off + i]) return false;
  return true;
}

/** Whether the message's ID is `id` (each character one byte, as Go compares raw bytes). */
export function idEqualsString(m: Message, id: string): boolean {
  if (id.length !== MSG_ID_LENGTH) return false;
  const d = m.data;
  const o = m.off;
  for (let i = 0; i < MSG_ID_LENGTH; i++) if (d[o + i] !== id.charCodeAt(i)) return false;
  return true;
}

/** The high int32 half of a timestamp in ns since the epoch. */
export function tsHiOf(timestamp: number): number {
  return Math.floor(timestamp / TWO_32) | 0;
}

/** The low 32 bits of a timestamp in ns since the epoch, as an int32. */
export function tsLoOf(timestamp: number): number {
  return (timestamp - Math.floor(timestamp / TWO_32) * TWO_32) | 0;
}

/** Writes the §1.4 encoding of `msg` at `off`; `out` must have room. Returns the bytes written. */
export function encodeMessageInto(msg: Message, out: Uint8Array, off: number): number {
  writeUint32(out, off, msg.tsHi);
  writeUint32(out, off + 4, msg.tsLo);
  out[off + 8] = (msg.attempts >>> 8) & 0xff;
  out[off + 9] = msg.attempts & 0xff;
  // ID and body are contiguous: one copy.
  copyBytes(msg.data, msg.off, msg.off + MSG_ID_LENGTH + msg.len, out, off + 10);
  return MESSAGE_HEADER_LENGTH + msg.len;
}

/** The §1.4 encoding of `msg` as a new array. */
export function encodeMessage(msg: Message): Uint8Array {
  const out = new Uint8Array(MESSAGE_HEADER_LENGTH + msg.len);
  encodeMessageInto(msg, out, 0);
  return out;
}

/** Decodes the §1.4 encoding; ID and body are copied. Throws a RangeError below 26 bytes. */
export function decodeMessage(bytes: Uint8Array): Message {
  if (bytes.length < MESSAGE_HEADER_LENGTH) {
    throw new RangeError(`invalid message buffer size (${bytes.length})`);
  }
  const attempts = (bytes[8] << 8) | bytes[9];
  return makeMessage(
    bytes.slice(10),
    0,
    bytes.length - MESSAGE_HEADER_LENGTH,
    readInt32(bytes, 0),
    readInt32(bytes, 4),
    attempts,
  );
}

/** A message ID from its 16 wire bytes (each byte one character, as Go compares raw bytes). */
export function messageIdFromBytes(b: Uint8Array, off = 0): string {
  return String.fromCharCode(
    b[off],
    b[off + 1],
    b[off + 2],
    b[off + 3],
    b[off + 4],
    b[off + 5],
    b[off + 6],
    b[off + 7],
    b[off + 8],
    b[off + 9],
    b[off + 10],
    b[off + 11],
    b[off + 12],
    b[off + 13],
    b[off + 14],
    b[off + 15],
  );
}

/** Current time in nanoseconds since the epoch, as precise as the runtime's clock allows. */
export function nowNs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1e6);
}

export function writeUint32(out: Uint8Array, off: number, v: number): void {
  out[off] = v >>> 24;
  out[off + 1] = (v >>> 16) & 0xff;
  out[off + 2] = (v >>> 8) & 0xff;
  out[off + 3] = v & 0xff;
}

export function readUint32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3]) >>> 0;
}

/** A big-endian int32 (sizes on the wire are signed in nsqd: `int32(binary.BigEndian.Uint32(…))`). */
export function readInt32(b: Uint8Array, off: number): number {
  return (b[off] << 24) | (b[off + 1] << 16) | (b[off + 2] << 8) | b[off + 3];
}
