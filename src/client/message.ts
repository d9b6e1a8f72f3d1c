/**
 * A message as a Consumer hands it out (go-nsq `message.go`, shared/nsq-reference.md §9.4): the
 * decoded frame plus the three answers nsqd understands — `finish()` (FIN), `requeue()` (REQ) and
 * `touch()` (TOUCH). The first of `finish()`/`requeue()` wins; later calls, and `touch()` after an
 * answer, do nothing.
 */
import { messageIdFromBytes, readUint32 } from "../protocol/message.ts";

const textDecoder = new TextDecoder();

/**
 * Where a message's answers go: the consumer connection it arrived on. `raw` is the message's
 * copy of the frame data: its ID is at bytes 10–25, written to the command buffer as they are (no
 * string per message).
 */
export interface MessageResponder {
  /** FIN (`backoff` unused), or REQ with `delayMs` and a backoff (`true`) or continue (`false`) signal. */
  respond(msg: ConsumerMessage, raw: Uint8Array, finish: boolean, delayMs: number, backoff: boolean): void;
  /** TOUCH. */
  touch(msg: ConsumerMessage, raw: Uint8Array): void;
  /** The delay of `requeue()` without an argument for a message of `attempts` attempts. */
  defaultRequeueDelay(attempts: number): number;
}

/** One message received by a {@link Consumer}; answer it with `finish()` or `requeue()`. */
export class ConsumerMessage {
  /** Deliveries so far, this one included (1 on the first delivery). */
  readonly attempts: number;
  /** The `host:port` of the nsqd it came from. */
  readonly nsqdAddress: string;
  /** The frame data, copied once: timestamp, attempts, ID and body (the hot path decodes no more). */
  readonly #raw: Uint8Array;
  #id: string | undefined;
  #body: Uint8Array | undefined;
  readonly #responder: MessageResponder;
  #responded = false;
  #autoResponse = true;

  /**
   * Decodes a message frame's data (used by the Consumer; not needed by applications).
   * @param data `[8-byte timestamp][2-byte attempts][16-byte id][body]`, copied
   * @param nsqdAddress where it came from
   * @param responder the connection its answers go to
   */
  constructor(data: Uint8Array, nsqdAddress: string, responder: MessageResponder) {
    if (data.length < 26) throw new RangeError(`message frame too short (${data.length} bytes)`);
    this.#raw = data.slice();
    this.attempts = (data[8] << 8) | data[9];
    this.nsqdAddress = nsqdAddress;
    this.#responder = responder;
  }

  /** The 16-character message ID. */
  get id(): string {
    return this.#id ??= messageIdFromBytes(this.#raw, 10);
  }

  /** The body (a copy: it stays valid). */
  get body(): Uint8Array {
    return this.#body ??= this.#raw.subarray(26);
  }

  /** Publish time in nanoseconds since the Unix epoch. */
  get timestamp(): bigint {
    return (BigInt(readUint32(this.#raw, 0)) << 32n) | BigInt(readUint32(this.#raw, 4));
  }

  /** Publish time in milliseconds since the Unix epoch (as `Date.now()`). */
  get timestampMs(): number {
    return Math.floor((readUint32(this.#raw, 0) * 4294967296 + readUint32(this.#raw, 4)) / 1e6);
  }

  /** The body decoded as UTF-8. */
  get text(): string {
    return textDecoder.decode(this.body);
  }

  /** Whether `finish()` or `requeue()` was called (or the consumer answered on its own). */
  get hasResponded(): boolean {
    return this.#responded;
  }

  /** Whether the consumer may still answer for the handler (see {@link disableAutoResponse}). */
  get isAutoResponseEnabled(): boolean {
    return this.#autoResponse;
  }

  /** The handler answers this message itself, later: the consumer won't FIN or REQ it when the handler returns. */
  disableAutoResponse(): void {
    this.#autoResponse = false;
  }

  /** Done with it: FIN. Counts as a success for backoff. */
  finish(): void {
    if (this.#responded) return;
    this.#responded = true;
    this.#responder.respond(this, this.#raw, true, 0, false);
  }

  /**
   * Hands it back to nsqd for redelivery: REQ.
   * @param delayMs when nsqd delivers it again; default `defaultRequeueDelay × attempts`, at most
   *   `maxRequeueDelay` (go-nsq's `Requeue(-1)`)
   * @param backoff `true` (default) counts as a failure and makes the consumer back off; `false`
   *   leaves the backoff state as it is (go-nsq's `RequeueWithoutBackoff`)
   */
  requeue(delayMs?: number, backoff = true): void {
    if (this.#responded) return;
    this.#responded = true;
    const delay = delayMs === undefined || delayMs < 0
      ? this.#responder.defaultRequeueDelay(this.attempts)
      : Math.trunc(delayMs);
    this.#responder.respond(this, this.#raw, false, delay, backoff);
  }

  /** Asks nsqd for more time (TOUCH): the in-flight timeout starts again. Ignored after an answer. */
  touch(): void {
    if (this.#responded) return;
    this.#responder.touch(this, this.#raw);
  }
}
