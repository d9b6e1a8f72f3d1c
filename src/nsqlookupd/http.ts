/**
 * nsqlookupd's HTTP API (nsq `nsqlookupd/http.go`, shared/nsq-reference.md §5.3–5.4) on Hono:
 * discovery for consumers (`/lookup`, `/topics`, `/channels`, `/nodes`), administration for
 * nsqadmin (`/topic/*`, `/channel/*`, `/topic/tombstone`), `/debug`, `/ping`, `/info`, plus a
 * Prometheus `/metrics`. Same V1 conventions as nsqd (§2.1).
 *
 * Parameters come from the URL query only, and a parameter is "missing" only when its key is
 * absent: `?topic=` is an empty topic name, as upstream's `ReqParams.Get`. JSON is written with
 * Go's escapes; objects that are Go maps upstream have their keys in sorted order.
 */
import { type Context, Hono } from "hono";
import { PROMETHEUS_CONTENT_TYPE } from "../internal/prometheus.ts";
import { HttpError, installErrorHandlers, parseQuery, plainText, route, v1 } from "../internal/http_api.ts";
import { httpAuthorizerFor, nsqlookupdAccess } from "../internal/http_auth.ts";
import { NSQ_VERSION } from "../internal/version.ts";
import type { NetAddr } from "../platform/types.ts";
import { formatDuration } from "../protocol/go_duration.ts";
import { goJson, type GoJsonValue } from "../protocol/go_json.ts";
import { isValidChannelName, isValidTopicName } from "../protocol/names.ts";
import { formatPeerAddr } from "../internal/address.ts";
import { nsqlookupdMetricsText } from "./metrics.ts";
import type { Nsqlookupd } from "./nsqlookupd.ts";
import {
  Category,
  filterByActive,
  filterRegistrations,
  type PeerInfo,
  registrationKeys,
  registrationName,
  registrationSubKeys,
  ZERO_TIME_UNIX_NANOS,
} from "./registration_db.ts";

/** Builds the Hono app of one nsqlookupd. */
export function createLookupHttpApp(lookupd: Nsqlookupd): Hono {
  const app = new Hono();
  const { db, logger, options: o } = lookupd;

  // http_api.Log: one line per request, whatever the answer (404 and 405 included).
  app.use("*", async (c, next) => {
    const start = performance.now();
    await next();
    const url = new URL(c.req.url);
    // The platform passes the peer's address as Hono's env (see Platform.serve).
    const peer = (c.env as { remoteAddr?: NetAddr } | undefined)?.remoteAddr;
    const remote = peer ? formatPeerAddr(peer) : "";
    const elapsed = formatDuration(Math.round((performance.now() - start) * 1e6));
    logger.info(`${c.res.status} ${c.req.method} ${url.pathname}${url.search} (${remote}) ${elapsed}`);
  });
  installErrorHandlers(app, (err) => logger.error(`HTTP: internal error - ${(err as Error)?.stack ?? err}`));
  // --http-auth (beyond upstream): after the access log, so refusals are logged too.
  const authorizer = httpAuthorizerFor(o, "nsqlookupd");
  if (authorizer !== null) app.use("*", authorizer.middleware(nsqlookupdAccess, (line) => logger.warn(line)));

  route(app, "/ping", { GET: () => plainText("OK") });

  route(app, "/info", { GET: () => json({ version: NSQ_VERSION }) });

  route(app, "/debug", {
    GET: () => {
      // A Go map of registration name → producers: sorted keys, keys without producers left out.
      const data = new Map<string, GoJsonValue[]>();
      for (const [reg, producers] of db.entries()) {
        if (producers.length === 0) continue;
        const name = registrationName(reg);
        const list = data.get(name) ?? [];
        for (const p of producers) {
          const peer = p.peerInfo;
          list.push({
            broadcast_address: peer.broadcastAddress,
            hostname: peer.hostname,
            http_port: peer.httpPort,
            id: peer.id,
            last_update: peer.lastUpdate,
            tcp_port: peer.tcpPort,
            tombstoned: p.tombstoned,
            tombstoned_at: p.tombstonedAt ?? ZERO_TIME_UNIX_NANOS,
            topology_region: peer.topologyRegion,
            topology_zone: peer.topologyZone,
            version: peer.version,
          });
        }
        data.set(name, list);
      }
      const out: Record<string, GoJsonValue> = {};
      for (const name of [...data.keys()].sort()) out[name] = data.get(name)!;
      return json(out);
    },
  });

  route(app, "/lookup", {
    GET: (c) => {
      const topic = requireParam(c, "topic", "MISSING_ARG_TOPIC");
      if (db.findRegistrations(Category.Topic, topic, "").length === 0) {
        throw new HttpError(404, "TOPIC_NOT_FOUND");
      }
      const channels = registrationSubKeys(db.findRegistrations(Category.Channel, topic, "*"));
      const producers = filterByActive(db.findProducers(Category.Topic, topic, ""), {
        inactiveMs: o.inactiveProducerTimeout,
        tombstoneLifetimeMs: o.tombstoneLifetime,
      });
      return json({ channels, producers: producers.map((p) => peerInfoJson(p.peerInfo)) });
    },
  });

  route(app, "/topics", {
    GET: () => json({ topics: registrationKeys(db.findRegistrations(Category.Topic, "*", "")) }),
  });

  route(app, "/channels", {
    GET: (c) => {
      const topic = requireParam(c, "topic", "MISSING_ARG_TOPIC");
      return json({ channels: registrationSubKeys(db.findRegistrations(Category.Channel, topic, "*")) });
    },
  });

  route(app, "/nodes", {
    GET: () => {
      // Tombstones do not hide nodes: they are shown per topic instead.
      const producers = filterByActive(db.findProducers(Category.Client, "", ""), {
        inactiveMs: o.inactiveProducerTimeout,
        tombstoneLifetimeMs: 0,
      });
      const nodes = producers.map((p) => {
        const peer = p.peerInfo;
        const regs = filterRegistrations(db.lookupRegistrations(peer.id), {
          category: Category.Topic,
          key: "*",
          subKey: "",
        });
        const topics = registrationKeys(regs);
        const tombstones = topics.map((t) => {
          const tp = db.findProducers(Category.Topic, t, "").find((x) => x.peerInfo === peer);
          return tp !== undefined && tp.isTombstoned(o.tombstoneLifetime);
        });
        return { ...peerInfoJson(peer), tombstones, topics };
      });
      return json({ producers: nodes });
    },
  });

  route(app, "/topic/create", {
    POST: (c) => {
      const topic = requireParam(c, "topic", "MISSING_ARG_TOPIC");
      if (!isValidTopicName(topic)) throw new HttpError(400, "INVALID_ARG_TOPIC");
      logger.info(`DB: adding topic(${topic})`);
      db.addRegistration({ category: Category.Topic, key: topic, subKey: "" });
      return v1(null);
    },
  });

  route(app, "/topic/delete", {
    POST: (c) => {
      // No name check: whatever matches goes, and a topic that is not there is no error.
      const topic = requireParam(c, "topic", "MISSING_ARG_TOPIC");
      for (const reg of db.findRegistrations(Category.Channel, topic, "*")) {
        logger.info(`DB: removing channel(${reg.subKey}) from topic(${topic})`);
        db.removeRegistration(reg);
      }
      for (const reg of db.findRegistrations(Category.Topic, topic, "")) {
        logger.info(`DB: removing topic(${topic})`);
        db.removeRegistration(reg);
      }
      return v1(null);
    },
  });

  route(app, "/channel/create", {
    POST: (c) => {
      const [topic, channel] = topicChannelArgs(c);
      logger.info(`DB: adding channel(${channel}) in topic(${topic})`);
      db.addRegistration({ category: Category.Channel, key: topic, subKey: channel });
      logger.info(`DB: adding topic(${topic})`);
      db.addRegistration({ category: Category.Topic, key: topic, subKey: "" });
      return v1(null);
    },
  });

  route(app, "/channel/delete", {
    POST: (c) => {
      const [topic, channel] = topicChannelArgs(c);
      const regs = db.findRegistrations(Category.Channel, topic, channel);
      if (regs.length === 0) throw new HttpError(404, "CHANNEL_NOT_FOUND");
      logger.info(`DB: removing channel(${channel}) from topic(${topic})`);
      for (const reg of regs) db.removeRegistration(reg);
      return v1(null);
    },
  });

  route(app, "/topic/tombstone", {
    POST: (c) => {
      const params = parseQuery(c.req.url);
      const topic = params.get("topic")?.[0];
      if (topic === undefined) throw new HttpError(400, "MISSING_ARG_TOPIC");
      const node = params.get("node")?.[0];
      if (node === undefined) throw new HttpError(400, "MISSING_ARG_NODE");
      logger.info(`DB: setting tombstone for producer@${node} of topic(${topic})`);
      for (const p of db.findProducers(Category.Topic, topic, "")) {
        if (`${p.peerInfo.broadcastAddress}:${p.peerInfo.httpPort}` === node) p.tombstone();
      }
      return v1(null);
    },
  });

  route(app, "/metrics", {
    GET: () =>
      new Response(nsqlookupdMetricsText(lookupd), {
        headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE },
      }),
  });

  return app;
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

/** A PeerInfo as upstream's struct marshals it (field order kept). */
function peerInfoJson(p: PeerInfo): Record<string, GoJsonValue> {
  return {
    remote_address: p.remoteAddress,
    hostname: p.hostname,
    broadcast_address: p.broadcastAddress,
    tcp_port: p.tcpPort,
    http_port: p.httpPort,
    version: p.version,
    topology_zone: p.topologyZone,
    topology_region: p.topologyRegion,
  };
}

/** The first value of a query parameter; `missing` (400) when the key is absent. */
function requireParam(c: Context, key: string, missing: string): string {
  const v = parseQuery(c.req.url).get(key)?.[0];
  if (v === undefined) throw new HttpError(400, missing);
  return v;
}

/** upstream's `http_api.GetTopicChannelArgs`: both present and valid, checked in this order. */
function topicChannelArgs(c: Context): [string, string] {
  const params = parseQuery(c.req.url);
  const topic = params.get("topic")?.[0];
  if (topic === undefined) throw new HttpError(400, "MISSING_ARG_TOPIC");
  if (!isValidTopicName(topic)) throw new HttpError(400, "INVALID_ARG_TOPIC");
  const channel = params.get("channel")?.[0];
  if (channel === undefined) throw new HttpError(400, "MISSING_ARG_CHANNEL");
  if (!isValidChannelName(channel)) throw new HttpError(400, "INVALID_ARG_CHANNEL");
  return [topic, channel];
}
