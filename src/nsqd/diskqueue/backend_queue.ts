/**
 * Where a topic or channel keeps messages past `--mem-queue-size` (nsq's `BackendQueue`).
 *
 * `DiskBackend` stores them in a go-diskqueue compatible `DiskQueue` (§3.7), one per topic and one
 * per channel; ephemeral topics and channels use `DummyBackend`, which drops the overflow as
 * upstream's `dummyBackendQueue` does (shared/nsq-reference.md §3.3).
 */
import {
  encodeMessageInto,
  makeDeliveryMessage,
  type Message,
  MESSAGE_HEADER_LENGTH,
  readInt32,
} from "../../protocol/message.ts";
import { DiskQueue, type ReadMark } from "./disk_queue.ts";
import type { Logger } from "../../internal/logger.ts";
import type { NsqdOptions } from "../options.ts";

export interface BackendQueue {
  /** Stores a message; throws when it cannot (the caller reports it as a health error). */
  put(msg: Message): void;
  /** Stores several messages (one write); those stored before a failure stay stored. */
  putMany(msgs: Message[]): void;
  /** The next stored message, or undefined when none can be read now. */
  read(): Message | undefined;
  /** Messages stored and not yet read. */
  readonly depth: number;
  /** Drops everything stored (files included). */
  empty(): void;
  /** Flushes, syncs and closes. */
  close(): Promise<void>;
  /** Closes and removes every file. */
  delete(): Promise<void>;
  /** Keeps the read position on disk where it is until `releaseSync` (see `DiskQueue.holdSync`). */
  holdSync(): void;
  /** Ends a hold; false if the sync it ran failed. */
  releaseSync(): boolean;
  /** The read position, to `rewind` to under a hold. */
  mark(): ReadMark | undefined;
  /** Reads again what was read since `mark` (under the same hold). */
  rewind(mark: ReadMark | undefined): void;
}

/**
 * A message read back from a disk queue that retains records: its ID and body stay where the queue
 * copied them, in segments shared by the messages read together, as published ones share slabs.
 * §1.4: [8 timestamp][2 attempts][16 ID][body].
 */
function decodeRetained(buf: Uint8Array, off: number, len: number): Message {
  return makeDeliveryMessage(
    buf,
    off + 10,
    len - MESSAGE_HEADER_LENGTH,
    readInt32(buf, off),
    readInt32(buf, off + 4),
    (buf[off + 8] << 8) | buf[off + 9],
  );
}

/**
 * A disk queue of encoded messages. The queue is opened when it is first written to, or at once when
 * files of it exist (metadata, or a first data file written before a crash): an idle topic or channel
 * costs no disk queue (ten thousand of them, ~1.4 KB each on V8).
 */
export class DiskBackend implements BackendQueue {
  readonly #name: string;
  readonly #dataPath: string;
  readonly #options: NsqdOptions;
  readonly #logger: Logger;
  #dq: DiskQueue | undefined;
  /** Sync holds taken before the queue was opened, handed to it when it is. */
  #holds = 0;

  constructor(name: string, dataPath: string, options: NsqdOptions, logger: Logger) {
    this.#name = name;
    this.#dataPath = dataPath;
    this.#options = options;
    this.#logger = logger;
    if (DiskQueue.hasFiles(dataPath, name)) this.#queue();
  }

  #queue(): DiskQueue {
    if (this.#dq !== undefined) return this.#dq;
    const options = this.#options;
    const logger = this.#logger;
    const dq = DiskQueue.open({
      name: this.#name,
      dataPath: this.#dataPath,
      maxBytesPerFile: options.maxBytesPerFile,
      minMsgSize: MESSAGE_HEADER_LENGTH,
      maxMsgSize: options.maxMsgSize + MESSAGE_HEADER_LENGTH,
      syncEvery: options.syncEvery,
      syncTimeoutMs: options.syncTimeout,
      log: (level, msg) => logger[level](msg),
      retainRecords: true,
    });
    for (; this.#holds > 0; this.#holds--) dq.holdSync();
    return this.#dq = dq;
  }

  put(msg: Message): void {
    this.putMany([msg]);
  }

  putMany(msgs: Message[]): void {
    this.#queue().putEncoded(
      msgs.length,
      (i) => MESSAGE_HEADER_LENGTH + msgs[i].len,
      (i, buf, off) => encodeMessageInto(msgs[i], buf, off),
    );
  }

  read(): Message | undefined {
    // Records are at least MESSAGE_HEADER_LENGTH bytes (the disk queue's minMsgSize), so they decode.
    return this.#dq?.readWith(decodeRetained);
  }

  get depth(): number {
    return this.#dq?.depth ?? 0;
  }

  empty(): void {
    this.#dq?.empty();
  }

  /** Closes the queue; one never opened is opened first, so its metadata is written as upstream's is. */
  close(): Promise<void> {
    return this.#queue().close();
  }

  delete(): Promise<void> {
    return this.#queue().delete();
  }

  holdSync(): void {
    if (this.#dq === undefined) this.#holds++;
    else this.#dq.holdSync();
  }

  releaseSync(): boolean {
    if (this.#dq !== undefined) return this.#dq.releaseSync();
    this.#holds--;
    return true;
  }

  mark(): ReadMark | undefined {
    return this.#dq?.mark();
  }

  rewind(mark: ReadMark | undefined): void {
    if (mark !== undefined) this.#dq!.rewind(mark);
  }
}

/** Drops what it is given (ephemeral topics and channels). */
export class DummyBackend implements BackendQueue {
  put(_msg: Message): void {}
  putMany(_msgs: Message[]): void {}
  read(): Message | undefined {
    return undefined;
  }
  get depth(): number {
    return 0;
  }
  empty(): void {}
  close(): Promise<void> {
    return Promise.resolve();
  }
  delete(): Promise<void> {
    return Promise.resolve();
  }
  holdSync(): void {}
  releaseSync(): boolean {
    return true;
  }
  mark(): ReadMark | undefined {
    return undefined;
  }
  rewind(_mark: ReadMark | undefined): void {}
}
