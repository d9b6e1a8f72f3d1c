/**
 * The text format of `/stats` (nsq `nsqd/http.go` `printStats`, shared/nsq-reference.md §2.4):
 * what `curl host:4151/stats` shows an operator.
 */
import { formatDuration } from "../../protocol/go_duration.ts";
import type { Nsqd } from "../nsqd.ts";
import { resultToString as latencyText } from "./quantile.ts";
import type { ChannelStats, ClientStats, Stats, TopicStats } from "./stats.ts";
import { versionString } from "../../internal/version.ts";

/** Renders stats as upstream's text page. */
export function statsText(nsqd: Nsqd, stats: Stats, memory: Record<string, number> | null): string {
  const now = Date.now();
  const start = new Date(nsqd.startTime * 1000);
  let out = `${versionString("nsqd", nsqd.platform)}\n`;
  out += `start_time ${rfc3339(start)}\n`;
  out += `uptime ${formatDuration((now - nsqd.startTime * 1000) * 1e6)}\n`;
  out += `\nHealth: ${nsqd.health}\n`;
  if (nsqd.draining) out += "Draining: true\n";
  if (memory !== null) {
    out += "\nMemory:\n";
    for (const [k, v] of Object.entries(memory)) out += `   ${k.padEnd(25)}\t${v}\n`;
  }
  const topics = stats.topics ?? [];
  out += topics.length === 0 ? "\nTopics: None\n" : "\nTopics:";
  for (const t of topics) {
    out += `\n${t.paused ? "*P " : "   "}[${t.topic_name.padEnd(15)}] depth: ${pad(t.depth, 5)} be-depth: ${
      pad(t.backend_depth, 5)
    } msgs: ${pad(t.message_count, 8)} e2e%: ${latencyText(t.e2e_processing_latency)}${extraText(t)}\n`;
    for (const c of t.channels) {
      out += `${c.paused ? "   *P " : "      "}[${c.channel_name.padEnd(25)}] depth: ${
        pad(c.depth, 5)
      } be-depth: ${pad(c.backend_depth, 5)} inflt: ${pad(c.in_flight_count, 4)} def: ${
        pad(c.deferred_count, 4)
      } re-q: ${pad(c.requeue_count, 5)} timeout: ${pad(c.timeout_count, 5)} msgs: ${
        pad(c.message_count, 8)
      } e2e%: ${latencyText(c.e2e_processing_latency)}${extraText(c)}\n`;
      for (const client of c.clients ?? []) out += `        ${clientText(client, now)}\n`;
    }
  }
  const producers = stats.producers ?? [];
  if (producers.length === 0) {
    out += "\nProducers: None\n";
  } else {
    out += "\nProducers:\n";
    for (const p of producers) out += `   ${clientText(p, now)}\n`;
  }
  return out;
}

/** `ClientStats.String()`: a producer line when it published, else a consumer line. */
function clientText(s: ClientStats, now: number): string {
  const port = s.remote_address.slice(s.remote_address.lastIndexOf(":") + 1);
  const id = `${s.hostname}:${port} ${s.user_agent}`;
  const connected = formatDuration(Math.floor(now / 1000 - s.connect_ts) * 1e9);
  if (s.pub_counts && s.pub_counts.length > 0) {
    const total = s.pub_counts.reduce((n, p) => n + p.count, 0);
    const topics = s.pub_counts.map((p) => `${p.topic}=${p.count}`).join(",");
    return `[${s.version} ${id.padEnd(21)}] msgs: ${pad(total, 8)} topics: ${topics} connected: ${connected}`;
  }
  return `[${s.version} ${id.padEnd(21)}] state: ${s.state} inflt: ${pad(s.in_flight_count, 4)} rdy: ${
    pad(s.ready_count, 4)
  } fin: ${pad(s.finish_count, 8)} re-q: ${pad(s.requeue_count, 8)} msgs: ${
    pad(s.message_count, 8)
  } connected: ${connected}`;
}

/** Beyond upstream, only when in use (see stats.ts): ` max-age: 1m0s expired: 3`, ` max-depth: 10 dropped: 2`. */
function extraText(s: ChannelStats | TopicStats): string {
  let out = "";
  if ("max_msg_age" in s && s.max_msg_age !== undefined) out += ` max-age: ${formatDuration(s.max_msg_age)}`;
  if (s.expired_count !== undefined) out += ` expired: ${s.expired_count}`;
  if ("max_depth" in s && s.max_depth !== undefined) {
    out += ` max-depth: ${s.max_depth} dropped: ${s.dropped_count}`;
  }
  return out;
}

function pad(n: number, width: number): string {
  return String(n).padEnd(width);
}

/** Go's `time.RFC3339` in local time. */
function rfc3339(d: Date): string {
  const off = -d.getTimezoneOffset();
  const p2 = (n: number) => String(n).padStart(2, "0");
  const zone = off === 0
    ? "Z"
    : `${off > 0 ? "+" : "-"}${p2(Math.floor(Math.abs(off) / 60))}:${p2(Math.abs(off) % 60)}`;
  return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${
    p2(d.getMinutes())
  }:${p2(d.getSeconds())}${zone}`;
}
