/**
 * `<data-path>/nsqd.dat` (nsq `nsqd/nsqd.go` `LoadMetadata`/`PersistMetadata`, shared/nsq-reference.md
 * §3.8): the non-ephemeral topics and channels with their paused flags, in upstream's JSON (plus, only when
 * set, `max_msg_age` and `max_depth`, which upstream's reader ignores), written
 * to a temp file, fsynced and renamed. Writes are serialised and coalesced: a change made while a
 * write is under way is written right after it.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import { NSQ_VERSION } from "../internal/version.ts";

export interface ChannelMetadata {
  name: string;
  paused: boolean;
  /** Beyond upstream, only when set (upstream's reader ignores unknown fields): the channel's max depth. */
  max_depth?: number;
}

export interface TopicMetadata {
  name: string;
  paused: boolean;
  channels: ChannelMetadata[] | null;
  /** Beyond upstream, only when set: the topic's own max message age in ns (a Go `time.Duration`). */
  max_msg_age?: number;
}

export interface Metadata {
  topics: TopicMetadata[] | null;
  version: string;
}

/** What the metadata is made from (the nsqd's topics, ephemeral ones included; they are skipped). */
export interface MetadataSource {
  readonly topics: readonly {
    readonly name: string;
    readonly ephemeral: boolean;
    readonly paused: boolean;
    /** ms; 0 = none. */
    readonly maxMsgAge: number;
    readonly channels: readonly {
      readonly name: string;
      readonly ephemeral: boolean;
      readonly paused: boolean;
      readonly maxDepth: number;
    }[];
  }[];
}

export function metadataFileName(dataPath: string): string {
  return join(dataPath, "nsqd.dat");
}

/** `GetMetadata(false)`: ephemeral topics and channels are left out; empty lists are null. */
export function buildMetadata(src: MetadataSource): Metadata {
  const topics: TopicMetadata[] = [];
  for (const t of src.topics) {
    if (t.ephemeral) continue;
    const channels: ChannelMetadata[] = [];
    for (const c of t.channels) {
      if (c.ephemeral) continue;
      const cm: ChannelMetadata = { name: c.name, paused: c.paused };
      if (c.maxDepth > 0) cm.max_depth = c.maxDepth;
      channels.push(cm);
    }
    const tm: TopicMetadata = {
      name: t.name,
      paused: t.paused,
      channels: channels.length > 0 ? channels : null,
    };
    if (t.maxMsgAge > 0) tm.max_msg_age = Math.round(t.maxMsgAge * 1e6);
    topics.push(tm);
  }
  return { topics: topics.length > 0 ? topics : null, version: NSQ_VERSION };
}

/** Reads nsqd.dat; null when there is none (a fresh start). Throws when it cannot be parsed. */
export function readMetadata(dataPath: string): Metadata | null {
  const file = metadataFileName(dataPath);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return null;
    throw err;
  }
  try {
    const m = JSON.parse(text) as Metadata;
    return { topics: Array.isArray(m?.topics) ? m.topics : null, version: String(m?.version ?? "") };
  } catch (err) {
    throw new Error(`failed to parse metadata in ${file} - ${(err as Error).message}`);
  }
}

/** Writes `data` to `file` atomically: temp file, fsync, rename (synchronous: rare and small). */
export function writeFileAtomic(file: string, data: string): void {
  const tmp = `${file}.${Math.floor(Math.random() * 2 ** 53)}.tmp`;
  const fd = openSync(tmp, "w", 0o600);
  try {
    const bytes = new TextEncoder().encode(data);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, file);
}

/** Persists nsqd.dat on request, at most one write at a time, the latest state always last. */
export class MetadataWriter {
  readonly #dataPath: string;
  readonly #source: MetadataSource;
  readonly #onError: (err: Error) => void;
  #scheduled = false;

  constructor(dataPath: string, source: MetadataSource, onError: (err: Error) => void) {
    this.#dataPath = dataPath;
    this.#source = source;
    this.#onError = onError;
  }

  #timer: ReturnType<typeof setTimeout> | undefined;

  /** Writes soon (coalesced with other requests in the same turn of the event loop). */
  request(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#timer = setTimeout(() => {
      this.#scheduled = false;
      this.#timer = undefined;
      this.writeNow();
    }, 0);
  }

  /** Drops a pending request (the caller writes now instead). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#scheduled = false;
  }

  /** Writes now; errors go to the error callback. */
  writeNow(): boolean {
    try {
      writeFileAtomic(metadataFileName(this.#dataPath), JSON.stringify(buildMetadata(this.#source)));
      return true;
    } catch (err) {
      this.#onError(err as Error);
      return false;
    }
  }
}
