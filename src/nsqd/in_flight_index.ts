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

export class InFlightIndex {
  /** Hash → the message, or the messages sharing that hash (rare). */
  #map = new Map<number, Message | Message[]>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** The message whose ID is `id` (an ID string from REQ, TOUCH or the HTTP API). */
  get(id: string): Message | undefined {
    if (id.length !== 16) return undefined;
    const e = this.#map.get(idHash(id));
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return idEqualsString(e, id) ? e : undefined;
    return e.find((m) => idEqualsString(m, id));
  }

  /** The message whose ID is the 16 bytes at `buf[off]`. */
  getAt(buf: Uint8Array, off: number): Message | undefined {
    const e = this.#map.get(idHashBytes(buf, off));
    if (e === undefined) return undefined;
    if (!Array.isArray(e)) return idEquals(e, buf, off) ? e : undefined;
    return e.find((m) => idEquals(m, buf, off));
  }

  has(id: string): boolean {
    return this.get(id) !== undefined;
  }

  /** Adds a message; false (and nothing added) when a message with its ID is already in. */
  add(msg: Message): boolean {
    const h = keyOf(msg);
    const e = this.#map.get(h);
    if (e === undefined) this.#map.set(h, msg);
    else if (Array.isArray(e)) {
      if (e.some((m) => idEquals(m, msg.data, msg.off))) return false;
      e.push(msg);
    } else {
      if (idEquals(e, msg.data, msg.off)) return false;
      this.#map.set(h, [e, msg]);
    }
    this.#size++;
    return true;
  }

  delete(msg: Message): void {
    const h = keyOf(msg);
    const e = this.#map.get(h);
    if (e === undefined) return;
    if (!Array.isArray(e)) {
      if (e !== msg) return;
      this.#map.delete(h);
    } else {
      const i = e.indexOf(msg);
      if (i < 0) return;
      e.splice(i, 1);
      if (e.length === 1) this.#map.set(h, e[0]);
    }
    this.#size--;
  }

  clear(): void {
    this.#map.clear();
    this.#size = 0;
  }
}
