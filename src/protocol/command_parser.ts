/**
 * Incremental reader for the client → server byte stream of the V2 protocol (shared/nsq-reference.md
 * §1.2): `\n`-terminated command lines (an optional `\r` is stripped), 4-byte big-endian int32
 * sizes, and bodies of a given length.
 *
 * The parser knows the shapes, not the commands: after a line the sink decides what comes next
 * (`expectSize()`, `expectBytes(n)`), exactly as nsqd's command handlers read from a bufio.Reader.
 * That keeps upstream's order of checks and errors (a bad size is refused as soon as its 4 bytes
 * arrive, before any body). It works the same whether input arrives whole, byte by byte, or many
 * commands per chunk, and copies only the bytes of an item that straddles two chunks.
 */
import { readInt32 } from "./message.ts";

/** nsqd reads lines with a 16 KiB bufio.Reader: a longer line (with its `\n`) fails the read. */
export const MAX_LINE_LENGTH = 16 * 1024;

/** What the parser hands out. Views are valid only during the call: copy what you keep. */
export interface CommandSink {
  /** A command line without its `\n` / `\r\n`. */
  line(line: Uint8Array): void;
  /** Optional: the same line as `buf[start..end)`, without a view (see `bytesAt`). */
  lineAt?(buf: Uint8Array, start: number, end: number): void;
  /** A 4-byte size read after `expectSize()`. */
  size(n: number): void;
  /** The bytes read after `expectBytes(n)`. */
  bytes(data: Uint8Array): void;
  /**
   * Optional: the same bytes as `buf[start..end)`, without a view being made (a typed-array view per
   * message body is a measurable cost on JavaScriptCore). Called instead of `bytes` when present.
   */
  bytesAt?(buf: Uint8Array, start: number, end: number): void;
  /** A line did not fit in the line buffer; the connection must close (no error frame upstream). */
  lineTooLong(): void;
}

/** What the parser is waiting for. */
export const ParserState = { Line: 0, Size: 1, Bytes: 2, Stopped: 3 } as const;
export type ParserState = typeof ParserState[keyof typeof ParserState];

const NEWLINE = 10;
const CR = 13;

export class CommandParser {
  readonly #sink: CommandSink;
  #state: ParserState = ParserState.Line;
  /** Byte count wanted in the Size/Bytes states. */
  #need = 0;
  /** Holds the start of an item that straddles chunks. */
  #acc: Uint8Array = new Uint8Array(256);
  #accLen = 0;
  #paused = false;
  /** Chunks (or the rest of one) that arrived while paused. */
  #held: Uint8Array[] = [];

  constructor(sink: CommandSink) {
    this.#sink = sink;
  }

  /** What the parser waits for now (used to name the read that failed at EOF). */
  get state(): ParserState {
    return this.#state;
  }

  /** Whether a partial item is buffered (EOF now would interrupt it). */
  get hasPartial(): boolean {
    return this.#accLen > 0;
  }

  /** Read a 4-byte size next. Call from a sink callback. */
  expectSize(): void {
    this.#state = ParserState.Size;
    this.#need = 4;
  }

  /** Read `n` bytes next. Call from a sink callback. */
  expectBytes(n: number): void {
    this.#state = ParserState.Bytes;
    this.#need = n;
  }

  /** Read a command line next (the default after any item). Call from a sink callback. */
  expectLine(): void {
    this.#state = ParserState.Line;
  }

  /**
   * Hold parsing after the current item (a command waiting for something asynchronous, like an auth
   * server): the rest of the current chunk and later chunks are kept, in order, until `resume()`.
   */
  pause(): void {
    if (this.#state !== ParserState.Stopped) this.#paused = true;
  }

  /** Go on with what arrived while paused. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const held = this.#held;
    this.#held = [];
    for (const chunk of held) {
      this.push(chunk);
      if (this.#paused || this.#state === ParserState.Stopped) {
        // Paused again (or stopped) while replaying: keep what is left for later.
        const rest = held.slice(held.indexOf(chunk) + 1);
        if (this.#paused) this.#held.push(...rest);
        return;
      }
    }
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Stop parsing for good (after a fatal error). */
  stop(): void {
    this.#paused = false;
    this.#held = [];
    this.#state = ParserState.Stopped;
    this.#accLen = 0;
  }

  /** Feeds the next chunk of the stream. */
  push(chunk: Uint8Array): void {
    if (this.#paused) {
      this.#held.push(chunk.slice());
      return;
    }
    let pos = 0;
    if (this.#accLen > 0) {
      pos = this.#completePartial(chunk);
      if (pos < 0) return;
    }
    // (a pause requested by the item just completed is honoured by the loop below)
    const len = chunk.length;
    while (pos < len) {
      if (this.#paused) {
        this.#held.push(chunk.slice(pos));
        return;
      }
      const state = this.#state;
      if (state === ParserState.Line) {
        const nl = chunk.indexOf(NEWLINE, pos);
        if (nl < 0) {
          if (len - pos >= MAX_LINE_LENGTH) return this.#tooLong();
          this.#save(chunk, pos, len);
          return;
        }
        if (nl + 1 - pos > MAX_LINE_LENGTH) return this.#tooLong();
        const start = pos;
        pos = nl + 1;
        this.#emitLine(chunk, start, nl);
      } else if (state === ParserState.Size) {
        if (len - pos < 4) {
          this.#save(chunk, pos, len);
          return;
        }
        const n = readInt32(chunk, pos);
        pos += 4;
        this.#state = ParserState.Line;
        this.#sink.size(n);
      } else if (state === ParserState.Bytes) {
        const need = this.#need;
        if (len - pos < need) {
          this.#save(chunk, pos, len);
          return;
        }
        const start = pos;
        pos += need;
        this.#state = ParserState.Line;
        const sink = this.#sink;
        if (sink.bytesAt !== undefined) sink.bytesAt(chunk, start, pos);
        else sink.bytes(chunk.subarray(start, pos));
      } else {
        return;
      }
    }
  }

  /** Finishes the item buffered in #acc from the head of `chunk`; returns where to go on, or -1. */
  #completePartial(chunk: Uint8Array): number {
    if (this.#state === ParserState.Line) {
      const nl = chunk.indexOf(NEWLINE);
      const take = nl < 0 ? chunk.length : nl + 1;
      // Go's bufio fails once its 16 KiB buffer is full without a newline.
      const total = this.#accLen + take;
      if (nl >= 0 ? total > MAX_LINE_LENGTH : total >= MAX_LINE_LENGTH) {
        this.#tooLong();
        return -1;
      }
      this.#append(chunk, 0, take);
      if (nl < 0) return -1;
      const acc = this.#acc;
      const end = this.#accLen - 1;
      this.#accLen = 0;
      this.#emitLine(acc, 0, end);
      return take;
    }
    if (this.#state === ParserState.Stopped) return -1;
    const take = Math.min(this.#need - this.#accLen, chunk.length);
    this.#append(chunk, 0, take);
    if (this.#accLen < this.#need) return -1;
    const acc = this.#acc;
    this.#accLen = 0;
    if (this.#state === ParserState.Size) {
      this.#state = ParserState.Line;
      this.#sink.size(readInt32(acc, 0));
    } else {
      this.#state = ParserState.Line;
      const sink = this.#sink;
      if (sink.bytesAt !== undefined) sink.bytesAt(acc, 0, this.#need);
      else sink.bytes(acc.subarray(0, this.#need));
    }
    return take;
  }

  #emitLine(buf: Uint8Array, start: number, nl: number): void {
    const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    const sink = this.#sink;
    if (sink.lineAt !== undefined) sink.lineAt(buf, start, end);
    else sink.line(buf.subarray(start, end));
  }

  #tooLong(): void {
    this.stop();
    this.#sink.lineTooLong();
  }

  #save(chunk: Uint8Array, from: number, to: number): void {
    this.#accLen = 0;
    this.#append(chunk, from, to - from);
  }

  #append(chunk: Uint8Array, from: number, n: number): void {
    const need = this.#accLen + n;
    if (need > this.#acc.length) {
      let cap = this.#acc.length * 2;
      while (cap < need) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.#acc.subarray(0, this.#accLen));
      this.#acc = next;
    }
    this.#acc.set(chunk.subarray(from, from + n), this.#accLen);
    this.#accLen = need;
  }
}
