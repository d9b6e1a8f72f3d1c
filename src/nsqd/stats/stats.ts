/**
 * The figures behind `/stats` (nsq `nsqd/stats.go`, shared/nsq-reference.md §2.4), with upstream's
 * JSON key names, order and null-vs-[] rules.
 */
import { authStats } from "../../internal/auth.ts";
import type { Channel } from "../channel.ts";
import type { ClientV2 } from "../client_v2.ts";
import type { Nsqd } from "../nsqd.ts";
import { mergeQuantiles, resultOf } from "./quantile.ts";
import type { Topic } from "../topic.ts";

export interface ClientStats {
  client_id: string;
  hostname: string;
  version: "V2";
  remote_address: string;
  state: number;
  ready_count: number;
  in_flight_count: number;
  message_count: number;
  finish_count: number;
  requeue_count: number;
  connect_ts: number;
  sample_rate: number;
  deflate: boolean;
  snappy: boolean;
  user_agent: string;
  authed?: true;
  auth_identity?: string;
  auth_identity_url?: string;
  pub_counts?: { topic: string; count: number }[];
  topology_zone: string;
  topology_region: string;
  tls: boolean;
  tls_cipher_suite: string;
  tls_version: string;
  tls_negotiated_protocol: string;
  tls_negotiated_protocol_is_mutual: boolean;
}

export interface E2eLatency {
  count: number;
  percentiles: { quantile: number; value: number }[] | null;
}

export interface ChannelStats {
  channel_name: string;
  depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  message_count: number;
  requeue_count: number;
  timeout_count: number;
  client_count: number;
  clients: ClientStats[] | null;
  paused: boolean;
  e2e_processing_latency: E2eLatency;
  /**
   * Beyond upstream, last and only while the topic has a max message age (or once one dropped something): messages
   * older than it dropped instead of delivered.
   */
  expired_count?: number;
  /** Beyond upstream, only while set (or once it dropped something): the max depth, 0 once cleared. */
  max_depth?: number;
  /** Beyond upstream, with `max_depth`: the oldest messages dropped to keep the channel within it. */
  dropped_count?: number;
}

export interface TopicStats {
  topic_name: string;
  channels: ChannelStats[];
  depth: number;
  backend_depth: number;
  message_count: number;
  message_bytes: number;
  paused: boolean;
  e2e_processing_latency: E2eLatency;
  /** Beyond upstream, last and only while set: the max message age in force, in ns (a Go duration). */
  max_msg_age?: number;
  /**
   * Beyond upstream, only while a max message age is in force (or once one dropped something): messages dropped
   * at the topic's own hand-over to its channels (each channel counts its own drops).
   */
  expired_count?: number;
}

export interface Stats {
  topics: TopicStats[] | null;
  producers: ClientStats[] | null;
}

/** `NSQD.GetStats`: an unknown `topic` filter gives null topics (and no producers). */
export function getStats(
  nsqd: Nsqd,
  topicFilter: string,
  channelFilter: string,
  includeClients: boolean,
): Stats {
  let topics: Topic[];
  if (topicFilter === "") {
    topics = nsqd.topics;
  } else {
    const t = nsqd.getExistingTopic(topicFilter);
    if (t === undefined) return { topics: null, producers: null };
    topics = [t];
  }
  const topicStats: TopicStats[] = [];
  for (const t of topics) {
    let channels: Channel[];
    if (channelFilter === "") {
      channels = t.channels;
    } else {
      const c = t.getExistingChannel(channelFilter);
      if (c === undefined) continue;
      channels = [c];
    }
    // Channel stats first: computing them rotates each channel's latency window before the merge.
    const channelStats = channels.map((c) => channelStatsOf(nsqd, t, c, includeClients, topicFilter));
    topicStats.push(topicStatsOf(nsqd, t, channelStats));
  }
  let producers: ClientStats[] | null = null;
  if (includeClients) {
    for (const client of nsqd.clients) {
      if (client.pubCounts.size === 0) continue;
      (producers ??= []).push(clientStatsOf(nsqd, client, topicFilter));
    }
  }
  return { topics: topicStats, producers };
}

function topicStatsOf(_nsqd: Nsqd, t: Topic, channels: ChannelStats[]): TopicStats {
  // The topic's latency merges every channel's samples (Topic.AggregateChannelE2eProcessingLatency).
  const latency = resultOf(mergeQuantiles(t.channels.map((c) => c.e2eLatency)));
  const out: TopicStats = {
    topic_name: t.name,
    channels,
    depth: t.depth,
    backend_depth: t.backendDepth,
    message_count: t.messageCount,
    message_bytes: t.messageBytes,
    paused: t.paused,
    e2e_processing_latency: latency,
  };
  // Only when in use (Go's omitempty), last: the default shape stays upstream's.
  const maxAge = t.effectiveMaxMsgAge;
  if (maxAge > 0) out.max_msg_age = Math.round(maxAge * 1e6);
  if (maxAge > 0 || t.expiredCount > 0) out.expired_count = t.expiredCount;
  return out;
}

function channelStatsOf(
  nsqd: Nsqd,
  t: Topic,
  c: Channel,
  includeClients: boolean,
  topicFilter: string,
): ChannelStats {
  const out: ChannelStats = {
    channel_name: c.name,
    depth: c.depth,
    backend_depth: c.backendDepth,
    in_flight_count: c.inFlightCount,
    deferred_count: c.deferredCount,
    message_count: c.messageCount,
    requeue_count: c.requeueCount,
    timeout_count: c.timeoutCount,
    client_count: c.clientCount,
    clients: includeClients ? c.clients.map((cl) => clientStatsOf(nsqd, cl as ClientV2, topicFilter)) : null,
    paused: c.paused,
    e2e_processing_latency: resultOf(c.e2eLatency),
  };
  // Only when in use (Go's omitempty), last: the default shape stays upstream's.
  if (t.effectiveMaxMsgAge > 0 || c.expiredCount > 0) out.expired_count = c.expiredCount;
  if (c.maxDepth > 0 || c.droppedCount > 0) {
    out.max_depth = c.maxDepth;
    out.dropped_count = c.droppedCount;
  }
  return out;
}

/** `clientV2.Stats`: only one pub count is reported (upstream breaks after the first match). */
export function clientStatsOf(_nsqd: Nsqd, c: ClientV2, topicFilter: string): ClientStats {
  const stats: ClientStats = {
    client_id: c.clientId,
    hostname: c.hostname,
    version: "V2",
    remote_address: c.remoteAddress,
    state: c.state,
    ready_count: c.readyCount,
    in_flight_count: c.inFlightCount,
    message_count: c.messageCount,
    finish_count: c.finishCount,
    requeue_count: c.requeueCount,
    connect_ts: Math.floor(c.connectTs / 1000),
    sample_rate: c.sampleRate,
    deflate: c.deflate,
    snappy: c.snappy,
    user_agent: c.userAgent,
    ...authStats(c.auth),
    topology_zone: "",
    topology_region: "",
    tls: c.tls !== null,
    tls_cipher_suite: c.tls?.cipherSuite ?? "",
    tls_version: c.tls?.version ?? "",
    tls_negotiated_protocol: "",
    tls_negotiated_protocol_is_mutual: false,
  };
  for (const [topic, count] of c.pubCounts) {
    if (topicFilter !== "" && topic !== topicFilter) continue;
    stats.pub_counts = [{ topic, count }];
    break;
  }
  return stats;
}

/** Process memory in the shape of upstream's Go runtime figures (what has no equivalent is 0). */
export function memoryStats(): Record<string, number> {
  let heapUsed = 0;
  let heapTotal = 0;
  const proc =
    (globalThis as { process?: { memoryUsage?: () => { heapUsed: number; heapTotal: number } } }).process;
  try {
    const m = proc?.memoryUsage?.();
    if (m) {
      heapUsed = m.heapUsed;
      heapTotal = m.heapTotal;
    }
  } catch { /* not available */ }
  return {
    heap_objects: 0,
    heap_idle_bytes: Math.max(0, heapTotal - heapUsed),
    heap_in_use_bytes: heapUsed,
    heap_released_bytes: 0,
    gc_pause_usec_100: 0,
    gc_pause_usec_99: 0,
    gc_pause_usec_95: 0,
    next_gc_bytes: 0,
    gc_total_runs: 0,
  };
}
