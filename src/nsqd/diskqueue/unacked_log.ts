/**
 * The unacknowledged log of a channel: the messages it has taken off its disk queue and not yet seen
 * finished — in flight to a client, or deferred (REQ with a delay, DPUB) — so that a crash does not lose
 * them (go-diskqueue consumes a record as it is read; upstream nsqd loses what is in flight or deferred when
 * it is killed). Used with `--mem-queue-size=0`, where every message of a durable channel goes through disk.
 *
 * File `<topic>:<channel>.unacked.dat` beside the disk queue (upstream's nsqd ignores it): an append-only run
 * of records `[4-byte BE length][type][payload]`:
 * - `H` (held): `[8-byte float64 due time, ms since the epoch; 0 = in flight][the §1.4 message encoding]`;
 * - `R` (released): `[16-byte ID]` — finished, put back on the disk queue, or dropped.
 * The last record of an ID wins. A channel reads it back at startup (`recover`), puts what was in flight back
 * on its queue and defers the rest again, then starts a fresh log (`create`) holding only those. The log is
 * rewritten (compacted) once it is much larger than what it holds (32 MiB and 4×, by default).
 *
 * Ordering, which is what makes it safe: a record read off the disk queue is logged (and with
 * `--sync-every=1` fdatasynced) before the disk queue's read position is persisted; a message put back on the
 * disk queue is released only after that write.
 */
import {
  closeSync,
  constants,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { errorCode, writeFileAtomic } from "./atomic_file.ts";
import {
  encodeMessageInto,
  makeMessage,
  type Message,
  MESSAGE_HEADER_LENGTH,
  messageIdFromBytes,
  MSG_ID_LENGTH,
  readInt32,
} from "../../protocol/message.ts";

/** A message read back from the log, with its due time (ms since the epoch; 0 = it was in flight). */
export interface HeldMessage {
  msg: Message;
  dueWallMs: number;
}

const HELD = 0x48; // "H"
const RELEASED = 0x52; // "R"
/** By default the log is rewritten when it exceeds this and four times what it holds. */
const COMPACT_ABOVE = 32 * 1024 * 1024;

/** Scratch for the big-endian float64 of a due time (no DataView per record). */
const f64 = new Float64Array(1);
const f64Bytes = new Uint8Array(f64.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function writeFloat64BE(buf: Uint8Array, off: number, v: number): void {
  f64[0] = v;
  for (let i = 0; i < 8; i++) buf[off + i] = f64Bytes[LITTLE_ENDIAN ? 7 - i : i];
}

function heldSize(msg: Message): number {
  return 4 + 1 + 8 + MESSAGE_HEADER_LENGTH + msg.len;
}
const RELEASED_SIZE = 4 + 1 + MSG_ID_LENGTH;

export interface UnackedLogOptions {
  /** fdatasync every flush (`--sync-every=1`). */
  sync: boolean;
  /** What the log holds now, for a rewrite (the channel's in-flight and deferred messages). */
  live(): HeldMessage[];
  log(level: "warn" | "error", msg: string): void;
  /** Rewrite past this many bytes (and 4× what is held); default 32 MiB. */
  compactAboveBytes?: number;
}

/** The log of the channel queue `name` (`topic:channel`) is `<name>` + this, beside its disk queue. */
export const UNACKED_LOG_SUFFIX = ".unacked.dat";

export class UnackedLog {
  readonly #path: string;
  readonly #opts: UnackedLogOptions;
  #fd: number;
  /** Bytes in the file. */
  #size: number;
  /** Bytes of the records that are still live (what a rewrite would write). */
  #liveBytes: number;
  #pending = new Uint8Array(64 * 1024);
  #pendingLen = 0;

  private constructor(path: string, opts: UnackedLogOptions, fd: number, size: number, liveBytes: number) {
    this.#path = path;
    this.#opts = opts;
    this.#fd = fd;
    this.#size = size;
    this.#liveBytes = liveBytes;
  }

  /**
   * Reads the log at `path` (none: nothing), in the order of their last hold. A torn or corrupt
   * tail (a crash in the middle of a write) ends the reading there.
   */
  static recover(path: string, log: UnackedLogOptions["log"]): HeldMessage[] {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(path);
    } catch (err) {
      if (errorCode(err) !== "ENOENT") log("error", `UNACKED(${path}) failed to read - ${err}`);
      return [];
    }
    const held = new Map<string, HeldMessage>();
    let pos = 0;
    while (pos + 5 <= bytes.length) {
      const len = readInt32(bytes, pos);
      const type = bytes[pos + 4];
      const end = pos + 4 + len;
      const ok = end <= bytes.length &&
        ((type === HELD && len >= 1 + 8 + MESSAGE_HEADER_LENGTH) ||
          (type === RELEASED && len === 1 + MSG_ID_LENGTH));
      if (!ok) {
        log("warn", `UNACKED(${path}) stops at ${pos} of ${bytes.length} bytes (torn or corrupt record)`);
        break;
      }
      if (type === HELD) {
        const due = new DataView(bytes.buffer, bytes.byteOffset + pos + 5, 8).getFloat64(0);
        const m = pos + 13;
        const bodyLen = end - m - MESSAGE_HEADER_LENGTH;
        const data = bytes.slice(m + 10, end); // ID + body
        const attempts = (bytes[m + 8] << 8) | bytes[m + 9];
        const msg = makeMessage(data, 0, bodyLen, readInt32(bytes, m), readInt32(bytes, m + 4), attempts);
        const id = messageIdFromBytes(data, 0);
        held.delete(id); // the last record wins, and takes the latest place
        held.set(id, { msg, dueWallMs: due });
      } else {
        held.delete(messageIdFromBytes(bytes, pos + 5));
      }
      pos = end;
    }
    return [...held.values()];
  }

  /** Starts a fresh log at `path` holding `held`, replacing any old one atomically (written, synced, renamed). */
  static create(path: string, held: HeldMessage[], opts: UnackedLogOptions): UnackedLog {
    const size = UnackedLog.#writeFile(path, held);
    const fd = openSync(path, constants.O_RDWR | constants.O_APPEND);
    return new UnackedLog(path, opts, fd, size, size);
  }

  /** Writes `held` to a temporary file, syncs it and renames it to `path`; returns its size. */
  static #writeFile(path: string, held: HeldMessage[]): number {
    let size = 0;
    for (const h of held) size += heldSize(h.msg);
    const buf = new Uint8Array(size);
    let off = 0;
    for (const h of held) off = UnackedLog.#encodeHeld(buf, off, h.msg, h.dueWallMs);
    writeFileAtomic(path, buf);
    return size;
  }

  static #encodeHeld(buf: Uint8Array, off: number, msg: Message, dueWallMs: number): number {
    const len = 1 + 8 + MESSAGE_HEADER_LENGTH + msg.len;
    buf[off] = len >>> 24;
    buf[off + 1] = len >>> 16;
    buf[off + 2] = len >>> 8;
    buf[off + 3] = len;
    buf[off + 4] = HELD;
    writeFloat64BE(buf, off + 5, dueWallMs);
    encodeMessageInto(msg, buf, off + 13);
    return off + 4 + len;
  }

  /** Logs that `msg` is in flight (`dueWallMs` 0) or deferred until `dueWallMs`; written by the next `flush`. */
  hold(msg: Message, dueWallMs: number): void {
    const n = heldSize(msg);
    this.#reserve(n);
    UnackedLog.#encodeHeld(this.#pending, this.#pendingLen, msg, dueWallMs);
    this.#pendingLen += n;
    this.#liveBytes += n;
  }

  /** Logs that `msg` is no longer held (finished, back on the disk queue, dropped). */
  release(msg: Message): void {
    this.#reserve(RELEASED_SIZE);
    const b = this.#pending;
    const o = this.#pendingLen;
    b[o] = 0;
    b[o + 1] = 0;
    b[o + 2] = 0;
    b[o + 3] = 1 + MSG_ID_LENGTH;
    b[o + 4] = RELEASED;
    const id = msg.data;
    for (let i = 0, at = msg.off; i < MSG_ID_LENGTH; i++) b[o + 5 + i] = id[at + i];
    this.#pendingLen += RELEASED_SIZE;
    this.#liveBytes -= heldSize(msg);
  }

  /** Whether records wait to be written. */
  get dirty(): boolean {
    return this.#pendingLen > 0;
  }

  /**
   * Writes what was logged since the last flush (fdatasynced with `sync`), or rewrites the log when it has
   * grown much larger than what it holds. Throws on a write error; what was logged stays pending then.
   */
  flush(): void {
    if (this.#pendingLen === 0) return;
    if (
      this.#size + this.#pendingLen > (this.#opts.compactAboveBytes ?? COMPACT_ABOVE) &&
      this.#size + this.#pendingLen > 4 * this.#liveBytes
    ) {
      this.#rewrite();
      return;
    }
    let done = 0;
    try {
      while (done < this.#pendingLen) {
        done += writeSync(this.#fd, this.#pending, done, this.#pendingLen - done);
      }
      if (this.#opts.sync) fdatasyncSync(this.#fd);
    } catch (err) {
      // drop a partial write so the file ends on a whole record again
      try {
        ftruncateSync(this.#fd, this.#size);
      } catch { /* best effort */ }
      throw err;
    }
    this.#size += this.#pendingLen;
    this.#pendingLen = 0;
    if (this.#pending.length > 1024 * 1024) this.#pending = new Uint8Array(64 * 1024);
  }

  /** Drops everything (the channel was emptied). */
  clear(): void {
    this.#pendingLen = 0;
    this.#liveBytes = 0;
    ftruncateSync(this.#fd, 0);
    if (this.#opts.sync) fdatasyncSync(this.#fd);
    this.#size = 0;
  }

  /** Closes the file; `remove` deletes it too (nothing is held: a clean shutdown, a deleted channel). */
  close(remove: boolean): void {
    try {
      closeSync(this.#fd);
    } catch { /* closed */ }
    if (!remove) return;
    try {
      unlinkSync(this.#path);
    } catch (err) {
      if (errorCode(err) !== "ENOENT") {
        this.#opts.log("error", `UNACKED(${this.#path}) failed to remove - ${err}`);
      }
    }
  }

  #rewrite(): void {
    const live = this.#opts.live();
    const size = UnackedLog.#writeFile(this.#path, live);
    const fd = openSync(this.#path, constants.O_RDWR | constants.O_APPEND);
    try {
      closeSync(this.#fd);
    } catch { /* closed */ }
    this.#fd = fd;
    this.#size = size;
    this.#liveBytes = size;
    this.#pendingLen = 0;
  }

  #reserve(n: number): void {
    if (this.#pendingLen + n <= this.#pending.length) return;
    const next = new Uint8Array(Math.max(this.#pending.length * 2, this.#pendingLen + n));
    next.set(this.#pending.subarray(0, this.#pendingLen));
    this.#pending = next;
  }
}
