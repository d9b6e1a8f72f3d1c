/**
 * One topic's output of nsq_to_file (upstream `apps/nsq_to_file/file_logger.go`,
 * shared/nsq-reference.md §10.5): writes each body plus `\n` to the current file, rotates (by
 * datetime, age, size), gzips, moves finished files from the work dir to the output dir, and
 * keeps every written message un-FINed until the bytes are on disk: a message is acknowledged only
 * after the fsync that covers it (a "sync": on the timer, a full buffer, a starved consumer, a
 * rotation, SIGHUP and exit).
 *
 * All file I/O is synchronous (node:fs): one message is handled at a time, so a write, a sync and
 * the FINs that follow it can never interleave with another message.
 */
import {
  closeSync,
  constants,
  existsSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import type { ConsumerMessage } from "../client/message.ts";
import type { Logger } from "../internal/logger.ts";
import { concatBytes } from "../protocol/bytes.ts";
import { strftime } from "./strftime.ts";

/** How the files of a topic are named, written and rotated. */
export interface FileLoggerOptions {
  /** Where finished files go. */
  outputDir: string;
  /** Where files are written (same as `outputDir`: no move). */
  workDir: string;
  /** `--filename-format` with `<TOPIC> <HOST> <PID> <DATETIME> <REV>`. */
  filenameFormat: string;
  /** strftime format of `<DATETIME>`. */
  datetimeFormat: string;
  /** Replaces `<HOST>`: the short host name, or `--host-identifier` with its own tokens replaced. */
  hostIdentifier: string;
  /** Process id for `<PID>`. */
  pid: number;
  /** 0 = plain text, else the gzip level (1–9). */
  gzipLevel: number;
  /** Rotate once more than this many (uncompressed) bytes are in the file; 0 = never. */
  rotateSize: number;
  /** Rotate files older than this (ms); 0 = never. */
  rotateInterval: number;
  /** On the timer, close a file due for rotation instead of opening a new (empty) one. */
  skipEmptyFiles: boolean;
  /** Messages kept un-FINed before a sync is forced. */
  maxInFlight: number;
}

/**
 * Upstream's file name of a topic (computed once; `<DATETIME>` and `<REV>` are filled at each
 * open).
 * @throws {Error} `missing <REV> …` when rotation, gzip or a work dir need a revision in the name
 */
export function topicFileName(topic: string, o: FileLoggerOptions): string {
  let name = o.filenameFormat.replaceAll("<TOPIC>", topic).replaceAll("<HOST>", o.hostIdentifier)
    .replaceAll("<PID>", String(o.pid));
  const needRev = o.gzipLevel > 0 || o.rotateSize > 0 || o.rotateInterval > 0 || o.workDir !== o.outputDir;
  if (needRev) {
    if (!name.includes("<REV>")) {
      throw new Error("missing <REV> in --filename-format when gzip, rotation, or work dir enabled");
    }
  } else {
    name = name.replaceAll("<REV>", "");
  }
  if (o.gzipLevel > 0 && !name.endsWith(".gz")) name += ".gz";
  return name;
}

const EMPTY = new Uint8Array(0);
const NEWLINE = 0x0a;

/** The files of one topic. Methods throw on I/O errors: the caller logs FATAL and exits. */
export class FileLogger {
  readonly #o: FileLoggerOptions;
  readonly #name: string;
  readonly #log: Logger;
  readonly #tag: string;
  #fd: number | null = null;
  /** Path of the open file (under the work dir) and its name relative to it. */
  #path = "";
  #rel = "";
  #datetime = "";
  #rev = 0;
  #opened = false;
  #openedAt = 0;
  /** Uncompressed bytes in the open file (on-disk size at open + what this process wrote). */
  #size = 0;
  /** gzip: bodies written since the last sync (one gzip member per sync). */
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #wroteMember = false;
  /** Written, not yet FINed. */
  #unsynced: ConsumerMessage[] = [];

  /**
   * @param topic the topic (for the file name and log lines)
   * @param channel the channel (log lines)
   * @throws {Error} the file name format lacks `<REV>` where one is needed
   */
  constructor(topic: string, channel: string, options: FileLoggerOptions, log: Logger) {
    this.#o = options;
    this.#name = topicFileName(topic, options);
    this.#log = log;
    this.#tag = `[${topic}/${channel}]`;
  }

  /** Messages written and waiting for a sync. */
  get unsynced(): number {
    return this.#unsynced.length;
  }

  /** Writes one message (rotating first if due); syncs when the buffer is full or the consumer starves. */
  write(msg: ConsumerMessage, starved: boolean): void {
    const now = Date.now();
    if (this.#needsRotation(now)) this.#rotate(now);
    const body = msg.body;
    const line = new Uint8Array(body.length + 1);
    line.set(body);
    line[body.length] = NEWLINE;
    if (this.#o.gzipLevel > 0) {
      this.#pending.push(line);
      this.#pendingBytes += line.length;
    } else {
      writeAll(this.#fd!, line);
    }
    this.#size += line.length;
    this.#unsynced.push(msg);
    if (this.#unsynced.length >= this.#o.maxInFlight || starved) this.sync();
  }

  /** The sync timer: rotate (or, with `skipEmptyFiles`, close) a file that is due, then sync. */
  tick(): void {
    const now = Date.now();
    if (this.#needsRotation(now)) {
      if (this.#o.skipEmptyFiles) this.close();
      else this.#rotate(now);
    }
    this.sync();
  }

  /** Writes pending gzip data as one member, fsyncs, then FINs every message written so far. */
  sync(): void {
    if (this.#fd === null) return;
    if (this.#pendingBytes > 0) {
      const data = concatBytes(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
      writeAll(this.#fd, gzipSync(data, { level: this.#o.gzipLevel }));
      this.#wroteMember = true;
    }
    fsyncSync(this.#fd);
    const n = this.#unsynced.length;
    if (n === 0) return;
    this.#log.info(`${this.#tag} syncing ${n} records to disk`);
    const msgs = this.#unsynced;
    this.#unsynced = [];
    for (const msg of msgs) msg.finish();
  }

  /** Syncs and closes the open file, then moves it from the work dir to the output dir. */
  close(): void {
    if (this.#fd === null) return;
    this.sync();
    const fd = this.#fd;
    // A gzip file must hold at least one member to be valid gzip.
    if (this.#o.gzipLevel > 0 && !this.#wroteMember && this.#size === 0) {
      writeAll(fd, gzipSync(EMPTY, { level: this.#o.gzipLevel }));
      fsyncSync(fd);
    }
    closeSync(fd);
    this.#fd = null;
    if (this.#o.workDir !== this.#o.outputDir) this.#move();
  }

  #needsRotation(now: number): boolean {
    if (this.#fd === null) return true;
    if (strftime(this.#o.datetimeFormat, new Date(now)) !== this.#datetime) return true;
    if (this.#o.rotateInterval > 0 && now - this.#openedAt > this.#o.rotateInterval) return true;
    return this.#o.rotateSize > 0 && this.#size > this.#o.rotateSize;
  }

  #rotate(now: number): void {
    this.close();
    const datetime = strftime(this.#o.datetimeFormat, new Date(now));
    if (!this.#opened || datetime !== this.#datetime) this.#rev = 0;
    else this.#rev++;
    this.#datetime = datetime;
    this.#opened = true;
    this.#open(now);
  }

  #fileName(rev: number): string {
    return this.#name.replaceAll("<DATETIME>", this.#datetime)
      .replaceAll("<REV>", `-${String(rev).padStart(6, "0")}`);
  }

  #open(now: number): void {
    const o = this.#o;
    const exclusive = o.gzipLevel > 0 || o.rotateInterval > 0;
    const flags = constants.O_CREAT | constants.O_WRONLY |
      (exclusive ? constants.O_EXCL : constants.O_APPEND);
    for (;; this.#rev++) {
      const rel = this.#fileName(this.#rev);
      const path = join(o.workDir, rel);
      if (o.workDir !== o.outputDir && existsSync(join(o.outputDir, rel))) continue;
      mkdirSync(dirname(path), { recursive: true, mode: 0o770 });
      let fd: number;
      try {
        fd = openSync(path, flags, 0o666);
      } catch (err) {
        if (exclusive && (err as { code?: string }).code === "EEXIST") continue;
        throw err;
      }
      const size = fstatSync(fd).size;
      if (o.rotateSize > 0 && size > o.rotateSize) {
        closeSync(fd);
        continue;
      }
      fsyncDir(dirname(path));
      this.#log.info(`${this.#tag} opening ${path}`);
      this.#fd = fd;
      this.#path = path;
      this.#rel = rel;
      this.#size = size;
      this.#openedAt = now;
      this.#wroteMember = false;
      return;
    }
  }

  /** Hard link into the output dir (under the next free revision if taken), then unlink. */
  #move(): void {
    const o = this.#o;
    let rel = this.#rel;
    for (let rev = this.#rev;; rev++) {
      if (rev !== this.#rev) rel = this.#fileName(rev);
      const dst = join(o.outputDir, rel);
      mkdirSync(dirname(dst), { recursive: true, mode: 0o770 });
      try {
        linkSync(this.#path, dst);
      } catch (err) {
        if ((err as { code?: string }).code === "EEXIST") continue;
        throw err;
      }
      fsyncDir(dirname(dst));
      unlinkSync(this.#path);
      this.#log.info(`${this.#tag} moved ${this.#path} to ${dst}`);
      return;
    }
  }
}

function writeAll(fd: number, bytes: Uint8Array): void {
  let off = 0;
  while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
}

/** Makes a new directory entry durable (best effort: not every platform can fsync a directory). */
function fsyncDir(path: string): void {
  try {
    const fd = openSync(path, constants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch { /* best effort */ }
}
