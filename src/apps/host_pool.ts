/**
 * Destination choice of nsq_to_http and nsq_to_nsq (shared/nsq-reference.md §10.1): `round-robin`
 * and go-hostpool's standard pool (`hostpool`): round-robin over the hosts not marked dead; a failed
 * host is dead for 30 s, doubling on each failure up to 900 s; when every host is dead they are all
 * tried again.
 */

/** Picks the next destination and learns from the outcome. */
export interface Selector {
  /** The destination for the next message. */
  next(): string;
  /** The request to `host` failed. */
  failed(host: string): void;
  /** The request to `host` succeeded. */
  succeeded(host: string): void;
}

/**
 * Plain round-robin, starting with the first host (upstream starts with the second).
 * @example
 * ```ts
 * import { RoundRobin } from "./host_pool.ts";
 * const rr = new RoundRobin(["a", "b"]);
 * [rr.next(), rr.next(), rr.next()]; // ["a", "b", "a"]
 * ```
 */
export class RoundRobin implements Selector {
  readonly #hosts: readonly string[];
  #i = 0;
  constructor(hosts: readonly string[]) {
    this.#hosts = hosts;
  }
  next(): string {
    return this.#hosts[this.#i++ % this.#hosts.length];
  }
  failed(): void {}
  succeeded(): void {}
}

interface HostState {
  readonly host: string;
  dead: boolean;
  retryAt: number;
  retryDelay: number;
}

const INITIAL_RETRY_MS = 30_000;
const MAX_RETRY_MS = 900_000;

/** go-hostpool's standard pool. */
export class HostPool implements Selector {
  readonly #hosts: HostState[];
  readonly #now: () => number;
  #i = 0;

  /** @param now the clock (tests pass their own) */
  constructor(hosts: readonly string[], now: () => number = Date.now) {
    this.#hosts = hosts.map((host) => ({ host, dead: false, retryAt: 0, retryDelay: INITIAL_RETRY_MS }));
    this.#now = now;
  }

  next(): string {
    const now = this.#now();
    const n = this.#hosts.length;
    for (let k = 0; k < n; k++) {
      const h = this.#hosts[this.#i++ % n];
      if (!h.dead || now >= h.retryAt) return h.host;
    }
    // All dead: try them all again.
    for (const h of this.#hosts) h.dead = false;
    return this.#hosts[this.#i++ % n].host;
  }

  failed(host: string): void {
    const h = this.#hosts.find((x) => x.host === host);
    if (h === undefined) return;
    if (h.dead) h.retryDelay = Math.min(h.retryDelay * 2, MAX_RETRY_MS);
    h.dead = true;
    h.retryAt = this.#now() + h.retryDelay;
  }

  succeeded(host: string): void {
    const h = this.#hosts.find((x) => x.host === host);
    if (h === undefined) return;
    h.dead = false;
    h.retryDelay = INITIAL_RETRY_MS;
  }
}
