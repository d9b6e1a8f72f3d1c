/**
 * `nsq_stat` (upstream v1.3.0 `apps/nsq_stat`, shared/nsq-reference.md §10.4): polls the stats of
 * one topic/channel on every nsqd that has it (given directly, or found through nsqlookupd), sums
 * the channel's counters across them, and prints upstream's table every `--interval`.
 *
 * Unlike upstream: in nsqd mode each nsqd is asked at the address given (upstream asks its
 * `/info` broadcast address, which may not resolve from here); an nsqlookupd or nsqd that fails
 * while others answer is reported on stderr and skipped (upstream exits on any partial error);
 * ticks keep the `--interval` period (upstream sleeps it after each poll); after the
 * `--count`th row it exits at once (upstream sleeps once more).
 *
 * @module
 */
import type { FlagSpec } from "../cli/flags.ts";
import { userAgent } from "../internal/version.ts";
import type { Platform } from "../platform/types.ts";
import { type App, type AppContext, AppFatal, runApp } from "./app.ts";

/** The nsq_stat app. */
export const NSQ_STAT: App = {
  name: "nsq_stat",
  flags: (): FlagSpec[] => [
    { name: "topic", kind: "string", default: "", usage: "NSQ topic" },
    { name: "channel", kind: "string", default: "", usage: "NSQ channel" },
    {
      name: "interval",
      kind: "duration",
      default: 2e9,
      usage: "duration of time between polling/printing output",
    },
    {
      name: "http-client-connect-timeout",
      kind: "duration",
      default: 2e9,
      usage: "timeout for HTTP connect",
    },
    {
      name: "http-client-request-timeout",
      kind: "duration",
      default: 5e9,
      usage: "timeout for HTTP request",
    },
    { name: "count", kind: "int", default: 0, usage: "number of reports" },
    {
      name: "nsqd-http-address",
      kind: "strings",
      default: [],
      usage: "nsqd HTTP address (may be given multiple times)",
    },
    {
      name: "lookupd-http-address",
      kind: "strings",
      default: [],
      usage: "lookupd HTTP address (may be given multiple times)",
    },
  ],
  run: stat,
};

/** Runs nsq_stat with `args`. */
export function main(platform: Platform, args: readonly string[]): Promise<void> {
  return runApp(platform, args, NSQ_STAT);
}

/** The channel counters nsq_stat shows, summed over nodes. */
export interface ChannelCounters {
  depth: number;
  memoryDepth: number;
  backendDepth: number;
  inFlight: number;
  deferred: number;
  requeued: number;
  timedOut: number;
  messages: number;
  clients: number;
}

const HEADER =
  "------rate------+----------------depth----------------+--------------metadata---------------\n" +
  `${"ingress".padStart(7)} ${"egress".padStart(7)} | ${"total".padStart(7)} ${"mem".padStart(7)} ${
    "disk".padStart(7)
  } ${"inflt".padStart(5)} ${"def".padStart(5)} | ${"req".padStart(7)} ${"t-o".padStart(7)} ${
    "msgs".padStart(12)
  } ${"clients".padStart(7)}\n`;

/** Upstream's header: the two lines printed before polls 0, 25, 50, … */
export function statHeader(): string {
  return HEADER;
}

/** One row, `%7d %7d | %7d %7d %7d %5d %5d | %7d %7d %12d %7d`, rates truncated as Go's int64(). */
export function statRow(prev: ChannelCounters, cur: ChannelCounters, intervalSeconds: number): string {
  const d = (n: number, w: number) => String(n).padStart(w);
  const ingress = Math.trunc((cur.messages - prev.messages) / intervalSeconds);
  const egress = Math.trunc((cur.messages - prev.messages - (cur.depth - prev.depth)) / intervalSeconds);
  return `${d(ingress, 7)} ${d(egress, 7)} | ${d(cur.depth, 7)} ${d(cur.memoryDepth, 7)} ${
    d(cur.backendDepth, 7)
  } ${d(cur.inFlight, 5)} ${d(cur.deferred, 5)} | ${d(cur.requeued, 7)} ${d(cur.timedOut, 7)} ${
    d(cur.messages, 12)
  } ${d(cur.clients, 7)}\n`;
}

async function stat({ platform, flags, stdout, log }: AppContext): Promise<number> {
  const v = flags.values;
  const topic = v.get("topic") as string;
  const channel = v.get("channel") as string;
  if (topic === "" || channel === "") throw new AppFatal("--topic and --channel are required");
  const intervalNs = v.get("interval") as number;
  if (intervalNs <= 0) throw new AppFatal("--interval should be positive");
  const connectTimeout = v.get("http-client-connect-timeout") as number;
  if (connectTimeout <= 0) throw new AppFatal("--http-client-connect-timeout should be positive");
  const requestTimeout = v.get("http-client-request-timeout") as number;
  if (requestTimeout <= 0) throw new AppFatal("--http-client-request-timeout should be positive");
  const countSet = flags.set.has("count");
  const count = v.get("count") as number;
  if (countSet && count <= 0) throw new AppFatal("--count should be positive");
  const nsqds = v.get("nsqd-http-address") as string[];
  const lookupds = v.get("lookupd-http-address") as string[];
  if (nsqds.length === 0 && lookupds.length === 0) {
    throw new AppFatal("--nsqd-http-address or --lookupd-http-address required");
  }
  if (nsqds.length > 0 && lookupds.length > 0) {
    throw new AppFatal("use --nsqd-http-address or --lookupd-http-address not both");
  }
  for (const [flag, list] of [["nsqd-http-address", nsqds], ["lookupd-http-address", lookupds]] as const) {
    if (list.some((a) => a.includes("://"))) {
      throw new AppFatal(`--${flag} error - address should not contain scheme`);
    }
  }

  // fetch has one deadline, the request timeout; a slow connect counts against it.
  const timeoutMs = Math.max(1, requestTimeout / 1e6);
  const getJson = async (url: string) => {
    const res = await fetch(url, {
      headers: { "Accept": "application/vnd.nsq; version=1.0", "User-Agent": userAgent("nsq_stat") },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    if (res.status !== 200) {
      throw new Error(`got response ${res.status} ${res.statusText} ${JSON.stringify(text)}`);
    }
    const body = JSON.parse(text);
    // A pre-1.0 server wraps its answer in {status_code, status_txt, data}.
    return body && typeof body === "object" && "data" in body && "status_code" in body ? body.data : body;
  };
  /** Every target's answer; the failures of some are logged, of all fatal (`what`). */
  const fanOut = async <T>(targets: string[], what: string, fn: (t: string) => Promise<T>): Promise<T[]> => {
    const results = await Promise.allSettled(targets.map(fn));
    const ok = results.filter((r) => r.status === "fulfilled").map((r) =>
      (r as PromiseFulfilledResult<T>).value
    );
    const errors = results.flatMap((r, i) =>
      r.status === "rejected" ? [`${targets[i]}: ${(r.reason as Error).message}`] : []
    );
    if (ok.length === 0) {
      throw new AppFatal(`ERROR: ${what} - ${errors.join("; ") || "no nsqd has the topic"}`);
    }
    for (const e of errors) log(`WARNING: ${what} - ${e}`);
    return ok;
  };

  const q = `topic=${encodeURIComponent(topic)}`;
  const producers = async (): Promise<string[]> => {
    if (lookupds.length > 0) {
      const answers = await fanOut(
        lookupds,
        "failed to get topic producers",
        (a) => getJson(`http://${a}/lookup?${q}`),
      );
      const found = new Set<string>();
      for (const ans of answers) {
        for (const p of ans.producers ?? []) {
          const host = String(p.broadcast_address).includes(":")
            ? `[${p.broadcast_address}]`
            : p.broadcast_address;
          found.add(`${host}:${p.http_port}`);
        }
      }
      return [...found];
    }
    const have = await fanOut(nsqds, "failed to get topic producers", async (a) => {
      const s = await getJson(`http://${a}/stats?format=json&${q}&include_clients=false`);
      return (s.topics ?? []).some((t: { topic_name: string }) => t.topic_name === topic) ? a : null;
    });
    return have.filter((a): a is string => a !== null);
  };

  const poll = async (): Promise<ChannelCounters> => {
    const nodes = await producers();
    const stats = await fanOut(
      nodes,
      "failed to get nsqd stats",
      (a) =>
        getJson(
          `http://${a}/stats?format=json&${q}&channel=${encodeURIComponent(channel)}&include_clients=false`,
        ),
    );
    const sum: ChannelCounters = {
      depth: 0,
      memoryDepth: 0,
      backendDepth: 0,
      inFlight: 0,
      deferred: 0,
      requeued: 0,
      timedOut: 0,
      messages: 0,
      clients: 0,
    };
    let found = false;
    for (const s of stats) {
      for (const t of s.topics ?? []) {
        if (t.topic_name !== topic) continue;
        for (const c of t.channels ?? []) {
          if (c.channel_name !== channel) continue;
          found = true;
          sum.depth += c.depth;
          sum.backendDepth += c.backend_depth;
          sum.memoryDepth += c.depth - c.backend_depth;
          sum.inFlight += c.in_flight_count;
          sum.deferred += c.deferred_count;
          sum.requeued += c.requeue_count;
          sum.timedOut += c.timeout_count;
          sum.messages += c.message_count;
          sum.clients += c.client_count ?? (c.clients ?? []).length;
        }
      }
    }
    if (!found) {
      throw new AppFatal(`ERROR: failed to find channel(${channel}) in stats metadata for topic(${topic})`);
    }
    return sum;
  };

  let stop = false;
  const stopped = Promise.withResolvers<void>();
  const onSignal = () => {
    stop = true;
    stopped.resolve();
  };
  platform.onSignal("SIGINT", onSignal);
  platform.onSignal("SIGTERM", onSignal);

  const intervalMs = intervalNs / 1e6;
  const start = performance.now();
  let prev: ChannelCounters | null = null;
  for (let i = 0; !countSet || i <= count; i++) {
    const cur = await Promise.race([poll(), stopped.promise.then(() => null)]);
    if (stop || cur === null) break;
    if (i % 25 === 0) void stdout.write(HEADER);
    if (prev !== null) void stdout.write(statRow(prev, cur, intervalNs / 1e9));
    prev = cur;
    if (countSet && i === count) break;
    const wait = start + (i + 1) * intervalMs - performance.now();
    await Promise.race([new Promise((r) => setTimeout(r, Math.max(0, wait))), stopped.promise]);
    if (stop) break;
  }
  return 0;
}
