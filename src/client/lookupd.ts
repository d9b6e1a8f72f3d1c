/**
 * Asking nsqlookupd where a topic lives (go-nsq `consumer.go` `buildLookupAddr`, `queryLookupd`,
 * `lookupdLoop`, shared/nsq-reference.md §9.4): `GET /lookup?topic=<t>` with nsq's v1 Accept
 * header, answered with the producers' `broadcast_address:tcp_port`, asked of one nsqlookupd in
 * turn on a timer. Uses `fetch`, which both runtimes have.
 */
import type { ClientConfig } from "./config.ts";
import { NsqConnectionError } from "./errors.ts";

/**
 * The lookup URL of an nsqlookupd HTTP address: `http://` added when no scheme is given, `/lookup`
 * when the path is empty or `/`, and `topic=<topic>` in the query.
 *
 * @throws {TypeError} the address has no port (`missing port`) or does not parse
 */
export function lookupUrl(address: string, topic: string): string {
  const withScheme = address.includes("://") ? address : `http://${address}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch (err) {
    throw new TypeError(`invalid nsqlookupd address "${address}"`, { cause: err });
  }
  // URL drops a scheme's default port; go-nsq asks for one to be written.
  if (!/^[a-z][a-z0-9+.-]*:\/\/(\[[^\]]*\]|[^/:?#]*):\d+/i.test(withScheme)) {
    throw new TypeError(`invalid nsqlookupd address "${address}": missing port`);
  }
  if (url.pathname === "" || url.pathname === "/") url.pathname = "/lookup";
  url.searchParams.set("topic", topic);
  return url.toString();
}

/**
 * The nsqd TCP addresses nsqlookupd lists for the topic of `url`.
 * @param options `timeoutMs` for the whole request; `authSecret` sent as a Bearer token when set
 * @throws {NsqConnectionError} the request failed, timed out or was answered with a non-200 status
 */
export async function queryLookupd(
  url: string,
  options: { timeoutMs: number; authSecret?: string },
): Promise<string[]> {
  const headers: Record<string, string> = { Accept: "application/vnd.nsq; version=1.0" };
  if (options.authSecret) headers.Authorization = `Bearer ${options.authSecret}`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, {
      headers,
      signal: options.timeoutMs > 0 ? AbortSignal.timeout(options.timeoutMs) : undefined,
    });
    text = await res.text();
  } catch (err) {
    throw new NsqConnectionError(`error querying nsqlookupd (${url}) - ${(err as Error).message}`, {
      cause: err,
    });
  }
  if (res.status !== 200) {
    throw new NsqConnectionError(
      `error querying nsqlookupd (${url}) - got response ${res.status} ${JSON.stringify(text)}`,
    );
  }
  let body: { producers?: { broadcast_address?: string; tcp_port?: number }[]; data?: unknown };
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new NsqConnectionError(`error querying nsqlookupd (${url}) - invalid JSON`, { cause: err });
  }
  // Before nsq 1.0 (no X-NSQ-Content-Type header) the answer came wrapped in a v0 envelope.
  if (res.headers.get("x-nsq-content-type") === null && body.data && typeof body.data === "object") {
    body = body.data as typeof body;
  }
  const out: string[] = [];
  for (const p of body.producers ?? []) {
    if (typeof p.broadcast_address !== "string" || typeof p.tcp_port !== "number") continue;
    const host = p.broadcast_address.includes(":") ? `[${p.broadcast_address}]` : p.broadcast_address;
    out.push(`${host}:${p.tcp_port}`);
  }
  return out;
}

type PollConfig = Pick<
  ClientConfig,
  "lookupdPollInterval" | "lookupdPollJitter" | "lookupdPollTimeout" | "authSecret"
>;

/** What a {@link LookupdPoller} tells its Consumer. */
export interface LookupdEvents {
  /** One nsqlookupd answered with these nsqd addresses; the poll ends when this settles. */
  onFound(addresses: string[]): Promise<void>;
  /** A query failed (the next nsqlookupd is tried, up to 3 in one poll). */
  onError(err: Error): void;
}

/** The nsqlookupds of one Consumer, asked in turn (go-nsq `lookupdLoop`). */
export class LookupdPoller {
  readonly #topic: string;
  readonly #config: PollConfig;
  readonly #events: LookupdEvents;
  readonly #lookupds: { address: string; url: string }[] = [];
  #index = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #polling: Promise<void> | null = null;
  #stopped = false;

  constructor(topic: string, config: PollConfig, events: LookupdEvents) {
    this.#topic = topic;
    this.#config = config;
    this.#events = events;
  }

  /** How many nsqlookupds are in the rotation. */
  get size(): number {
    return this.#lookupds.length;
  }

  /**
   * Adds an nsqlookupd; false if it is there already.
   * @throws {TypeError} an address without port
   */
  add(address: string): boolean {
    const url = lookupUrl(address, this.#topic);
    if (this.#lookupds.some((l) => l.address === address)) return false;
    this.#lookupds.push({ address, url });
    return true;
  }

  /**
   * Removes an nsqlookupd from the rotation.
   * @throws {NsqConnectionError} unknown address, or the last one
   */
  remove(address: string): void {
    const i = this.#lookupds.findIndex((l) => l.address === address);
    if (i < 0) throw new NsqConnectionError("not connected");
    if (this.#lookupds.length === 1) {
      throw new NsqConnectionError(
        `cannot disconnect from only remaining nsqlookupd HTTP address ${address}`,
      );
    }
    this.#lookupds.splice(i, 1);
  }

  /** Polls every `lookupdPollInterval` from now on, the first time after a random jitter more. */
  startTimer(): void {
    if (this.#stopped || this.#timer !== undefined) return;
    const interval = this.#config.lookupdPollInterval;
    const jitter = Math.floor(Math.random() * this.#config.lookupdPollJitter * interval);
    this.#timer = setTimeout(() => {
      this.#timer = setInterval(() => this.poll(), interval);
      this.poll();
    }, jitter + interval);
  }

  /** No more polls. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearInterval(this.#timer);
  }

  /** Asks one nsqlookupd now (joins the poll under way, if any). */
  poll(): Promise<void> {
    this.#polling ??= this.#query().finally(() => {
      this.#polling = null;
    });
    return this.#polling;
  }

  async #query(): Promise<void> {
    let found: string[] | null = null;
    // One nsqlookupd per poll, in turn; on failure the next one, up to 3 tries (go-nsq).
    for (let tries = 0; tries < 3 && found === null && !this.#stopped; tries++) {
      if (this.#lookupds.length === 0) return;
      const l = this.#lookupds[this.#index++ % this.#lookupds.length];
      try {
        found = await queryLookupd(l.url, {
          timeoutMs: this.#config.lookupdPollTimeout,
          authSecret: this.#config.authSecret,
        });
      } catch (err) {
        this.#events.onError(err as Error);
      }
    }
    if (found === null || this.#stopped) return;
    await this.#events.onFound(found);
  }
}
