/**
 * `GET /metrics`: the figures of /stats in Prometheus' text exposition format (version 0.0.4), so a
 * Prometheus server can scrape nsqd directly (what upstream users asked for in nsq issue #732).
 */
import type { Nsqd } from "../nsqd.ts";
import { Exposition } from "../../internal/prometheus.ts";
import { getStats } from "./stats.ts";

/** Renders every metric of one nsqd. Samples of a metric family are emitted together. */
export function prometheusText(nsqd: Nsqd): string {
  const stats = getStats(nsqd, "", "", false);
  const topics = stats.topics ?? [];
  const x = new Exposition();
  const topicGauge = (
    name: string,
    help: string,
    f: (t: typeof topics[0]) => number,
    type: "gauge" | "counter" = "gauge",
  ) => {
    for (const t of topics) x.metric(name, type, help, { topic: t.topic_name }, f(t));
  };
  topicGauge("nsq_topic_depth", "Messages queued on the topic (memory + backend).", (t) => t.depth);
  topicGauge(
    "nsq_topic_backend_depth",
    "Messages queued in the topic's backend (disk).",
    (t) => t.backend_depth,
  );
  topicGauge(
    "nsq_topic_messages_total",
    "Messages published to the topic.",
    (t) => t.message_count,
    "counter",
  );
  topicGauge(
    "nsq_topic_message_bytes_total",
    "Bytes of message bodies published to the topic.",
    (t) => t.message_bytes,
    "counter",
  );
  topicGauge(
    "nsq_topic_expired_total",
    "Messages dropped at the topic's hand-over to its channels, older than the max message age.",
    (t) => t.expired_count ?? 0,
    "counter",
  );
  topicGauge(
    "nsq_topic_max_msg_age_seconds",
    "The max message age in force (0 = off).",
    (t) => (t.max_msg_age ?? 0) / 1e9,
  );
  topicGauge("nsq_topic_paused", "1 if the topic is paused.", (t) => (t.paused ? 1 : 0));
  topicGauge("nsq_topic_channels", "Channels of the topic.", (t) => t.channels.length);

  const channels = topics.flatMap((t) => t.channels.map((c) => ({ t, c })));
  const channelMetric = (
    name: string,
    help: string,
    f: (c: typeof channels[0]["c"]) => number,
    type: "gauge" | "counter" = "gauge",
  ) => {
    for (const { t, c } of channels) {
      x.metric(name, type, help, { topic: t.topic_name, channel: c.channel_name }, f(c));
    }
  };
  channelMetric("nsq_channel_depth", "Messages queued on the channel (memory + backend).", (c) => c.depth);
  channelMetric(
    "nsq_channel_backend_depth",
    "Messages queued in the channel's backend (disk).",
    (c) => c.backend_depth,
  );
  channelMetric(
    "nsq_channel_in_flight",
    "Messages delivered and not yet finished.",
    (c) => c.in_flight_count,
  );
  channelMetric(
    "nsq_channel_deferred",
    "Messages deferred (DPUB, REQ with a delay).",
    (c) => c.deferred_count,
  );
  channelMetric(
    "nsq_channel_messages_total",
    "Messages put on the channel.",
    (c) => c.message_count,
    "counter",
  );
  channelMetric(
    "nsq_channel_requeued_total",
    "Messages requeued by clients (REQ).",
    (c) => c.requeue_count,
    "counter",
  );
  channelMetric(
    "nsq_channel_timed_out_total",
    "In-flight messages that timed out.",
    (c) => c.timeout_count,
    "counter",
  );
  channelMetric(
    "nsq_channel_expired_total",
    "Messages dropped instead of delivered, older than the max message age.",
    (c) => c.expired_count ?? 0,
    "counter",
  );
  channelMetric(
    "nsq_channel_dropped_total",
    "Oldest messages dropped to keep the channel within its max depth.",
    (c) => c.dropped_count ?? 0,
    "counter",
  );
  channelMetric("nsq_channel_max_depth", "The channel's max depth (0 = none).", (c) => c.max_depth ?? 0);
  channelMetric("nsq_channel_clients", "Clients subscribed to the channel.", (c) => c.client_count);
  channelMetric("nsq_channel_paused", "1 if the channel is paused.", (c) => (c.paused ? 1 : 0));

  for (const t of topics) {
    for (const p of t.e2e_processing_latency.percentiles ?? []) {
      x.metric(
        "nsq_topic_e2e_processing_latency_seconds",
        "gauge",
        "End-to-end processing latency (publish to FIN) quantiles over the latency window.",
        { topic: t.topic_name, quantile: String(p.quantile) },
        p.value / 1e9,
      );
    }
  }
  for (const { t, c } of channels) {
    for (const p of c.e2e_processing_latency.percentiles ?? []) {
      x.metric(
        "nsq_channel_e2e_processing_latency_seconds",
        "gauge",
        "End-to-end processing latency (publish to FIN) quantiles over the latency window.",
        { topic: t.topic_name, channel: c.channel_name, quantile: String(p.quantile) },
        p.value / 1e9,
      );
    }
  }

  let clients = 0;
  let producers = 0;
  for (const c of nsqd.clients) {
    clients++;
    if (c.pubCounts.size > 0) producers++;
  }
  x.metric("nsq_clients", "gauge", "TCP clients connected.", {}, clients);
  x.metric("nsq_producers", "gauge", "TCP clients that have published.", {}, producers);
  x.metric("nsq_topics", "gauge", "Topics.", {}, topics.length);
  x.metric("nsq_healthy", "gauge", "1 when healthy (no backend write error).", {}, nsqd.isHealthy ? 1 : 0);
  x.metric(
    "nsq_draining",
    "gauge",
    "1 while draining (publishes refused, exits once empty).",
    {},
    nsqd.draining ? 1 : 0,
  );
  x.metric("nsq_info", "gauge", "Versions of this nsqd.", {
    version: nsqd.version,
    runtime: nsqd.platform.name,
    runtime_version: nsqd.platform.version,
  }, 1);
  const mem = processMemory();
  if (mem !== null) {
    x.metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", {}, mem.rss);
    x.metric("nsq_heap_used_bytes", "gauge", "JavaScript heap in use, in bytes.", {}, mem.heapUsed);
  }
  x.metric(
    "process_start_time_seconds",
    "gauge",
    "Start time of the process since the Unix epoch, in seconds.",
    {},
    nsqd.startTime,
  );
  x.metric(
    "nsq_uptime_seconds",
    "gauge",
    "Seconds since this nsqd started.",
    {},
    (Date.now() / 1000) - nsqd.startTime,
  );
  return x.text();
}

function processMemory(): { rss: number; heapUsed: number } | null {
  const proc =
    (globalThis as { process?: { memoryUsage?: () => { rss: number; heapUsed: number } } }).process;
  try {
    return proc?.memoryUsage?.() ?? null;
  } catch {
    return null;
  }
}
