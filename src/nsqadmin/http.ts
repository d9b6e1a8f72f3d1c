/**
 * nsqadmin's HTTP API (nsq `nsqadmin/http.go`, shared/nsq-reference.md §11.2) on Hono: the JSON
 * API under `<base-path>/api/`, `/ping`, `/config/:opt`, with the V1 conventions of nsqd (§2.1).
 * Reads aggregate every lookupd and nsqd (`cluster_info.ts`); a node that does not answer turns
 * into a `"message":"WARNING: …"` next to the data, every node failing into a 502. Actions need an
 * admin (`--admin-user` + `--acl-http-header`) and are announced to `--notification-http-endpoint`.
 */
import { type Context, Hono } from "hono";
import { compress } from "hono/compress";
import { formatPeerAddr } from "../internal/address.ts";
import {
  HttpError,
  installErrorHandlers,
  parseQuery,
  plainText,
  readBodyLimited,
  route,
} from "../internal/http_api.ts";
import { parseLogLevel } from "../internal/logger.ts";
import type { NetAddr } from "../platform/types.ts";
import { formatDuration } from "../protocol/go_duration.ts";
import { goJson, type GoJsonValue } from "../protocol/go_json.ts";
import { isValidChannelName, isValidTopicName } from "../protocol/names.ts";
import type { QueueAction } from "./actions.ts";
import { aggregateTopic, ClusterError, type Gathered, httpAddress } from "./cluster_info.ts";
import type { Nsqadmin } from "./nsqadmin.ts";
import { adminAction, type AdminActionName } from "./notify.ts";
import { installUiRoutes } from "./ui.tsx";
import { cidrContains, NSQADMIN_OPTION_SPECS, nsqadminConfigKey, parseCidr } from "./options.ts";

/** Builds the Hono app of one nsqadmin. */
export function createAdminHttpApp(admin: Nsqadmin): Hono {
  const app = new Hono();
  const { logger, cluster: ci, actions } = admin;
  const o = admin.options;
  const base = admin.basePath;

  app.use("*", async (c, next) => {
    const start = performance.now();
    await next();
    const url = new URL(c.req.url);
    const elapsed = formatDuration(Math.round((performance.now() - start) * 1e6));
    logger.info(`${c.res.status} ${c.req.method} ${url.pathname}${url.search} (${remoteIp(c)}) ${elapsed}`);
  });
  // Upstream gzips or deflates every answer on Accept-Encoding; small ones gain nothing.
  app.use("*", compress());
  installErrorHandlers(app, (err) => logger.error(`HTTP: internal error - ${(err as Error)?.stack ?? err}`));

  const lookupds = () => o.nsqlookupdHttpAddresses;
  const nsqds = () => o.nsqdHttpAddresses;

  /** Unwraps a gathered result, adding its errors to `warnings`; a ClusterError becomes a 502. */
  async function gathered<T>(p: Promise<Gathered<T>>, warnings: string[]): Promise<T> {
    const r = await upstream(p);
    if (r.errors.length > 0) warnings.push(r.errors.join("\n"));
    return r.value;
  }

  const notify = (
    c: Context,
    action: AdminActionName,
    target: { topic: string; channel?: string; node?: string },
  ) =>
    admin.notifier?.notify(
      adminAction(action, target, { remoteIp: remoteIp(c), request: c.req.raw }, admin.platform.hostname()),
    );

  const requireAdmin = (c: Context) => {
    if (o.adminUsers.length === 0) return;
    const user = c.req.header(o.aclHttpHeader) ?? "";
    if (!o.adminUsers.includes(user)) throw new HttpError(403, "FORBIDDEN");
  };

  route(app, `${base}/ping`, { GET: () => plainText("OK") });

  route(app, `${base}/api/topics`, {
    GET: async (c) => {
      const warnings: string[] = [];
      const params = parseQuery(c.req.url);
      const topics = await gathered(
        lookupds().length > 0 ? ci.getLookupdTopics(lookupds()) : ci.getNsqdTopics(nsqds()),
        warnings,
      );
      if (params.get("inactive")?.[0] === "true") {
        const map: Record<string, GoJsonValue> = {};
        if (lookupds().length > 0) {
          for (const topic of topics) {
            const producers = await ci.getLookupdTopicProducers(topic, lookupds()).catch(() => null);
            if (producers === null || producers.value.length > 0) continue;
            const channels = await ci.getLookupdTopicChannels(topic, lookupds()).catch(() => null);
            map[topic] = channels === null || channels.value.length === 0 ? null : channels.value;
          }
        }
        return json({ topics: map, message: warn(warnings) });
      }
      return json({ topics: topics.length === 0 ? null : topics, message: warn(warnings) });
    },
    POST: async (c) => {
      requireAdmin(c);
      const body = await jsonBody(c, (m) => m);
      const topic = stringField(body, "topic");
      const channel = stringField(body, "channel");
      if (!isValidTopicName(topic)) throw new HttpError(400, "INVALID_TOPIC");
      if (channel !== "" && !isValidChannelName(channel)) throw new HttpError(400, "INVALID_CHANNEL");
      const errors = await upstream(actions.createTopicChannel(topic, channel, lookupds(), nsqds()));
      notify(c, "create_topic", { topic });
      if (channel !== "") notify(c, "create_channel", { topic, channel });
      return json({ message: warn(errors.length > 0 ? [errors.join("\n")] : []) });
    },
  });

  const topicAction = async (c: Context, topic: string, channel: string) => {
    requireAdmin(c);
    const body = await jsonBody(c, (m) => m);
    const action = stringField(body, "action");
    if (action !== "pause" && action !== "unpause" && action !== "empty") {
      throw new HttpError(400, "INVALID_ACTION");
    }
    const errors = await upstream(
      actions.queueAction(action as QueueAction, topic, channel, lookupds(), nsqds()),
    );
    const kind = channel === "" ? "topic" : "channel";
    notify(c, `${action}_${kind}` as AdminActionName, channel === "" ? { topic } : { topic, channel });
    return json({ message: warn(errors.length > 0 ? [errors.join("\n")] : []) });
  };

  route(app, `${base}/api/topics/:topic`, {
    GET: async (c) => {
      const topic = param(c, "topic");
      const warnings: string[] = [];
      const producers = await gathered(ci.getTopicProducers(topic, lookupds(), nsqds()), warnings);
      const stats = await gathered(ci.getNsqdStats(producers, topic, "", false), warnings);
      return json(
        { ...aggregateTopic(topic, stats.topics), message: warn(warnings) } as unknown as GoJsonValue,
      );
    },
    POST: (c) => topicAction(c, param(c, "topic"), ""),
    DELETE: async (c) => {
      requireAdmin(c);
      const topic = param(c, "topic");
      const errors = await upstream(actions.deleteTopic(topic, lookupds(), nsqds()));
      notify(c, "delete_topic", { topic });
      return json({ message: warn(errors.length > 0 ? [errors.join("\n")] : []) });
    },
  });

  route(app, `${base}/api/topics/:topic/:channel`, {
    GET: async (c) => {
      const topic = param(c, "topic");
      const channel = param(c, "channel");
      const warnings: string[] = [];
      const producers = await gathered(ci.getTopicProducers(topic, lookupds(), nsqds()), warnings);
      const stats = await gathered(ci.getNsqdStats(producers, topic, channel, true), warnings);
      const aggregate = stats.channels.get(channel);
      if (aggregate === undefined) throw new HttpError(404, "CHANNEL_NOT_FOUND");
      return json({ ...aggregate, message: warn(warnings) } as unknown as GoJsonValue);
    },
    POST: (c) => topicAction(c, param(c, "topic"), param(c, "channel")),
    DELETE: async (c) => {
      requireAdmin(c);
      const topic = param(c, "topic");
      const channel = param(c, "channel");
      const errors = await upstream(actions.deleteChannel(topic, channel, lookupds(), nsqds()));
      notify(c, "delete_channel", { topic, channel });
      return json({ message: warn(errors.length > 0 ? [errors.join("\n")] : []) });
    },
  });

  route(app, `${base}/api/nodes`, {
    GET: async () => {
      const warnings: string[] = [];
      const nodes = await gathered(ci.getProducers(lookupds(), nsqds()), warnings);
      return json({ nodes: nodes as unknown as GoJsonValue, message: warn(warnings) });
    },
  });

  route(app, `${base}/api/nodes/:node`, {
    GET: async (c) => {
      const node = param(c, "node");
      const warnings: string[] = [];
      const producers = await gathered(ci.getProducers(lookupds(), nsqds()), warnings);
      const producer = producers.find((p) => httpAddress(p) === node);
      if (producer === undefined) throw new HttpError(404, "NODE_NOT_FOUND");
      const stats = await gathered(ci.getNsqdStats([producer], "", "", true), warnings);
      let totalClients = 0;
      let totalMessages = 0;
      for (const t of stats.topics) {
        for (const ch of t.channels) totalClients += ch.clients?.length ?? 0;
        totalMessages += t.message_count;
      }
      return json({
        node,
        topics: stats.topics as unknown as GoJsonValue,
        total_messages: totalMessages,
        total_clients: totalClients,
        message: warn(warnings),
      });
    },
    DELETE: async (c) => {
      requireAdmin(c);
      const node = param(c, "node");
      const body = await jsonBody(c, () => "INVALID_BODY");
      const topic = stringField(body, "topic", "INVALID_BODY");
      if (!isValidTopicName(topic)) throw new HttpError(400, "INVALID_TOPIC");
      const errors = await upstream(actions.tombstoneNodeForTopic(topic, node, lookupds()));
      notify(c, "tombstone_topic_producer", { topic, node });
      return json({ message: warn(errors.length > 0 ? [errors.join("\n")] : []) });
    },
  });

  route(app, `${base}/api/counter`, {
    GET: async () => {
      const warnings: string[] = [];
      const producers = await gathered(ci.getProducers(lookupds(), nsqds()), warnings);
      const stats = await gathered(ci.getNsqdStats(producers, "", "", false), warnings);
      const counters = new Map<
        string,
        { node: string; topic_name: string; channel_name: string; message_count: number }
      >();
      for (const ch of stats.channels.values()) {
        for (const n of ch.nodes ?? []) {
          const key = `${ch.topic_name}:${ch.channel_name}:${n.node}`;
          const entry = counters.get(key) ??
            { node: n.node, topic_name: ch.topic_name, channel_name: ch.channel_name, message_count: 0 };
          entry.message_count += n.message_count;
          counters.set(key, entry);
        }
      }
      const out: Record<string, GoJsonValue> = {};
      for (const key of [...counters.keys()].sort()) out[key] = counters.get(key)!;
      return json({ stats: out, message: warn(warnings) });
    },
  });

  const config = async (c: Context) => {
    if (o.allowConfigFromCidr !== "") {
      const cidr = parseCidr(o.allowConfigFromCidr)!;
      const peer = (c.env as { remoteAddr?: NetAddr } | undefined)?.remoteAddr;
      if (peer === undefined || peer.hostname === "") throw new HttpError(400, "INVALID_REMOTE_ADDR");
      if (!cidrContains(cidr, peer.hostname)) throw new HttpError(403, "FORBIDDEN");
    }
    const opt = param(c, "opt");
    if (c.req.method === "PUT") {
      const readMax = 1024 * 1024 + 1;
      const body = await readBodyLimited(c.req.raw, readMax);
      if (body.length === readMax || body.length === 0) throw new HttpError(413, "INVALID_VALUE");
      const text = new TextDecoder().decode(body);
      switch (opt) {
        case "nsqlookupd_http_addresses": {
          let v: unknown;
          try {
            v = JSON.parse(text);
          } catch {
            throw new HttpError(400, "INVALID_VALUE");
          }
          if (v !== null && !(Array.isArray(v) && v.every((x) => typeof x === "string"))) {
            throw new HttpError(400, "INVALID_VALUE");
          }
          o.nsqlookupdHttpAddresses = (v ?? []) as string[];
          break;
        }
        case "log_level":
          try {
            o.logLevel = parseLogLevel(text);
          } catch {
            throw new HttpError(400, "INVALID_VALUE");
          }
          logger.level = o.logLevel;
          break;
        default:
          throw new HttpError(400, "INVALID_OPTION");
      }
    }
    const spec = NSQADMIN_OPTION_SPECS.find((s) => s.key !== null && nsqadminConfigKey(s) === opt);
    if (spec === undefined) throw new HttpError(400, "INVALID_OPTION");
    const value = o[spec.key!];
    return json(spec.kind === "duration" ? (value as number) * 1e6 : value as GoJsonValue);
  };
  route(app, `${base}/config/:opt`, { GET: config, PUT: config });

  installUiRoutes(app, admin);
  return app;
}

/** A ClusterError (every target failed) as upstream's 502. */
async function upstream<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    if (err instanceof ClusterError) throw new HttpError(502, `UPSTREAM_ERROR: ${err.message}`);
    throw err;
  }
}

/** upstream's `maybeWarnMsg`. */
function warn(messages: string[]): string {
  return messages.length === 0 ? "" : `WARNING: ${messages.join("; ")}`;
}

/** A path parameter (decoded). */
function param(c: Context, name: string): string {
  return (c.req.param as (n: string) => string | undefined)(name) ?? "";
}

function remoteIp(c: Context): string {
  const peer = (c.env as { remoteAddr?: NetAddr } | undefined)?.remoteAddr;
  return peer ? formatPeerAddr(peer) : "";
}

/** A V1 JSON success written with Go's escapes. */
function json(data: GoJsonValue): Response {
  return new Response(goJson(data), {
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "X-NSQ-Content-Type": "nsq; version=1.0",
    },
  });
}

/**
 * The JSON body of an action (any content type). A body that is not JSON is a 400 whose text
 * `message(goError)` picks (upstream: the decoder's error, or `INVALID_BODY`).
 */
async function jsonBody(c: Context, message: (goError: string) => string): Promise<unknown> {
  const text = new TextDecoder().decode(await readBodyLimited(c.req.raw, 1024 * 1024));
  const trimmed = text.trim();
  if (trimmed === "") throw new HttpError(400, message("EOF"));
  try {
    return JSON.parse(trimmed);
  } catch {
    const first = trimmed[0];
    throw new HttpError(
      400,
      message(
        /[{\["0-9tfn-]/.test(first)
          ? "unexpected EOF"
          : `invalid character '${first}' looking for beginning of value`,
      ),
    );
  }
}

/** A string field of a decoded body ("" when absent or null); another type is a 400. */
function stringField(body: unknown, key: string, invalid?: string): string {
  if (body === null) return "";
  if (typeof body !== "object" || Array.isArray(body)) {
    throw new HttpError(
      400,
      invalid ?? `json: cannot unmarshal ${jsonType(body)} into Go value of type struct`,
    );
  }
  const v = (body as Record<string, unknown>)[key];
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") {
    throw new HttpError(
      400,
      invalid ?? `json: cannot unmarshal ${jsonType(v)} into Go struct field .${key} of type string`,
    );
  }
  return v;
}

function jsonType(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  return typeof v;
}
