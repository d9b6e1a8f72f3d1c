/**
 * The due times of a channel's deferred messages, kept beside its disk queue so that deferral survives a
 * restart (`--persist-deferred`, beyond upstream): `<topic>:<channel>.deferred.dat`, a run of 24-byte records
 * `[16-byte message ID][big-endian float64 due time, ms since the epoch]`; the last record of an ID wins.
 *
 * The messages themselves are in the channel's disk queue, as upstream writes them (a clean shutdown puts
 * deferred messages there; past `--max-deferred-in-memory` they wait there): upstream's nsqd, or ours without
 * the flag, ignores this file and delivers them at once, as it always did. With the flag, a message read off
 * the disk queue before its due time is deferred again instead of delivered.
 */
import { closeSync, constants, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { errorCode, writeFileAtomic } from "./atomic_file.ts";
import { type Message, messageIdFromBytes, MSG_ID_LENGTH } from "../../protocol/message.ts";

const RECORD = MSG_ID_LENGTH + 8;

/** The due times of the channel queue `name` (`topic:channel`) are in `<name>` + this, beside its disk queue. */
export const DEFERRED_TIMES_SUFFIX = ".deferred.dat";

export class DeferredTimes {
  readonly #path: string;
  #fd: number | undefined;
  readonly #record = new Uint8Array(RECORD);
  readonly #view = new DataView(this.#record.buffer);

  constructor(path: string) {
    this.#path = path;
  }

  /** The due times in the file (ID → ms since the epoch) that are still in the future; none without a file. */
  load(log: (msg: string) => void): Map<string, number> {
    const due = new Map<string, number>();
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(this.#path);
    } catch (err) {
      if (errorCode(err) !== "ENOENT") log(`failed to read ${this.#path} - ${err}`);
      return due;
    }
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const now = Date.now();
    for (let pos = 0; pos + RECORD <= bytes.length; pos += RECORD) {
      const id = messageIdFromBytes(bytes, pos);
      const at = view.getFloat64(pos + MSG_ID_LENGTH);
      if (at > now) due.set(id, at);
      else due.delete(id);
    }
    if (bytes.length % RECORD !== 0) log(`${this.#path}: ignored a torn record at its end`);
    return due;
  }

  /** Appends the due time of `msg` (written to the page cache now; a clean shutdown rewrites the file). */
  append(msg: Message, dueWallMs: number): void {
    this.#fd ??= openSync(this.#path, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND, 0o600);
    this.#encode(msg.data, msg.off, dueWallMs, this.#record, 0);
    writeSync(this.#fd, this.#record);
  }

  /** Replaces the file with exactly `entries` (ID bytes at `data[off..]` and due time), or removes it if none. */
  save(entries: { data: Uint8Array; off: number; dueWallMs: number }[]): void {
    this.close();
    if (entries.length === 0) return this.remove();
    const buf = new Uint8Array(entries.length * RECORD);
    entries.forEach((e, i) => this.#encode(e.data, e.off, e.dueWallMs, buf, i * RECORD));
    writeFileAtomic(this.#path, buf);
  }

  /** Deletes the file (the channel was emptied or deleted). */
  remove(): void {
    this.close();
    try {
      unlinkSync(this.#path);
    } catch (err) {
      if (errorCode(err) !== "ENOENT") throw err;
    }
  }

  close(): void {
    if (this.#fd === undefined) return;
    try {
      closeSync(this.#fd);
    } catch { /* closed */ }
    this.#fd = undefined;
  }

  #encode(id: Uint8Array, off: number, dueWallMs: number, out: Uint8Array, at: number): void {
    out.set(id.subarray(off, off + MSG_ID_LENGTH), at);
    (out === this.#record ? this.#view : new DataView(out.buffer, out.byteOffset, out.byteLength))
      .setFloat64(at + MSG_ID_LENGTH, dueWallMs);
  }
}
