/**
 * The in-flight (or deferred) messages of a channel by ID. IDs are 16 bytes kept in the message's
 * buffer, and a FIN carries them as bytes, so the index is keyed by a 32-bit FNV-1a hash of those
 * bytes: no string is made and hashed per message, and equal hashes are told apart by comparing the
 * full IDs.
 */
import { idEquals, idEqualsString, type Message } from "../protocol/message.ts";

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/**
 * FNV-1a of a 16-character ID string (each character is one byte), cut to 30 bits so it stays a small
 * integer in the engines (no boxed number per key).
 */
export function idHash(id: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ id.charCodeAt(i), FNV_PRIME);
  return h & 0x3fffffff;
}

/** The same hash of 16 ID bytes at `off`. */
export function idHashBytes(buf: Uint8Array, off: number): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < 16; i++) h = Math.imul(h ^ buf[off + i], FNV_PRIME);
  return h & 0x3fffffff;
}

/** A message's ID hash, computed once and kept on the message. */
function keyOf(msg: Message): number {
  let k = msg.idKey;
  if (k < 0) k = msg.idKey = idHashBytes(msg.data, msg.off);
  return k;
}

/** Smallest table: 64 slots. */
const MIN_CAPACITY = 64;
const EMPTY = -1;
/** Tables up to this many slots are never shrunk. */
const SHRINK_ABOVE = 65536;
/**
 * The table of every index that has never held a message (all slots EMPTY, never written): an idle
 * channel's two indexes cost no table of their own. `add()` replaces it first.
 */
const NO_KEYS = new Int32Array(MIN_CAPACITY).fill(EMPTY);
const NO_VALS: (Message | undefined)[] = new Array(MIN_CAPACITY).fill(undefined);

/**
 * An open-addressing hash table (linear probing, backward-shift deletion) keyed by the ID hash:
 * a Map<number, Message> churned by one add and one delete per message spent a large share of a
 * consumer's CPU in rehashing; this table only grows or shrinks by doubling.
 */
export class InFlightIndex {
  /** The key of each slot (an ID hash), or EMPTY. */
  #keys = NO_KEYS;
  #vals = NO_VALS;
  #mask = MIN_CAPACITY - 1;
  #size = 0;
  readonly #shrinkAbove: number;

  /** `shrinkAbove`: tables up to this many slots are never shrunk (tests lower it). */
  constructor(shrinkAbove = SHRINK_ABOVE) {
    this.#shrinkAbove = shrinkAbove;
  }

  get size(): number {
    return this.#size;
  }

  /** The message whose ID is `id` (an ID string from REQ, TOUCH or the HTTP API). */
  get(id: string): Message | undefined {
    if (id.length !== 16) return undefined;
    const h = idHash(id);
    const keys = this.#keys;
    const mask = this.#mask;
    for (let i = h & mask; keys[i] !== EMPTY; i = (i + 1) & mask) {
      if (keys[i] === h && idEqualsString(this.#vals[i]!, id)) return this.#vals[i];
    }
    return undefined;
  }

  /** The message whose ID is the 16 bytes at `buf[off]`. */
  getAt(buf: Uint8Array, off: number): Message | undefined {
    const h = idHashBytes(buf, off);
    const keys = this.#keys;
    const mask = this.#mask;
    for (let i = h & mask; keys[i] !== EMPTY; i = (i + 1) & mask) {
      if (keys[i] === h && idEquals(this.#vals[i]!, buf, off)) return this.#vals[i];
    }
    return undefined;
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds a message; false (and nothing added) when a message with its ID is already in. */
  add(msg: Message): boolean {
    if (this.#keys === NO_KEYS) this.#resize(MIN_CAPACITY);
    const h = keyOf(msg);
    const keys = this.#keys;
    const mask = this.#mask;
    let i = h & mask;
    for (; keys[i] !== EMPTY; i = (i + 1) & mask) {
      if (keys[i] === h && idEquals(this.#vals[i]!, msg.data, msg.off)) return false;
    }
    keys[i] = h;
    this.#vals[i] = msg;
    if (++this.#size * 2 > keys.length) this.#resize(keys.length * 2);
    return true;
  }

  delete(msg: Message): void {
    const h = keyOf(msg);
    const keys = this.#keys;
    const vals = this.#vals;
    const mask = this.#mask;
    let i = h & mask;
    for (;; i = (i + 1) & mask) {
      if (keys[i] === EMPTY) return;
      if (vals[i] === msg) break;
    }
    // Backward-shift deletion: move later entries of the probe run into the hole so that every
    // entry stays reachable from its home slot without tombstones.
    let hole = i;
    for (let j = (i + 1) & mask; keys[j] !== EMPTY; j = (j + 1) & mask) {
      const home = keys[j] & mask;
      // Can the entry at j move to the hole (is the hole on its probe path home..j)?
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        keys[hole] = keys[j];
        vals[hole] = vals[j];
        hole = j;
      }
    }
    keys[hole] = EMPTY;
    vals[hole] = undefined;
    this.#size--;
    // Shrink lazily: an in-flight count that swings between 0 and the RDY total must not rehash on
    // every swing (small tables are never shrunk; large ones once nearly empty).
    if (keys.length > this.#shrinkAbove && this.#size * 32 < keys.length) {
      this.#resize(Math.max(MIN_CAPACITY, keys.length / 4));
    }
  }

  /** Calls `fn` with every message (in table order). */
  forEach(fn: (msg: Message) => void): void {
    const vals = this.#vals;
    for (let i = 0; i < vals.length; i++) {
      const m = vals[i];
      if (m !== undefined) fn(m);
    }
  }

  clear(): void {
    this.#keys = NO_KEYS;
    this.#vals = NO_VALS;
    this.#mask = MIN_CAPACITY - 1;
    this.#size = 0;
  }

  #resize(capacity: number): void {
    const oldKeys = this.#keys;
    const oldVals = this.#vals;
    const keys = new Int32Array(capacity).fill(EMPTY);
    const vals: (Message | undefined)[] = new Array(capacity).fill(undefined);
    const mask = capacity - 1;
    for (let k = 0; k < oldKeys.length; k++) {
      const h = oldKeys[k];
      if (h === EMPTY) continue;
      let i = h & mask;
      while (keys[i] !== EMPTY) i = (i + 1) & mask;
      keys[i] = h;
      vals[i] = oldVals[k];
    }
    this.#keys = keys;
    this.#vals = vals;
    this.#mask = mask;
  }
}
