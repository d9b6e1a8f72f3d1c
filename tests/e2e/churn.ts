/**
 * The churn load of issue 14, and the checks that follow it: one nsqd (registered with one nsqlookupd)
 * under publishers (PUB, MPUB and DPUB on 20 topics, two of them ephemeral), consumers that subscribe
 * to random channels (some `#ephemeral`), FIN most messages, REQ some, let others time out and
 * reconnect every few seconds, and an operator calling a random `/topic/…`, `/channel/…` or `/stats`
 * every 20 ms. Shared by `tests/e2e/churn_test.ts` (~30 s per runtime in CI) and `bench/churn.ts`
 * (minutes, more clients).
 *
 * Every decision (topics, channels, commands, fates of messages, session lengths, admin calls) comes
 * from a PRNG seeded with `seed`, one stream per actor, so a failing seed replays the same script; the
 * interleaving with the broker still varies from run to run.
 *
 * Afterwards `verifyChurn` checks that the broker is alive and consistent: no 5xx, nothing logged as an
 * internal error, every live client's counters in /stats equal what it saw, ephemeral channels gone
 * with their clients, nothing left in flight, every channel delivers exactly its /stats depth, lookupd
 * agrees with nsqd, and every topic can be published to and deleted (files and all).
 */
import { readdirSync } from "node:fs";
import {
  decodeMessage,
  encodeCommand,
  encodeMpub,
  eventually,
  type Frame,
  FRAME_ERROR,
  FRAME_MESSAGE,
  FRAME_RESPONSE,
  type NsqConn,
  type NsqdProcess,
  type NsqlookupdProcess,
  type Runtime,
  startNsqd,
  startNsqlookupd,
  type StatsJson,
} from "./harness.ts";

// ---- deterministic randomness ---------------------------------------------------------------------

/** A PRNG in [0, 1) (mulberry32). */
export type Rng = () => number;

export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An independent stream for one actor: the seed mixed with the actor's name (FNV-1a). */
export function streamFor(seed: number, actor: string): Rng {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < actor.length; i++) h = Math.imul(h ^ actor.charCodeAt(i), 0x01000193);
  return mulberry32(h >>> 0);
}

export const int = (rng: Rng, lo: number, hi: number): number => lo + Math.floor(rng() * (hi - lo + 1));
export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)];

/** A fresh seed (printed, so a failure can be replayed with it). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

// ---- the script -----------------------------------------------------------------------------------

export interface ChurnOptions {
  seed: number;
  /** How long the load runs (ms); the checks take some seconds more. */
  durationMs: number;
  publishers: number;
  consumers: number;
  /** Topics (the last two are `#ephemeral`). */
  topics: number;
  /** One admin call (or /stats) per this many ms. */
  adminIntervalMs: number;
  /** A publisher waits up to this long (ms) between commands, so consumers keep up on a small machine. */
  publishPauseMs: number;
  /** Progress lines (bench). */
  log?: (line: string) => void;
}

/** nsqd flags of the churn load (the issue's setting). */
export const CHURN_NSQD_ARGS = ["--msg-timeout=2s", "--mem-queue-size=500"];

/**
 * Starts nsqlookupd and nsqd (`CHURN_NSQD_ARGS`, registered with it) on `runtime`, and waits until
 * nsqd is registered: a topic made before would log that no lookupd could be asked for its channels.
 */
export async function startChurnCluster(
  runtime: Runtime,
  extraArgs: string[] = [],
): Promise<{ nsqd: NsqdProcess; lookupd: NsqlookupdProcess; stop: () => Promise<void> }> {
  const lookupd = await startNsqlookupd(runtime, ["--broadcast-address=127.0.0.1"]);
  let nsqd: NsqdProcess | undefined;
  const stop = async () => {
    await nsqd?.stop();
    await lookupd.stop();
  };
  try {
    nsqd = await startNsqd(runtime, [
      ...CHURN_NSQD_ARGS,
      ...extraArgs,
      "--broadcast-address=127.0.0.1",
      `--lookupd-tcp-address=127.0.0.1:${lookupd.tcpPort}`,
    ]);
    await eventually(
      async () => {
        const res = await lookupd.http("/nodes");
        return ((await res.json()).producers ?? []).length === 1;
      },
      10_000,
      "nsqd registered with nsqlookupd",
    );
    return { nsqd, lookupd, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

const DURABLE_CHANNELS = ["c0", "c1", "c2", "c3"];
const EPHEMERAL_CHANNELS = ["e0#ephemeral", "e1#ephemeral", "e2#ephemeral"];
/** The ID of the FIN used as a barrier: never in flight, answered by a non-fatal error, in order. */
const BARRIER_ID = "churnbarrier0000";
const BARRIER_ERROR = `E_FIN_FAILED FIN ${BARRIER_ID} failed ID not in flight`;
/** A publisher racing a topic deletion (upstream's answer too). */
const PUB_EXITING = /^E_(PUB|MPUB|DPUB)_FAILED (PUB|MPUB|DPUB) failed exiting$/;
/** ERROR lines nsqd is expected to log under this load: client errors of the kinds above. */
const EXPECTED_ERROR_LINES = [
  /\] - E_(FIN|REQ|TOUCH)_FAILED (FIN|REQ|TOUCH) \S+ failed (ID not in flight|client does not own message)$/,
  /\] - E_(PUB|MPUB|DPUB)_FAILED (PUB|MPUB|DPUB) failed exiting( - exiting)?$/,
];
/** Lines no log may ever hold. */
export const BUG_LINES = /internal error|uncaught|unhandled|panic|FATAL|TypeError|RangeError|ReferenceError/i;

export function topicNames(n: number): string[] {
  return Array.from({ length: n }, (_, i) => {
    const name = `churn_${String(i).padStart(2, "0")}`;
    return i >= n - 2 ? `${name}#ephemeral` : name;
  });
}

/** What the run did (figures) and what went wrong (`problems`: empty when the broker behaved). */
export interface ChurnReport {
  seed: number;
  seconds: number;
  published: number;
  pubCommands: number;
  pubExiting: number;
  subscriptions: number;
  delivered: number;
  finished: number;
  requeued: number;
  leftToTimeOut: number;
  finFailed: number;
  reqFailed: number;
  closedByServer: number;
  admin: Record<string, Record<number, number>>;
  problems: string[];
}

const encoder = new TextEncoder();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const q = encodeURIComponent;

/** A message body that says who made it and checks itself: `actor:seq:len:` + filler to `len` bytes. */
export function makeBody(actor: string, seq: number, len: number): Uint8Array {
  const head = `${actor}:${seq}:${len}:`;
  const fill = String.fromCharCode(97 + (seq % 26));
  return encoder.encode(head + fill.repeat(Math.max(0, len - head.length)));
}

export function bodyIsIntact(text: string): boolean {
  const m = text.match(/^([^:]+):(\d+):(\d+):/);
  if (m === null) return false;
  const [head, , seq, len] = m;
  const fill = String.fromCharCode(97 + (Number(seq) % 26));
  return text.length === Math.max(head.length, Number(len)) &&
    text.slice(head.length) === fill.repeat(text.length - head.length);
}

/** A publisher's or consumer's last session, kept open for the /stats comparison. */
interface LiveProducer {
  id: string;
  conn: NsqConn;
  /** Messages acknowledged (OK) per topic on this connection. */
  oks: Map<string, number>;
}

interface LiveConsumer {
  id: string;
  conn: NsqConn;
  topic: string;
  channel: string;
  received: number;
  finOk: number;
  reqOk: number;
}

/** Shared state of one run. */
class Run {
  readonly report: ChurnReport;
  stopping = false;
  adminStopping = false;
  /** Called when the run stops (consumers in a session begin to settle). */
  readonly onStop = new Set<() => void>();
  readonly producers: LiveProducer[] = [];
  readonly consumers: LiveConsumer[] = [];
  readonly topics: string[];

  constructor(readonly nsqd: NsqdProcess, readonly o: ChurnOptions) {
    this.topics = topicNames(o.topics);
    this.report = {
      seed: o.seed,
      seconds: o.durationMs / 1000,
      published: 0,
      pubCommands: 0,
      pubExiting: 0,
      subscriptions: 0,
      delivered: 0,
      finished: 0,
      requeued: 0,
      leftToTimeOut: 0,
      finFailed: 0,
      reqFailed: 0,
      closedByServer: 0,
      admin: {},
      problems: [],
    };
  }

  problem(text: string): void {
    if (this.report.problems.length < 200) this.report.problems.push(text);
    this.o.log?.(`PROBLEM: ${text}`);
  }
}

/** Runs the load for `durationMs`, leaving the last session of every client open for `verifyChurn`. */
export async function runChurn(nsqd: NsqdProcess, o: ChurnOptions): Promise<Run> {
  const run = new Run(nsqd, o);
  // Warnings and errors only from here on (the listening lines the harness waits for are INFO).
  const res = await nsqd.http("/config/log_level", { method: "PUT", body: "warn" });
  if (res.status !== 200) throw new Error(`PUT /config/log_level answered ${res.status} ${await res.text()}`);
  await res.body?.cancel();
  // An actor that fails (nsqd gone: connection refused) reports it and stops the run.
  const guard = (name: string, p: Promise<void>) =>
    p.catch((err) => {
      run.problem(`${name}: ${(err as Error)?.message ?? err}`);
      run.stopping = true;
    });
  const actors = [
    ...Array.from({ length: o.publishers }, (_, i) => guard(`publisher ${i}`, publisher(run, i))),
    ...Array.from({ length: o.consumers }, (_, i) => guard(`consumer ${i}`, consumer(run, i))),
  ];
  const admin = guard("operator", operator(run));
  const started = Date.now();
  while (Date.now() - started < o.durationMs && !run.stopping) {
    await sleep(Math.min(1000, o.durationMs - (Date.now() - started)));
    if (Math.round((Date.now() - started) / 1000) % 5 !== 0) continue;
    const r = run.report;
    o.log?.(
      `${Math.round((Date.now() - started) / 1000)} s: ${r.published} published, ${r.delivered} delivered, ` +
        `${r.subscriptions} SUBs, ${Object.values(r.admin).reduce((n, s) => n + sum(s), 0)} admin calls, ` +
        `${r.problems.length} problems`,
    );
  }
  // The operator stops first (its last call answered), then the clients settle their last sessions.
  run.adminStopping = true;
  await admin;
  run.stopping = true;
  for (const f of run.onStop) f();
  await Promise.all(actors);
  return run;
}

function sum(byStatus: Record<number, number>): number {
  return Object.values(byStatus).reduce((a, b) => a + b, 0);
}

// ---- publishers -----------------------------------------------------------------------------------

async function publisher(run: Run, i: number): Promise<void> {
  const rng = streamFor(run.o.seed, `pub${i}`);
  let seq = 0;
  for (let session = 0; !run.stopping; session++) {
    const id = `churn-pub${i}-${session}`;
    const live: LiveProducer = { id, conn: await run.nsqd.connectV2(), oks: new Map() };
    const ends = Date.now() + int(rng, 2000, 6000);
    let open = true;
    try {
      await live.conn.command("IDENTIFY", JSON.stringify({ client_id: id }));
      await expectOk(live.conn, `${id} IDENTIFY`);
      while (Date.now() < ends && !run.stopping && open) {
        const topic = pick(rng, run.topics);
        const kind = rng();
        let cmd: Uint8Array;
        let n = 1;
        if (kind < 0.45) cmd = encodeCommand(`PUB ${topic}`, makeBody(`p${i}`, seq++, int(rng, 16, 256)));
        else if (kind < 0.9) {
          n = int(rng, 2, 20);
          const bodies = Array.from({ length: n }, () => makeBody(`p${i}`, seq++, int(rng, 16, 256)));
          cmd = encodeMpub(topic, bodies);
        } else {
          cmd = encodeCommand(
            `DPUB ${topic} ${int(rng, 1, 1000)}`,
            makeBody(`p${i}`, seq++, int(rng, 16, 256)),
          );
        }
        await live.conn.write(cmd);
        run.report.pubCommands++;
        const f = await live.conn.readNonHeartbeat(10_000);
        if (f.type === FRAME_RESPONSE && f.text === "OK") {
          run.report.published += n;
          live.oks.set(topic, (live.oks.get(topic) ?? 0) + n);
        } else if (f.type === FRAME_ERROR && PUB_EXITING.test(f.text)) {
          run.report.pubExiting++; // fatal: nsqd closes the connection
          open = false;
        } else {
          run.problem(`${id}: unexpected answer to a publish on ${topic}: ${f.type} ${f.text}`);
          open = false;
        }
        const pause = rng() * run.o.publishPauseMs;
        if (pause >= 1) await sleep(pause);
      }
    } catch (err) {
      run.problem(`${id}: ${(err as Error).message}`);
      open = false;
    }
    if (run.stopping && open) {
      run.producers.push(live); // kept open: its counts are compared with /stats
      return;
    }
    live.conn.close();
  }
}

export async function expectOk(conn: NsqConn, what: string): Promise<void> {
  const f = await conn.readNonHeartbeat(10_000);
  if (f.type !== FRAME_RESPONSE || f.text !== "OK") throw new Error(`${what}: got ${f.type} ${f.text}`);
}

// ---- consumers ------------------------------------------------------------------------------------

async function consumer(run: Run, i: number): Promise<void> {
  // Sessions and message fates draw from separate streams: how many messages arrive depends on timing,
  // the sequence of subscriptions does not.
  const sessions = streamFor(run.o.seed, `sub${i}`);
  const fates = streamFor(run.o.seed, `sub${i}-fates`);
  for (let session = 0; !run.stopping; session++) {
    const live: LiveConsumer = {
      id: `churn-sub${i}-${session}`,
      conn: await run.nsqd.connectV2(),
      topic: pick(sessions, run.topics),
      channel: sessions() < 0.4 ? pick(sessions, EPHEMERAL_CHANNELS) : pick(sessions, DURABLE_CHANNELS),
      received: 0,
      finOk: 0,
      reqOk: 0,
    };
    const plan = { rdy: int(sessions, 1, 50), lastsMs: int(sessions, 1000, 4000), cls: sessions() < 0.5 };
    if (await consumeSession(run, fates, live, plan)) {
      run.consumers.push(live);
      return;
    }
    live.conn.close();
  }
}

/**
 * One subscription: SUB, RDY, then every message is FINed (80 %), REQed (10 %, now or up to 1 s
 * later) or left to time out; after `lastsMs` the session ends with CLS or by hanging up. When the run
 * stops, RDY 0 and a barrier settle the counters and the connection stays open (returns true).
 */
async function consumeSession(
  run: Run,
  fates: Rng,
  live: LiveConsumer,
  plan: { rdy: number; lastsMs: number; cls: boolean },
): Promise<boolean> {
  const { conn, id } = live;
  // Writes go one after the other (the session's end and the run's end write from timers).
  let writing = Promise.resolve();
  const send = (line: string, body?: string) => {
    writing = writing.then(() => conn.write(encodeCommand(line, body))).catch(() => {});
    return writing;
  };
  let fin = 0;
  let req = 0;
  let finFailed = 0;
  let reqFailed = 0;
  let hungUp = false;
  let draining = false;
  const drainNow = () => {
    if (draining) return;
    draining = true;
    clearTimeout(ender);
    send("RDY 0");
    send(`FIN ${BARRIER_ID}`);
  };
  const ender = setTimeout(() => {
    if (draining) return;
    if (plan.cls) send("CLS");
    else {
      hungUp = true;
      conn.close();
    }
  }, plan.lastsMs);
  try {
    await send("IDENTIFY", JSON.stringify({ client_id: id }));
    await expectOk(conn, `${id} IDENTIFY`);
    await send(`SUB ${live.topic} ${live.channel}`);
    await expectOk(conn, `${id} SUB ${live.topic} ${live.channel}`);
    run.report.subscriptions++;
    await send(`RDY ${plan.rdy}`);
    if (run.stopping) drainNow();
    else run.onStop.add(drainNow);
    for (;;) {
      let f: Frame;
      try {
        // The session's end (CLS answered, or hung up), the server closing, or the barrier ends it.
        f = await conn.readFrame(draining ? 10_000 : 60_000);
      } catch (err) {
        if (hungUp) return false;
        if (/EOF/.test((err as Error).message)) {
          run.report.closedByServer++; // its channel or topic was deleted
          return false;
        }
        throw err;
      }
      if (f.type === FRAME_MESSAGE) {
        const msg = decodeMessage(f.data);
        live.received++;
        run.report.delivered++;
        if (!bodyIsIntact(msg.text)) run.problem(`${id}: corrupt message body ${JSON.stringify(msg.text)}`);
        if (draining) continue; // left in flight: it times out
        const fate = fates();
        if (fate < 0.8) {
          send(`FIN ${msg.id}`);
          fin++;
          run.report.finished++;
        } else if (fate < 0.9) {
          send(`REQ ${msg.id} ${fates() < 0.5 ? 0 : int(fates, 1, 1000)}`);
          req++;
          run.report.requeued++;
        } else run.report.leftToTimeOut++;
      } else if (f.type === FRAME_RESPONSE) {
        if (f.text === "CLOSE_WAIT") return false; // CLS acknowledged: hang up
        if (f.text !== "_heartbeat_") run.problem(`${id}: unexpected response ${f.text}`);
      } else if (f.text === BARRIER_ERROR) {
        live.finOk = fin - finFailed;
        live.reqOk = req - reqFailed;
        return true;
      } else if (/^E_FIN_FAILED /.test(f.text)) {
        finFailed++; // an emptied channel, or a message that timed out before its FIN
        run.report.finFailed++;
      } else if (/^E_REQ_FAILED /.test(f.text)) {
        reqFailed++;
        run.report.reqFailed++;
      } else {
        run.problem(`${id}: unexpected error ${f.text} on ${live.topic}/${live.channel}`);
        return false;
      }
    }
  } catch (err) {
    if (!hungUp) run.problem(`${id} on ${live.topic}/${live.channel}: ${(err as Error).message}`);
    return false;
  } finally {
    clearTimeout(ender);
    run.onStop.delete(drainNow);
  }
}

// ---- the operator ---------------------------------------------------------------------------------

const ADMIN_ACTIONS: [string, number][] = [
  ["stats", 20],
  ["topic/create", 5],
  ["topic/delete", 8],
  ["topic/empty", 8],
  ["topic/pause", 5],
  ["topic/unpause", 8],
  ["channel/create", 10],
  ["channel/delete", 10],
  ["channel/empty", 10],
  ["channel/pause", 6],
  ["channel/unpause", 10],
];

async function operator(run: Run): Promise<void> {
  const rng = streamFor(run.o.seed, "admin");
  const total = ADMIN_ACTIONS.reduce((n, [, w]) => n + w, 0);
  let next = Date.now();
  while (!run.stopping && !run.adminStopping) {
    let r = rng() * total;
    const action = ADMIN_ACTIONS.find(([, w]) => (r -= w) < 0)![0];
    const topic = pick(rng, run.topics);
    // Only durable channels are made over HTTP: an ephemeral one made so would stay without clients.
    const channel = action === "channel/create" || rng() < 0.5
      ? pick(rng, DURABLE_CHANNELS)
      : pick(rng, EPHEMERAL_CHANNELS);
    let path: string;
    if (action === "stats") path = `/stats?format=json${rng() < 0.5 ? "" : `&topic=${q(topic)}`}`;
    else if (action.startsWith("topic/")) path = `/${action}?topic=${q(topic)}`;
    else path = `/${action}?topic=${q(topic)}&channel=${q(channel)}`;
    try {
      const res = await run.nsqd.http(path, { method: action === "stats" ? "GET" : "POST" });
      const text = await res.text();
      const byStatus = run.report.admin[action] ??= {};
      byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
      const expected = res.status === 200 ||
        (res.status === 404 && /^\{"message":"(TOPIC|CHANNEL)_NOT_FOUND"\}$/.test(text));
      if (!expected) run.problem(`${path} answered ${res.status} ${text}`);
    } catch (err) {
      run.problem(`${path}: ${(err as Error).message}`);
    }
    next += run.o.adminIntervalMs;
    const wait = next - Date.now();
    if (wait > 0) await sleep(wait);
    else next = Date.now();
  }
}

// ---- the checks -----------------------------------------------------------------------------------

async function post(run: Run, path: string): Promise<void> {
  const res = await run.nsqd.http(path, { method: "POST" });
  const text = await res.text();
  if (res.status !== 200) run.problem(`(checks) POST ${path} answered ${res.status} ${text}`);
}

/** Retries `check` (returning a complaint, or null when satisfied) for up to `ms`. */
async function settle(
  run: Run,
  what: string,
  ms: number,
  check: () => Promise<string | null>,
): Promise<void> {
  const deadline = Date.now() + ms;
  let complaint: string | null = null;
  for (;;) {
    complaint = await check();
    if (complaint === null) return;
    if (Date.now() > deadline) break;
    await sleep(100);
  }
  run.problem(`${what}: ${complaint}`);
}

function allChannels(stats: StatsJson): { topic: StatsJson; channel: StatsJson }[] {
  return (stats.topics ?? []).flatMap((t: StatsJson) =>
    t.channels.map((c: StatsJson) => ({ topic: t, channel: c }))
  );
}

/**
 * Subscribes, runs `afterSub`, reads `expect` messages (FINing each), and checks that nothing more
 * comes. Returns the connection (still subscribed), or null after a problem.
 */
async function drain(
  run: Run,
  topic: string,
  channel: string,
  expect: number,
  opts: { afterSub?: () => Promise<void>; onMessage?: (text: string) => void } = {},
): Promise<NsqConn | null> {
  const conn = await run.nsqd.connectV2();
  const what = `drain ${topic}/${channel}`;
  try {
    await conn.command(`SUB ${topic} ${channel}`);
    await expectOk(conn, what);
    await opts.afterSub?.();
    await conn.command("RDY 1000");
    const ids = new Set<string>();
    let dupes = 0;
    const take = (f: Frame) => {
      const msg = decodeMessage(f.data);
      if (!bodyIsIntact(msg.text)) run.problem(`${what}: corrupt message body ${JSON.stringify(msg.text)}`);
      if (ids.has(msg.id)) dupes++;
      ids.add(msg.id);
      opts.onMessage?.(msg.text);
      return conn.command(`FIN ${msg.id}`);
    };
    for (let got = 0; got < expect; got++) {
      const f = await conn.readNonHeartbeat(5000);
      if (f.type !== FRAME_MESSAGE) {
        throw new Error(`after ${got} of ${expect} messages: ${f.type} ${f.text}`);
      }
      await take(f);
    }
    // Nothing more: the barrier's error is the next frame.
    await conn.command(`FIN ${BARRIER_ID}`);
    let extra = 0;
    for (;;) {
      const f = await conn.readNonHeartbeat(5000);
      if (f.type !== FRAME_MESSAGE) {
        if (f.text !== BARRIER_ERROR) throw new Error(`unexpected ${f.type} ${f.text}`);
        break;
      }
      extra++;
      await take(f);
    }
    if (extra > 0 || dupes > 0) {
      throw new Error(`/stats said ${expect} messages, ${expect + extra} came (${dupes} twice)`);
    }
    return conn;
  } catch (err) {
    run.problem(`${what}: ${(err as Error).message}`);
    conn.close();
    return null;
  }
}

async function pool<T>(items: T[], width: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(Array.from({ length: width }, async () => {
    for (let item; (item = queue.shift()) !== undefined;) await fn(item);
  }));
}

/**
 * The checks after the load; adds to `run.report.problems` and returns the report. `lookupd`, when
 * given, is the nsqlookupd the nsqd registers with.
 */
/**
 * `memQueueSize0`: nsqd runs with `--mem-queue-size=0`, where an `#ephemeral` topic keeps no message it cannot
 * hand over at once (its overflow is dropped, as upstream's): one re-created by the final SUB and still asking
 * lookupd for its channels drops the final PUB, so that check is made on durable topics only.
 */
export async function verifyChurn(
  run: Run,
  lookupd?: NsqlookupdProcess,
  opts: { memQueueSize0?: boolean } = {},
): Promise<ChurnReport> {
  const { nsqd } = run;
  const log = run.o.log ?? (() => {});
  if (await exited(nsqd)) {
    run.problem(`nsqd exited; its last lines:\n${nsqd.proc.lines.slice(-30).join("\n")}`);
    return run.report;
  }

  // 1. The clients still connected: their counters in /stats are what they saw.
  log(`checks: ${run.consumers.length} consumers and ${run.producers.length} producers against /stats`);
  const stats = await nsqd.stats();
  const clients = new Map<string, StatsJson>();
  for (const { channel } of allChannels(stats)) {
    for (const c of channel.clients ?? []) clients.set(c.client_id, c);
  }
  for (const c of run.consumers) {
    const s = clients.get(c.id);
    if (s === undefined) {
      run.problem(`consumer ${c.id} (${c.topic}/${c.channel}) is connected but not in /stats`);
      continue;
    }
    const seen = [c.received, c.finOk, c.reqOk, 0];
    const said = [s.message_count, s.finish_count, s.requeue_count, s.ready_count];
    if (seen.join() !== said.join()) {
      run.problem(
        `consumer ${c.id}: received/finished/requeued/rdy ${seen.join("/")} but /stats says ${
          said.join("/")
        }`,
      );
    }
  }
  for (const topic of run.topics) {
    const byTopic = await nsqd.stats(`&topic=${q(topic)}`);
    if (byTopic.topics === null) continue; // deleted last: its counts cannot be asked for
    const producers = new Map<string, StatsJson>(
      (byTopic.producers ?? []).map((p: StatsJson) => [p.client_id, p]),
    );
    for (const p of run.producers) {
      const said = producers.get(p.id)?.pub_counts?.[0]?.count ?? 0;
      const seen = p.oks.get(topic) ?? 0;
      if (said !== seen) {
        run.problem(`producer ${p.id}: ${seen} messages acknowledged on ${topic}, /stats says ${said}`);
      }
    }
  }
  for (const c of [...run.consumers, ...run.producers]) c.conn.close();

  // 2. Everyone gone: no clients, no ephemeral channel left, nothing in flight or deferred.
  log("checks: clients gone, nothing in flight");
  await settle(run, "after every client left", 10_000, async () => {
    for (const { topic, channel } of allChannels(await nsqd.stats())) {
      const where = `${topic.topic_name}/${channel.channel_name}`;
      if (channel.client_count !== 0) return `${where} still has ${channel.client_count} clients`;
      if (channel.channel_name.endsWith("#ephemeral")) {
        return `ephemeral channel ${where} outlived its clients`;
      }
      if (channel.in_flight_count !== 0) return `${where} has ${channel.in_flight_count} in flight`;
      if (channel.deferred_count !== 0) return `${where} has ${channel.deferred_count} deferred`;
    }
    return null;
  });

  // 3. nsqlookupd knows exactly nsqd's topics and channels.
  if (lookupd !== undefined) {
    log("checks: nsqlookupd agrees");
    await settle(run, "nsqlookupd's registrations", 10_000, async () => {
      const res = await lookupd.http("/debug");
      const registered = Object.entries(await res.json() as Record<string, unknown[]>)
        .filter(([key, producers]) => producers.length > 0 && !key.startsWith("client:"))
        .map(([key]) => key.replace(/^(topic:.*):$/, "$1")).sort();
      const s = await nsqd.stats();
      const expected = (s.topics ?? []).flatMap((t: StatsJson) => [
        `topic:${t.topic_name}`,
        ...t.channels.map((c: StatsJson) => `channel:${t.topic_name}:${c.channel_name}`),
      ]).sort();
      return registered.join() === expected.join()
        ? null
        : `lookupd has [${registered.join(" ")}], nsqd has [${expected.join(" ")}]`;
    });
  }

  // 4. Every channel delivers exactly the depth /stats gives it (memory and disk queues intact).
  log("checks: every channel delivers its depth");
  for (const { topic, channel } of allChannels(await nsqd.stats())) {
    if (channel.paused) {
      await post(run, `/channel/unpause?topic=${q(topic.topic_name)}&channel=${q(channel.channel_name)}`);
    }
  }
  for (const t of (await nsqd.stats()).topics ?? []) {
    if (t.paused) await post(run, `/topic/unpause?topic=${q(t.topic_name)}`);
  }
  // (A paused topic may have held DPUBs: once fanned out they wait as deferred in their channels.)
  await settle(run, "topics fanned out, deferred messages due", 10_000, async () => {
    const s = await nsqd.stats();
    const busy = (s.topics ?? []).find((t: StatsJson) => t.channels.length > 0 && t.depth > 0);
    if (busy !== undefined) return `${busy.topic_name} still holds ${busy.depth}`;
    const waiting = allChannels(s).find(({ channel }) =>
      channel.deferred_count + channel.in_flight_count > 0
    );
    return waiting === undefined
      ? null
      : `${waiting.topic.topic_name}/${waiting.channel.channel_name} has messages deferred or in flight`;
  });
  const channels = allChannels(await nsqd.stats());
  let drained = 0;
  const draining: NsqConn[] = [];
  await pool(channels, 4, async ({ topic, channel }) => {
    const conn = await drain(run, topic.topic_name, channel.channel_name, channel.depth);
    drained += channel.depth;
    if (conn !== null) draining.push(conn);
  });
  for (const c of draining) c.close();
  log(`checks: ${drained} messages drained from ${channels.length} channels`);

  // 5. Every topic can be published to, delivers, and can be deleted, files and all.
  log("checks: every topic publishes and deletes");
  await pool(run.topics, 4, async (topic) => {
    const t = ((await nsqd.stats(`&topic=${q(topic)}`)).topics ?? [])[0];
    const backlog = t === undefined || t.channels.length > 0 ? 0 : t.depth;
    const pub = await nsqd.connectV2();
    try {
      const last = makeBody("final", 0, 32);
      const lastText = new TextDecoder().decode(last);
      let sawLast = false;
      const lossy = opts.memQueueSize0 === true && topic.endsWith("#ephemeral");
      if (lossy) {
        // Still publishable (and so present for the deletion below); what it keeps is not checked.
        await pub.command(`PUB ${topic}`, last);
        await expectOk(pub, `PUB ${topic}`);
      }
      const conn = lossy ? null : await drain(run, topic, "final", backlog + 1, {
        afterSub: async () => {
          await pub.command(`PUB ${topic}`, last);
          await expectOk(pub, `PUB ${topic}`);
        },
        onMessage: (text) => sawLast ||= text === lastText,
      });
      if (conn !== null && !sawLast) run.problem(`${topic}: the message just published did not arrive`);
      const res = await nsqd.http(`/topic/delete?topic=${q(topic)}`, { method: "POST" });
      if (res.status !== 200) {
        run.problem(`deleting ${topic} at the end answered ${res.status} ${await res.text()}`);
      } else await res.body?.cancel();
      if (conn !== null) {
        try {
          await conn.expectClosed(5000);
        } catch {
          run.problem(`${topic}: its consumer was not disconnected by the deletion`);
        }
        conn.close();
      }
    } finally {
      pub.close();
    }
  });
  await settle(run, "every topic deleted", 5000, async () => {
    const left = ((await nsqd.stats()).topics ?? []).map((t: StatsJson) => t.topic_name);
    const files = readdirSync(nsqd.dataPath).filter((f) =>
      f.startsWith("churn_") && f.includes(".diskqueue.")
    );
    if (left.length > 0) return `topics left: ${left.join(" ")}`;
    return files.length > 0 ? `disk queue files left: ${files.join(" ")}` : null;
  });

  // 6. Alive and healthy, and nothing logged that an operator would read as a bug.
  log("checks: alive, healthy, clean logs");
  const ping = await nsqd.http("/ping");
  const pong = await ping.text();
  if (ping.status !== 200 || pong !== "OK") run.problem(`/ping answered ${ping.status} ${pong}`);
  if (await exited(nsqd)) run.problem("nsqd exited");
  for (const line of nsqd.proc.lines) {
    if (BUG_LINES.test(line)) run.problem(`nsqd logged: ${line}`);
    else if (/ ERROR: /.test(line) && !EXPECTED_ERROR_LINES.some((re) => re.test(line))) {
      run.problem(`nsqd logged an unexpected error: ${line}`);
    } else if (/ WARNING: DISKQUEUE/.test(line)) {
      // A queue meeting files it did not write: another queue's deletion and its own creation raced.
      run.problem(`nsqd logged: ${line}`);
    }
  }
  for (const line of lookupd?.proc.lines ?? []) {
    if (BUG_LINES.test(line)) run.problem(`nsqlookupd logged: ${line}`);
  }
  return run.report;
}

function exited(nsqd: NsqdProcess): Promise<boolean> {
  return Promise.race([nsqd.proc.status.then(() => true), sleep(50).then(() => false)]);
}

/** The report in a few lines (bench output, test failures). */
export function formatReport(r: ChurnReport): string {
  const admin = Object.entries(r.admin).sort().map(([a, s]) =>
    `${a} ${Object.entries(s).map(([status, n]) => `${n}×${status}`).join(" ")}`
  );
  return [
    `seed ${r.seed}, ${r.seconds} s: ${r.pubCommands} publish commands (${r.published} messages, ` +
    `${r.pubExiting} refused as exiting), ${r.subscriptions} subscriptions, ${r.delivered} deliveries ` +
    `(${r.finished} FIN, ${r.requeued} REQ, ${r.leftToTimeOut} left to time out; ${r.finFailed} E_FIN_FAILED, ` +
    `${r.reqFailed} E_REQ_FAILED), ${r.closedByServer} consumers disconnected by a deletion`,
    `admin: ${admin.join(", ")}`,
    r.problems.length === 0 ? "no problems" : `${r.problems.length} problems:\n  ${r.problems.join("\n  ")}`,
  ].join("\n");
}
