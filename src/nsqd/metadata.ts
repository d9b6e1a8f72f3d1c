/**
 * `<data-path>/nsqd.dat` (nsq `nsqd/nsqd.go` `LoadMetadata`/`PersistMetadata`, shared/nsq-reference.md
 * §3.8): the non-ephemeral topics and channels with their paused flags, in upstream's JSON (plus, only when
 * set, `max_msg_age` and `max_depth`, which upstream's reader ignores), written
 * to a temp file, fsynced and renamed. Writes are coalesced and spaced out in a burst of changes (see
 * `MetadataWriter`); at start, topics and channels with files but not in nsqd.dat are created again.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { NSQ_VERSION } from "../internal/version.ts";
import { writeFileAtomic } from "./diskqueue/atomic_file.ts";
import { DEFERRED_TIMES_SUFFIX } from "./diskqueue/deferred_times.ts";
import { DiskQueue } from "./diskqueue/disk_queue.ts";
import { UNACKED_LOG_SUFFIX } from "./diskqueue/unacked_log.ts";

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
    const topics = Array.isArray(m?.topics) ? m.topics : null;
    // What is not a list is no list (as for `topics`): a channel with files comes back anyway.
    for (const t of topics ?? []) {
      if (typeof t === "object" && t !== null && !Array.isArray(t.channels)) t.channels = null;
    }
    return { topics, version: String(m?.version ?? "") };
  } catch (err) {
    throw new Error(`failed to parse metadata in ${file} - ${(err as Error).message}`);
  }
}

/**
 * The topics and channels that have files in `dataPath` (disk queue metadata or data, an unacknowledged log,
 * deferred due times), in name order. For the ones a crash kept out of nsqd.dat.
 */
export function queuesWithFiles(dataPath: string): { topic: string; channel: string | undefined }[] {
  const out = new Map<string, { topic: string; channel: string | undefined }>();
  for (const file of readdirSync(dataPath).sort()) {
    const name = DiskQueue.nameOfFile(file) ?? withoutSuffix(file, UNACKED_LOG_SUFFIX) ??
      withoutSuffix(file, DEFERRED_TIMES_SUFFIX);
    if (name === undefined || out.has(name)) continue;
    const colon = name.indexOf(":");
    out.set(
      name,
      colon < 0 ? { topic: name, channel: undefined } : {
        topic: name.slice(0, colon),
        channel: name.slice(colon + 1),
      },
    );
  }
  return [...out.values()];
}

function withoutSuffix(file: string, suffix: string): string | undefined {
  return file.length > suffix.length && file.endsWith(suffix) ? file.slice(0, -suffix.length) : undefined;
}

/** The longest a change waits before nsqd.dat is rewritten (see `MetadataWriter`). */
export const MAX_METADATA_DELAY_MS = 1000;

/**
 * Persists nsqd.dat on request, at most one write at a time, the latest state always last. A request
 * after a quiet spell is written on the next turn of the event loop; in a burst (ten thousand topics
 * created in a row) the next write waits until nine times the last write's duration has passed since it
 * ended (at most `MAX_METADATA_DELAY_MS`), so rewrites of the whole file take at most a tenth of the time
 * instead of growing with the square of the number of topics.
 */
export class MetadataWriter {
  readonly #file: string;
  readonly #source: MetadataSource;
  readonly #onError: (err: Error) => void;
  readonly #now: () => number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the next write may start (ms, `#now`'s clock). */
  #notBefore = 0;

  constructor(
    dataPath: string,
    source: MetadataSource,
    onError: (err: Error) => void,
    now: () => number = () => performance.now(),
  ) {
    this.#file = metadataFileName(dataPath);
    this.#source = source;
    this.#onError = onError;
    this.#now = now;
  }

  /** Writes soon: coalesced with the requests that come before the write. */
  request(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.writeNow();
    }, Math.max(0, this.#notBefore - this.#now()));
  }

  /** Whether a write is pending. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  /** Drops a pending request (the caller writes now instead). */
  cancel(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Writes now; errors go to the error callback. */
  writeNow(): boolean {
    const started = this.#now();
    try {
      const json = JSON.stringify(buildMetadata(this.#source));
      writeFileAtomic(this.#file, new TextEncoder().encode(json));
      return true;
    } catch (err) {
      this.#onError(err as Error);
      return false;
    } finally {
      const ended = this.#now();
      this.#notBefore = ended + Math.min(MAX_METADATA_DELAY_MS, 9 * (ended - started));
    }
  }
}
