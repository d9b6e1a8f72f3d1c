/**
 * `GET /metrics` of nsqlookupd: the registration DB's figures in Prometheus' text exposition format
 * (version 0.0.4, the same style as nsqd's `/metrics`), so a cluster's discovery state can be
 * scraped without polling `/nodes` and `/topics`. Not in upstream.
 */
import { Exposition } from "../internal/prometheus.ts";
import type { Nsqlookupd } from "./nsqlookupd.ts";
import { Category, filterByActive, type Producer, unixNanos } from "./registration_db.ts";

/** Renders the metrics of one nsqlookupd. */
export function nsqlookupdMetricsText(lookupd: Nsqlookupd): string {
  const o = lookupd.options;
  const now = unixNanos();
  let topics = 0;
  let channels = 0;
  let clients: Producer[] = [];
  const topicProducers = new Map<string, Producer[]>();
  for (const [r, producers] of lookupd.db.entries()) {
    if (r.category === Category.Client) clients = producers;
    else if (r.category === Category.Channel) channels++;
    else if (r.category === Category.Topic) {
      topics++;
      topicProducers.set(r.key, producers);
    }
  }
  const active = filterByActive(clients, {
    inactiveMs: o.inactiveProducerTimeout,
    tombstoneLifetimeMs: 0,
    now,
  });

  const x = new Exposition();
  x.gauge("nsqlookupd_tcp_clients", "TCP connections (identified or not).", {}, lookupd.clientCount);
  x.gauge("nsqlookupd_producers", "nsqd peers identified over TCP.", {}, clients.length);
  x.gauge(
    "nsqlookupd_active_producers",
    "Identified nsqd peers that pinged within --inactive-producer-timeout.",
    {},
    active.length,
  );
  x.gauge("nsqlookupd_topics", "Topics known (registered by an nsqd or created over HTTP).", {}, topics);
  x.gauge(
    "nsqlookupd_channels",
    "Channels known (registered by an nsqd or created over HTTP).",
    {},
    channels,
  );
  let tombstoned = 0;
  for (const [topic, producers] of topicProducers) {
    const visible = filterByActive(producers, {
      inactiveMs: o.inactiveProducerTimeout,
      tombstoneLifetimeMs: o.tombstoneLifetime,
      now,
    });
    tombstoned += producers.filter((p) => p.isTombstoned(o.tombstoneLifetime, now)).length;
    x.gauge(
      "nsqlookupd_topic_producers",
      "Producers of the topic that /lookup returns (active, not tombstoned).",
      { topic },
      visible.length,
    );
  }
  x.gauge(
    "nsqlookupd_tombstoned_producers",
    "Topic producers hidden from /lookup by a tombstone still within --tombstone-lifetime.",
    {},
    tombstoned,
  );
  x.gauge("nsqlookupd_info", "Versions of this nsqlookupd.", {
    version: lookupd.version,
    runtime: lookupd.platform.name,
    runtime_version: lookupd.platform.version,
  }, 1);
  x.gauge(
    "process_start_time_seconds",
    "Start time of the process since the Unix epoch, in seconds.",
    {},
    lookupd.startTime,
  );
  x.gauge(
    "nsqlookupd_uptime_seconds",
    "Seconds since this nsqlookupd started.",
    {},
    Date.now() / 1000 - lookupd.startTime,
  );
  return x.text();
}
