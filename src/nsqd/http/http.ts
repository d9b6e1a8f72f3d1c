/**
 * nsqd's HTTP API (nsq `nsqd/http.go`, shared/nsq-reference.md §2): served by Hono on the
 * platform's HTTP server. This slice has /ping, /info, /pub, /mpub and /stats.
 */
import { type Context, Hono } from "hono";
import { type Message, nowNs, readInt32, tsHiOf, tsLoOf } from "../../protocol/message.ts";
import { BodyArena, newMessage } from "../body_arena.ts";
import { parseDuration } from "../../protocol/go_duration.ts";
import { smallInt } from "../clock.ts";
import { isValidChannelName, isValidTopicName } from "../../protocol/names.ts";
import type { Channel } from "../channel.ts";
import { configOptionValue } from "./config_values.ts";
import { DrainingError } from "../drain.ts";
import { type LogLevel, parseLogLevel } from "../../internal/logger.ts";
import { statsText } from "../stats/stats_text.ts";
import { prometheusText } from "../stats/metrics.ts";
import { PROMETHEUS_CONTENT_TYPE } from "../../internal/prometheus.ts";
import {
  HttpError,
  installErrorHandlers,
  parseGoBool,
  parseQuery,
  plainText,
  readBodyLimited,
  route,
  v1,
} from "../../internal/http_api.ts";
import { allows, httpAuthorizerFor, nsqdAccess, requestGrant } from "../../internal/http_auth.ts";
import type { Nsqd } from "../nsqd.ts";
import { getStats, memoryStats } from "../stats/stats.ts";
import type { Topic } from "../topic.ts";
import { RELEASE_VERSION } from "../../internal/version.ts";

/** Builds the Hono app of one nsqd. */
export function createHttpApp(nsqd: Nsqd): Hono {
  const app = new Hono();
  const o = nsqd.options;
  // Where messages published over HTTP keep ID and body: slabs shared by all requests (an arena per request
  // left most of a 16 KiB slab unused after each /mpub of 100, and a /pub had a buffer of its own).
  const arena = new BodyArena();
  installErrorHandlers(
    app,
    (err) => nsqd.logger.error(`HTTP: internal error - ${(err as Error)?.stack ?? err}`),
  );
  // --http-auth (beyond upstream): every route, present and future, is checked in this one place.
  const authorizer = httpAuthorizerFor(o, "nsqd");
  if (authorizer !== null) app.use("*", authorizer.middleware(nsqdAccess, (line) => nsqd.logger.warn(line)));

  route(app, "/ping", {
    GET: () => nsqd.isHealthy ? plainText("OK") : plainText(nsqd.health, 500),
  });

  route(app, "/info", {
    GET: () =>
      v1({
        version: nsqd.version,
        broadcast_address: o.broadcastAddress,
        hostname: nsqd.platform.hostname(),
        http_port: nsqd.httpAddr?.port ?? -1,
        tcp_port: nsqd.tcpAddr?.port ?? -1,
        start_time: nsqd.startTime,
        max_heartbeat_interval: o.maxHeartbeatInterval * 1e6,
        max_output_buffer_size: o.maxOutputBufferSize,
        max_output_buffer_timeout: o.maxOutputBufferTimeout * 1e6,
        max_deflate_level: o.maxDeflateLevel,
        topology_zone: o.topologyZone,
        topology_region: o.topologyRegion,
        server_version: RELEASE_VERSION,
        draining: nsqd.draining,
      }),
  });

  route(app, "/pub", {
    POST: async (c) => {
      const contentLength = Number(c.req.header("content-length") ?? -1);
      if (contentLength > o.maxMsgSize) throw new HttpError(413, "MSG_TOO_BIG");
      // One byte more than allowed tells a too-big body from one exactly at the limit.
      const body = await readBodyLimited(c.req.raw, o.maxMsgSize + 1);
      if (body.length > o.maxMsgSize) throw new HttpError(413, "MSG_TOO_BIG");
      if (body.length === 0) throw new HttpError(400, "MSG_EMPTY");
      const [params, topic] = topicFromQuery(nsqd, c.req.url);
      let deferMs = 0;
      const ds = params.get("defer");
      if (ds !== undefined) {
        if (!/^[+-]?[0-9]+$/.test(ds[0])) throw new HttpError(400, "INVALID_DEFER");
        deferMs = Number(ds[0]);
        if (deferMs < 0 || deferMs > o.maxReqTimeout) throw new HttpError(400, "INVALID_DEFER");
      }
      const msg = newMessage(topic.guid, body, nowNs(), arena);
      msg.deferMs = smallInt(deferMs);
      try {
        topic.putMessage(msg);
      } catch (err) {
        throw new HttpError(503, err instanceof DrainingError ? "DRAINING" : "EXITING");
      }
      return v1("OK");
    },
  });

  route(app, "/mpub", {
    POST: async (c) => {
      const contentLength = Number(c.req.header("content-length") ?? -1);
      if (contentLength > o.maxBodySize) throw new HttpError(413, "BODY_TOO_BIG");
      const [params, topic] = topicFromQuery(nsqd, c.req.url);
      let binary = false;
      const bv = params.get("binary");
      if (bv !== undefined) {
        const parsed = parseGoBool(bv[0]);
        if (parsed === undefined) nsqd.logger.warn(`deprecated value '${bv[0]}' used for /mpub binary param`);
        binary = parsed ?? true;
      }
      const body = await readBodyLimited(c.req.raw, o.maxBodySize + 1);
      if (body.length > o.maxBodySize) throw new HttpError(413, "BODY_TOO_BIG");
      const msgs = binary ? binaryMessages(nsqd, topic, body, arena) : textMessages(nsqd, topic, body, arena);
      try {
        topic.putMessages(msgs);
      } catch (err) {
        throw new HttpError(503, err instanceof DrainingError ? "DRAINING" : "EXITING");
      }
      return v1("OK");
    },
  });

  route(app, "/stats", {
    GET: (c) => {
      const params = parseQuery(c.req.url);
      const get = (k: string) => params.get(k)?.[0] ?? "";
      const includeClients = parseStatsBool(get("include_clients"));
      const includeMem = parseStatsBool(get("include_mem"));
      const stats = getStats(nsqd, get("topic"), get("channel"), includeClients);
      // Under --http-auth, a token sees the topics its grants name.
      const grant = requestGrant(c.req.raw);
      if (grant && stats.topics) stats.topics = stats.topics.filter((t) => allows(grant, t.topic_name));
      if (get("format") !== "json") {
        return v1(statsText(nsqd, stats, includeMem ? memoryStats() : null));
      }
      const out: Record<string, unknown> = {
        version: nsqd.version,
        health: nsqd.health,
        start_time: nsqd.startTime,
        topics: stats.topics,
      };
      if (includeMem) out.memory = memoryStats();
      out.producers = stats.producers;
      // Only while draining (Go's omitempty): the default shape stays upstream's.
      if (nsqd.draining) out.draining = true;
      return v1(out);
    },
  });

  route(app, "/metrics", {
    GET: () => new Response(prometheusText(nsqd), { headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE } }),
  });

  // ---- topic and channel administration ---------------------------------------------------------

  route(app, "/topic/create", {
    POST: (c) => {
      const name = requiredParam(parseQuery(c.req.url), "topic", "MISSING_ARG_TOPIC");
      if (!isValidTopicName(name)) throw new HttpError(400, "INVALID_TOPIC");
      refusedWhileDraining(() => nsqd.getTopic(name));
      return v1(null);
    },
  });

  route(app, "/topic/delete", {
    POST: (c) => {
      const name = requiredParam(parseQuery(c.req.url), "topic", "MISSING_ARG_TOPIC");
      if (!nsqd.deleteExistingTopic(name)) throw new HttpError(404, "TOPIC_NOT_FOUND");
      return v1(null);
    },
  });

  route(app, "/topic/empty", {
    POST: (c) => {
      const name = requiredParam(parseQuery(c.req.url), "topic", "MISSING_ARG_TOPIC");
      if (!isValidTopicName(name)) throw new HttpError(400, "INVALID_TOPIC");
      const topic = existingTopic(nsqd, name);
      topic.empty();
      return v1(null);
    },
  });

  for (const action of ["pause", "unpause"] as const) {
    route(app, `/topic/${action}`, {
      POST: (c) => {
        const name = requiredParam(parseQuery(c.req.url), "topic", "MISSING_ARG_TOPIC");
        const topic = existingTopic(nsqd, name);
        if (action === "pause") topic.pause();
        else topic.unpause();
        nsqd.persistMetadata();
        return v1(null);
      },
    });
  }

  // Beyond upstream (nsq issue #302): the topic's own max message age, a Go duration; 0 clears it.
  route(app, "/topic/max-msg-age", {
    POST: (c) => {
      const params = parseQuery(c.req.url);
      const name = requiredParam(params, "topic", "MISSING_ARG_TOPIC");
      const text = requiredParam(params, "max_msg_age", "MISSING_ARG_MAX_MSG_AGE");
      const ms = parseMaxMsgAge(text);
      if (ms === undefined) throw new HttpError(400, "INVALID_ARG_MAX_MSG_AGE");
      existingTopic(nsqd, name).setMaxMsgAge(ms);
      nsqd.persistMetadata();
      return v1(null);
    },
  });

  route(app, "/channel/create", {
    POST: (c) => {
      const [topicName, channelName] = topicChannelArgs(c.req.url);
      const topic = existingTopic(nsqd, topicName);
      refusedWhileDraining(() => topic.getChannel(channelName));
      return v1(null);
    },
  });

  route(app, "/channel/delete", {
    POST: (c) => {
      const [topicName, channelName] = topicChannelArgs(c.req.url);
      if (!existingTopic(nsqd, topicName).deleteExistingChannel(channelName)) {
        throw new HttpError(404, "CHANNEL_NOT_FOUND");
      }
      return v1(null);
    },
  });

  route(app, "/channel/empty", {
    POST: (c) => {
      const [topicName, channelName] = topicChannelArgs(c.req.url);
      existingChannel(nsqd, topicName, channelName).empty();
      return v1(null);
    },
  });

  for (const action of ["pause", "unpause"] as const) {
    route(app, `/channel/${action}`, {
      POST: (c) => {
        const [topicName, channelName] = topicChannelArgs(c.req.url);
        const channel = existingChannel(nsqd, topicName, channelName);
        if (action === "pause") channel.pause();
        else channel.unpause();
        nsqd.persistMetadata();
        return v1(null);
      },
    });
  }

  // Beyond upstream (nsq issue #1396): the channel's max depth, past which its oldest messages are dropped.
  route(app, "/channel/max-depth", {
    POST: (c) => {
      const [topicName, channelName] = topicChannelArgs(c.req.url);
      const text = requiredParam(parseQuery(c.req.url), "max_depth", "MISSING_ARG_MAX_DEPTH");
      const n = /^[0-9]{1,15}$/.test(text) ? Number(text) : NaN;
      if (!Number.isSafeInteger(n)) throw new HttpError(400, "INVALID_ARG_MAX_DEPTH");
      existingChannel(nsqd, topicName, channelName).setMaxDepth(n);
      nsqd.persistMetadata();
      return v1(null);
    },
  });

  // ---- /config/:opt ---------------------------------------------------------------------------------

  const config = async (c: Context) => {
    const opt = c.req.param("opt") ?? "";
    if (c.req.method === "PUT") {
      const body = await readBodyLimited(c.req.raw, o.maxMsgSize + 1);
      if (body.length > o.maxMsgSize || body.length === 0) throw new HttpError(413, "INVALID_VALUE");
      setConfigOption(nsqd, opt, new TextDecoder().decode(body));
    }
    // Not options but states (beyond upstream, nsq issue #1302): PUT `true` starts them.
    if (opt === "drain") return v1(nsqd.draining);
    if (opt === "shutdown") return v1(c.req.method === "PUT" || nsqd.exiting);
    const value = configOptionValue(nsqd.options, opt);
    if (value === undefined) throw new HttpError(400, "INVALID_OPTION");
    return v1(value);
  };
  route(app, "/config/:opt", { GET: config, PUT: config });

  return app;
}

/** `reqParams.Get`: present (even empty) or the given 400 error. */
function requiredParam(params: Map<string, string[]>, key: string, missing: string): string {
  const v = params.get(key);
  if (v === undefined) throw new HttpError(400, missing);
  return v[0];
}

/** `http_api.GetTopicChannelArgs`: validated topic and channel, or INVALID_ARG_* / MISSING_ARG_*. */
function topicChannelArgs(url: string): [string, string] {
  const params = parseQuery(url);
  const topic = requiredParam(params, "topic", "MISSING_ARG_TOPIC");
  if (!isValidTopicName(topic)) throw new HttpError(400, "INVALID_ARG_TOPIC");
  const channel = requiredParam(params, "channel", "MISSING_ARG_CHANNEL");
  if (!isValidChannelName(channel)) throw new HttpError(400, "INVALID_ARG_CHANNEL");
  return [topic, channel];
}

function existingTopic(nsqd: Nsqd, name: string): Topic {
  const topic = nsqd.getExistingTopic(name);
  if (topic === undefined) throw new HttpError(404, "TOPIC_NOT_FOUND");
  return topic;
}

function existingChannel(nsqd: Nsqd, topicName: string, channelName: string): Channel {
  const channel = existingTopic(nsqd, topicName).getExistingChannel(channelName);
  if (channel === undefined) throw new HttpError(404, "CHANNEL_NOT_FOUND");
  return channel;
}

/**
 * PUT /config: only `nsqlookupd_tcp_addresses` (JSON array of strings) and `log_level` (a level name), and
 * beyond upstream `drain` and `shutdown` (body `true`) and `max_msg_age` (a Go duration, or ns).
 */
function setConfigOption(nsqd: Nsqd, opt: string, body: string): void {
  switch (opt) {
    case "nsqlookupd_tcp_addresses": {
      let v: unknown;
      try {
        v = JSON.parse(body);
      } catch {
        throw new HttpError(400, "INVALID_VALUE");
      }
      if (v !== null && (!Array.isArray(v) || v.some((a) => typeof a !== "string"))) {
        throw new HttpError(400, "INVALID_VALUE");
      }
      nsqd.setLookupdTcpAddresses((v ?? []) as string[]);
      return;
    }
    case "drain":
    case "shutdown": {
      // Only `true`: a drain cannot be cancelled, a shutdown not undone.
      let v: unknown;
      try {
        v = JSON.parse(body);
      } catch {
        throw new HttpError(400, "INVALID_VALUE");
      }
      if (v !== true) throw new HttpError(400, "INVALID_VALUE");
      if (opt === "drain") void nsqd.drain();
      // After this response is written: closing the listener may cut the connections it serves.
      else setTimeout(() => void nsqd.close(), 0);
      return;
    }
    case "max_msg_age": {
      // A Go duration (`30s`), or nanoseconds as GET shows them.
      const t = body.trim();
      const ms = /^[0-9]{1,19}$/.test(t) ? Number(t) / 1e6 : parseMaxMsgAge(t);
      if (ms === undefined) throw new HttpError(400, "INVALID_VALUE");
      nsqd.options.maxMsgAge = ms;
      return;
    }
    case "log_level": {
      let level: LogLevel;
      try {
        level = parseLogLevel(body);
      } catch {
        throw new HttpError(400, "INVALID_VALUE");
      }
      nsqd.options.logLevel = level;
      nsqd.logger.level = level;
      return;
    }
  }
  throw new HttpError(400, "INVALID_OPTION");
}

/** A max message age: a Go duration >= 0, in ms; undefined when invalid. */
function parseMaxMsgAge(text: string): number | undefined {
  let ns: number;
  try {
    ns = parseDuration(text);
  } catch {
    return undefined;
  }
  return ns >= 0 ? ns / 1e6 : undefined;
}

/** Runs `f`, which may create a topic or channel: while draining that is 503 DRAINING. */
function refusedWhileDraining<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof DrainingError) throw new HttpError(503, "DRAINING");
    throw err;
  }
}

/** `true|1|false|0`; anything else (or nothing) means true (#1118, #1230). */
function parseStatsBool(v: string): boolean {
  if (v === "false" || v === "0") return false;
  return true;
}

function topicFromQuery(nsqd: Nsqd, url: string): [Map<string, string[]>, Topic] {
  const params = parseQuery(url);
  const names = params.get("topic");
  if (names === undefined) throw new HttpError(400, "MISSING_ARG_TOPIC");
  if (!isValidTopicName(names[0])) throw new HttpError(400, "INVALID_TOPIC");
  return [params, refusedWhileDraining(() => nsqd.getTopic(names[0]))];
}

/** Text mode: one message per line; empty lines skipped; `\r` kept. */
function textMessages(nsqd: Nsqd, topic: Topic, body: Uint8Array, arena: BodyArena): Message[] {
  const msgs: Message[] = [];
  const ns = nowNs();
  const [ms, hi, lo] = [Math.floor(ns / 1e6), tsHiOf(ns), tsLoOf(ns)];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(10, start);
    const next = end < 0 ? body.length : end + 1;
    if (end < 0) end = body.length;
    if (end > start) {
      if (end - start > nsqd.options.maxMsgSize) throw new HttpError(413, "MSG_TOO_BIG");
      msgs.push(arena.message(topic.guid, ms, body, start, end, hi, lo));
    }
    start = next;
  }
  return msgs;
}

/** Binary mode: `[4-byte count]([4-byte size][body])*`, errors as TCP MPUB's codes minus `E_`. */
function binaryMessages(nsqd: Nsqd, topic: Topic, body: Uint8Array, arena: BodyArena): Message[] {
  const o = nsqd.options;
  if (body.length < 4) throw new HttpError(413, "BAD_BODY");
  const count = readInt32(body, 0);
  if (count <= 0 || count > Math.floor((o.maxBodySize - 4) / 5)) throw new HttpError(413, "BAD_BODY");
  const msgs: Message[] = [];
  const ns = nowNs();
  const [ms, hi, lo] = [Math.floor(ns / 1e6), tsHiOf(ns), tsLoOf(ns)];
  let off = 4;
  for (let i = 0; i < count; i++) {
    if (off + 4 > body.length) throw new HttpError(413, "BAD_MESSAGE");
    const size = readInt32(body, off);
    off += 4;
    if (size <= 0 || size > o.maxMsgSize) throw new HttpError(413, "BAD_MESSAGE");
    if (off + size > body.length) throw new HttpError(413, "BAD_MESSAGE");
    msgs.push(arena.message(topic.guid, ms, body, off, off + size, hi, lo));
    off += size;
  }
  return msgs;
}
