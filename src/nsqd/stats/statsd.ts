/**
 * Pushing stats to statsd over UDP (nsq `nsqd/statsd.go`, shared/nsq-reference.md §3.10): every
 * `--statsd-interval`, counters as deltas since the last push (`|c`) and gauges (`|g`), packed into
 * packets of at most `--statsd-udp-packet-size` bytes (whole lines only) and spread over the
 * interval minus one second.
 */
import type { NetAddr, UdpSender } from "../../platform/types.ts";
import { parseHostPort } from "../../internal/address.ts";
import type { Nsqd } from "../nsqd.ts";
import { getStats, memoryStats, type Stats } from "./stats.ts";

/** `statsd.HostKey` of `broadcast_address:broadcast_http_port`, put in place of `%s`, ending in `.`. */
export function statsdPrefix(template: string, broadcastAddress: string, httpPort: number): string {
  if (template === "") return "";
  const host = broadcastAddress.includes(":")
    ? `[${broadcastAddress}]:${httpPort}`
    : `${broadcastAddress}:${httpPort}`;
  let prefix = template.replaceAll("%s", host.replaceAll(".", "_").replaceAll(":", "_"));
  if (!prefix.endsWith(".")) prefix += ".";
  return prefix;
}

/** The statsd lines of one push; `last` holds the previous push's stats for counter deltas. */
export function statsdLines(
  nsqd: Nsqd,
  stats: Stats,
  last: Stats | null,
  lastGcRuns: number,
): string[] {
  const o = nsqd.options;
  const lines: string[] = [];
  const incr = (stat: string, n: number) => lines.push(`${stat}:${n}|c`);
  const gauge = (stat: string, n: number) => lines.push(`${stat}:${Math.trunc(n)}|g`);
  for (const topic of stats.topics ?? []) {
    if (o.statsdExcludeEphemeral && topic.topic_name.endsWith("#ephemeral")) continue;
    const lastTopic = last?.topics?.find((t) => t.topic_name === topic.topic_name);
    const t = `topic.${topic.topic_name}`;
    incr(`${t}.message_count`, topic.message_count - (lastTopic?.message_count ?? 0));
    incr(`${t}.message_bytes`, topic.message_bytes - (lastTopic?.message_bytes ?? 0));
    gauge(`${t}.depth`, topic.depth);
    gauge(`${t}.backend_depth`, topic.backend_depth);
    for (const p of topic.e2e_processing_latency.percentiles ?? []) {
      gauge(`${t}.e2e_processing_latency_${(p.quantile * 100).toFixed(0)}`, p.value);
    }
    for (const channel of topic.channels) {
      if (o.statsdExcludeEphemeral && channel.channel_name.endsWith("#ephemeral")) continue;
      const lastChannel = lastTopic?.channels.find((c) => c.channel_name === channel.channel_name);
      const c = `${t}.channel.${channel.channel_name}`;
      incr(`${c}.message_count`, channel.message_count - (lastChannel?.message_count ?? 0));
      gauge(`${c}.depth`, channel.depth);
      gauge(`${c}.backend_depth`, channel.backend_depth);
      gauge(`${c}.in_flight_count`, channel.in_flight_count);
      gauge(`${c}.deferred_count`, channel.deferred_count);
      incr(`${c}.requeue_count`, channel.requeue_count - (lastChannel?.requeue_count ?? 0));
      incr(`${c}.timeout_count`, channel.timeout_count - (lastChannel?.timeout_count ?? 0));
      gauge(`${c}.clients`, channel.client_count);
      for (const p of channel.e2e_processing_latency.percentiles ?? []) {
        gauge(`${c}.e2e_processing_latency_${(p.quantile * 100).toFixed(0)}`, p.value);
      }
    }
  }
  if (o.statsdMemStats) {
    const m = memoryStats();
    gauge("mem.heap_objects", m.heap_objects);
    gauge("mem.heap_idle_bytes", m.heap_idle_bytes);
    gauge("mem.heap_in_use_bytes", m.heap_in_use_bytes);
    gauge("mem.heap_released_bytes", m.heap_released_bytes);
    gauge("mem.gc_pause_usec_100", m.gc_pause_usec_100);
    gauge("mem.gc_pause_usec_99", m.gc_pause_usec_99);
    gauge("mem.gc_pause_usec_95", m.gc_pause_usec_95);
    gauge("mem.next_gc_bytes", m.next_gc_bytes);
    incr("mem.gc_runs", m.gc_total_runs - lastGcRuns);
  }
  return lines;
}

/** Packs `prefix+line\n` lines into packets of at most `size` bytes (a longer line goes alone). */
export function packStatsdLines(prefix: string, lines: string[], size: number): Uint8Array[] {
  const enc = new TextEncoder();
  const packets: Uint8Array[] = [];
  let current = "";
  for (const line of lines) {
    const text = `${prefix}${line}\n`;
    if (current !== "" && enc.encode(current + text).length > size) {
      packets.push(enc.encode(current));
      current = "";
    }
    current += text;
  }
  if (current !== "") packets.push(enc.encode(current));
  return packets;
}

/** The statsd loop of one nsqd. */
export class StatsdLoop {
  readonly #nsqd: Nsqd;
  readonly #udp: UdpSender;
  #timer: ReturnType<typeof setInterval> | undefined;
  #spread: ReturnType<typeof setTimeout>[] = [];
  #last: Stats | null = null;
  #lastGcRuns = 0;

  constructor(nsqd: Nsqd) {
    this.#nsqd = nsqd;
    this.#udp = nsqd.platform.createUdpSender();
  }

  start(): void {
    this.#timer = setInterval(() => this.push(), this.#nsqd.options.statsdInterval);
  }

  stop(): void {
    clearInterval(this.#timer);
    for (const t of this.#spread) clearTimeout(t);
    this.#spread = [];
    this.#udp.close();
  }

  /** One push: lines → packets → sent spread over the interval minus one second. */
  push(): void {
    const nsqd = this.#nsqd;
    const o = nsqd.options;
    let addr: NetAddr;
    try {
      addr = parseHostPort(o.statsdAddress);
    } catch {
      nsqd.logger.error(`failed to create UDP socket to statsd(${o.statsdAddress})`);
      return;
    }
    nsqd.logger.info(`STATSD: pushing stats to ${o.statsdAddress}`);
    const stats = getStats(nsqd, "", "", false);
    const lines = statsdLines(nsqd, stats, this.#last, this.#lastGcRuns);
    this.#last = stats;
    const httpPort = o.broadcastHttpPort || (nsqd.httpAddr?.port ?? 0);
    const prefix = statsdPrefix(o.statsdPrefix, o.broadcastAddress, httpPort);
    const packets = packStatsdLines(prefix, lines, o.statsdUdpPacketSize);
    const spreadMs = Math.max(0, o.statsdInterval - 1000);
    this.#spread = [];
    packets.forEach((packet, i) => {
      const send = () => this.#udp.send(packet, addr).catch((err) => nsqd.logger.error(`statsd: ${err}`));
      if (spreadMs === 0 || i === 0) send();
      else this.#spread.push(setTimeout(send, (spreadMs * i) / packets.length));
    });
  }
}
