/**
 * A FIFO of opaque byte records kept in files, laid out exactly as go-diskqueue v1.1.0 lays them out
 * (shared/nsq-reference.md §3.7), so the original nsqd and this one can take turns on one `--data-path`.
 *
 * Files, for a queue named `name` in `dataPath`:
 * - data: `<name>.diskqueue.<%06d>.dat`, a run of records `[4-byte big-endian int32 length][bytes]`;
 * - metadata: `<name>.diskqueue.meta.dat`, the text `"<depth>\n<readFileNum>,<readPos>\n<writeFileNum>,<writePos>\n"`,
 *   replaced atomically (written to `<file>.<random>.tmp`, fsynced, renamed).
 *
 * Writes and reads are synchronous (`writeSync`/`readSync` reach the page cache); durability comes from a
 * sync (fdatasync of the written files, then the metadata) that runs in the background after `syncEvery`
 * reads+writes, `syncTimeoutMs` after the first unsynced change, on a file roll, when the reader moves to a
 * new file, and on close. With `syncEvery <= 1` every put and read syncs before returning.
 *
 * As in go-diskqueue, a record handed out by `readOne` is consumed: there is no acknowledgement.
 */
import {
  closeSync,
  constants,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { open as openAsync } from "node:fs/promises";
import { join } from "node:path";
import { errorCode } from "./atomic_file.ts";

/** How a disk queue is set up (nsqd passes its `--max-bytes-per-file`, `--sync-every`, … here). */
export interface DiskQueueOptions {
  /** `"topic"` or `"topic:channel"`: the prefix of every file of the queue. */
  name: string;
  /** Directory holding the files; it is not created. */
  dataPath: string;
  /** A file rolls before a write that would take it past this size (a first record may exceed it). */
  maxBytesPerFile: number;
  /** Smallest valid record; nsqd passes 26 (MESSAGE_HEADER_LENGTH). */
  minMsgSize: number;
  /** Largest valid record; nsqd passes `--max-msg-size` + 26. */
  maxMsgSize: number;
  /** Reads+writes between syncs; `<= 1` syncs every put and read before it returns. */
  syncEvery: number;
  /** Longest time an unsynced change waits for its sync. */
  syncTimeoutMs: number;
  /** Receives the queue's log lines (already prefixed `DISKQUEUE(<name>)`). */
  log(level: "debug" | "info" | "warn" | "error", msg: string): void;
  /**
   * Records `readWith` hands out stay valid and unchanged after the call, so the caller may keep them
   * without copying (nsqd's messages read back from disk). They are copied out of the read buffer a run
   * of up to `SEGMENT` bytes at a time (one copy for ~130 100-byte messages instead of one each), into
   * segments never reused: a segment lives while any record in it is kept, as a slab of `BodyArena` does.
   */
  retainRecords?: boolean;
}

/** Bytes asked of one `readSync` at most (raised to hold the largest record). */
const READ_CHUNK = 1 << 20;
/** Size of a retained segment (see `DiskQueueOptions.retainRecords`); a larger record gets its own. */
const SEGMENT = 16 * 1024;
/** A read buffer larger than this is dropped when the reader catches up with the writer. */
const KEEP_BUFFER = 64 * 1024;
const EMPTY = new Uint8Array(0);

/**
 * The buffer records are framed in before a write, shared by every queue of the process (writes are
 * synchronous, so one at a time); a very large one is not kept.
 */
let scratch = EMPTY;
const KEEP_SCRATCH = 1024 * 1024;

function copyRecord(buf: Uint8Array, off: number, len: number): Uint8Array {
  return buf.slice(off, off + len);
}

/** The positions one sync makes durable, captured at once. */
interface Snapshot {
  seq: number;
  generation: number;
  depth: number;
  readFileNum: number;
  readPos: number;
  writeFileNum: number;
  writePos: number;
  /** Write fds of files rolled away from: fdatasynced, then closed by this sync. */
  rolled: number[];
  /** The current write fd, fdatasynced (and marked busy while that runs). */
  writeFd: number | undefined;
}

/** A read position to go back to (see `DiskQueue.rewind`). */
export interface ReadMark {
  readonly generation: number;
  readonly reads: number;
  readonly readFileNum: number;
  readonly readPos: number;
  readonly pendingDeletes: number;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fdatasyncAsync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => err ? reject(err) : resolve()));
}

/** Parses go-diskqueue's metadata text (Go's `Fscanf("%d\n%d,%d\n%d,%d\n")`). */
function parseMetadata(text: string): [number, number, number, number, number] | undefined {
  const n = "[ \\t]*([+-]?\\d+)";
  const nl = "[ \\t]*\\r?\\n";
  const m = new RegExp(`^${n}${nl}${n},${n}${nl}${n},${n}(?:${nl}|[ \\t]*$)`).exec(text);
  if (!m) return undefined;
  const v = m.slice(1, 6).map(Number) as [number, number, number, number, number];
  if (!v.every(Number.isSafeInteger) || v.slice(1).some((x) => x < 0)) return undefined;
  return v;
}

/** A go-diskqueue v1.1.0 compatible on-disk queue (see the module comment). */
/** `<name>.diskqueue.meta.dat` and `<name>.diskqueue.<6 digits>.dat`. */
const FILE_NAME = /^(.+)\.diskqueue\.(?:meta|\d{6})\.dat$/;

export class DiskQueue {
  readonly #opts: DiskQueueOptions;
  readonly #metaPath: string;
  /** Capacity bound of the read buffer: a chunk, or the largest record if bigger. */
  readonly #chunk: number;

  #readFileNum = 0;
  #readPos = 0;
  #writeFileNum = 0;
  #writePos = 0;
  #depth = 0;

  #writeFd: number | undefined;
  #readFd: number | undefined;
  /** Size on disk of the read file once it is older than the write file (lazily fstat'ed). */
  #readEnd: number | undefined;
  /** Read-ahead: bytes [#bufPos, #bufPos + #bufLen) of the read file. */
  #buf: Uint8Array = EMPTY;
  /** Where `#next()` left the record it returned. */
  #recordBuf: Uint8Array = EMPTY;
  #recordOff = 0;
  #bufPos = 0;
  #bufLen = 0;
  /**
   * With `retainRecords`: bytes [#segStart, #segEnd) of `#buf` were last copied to `#seg` at `#segBase`
   * (#segEnd -1: none since the last refill); `#segUsed` bytes of `#seg` are taken.
   */
  #seg: Uint8Array = EMPTY;
  #segBase = 0;
  #segUsed = 0;
  #segStart = 0;
  #segEnd = -1;

  /** Write fds of rolled files, to be fdatasynced and closed by the next sync. */
  #rolledFds: number[] = [];
  /** Fully read files, removed once metadata saying the reader moved past them is durable. */
  #pendingDeletes: number[] = [];
  /** Fds an in-flight sync is fdatasyncing; closing one waits for it. */
  #busyFds = new Set<number>();
  #closeAfterSync = new Set<number>();

  /** Reads+writes since the last sync started. */
  #unsynced = 0;
  /** A change that must be synced soon (roll, reader changed file, corruption handling). */
  #needSync = false;
  /** The last sync failed: retry on the timer rather than on every operation. */
  #syncFailed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #syncing: Promise<void> | undefined;
  /** Bumped by empty()/delete(): an in-flight sync from before must not write its metadata. */
  #generation = 0;
  #seq = 0;
  #persistedSeq = 0;

  #exiting = false;
  #closePromise: Promise<void> | undefined;
  /** While > 0 no metadata is persisted (see `holdSync`). */
  #holds = 0;
  /** Records written since their data was last fdatasynced. */
  #dataDirty = false;
  /** Records read so far (for `mark`/`rewind`). */
  #reads = 0;

  private constructor(opts: DiskQueueOptions) {
    this.#opts = opts;
    this.#metaPath = join(opts.dataPath, `${opts.name}.diskqueue.meta.dat`);
    this.#chunk = Math.max(READ_CHUNK, opts.maxMsgSize + 4);
  }

  /** The name of the queue whose metadata or data file `fileName` is, if it is one. */
  static nameOfFile(fileName: string): string | undefined {
    return FILE_NAME.exec(fileName)?.[1];
  }

  /** Whether the queue named `name` has files in `dataPath` to pick up (metadata, or its first data file). */
  static hasFiles(dataPath: string, name: string): boolean {
    return existsSync(join(dataPath, `${name}.diskqueue.meta.dat`)) ||
      existsSync(join(dataPath, `${name}.diskqueue.000000.dat`));
  }

  /**
   * Opens (synchronously) the queue named `opts.name` in `opts.dataPath`, restoring its metadata when present
   * (none = an empty queue at file 0). If the write file holds more than the metadata's writePos (records
   * written after the last sync, e.g. before a SIGKILL), writing moves on to a new file and the reader
   * still reads the old one to its real end; those records are added to the depth.
   */
  static open(opts: DiskQueueOptions): DiskQueue {
    const q = new DiskQueue(opts);
    q.#restore();
    return q;
  }

  /** Appends one record. Throws on an invalid size or a write error (e.g. ENOENT, ENOSPC); the queue stays usable. */
  put(record: Uint8Array): void {
    this.putMany([record]);
  }

  /**
   * Appends records in order with one write per data file touched (one for an MPUB that doesn't roll).
   * Sizes are all checked first; on a write error the records in files already written stay queued.
   */
  putMany(records: Uint8Array[]): void {
    this.putEncoded(records.length, (i) => records[i].length, (i, buf, off) => buf.set(records[i], off));
  }

  /**
   * `putMany` for records that are encoded straight into the write buffer: record `i` is `sizeOf(i)`
   * bytes, written by `encode(i, buf, off)` (no array per record).
   */
  putEncoded(
    count: number,
    sizeOf: (i: number) => number,
    encode: (i: number, buf: Uint8Array, off: number) => void,
  ): void {
    if (this.#exiting) throw new Error("exiting");
    const { minMsgSize, maxMsgSize } = this.#opts;
    for (let i = 0; i < count; i++) {
      const n = sizeOf(i);
      if (n < minMsgSize || n > maxMsgSize) {
        throw new Error(
          `invalid message write size (${n}) minMsgSize=${minMsgSize} maxMsgSize=${maxMsgSize}`,
        );
      }
    }
    const fileNum = this.#writeFileNum;
    const pos = this.#writePos;
    const depth = this.#depth;
    let synced = false;
    try {
      this.#write(count, sizeOf, encode);
    } finally {
      synced = this.#afterChange();
    }
    if (synced) return;
    // With syncEvery <= 1 a put returns only once it is on disk: the caller must not acknowledge it otherwise,
    // and what it refuses is taken back (unless the put rolled to a new file), so a retry does not duplicate it.
    if (this.#writeFileNum === fileNum && this.#writeFd !== undefined) {
      try {
        ftruncateSync(this.#writeFd, pos);
        this.#depth = depth;
        this.#writePos = pos;
      } catch { /* the records stay queued */ }
    }
    throw new Error("failed to sync");
  }

  /**
   * The next record (consumed as it is returned), or undefined when none is readable now. Never throws:
   * a corrupt or unreadable file is logged, renamed `<file>.bad` and skipped. Call it whenever records may
   * be waiting, not only when `depth > 0` (depth is bookkeeping, as in go-diskqueue).
   */
  readOne(): Uint8Array | undefined {
    return this.readWith(copyRecord);
  }

  /**
   * `readOne` without the copy: `use(buf, off, len)` gets the record's bytes in the read buffer (valid
   * only during the call) and its result is returned.
   */
  readWith<T>(use: (buf: Uint8Array, off: number, len: number) => T): T | undefined {
    if (this.#exiting) return undefined;
    try {
      const len = this.#next();
      return len < 0 ? undefined : use(this.#recordBuf, this.#recordOff, len);
    } finally {
      this.#afterChange();
    }
  }

  /** Records written and not yet read (go-diskqueue's depth, persisted in the metadata). */
  get depth(): number {
    return this.#depth;
  }

  /**
   * Until the matching `releaseSync()`, no metadata is persisted, so the read position on disk stays where it
   * was: records read meanwhile come back after a crash unless the holder has made them safe elsewhere first
   * (a channel's disk queue, the unacknowledged log). Puts still fdatasync their data with `syncEvery <= 1`
   * (a restart finds records past the persisted write position). Holds nest.
   */
  holdSync(): void {
    this.#holds++;
  }

  /** Ends a hold; the sync it postponed runs now (blocking with `syncEvery <= 1`). Returns false if it failed. */
  releaseSync(): boolean {
    if (this.#holds > 0 && --this.#holds === 0) return this.#afterChange();
    return true;
  }

  /** The read position now, to `rewind` to while a hold keeps it from being persisted. */
  mark(): ReadMark {
    return {
      generation: this.#generation,
      reads: this.#reads,
      readFileNum: this.#readFileNum,
      readPos: this.#readPos,
      pendingDeletes: this.#pendingDeletes.length,
    };
  }

  /**
   * Puts the reader back to `m` (taken under the same, still open, hold): the records read since are read
   * again. For a hand-over that could not be completed (the next queue's write failed).
   */
  rewind(m: ReadMark): void {
    if (m.generation !== this.#generation || this.#holds === 0) return;
    if (this.#readFileNum !== m.readFileNum) this.#closeReadFile();
    this.#readEnd = undefined;
    this.#readFileNum = m.readFileNum;
    this.#readPos = m.readPos;
    this.#depth += this.#reads - m.reads;
    this.#reads = m.reads;
    this.#pendingDeletes.length = Math.min(this.#pendingDeletes.length, m.pendingDeletes);
  }

  /**
   * Drops everything, synchronously: deletes the data files readFileNum..writeFileNum (and fully read files
   * still awaiting deletion) and the metadata file, and starts over at file 0 with depth 0. Throws the
   * first deletion error after doing all it can.
   */
  empty(): void {
    if (this.#exiting) throw new Error("exiting");
    this.#log("info", `DISKQUEUE(${this.#opts.name}): emptying`);
    this.#generation++;
    this.#clearTimer();
    this.#closeReadFile();
    this.#releaseBuffer();
    this.#retireWriteFd();
    for (const fd of this.#rolledFds.splice(0)) this.#closeFd(fd);
    let firstErr: unknown;
    const remove = (path: string) => {
      const err = this.#removeFile(path);
      firstErr ??= err;
    };
    for (const n of this.#pendingDeletes.splice(0)) remove(this.#fileName(n));
    for (let n = this.#readFileNum; n <= this.#writeFileNum; n++) remove(this.#fileName(n));
    remove(this.#metaPath);
    this.#readFileNum =
      this.#readPos =
      this.#writeFileNum =
      this.#writePos =
      this.#depth =
        0;
    this.#unsynced = 0;
    this.#needSync = false;
    this.#dataDirty = false;
    if (firstErr !== undefined) throw firstErr;
  }

  /** Flushes: fdatasyncs the data, persists the metadata, closes the files and clears timers. Never rejects. */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  /**
   * Closes WITHOUT persisting metadata and removes the queue's data files and metadata file (used after
   * `empty()` when a topic or channel is deleted). `.bad` files are kept, as upstream keeps them. The
   * files go before this returns (unless a close is under way): a queue opened again under the same
   * name right after (a deleted topic published to again) must not lose its new files to a deletion
   * finishing later. The fds are closed once an in-flight sync is done with them.
   */
  delete(): Promise<void> {
    const closing = this.#closePromise;
    const deleting = closing === undefined ? this.#deleteNow() : closing.then(() => this.#deleteNow());
    this.#closePromise = deleting;
    return deleting;
  }

  #deleteNow(): Promise<void> {
    this.#exiting = true;
    this.#log("info", `DISKQUEUE(${this.#opts.name}): deleting`);
    this.#clearTimer();
    this.#generation++; // an in-flight sync drops its metadata instead of committing it
    for (const n of this.#pendingDeletes.splice(0)) this.#removeFile(this.#fileName(n));
    for (let n = this.#readFileNum; n <= this.#writeFileNum; n++) this.#removeFile(this.#fileName(n));
    this.#removeFile(this.#metaPath);
    const syncing = this.#syncing;
    if (syncing === undefined) {
      this.#closeAllFds();
      return Promise.resolve();
    }
    return syncing.then(() => this.#closeAllFds());
  }

  // ---- startup ----

  #restore(): void {
    const name = this.#opts.name;
    let text: string | undefined;
    try {
      text = readFileSync(this.#metaPath, "utf8");
    } catch (err) {
      if (errorCode(err) !== "ENOENT") {
        this.#log("error", `DISKQUEUE(${name}) failed to retrieveMetaData - ${errorText(err)}`);
      }
    }
    if (text !== undefined) {
      const meta = parseMetadata(text);
      if (meta) {
        [this.#depth, this.#readFileNum, this.#readPos, this.#writeFileNum, this.#writePos] = meta;
      } else {
        this.#log(
          "error",
          `DISKQUEUE(${name}) failed to retrieveMetaData - invalid metadata ${JSON.stringify(text)}`,
        );
      }
    }
    // Records past writePos were written after the last sync: leave them to the reader (which reads an
    // older file to its size on disk) and write to a fresh file. A loop, since a crash can come after a roll
    // whose metadata wasn't persisted yet.
    for (;;) {
      const fileName = this.#fileName(this.#writeFileNum);
      let size: number;
      try {
        size = statSync(fileName).size;
      } catch (err) {
        if (errorCode(err) !== "ENOENT") {
          this.#log("error", `DISKQUEUE(${name}) failed to stat ${fileName} - ${errorText(err)}`);
        } else if (this.#writePos > 0) {
          this.#log(
            "warn",
            `DISKQUEUE(${name}) ${fileName} missing at writePos ${this.#writePos}, skipping to new file`,
          );
          this.#writeFileNum++;
          this.#writePos = 0;
        }
        break;
      }
      if (size === this.#writePos) break;
      this.#log(
        "warn",
        size > this.#writePos
          ? `DISKQUEUE(${name}) ${fileName} metadata writePos ${this.#writePos} < file size of ${size}, skipping to new file`
          : `DISKQUEUE(${name}) ${fileName} metadata writePos ${this.#writePos} > file size of ${size}, skipping to new file`,
      );
      if (size > this.#writePos) this.#depth += this.#countRecords(fileName, this.#writePos, size);
      this.#writeFileNum++;
      this.#writePos = 0;
    }
    this.#checkTailCorruption();
  }

  /** Counts the whole valid records in [from, to) of a file, stopping at the first invalid one. */
  #countRecords(fileName: string, from: number, to: number): number {
    let fd: number | undefined;
    let count = 0;
    try {
      fd = openSync(fileName, "r");
      const buf = new Uint8Array(Math.min(READ_CHUNK, to - from));
      let bufPos = from;
      let bufLen = 0;
      let pos = from;
      while (to - pos >= 4) {
        if (pos < bufPos || pos + 4 > bufPos + bufLen) {
          bufPos = pos;
          bufLen = readSync(fd, buf, 0, Math.min(buf.length, to - pos), pos);
          if (bufLen < 4) break;
        }
        const o = pos - bufPos;
        const size = (buf[o] << 24) | (buf[o + 1] << 16) | (buf[o + 2] << 8) | buf[o + 3];
        if (size < this.#opts.minMsgSize || size > this.#opts.maxMsgSize || pos + 4 + size > to) break;
        pos += 4 + size;
        count++;
      }
    } catch (err) {
      this.#log("error", `DISKQUEUE(${this.#opts.name}) failed to scan ${fileName} - ${errorText(err)}`);
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    return count;
  }

  // ---- writing ----

  #write(
    count: number,
    sizeOf: (i: number) => number,
    encode: (i: number, buf: Uint8Array, off: number) => void,
  ): void {
    const max = this.#opts.maxBytesPerFile;
    let i = 0;
    while (i < count) {
      // go-diskqueue v1.1.0: roll before a write that would take a non-empty file past maxBytesPerFile
      if (this.#writePos > 0 && this.#writePos + 4 + sizeOf(i) > max) this.#roll();
      let end = this.#writePos;
      let j = i;
      while (j < count) {
        const total = 4 + sizeOf(j);
        if (end > 0 && end + total > max) break;
        end += total;
        j++;
      }
      this.#writeRun(i, j, end - this.#writePos, sizeOf, encode);
      i = j;
    }
  }

  /** Writes records [from, to) (`bytes` long framed) at writePos with one positional write. */
  #writeRun(
    from: number,
    to: number,
    bytes: number,
    sizeOf: (i: number) => number,
    encode: (i: number, buf: Uint8Array, off: number) => void,
  ): void {
    if (this.#writeFd === undefined) this.#openWriteFile();
    const fd = this.#writeFd!;
    if (scratch.length < bytes) scratch = new Uint8Array(Math.max(bytes, 64 * 1024));
    const buf = scratch;
    let o = 0;
    for (let k = from; k < to; k++) {
      const n = sizeOf(k);
      buf[o] = n >>> 24;
      buf[o + 1] = n >>> 16;
      buf[o + 2] = n >>> 8;
      buf[o + 3] = n;
      encode(k, buf, o + 4);
      o += 4 + n;
    }
    try {
      let done = 0;
      while (done < bytes) {
        const n = writeSync(fd, buf, done, bytes - done, this.#writePos + done);
        if (n <= 0) throw new Error("short write");
        done += n;
      }
    } catch (err) {
      // drop a partial write so the file ends at writePos again; reopen on the next write
      try {
        ftruncateSync(fd, this.#writePos);
      } catch { /* best effort */ }
      this.#retireWriteFd();
      throw err;
    }
    if (scratch.length > KEEP_SCRATCH) scratch = EMPTY;
    this.#writePos += bytes;
    this.#depth += to - from;
    this.#unsynced += to - from;
    this.#dataDirty = true;
  }

  #openWriteFile(): void {
    const fileName = this.#fileName(this.#writeFileNum);
    // A file started at position 0 must not keep stale bytes past what we write (they would be read).
    let flags = constants.O_RDWR | constants.O_CREAT;
    if (this.#writePos === 0) flags |= constants.O_TRUNC;
    this.#writeFd = openSync(fileName, flags, 0o600);
    this.#log("info", `DISKQUEUE(${this.#opts.name}): writeOne() opened ${fileName}`);
  }

  #roll(): void {
    if (this.#writeFd !== undefined) this.#rolledFds.push(this.#writeFd);
    this.#writeFd = undefined;
    // the reader's file, if it was this one, is now complete: its end becomes its size on disk
    if (this.#readFileNum === this.#writeFileNum) this.#readEnd = undefined;
    this.#writeFileNum++;
    this.#writePos = 0;
    this.#needSync = true;
  }

  // ---- reading ----

  /** Whether unread bytes remain (the reader is behind the writer). */
  #hasData(): boolean {
    return this.#readFileNum < this.#writeFileNum ||
      (this.#readFileNum === this.#writeFileNum && this.#readPos < this.#writePos);
  }

  /** The next record's length (its bytes are `#recordBuf[#recordOff..]`), or -1 when none is readable. */
  #next(): number {
    for (;;) {
      if (!this.#hasData()) {
        if (this.#readFileNum !== this.#writeFileNum || this.#readPos !== this.#writePos) {
          this.#checkTailCorruption();
        }
        if (this.#buf.length > KEEP_BUFFER) this.#releaseBuffer();
        return -1;
      }
      const older = this.#readFileNum < this.#writeFileNum;
      let end: number;
      let record: number | string;
      try {
        this.#openReadFile();
        end = older ? (this.#readEnd ??= fstatSync(this.#readFd!).size) : this.#writePos;
        if (this.#readPos >= end) {
          // only an older file: the reader reached its end (e.g. it was caught up when the writer rolled)
          if (this.#readPos > end) {
            this.#log(
              "warn",
              `DISKQUEUE(${this.#opts.name}) readPos ${this.#readPos} past the end (${end}) of ${
                this.#fileName(this.#readFileNum)
              }`,
            );
          }
          this.#moveToNextReadFile();
          this.#checkTailCorruption();
          continue;
        }
        record = this.#parseRecord(end);
      } catch (err) {
        record = errorText(err);
      }
      if (typeof record === "string") {
        this.#handleReadError(record);
        continue;
      }
      this.#readPos += 4 + record;
      this.#depth--;
      this.#reads++;
      this.#unsynced++;
      if (older && this.#readPos >= end!) this.#moveToNextReadFile();
      this.#checkTailCorruption();
      return record;
    }
  }

  /** The size of the record at readPos (its bytes in `#recordBuf` at `#recordOff`), or why it cannot be read. */
  #parseRecord(end: number): number | string {
    const left = end - this.#readPos;
    if (left < 4) return `unexpected EOF (${left} bytes left before ${end})`;
    let o = this.#fill(4, end);
    if (o < 0) return "unexpected EOF";
    const b = this.#buf;
    const size = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
    if (size < this.#opts.minMsgSize || size > this.#opts.maxMsgSize) {
      return `invalid message read size (${size})`;
    }
    if (4 + size > left) return `unexpected EOF (record of ${size} bytes, ${left - 4} left)`;
    o = this.#fill(4 + size, end);
    if (o < 0) return "unexpected EOF";
    if (this.#opts.retainRecords) this.#retain(o, 4 + size);
    else {
      this.#recordBuf = this.#buf;
      this.#recordOff = o + 4;
    }
    return size;
  }

  /**
   * Points `#recordBuf`/`#recordOff` at a copy of the record at `#buf[o..o+n)` (its 4-byte size first) that
   * nothing overwrites. The record is where the last copy put it if that copy held it; else what `#buf`
   * holds from `o` on is copied, as much as the segment has room for, into the segment (a new one if the
   * record does not fit). A record over a quarter of a segment is copied alone into its own array.
   */
  #retain(o: number, n: number): void {
    if (o < this.#segStart || o + n > this.#segEnd) {
      if (n > SEGMENT >> 2) {
        this.#recordBuf = this.#buf.slice(o + 4, o + n);
        this.#recordOff = 0;
        return;
      }
      if (this.#segUsed + n > this.#seg.length) {
        this.#seg = new Uint8Array(SEGMENT);
        this.#segUsed = 0;
      }
      const end = Math.min(this.#bufLen, o + this.#seg.length - this.#segUsed);
      this.#seg.set(this.#buf.subarray(o, end), this.#segUsed);
      this.#segBase = this.#segUsed;
      this.#segUsed += end - o;
      this.#segStart = o;
      this.#segEnd = end;
    }
    this.#recordBuf = this.#seg;
    this.#recordOff = this.#segBase + (o - this.#segStart) + 4;
  }

  /**
   * Makes the buffer hold bytes [readPos, readPos + need) of the read file, reading ahead up to a chunk but
   * never past `end`. Returns their offset in the buffer, or -1 on a short read.
   */
  #fill(need: number, end: number): number {
    const pos = this.#readPos;
    if (pos >= this.#bufPos && pos + need <= this.#bufPos + this.#bufLen) return pos - this.#bufPos;
    const want = Math.max(need, Math.min(this.#chunk, end - pos));
    if (this.#buf.length < want) {
      this.#buf = new Uint8Array(Math.max(want, Math.min(this.#chunk, this.#buf.length * 2)));
    }
    let got = 0;
    this.#bufLen = 0;
    this.#segEnd = -1;
    while (got < want) {
      const n = readSync(this.#readFd!, this.#buf, got, want - got, pos + got);
      if (n <= 0) break;
      got += n;
    }
    this.#bufPos = pos;
    this.#bufLen = got;
    return got >= need ? 0 : -1;
  }

  #openReadFile(): void {
    if (this.#readFd !== undefined) return;
    const fileName = this.#fileName(this.#readFileNum);
    this.#readFd = openSync(fileName, "r");
    this.#readEnd = undefined;
    this.#bufLen = 0;
    this.#log("info", `DISKQUEUE(${this.#opts.name}): readOne() opened ${fileName}`);
  }

  #closeReadFile(): void {
    if (this.#readFd !== undefined) {
      try {
        closeSync(this.#readFd);
      } catch { /* already gone */ }
    }
    this.#readFd = undefined;
    this.#readEnd = undefined;
    this.#bufLen = 0;
  }

  #releaseBuffer(): void {
    this.#buf = EMPTY;
    this.#bufLen = 0;
  }

  /** The reader is done with an older file: go on to the next; delete the old one after the next sync. */
  #moveToNextReadFile(): void {
    this.#closeReadFile();
    this.#pendingDeletes.push(this.#readFileNum);
    this.#readFileNum++;
    this.#readPos = 0;
    this.#needSync = true;
  }

  /** go-diskqueue's handleReadError: rename the file `.bad` and jump to the next one. */
  #handleReadError(reason: string): void {
    const name = this.#opts.name;
    const badFn = this.#fileName(this.#readFileNum);
    this.#log("error", `DISKQUEUE(${name}) reading at ${this.#readPos} of ${badFn} - ${reason}`);
    this.#closeReadFile();
    if (this.#readFileNum === this.#writeFileNum) {
      // can't read the current write file: skip writing past it too
      this.#retireWriteFd();
      this.#writeFileNum++;
      this.#writePos = 0;
    }
    const badRenameFn = `${badFn}.bad`;
    this.#log("warn", `DISKQUEUE(${name}) jump to next file and saving bad file as ${badRenameFn}`);
    try {
      renameSync(badFn, badRenameFn);
    } catch {
      this.#log("error", `DISKQUEUE(${name}) failed to rename bad diskqueue file ${badFn} to ${badRenameFn}`);
    }
    this.#readFileNum++;
    this.#readPos = 0;
    this.#needSync = true;
    this.#checkTailCorruption();
  }

  /**
   * go-diskqueue's checkTailCorruption: once the reader has caught up, a non-zero depth is reset to 0, and
   * positions that don't match (reader ahead of writer) make both skip to a fresh file.
   */
  #checkTailCorruption(): void {
    if (this.#hasData()) return;
    const name = this.#opts.name;
    if (this.#depth !== 0) {
      this.#log(
        "error",
        this.#depth < 0
          ? `DISKQUEUE(${name}) negative depth at tail (${this.#depth}), metadata corruption, resetting 0...`
          : `DISKQUEUE(${name}) positive depth at tail (${this.#depth}), data loss, resetting 0...`,
      );
      this.#depth = 0;
      this.#needSync = true;
    }
    if (this.#readFileNum !== this.#writeFileNum || this.#readPos !== this.#writePos) {
      if (this.#readFileNum > this.#writeFileNum) {
        this.#log(
          "error",
          `DISKQUEUE(${name}) readFileNum > writeFileNum (${this.#readFileNum} > ${this.#writeFileNum}), corruption, skipping to next writeFileNum and resetting 0...`,
        );
      }
      if (this.#readPos > this.#writePos) {
        this.#log(
          "error",
          `DISKQUEUE(${name}) readPos > writePos (${this.#readPos} > ${this.#writePos}), corruption, skipping to next writeFileNum and resetting 0...`,
        );
      }
      this.#skipToNextRWFile();
      this.#needSync = true;
    }
  }

  /** Deletes files readFileNum..writeFileNum and moves reader and writer to a fresh file. */
  #skipToNextRWFile(): void {
    this.#closeReadFile();
    this.#retireWriteFd();
    for (let n = this.#readFileNum; n <= this.#writeFileNum; n++) this.#removeFile(this.#fileName(n));
    const next = Math.max(this.#readFileNum, this.#writeFileNum) + 1;
    this.#readFileNum = this.#writeFileNum = next;
    this.#readPos = this.#writePos = 0;
    this.#depth = 0;
  }

  // ---- syncing ----

  /**
   * After every operation: sync now (syncEvery <= 1), start a background sync, or arm the timer. Under a hold,
   * only the data of a blocking put is fdatasynced. Returns false when a blocking sync failed.
   */
  #afterChange(): boolean {
    if (this.#exiting) return true;
    const dirty = this.#unsynced > 0 || this.#needSync;
    if (!dirty) return true;
    if (this.#holds > 0) return this.#opts.syncEvery <= 1 ? this.#syncData() : true;
    if (this.#opts.syncEvery <= 1) return this.#syncBlocking(this.#snapshot(false));
    if (!this.#syncFailed && (this.#needSync || this.#unsynced >= this.#opts.syncEvery)) this.#startSync();
    else this.#armTimer();
    return true;
  }

  /** fdatasyncs what was written (rolled files and the write file), without touching the metadata. */
  #syncData(): boolean {
    if (!this.#dataDirty) return true;
    try {
      for (const fd of this.#rolledFds) fdatasyncSync(fd);
      if (this.#writeFd !== undefined) fdatasyncSync(this.#writeFd);
      this.#dataDirty = false;
      return true;
    } catch (err) {
      this.#log("error", `DISKQUEUE(${this.#opts.name}) failed to sync - ${errorText(err)}`);
      return false;
    }
  }

  #armTimer(): void {
    if (this.#timer !== undefined || this.#syncing !== undefined || this.#exiting) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#startSync();
    }, Math.max(0, this.#opts.syncTimeoutMs));
  }

  #clearTimer(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Starts a background sync unless one is running (its completion looks again). */
  #startSync(): void {
    if (this.#syncing !== undefined || this.#exiting) return;
    if (this.#holds > 0) {
      this.#needSync = true; // releaseSync() syncs
      return;
    }
    const snap = this.#snapshot(true);
    this.#syncing = this.#syncAsync(snap).then((ok) => {
      this.#syncing = undefined;
      this.#syncFailed = !ok;
      if (this.#exiting) return;
      if (!ok) this.#needSync = true;
      this.#afterChange();
    });
  }

  /** Captures the positions and fds a sync covers; everything changed before now is part of it. */
  #snapshot(markBusy: boolean): Snapshot {
    this.#clearTimer();
    this.#unsynced = 0;
    this.#needSync = false;
    this.#dataDirty = false;
    const writeFd = this.#writeFd;
    if (markBusy && writeFd !== undefined) this.#busyFds.add(writeFd);
    return {
      seq: ++this.#seq,
      generation: this.#generation,
      depth: this.#depth,
      readFileNum: this.#readFileNum,
      readPos: this.#readPos,
      writeFileNum: this.#writeFileNum,
      writePos: this.#writePos,
      rolled: this.#rolledFds.splice(0),
      writeFd,
    };
  }

  #metadataText(s: Snapshot): string {
    return `${s.depth}\n${s.readFileNum},${s.readPos}\n${s.writeFileNum},${s.writePos}\n`;
  }

  #tmpName(): string {
    return `${this.#metaPath}.${Math.floor(Math.random() * Number.MAX_SAFE_INTEGER)}.tmp`;
  }

  #syncBlocking(s: Snapshot): boolean {
    let firstErr: unknown;
    for (const fd of s.rolled) {
      try {
        fdatasyncSync(fd);
      } catch (err) {
        firstErr ??= err;
      }
      this.#closeFd(fd);
    }
    try {
      if (firstErr !== undefined) throw firstErr;
      if (s.writeFd !== undefined) fdatasyncSync(s.writeFd);
      const tmp = this.#tmpName();
      const fd = openSync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o600);
      try {
        writeSync(fd, this.#metadataText(s));
        fsyncSync(fd);
      } catch (err) {
        closeSync(fd);
        this.#removeFile(tmp);
        throw err;
      }
      closeSync(fd);
      this.#commit(tmp, s);
      return true;
    } catch (err) {
      this.#log("error", `DISKQUEUE(${this.#opts.name}) failed to sync - ${errorText(err)}`);
      this.#needSync = true;
      return false;
    }
  }

  /** Same as #syncBlocking without blocking the event loop; never rejects. */
  async #syncAsync(s: Snapshot): Promise<boolean> {
    let firstErr: unknown;
    for (const fd of s.rolled) {
      try {
        await fdatasyncAsync(fd);
      } catch (err) {
        firstErr ??= err;
      }
      this.#closeFd(fd);
    }
    if (s.writeFd !== undefined) {
      try {
        if (firstErr === undefined) await fdatasyncAsync(s.writeFd);
      } catch (err) {
        firstErr = err;
      } finally {
        this.#busyFds.delete(s.writeFd);
        if (this.#closeAfterSync.delete(s.writeFd)) this.#closeFd(s.writeFd);
      }
    }
    try {
      if (firstErr !== undefined) throw firstErr;
      const tmp = this.#tmpName();
      const fh = await openAsync(tmp, constants.O_RDWR | constants.O_CREAT | constants.O_TRUNC, 0o600);
      try {
        await fh.writeFile(this.#metadataText(s));
        await fh.sync();
      } catch (err) {
        await fh.close();
        this.#removeFile(tmp);
        throw err;
      }
      await fh.close();
      this.#commit(tmp, s);
      return true;
    } catch (err) {
      this.#log("error", `DISKQUEUE(${this.#opts.name}) failed to sync - ${errorText(err)}`);
      return false;
    }
  }

  /**
   * Renames a written tmp file over the metadata unless the snapshot went stale (empty()/delete() since, or
   * a newer one landed), then deletes the fully read files the metadata no longer points to.
   */
  #commit(tmp: string, s: Snapshot): void {
    if (s.generation !== this.#generation || s.seq <= this.#persistedSeq) {
      this.#removeFile(tmp);
      return;
    }
    try {
      renameSync(tmp, this.#metaPath);
    } catch (err) {
      this.#removeFile(tmp);
      throw err;
    }
    this.#persistedSeq = s.seq;
    const keep: number[] = [];
    for (const n of this.#pendingDeletes) {
      if (n < s.readFileNum) {
        const fileName = this.#fileName(n);
        try {
          unlinkSync(fileName);
        } catch (err) {
          this.#log(
            "error",
            `DISKQUEUE(${this.#opts.name}) failed to Remove(${fileName}) - ${errorText(err)}`,
          );
        }
      } else keep.push(n);
    }
    this.#pendingDeletes = keep;
  }

  // ---- closing ----

  async #close(): Promise<void> {
    this.#exiting = true;
    this.#log("info", `DISKQUEUE(${this.#opts.name}): closing`);
    this.#clearTimer();
    if (this.#syncing) await this.#syncing;
    if (this.#opts.syncEvery <= 1) this.#syncBlocking(this.#snapshot(false));
    else await this.#syncAsync(this.#snapshot(true));
    this.#closeAllFds();
  }

  #closeAllFds(): void {
    this.#closeReadFile();
    this.#releaseBuffer();
    this.#retireWriteFd();
    for (const fd of this.#rolledFds.splice(0)) this.#closeFd(fd);
    for (const fd of this.#closeAfterSync) this.#closeFd(fd);
    this.#closeAfterSync.clear();
  }

  // ---- helpers ----

  #retireWriteFd(): void {
    const fd = this.#writeFd;
    this.#writeFd = undefined;
    if (fd !== undefined) this.#closeFd(fd);
  }

  /** Closes an fd now, or after the in-flight sync that is fdatasyncing it. */
  #closeFd(fd: number): void {
    if (this.#busyFds.has(fd)) {
      this.#closeAfterSync.add(fd);
      return;
    }
    try {
      closeSync(fd);
    } catch { /* already closed */ }
  }

  /** Unlinks a file; a missing one is fine, another failure is logged and returned. */
  #removeFile(path: string): unknown {
    try {
      unlinkSync(path);
    } catch (err) {
      if (errorCode(err) === "ENOENT") return undefined;
      this.#log("error", `DISKQUEUE(${this.#opts.name}) failed to remove ${path} - ${errorText(err)}`);
      return err;
    }
    return undefined;
  }

  #fileName(n: number): string {
    return join(this.#opts.dataPath, `${this.#opts.name}.diskqueue.${String(n).padStart(6, "0")}.dat`);
  }

  #log(level: "debug" | "info" | "warn" | "error", msg: string): void {
    try {
      this.#opts.log(level, msg);
    } catch { /* a failing logger must not break the queue */ }
  }
}
