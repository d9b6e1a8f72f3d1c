/**
 * Notifications of admin actions (nsq `nsqadmin/notify.go`, `nsqadmin.go` `handleAdminActions`;
 * shared/nsq-reference.md §11.6): each action is queued without blocking the request and POSTed as
 * JSON to `--notification-http-endpoint`, one at a time, in order. A failed POST is logged and
 * dropped (upstream crashes the process).
 */
import type { Logger } from "../internal/logger.ts";
import { goJson } from "../protocol/go_json.ts";

/** The `action` of a notification. */
export type AdminActionName =
  | "create_topic"
  | "create_channel"
  | "delete_topic"
  | "delete_channel"
  | "pause_topic"
  | "unpause_topic"
  | "pause_channel"
  | "unpause_channel"
  | "empty_topic"
  | "empty_channel"
  | "tombstone_topic_producer";

/** What is POSTed (upstream's `AdminAction`; empty `channel`, `node`, `user` are left out). */
export interface AdminAction {
  action: AdminActionName;
  topic: string;
  channel?: string;
  node?: string;
  /** Unix seconds. */
  timestamp: number;
  /** The HTTP Basic-auth user name of the request. */
  user?: string;
  /** `ip:port` of the peer. */
  remote_ip: string;
  user_agent: string;
  /** `http[s]://<Host><path>[?query]` of the request. */
  url: string;
  /** nsqadmin's host name. */
  via: string;
}

/** Where the request came from, for a notification. */
export interface RequestFacts {
  remoteIp: string;
  request: Request;
}

/** Builds the notification of an action from its request (upstream's `notifyAdminAction`). */
export function adminAction(
  action: AdminActionName,
  target: { topic: string; channel?: string; node?: string },
  facts: RequestFacts,
  via: string,
): AdminAction {
  const req = facts.request;
  const url = new URL(req.url);
  const host = req.headers.get("host") ?? url.host;
  const scheme = url.protocol === "https:" || req.headers.get("x-scheme") === "https" ? "https" : "http";
  // Key order as upstream's struct; empty optional keys left out (omitempty).
  const out: Record<string, string | number> = { action, topic: target.topic };
  if (target.channel) out.channel = target.channel;
  if (target.node) out.node = target.node;
  out.timestamp = Math.floor(Date.now() / 1000);
  const user = basicAuthUser(req.headers.get("authorization"));
  if (user) out.user = user;
  out.remote_ip = facts.remoteIp;
  out.user_agent = req.headers.get("user-agent") ?? "";
  out.url = `${scheme}://${host}${url.pathname}${url.search}`;
  out.via = via;
  return out as unknown as AdminAction;
}

function basicAuthUser(header: string | null): string {
  if (header === null || !/^basic /i.test(header)) return "";
  try {
    const decoded = atob(header.slice(6).trim());
    const colon = decoded.indexOf(":");
    return colon < 0 ? "" : decoded.slice(0, colon);
  } catch {
    return "";
  }
}

/** Sends notifications one at a time to one endpoint. */
export class Notifier {
  readonly #endpoint: string;
  readonly #logger: Logger;
  readonly #timeoutMs: number;
  #tail: Promise<void> = Promise.resolve();

  constructor(endpoint: string, logger: Logger, timeoutMs: number) {
    this.#endpoint = endpoint;
    this.#logger = logger;
    this.#timeoutMs = timeoutMs;
  }

  /** Queues `action`; returns at once. */
  notify(action: AdminAction): void {
    this.#tail = this.#tail.then(() => this.#send(action));
  }

  /** Resolves when every queued notification has been sent (or has failed). */
  flush(): Promise<void> {
    return this.#tail;
  }

  async #send(action: AdminAction): Promise<void> {
    this.#logger.info(`POSTing notification to ${this.#endpoint}`);
    try {
      const res = await fetch(this.#endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: goJson({ ...action }),
        signal: AbortSignal.timeout(this.#timeoutMs),
      });
      await res.body?.cancel();
      if (res.status >= 300) {
        this.#logger.error(`notification to ${this.#endpoint} got response ${res.status} ${res.statusText}`);
      }
    } catch (err) {
      this.#logger.error(`failed to POST notification to ${this.#endpoint} - ${(err as Error).message}`);
    }
  }
}
