/**
 * The soak load of issue 20, and its checks: one nsqd under a mixed load for a given time while its
 * RSS is sampled every second. Shared by `tests/e2e/soak_test.ts` (CI, 90 s per runtime) and
 * `bench/soak.ts` (any length).
 *
 * The load: publishers (PUB, MPUB, DPUB; reconnecting every few seconds) on stable topics, each with
 * two durable channels; consumers that subscribe to a random stable channel for a few seconds, FIN most
 * messages, REQ some with a delay, let some time out (`--msg-timeout=3s`), and leave with CLS; a
 * disk-bound topic (`--mem-queue-size=1000`: its consumer pauses every other 5 s, so its backlog goes
 * through the disk queue and back); and a churner that creates topics and channels, publishes to them,
 * consumes some, then empties or deletes them.
 *
 * Accounting (exact): every publish and every FIN/REQ is counted only once nsqd confirmed it — a
 * publish by its OK, a FIN or REQ by the absence of an E_FIN_FAILED / E_REQ_FAILED before the
 * CLOSE_WAIT that answers the session's CLS (errors come in order; a FIN has no reply). A consumer never
 * closes its socket before that CLOSE_WAIT, so no FIN is lost in a closing socket. Then, per channel:
 *
 *     published to its topic = finished on it + depth + in flight + deferred
 *
 * checked for every stable channel at the end (once the topic has fanned everything out), and for every
 * churned channel right before it is emptied or deleted: the churner does that only when nobody
 * publishes to or consumes from it, so what `/stats` shows then is exactly what the deletion drops,
 * counted separately as `dropped` (and a churned topic with no channel drops its own depth). Each
 * channel holds its own copy of a message, so over all churned channels `dropped = copies − finished`
 * (copies: published × the topic's channels), checked at the end: nothing dropped is a guess.
 */
import { bodyIsIntact, BUG_LINES, expectOk, int, makeBody, pick, type Rng, streamFor } from "./churn.ts";
import {
  decodeMessage,
  encodeCommand,
  encodeMpub,
  type Frame,
  FRAME_ERROR,
  FRAME_MESSAGE,
  FRAME_RESPONSE,
  type NsqConn,
  type NsqdProcess,
  type StatsJson,
} from "./harness.ts";

/** nsqd flags of the soak. */
export const SOAK_NSQD_ARGS = ["--msg-timeout=3s", "--mem-queue-size=1000"];

export interface SoakOptions {
  seed: number;
  durationMs: number;
  /** RSS samples before this (ms) are warm-up, left out of the slope. */
  warmupMs: number;
  publishers: number;
  consumers: number;
  /** Stable topics (two durable channels each). */
  topics: number;
  /** A publisher waits up to this long (ms) between commands. */
  publishPauseMs: number;
  log?: (line: string) => void;
}

export interface SoakReport {
  seed: number;
  seconds: number;
  published: number;
  finished: number;
  requeued: number;
  finFailed: number;
  reqFailed: number;
  deliveries: number;
  sessions: number;
  /** Messages still queued at the end in stable channels (depth + in flight + deferred). */
  queued: number;
  /** Churner: topics/channels created, and messages dropped by deletions / empties (exact). */
  churnCycles: number;
  dropped: number;
  /** Messages published to churned topics / finished on churned channels. */
  churnPublished: number;
  churnFinished: number;
  /** Copies of them the churned channels got (a topic with no channel: its own messages). */
  churnCopies: number;
  /** RSS samples [seconds since start, MB]. */
  rss: [number, number][];
  /** Least-squares slope of RSS after warm-up, MB per minute. */
  slopeMbPerMin: number;
  /** Heap in use (nsqd's `/stats` memory `heap_in_use_bytes`) samples [seconds since start, MB]. */
  heap: [number, number][];
  /**
   * Slope of the heap's floor after warm-up, MB per minute: the least-squares slope of the lowest heap
   * sample of each 5-second window. What the program keeps alive; unlike RSS it does not step up when the
   * engine enlarges its heap spaces (V8 grows its young generation in steps during the first minutes).
   */
  heapFloorSlopeMbPerMin: number;
  rssAfterWarmupMb: number;
  rssEndMb: number;
  rssMaxMb: number;
  problems: string[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const q = encodeURIComponent;
const stableTopics = (n: number) => Array.from({ length: n }, (_, i) => `soak_t${i}`);
const STABLE_CHANNELS = ["c0", "c1"];
const DISK_TOPIC = "soak_disk";
/** The ERROR lines a client error makes nsqd log: allowed only as many as the clients saw. */
const CLIENT_ERROR_LINE =
  /\] - E_(FIN|REQ)_FAILED (FIN|REQ) \S+ failed (ID not in flight|client does not own message)$/;

/** The current RSS of a process, MB (0 once gone). */
export async function rssMb(pid: number): Promise<number> {
  try {
    const m = (await Deno.readTextFile(`/proc/${pid}/status`)).match(/VmRSS:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** The lowest sample of each `window`-second window, at the window's start. */
export function floors(points: [number, number][], window: number): [number, number][] {
  const out: [number, number][] = [];
  for (const [t, v] of points) {
    const w = Math.floor(t / window) * window;
    const last = out.at(-1);
    if (last === undefined || last[0] !== w) out.push([w, v]);
    else if (v < last[1]) last[1] = v;
  }
  return out;
}

/** Least-squares slope of `ys` over `xs`. */
export function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

class Soak {
  stopping = false;
  readonly published = new Map<string, number>();
  /** Finished per `topic/channel`. */
  readonly finished = new Map<string, number>();
  readonly topics: string[];
  readonly r: SoakReport;

  constructor(readonly nsqd: NsqdProcess, readonly o: SoakOptions) {
    this.topics = [...stableTopics(o.topics), DISK_TOPIC];
    this.r = {
      seed: o.seed,
      seconds: o.durationMs / 1000,
      published: 0,
      finished: 0,
      requeued: 0,
      finFailed: 0,
      reqFailed: 0,
      deliveries: 0,
      sessions: 0,
      queued: 0,
      churnCycles: 0,
      dropped: 0,
      churnPublished: 0,
      churnFinished: 0,
      churnCopies: 0,
      rss: [],
      slopeMbPerMin: 0,
      heap: [],
      heapFloorSlopeMbPerMin: 0,
      rssAfterWarmupMb: 0,
      rssEndMb: 0,
      rssMaxMb: 0,
      problems: [],
    };
  }

  problem(text: string): void {
    if (this.r.problems.length < 100) this.r.problems.push(text);
    this.o.log?.(`PROBLEM: ${text}`);
  }

  async http(path: string, method = "POST"): Promise<StatsJson> {
    const res = await this.nsqd.http(path, { method });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path} answered ${res.status} ${text}`);
    return text.startsWith("{") ? JSON.parse(text) : text;
  }
}

/** Publishes `cmd` (`n` messages) and waits for its OK. */
async function publishOne(conn: NsqConn, cmd: Uint8Array, what: string): Promise<void> {
  await conn.write(cmd);
  await expectOk(conn, what);
}

async function publisher(s: Soak, i: number): Promise<void> {
  const rng = streamFor(s.o.seed, `soak-pub${i}`);
  let seq = 0;
  while (!s.stopping) {
    const conn = await s.nsqd.connectV2();
    const ends = Date.now() + int(rng, 3000, 10_000);
    try {
      while (Date.now() < ends && !s.stopping) {
        // The disk-bound topic gets a fifth of the commands.
        const topic = rng() < 0.2 ? DISK_TOPIC : pick(rng, s.topics.slice(0, -1));
        const kind = rng();
        let n = 1;
        let cmd: Uint8Array;
        if (kind < 0.4) cmd = encodeCommand(`PUB ${topic}`, makeBody(`s${i}`, seq++, int(rng, 16, 512)));
        else if (kind < 0.9) {
          n = int(rng, 2, 50);
          cmd = encodeMpub(
            topic,
            Array.from({ length: n }, () => makeBody(`s${i}`, seq++, int(rng, 16, 512))),
          );
        } else {
          const delay = int(rng, 1, 3000);
          cmd = encodeCommand(`DPUB ${topic} ${delay}`, makeBody(`s${i}`, seq++, int(rng, 16, 512)));
        }
        await publishOne(conn, cmd, `publisher ${i} on ${topic}`);
        s.published.set(topic, (s.published.get(topic) ?? 0) + n);
        s.r.published += n;
        const pause = rng() * s.o.publishPauseMs;
        if (pause >= 1) await sleep(pause);
      }
    } finally {
      conn.close();
    }
  }
}

interface Tally {
  fin: number;
  req: number;
  finFailed: number;
  reqFailed: number;
}

/**
 * One consumer session on `topic/channel` until `until()` says stop: FIN / REQ / ignore per message
 * (`fates`), then CLS and read to CLOSE_WAIT, counting E_FIN_FAILED / E_REQ_FAILED. Returns the
 * confirmed counts. `rdy` is sent at the start; `paused(now)` makes it stop asking (RDY 0) for a while.
 */
async function session(
  s: Soak,
  topic: string,
  channel: string,
  fates: Rng,
  until: () => boolean,
  opts: { rdy: number; finShare: number; reqShare: number; paused?: () => boolean; subscribed?: () => void },
): Promise<Tally> {
  const conn = await s.nsqd.connectV2();
  const t: Tally = { fin: 0, req: 0, finFailed: 0, reqFailed: 0 };
  const what = `consumer on ${topic}/${channel}`;
  try {
    await conn.command(`SUB ${topic} ${channel}`);
    await expectOk(conn, `${what}: SUB`);
    opts.subscribed?.();
    let rdy = opts.rdy;
    await conn.command(`RDY ${rdy}`);
    const sent = { fin: 0, req: 0 };
    const onError = (text: string) => {
      if (/^E_FIN_FAILED /.test(text)) t.finFailed++;
      else if (/^E_REQ_FAILED /.test(text)) t.reqFailed++;
      else throw new Error(`${what}: unexpected error ${text}`);
    };
    while (!until() && !s.stopping) {
      const want = opts.paused?.() ? 0 : opts.rdy;
      if (want !== rdy) {
        rdy = want;
        await conn.command(`RDY ${rdy}`);
      }
      const f = await readFrameOrNull(conn, 250);
      if (f === null) continue;
      if (f.type === FRAME_ERROR) {
        onError(f.text);
        continue;
      }
      if (f.type !== FRAME_MESSAGE) throw new Error(`${what}: unexpected frame ${f.type} ${f.text}`);
      s.r.deliveries++;
      const msg = decodeMessage(f.data);
      if (!bodyIsIntact(msg.text)) {
        s.problem(`${what}: corrupt body ${JSON.stringify(msg.text.slice(0, 80))}`);
      }
      const fate = fates();
      if (fate < opts.finShare) {
        await conn.command(`FIN ${msg.id}`);
        sent.fin++;
      } else if (fate < opts.finShare + opts.reqShare) {
        await conn.command(`REQ ${msg.id} ${int(fates, 0, 2000)}`);
        sent.req++;
      } // else: left to time out
    }
    // CLS: FINs and REQs before it are answered (only errors) before its CLOSE_WAIT.
    await conn.command("CLS");
    for (;;) {
      const f = await conn.readNonHeartbeat(10_000);
      if (f.type === FRAME_RESPONSE && f.text === "CLOSE_WAIT") break;
      if (f.type === FRAME_ERROR) onError(f.text);
      else if (f.type === FRAME_MESSAGE) s.r.deliveries++; // in transit: requeued when we close
      else throw new Error(`${what}: unexpected frame ${f.type} ${f.text}`);
    }
    t.fin = sent.fin - t.finFailed;
    t.req = sent.req - t.reqFailed;
    return t;
  } finally {
    conn.close();
  }
}

/**
 * The next frame but heartbeats (answered), or null when none starts within `ms`. A frame whose head
 * has come is read to its end (a timeout inside it would lose the frame's place).
 */
async function readFrameOrNull(conn: NsqConn, ms: number): Promise<Frame | null> {
  for (;;) {
    let head: Uint8Array;
    try {
      head = await conn.readExactly(8, ms);
    } catch (err) {
      if (/timed out/.test((err as Error).message)) return null;
      throw err;
    }
    const view = new DataView(head.buffer);
    const data = await conn.readExactly(view.getUint32(0) - 4, 10_000);
    const f = { type: view.getInt32(4), data, text: new TextDecoder().decode(data) };
    if (f.type === FRAME_RESPONSE && f.text === "_heartbeat_") {
      await conn.command("NOP");
      continue;
    }
    return f;
  }
}

function addTally(s: Soak, key: string | null, t: Tally): void {
  if (key !== null) s.finished.set(key, (s.finished.get(key) ?? 0) + t.fin);
  s.r.finished += t.fin;
  s.r.requeued += t.req;
  s.r.finFailed += t.finFailed;
  s.r.reqFailed += t.reqFailed;
  s.r.sessions++;
}

async function consumer(s: Soak, i: number): Promise<void> {
  const rng = streamFor(s.o.seed, `soak-sub${i}`);
  const fates = streamFor(s.o.seed, `soak-sub${i}-fates`);
  while (!s.stopping) {
    const topic = pick(rng, s.topics.slice(0, -1));
    const channel = pick(rng, STABLE_CHANNELS);
    const ends = Date.now() + int(rng, 1000, 6000);
    const t = await session(s, topic, channel, fates, () => Date.now() > ends, {
      rdy: int(rng, 20, 200),
      finShare: 0.85,
      reqShare: 0.1,
    });
    addTally(s, `${topic}/${channel}`, t);
  }
}

/** The disk-bound topic's consumer: one channel, asks for nothing every other 5 s (the backlog spills). */
async function diskConsumer(s: Soak): Promise<void> {
  const fates = streamFor(s.o.seed, "soak-disk-fates");
  const started = Date.now();
  while (!s.stopping) {
    const ends = Date.now() + 20_000;
    const t = await session(s, DISK_TOPIC, "c0", fates, () => Date.now() > ends, {
      rdy: 200,
      finShare: 0.98,
      reqShare: 0.01,
      paused: () => Math.floor((Date.now() - started) / 5000) % 2 === 1,
    });
    addTally(s, `${DISK_TOPIC}/c0`, t);
  }
}

/** Sum of what a channel still holds. */
const held = (c: StatsJson) => c.depth + c.in_flight_count + c.deferred_count;

/**
 * The churner: a topic (one of a few names, so names are reused) made with two channels, published to,
 * partly consumed, then — when nothing else touches it — checked and emptied or deleted; or a topic
 * with no channel, published to and emptied.
 */
async function churner(s: Soak): Promise<void> {
  const rng = streamFor(s.o.seed, "soak-churn");
  const fates = streamFor(s.o.seed, "soak-churn-fates");
  let seq = 0;
  while (!s.stopping) {
    const topic = `soak_churn${int(rng, 0, 2)}`;
    const channels = rng() < 0.2 ? [] : ["a", "b"];
    await s.http(`/topic/create?topic=${q(topic)}`);
    for (const c of channels) await s.http(`/channel/create?topic=${q(topic)}&channel=${c}`);
    const pub = await s.nsqd.connectV2();
    let published = 0;
    try {
      for (let k = int(rng, 1, 10); k > 0; k--) {
        const n = int(rng, 1, 100);
        const bodies = Array.from({ length: n }, () => makeBody("churn", seq++, int(rng, 16, 256)));
        await publishOne(pub, encodeMpub(topic, bodies), `churner MPUB ${topic}`);
        published += n;
      }
    } finally {
      pub.close();
    }
    s.r.churnPublished += published;
    const finished = new Map<string, number>();
    if (channels.length > 0) {
      const ends = Date.now() + int(rng, 100, 1000);
      const t = await session(s, topic, "a", fates, () => Date.now() > ends, {
        rdy: 50,
        finShare: 0.7,
        reqShare: 0.1,
      });
      addTally(s, null, t);
      finished.set("a", t.fin);
      s.r.churnFinished += t.fin;
    }
    // Quiescent now: wait until the topic has fanned out and the consumer's in-flight are requeued.
    let stats: StatsJson = null;
    const deadline = Date.now() + 10_000;
    for (;;) {
      stats = (await s.http(`/stats?format=json&topic=${q(topic)}`, "GET")).topics?.[0];
      if (stats === undefined) throw new Error(`churned topic ${topic} missing from /stats`);
      const settled = channels.length === 0 ||
        (stats.depth === 0 && stats.channels.every((c: StatsJson) => c.in_flight_count === 0));
      if (settled || Date.now() > deadline) break;
      await sleep(50);
    }
    let dropped = 0;
    if (channels.length === 0) {
      if (stats.depth !== published) {
        s.problem(`${topic} (no channel): ${published} published, /stats depth ${stats.depth}`);
      }
      dropped = stats.depth;
      s.r.churnCopies += published;
      await s.http(`/topic/empty?topic=${q(topic)}`);
    } else {
      for (const c of stats.channels as StatsJson[]) {
        const fin = finished.get(c.channel_name) ?? 0;
        if (published !== fin + held(c)) {
          s.problem(
            `${topic}/${c.channel_name}: ${published} published ≠ ${fin} finished + ${c.depth} queued + ` +
              `${c.in_flight_count} in flight + ${c.deferred_count} deferred`,
          );
        }
        dropped += held(c);
        s.r.churnCopies += published;
      }
      const action = rng();
      if (action < 0.4) await s.http(`/topic/delete?topic=${q(topic)}`);
      else {
        for (const c of channels) {
          await s.http(`/channel/${action < 0.7 ? "empty" : "delete"}?topic=${q(topic)}&channel=${c}`);
        }
        await s.http(`/topic/delete?topic=${q(topic)}`);
      }
    }
    s.r.dropped += dropped;
    s.r.churnCycles++;
    await sleep(int(rng, 0, 200));
  }
}

/** Runs the load, samples RSS, then checks the accounting and the log. */
export async function runSoak(nsqd: NsqdProcess, o: SoakOptions): Promise<SoakReport> {
  const s = new Soak(nsqd, o);
  const res = await nsqd.http("/config/log_level", { method: "PUT", body: "warn" });
  if (res.status !== 200) throw new Error(`PUT /config/log_level answered ${res.status}`);
  await res.body?.cancel();
  for (const t of s.topics) {
    await s.http(`/topic/create?topic=${t}`);
    for (const c of t === DISK_TOPIC ? ["c0"] : STABLE_CHANNELS) {
      await s.http(`/channel/create?topic=${t}&channel=${c}`);
    }
  }

  const guard = (name: string, p: Promise<void>) =>
    p.catch((err) => {
      s.problem(`${name}: ${(err as Error)?.message ?? err}`);
      s.stopping = true;
    });
  const actors = [
    ...Array.from({ length: o.publishers }, (_, i) => guard(`publisher ${i}`, publisher(s, i))),
    ...Array.from({ length: o.consumers }, (_, i) => guard(`consumer ${i}`, consumer(s, i))),
    guard("disk consumer", diskConsumer(s)),
    guard("churner", churner(s)),
  ];
  const started = Date.now();
  for (let tick = 1; Date.now() - started < o.durationMs && !s.stopping; tick++) {
    await sleep(Math.max(0, started + tick * 1000 - Date.now()));
    const mb = await rssMb(nsqd.proc.pid);
    const at = (Date.now() - started) / 1000;
    s.r.rss.push([at, mb]);
    // A topic no one uses keeps the answer small: only the memory section is wanted.
    const mem = await s.http("/stats?format=json&include_mem=true&topic=soak_none", "GET");
    const heap = mem?.memory?.heap_in_use_bytes;
    if (typeof heap === "number") s.r.heap.push([at, heap / 1048576]);
    if (tick % 10 === 0) {
      const st = await s.http("/stats?format=json", "GET");
      const depth = (st.topics ?? []).find((t: StatsJson) => t.topic_name === DISK_TOPIC)?.channels?.[0]
        ?.depth;
      o.log?.(
        `${tick} s: RSS ${mb.toFixed(0)} MB, ${s.r.published} published, ${s.r.finished} finished, ` +
          `${s.r.sessions} sessions, ${s.r.churnCycles} churn cycles, disk backlog ${depth}, ` +
          `${s.r.problems.length} problems`,
      );
    }
  }
  s.stopping = true;
  await Promise.all(actors);
  await check(s);
  return s.r;
}

async function check(s: Soak): Promise<void> {
  const { r, o } = s;
  const after = r.rss.filter(([t]) => t * 1000 >= o.warmupMs);
  r.slopeMbPerMin = slope(after) * 60;
  r.heapFloorSlopeMbPerMin = slope(floors(r.heap.filter(([t]) => t * 1000 >= o.warmupMs), 5)) * 60;
  r.rssAfterWarmupMb = after[0]?.[1] ?? 0;
  r.rssEndMb = r.rss.at(-1)?.[1] ?? 0;
  r.rssMaxMb = Math.max(0, ...r.rss.map(([, mb]) => mb));

  // Everything fanned out, every consumer's in-flight requeued (all have left after CLS).
  let stats: StatsJson = null;
  const deadline = Date.now() + 15_000;
  for (;;) {
    stats = await s.http("/stats?format=json", "GET");
    const mine = (stats.topics ?? []).filter((t: StatsJson) => s.topics.includes(t.topic_name));
    const busy = mine.some((t: StatsJson) =>
      t.depth > 0 || t.channels.some((c: StatsJson) => c.in_flight_count > 0 || c.client_count > 0)
    );
    if (!busy || Date.now() > deadline) break;
    await sleep(100);
  }
  for (const topic of s.topics) {
    const t = (stats.topics ?? []).find((x: StatsJson) => x.topic_name === topic);
    const published = s.published.get(topic) ?? 0;
    if (t === undefined) {
      s.problem(`${topic} missing from /stats`);
      continue;
    }
    for (const c of t.channels as StatsJson[]) {
      const key = `${topic}/${c.channel_name}`;
      const fin = s.finished.get(key) ?? 0;
      r.queued += held(c);
      if (published !== fin + t.depth + held(c)) {
        s.problem(
          `${key}: ${published} published ≠ ${fin} finished + ${c.depth} queued + ${c.in_flight_count} ` +
            `in flight + ${c.deferred_count} deferred (+ ${t.depth} in the topic)`,
        );
      }
    }
  }

  if (r.dropped !== r.churnCopies - r.churnFinished) {
    s.problem(`churn: ${r.dropped} dropped ≠ ${r.churnCopies} copies − ${r.churnFinished} finished`);
  }

  // The log: no bug line, and no ERROR but the client errors the clients saw (as many as they saw).
  let clientErrors = 0;
  for (const line of s.nsqd.proc.lines) {
    if (BUG_LINES.test(line)) s.problem(`nsqd logged: ${line}`);
    else if (/ ERROR: /.test(line)) {
      if (CLIENT_ERROR_LINE.test(line)) clientErrors++;
      else s.problem(`nsqd logged an error: ${line}`);
    }
  }
  if (clientErrors !== r.finFailed + r.reqFailed) {
    s.problem(`nsqd logged ${clientErrors} E_FIN/E_REQ_FAILED, clients saw ${r.finFailed + r.reqFailed}`);
  }
}

/** The report in a few lines. */
export function formatSoak(r: SoakReport): string {
  return [
    `seed ${r.seed}, ${r.seconds} s: ${r.published} published on stable topics, ${r.finished} finished ` +
    `(${
      r.finished - r.churnFinished
    } on stable channels), ${r.requeued} requeued, ${r.deliveries} deliveries ` +
    `in ${r.sessions} sessions; ${r.finFailed} E_FIN_FAILED, ${r.reqFailed} E_REQ_FAILED; ${r.queued} still ` +
    `queued in stable channels`,
    `churn: ${r.churnCycles} topic lifecycles, ${r.churnPublished} published (${r.churnCopies} copies in ` +
    `their channels), ${r.churnFinished} finished, ${r.dropped} dropped by deletions/empties ` +
    `(= copies − finished, checked per channel)`,
    `RSS: ${r.rssAfterWarmupMb.toFixed(1)} MB after warm-up, ${r.rssEndMb.toFixed(1)} MB at the end, max ` +
    `${r.rssMaxMb.toFixed(1)} MB; slope after warm-up ${
      r.slopeMbPerMin.toFixed(2)
    } MB/min; heap floor slope ` +
    `${r.heapFloorSlopeMbPerMin.toFixed(2)} MB/min`,
    r.problems.length === 0 ? "no problems" : `${r.problems.length} problems:\n  ${r.problems.join("\n  ")}`,
  ].join("\n");
}

/**
 * The CI soak's leak check (90 s, slope over the last 60): neither signal alone is reliable, so it takes both.
 * - RSS steps up when V8 enlarges its young generation (up to ~20 MB at a time during the first minutes;
 *   since the packed memory queue the steps come later, and one inside the window read 46–50 MB/min), and
 *   Bun's RSS jitters by ±8 MB.
 * - The heap's floor (nsqd's `heap_in_use_bytes`, lowest sample per 5 s) rises with the backlog when the
 *   machine is loaded and consumers fall behind (14 MB/min on Bun during the full test suite, with RSS
 *   falling), and is ~5 (Deno) / ~3 (Bun) MB/min otherwise.
 * A leak raises both: keeping every finished message read 24 MB/min of heap floor and 24 of RSS on Deno, 75
 * and 67 on Bun. So a run fails when the heap floor grows past `SOAK_CI_HEAP_SLOPE_LIMIT_MB_PER_MIN` and RSS
 * past `SOAK_CI_SLOPE_CONFIRM_MB_PER_MIN`, or RSS alone past `SOAK_CI_SLOPE_LIMIT_MB_PER_MIN` (a backstop for
 * growth outside the heap: buffers).
 */
export const SOAK_CI_HEAP_SLOPE_LIMIT_MB_PER_MIN = 12;
/** See `SOAK_CI_HEAP_SLOPE_LIMIT_MB_PER_MIN`. */
export const SOAK_CI_SLOPE_CONFIRM_MB_PER_MIN = 15;
/** See `SOAK_CI_HEAP_SLOPE_LIMIT_MB_PER_MIN`. */
export const SOAK_CI_SLOPE_LIMIT_MB_PER_MIN = 90;

/**
 * The RSS slope bench/soak.ts allows after its warm-up (≥ 100 s): the 5-minute soaks measured 0.1 (Deno)
 * and 1.3 MB/min (Bun); a leak of one 100-byte object per delivery is ~20 MB/min.
 */
export const SOAK_LONG_SLOPE_LIMIT_MB_PER_MIN = 5;
