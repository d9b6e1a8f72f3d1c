/**
 * What nsqadmin knows of the cluster (nsq `internal/clusterinfo/data.go`, shared/nsq-reference.md
 * §11.3–11.5): it asks every nsqlookupd (or, without lookupds, every configured nsqd) over HTTP, in
 * parallel, and merges the answers into upstream's JSON shapes; admin actions fan out the same way.
 *
 * Failure accounting: a query or an action that failed on some targets yields its result plus
 * warnings (upstream's partial error); one that failed on every target throws a `ClusterError`
 * (upstream's `failed to query any nsqd: …`, a 502). Unlike upstream, zero targets is not a failure,
 * and an action whose every request failed is a failure too.
 */
import { BINARY_VERSION } from "../internal/version.ts";
import type { GoJsonValue } from "../protocol/go_json.ts";

/** Every target failed (or the query could not be made): a 502 `UPSTREAM_ERROR: …`. */
export class ClusterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ClusterError";
  }
}

/** A result with the errors of the targets that did not answer. */
export interface Gathered<T> {
  value: T;
  /** One text per failed target (upstream joins them with `\n`). */
  errors: string[];
}

/** A JSON object as it comes from an upstream. */
// deno-lint-ignore no-explicit-any
type Json = any;

/** An nsqd as nsqadmin lists it (`/api/nodes`; upstream `clusterinfo.Producer`). */
export interface Producer {
  remote_addresses: string[] | null;
  remote_address: string;
  hostname: string;
  broadcast_address: string;
  tcp_port: number;
  http_port: number;
  version: string;
  topics: { topic: string; tombstoned: boolean }[] | null;
  out_of_date: boolean;
}

/** `broadcast_address:http_port`: how nsqadmin names an nsqd (`Producer.HTTPAddress`). */
export function httpAddress(p: { broadcast_address: string; http_port: number }): string {
  return `${formatHost(p.broadcast_address)}:${p.http_port}`;
}

function formatHost(h: string): string {
  return h.includes(":") && !h.startsWith("[") ? `[${h}]` : h;
}

/** e2e latency as nsqadmin shows it (`quantile.E2eProcessingLatencyAggregate`). */
export interface E2eLatency {
  count: number;
  percentiles: Record<string, number>[] | null;
  topic: string;
  channel: string;
  host: string;
}

/** A topic on one nsqd, or all of them (`node` `"*"`). */
export interface TopicStats {
  node: string;
  hostname: string;
  topic_name: string;
  depth: number;
  memory_depth: number;
  backend_depth: number;
  message_count: number;
  nodes: TopicStats[] | null;
  channels: ChannelStats[];
  paused: boolean;
  e2e_processing_latency: E2eLatency;
}

/** A channel on one nsqd, or on all of them (`node` `"*"`). */
export interface ChannelStats {
  node: string;
  hostname: string;
  topic_name: string;
  channel_name: string;
  depth: number;
  memory_depth: number;
  backend_depth: number;
  in_flight_count: number;
  deferred_count: number;
  requeue_count: number;
  timeout_count: number;
  message_count: number;
  client_count: number;
  nodes: ChannelStats[] | null;
  clients: ClientStats[] | null;
  paused: boolean;
  e2e_processing_latency: E2eLatency;
}

/** A consumer connection, with the nsqd it is on (`node`) and its age in ns (`connected`). */
export type ClientStats = Record<string, GoJsonValue>;

/** How nsqadmin talks to the cluster. */
export interface ClusterInfoOptions {
  /** Timeout of one whole request (ms). */
  requestTimeout: number;
  /** Sent as a Bearer token with every request ("" = none). */
  authToken?: string;
}

/** The answers of nsqds' `/stats` for a set of producers. */
export interface NsqdStats {
  /** One entry per nsqd and topic, sorted by hostname. */
  topics: TopicStats[];
  /** Aggregates keyed by channel name (one topic asked) or `topic:channel`. */
  channels: Map<string, ChannelStats>;
}

/** Queries the cluster; stateless apart from its options. */
export class ClusterInfo {
  readonly #opts: ClusterInfoOptions;

  constructor(opts: ClusterInfoOptions) {
    this.#opts = opts;
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  /** upstream's `GETV1`: a JSON answer, following nsqd's TLS_REQUIRED redirect to its `https_port`. */
  async getJson(url: string): Promise<Json> {
    const text = await this.#request("GET", url);
    try {
      return JSON.parse(text);
    } catch (err) {
      throw new Error(`${(err as Error).message} (from ${url})`);
    }
  }

  /** upstream's `POSTV1`: an empty POST whose 200 answer is ignored. */
  async post(url: string): Promise<void> {
    await this.#request("POST", url);
  }

  async #request(method: string, url: string): Promise<string> {
    for (let attempt = 0;; attempt++) {
      let res: Response;
      try {
        const headers: Record<string, string> = {
          Accept: "application/vnd.nsq; version=1.0",
          "User-Agent": `nsqadmin/${BINARY_VERSION}`,
        };
        if (this.#opts.authToken) headers.Authorization = `Bearer ${this.#opts.authToken}`;
        res = await fetch(url, { method, headers, signal: AbortSignal.timeout(this.#opts.requestTimeout) });
      } catch (err) {
        throw new Error(`${method === "GET" ? "Get" : "Post"} "${url}": ${errorText(err)}`);
      }
      const body = await res.text();
      if (res.status === 200) return body;
      if (res.status === 403 && attempt === 0 && url.startsWith("http:")) {
        const port = httpsPort(body);
        if (port !== null) {
          const u = new URL(url);
          u.protocol = "https:";
          u.port = String(port);
          url = u.toString();
          continue;
        }
      }
      throw new Error(`got response ${res.status} ${res.statusText} ${JSON.stringify(body)}`);
    }
  }

  /**
   * Runs `fn` on every target in parallel. Throws a ClusterError when every target failed (there
   * being at least one); otherwise returns the answers, in target order, and the failures.
   */
  async gather<T>(
    targets: readonly string[],
    kind: "nsqlookupd" | "nsqd",
    fn: (addr: string) => Promise<T>,
  ): Promise<Gathered<[string, T][]>> {
    const settled = await Promise.allSettled(targets.map(fn));
    const value: [string, T][] = [];
    const errors: string[] = [];
    settled.forEach((s, i) => {
      if (s.status === "fulfilled") value.push([targets[i], s.value]);
      else errors.push((s.reason as Error)?.message ?? String(s.reason));
    });
    if (targets.length > 0 && errors.length === targets.length) {
      throw new ClusterError(`failed to query any ${kind}: ${errors.join("\n")}`);
    }
    return { value, errors };
  }

  // ---- queries -----------------------------------------------------------------------------------

  /** Every topic the lookupds know (`GET /topics`), sorted, without duplicates. */
  async getLookupdTopics(lookupds: readonly string[]): Promise<Gathered<string[]>> {
    const r = await this.gather(lookupds, "nsqlookupd", (a) => this.getJson(`http://${a}/topics`));
    const topics = new Set<string>();
    for (const [, body] of r.value) for (const t of body.topics ?? []) topics.add(t);
    return { value: [...topics].sort(), errors: r.errors };
  }

  /** Every topic of the nsqds' `/stats`, sorted, without duplicates. */
  async getNsqdTopics(nsqds: readonly string[]): Promise<Gathered<string[]>> {
    const r = await this.gather(nsqds, "nsqd", (a) => this.getJson(statsUrl(a, "", "", false)));
    const topics = new Set<string>();
    for (const [, body] of r.value) for (const t of body.topics ?? []) topics.add(t.topic_name);
    return { value: [...topics].sort(), errors: r.errors };
  }

  /** The channels the lookupds know of a topic (`GET /channels`), sorted. */
  async getLookupdTopicChannels(topic: string, lookupds: readonly string[]): Promise<Gathered<string[]>> {
    const r = await this.gather(
      lookupds,
      "nsqlookupd",
      (a) => this.getJson(`http://${a}/channels?topic=${encodeURIComponent(topic)}`),
    );
    const channels = new Set<string>();
    for (const [, body] of r.value) for (const c of body.channels ?? []) channels.add(c);
    return { value: [...channels].sort(), errors: r.errors };
  }

  /** The nsqds producing `topic` per the lookupds (`GET /lookup`); a lookupd's 404 means none. */
  async getLookupdTopicProducers(topic: string, lookupds: readonly string[]): Promise<Gathered<Producer[]>> {
    const r = await this.gather(lookupds, "nsqlookupd", async (a) => {
      try {
        return await this.getJson(`http://${a}/lookup?topic=${encodeURIComponent(topic)}`);
      } catch (err) {
        if ((err as Error).message.startsWith("got response 404 ")) return { producers: [] };
        throw err;
      }
    });
    const byAddr = new Map<string, Producer>();
    for (const [lookupd, body] of r.value) {
      for (const raw of body.producers ?? []) {
        const p = producerFromLookupd(raw);
        const key = httpAddress(p);
        const known = byAddr.get(key);
        if (known) known.remote_addresses!.push(`${lookupd}/${raw.remote_address}`);
        else {
          p.remote_addresses = [`${lookupd}/${raw.remote_address}`];
          byAddr.set(key, p);
        }
      }
    }
    return { value: [...byAddr.values()], errors: r.errors };
  }

  /** Every nsqd the lookupds know (`GET /nodes`), merged by TCP address, marked out of date. */
  async getLookupdProducers(lookupds: readonly string[]): Promise<Gathered<Producer[]>> {
    const r = await this.gather(lookupds, "nsqlookupd", (a) => this.getJson(`http://${a}/nodes`));
    const byAddr = new Map<string, Producer>();
    for (const [lookupd, body] of r.value) {
      for (const raw of body.producers ?? []) {
        const key = `${formatHost(raw.broadcast_address)}:${raw.tcp_port}`;
        let p = byAddr.get(key);
        if (p === undefined) {
          p = producerFromLookupd(raw);
          p.remote_addresses = [];
          const topics: string[] = raw.topics ?? [];
          const tombstones: boolean[] = raw.tombstones ?? [];
          p.topics = topics.length === 0
            ? null
            : topics.map((t, i) => ({ topic: t, tombstoned: tombstones[i] === true }))
              .sort((a, b) => (a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : 0));
          byAddr.set(key, p);
        }
        p.remote_addresses!.push(`${lookupd}/${raw.remote_address || "N/A"}`);
      }
    }
    return { value: markOutOfDate(sortByHostname([...byAddr.values()])), errors: r.errors };
  }

  /** Every configured nsqd, from its `/info` and `/stats` (nsqd mode). */
  async getNsqdProducers(nsqds: readonly string[]): Promise<Gathered<Producer[]>> {
    const r = await this.gather(nsqds, "nsqd", async (a) => {
      const [info, stats] = await Promise.all([
        this.getJson(`http://${a}/info`),
        this.getJson(statsUrl(a, "", "", false)),
      ]);
      return producerFromNsqd(a, info, stats);
    });
    return { value: sortByHostname(r.value.map(([, p]) => p)), errors: r.errors };
  }

  /** The nsqds that have `topic` (nsqd mode). */
  async getNsqdTopicProducers(topic: string, nsqds: readonly string[]): Promise<Gathered<Producer[]>> {
    const r = await this.getNsqdProducers(nsqds);
    return { value: r.value.filter((p) => p.topics?.some((t) => t.topic === topic)), errors: r.errors };
  }

  /** The nsqds of the cluster: from the lookupds if there are any, else the configured nsqds. */
  getProducers(lookupds: readonly string[], nsqds: readonly string[]): Promise<Gathered<Producer[]>> {
    return lookupds.length > 0 ? this.getLookupdProducers(lookupds) : this.getNsqdProducers(nsqds);
  }

  /** The nsqds producing `topic`, from the lookupds if there are any, else from the nsqds. */
  getTopicProducers(
    topic: string,
    lookupds: readonly string[],
    nsqds: readonly string[],
  ): Promise<Gathered<Producer[]>> {
    return lookupds.length > 0
      ? this.getLookupdTopicProducers(topic, lookupds)
      : this.getNsqdTopicProducers(topic, nsqds);
  }

  /**
   * Stats of `producers` (`/stats?format=json`, optionally for one topic and channel): per-node
   * topics, and channel aggregates listing every node.
   */
  async getNsqdStats(
    producers: readonly Producer[],
    topic: string,
    channel: string,
    includeClients: boolean,
  ): Promise<Gathered<NsqdStats>> {
    const hostnames = new Map(producers.map((p) => [httpAddress(p), p.hostname]));
    const r = await this.gather(
      [...hostnames.keys()],
      "nsqd",
      (a) => this.getJson(statsUrl(a, topic, channel, includeClients)),
    );
    const nowS = Math.floor(Date.now() / 1000);
    const topics: TopicStats[] = [];
    const channelNodes = new Map<string, ChannelStats[]>();
    for (const [addr, body] of r.value) {
      const hostname = hostnames.get(addr)!;
      for (const raw of body.topics ?? []) {
        if (topic !== "" && raw.topic_name !== topic) continue;
        const t = topicFromNsqd(addr, hostname, raw, nowS);
        topics.push(t);
        for (const c of t.channels) {
          const key = topic === "" ? `${t.topic_name}:${c.channel_name}` : c.channel_name;
          const list = channelNodes.get(key) ?? [];
          list.push(c);
          channelNodes.set(key, list);
        }
      }
    }
    const channels = new Map<string, ChannelStats>();
    for (const key of [...channelNodes.keys()].sort()) {
      const nodes = channelNodes.get(key)!;
      channels.set(key, aggregateChannel(nodes[0].topic_name, nodes[0].channel_name, nodes));
    }
    return { value: { topics: sortByHostname(topics), channels }, errors: r.errors };
  }
}

/** `http://addr/stats?format=json…` as upstream builds it. */
function statsUrl(addr: string, topic: string, channel: string, includeClients: boolean): string {
  let url = `http://${addr}/stats?format=json`;
  if (topic !== "") url += `&topic=${encodeURIComponent(topic)}`;
  if (channel !== "") url += `&channel=${encodeURIComponent(channel)}`;
  if (!includeClients) url += "&include_clients=false";
  return url;
}

/** A fetch failure with its cause (Deno and Bun put the socket error there). */
function errorText(err: unknown): string {
  const e = err as Error & { cause?: { message?: string; code?: string } };
  const cause = e.cause?.message ?? e.cause?.code;
  return cause && cause !== e.message ? `${e.message}: ${cause}` : e.message;
}

function httpsPort(body: string): number | null {
  try {
    const j = JSON.parse(body);
    return typeof j?.https_port === "number" ? j.https_port : null;
  } catch {
    return null;
  }
}

function producerFromLookupd(raw: Json): Producer {
  return {
    remote_addresses: null,
    remote_address: String(raw.remote_address ?? ""),
    hostname: String(raw.hostname ?? ""),
    broadcast_address: String(raw.broadcast_address ?? ""),
    tcp_port: Number(raw.tcp_port ?? 0),
    http_port: Number(raw.http_port ?? 0),
    version: String(raw.version ?? ""),
    topics: null,
    out_of_date: false,
  };
}

/** An nsqd from its `/info` and `/stats`; a missing broadcast address or hostname is `addr`'s host. */
function producerFromNsqd(addr: string, info: Json, stats: Json): Producer {
  const host = addr.slice(0, addr.lastIndexOf(":")).replace(/^\[|\]$/g, "");
  const topics = (stats.topics ?? []).map((t: Json) => ({
    topic: t.topic_name as string,
    tombstoned: false,
  }));
  return {
    remote_addresses: null,
    remote_address: "",
    hostname: info.hostname || host,
    broadcast_address: info.broadcast_address || host,
    tcp_port: Number(info.tcp_port ?? 0),
    http_port: Number(info.http_port ?? 0),
    version: String(info.version ?? ""),
    topics: topics.length === 0 ? null : topics,
    out_of_date: false,
  };
}

function sortByHostname<T extends { hostname: string }>(list: T[]): T[] {
  return list.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
}

/** Flags producers whose version is below the highest seen (semver; unparsable = 0.0.0). */
function markOutOfDate(list: Producer[]): Producer[] {
  let max = parseSemver("0.0.0");
  for (const p of list) {
    const v = parseSemver(p.version);
    if (compareSemver(v, max) > 0) max = v;
  }
  for (const p of list) p.out_of_date = compareSemver(parseSemver(p.version), max) < 0;
  return list;
}

interface Semver {
  core: [number, number, number];
  pre: string[];
}

/** Semantic version 2.0.0 (build metadata ignored); invalid text is 0.0.0, as upstream. */
export function parseSemver(text: string): Semver {
  const m = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/
    .exec(text);
  if (m === null) return { core: [0, 0, 0], pre: [] };
  return { core: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] ? m[4].split(".") : [] };
}

/** Orders two versions (pre-releases below their release). */
export function compareSemver(a: Semver, b: Semver): number {
  for (let i = 0; i < 3; i++) if (a.core[i] !== b.core[i]) return a.core[i] - b.core[i];
  if (a.pre.length === 0 || b.pre.length === 0) return b.pre.length - a.pre.length;
  for (let i = 0; i < Math.min(a.pre.length, b.pre.length); i++) {
    const x = a.pre[i], y = b.pre[i];
    if (x === y) continue;
    const xn = /^[0-9]+$/.test(x), yn = /^[0-9]+$/.test(y);
    if (xn && yn) return Number(x) - Number(y);
    if (xn !== yn) return xn ? -1 : 1;
    return x < y ? -1 : 1;
  }
  return a.pre.length - b.pre.length;
}

// ---- shapes ----------------------------------------------------------------------------------------

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

/** One nsqd's e2e latency: each percentile's `value` copied into min/max/average, count added. */
function nodeE2e(raw: Json): E2eLatency {
  const count = num(raw?.count);
  const percentiles = Array.isArray(raw?.percentiles)
    ? raw.percentiles.map((p: Json) => ({
      average: num(p.value),
      count,
      max: num(p.value),
      min: num(p.value),
      quantile: num(p.quantile),
      value: num(p.value),
    }))
    : null;
  return { count, percentiles, topic: "", channel: "", host: "" };
}

/** Several nodes' latencies: counts summed, weighted averages, min and max, highest quantile first. */
function aggregateE2e(topic: string, channel: string, list: E2eLatency[]): E2eLatency {
  const out: E2eLatency = { count: 0, percentiles: null, topic, channel, host: "*" };
  for (const e of list) {
    out.count += e.count;
    for (const p of e.percentiles ?? []) {
      out.percentiles ??= [];
      let q = out.percentiles.find((x) => x.quantile === p.quantile);
      if (q === undefined) {
        q = { average: 0, count: 0, max: p.max, min: p.min, quantile: p.quantile };
        out.percentiles.push(q);
      }
      q.max = Math.max(q.max, p.max);
      q.min = Math.min(q.min, p.min);
      q.count += p.count;
      q.average = q.count === 0 ? 0 : q.average + (p.average - q.average) * p.count / q.count;
    }
  }
  out.percentiles?.sort((a, b) => b.quantile - a.quantile);
  return out;
}

function topicFromNsqd(addr: string, hostname: string, raw: Json, nowS: number): TopicStats {
  const depth = num(raw.depth), backend = num(raw.backend_depth);
  return {
    node: addr,
    hostname,
    topic_name: raw.topic_name,
    depth,
    memory_depth: depth - backend,
    backend_depth: backend,
    message_count: num(raw.message_count),
    nodes: null,
    channels: (raw.channels ?? []).map((c: Json) => channelFromNsqd(addr, hostname, raw.topic_name, c, nowS)),
    paused: raw.paused === true,
    e2e_processing_latency: nodeE2e(raw.e2e_processing_latency),
  };
}

function channelFromNsqd(
  addr: string,
  hostname: string,
  topic: string,
  raw: Json,
  nowS: number,
): ChannelStats {
  const depth = num(raw.depth), backend = num(raw.backend_depth);
  return {
    node: addr,
    hostname,
    topic_name: topic,
    channel_name: raw.channel_name,
    depth,
    memory_depth: depth - backend,
    backend_depth: backend,
    in_flight_count: num(raw.in_flight_count),
    deferred_count: num(raw.deferred_count),
    requeue_count: num(raw.requeue_count),
    timeout_count: num(raw.timeout_count),
    message_count: num(raw.message_count),
    client_count: num(raw.client_count),
    nodes: null,
    clients: Array.isArray(raw.clients) ? raw.clients.map((c: Json) => clientFromNsqd(addr, c, nowS)) : null,
    paused: raw.paused === true,
    e2e_processing_latency: nodeE2e(raw.e2e_processing_latency),
  };
}

function clientFromNsqd(addr: string, raw: Json, nowS: number): ClientStats {
  const connectTs = num(raw.connect_ts);
  return {
    node: addr,
    remote_address: String(raw.remote_address ?? ""),
    version: String(raw.version ?? ""),
    client_id: String(raw.client_id ?? ""),
    hostname: String(raw.hostname ?? ""),
    user_agent: String(raw.user_agent ?? ""),
    connect_ts: connectTs,
    connected: (nowS - connectTs) * 1e9,
    in_flight_count: num(raw.in_flight_count),
    ready_count: num(raw.ready_count),
    finish_count: num(raw.finish_count),
    requeue_count: num(raw.requeue_count),
    message_count: num(raw.message_count),
    sample_rate: num(raw.sample_rate),
    deflate: raw.deflate === true,
    snappy: raw.snappy === true,
    authed: raw.authed === true,
    auth_identity: String(raw.auth_identity ?? ""),
    auth_identity_url: String(raw.auth_identity_url ?? ""),
    tls: raw.tls === true,
    tls_cipher_suite: String(raw.tls_cipher_suite ?? ""),
    tls_version: String(raw.tls_version ?? ""),
    tls_negotiated_protocol: String(raw.tls_negotiated_protocol ?? ""),
    tls_negotiated_protocol_is_mutual: raw.tls_negotiated_protocol_is_mutual === true,
  };
}

/** A channel over several nodes: sums, every node listed, clients concatenated by hostname. */
export function aggregateChannel(topic: string, channel: string, nodes: ChannelStats[]): ChannelStats {
  const sum = (k: keyof ChannelStats) => nodes.reduce((n, c) => n + (c[k] as number), 0);
  const clients = nodes.flatMap((c) => c.clients ?? []);
  return {
    node: "*",
    hostname: "",
    topic_name: topic,
    channel_name: channel,
    depth: sum("depth"),
    memory_depth: sum("memory_depth"),
    backend_depth: sum("backend_depth"),
    in_flight_count: sum("in_flight_count"),
    deferred_count: sum("deferred_count"),
    requeue_count: sum("requeue_count"),
    timeout_count: sum("timeout_count"),
    message_count: sum("message_count"),
    client_count: sum("client_count"),
    nodes: sortByHostname([...nodes]),
    clients: clients.length === 0 ? null : sortByHostname(clients as { hostname: string }[]) as ClientStats[],
    paused: nodes.some((c) => c.paused),
    e2e_processing_latency: aggregateE2e(topic, channel, nodes.map((c) => c.e2e_processing_latency)),
  };
}

/** A topic over several nodes: sums, every node listed, channels merged by name (each listing all its nodes). */
export function aggregateTopic(topic: string, nodes: TopicStats[]): TopicStats {
  const sum = (k: keyof TopicStats) => nodes.reduce((n, t) => n + (t[k] as number), 0);
  const byChannel = new Map<string, ChannelStats[]>();
  for (const t of nodes) {
    for (const c of t.channels) {
      const list = byChannel.get(c.channel_name) ?? [];
      list.push(c);
      byChannel.set(c.channel_name, list);
    }
  }
  return {
    node: "*",
    hostname: "",
    topic_name: topic,
    depth: sum("depth"),
    memory_depth: sum("memory_depth"),
    backend_depth: sum("backend_depth"),
    message_count: sum("message_count"),
    nodes: sortByHostname([...nodes]),
    channels: [...byChannel.keys()].sort().map((name) => aggregateChannel(topic, name, byChannel.get(name)!)),
    paused: nodes.some((t) => t.paused),
    e2e_processing_latency: aggregateE2e(topic, "", nodes.map((t) => t.e2e_processing_latency)),
  };
}
