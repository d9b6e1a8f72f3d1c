/**
 * Client → server commands (shared/nsq-reference.md §1.2, go-nsq `command.go`): a line ending in
 * `\n`, followed for IDENTIFY, AUTH, PUB, MPUB and DPUB by a 4-byte big-endian size and the body.
 *
 * `CommandWriter` appends commands to one growable buffer (the client's counterpart of
 * `FrameBuffer`): a connection gathers everything issued in one tick and hands it to the socket in
 * one write.
 */
import { ByteBuffer } from "./byte_buffer.ts";
import { writeUint32 } from "./message.ts";

const encoder = new TextEncoder();
const FIN = encoder.encode("FIN ");
const REQ = encoder.encode("REQ ");
const TOUCH = encoder.encode("TOUCH ");
/** `PUB <topic>\n` by topic (a producer publishes to a few topics, many times). */
const pubLines = new Map<string, Uint8Array>();

/** A message body: bytes, or text sent as UTF-8. */
export type Body = Uint8Array | string;

/**
 * A growable buffer of encoded commands; `bytes()` is handed to the socket, then `reset()`.
 *
 * @example
 * ```ts
 * import { CommandWriter } from "./command.ts";
 * const w = new CommandWriter();
 * w.pub("events", "hi");
 * console.log(new TextDecoder().decode(w.bytes().subarray(0, 11))); // "PUB events\n"
 * ```
 */
export class CommandWriter extends ByteBuffer {
  /** Forgets the buffered bytes, and gives back memory after a burst of large bodies. */
  override reset(): void {
    super.reset();
    if (this.buf.length > 4 * 1024 * 1024) this.buf = new Uint8Array(16 * 1024);
  }

  /** A bare command line (`NOP`, `RDY 1`, `FIN <id>`, …); `\n` is appended. */
  line(text: string): void {
    this.#ascii(text);
    this.#newline();
  }

  /** `FIN <id>`, the 16-byte ID copied from `src` at `at` (no string per message). */
  fin(src: Uint8Array, at: number): void {
    this.#withId(FIN, src, at);
    this.#newline();
  }

  /** `REQ <id> <delayMs>`, the ID copied from `src` at `at`. */
  req(src: Uint8Array, at: number, delayMs: number): void {
    this.#withId(REQ, src, at);
    this.#ascii(` ${delayMs}\n`);
  }

  /** `TOUCH <id>`, the ID copied from `src` at `at`. */
  touch(src: Uint8Array, at: number): void {
    this.#withId(TOUCH, src, at);
    this.#newline();
  }

  /** `IDENTIFY` with a JSON body. */
  identify(json: string): void {
    this.#withBody("IDENTIFY", json);
  }

  /** `AUTH` with the secret as body. */
  auth(secret: string): void {
    this.#withBody("AUTH", secret);
  }

  /** `PUB <topic>` with one body (the line encoded once per topic, not once per message). */
  pub(topic: string, body: Body): void {
    let line = pubLines.get(topic);
    if (line === undefined) {
      if (pubLines.size >= 256) pubLines.clear();
      line = encoder.encode(`PUB ${topic}\n`);
      pubLines.set(topic, line);
    }
    const at = this.reserve(line.length);
    this.buf.set(line, at);
    this.sizedBody(body);
  }

  /** `DPUB <topic> <delayMs>` with one body (the delay truncated to whole ms, as go-nsq does). */
  dpub(topic: string, delayMs: number, body: Body): void {
    this.#withBody(`DPUB ${topic} ${Math.trunc(delayMs)}`, body);
  }

  /** `MPUB <topic>` with `[count]([size][body])*` as body. */
  mpub(topic: string, bodies: readonly Body[]): void {
    this.#ascii(`MPUB ${topic}\n`);
    const sizeAt = this.reserve(8);
    writeUint32(this.buf, sizeAt + 4, bodies.length);
    const start = this.len;
    for (const body of bodies) this.sizedBody(body);
    writeUint32(this.buf, sizeAt, this.len - start + 4);
  }

  /** `MPUB <topic>` whose `count` bodies are already encoded as `([size][body])*` (see `sizedBody`). */
  mpubEncoded(topic: string, count: number, encodedBodies: Uint8Array): void {
    this.#ascii(`MPUB ${topic}\n`);
    const at = this.reserve(8 + encodedBodies.length);
    writeUint32(this.buf, at, encodedBodies.length + 4);
    writeUint32(this.buf, at + 4, count);
    this.buf.set(encodedBodies, at + 8);
  }

  /** Appends bytes as they are (commands encoded elsewhere). */
  append(bytes: Uint8Array): void {
    const at = this.reserve(bytes.length);
    this.buf.set(bytes, at);
  }

  #withBody(line: string, body: Body): void {
    this.#ascii(line);
    this.#newline();
    this.sizedBody(body);
  }

  /** Appends `[4-byte size][bytes]` (one MPUB element); text is encoded in place (no intermediate array). */
  sizedBody(body: Body): void {
    const sizeAt = this.reserve(4);
    if (typeof body === "string") {
      const max = body.length * 3;
      const at = this.reserve(max);
      const { written } = encoder.encodeInto(body, this.buf.subarray(at, at + max));
      this.len = at + written;
      writeUint32(this.buf, sizeAt, written);
    } else {
      const at = this.reserve(body.length);
      this.buf.set(body, at);
      writeUint32(this.buf, sizeAt, body.length);
    }
  }

  // `this.buf` must be read after `reserve()`, which may replace it: `this.buf[this.reserve(1)]`
  // or `this.buf.set(x, this.reserve(n))` would write into the old buffer.
  #newline(): void {
    const at = this.reserve(1);
    this.buf[at] = 10;
  }

  /** Writes a string as UTF-8 (command lines are short; topic names are ASCII when valid). */
  #ascii(text: string): void {
    const max = text.length * 3;
    const at = this.reserve(max);
    const { written } = encoder.encodeInto(text, this.buf.subarray(at, at + max));
    this.len = at + written;
  }

  #withId(verb: Uint8Array, src: Uint8Array, at: number): void {
    const n = verb.length;
    const off = this.reserve(n + 16);
    const buf = this.buf;
    for (let i = 0; i < n; i++) buf[off + i] = verb[i];
    for (let i = 0; i < 16; i++) buf[off + n + i] = src[at + i];
  }
}
