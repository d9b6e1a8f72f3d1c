/**
 * Cluster discovery end to end (shared/nsq-reference.md §5.1–5.5, §3.1, §2.6, §4.1): real nsqds
 * register with real nsqlookupds on loopback (`--lookupd-tcp-address` given once per lookupd,
 * `--broadcast-address=127.0.0.1`), and the tests look at the cluster only the way consumers and
 * operators do — the lookupds' HTTP API (`/nodes`, `/lookup`, `/topics`, `/channels`, `/debug`),
 * nsqd's HTTP API and the TCP protocol of a consumer that knows nothing but a lookupd address.
 *
 * Registration is asynchronous, so every check of a lookupd polls (`until`, 10 s); sleeps only prove
 * that something stays absent. A failing test appends the nsqds' `LOOKUP…` log lines to its error.
 */
import assert from "node:assert/strict";
import {
  ChildProcess,
  commandFor,
  decodeMessage,
  eventually,
  FRAME_MESSAGE,
  FRAME_RESPONSE,
  NsqConn,
  type NsqdProcess,
  NsqlookupdProcess,
  type Runtime,
  RUNTIMES,
  runtimeTest,
  startNsqd,
  startNsqlookupd,
  type StatsJson,
  withTimeout,
} from "./harness.ts";

const LOOPBACK = "127.0.0.1";
const REGISTRATION_MS = 10_000;

// ---- lookupd views ------------------------------------------------------------------------------

/** A producer as `/lookup` shows it (§5.3). */
interface Producer {
  remote_address: string;
  hostname: string;
  broadcast_address: string;
  tcp_port: number;
  http_port: number;
  version: string;
  topology_zone?: string;
  topology_region?: string;
}

/** A producer as `/nodes` shows it (§5.3). */
interface Node extends Producer {
  tombstones: boolean[];
  topics: string[];
}

interface Lookup {
  channels: string[];
  producers: Producer[];
}

async function getJson<T>(base: string, path: string): Promise<T> {
  const res = await fetch(`${base}${path}`);
  const text = await res.text();
  assert.equal(res.status, 200, `GET ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

const q = encodeURIComponent;

async function nodes(l: NsqlookupdProcess): Promise<Node[]> {
  return (await getJson<{ producers: Node[] }>(l.httpUrl, "/nodes")).producers;
}

/** `/lookup?topic=`; null for a 404 `TOPIC_NOT_FOUND`. */
async function lookup(l: NsqlookupdProcess, topic: string): Promise<Lookup | null> {
  const res = await l.http(`/lookup?topic=${q(topic)}`);
  const text = await res.text();
  if (res.status === 404) {
    assert.equal(text, JSON.stringify({ message: "TOPIC_NOT_FOUND" }));
    return null;
  }
  assert.equal(res.status, 200, `/lookup?topic=${topic}: ${res.status} ${text}`);
  return JSON.parse(text) as Lookup;
}

/** The tcp ports of `/lookup?topic=` producers, sorted (`[]` for an unknown topic). */
async function lookupPorts(l: NsqlookupdProcess, topic: string): Promise<number[]> {
  const body = await lookup(l, topic);
  return (body?.producers ?? []).map((p) => p.tcp_port).sort((a, b) => a - b);
}

/** The tcp ports of `/nodes` producers, sorted. */
async function nodePorts(l: NsqlookupdProcess): Promise<number[]> {
  return (await nodes(l)).map((p) => p.tcp_port).sort((a, b) => a - b);
}

/** `/nodes` entry of the producer advertising `tcpPort`, with its topics (and tombstones) sorted. */
async function nodeOf(l: NsqlookupdProcess, tcpPort: number): Promise<Node | undefined> {
  const n = (await nodes(l)).find((p) => p.tcp_port === tcpPort);
  if (n === undefined) return undefined;
  assert.equal(n.topics.length, n.tombstones.length, "tombstones[i] ↔ topics[i]");
  const pairs = n.topics.map((t, i) => [t, n.tombstones[i]] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  return { ...n, topics: pairs.map((p) => p[0]), tombstones: pairs.map((p) => p[1]) };
}

async function topics(l: NsqlookupdProcess): Promise<string[]> {
  return (await getJson<{ topics: string[] }>(l.httpUrl, "/topics")).topics.sort();
}

async function channels(l: NsqlookupdProcess, topic: string): Promise<string[]> {
  return (await getJson<{ channels: string[] }>(l.httpUrl, `/channels?topic=${q(topic)}`)).channels.sort();
}

/** The tcp ports of the producers `/debug` lists under `category:key:subkey` (absent key = none). */
async function debugPorts(l: NsqlookupdProcess, key: string): Promise<number[]> {
  const debug = await getJson<Record<string, { tcp_port: number }[]>>(l.httpUrl, "/debug");
  return (debug[key] ?? []).map((p) => p.tcp_port).sort((a, b) => a - b);
}

/** Polls until `check` stops throwing; its last assertion error is reported on timeout. */
async function until(
  what: string,
  check: () => Promise<void> | void,
  timeoutMs = REGISTRATION_MS,
): Promise<void> {
  await eventually(
    async () => {
      await check();
      return true;
    },
    timeoutMs,
    what,
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ports = (...ns: NsqdProcess[]) => ns.map((n) => n.tcpPort).sort((a, b) => a - b);

// ---- nsqd side ----------------------------------------------------------------------------------

async function nsqdPost(n: NsqdProcess, path: string, body?: string): Promise<void> {
  const res = await n.http(path, { method: "POST", body });
  const text = await res.text();
  assert.equal(res.status, 200, `POST ${path} on nsqd :${n.httpPort}: ${res.status} ${text}`);
}

const createTopic = (n: NsqdProcess, t: string) => nsqdPost(n, `/topic/create?topic=${q(t)}`);
const createChannel = (n: NsqdProcess, t: string, c: string) =>
  nsqdPost(n, `/channel/create?topic=${q(t)}&channel=${q(c)}`);
const publish = (n: NsqdProcess, t: string, body: string) => nsqdPost(n, `/pub?topic=${q(t)}`, body);

/** The `--lookupd-tcp-address` flags that join every lookupd in `ls`. */
function joining(...ls: NsqlookupdProcess[]): string[] {
  return ls.map((l) => `--lookupd-tcp-address=${LOOPBACK}:${l.tcpPort}`);
}

/** The topic `t` of an nsqd's JSON /stats, or undefined. */
async function topicStats(n: NsqdProcess, t: string): Promise<StatsJson | undefined> {
  const stats = await n.stats(`&topic=${q(t)}`);
  return (stats.topics as StatsJson[]).find((x) => x.topic_name === t);
}

// ---- a cluster ----------------------------------------------------------------------------------

interface ClusterSpec {
  /** Extra args of each nsqlookupd (one entry per lookupd); `--broadcast-address=127.0.0.1` is added. */
  lookupds: string[][];
  /** Args of each nsqd, given the lookupds; `--broadcast-address=127.0.0.1` is added. */
  nsqds: (ls: NsqlookupdProcess[]) => string[][];
  /** Runtime of each nsqlookupd / nsqd (default: the test's runtime). */
  lookupdRuntimes?: Runtime[];
  nsqdRuntimes?: Runtime[];
}

interface Cluster {
  lookupds: NsqlookupdProcess[];
  nsqds: NsqdProcess[];
  /** Processes started later in the test, stopped at the end too. */
  extra: NsqlookupdProcess[];
}

/** Lines of the nsqds' logs about lookupd (for failure reports). */
function lookupLogs(c: Cluster): string {
  return c.nsqds.map((n, i) =>
    `--- nsqd[${i}] (tcp ${n.tcpPort}) LOOKUP lines:\n` +
    n.proc.lines.filter((l) => /LOOKUP|pre-create|nsqlookupd/.test(l)).slice(-40).join("\n")
  ).join("\n");
}

async function withCluster(rt: Runtime, spec: ClusterSpec, fn: (c: Cluster) => Promise<void>): Promise<void> {
  const c: Cluster = { lookupds: [], nsqds: [], extra: [] };
  try {
    c.lookupds = await Promise.all(
      spec.lookupds.map((args, i) =>
        startNsqlookupd(spec.lookupdRuntimes?.[i] ?? rt, [`--broadcast-address=${LOOPBACK}`, ...args])
      ),
    );
    c.nsqds = await Promise.all(
      spec.nsqds(c.lookupds).map((args, i) =>
        startNsqd(spec.nsqdRuntimes?.[i] ?? rt, [`--broadcast-address=${LOOPBACK}`, ...args])
      ),
    );
    await fn(c);
  } catch (err) {
    if (err instanceof Error) err.message += `\n${lookupLogs(c)}`;
    throw err;
  } finally {
    await Promise.allSettled([
      ...c.nsqds.map((n) => n.stop()),
      ...c.lookupds.map((l) => l.stop()),
      ...c.extra.map((l) => l.stop()),
    ]);
  }
}

/** Starts nsqlookupd on a given TCP port, retrying while the port cannot be bound yet. */
async function startNsqlookupdOn(rt: Runtime, tcpPort: number, args: string[]): Promise<NsqlookupdProcess> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const proc = new ChildProcess(commandFor(rt, "nsqlookupd"), [
      `--tcp-address=${LOOPBACK}:${tcpPort}`,
      `--http-address=${LOOPBACK}:0`,
      ...args,
    ]);
    const tcpLine = proc.waitForLine(/TCP: listening on (.+):(\d+)$/, 15_000);
    tcpLine.catch(() => {});
    const tcp = await Promise.race([tcpLine, proc.status.then(() => null)]);
    if (tcp !== null) {
      const http = await proc.waitForLine(/HTTP: listening on (.+):(\d+)$/, 15_000);
      return new NsqlookupdProcess(proc, Number(tcp[2]), Number(http[2]));
    }
    if (Date.now() > deadline) throw new Error(`nsqlookupd could not bind :${tcpPort}:\n${proc.stderr}`);
    await sleep(100);
  }
}

// ---- a consumer that only knows a lookupd -------------------------------------------------------

interface Received {
  /** tcp port of the nsqd the message came from. */
  port: number;
  text: string;
}

/**
 * What a client library does with `lookupd_http_addresses`: GET /lookup, connect to every producer's
 * `broadcast_address:tcp_port`, SUB, RDY, and FIN whatever arrives.
 */
class DiscoveringConsumer {
  readonly received: Received[] = [];
  readonly errors: string[] = [];
  readonly #conns: NsqConn[] = [];
  readonly #loops: Promise<void>[] = [];
  producers: Producer[] = [];

  static async discover(l: NsqlookupdProcess, topic: string, channel: string): Promise<DiscoveringConsumer> {
    const consumer = new DiscoveringConsumer();
    const body = await lookup(l, topic);
    assert.ok(body !== null, `lookupd knows topic ${topic}`);
    consumer.producers = body.producers;
    for (const p of body.producers) {
      assert.equal(p.broadcast_address, LOOPBACK, "producers advertise --broadcast-address");
      const conn = await NsqConn.connect(p.tcp_port);
      consumer.#conns.push(conn);
      await conn.write("  V2");
      await conn.sub(topic, channel);
      await conn.rdy(100);
      consumer.#loops.push(consumer.#read(p.tcp_port, conn));
    }
    return consumer;
  }

  async #read(port: number, conn: NsqConn): Promise<void> {
    for (;;) {
      let f;
      try {
        f = await conn.readFrame(3_600_000);
      } catch {
        return; // closed
      }
      if (f.type === FRAME_RESPONSE && f.text === "_heartbeat_") {
        await conn.command("NOP");
        continue;
      }
      if (f.type !== FRAME_MESSAGE) {
        this.errors.push(`nsqd :${port} sent frame type ${f.type}: ${f.text}`);
        continue;
      }
      const m = decodeMessage(f.data);
      this.received.push({ port, text: m.text });
      await conn.fin(m.id);
    }
  }

  /** Waits until `n` messages have arrived. */
  async waitFor(n: number, timeoutMs = REGISTRATION_MS): Promise<void> {
    await until(`${n} messages (have ${this.received.length})`, () => {
      assert.deepEqual(this.errors, []);
      assert.ok(this.received.length >= n, `${this.received.length} of ${n} messages`);
    }, timeoutMs);
  }

  /** Message texts grouped by the nsqd they came from, sorted. */
  byPort(): Record<number, string[]> {
    const out: Record<number, string[]> = {};
    for (const r of this.received) (out[r.port] ??= []).push(r.text);
    for (const k in out) out[k].sort();
    return out;
  }

  async close(): Promise<void> {
    for (const c of this.#conns) c.close();
    await Promise.all(this.#loops);
  }
}

// ---- registration -------------------------------------------------------------------------------

runtimeTest(
  "every nsqd registers on every lookupd with its broadcast address, ports, topology and topics",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [[], []],
      nsqds: (ls) => [
        joining(...ls),
        joining(...ls),
        [
          ...joining(...ls),
          "--broadcast-tcp-port=24150",
          "--broadcast-http-port=24151",
          "--topology-zone=z1",
          "--topology-region=r1",
        ],
      ],
    }, async ({ lookupds, nsqds: [n0, n1, n2] }) => {
      await createTopic(n0, "t");
      await createTopic(n1, "t");
      await createTopic(n2, "u");
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} has t on n0, n1`, async () => {
          assert.deepEqual(await lookupPorts(l, "t"), ports(n0, n1));
        });
      }
      // The channel is created after t is registered everywhere, so n1 does not pre-create it.
      await createChannel(n0, "t", "c");

      const hostname = (await (await n0.http("/info")).json()).hostname as string;
      const expectNode = (
        tcp: number,
        http: number,
        topicList: string[],
        zone = "",
        region = "",
      ): Omit<Node, "remote_address"> => ({
        hostname,
        broadcast_address: LOOPBACK,
        tcp_port: tcp,
        http_port: http,
        version: "1.3.0",
        topology_zone: zone,
        topology_region: region,
        tombstones: topicList.map(() => false),
        topics: topicList,
      });
      const withoutRemote = ({ remote_address: _, ...rest }: Producer) => rest;

      for (const l of lookupds) {
        const at = `lookupd :${l.tcpPort}`;
        await until(`${at}: channel c of t`, async () => {
          assert.deepEqual(await debugPorts(l, "channel:t:c"), [n0.tcpPort]);
        });
        const list = await nodes(l);
        assert.equal(list.length, 3, `${at}: 3 producers in /nodes`);
        const remotes = new Set<string>();
        for (const p of list) {
          assert.match(p.remote_address, /^127\.0\.0\.1:\d+$/, `${at}: remote_address`);
          remotes.add(p.remote_address);
        }
        assert.equal(remotes.size, 3, `${at}: one connection per nsqd`);
        assert.deepEqual(
          withoutRemote((await nodeOf(l, n0.tcpPort))!),
          expectNode(n0.tcpPort, n0.httpPort, ["t"]),
          `${at}: n0`,
        );
        assert.deepEqual(
          withoutRemote((await nodeOf(l, n1.tcpPort))!),
          expectNode(n1.tcpPort, n1.httpPort, ["t"]),
          `${at}: n1`,
        );
        assert.deepEqual(
          withoutRemote((await nodeOf(l, 24150))!),
          expectNode(24150, 24151, ["u"], "z1", "r1"),
          `${at}: n2 advertises --broadcast-tcp-port/--broadcast-http-port`,
        );

        assert.deepEqual(await topics(l), ["t", "u"], `${at}: /topics`);
        assert.deepEqual(await channels(l, "t"), ["c"], `${at}: /channels?topic=t`);
        assert.deepEqual(await channels(l, "u"), [], `${at}: /channels?topic=u`);

        const t = (await lookup(l, "t"))!;
        assert.deepEqual(t.channels, ["c"], `${at}: /lookup?topic=t channels`);
        assert.deepEqual(
          t.producers.map(withoutRemote).sort((a, b) => a.tcp_port - b.tcp_port),
          [n0, n1].sort((a, b) => a.tcpPort - b.tcpPort).map((n) => {
            const { tombstones: _t, topics: _ts, ...p } = expectNode(n.tcpPort, n.httpPort, []);
            return p;
          }),
          `${at}: /lookup?topic=t lists exactly n0 and n1`,
        );
        assert.deepEqual(await lookupPorts(l, "u"), [24150], `${at}: /lookup?topic=u lists n2`);
        assert.equal(await lookup(l, "nope"), null, `${at}: unknown topic`);
      }
      // Pre-creation happens only when a topic is created: n1's t got no channel afterwards.
      assert.deepEqual((await topicStats(n1, "t")).channels, []);
    });
  },
);

runtimeTest(
  "a consumer that only knows a lookupd's HTTP address finds and drains every nsqd of a topic",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [[], []],
      nsqds: (ls) => [joining(...ls), joining(...ls), joining(...ls)],
    }, async ({ lookupds, nsqds }) => {
      const l1 = lookupds[1];
      const expected: Record<number, string[]> = {};
      for (const [i, n] of nsqds.entries()) {
        expected[n.tcpPort] = [];
        for (let k = 0; k < 5; k++) {
          await publish(n, "t", `before-n${i}-${k}`);
          expected[n.tcpPort].push(`before-n${i}-${k}`);
        }
      }
      await until("t registered by all 3 nsqds", async () => {
        assert.deepEqual(await lookupPorts(l1, "t"), ports(...nsqds));
      });

      const consumer = await DiscoveringConsumer.discover(l1, "t", "all");
      try {
        assert.equal(consumer.producers.length, 3);
        // Messages published while connected arrive too.
        for (const [i, n] of nsqds.entries()) {
          for (let k = 0; k < 5; k++) {
            await publish(n, "t", `after-n${i}-${k}`);
            expected[n.tcpPort].push(`after-n${i}-${k}`);
          }
        }
        await consumer.waitFor(30);
        await sleep(200); // nothing more (no duplicates)
        assert.equal(consumer.received.length, 30);
        for (const k in expected) expected[k].sort();
        assert.deepEqual(consumer.byPort(), expected, "each message from the nsqd it was published to");
      } finally {
        await consumer.close();
      }
      // The consumer's channel was registered by each nsqd, on every lookupd.
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} has t/all on all 3`, async () => {
          assert.deepEqual(await debugPorts(l, "channel:t:all"), ports(...nsqds));
          assert.deepEqual((await lookup(l, "t"))?.channels, ["all"]);
        });
      }
    });
  },
);

// ---- unregistration -----------------------------------------------------------------------------

runtimeTest(
  "deleting a topic or channel on one nsqd unregisters just that nsqd, on every lookupd",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [[], []],
      nsqds: (ls) => [joining(...ls), joining(...ls), joining(...ls)],
    }, async ({ lookupds, nsqds }) => {
      const [n0, n1, n2] = nsqds;
      for (const n of nsqds) {
        await createTopic(n, "t");
        await createChannel(n, "t", "c");
      }
      await createTopic(n0, "keep");
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} has t/c on all 3`, async () => {
          assert.deepEqual(await lookupPorts(l, "t"), ports(...nsqds));
          assert.deepEqual(await debugPorts(l, "channel:t:c"), ports(...nsqds));
          assert.deepEqual(await lookupPorts(l, "keep"), [n0.tcpPort]);
        });
      }

      // Topic delete: UNREGISTER t (and its channels) from n0 only.
      await nsqdPost(n0, "/topic/delete?topic=t");
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} dropped n0 from t`, async () => {
          assert.deepEqual(await lookupPorts(l, "t"), ports(n1, n2));
          assert.deepEqual(await debugPorts(l, "channel:t:c"), ports(n1, n2));
          assert.deepEqual((await nodeOf(l, n0.tcpPort))?.topics, ["keep"]);
        });
        assert.deepEqual(await nodePorts(l), ports(...nsqds), "n0 is still a node");
        assert.deepEqual((await lookup(l, "t"))?.channels, ["c"]);
      }

      // Channel delete: UNREGISTER t c removes the producer from channel:t:c only (§5.2).
      await nsqdPost(n1, "/channel/delete?topic=t&channel=c");
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} dropped n1 from t/c`, async () => {
          assert.deepEqual(await debugPorts(l, "channel:t:c"), [n2.tcpPort]);
        });
        assert.deepEqual(await lookupPorts(l, "t"), ports(n1, n2), "n1 still produces t");
        assert.deepEqual(await debugPorts(l, "topic:t:"), ports(n1, n2));
      }
      // The last producer of a non-ephemeral channel goes: the key stays.
      await nsqdPost(n2, "/channel/delete?topic=t&channel=c");
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} dropped n2 from t/c`, async () => {
          assert.deepEqual(await debugPorts(l, "channel:t:c"), []);
        });
        assert.deepEqual(await channels(l, "t"), ["c"], "a non-ephemeral channel key is kept");
        assert.deepEqual((await lookup(l, "t"))?.channels, ["c"]);
        assert.deepEqual(await lookupPorts(l, "t"), ports(n1, n2));
      }

      // An ephemeral channel comes with its first consumer and its key goes with the last UNREGISTER.
      const sub = await n1.connectV2();
      await sub.sub("t", "e#ephemeral");
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} has t/e#ephemeral`, async () => {
          assert.deepEqual(await channels(l, "t"), ["c", "e#ephemeral"]);
          assert.deepEqual(await debugPorts(l, "channel:t:e#ephemeral"), [n1.tcpPort]);
        });
      }
      sub.close();
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} dropped t/e#ephemeral`, async () => {
          assert.deepEqual(await channels(l, "t"), ["c"]);
        });
        assert.deepEqual(await lookupPorts(l, "t"), ports(n1, n2));
      }
    });
  },
);

runtimeTest(
  "an ephemeral topic and channel vanish from every lookupd with their last consumer",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [[], []],
      nsqds: (ls) => [joining(...ls), joining(...ls)],
    }, async ({ lookupds, nsqds: [n0, n1] }) => {
      const subs = [];
      for (const n of [n0, n1]) {
        const sub = await n.connectV2();
        await sub.sub("e#ephemeral", "c#ephemeral");
        subs.push(sub);
      }
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} has the ephemeral topic on both`, async () => {
          assert.deepEqual(await lookupPorts(l, "e#ephemeral"), ports(n0, n1));
          assert.deepEqual(await channels(l, "e#ephemeral"), ["c#ephemeral"]);
        });
      }
      // One consumer goes: its nsqd deletes channel and topic, the other still has them.
      subs[0].close();
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} dropped n0`, async () => {
          assert.deepEqual(await lookupPorts(l, "e#ephemeral"), [n1.tcpPort]);
          assert.deepEqual(await debugPorts(l, "channel:e#ephemeral:c#ephemeral"), [n1.tcpPort]);
        });
      }
      subs[1].close();
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} dropped the ephemeral keys`, async () => {
          assert.deepEqual(await topics(l), []);
          assert.equal(await lookup(l, "e#ephemeral"), null);
          assert.deepEqual(await channels(l, "e#ephemeral"), []);
        });
      }
    });
  },
);

runtimeTest(
  "a stopped nsqd disappears from /lookup and /nodes while its topics stay in /topics",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [[], []],
      nsqds: (ls) => [joining(...ls), joining(...ls), joining(...ls)],
    }, async ({ lookupds, nsqds }) => {
      const [n0, n1, n2] = nsqds;
      for (const n of nsqds) await createTopic(n, "t");
      await createTopic(n0, "solo");
      await createChannel(n0, "solo", "c");
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} has everything`, async () => {
          assert.deepEqual(await lookupPorts(l, "t"), ports(...nsqds));
          assert.deepEqual(await lookupPorts(l, "solo"), [n0.tcpPort]);
          assert.deepEqual(await debugPorts(l, "channel:solo:c"), [n0.tcpPort]);
        });
      }

      assert.equal(await n0.stop(), 0, "SIGTERM exits 0");
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} dropped the stopped nsqd`, async () => {
          assert.deepEqual(await lookupPorts(l, "t"), ports(n1, n2));
          assert.deepEqual(await nodePorts(l), ports(n1, n2));
        });
        // Connection close removes the producer but keeps every key (§5.2).
        assert.deepEqual(await topics(l), ["solo", "t"]);
        assert.deepEqual(await lookup(l, "solo"), { channels: ["c"], producers: [] });
        assert.deepEqual(await channels(l, "solo"), ["c"]);
      }

      // A killed nsqd (no goodbye at all) goes the same way.
      await n1.stop("SIGKILL");
      for (const l of lookupds) {
        await until(`lookupd :${l.tcpPort} dropped the killed nsqd`, async () => {
          assert.deepEqual(await lookupPorts(l, "t"), [n2.tcpPort]);
          assert.deepEqual(await nodePorts(l), [n2.tcpPort]);
        });
      }
      const consumer = await DiscoveringConsumer.discover(lookupds[0], "t", "c");
      assert.deepEqual(consumer.producers.map((p) => p.tcp_port), [n2.tcpPort]);
      await consumer.close();
    });
  },
);

// ---- tombstones ---------------------------------------------------------------------------------

runtimeTest(
  "a tombstone hides a producer from /lookup for --tombstone-lifetime, then it reappears",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [["--tombstone-lifetime=2s"], ["--tombstone-lifetime=60s"]],
      nsqds: (ls) => [joining(...ls), joining(...ls), joining(...ls)],
    }, async ({ lookupds: [short, long], nsqds }) => {
      const [n0, n1, n2] = nsqds;
      for (const n of nsqds) {
        await createTopic(n, "t");
        await createTopic(n, "u");
      }
      for (const l of [short, long]) {
        await until(`lookupd :${l.tcpPort} has t and u on all 3`, async () => {
          assert.deepEqual(await lookupPorts(l, "t"), ports(...nsqds));
          assert.deepEqual(await lookupPorts(l, "u"), ports(...nsqds));
        });
      }

      const t0 = Date.now();
      const res = await short.http(`/topic/tombstone?topic=t&node=${LOOPBACK}:${n0.httpPort}`, {
        method: "POST",
      });
      assert.deepEqual([res.status, await res.text()], [200, ""]);
      // Reads taken less than the lifetime after t0 must all see the tombstone (guarded so that an
      // overloaded machine cannot turn a late read into a false failure).
      const hidden = async () => ({
        t: await lookupPorts(short, "t"),
        node: await nodeOf(short, n0.tcpPort),
        // A consumer discovering now does not see it.
        discovered: await (async () => {
          const consumer = await DiscoveringConsumer.discover(short, "t", "c");
          await consumer.close();
          return consumer.producers.map((p) => p.tcp_port).sort((a, b) => a - b);
        })(),
      });
      const early = await hidden();
      if (Date.now() - t0 < 2000) {
        assert.deepEqual(early.t, ports(n1, n2), "tombstoned producer hidden from /lookup");
        assert.deepEqual(early.discovered, ports(n1, n2), "and from a discovering consumer");
        assert.deepEqual(
          [early.node?.topics, early.node?.tombstones],
          [["t", "u"], [true, false]],
          "still in /nodes, with tombstones[i]=true",
        );
      }
      assert.deepEqual(await lookupPorts(short, "u"), ports(...nsqds), "only for that topic");
      assert.deepEqual(await lookupPorts(long, "t"), ports(...nsqds), "lookupds do not share tombstones");

      await sleep(Math.max(0, t0 + 1000 - Date.now()));
      const later = await lookupPorts(short, "t");
      if (Date.now() - t0 < 2000) assert.deepEqual(later, ports(n1, n2), "still hidden after 1 s");

      await until("tombstone expired", async () => {
        assert.deepEqual(await lookupPorts(short, "t"), ports(...nsqds));
      });
      assert.ok(Date.now() - t0 >= 1950, `hidden for the lifetime (reappeared after ${Date.now() - t0} ms)`);
      const after = await nodeOf(short, n0.tcpPort);
      assert.deepEqual(after?.tombstones, [false, false], "an expired tombstone no longer counts in /nodes");

      // The nsqadmin workflow: tombstone, delete on the nsqd; re-creating the topic registers a new
      // producer, visible at once although the tombstone lifetime (60 s) has not passed.
      const res2 = await long.http(`/topic/tombstone?topic=u&node=${LOOPBACK}:${n1.httpPort}`, {
        method: "POST",
      });
      assert.equal(res2.status, 200);
      await res2.body?.cancel();
      assert.deepEqual(await lookupPorts(long, "u"), ports(n0, n2));
      await nsqdPost(n1, "/topic/delete?topic=u");
      await until("u unregistered by n1", async () => {
        assert.deepEqual((await nodeOf(long, n1.tcpPort))?.topics, ["t"]);
      });
      await createTopic(n1, "u");
      await until("u re-registered by n1, without the tombstone", async () => {
        assert.deepEqual(await lookupPorts(long, "u"), ports(...nsqds));
      });
      assert.deepEqual((await nodeOf(long, n1.tcpPort))?.tombstones, [false, false]);
    });
  },
);

// ---- lookupd restart ----------------------------------------------------------------------------

runtimeTest(
  "a restarted lookupd gets every topic and channel re-registered by each nsqd",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [[]],
      nsqds: (ls) => [joining(...ls), joining(...ls)],
    }, async (c) => {
      const [old] = c.lookupds;
      const [a, b] = c.nsqds;
      await createTopic(a, "t1");
      await createChannel(a, "t1", "c");
      await createTopic(a, "t2");
      await createTopic(b, "tb");
      await until("registered on the first lookupd", async () => {
        assert.deepEqual((await nodeOf(old, a.tcpPort))?.topics, ["t1", "t2"]);
        assert.deepEqual((await nodeOf(old, b.tcpPort))?.topics, ["tb"]);
        assert.deepEqual(await channels(old, "t1"), ["c"]);
      });

      assert.equal(await old.stop(), 0);
      const fresh = await startNsqlookupdOn(rt, old.tcpPort, [`--broadcast-address=${LOOPBACK}`]);
      c.extra.push(fresh);
      assert.equal(fresh.tcpPort, old.tcpPort);

      // nsqd's next command to the lookupd (REGISTER t3) reconnects: IDENTIFY + REGISTER of everything.
      // (Go nsqd may only notice the dead connection on that command and reconnect on the next
      // one — the 15 s PING — hence the longer deadline.)
      await createTopic(a, "t3");
      await until("a re-registered everything", async () => {
        assert.deepEqual(await lookupPorts(fresh, "t1"), [a.tcpPort]);
        assert.deepEqual(await lookupPorts(fresh, "t2"), [a.tcpPort]);
        assert.deepEqual(await lookupPorts(fresh, "t3"), [a.tcpPort]);
        assert.deepEqual(await channels(fresh, "t1"), ["c"]);
        assert.deepEqual(await debugPorts(fresh, "channel:t1:c"), [a.tcpPort]);
        const node = await nodeOf(fresh, a.tcpPort);
        assert.deepEqual([node?.topics, node?.tombstones], [["t1", "t2", "t3"], [false, false, false]]);
        assert.equal(node?.http_port, a.httpPort);
      }, 20_000);

      // b has nothing to say: its 15 s PING reconnects and re-registers (§5.5).
      await until("b re-registered after its PING", async () => {
        assert.deepEqual(await lookupPorts(fresh, "tb"), [b.tcpPort]);
        assert.deepEqual((await nodeOf(fresh, b.tcpPort))?.topics, ["tb"]);
      }, 35_000);
      assert.deepEqual(await nodePorts(fresh), ports(a, b));
      assert.deepEqual(await topics(fresh), ["t1", "t2", "t3", "tb"]);
    });
  },
  90_000,
);

// ---- channel pre-creation -----------------------------------------------------------------------

runtimeTest(
  "a topic's first PUB on another nsqd finds the cluster's channels pre-created, but not ephemeral ones",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [[]],
      nsqds: (ls) => [joining(...ls), joining(...ls)],
    }, async ({ lookupds: [l], nsqds: [a, b] }) => {
      await createTopic(a, "t");
      await createChannel(a, "t", "c");
      const eph = await a.connectV2();
      await eph.sub("t", "e#ephemeral");
      await until("lookupd knows t's channels, and b is connected", async () => {
        assert.deepEqual(await channels(l, "t"), ["c", "e#ephemeral"]);
        assert.deepEqual(await nodePorts(l), ports(a, b));
      });

      const pub = await b.connectV2();
      await pub.pub("t", "first");
      await until("b's t has channel c holding the first message", async () => {
        const t = await topicStats(b, "t");
        assert.deepEqual(
          t.channels.map((ch: StatsJson) => [ch.channel_name, ch.depth]),
          [["c", 1]],
          "channel c pre-created, e#ephemeral not",
        );
        assert.equal(t.depth, 0, "the message went from the topic to the channel");
      });
      // b registered the pre-created channel in turn.
      await until("b registered t/c", async () => {
        assert.deepEqual(await debugPorts(l, "channel:t:c"), ports(a, b));
      });

      const sub = await b.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(1);
      const m = await sub.readMessage();
      assert.equal(m.text, "first");
      await sub.fin(m.id);
      // The ephemeral channel never saw it.
      const late = await b.connectV2();
      await late.sub("t", "e#ephemeral");
      await late.rdy(1);
      await late.expectNothing(500);
      for (const conn of [eph, pub, sub, late]) conn.close();
    });
  },
);

runtimeTest(
  "channel pre-creation asks every connected lookupd and creates the union of their channels",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [[], []],
      nsqds: ([l1, l2]) => [joining(l1), joining(l2), joining(l1, l2)],
    }, async ({ lookupds: [l1, l2], nsqds: [a, c, b] }) => {
      await createTopic(a, "t");
      await createChannel(a, "t", "c1");
      await createTopic(c, "t");
      await createChannel(c, "t", "c2");
      await until("each lookupd knows its own channel and b", async () => {
        assert.deepEqual(await channels(l1, "t"), ["c1"]);
        assert.deepEqual(await channels(l2, "t"), ["c2"]);
        assert.deepEqual(await nodePorts(l1), ports(a, b));
        assert.deepEqual(await nodePorts(l2), ports(c, b));
      });
      await publish(b, "t", "first");
      await until("b pre-created c1 and c2, each with the message", async () => {
        const t = await topicStats(b, "t");
        assert.deepEqual(
          t.channels.map((ch: StatsJson) => [ch.channel_name, ch.depth]).sort(),
          [["c1", 1], ["c2", 1]],
        );
      });
      await until("b registered both channels on both lookupds", async () => {
        for (const l of [l1, l2]) assert.deepEqual(await channels(l, "t"), ["c1", "c2"]);
      });
    });
  },
);

runtimeTest(
  "a topic created while no lookupd is reachable starts at once, without pre-created channels",
  async (rt) => {
    const probe = Deno.listen({ hostname: LOOPBACK, port: 0 });
    const deadPort = (probe.addr as Deno.NetAddr).port;
    probe.close();
    await withCluster(rt, {
      lookupds: [],
      nsqds: () => [[`--lookupd-tcp-address=${LOOPBACK}:${deadPort}`]],
    }, async ({ nsqds: [n] }) => {
      await publish(n, "t", "alone");
      await n.proc.waitForLine(
        /ERROR: no available nsqlookupd to query for channels to pre-create for topic t$/,
        REGISTRATION_MS,
      );
      const sub = await n.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(1);
      assert.equal((await sub.readMessage()).text, "alone");
      sub.close();
    });
  },
);

runtimeTest(
  "channel pre-creation queries the lookupd at the broadcast address it advertised",
  async (rt) => {
    // The lookupd listens on 127.0.0.1 but advertises 127.0.0.2, where nothing listens.
    await withCluster(rt, {
      lookupds: [["--broadcast-address=127.0.0.2"]],
      nsqds: (ls) => [joining(...ls), joining(...ls)],
    }, async ({ lookupds: [l], nsqds: [a, b] }) => {
      await createTopic(a, "t");
      await createChannel(a, "t", "c");
      await until("lookupd knows t/c and b", async () => {
        assert.deepEqual(await channels(l, "t"), ["c"]);
        assert.deepEqual(await nodePorts(l), ports(a, b));
      });
      await publish(b, "t", "first");
      await b.proc.waitForLine(
        /WARNING: failed to query nsqlookupd for channels to pre-create for topic t - /,
        REGISTRATION_MS,
      );
      await until("b's t started without channels, keeping the message", async () => {
        const t = await topicStats(b, "t");
        assert.deepEqual([t.channels, t.depth], [[], 1]);
      });
    });
  },
);

runtimeTest(
  "an unreachable lookupd does not stop registration with, or pre-creation from, the others",
  async (rt) => {
    const probe = Deno.listen({ hostname: LOOPBACK, port: 0 });
    const deadPort = (probe.addr as Deno.NetAddr).port;
    probe.close();
    await withCluster(rt, {
      lookupds: [[]],
      nsqds: (ls) => [
        joining(...ls),
        [`--lookupd-tcp-address=${LOOPBACK}:${deadPort}`, ...joining(...ls)],
      ],
    }, async ({ lookupds: [l], nsqds: [a, b] }) => {
      await createTopic(a, "t");
      await createChannel(a, "t", "c");
      await until("lookupd knows t/c, and b", async () => {
        assert.deepEqual(await channels(l, "t"), ["c"]);
        assert.deepEqual(await nodePorts(l), ports(a, b));
      });
      await publish(b, "t", "first");
      await until("b pre-created c from the live lookupd", async () => {
        const t = await topicStats(b, "t");
        assert.deepEqual(t.channels.map((ch: StatsJson) => [ch.channel_name, ch.depth]), [["c", 1]]);
      });
      await until("b registered t/c", async () => {
        assert.deepEqual(await lookupPorts(l, "t"), ports(a, b));
        assert.deepEqual(await debugPorts(l, "channel:t:c"), ports(a, b));
      });
    });
  },
);

// ---- nsqd restart -------------------------------------------------------------------------------

runtimeTest(
  "a restarted nsqd re-registers the topics and channels it loaded from nsqd.dat, with its new ports",
  async (rt) => {
    const dataPath = await Deno.makeTempDir({ prefix: "nsqd-cluster-" });
    try {
      await withCluster(rt, {
        lookupds: [[]],
        nsqds: (ls) => [[...joining(...ls), `--data-path=${dataPath}`]],
      }, async (c) => {
        const [l] = c.lookupds;
        const [first] = c.nsqds;
        await createTopic(first, "t");
        await createChannel(first, "t", "c");
        await createTopic(first, "bare");
        await until("registered", async () => {
          assert.deepEqual((await nodeOf(l, first.tcpPort))?.topics, ["bare", "t"]);
          assert.deepEqual(await debugPorts(l, "channel:t:c"), [first.tcpPort]);
        });
        assert.equal(await first.stop(), 0);
        await until("gone", async () => {
          assert.deepEqual(await nodePorts(l), []);
        });

        const second = await startNsqd(rt, [
          `--broadcast-address=${LOOPBACK}`,
          ...joining(l),
          `--data-path=${dataPath}`,
        ]);
        c.nsqds.push(second);
        await until("the restarted nsqd registered what it loaded", async () => {
          const node = await nodeOf(l, second.tcpPort);
          assert.deepEqual([node?.topics, node?.http_port], [["bare", "t"], second.httpPort]);
          assert.deepEqual(await lookupPorts(l, "t"), [second.tcpPort]);
          assert.deepEqual(await debugPorts(l, "channel:t:c"), [second.tcpPort]);
        });
        assert.deepEqual(await nodePorts(l), [second.tcpPort]);
      });
    } finally {
      await Deno.remove(dataPath, { recursive: true }).catch(() => {});
    }
  },
);

// ---- PUT /config/nsqlookupd_tcp_addresses -------------------------------------------------------

runtimeTest(
  "PUT /config/nsqlookupd_tcp_addresses adds and removes lookupd peers of a running nsqd",
  async (rt) => {
    await withCluster(rt, {
      lookupds: [[], []],
      nsqds: ([l1]) => [joining(l1)],
    }, async ({ lookupds: [l1, l2], nsqds: [n] }) => {
      const addr1 = `${LOOPBACK}:${l1.tcpPort}`;
      const addr2 = `${LOOPBACK}:${l2.tcpPort}`;
      const putConfig = async (list: string[]) => {
        const res = await n.http("/config/nsqlookupd_tcp_addresses", {
          method: "PUT",
          body: JSON.stringify(list),
        });
        assert.deepEqual([res.status, await res.text()], [200, JSON.stringify(list)], "PUT echoes the list");
        const got = await n.http("/config/nsqlookupd_tcp_addresses");
        assert.deepEqual(await got.json(), list, "GET returns the new list");
      };
      await createTopic(n, "t");
      await createChannel(n, "t", "c");
      await until("registered on l1", async () => {
        assert.deepEqual((await nodeOf(l1, n.tcpPort))?.topics, ["t"]);
        assert.deepEqual(await debugPorts(l1, "channel:t:c"), [n.tcpPort]);
      });
      assert.deepEqual(await nodePorts(l2), [], "not on l2");
      const remote1 = (await nodeOf(l1, n.tcpPort))!.remote_address;

      await putConfig([addr1, addr2]);
      await until("the nsqd joined l2 and registered everything", async () => {
        assert.deepEqual((await nodeOf(l2, n.tcpPort))?.topics, ["t"]);
        assert.deepEqual(await debugPorts(l2, "channel:t:c"), [n.tcpPort]);
      });
      assert.equal((await nodeOf(l1, n.tcpPort))?.remote_address, remote1, "l1's connection kept");

      await putConfig([addr1]);
      await until("the nsqd left l2", async () => {
        assert.deepEqual(await nodePorts(l2), []);
      });
      assert.equal((await nodeOf(l1, n.tcpPort))?.remote_address, remote1, "l1's connection kept");
      assert.deepEqual(await lookup(l2, "t"), { channels: ["c"], producers: [] }, "l2 keeps the keys");

      await putConfig([]);
      await until("the nsqd left l1", async () => {
        assert.deepEqual(await nodePorts(l1), []);
      });
      // With no lookupd, nothing is registered anywhere.
      await createTopic(n, "lonely");
      await sleep(500);
      assert.deepEqual(await topics(l1), ["t"]);
      assert.deepEqual(await topics(l2), ["t"]);

      await putConfig([addr2]);
      await until("the nsqd is back on l2 with every topic", async () => {
        assert.deepEqual((await nodeOf(l2, n.tcpPort))?.topics, ["lonely", "t"]);
      });
      assert.deepEqual(await nodePorts(l1), [], "still not on l1");
      await putConfig([]);
      await until("the nsqd left l2 again", async () => {
        assert.deepEqual(await nodePorts(l2), []);
      });
    });
  },
);

// ---- mixed runtimes -----------------------------------------------------------------------------

Deno.test({
  name: "[deno+bun] a mixed cluster: nsqds on Deno and Bun register with nsqlookupds on Bun and Deno",
  ignore: !(RUNTIMES.includes("deno") && RUNTIMES.includes("bun")),
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withTimeout(
      withCluster("deno", {
        lookupds: [[], []],
        lookupdRuntimes: ["bun", "deno"],
        nsqds: (ls) => [joining(...ls), joining(...ls)],
        nsqdRuntimes: ["deno", "bun"],
      }, async ({ lookupds, nsqds: [nDeno, nBun] }) => {
        const [lBun, lDeno] = lookupds;
        await createTopic(nDeno, "t");
        await createChannel(nDeno, "t", "c");
        for (const l of lookupds) {
          await until(`lookupd :${l.tcpPort} has both nsqds and t/c`, async () => {
            assert.deepEqual(await nodePorts(l), ports(nDeno, nBun));
            assert.deepEqual(await channels(l, "t"), ["c"]);
            assert.deepEqual(await lookupPorts(l, "t"), [nDeno.tcpPort]);
          });
        }
        // Bun nsqd pre-creates the channel from the lookupds (one on each runtime).
        await publish(nBun, "t", "from-bun");
        await publish(nDeno, "t", "from-deno");
        await until("nsqd on Bun pre-created c", async () => {
          const t = await topicStats(nBun, "t");
          assert.deepEqual(t.channels.map((ch: StatsJson) => [ch.channel_name, ch.depth]), [["c", 1]]);
        });
        for (const l of lookupds) {
          await until(`lookupd :${l.tcpPort} lists both producers of t`, async () => {
            assert.deepEqual(await lookupPorts(l, "t"), ports(nDeno, nBun));
            assert.deepEqual(await debugPorts(l, "channel:t:c"), ports(nDeno, nBun));
          });
        }
        const consumer = await DiscoveringConsumer.discover(lBun, "t", "c");
        try {
          await consumer.waitFor(2);
          assert.deepEqual(consumer.byPort(), {
            [nDeno.tcpPort]: ["from-deno"],
            [nBun.tcpPort]: ["from-bun"],
          });
        } finally {
          await consumer.close();
        }
        await nsqdPost(nBun, "/topic/delete?topic=t");
        for (const l of [lDeno, lBun]) {
          await until(`lookupd :${l.tcpPort} dropped the Bun nsqd from t`, async () => {
            assert.deepEqual(await lookupPorts(l, "t"), [nDeno.tcpPort]);
          });
        }
        await nDeno.stop();
        for (const l of lookupds) {
          await until(`lookupd :${l.tcpPort} dropped the stopped Deno nsqd`, async () => {
            assert.deepEqual(await nodePorts(l), [nBun.tcpPort]);
          });
        }
      }),
      60_000,
      "mixed cluster",
    ),
});
