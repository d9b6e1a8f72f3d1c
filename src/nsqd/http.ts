/**
 * nsqd's HTTP API (nsq `nsqd/http.go`, shared/nsq-reference.md §2): served by Hono on the
 * platform's HTTP server. This slice has /ping, /info, /pub, /mpub and /stats.
 */
import { Hono } from "hono";
import { Message, nowNs, readInt32 } from "../protocol/message.ts";
import { isValidTopicName } from "../protocol/names.ts";
import {
  HttpError,
  installErrorHandlers,
  parseGoBool,
  parseQuery,
  plainText,
  readBodyLimited,
  route,
  v1,
} from "./http_api.ts";
import type { Nsqd } from "./nsqd.ts";
import { getStats, memoryStats } from "./stats.ts";
import type { Topic } from "./topic.ts";
import { RELEASE_VERSION } from "./version.ts";

/** Builds the Hono app of one nsqd. */
export function createHttpApp(nsqd: Nsqd): Hono {
  const app = new Hono();
  const o = nsqd.options;
  installErrorHandlers(
    app,
    (err) => nsqd.logger.error(`HTTP: internal error - ${(err as Error)?.stack ?? err}`),
  );

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
      const msg = new Message(topic.guid.next(), body, nowNs());
      msg.deferMs = deferMs;
      try {
        topic.putMessage(msg);
      } catch {
        throw new HttpError(503, "EXITING");
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
      const msgs = binary ? binaryMessages(nsqd, topic, body) : textMessages(nsqd, topic, body);
      try {
        topic.putMessages(msgs);
      } catch {
        throw new HttpError(503, "EXITING");
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
      if (get("format") !== "json") {
        throw new HttpError(400, "INVALID_REQUEST"); // the text format arrives with the full HTTP API
      }
      const out: Record<string, unknown> = {
        version: nsqd.version,
        health: nsqd.health,
        start_time: nsqd.startTime,
        topics: stats.topics,
      };
      if (includeMem) out.memory = memoryStats();
      out.producers = stats.producers;
      return v1(out);
    },
  });

  return app;
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
  return [params, nsqd.getTopic(names[0])];
}

/** Text mode: one message per line; empty lines skipped; `\r` kept. */
function textMessages(nsqd: Nsqd, topic: Topic, body: Uint8Array): Message[] {
  const msgs: Message[] = [];
  let start = 0;
  while (start < body.length) {
    let end = body.indexOf(10, start);
    const next = end < 0 ? body.length : end + 1;
    if (end < 0) end = body.length;
    if (end > start) {
      if (end - start > nsqd.options.maxMsgSize) throw new HttpError(413, "MSG_TOO_BIG");
      msgs.push(new Message(topic.guid.next(), body.slice(start, end), nowNs()));
    }
    start = next;
  }
  return msgs;
}

/** Binary mode: `[4-byte count]([4-byte size][body])*`, errors as TCP MPUB's codes minus `E_`. */
function binaryMessages(nsqd: Nsqd, topic: Topic, body: Uint8Array): Message[] {
  const o = nsqd.options;
  if (body.length < 4) throw new HttpError(413, "BAD_BODY");
  const count = readInt32(body, 0);
  if (count <= 0 || count > Math.floor((o.maxBodySize - 4) / 5)) throw new HttpError(413, "BAD_BODY");
  const msgs: Message[] = [];
  let off = 4;
  for (let i = 0; i < count; i++) {
    if (off + 4 > body.length) throw new HttpError(413, "BAD_MESSAGE");
    const size = readInt32(body, off);
    off += 4;
    if (size <= 0 || size > o.maxMsgSize) throw new HttpError(413, "BAD_MESSAGE");
    if (off + size > body.length) throw new HttpError(413, "BAD_MESSAGE");
    msgs.push(new Message(topic.guid.next(), body.slice(off, off + size), nowNs()));
    off += size;
  }
  return msgs;
}
