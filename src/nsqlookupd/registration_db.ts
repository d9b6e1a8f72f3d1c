/**
 * nsqlookupd's registration DB (nsq `nsqlookupd/registration_db.go`, shared/nsq-reference.md §5.2):
 * a map from a `Registration` — `client::`, `topic:<t>:` or `channel:<t>:<c>` — to the producers
 * (nsqd peers) registered under it, keyed by peer id (the peer's `ip:port`).
 *
 * Keys outlive their producers on purpose: a connection that goes away removes its producers but
 * leaves the keys, so `/topics` and `/lookup` still know the topic (upstream's `TestBasicLookupd`).
 * Only ephemeral keys are dropped when their last producer UNREGISTERs, and only by the protocol.
 *
 * Iteration follows insertion order (Go's map order is random, so any order is upstream's order).
 */

/** The three categories of registrations. */
export const Category = { Client: "client", Topic: "topic", Channel: "channel" } as const;

/** A registration key. `*` in a query's `key` or `subKey` matches anything. */
export interface Registration {
  readonly category: string;
  readonly key: string;
  readonly subKey: string;
}

/** What an nsqd told us in IDENTIFY, plus where it connected from. Shared by all its producers. */
export interface PeerInfo {
  /** The connection's remote `ip:port`: unique per connected nsqd. */
  readonly id: string;
  readonly remoteAddress: string;
  readonly hostname: string;
  readonly broadcastAddress: string;
  readonly tcpPort: number;
  readonly httpPort: number;
  readonly version: string;
  readonly topologyZone: string;
  readonly topologyRegion: string;
  /** Unix nanoseconds of the IDENTIFY or the last PING. */
  lastUpdate: bigint;
}

/** Go's `time.Time{}.UnixNano()`: what `/debug` shows as `tombstoned_at` of a live producer. */
export const ZERO_TIME_UNIX_NANOS = -6795364578871345152n;

/** Now, in Unix nanoseconds (microsecond resolution). */
export function unixNanos(): bigint {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  return BigInt(whole) * 1_000_000n + BigInt(Math.floor((ms - whole) * 1000)) * 1000n;
}

/** Milliseconds → nanoseconds, for comparing durations given in ms with bigint clocks. */
function msToNanos(ms: number): bigint {
  return BigInt(Math.round(ms * 1e6));
}

/**
 * One peer under one registration. A new object per registration, so a tombstone (set on the
 * `topic:<t>` producer) stays local to that topic; the peer info is shared.
 */
export class Producer {
  readonly peerInfo: PeerInfo;
  tombstoned = false;
  /** Unix nanoseconds; null until tombstoned (Go's zero time). */
  tombstonedAt: bigint | null = null;

  constructor(peerInfo: PeerInfo) {
    this.peerInfo = peerInfo;
  }

  /** Hides this producer from `/lookup` for the tombstone lifetime. */
  tombstone(now: bigint = unixNanos()): void {
    this.tombstoned = true;
    this.tombstonedAt = now;
  }

  /** Whether the tombstone still counts: set less than `lifetimeMs` ago. */
  isTombstoned(lifetimeMs: number, now: bigint = unixNanos()): boolean {
    return this.tombstoned && this.tombstonedAt !== null && now - this.tombstonedAt < msToNanos(lifetimeMs);
  }

  /** `BroadcastAddress [tcp, http]`, as upstream's `Producer.String`. */
  toString(): string {
    const p = this.peerInfo;
    return `${p.broadcastAddress} [${p.tcpPort}, ${p.httpPort}]`;
  }
}

/** Whether `r` matches `query`; `*` as the query's key or subKey matches any value (the category never). */
export function isMatch(r: Registration, query: Registration): boolean {
  if (query.category !== r.category) return false;
  if (query.key !== "*" && r.key !== query.key) return false;
  if (query.subKey !== "*" && r.subKey !== query.subKey) return false;
  return true;
}

/** The registrations of `regs` that match `query` (upstream's `Registrations.Filter`). */
export function filterRegistrations(regs: readonly Registration[], query: Registration): Registration[] {
  return regs.filter((r) => isMatch(r, query));
}

/** The `key` of each registration (topic names). */
export function registrationKeys(regs: readonly Registration[]): string[] {
  return regs.map((r) => r.key);
}

/** The `subKey` of each registration (channel names). */
export function registrationSubKeys(regs: readonly Registration[]): string[] {
  return regs.map((r) => r.subKey);
}

/** How `filterByActive` judges producers. */
export interface ActiveFilter {
  /** A producer whose last IDENTIFY/PING is older than this is inactive (`--inactive-producer-timeout`). */
  inactiveMs: number;
  /** A tombstone counts for this long (`--tombstone-lifetime`); 0 ignores tombstones, as `/nodes` does. */
  tombstoneLifetimeMs: number;
  /** The clock, Unix nanoseconds (default: now). */
  now?: bigint;
}

/** The producers that are active and not tombstoned (upstream's `Producers.FilterByActive`). */
export function filterByActive(producers: readonly Producer[], filter: ActiveFilter): Producer[] {
  const now = filter.now ?? unixNanos();
  const timeout = msToNanos(filter.inactiveMs);
  return producers.filter((p) =>
    !(now - p.peerInfo.lastUpdate > timeout || p.isTombstoned(filter.tombstoneLifetimeMs, now))
  );
}

/** The `/debug` key of a registration: `category:key:subKey`. */
export function registrationName(r: Registration): string {
  return `${r.category}:${r.key}:${r.subKey}`;
}

interface Entry {
  readonly registration: Registration;
  readonly producers: Map<string, Producer>;
}

function mapKey(category: string, key: string, subKey: string): string {
  return JSON.stringify([category, key, subKey]);
}

function needsScan(key: string, subKey: string): boolean {
  return key === "*" || subKey === "*";
}

export class RegistrationDb {
  readonly #entries = new Map<string, Entry>();

  /** Adds a key with no producers, if absent (`/topic/create`, `/channel/create`). */
  addRegistration(r: Registration): void {
    this.#entry(r);
  }

  /**
   * Adds `p` under `r` unless a producer with the same peer id is there already — then the
   * existing object stays, with its tombstone. Returns whether `p` was added.
   */
  addProducer(r: Registration, p: Producer): boolean {
    const producers = this.#entry(r).producers;
    if (producers.has(p.peerInfo.id)) return false;
    producers.set(p.peerInfo.id, p);
    return true;
  }

  /** Removes peer `id` from `r` (the key stays, even when empty). */
  removeProducer(r: Registration, id: string): { removed: boolean; left: number } {
    const entry = this.#entries.get(mapKey(r.category, r.key, r.subKey));
    if (entry === undefined) return { removed: false, left: 0 };
    const removed = entry.producers.delete(id);
    return { removed, left: entry.producers.size };
  }

  /** Removes a key and its producers. */
  removeRegistration(r: Registration): void {
    this.#entries.delete(mapKey(r.category, r.key, r.subKey));
  }

  /** The keys matching the query (`*` wildcards in key/subKey). */
  findRegistrations(category: string, key: string, subKey: string): Registration[] {
    if (!needsScan(key, subKey)) {
      const entry = this.#entries.get(mapKey(category, key, subKey));
      return entry === undefined ? [] : [entry.registration];
    }
    const out: Registration[] = [];
    for (const { registration } of this.#entries.values()) {
      if (isMatch(registration, { category, key, subKey })) out.push(registration);
    }
    return out;
  }

  /**
   * The producers under the keys matching the query; with wildcards, one producer per peer id
   * (the first one met).
   */
  findProducers(category: string, key: string, subKey: string): Producer[] {
    if (!needsScan(key, subKey)) {
      const entry = this.#entries.get(mapKey(category, key, subKey));
      return entry === undefined ? [] : [...entry.producers.values()];
    }
    const seen = new Set<string>();
    const out: Producer[] = [];
    for (const { registration, producers } of this.#entries.values()) {
      if (!isMatch(registration, { category, key, subKey })) continue;
      for (const p of producers.values()) {
        if (seen.has(p.peerInfo.id)) continue;
        seen.add(p.peerInfo.id);
        out.push(p);
      }
    }
    return out;
  }

  /** Every key peer `id` is registered under. */
  lookupRegistrations(id: string): Registration[] {
    const out: Registration[] = [];
    for (const { registration, producers } of this.#entries.values()) {
      if (producers.has(id)) out.push(registration);
    }
    return out;
  }

  /** Every key with its producers, for `/debug` and `/metrics`. */
  *entries(): IterableIterator<[Registration, Producer[]]> {
    for (const { registration, producers } of this.#entries.values()) {
      yield [registration, [...producers.values()]];
    }
  }

  #entry(r: Registration): Entry {
    const k = mapKey(r.category, r.key, r.subKey);
    let entry = this.#entries.get(k);
    if (entry === undefined) {
      // Copy: the caller's object must not alias a stored key.
      const registration = { category: r.category, key: r.key, subKey: r.subKey };
      entry = { registration, producers: new Map() };
      this.#entries.set(k, entry);
    }
    return entry;
  }
}
