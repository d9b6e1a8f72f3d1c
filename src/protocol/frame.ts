/**
 * Server → client frames (shared/nsq-reference.md §1.3): `[4-byte BE size][4-byte BE type][data]`
 * where size counts the type and the data.
 */
import { encodeMessageInto, Message, MESSAGE_HEADER_LENGTH, writeUint32 } from "./message.ts";

export const FrameType = { Response: 0, Error: 1, Message: 2 } as const;
export type FrameType = typeof FrameType[keyof typeof FrameType];

const encoder = new TextEncoder();

/**
 * A growable byte buffer that frames are appended to; the owner hands `bytes()` to the socket and
 * then `reset()`s it. One per connection, reused for the life of the connection.
 */
export class FrameBuffer {
  #buf: Uint8Array;
  #len = 0;

  constructor(initialSize = 16 * 1024) {
    this.#buf = new Uint8Array(initialSize);
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.#len;
  }

  /** A view of the buffered bytes, valid until the next write or reset. */
  bytes(): Uint8Array {
    return this.#buf.subarray(0, this.#len);
  }

  reset(): void {
    this.#len = 0;
  }

  /** Appends a response (type 0) or error (type 1) frame carrying `data`. */
  writeFrame(type: FrameType, data: Uint8Array): void {
    const off = this.#reserve(8 + data.length);
    writeUint32(this.#buf, off, 4 + data.length);
    writeUint32(this.#buf, off + 4, type);
    this.#buf.set(data, off + 8);
  }

  /** Appends a frame whose data is `text` (UTF-8). */
  writeTextFrame(type: FrameType, text: string): void {
    this.writeFrame(type, encoder.encode(text));
  }

  /** Appends a message frame (type 2). */
  writeMessage(msg: Message): void {
    const size = 4 + MESSAGE_HEADER_LENGTH + msg.len;
    const off = this.#reserve(4 + size);
    writeUint32(this.#buf, off, size);
    writeUint32(this.#buf, off + 4, FrameType.Message);
    encodeMessageInto(msg, this.#buf, off + 8);
  }

  #reserve(n: number): number {
    const off = this.#len;
    const need = off + n;
    if (need > this.#buf.length) {
      let cap = this.#buf.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#buf.subarray(0, off));
      this.#buf = next;
    }
    this.#len = need;
    return off;
  }
}

/** One frame as a new array (for rare frames and for tests). */
export function encodeFrame(type: FrameType, data: Uint8Array | string): Uint8Array {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const out = new Uint8Array(8 + bytes.length);
  writeUint32(out, 0, 4 + bytes.length);
  writeUint32(out, 4, type);
  out.set(bytes, 8);
  return out;
}
