/**
 * Server → client frames (shared/nsq-reference.md §1.3): `[4-byte BE size][4-byte BE type][data]`
 * where size counts the type and the data.
 */
import { ByteBuffer } from "./byte_buffer.ts";
import {
  encodeMessageInto,
  type Message,
  MESSAGE_HEADER_LENGTH,
  readUint32,
  writeUint32,
} from "./message.ts";

export const FrameType = { Response: 0, Error: 1, Message: 2 } as const;
export type FrameType = typeof FrameType[keyof typeof FrameType];

const encoder = new TextEncoder();

/**
 * A growable byte buffer that frames are appended to; the owner hands `bytes()` to the socket and
 * then `reset()`s it. One per connection, reused for the life of the connection.
 */
export class FrameBuffer extends ByteBuffer {
  /** Appends a response (type 0) or error (type 1) frame carrying `data`. */
  writeFrame(type: FrameType, data: Uint8Array): void {
    const off = this.reserve(8 + data.length);
    writeUint32(this.buf, off, 4 + data.length);
    writeUint32(this.buf, off + 4, type);
    this.buf.set(data, off + 8);
  }

  /** Appends a frame whose data is `text` (UTF-8). */
  writeTextFrame(type: FrameType, text: string): void {
    this.writeFrame(type, encoder.encode(text));
  }

  /** Appends a message frame (type 2). */
  writeMessage(msg: Message): void {
    const size = 4 + MESSAGE_HEADER_LENGTH + msg.len;
    const off = this.reserve(4 + size);
    writeUint32(this.buf, off, size);
    writeUint32(this.buf, off + 4, FrameType.Message);
    encodeMessageInto(msg, this.buf, off + 8);
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

/**
 * Splits the server's byte stream back into frames (the client side of {@link FrameBuffer}),
 * incrementally: feed it socket chunks of any size with `push()`; each complete frame is handed to
 * `onFrame` at once, in order. A frame that spans chunks is copied once into a holding buffer;
 * frames inside one chunk are passed as views of it (valid only during the callback).
 *
 * @example
 * ```ts
 * import { encodeFrame, FrameDecoder, FrameType } from "./frame.ts";
 * const seen: string[] = [];
 * const dec = new FrameDecoder((type, data) => seen.push(`${type}:${new TextDecoder().decode(data)}`));
 * const wire = encodeFrame(FrameType.Response, "OK");
 * dec.push(wire.subarray(0, 3));
 * dec.push(wire.subarray(3));
 * console.log(seen); // ["0:OK"]
 * ```
 */
export class FrameDecoder {
  #hold: Uint8Array | null = null;
  #holdLen = 0;
  readonly #onFrame: (type: number, data: Uint8Array) => void;
  readonly #maxFrameSize: number;

  /**
   * @param onFrame receives each frame's type and data (a view valid only during the call)
   * @param maxFrameSize a larger announced size throws a RangeError (the stream is corrupt)
   */
  constructor(onFrame: (type: number, data: Uint8Array) => void, maxFrameSize = 256 * 1024 * 1024) {
    this.#onFrame = onFrame;
    this.#maxFrameSize = maxFrameSize;
  }

  /** Bytes of an incomplete frame held for the next push. */
  get buffered(): number {
    return this.#holdLen;
  }

  /** Consumes `chunk`; throws a RangeError on an impossible frame size. */
  push(chunk: Uint8Array): void {
    let off = 0;
    if (this.#holdLen > 0) {
      off = this.#fillHold(chunk);
      if (off < 0) return;
    }
    while (chunk.length - off >= 8) {
      const size = this.#checkSize(readUint32(chunk, off));
      if (chunk.length - off - 4 < size) break;
      this.#onFrame(readUint32(chunk, off + 4), chunk.subarray(off + 8, off + 4 + size));
      off += 4 + size;
    }
    if (off < chunk.length) this.#keep(chunk.subarray(off));
  }

  /** Completes the held frame from `chunk`; returns the offset after it, or -1 if still incomplete. */
  #fillHold(chunk: Uint8Array): number {
    let off = 0;
    if (this.#holdLen < 4) {
      const n = Math.min(4 - this.#holdLen, chunk.length);
      this.#keep(chunk.subarray(0, n));
      off = n;
      if (this.#holdLen < 4) return -1;
    }
    const hold = this.#hold!;
    const total = 4 + this.#checkSize(readUint32(hold, 0));
    const n = Math.min(total - this.#holdLen, chunk.length - off);
    this.#keep(chunk.subarray(off, off + n));
    off += n;
    if (this.#holdLen < total) return -1;
    const frame = this.#hold!;
    this.#holdLen = 0;
    this.#onFrame(readUint32(frame, 4), frame.subarray(8, total));
    return off;
  }

  #checkSize(size: number): number {
    if (size < 4 || size > this.#maxFrameSize) {
      throw new RangeError(`invalid frame size ${size}`);
    }
    return size;
  }

  #keep(bytes: Uint8Array): void {
    const need = this.#holdLen + bytes.length;
    if (this.#hold === null || this.#hold.length < need) {
      const next = new Uint8Array(Math.max(need, 4096, (this.#hold?.length ?? 0) * 2));
      if (this.#hold) next.set(this.#hold.subarray(0, this.#holdLen));
      this.#hold = next;
    }
    this.#hold.set(bytes, this.#holdLen);
    this.#holdLen = need;
  }
}
