/**
 * Black-box durability tests of the disk queues (shared/nsq-reference.md §3.2, §3.3, §3.7, §3.8, §3.15):
 * overflow past --mem-queue-size, clean restarts, crashes, go-diskqueue v1.1.0 file formats (checked with an
 * independent reader/writer written here from the spec, not the project's code), hand-made fixtures as
 * upstream nsqd leaves them, corruption, health, empty/delete and ephemeral queues.
 */
import assert from "node:assert/strict";
import {
  encodeMpub,
  eventually,
  FRAME_ERROR,
  type NsqConn,
  type NsqdProcess,
  type NsqMessage,
  runtimeTest,
  startNsqd,
  type StatsJson,
} from "./harness.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

// ---- go-diskqueue v1.1.0 format, written from the spec (§1.4, §3.7) ------------------------------------

/** One message as it sits in a diskqueue record. */
interface DiskMessage {
  ts: bigint;
  attempts: number;
  id: string;
  body: Uint8Array;
}

interface DiskRecord extends DiskMessage {
  /** Where the record's 4-byte length starts in its file. */
  offset: number;
  /** The length field (message bytes, without the 4-byte length itself). */
  length: number;
  text: string;
}

interface QueueMeta {
  depth: number;
  readFileNum: number;
  readPos: number;
  writeFileNum: number;
  writePos: number;
}

/** `[8-byte BE ns timestamp][2-byte BE attempts][16-byte ASCII id][body]`. */
function encodeDiskMessage(m: DiskMessage): Uint8Array {
  const id = enc.encode(m.id);
  assert.equal(id.length, 16);
  const out = new Uint8Array(26 + m.body.length);
  const v = new DataView(out.buffer);
  v.setBigInt64(0, m.ts);
  v.setUint16(8, m.attempts);
  out.set(id, 10);
  out.set(m.body, 26);
  return out;
}

/** A whole record: `[4-byte BE int32 length][message]`. */
function encodeRecord(m: DiskMessage): Uint8Array {
  const msg = encodeDiskMessage(m);
  const out = new Uint8Array(4 + msg.length);
  new DataView(out.buffer).setInt32(0, msg.length);
  out.set(msg, 4);
  return out;
}

function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Decodes the records in [from, to) of a data file; every record must be whole and valid. */
function decodeRecords(bytes: Uint8Array, from = 0, to = bytes.length, maxMsgSize = 1048576): DiskRecord[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: DiskRecord[] = [];
  let pos = from;
  while (pos < to) {
    assert.ok(pos + 4 <= to, `truncated length field at ${pos} (end ${to})`);
    const length = v.getInt32(pos);
    assert.ok(length >= 26 && length <= maxMsgSize + 26, `invalid record length ${length} at ${pos}`);
    assert.ok(pos + 4 + length <= to, `record at ${pos} of length ${length} runs past ${to}`);
    const m = pos + 4;
    const body = bytes.slice(m + 26, m + length);
    out.push({
      offset: pos,
      length,
      ts: v.getBigInt64(m),
      attempts: v.getUint16(m + 8),
      id: dec.decode(bytes.subarray(m + 10, m + 26)),
      body,
      text: dec.decode(body),
    });
    pos += 4 + length;
  }
  return out;
}

function parseMeta(text: string): QueueMeta {
  const m = /^(-?\d+)\n(\d+),(\d+)\n(\d+),(\d+)\n$/.exec(text);
  assert.ok(m, `metadata is not "%d\\n%d,%d\\n%d,%d\\n": ${JSON.stringify(text)}`);
  const [depth, readFileNum, readPos, writeFileNum, writePos] = m.slice(1).map(Number);
  return { depth, readFileNum, readPos, writeFileNum, writePos };
}

function dataFile(dir: string, name: string, n: number): string {
  return `${dir}/${name}.diskqueue.${String(n).padStart(6, "0")}.dat`;
}

function metaFile(dir: string, name: string): string {
  return `${dir}/${name}.diskqueue.meta.dat`;
}

/**
 * Reads a queue the way go-diskqueue would: from (readFileNum, readPos) to (writeFileNum, writePos), files
 * before the write file to their end.
 */
async function readQueue(dir: string, name: string): Promise<{ meta: QueueMeta; records: DiskRecord[] }> {
  const meta = parseMeta(await Deno.readTextFile(metaFile(dir, name)));
  const records: DiskRecord[] = [];
  for (let n = meta.readFileNum; n <= meta.writeFileNum; n++) {
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(dataFile(dir, name, n));
    } catch (err) {
      if (n === meta.writeFileNum && meta.writePos === 0 && err instanceof Deno.errors.NotFound) break;
      throw err;
    }
    const from = n === meta.readFileNum ? meta.readPos : 0;
    const to = n === meta.writeFileNum ? meta.writePos : bytes.length;
    records.push(...decodeRecords(bytes, from, to));
  }
  return { meta, records };
}

// ---- helpers -----------------------------------------------------------------------------------------

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "nsqd-dq-" });
}

async function post(url: string, body?: string): Promise<void> {
  const res = await fetch(url, { method: "POST", body });
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${text}`);
}

async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

/** The data and metadata files of queue `name` (`<name>.diskqueue.*`). */
async function queueFiles(dir: string, name: string): Promise<string[]> {
  return (await files(dir)).filter((f) => f.startsWith(`${name}.diskqueue.`));
}

/** The numbered data files of queue `name` (not `.bad`, not metadata). */
async function dataFileNums(dir: string, name: string): Promise<number[]> {
  const re = new RegExp(`^${name.replace(/[.#]/g, "\\$&")}\\.diskqueue\\.(\\d{6})\\.dat$`);
  return (await files(dir)).map((f) => re.exec(f)).filter((m) => m !== null).map((m) => Number(m![1]));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

function topicOf(s: StatsJson, topic: string): StatsJson | undefined {
  return s.topics.find((t: StatsJson) => t.topic_name === topic);
}

function channelOf(s: StatsJson, topic: string, channel: string): StatsJson | undefined {
  return topicOf(s, topic)?.channels.find((c: StatsJson) => c.channel_name === channel);
}

async function channelStats(n: NsqdProcess, topic: string, channel: string): Promise<StatsJson> {
  const c = channelOf(await n.stats(), topic, channel);
  assert.ok(c, `channel ${topic}/${channel} not in /stats`);
  return c;
}

async function topicStats(n: NsqdProcess, topic: string): Promise<StatsJson> {
  const t = topicOf(await n.stats(), topic);
  assert.ok(t, `topic ${topic} not in /stats`);
  return t;
}

/** Waits until the channel's stats satisfy `pred`; the error shows the last stats seen. */
async function waitChannel(
  n: NsqdProcess,
  topic: string,
  channel: string,
  pred: (c: StatsJson) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<StatsJson> {
  let last: StatsJson;
  try {
    return await eventually(
      async () => {
        last = await channelStats(n, topic, channel);
        return pred(last) ? last : null;
      },
      timeoutMs,
      what,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last channel stats: ${JSON.stringify(last, omitClients)}`);
  }
}

async function waitTopic(
  n: NsqdProcess,
  topic: string,
  pred: (t: StatsJson) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<StatsJson> {
  let last: StatsJson;
  try {
    return await eventually(
      async () => {
        last = await topicStats(n, topic);
        return pred(last) ? last : null;
      },
      timeoutMs,
      what,
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}; last topic stats: ${JSON.stringify(last, omitClients)}`);
  }
}

function omitClients(k: string, v: unknown): unknown {
  return k === "clients" ? undefined : v;
}

function sumFinished(c: StatsJson): number {
  return (c.clients ?? []).reduce((n: number, cl: StatsJson) => n + cl.finish_count, 0);
}

async function finAll(conn: NsqConn, ids: string[]): Promise<void> {
  if (ids.length > 0) await conn.write(ids.map((id) => `FIN ${id}\n`).join(""));
}

/**
 * Reads `n` messages and FINs them (FINs are batched, and sent before blocking on a read so the
 * consumer's RDY window never stalls).
 */
async function drain(conn: NsqConn, n: number, timeoutMs = 60_000): Promise<NsqMessage[]> {
  const out: NsqMessage[] = [];
  let pending: string[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < n) {
    if (pending.length > 0 && (conn.buffered < 8 || pending.length >= 500)) {
      await finAll(conn, pending);
      pending = [];
    }
    const left = deadline - Date.now();
    if (left <= 0) throw new Error(`timed out draining: got ${out.length} of ${n} messages`);
    let m: NsqMessage;
    try {
      m = await conn.readMessage(left);
    } catch (err) {
      throw new Error(`draining: got ${out.length} of ${n} messages: ${(err as Error).message}`);
    }
    out.push(m);
    pending.push(m.id);
  }
  await finAll(conn, pending);
  return out;
}

/** Reads `n` messages without FINning them. */
async function readN(conn: NsqConn, n: number, timeoutMs = 10_000): Promise<NsqMessage[]> {
  const out: NsqMessage[] = [];
  for (let i = 0; i < n; i++) out.push(await conn.readMessage(timeoutMs));
  return out;
}

function counts(texts: string[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of texts) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/** Asserts `got` is exactly the multiset `want`, naming what is missing and what is extra. */
function assertSameMultiset(got: string[], want: string[], what: string): void {
  const g = counts(got);
  const w = counts(want);
  const missing: string[] = [];
  const extra: string[] = [];
  for (const [k, n] of w) if ((g.get(k) ?? 0) < n) missing.push(`${k}×${n - (g.get(k) ?? 0)}`);
  for (const [k, n] of g) if (n > (w.get(k) ?? 0)) extra.push(`${k}×${n - (w.get(k) ?? 0)}`);
  assert.ok(
    missing.length === 0 && extra.length === 0,
    `${what}: got ${got.length}, want ${want.length}; missing ${missing.length} [${
      missing.slice(0, 20).join(", ")
    }], extra ${extra.length} [${extra.slice(0, 20).join(", ")}]`,
  );
}

async function mpubAll(conn: NsqConn, topic: string, bodies: string[], batch = 200): Promise<void> {
  for (let i = 0; i < bodies.length; i += batch) await conn.mpub(topic, bodies.slice(i, i + batch));
}

function bodies(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${prefix}-${String(i).padStart(6, "0")}`);
}

/** Removes the data dir whatever state the test left it in. */
async function cleanup(dir: string, ...procs: (NsqdProcess | undefined)[]): Promise<void> {
  for (const p of procs) if (p) await p.stop("SIGKILL").catch(() => {});
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}

const NSQD_DAT_TC =
  '{"topics":[{"channels":[{"name":"c","paused":false}],"name":"t","paused":false}],"version":"1.3.0"}';

function fixtureMessages(n: number, first = 0): DiskMessage[] {
  return Array.from({ length: n }, (_, k) => {
    const i = first + k;
    return {
      ts: 1700000000000000000n + BigInt(i) * 1_000_123n,
      attempts: [0, 3, 1, 7, 0, 2][i % 6],
      id: `0a1b2c3d4e5f${String(i).padStart(4, "0")}`,
      body: enc.encode(`fixture body ${i} ` + "x".repeat(i * 7)),
    };
  });
}

/**
 * Checks a delivered message against the one written on disk: same ID and body, attempts + 1 (§1.4). The
 * timestamp must be the 8 bytes as written too; a mismatch is collected in `tsMismatches` (checked at the end
 * of each test with `assertTimestampsKept`) so the test still goes on to check everything else.
 */
function assertDelivered(got: NsqMessage, want: DiskMessage, tsMismatches: string[]): void {
  assert.deepEqual(
    { id: got.id, attempts: got.attempts, body: got.text },
    { id: want.id, attempts: want.attempts + 1, body: dec.decode(want.body) },
    "a message is delivered with the ID it has on disk and its attempts + 1 (§1.4)",
  );
  if (got.timestamp !== want.ts) {
    tsMismatches.push(`${got.id}: written ${want.ts}, delivered ${got.timestamp}`);
  }
}

function assertTimestampsKept(tsMismatches: string[]): void {
  assert.deepEqual(
    tsMismatches,
    [],
    "the 8-byte nanosecond timestamps written on disk are delivered unchanged (§1.4, §3.7)",
  );
}

// ---- restart cycles -----------------------------------------------------------------------------------

runtimeTest(
  "a clean restart redelivers every overflowed, in-flight and deferred message exactly once, keeping attempts and IDs and dropping deferral",
  async (rt) => {
    const dir = await tempDir();
    const args = [`--data-path=${dir}`, "--mem-queue-size=1000"];
    let a: NsqdProcess | undefined;
    let b: NsqdProcess | undefined;
    try {
      a = await startNsqd(rt, args);
      await post(`${a.httpUrl}/topic/create?topic=t`);
      await post(`${a.httpUrl}/channel/create?topic=t&channel=c`);
      const published = bodies("m", 30_000);
      const deferredBodies = bodies("d", 5);
      const pub = await a.connectV2();
      await mpubAll(pub, "t", published);
      for (const d of deferredBodies) await pub.dpub("t", 600_000, d);

      const sub = await a.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(50);
      const first = await readN(sub, 50);
      assert.ok(first.every((m) => m.attempts === 1), "first deliveries carry attempts 1");
      // 10 of them REQ'd for 10 minutes (deferred), which frees 10 RDY slots for 10 more in-flight ones
      const requeued = first.slice(0, 10);
      for (const m of requeued) await sub.req(m.id, 600_000);
      const more = await readN(sub, 10);
      const delivered = [...first, ...more];
      const deliveredById = new Map(delivered.map((m) => [m.id, m]));
      assert.equal(deliveredById.size, 60);

      // on another topic, one message REQ'd twice with 0 (attempts 1, 2, 3) and then deferred for 10 minutes
      const pubR = await a.connectV2();
      await pubR.pub("r", "requeued thrice");
      const subR = await a.connectV2();
      await subR.sub("r", "c");
      await subR.rdy(1);
      let r = await subR.readMessage();
      for (const attempts of [1, 2]) {
        assert.equal(r.attempts, attempts);
        await subR.req(r.id, 0);
        r = await subR.readMessage();
      }
      assert.equal(r.attempts, 3);
      await subR.req(r.id, 600_000);
      await waitChannel(
        a,
        "r",
        "c",
        (c) => c.deferred_count === 1 && c.in_flight_count === 0,
        "r/c deferred",
      );

      const before = await waitChannel(
        a,
        "t",
        "c",
        (c) => c.in_flight_count === 50 && c.deferred_count === 15 && c.depth === 30_000 - 60,
        "50 in flight, 15 deferred, the rest queued",
      );
      assert.ok(before.backend_depth > 0, `messages past --mem-queue-size overflow to disk (§3.2)`);
      await waitTopic(a, "t", (t) => t.depth === 0, "topic pumped to its channel");
      assert.ok((await dataFileNums(dir, "t:c")).length > 0, "the channel has diskqueue data files");

      assert.equal(await a.stop(), 0, "SIGTERM exits 0");
      a = undefined;
      for (const c of [pub, sub, pubR, subR]) c.close();

      // on disk, as an upstream nsqd would read it: the whole channel, in-flight and deferred ones included,
      // with the attempts they had (§3.8)
      const onDisk = await readQueue(dir, "t:c");
      assert.equal(onDisk.meta.depth, 30_005, "t:c metadata depth");
      assertSameMultiset(
        onDisk.records.map((rec) => rec.text),
        [...published, ...deferredBodies],
        "t:c records on disk after a clean stop",
      );
      for (const rec of onDisk.records) {
        assert.equal(rec.attempts, deliveredById.has(rec.id) ? 1 : 0, `attempts on disk of ${rec.text}`);
      }
      const rOnDisk = await readQueue(dir, "r:c");
      assert.deepEqual(
        rOnDisk.records.map((rec) => [rec.id, rec.attempts, rec.text]),
        [[r.id, 3, "requeued thrice"]],
        "the deferred message is on disk with its 3 attempts",
      );
      assert.equal((await readQueue(dir, "t")).meta.depth, 0, "the topic itself holds nothing");

      b = await startNsqd(rt, args);
      const subR2 = await b.connectV2();
      await subR2.sub("r", "c");
      await subR2.rdy(1);
      const r2 = await subR2.readMessage();
      assert.deepEqual(
        [r2.id, r2.attempts, r2.text],
        [r.id, 4, "requeued thrice"],
        "a REQ'd message keeps its count and is delivered at once after the restart",
      );
      await finAll(subR2, [r2.id]);
      subR2.close();
      const after = await channelStats(b, "t", "c");
      assert.deepEqual(
        { depth: after.depth, in_flight: after.in_flight_count, deferred: after.deferred_count },
        { depth: 30_005, in_flight: 0, deferred: 0 },
        "after a restart in-flight and deferred messages are queued again, not deferred (§3.8)",
      );
      const sub2 = await b.connectV2();
      await sub2.sub("t", "c");
      await sub2.rdy(2500);
      const got = await drain(sub2, 30_005, 90_000);
      await sub2.expectNothing(500);

      assertSameMultiset(got.map((m) => m.text), [...published, ...deferredBodies], "bodies after restart");
      for (const m of got) {
        const prev = deliveredById.get(m.id);
        if (prev) {
          assert.equal(m.text, prev.text, `message ${m.id} keeps its body`);
          assert.equal(m.timestamp, prev.timestamp, `message ${m.id} keeps its timestamp`);
          assert.equal(m.attempts, 2, `previously delivered ${m.text} comes back with attempts 1 + 1`);
        } else {
          assert.equal(m.attempts, 1, `never-delivered ${m.text} is delivered with attempts 1`);
        }
      }
      const redeliveredIds = new Set(got.filter((m) => deliveredById.has(m.id)).map((m) => m.id));
      assert.equal(redeliveredIds.size, 60, "the 50 in-flight and 10 REQ'd messages keep their IDs");

      await waitChannel(
        b,
        "t",
        "c",
        (c) => c.depth === 0 && c.in_flight_count === 0 && c.deferred_count === 0 && c.backend_depth === 0,
        "channel drained",
      );
      sub2.close();
      assert.equal(await b.stop(), 0);
      b = undefined;
    } finally {
      await cleanup(dir, a, b);
    }
  },
  180_000,
);

runtimeTest(
  "over several restart cycles that each publish and consume part, every published message is finished exactly once",
  async (rt) => {
    const dir = await tempDir();
    const args = [`--data-path=${dir}`, "--mem-queue-size=100", "--max-bytes-per-file=16384"];
    const published: string[] = [];
    const finished: string[] = [];
    const cycles = 4;
    let n: NsqdProcess | undefined;
    try {
      for (let cycle = 0; cycle < cycles; cycle++) {
        n = await startNsqd(rt, args);
        const last = cycle === cycles - 1;
        if (cycle === 0) {
          await post(`${n.httpUrl}/topic/create?topic=t`);
          await post(`${n.httpUrl}/channel/create?topic=t&channel=c`);
        } else {
          const c = await channelStats(n, "t", "c");
          assert.deepEqual(
            { cycle, depth: c.depth, in_flight: c.in_flight_count, deferred: c.deferred_count },
            { cycle, depth: published.length - finished.length, in_flight: 0, deferred: 0 },
            "everything not finished before the restart is queued after it",
          );
        }
        if (!last) {
          const fresh = bodies(`c${cycle}`, 2000);
          const pub = await n.connectV2();
          await mpubAll(pub, "t", fresh);
          pub.close();
          published.push(...fresh);
        }
        const sub = await n.connectV2();
        await sub.sub("t", "c");
        await sub.rdy(100);
        if (!last) {
          const got = await drain(sub, 1500);
          finished.push(...got.map((m) => m.text));
          // the FINs are processed and a full RDY window (100) is in flight when nsqd stops
          await waitChannel(
            n,
            "t",
            "c",
            (c) => sumFinished(c) === 1500 && c.in_flight_count === 100,
            `cycle ${cycle}: 1500 finished, 100 in flight`,
          );
        } else {
          const want = published.length - finished.length;
          const got = await drain(sub, want);
          finished.push(...got.map((m) => m.text));
          await sub.expectNothing(500);
          await waitChannel(
            n,
            "t",
            "c",
            (c) => sumFinished(c) === want && c.in_flight_count === 0 && c.depth === 0,
            "all finished",
          );
        }
        assert.equal(await n.stop(), 0, `cycle ${cycle}: SIGTERM exits 0`);
        n = undefined;
        sub.close();
      }
      assertSameMultiset(finished, published, "finished over all cycles");

      const { meta, records } = await readQueue(dir, "t:c");
      assert.equal(meta.depth, 0, "the channel queue's metadata says it is empty");
      assert.equal(records.length, 0);
      const nums = await dataFileNums(dir, "t:c");
      assert.ok(
        nums.every((k) => k >= meta.readFileNum && k <= meta.writeFileNum),
        `fully read data files are deleted (files ${nums}, meta ${JSON.stringify(meta)}) (§3.7)`,
      );
    } finally {
      await cleanup(dir, n);
    }
  },
  180_000,
);

runtimeTest(
  "a paused topic and a paused channel keep their backlog across a restart and deliver it only once unpaused",
  async (rt) => {
    const dir = await tempDir();
    const args = [`--data-path=${dir}`, "--mem-queue-size=100"];
    let n: NsqdProcess | undefined;
    try {
      n = await startNsqd(rt, args);
      await post(`${n.httpUrl}/topic/create?topic=pt`);
      await post(`${n.httpUrl}/channel/create?topic=pt&channel=c`);
      await post(`${n.httpUrl}/topic/create?topic=pc`);
      await post(`${n.httpUrl}/channel/create?topic=pc&channel=c`);
      await post(`${n.httpUrl}/topic/pause?topic=pt`);
      await post(`${n.httpUrl}/channel/pause?topic=pc&channel=c`);
      const pub = await n.connectV2();
      const ptBodies = bodies("pt", 500);
      const pcBodies = bodies("pc", 500);
      await mpubAll(pub, "pt", ptBodies);
      await mpubAll(pub, "pc", pcBodies);
      await waitTopic(n, "pt", (t) => t.depth === 500 && t.backend_depth >= 400, "paused topic holds 500");
      await waitChannel(
        n,
        "pc",
        "c",
        (c) => c.depth === 500 && c.backend_depth >= 400,
        "paused channel holds 500",
      );
      pub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;

      n = await startNsqd(rt, args);
      const pt = await topicStats(n, "pt");
      const pc = await channelStats(n, "pc", "c");
      assert.deepEqual([pt.paused, pt.depth], [true, 500], "topic still paused with its 500");
      assert.deepEqual([pc.paused, pc.depth], [true, 500], "channel still paused with its 500");
      const subT = await n.connectV2();
      await subT.sub("pt", "c");
      await subT.rdy(100);
      const subC = await n.connectV2();
      await subC.sub("pc", "c");
      await subC.rdy(100);
      await subT.expectNothing(300);
      await subC.expectNothing(100);

      await post(`${n.httpUrl}/topic/unpause?topic=pt`);
      await post(`${n.httpUrl}/channel/unpause?topic=pc&channel=c`);
      assertSameMultiset((await drain(subT, 500)).map((m) => m.text), ptBodies, "pt after unpause");
      assertSameMultiset((await drain(subC, 500)).map((m) => m.text), pcBodies, "pc after unpause");
      subT.close();
      subC.close();
      assert.equal(await n.stop(), 0);
      n = undefined;
    } finally {
      await cleanup(dir, n);
    }
  },
  60_000,
);

// ---- crash -----------------------------------------------------------------------------------------------

runtimeTest(
  "with --sync-every=1 every acknowledged PUB to a topic survives a SIGKILL right after the acknowledgement",
  async (rt) => {
    const dir = await tempDir();
    const args = [`--data-path=${dir}`, "--mem-queue-size=0", "--sync-every=1"];
    let a: NsqdProcess | undefined;
    let b: NsqdProcess | undefined;
    try {
      a = await startNsqd(rt, args);
      const pub = await a.connectV2();
      const sent = bodies("k", 200);
      for (const s of sent) await pub.pub("t", s);
      await a.stop("SIGKILL");
      a = undefined;
      pub.close();

      b = await startNsqd(rt, args);
      const t = await topicStats(b, "t");
      assert.equal(t.depth, 200, "the topic still holds the 200 acknowledged messages");
      const sub = await b.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(100);
      const got = await drain(sub, 200);
      await sub.expectNothing(500);
      assert.deepEqual(got.map((m) => m.text), sent, "all delivered, in publish order (disk only)");
      sub.close();
      assert.equal(await b.stop(), 0);
      b = undefined;
    } finally {
      await cleanup(dir, a, b);
    }
  },
  60_000,
);

runtimeTest(
  "with --sync-every=1 a SIGKILL loses no queued channel message and brings back no finished one",
  async (rt) => {
    const dir = await tempDir();
    const args = [`--data-path=${dir}`, "--mem-queue-size=0", "--sync-every=1"];
    let a: NsqdProcess | undefined;
    let b: NsqdProcess | undefined;
    try {
      a = await startNsqd(rt, args);
      await post(`${a.httpUrl}/topic/create?topic=t`);
      await post(`${a.httpUrl}/channel/create?topic=t&channel=c`);
      const pub = await a.connectV2();
      const sent = bodies("k", 300);
      for (const s of sent) await pub.pub("t", s);
      await waitChannel(
        a,
        "t",
        "c",
        (c) => c.depth === 300 && c.backend_depth === 300,
        "channel has all 300",
      );
      await waitTopic(a, "t", (t) => t.depth === 0, "topic pumped");

      const sub = await a.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(100);
      const first = await readN(sub, 100);
      await sub.rdy(0);
      await finAll(sub, first.map((m) => m.id));
      await waitChannel(
        a,
        "t",
        "c",
        (c) => sumFinished(c) === 100 && c.in_flight_count === 0 && c.depth === 200,
        "100 finished, none in flight",
      );
      await a.stop("SIGKILL");
      a = undefined;
      pub.close();
      sub.close();

      b = await startNsqd(rt, args);
      const c = await channelStats(b, "t", "c");
      assert.equal(c.depth, 200, "the channel holds the 200 unfinished messages after the crash");
      const sub2 = await b.connectV2();
      await sub2.sub("t", "c");
      await sub2.rdy(100);
      const got = await drain(sub2, 200);
      await sub2.expectNothing(500);
      const finishedBodies = new Set(first.map((m) => m.text));
      assertSameMultiset(
        got.map((m) => m.text),
        sent.filter((s) => !finishedBodies.has(s)),
        "delivered after the crash",
      );
      sub2.close();
      assert.equal(await b.stop(), 0);
      b = undefined;
    } finally {
      await cleanup(dir, a, b);
    }
  },
  60_000,
);

// ---- overflow ----------------------------------------------------------------------------------------------

runtimeTest(
  "messages past --mem-queue-size overflow to diskqueue files and are all consumed in the end",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    try {
      n = await startNsqd(rt, [`--data-path=${dir}`, "--mem-queue-size=10"]);
      await post(`${n.httpUrl}/topic/create?topic=t`);
      await post(`${n.httpUrl}/channel/create?topic=t&channel=c`);
      await post(`${n.httpUrl}/topic/create?topic=u`); // no channel: messages stay at the topic
      const pub = await n.connectV2();
      const tb = bodies("t", 1000);
      const ub = bodies("u", 1000);
      await mpubAll(pub, "t", tb, 100);
      await mpubAll(pub, "u", ub, 100);

      const c = await waitChannel(n, "t", "c", (c) => c.depth === 1000, "channel t/c holds 1000");
      assert.ok(c.backend_depth >= 990, `channel backend_depth ${c.backend_depth} ≥ 1000 - 10`);
      const u = await waitTopic(n, "u", (t) => t.depth === 1000, "topic u holds 1000");
      assert.ok(u.backend_depth >= 990, `topic backend_depth ${u.backend_depth} ≥ 1000 - 10`);
      assert.ok((await dataFileNums(dir, "t:c")).includes(0), "t:c.diskqueue.000000.dat exists");
      assert.ok((await dataFileNums(dir, "u")).includes(0), "u.diskqueue.000000.dat exists");

      const sub = await n.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(200);
      assertSameMultiset((await drain(sub, 1000)).map((m) => m.text), tb, "consumed from t/c");
      const subU = await n.connectV2();
      await subU.sub("u", "c");
      await subU.rdy(200);
      assertSameMultiset((await drain(subU, 1000)).map((m) => m.text), ub, "consumed from u/c");
      await sub.expectNothing(300);
      await subU.expectNothing(200);

      for (const t of ["t", "u"]) {
        await waitChannel(
          n,
          t,
          "c",
          (c) => c.depth === 0 && c.backend_depth === 0 && c.in_flight_count === 0,
          `${t}/c empty`,
        );
        await waitTopic(n, t, (x) => x.depth === 0 && x.backend_depth === 0, `${t} empty`);
      }
      sub.close();
      subU.close();
      pub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;
    } finally {
      await cleanup(dir, n);
    }
  },
  60_000,
);

// ---- format ------------------------------------------------------------------------------------------------

runtimeTest(
  "a topic's diskqueue data and metadata files have go-diskqueue's exact format after a clean stop",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    try {
      n = await startNsqd(rt, [`--data-path=${dir}`, "--mem-queue-size=0"]);
      const sent = [
        enc.encode("hello"),
        enc.encode("x"),
        new Uint8Array([0, 1, 2, 255, 254, 10, 13, 0]),
        enc.encode("ünïcødé ✓"),
        enc.encode("y".repeat(3000)),
      ];
      const t0 = BigInt(Date.now() - 5000) * 1_000_000n;
      const pub = await n.connectV2();
      for (const b of sent) await pub.pub("fmt", b);
      const t1 = BigInt(Date.now() + 5000) * 1_000_000n;
      const t = await topicStats(n, "fmt");
      assert.deepEqual([t.depth, t.backend_depth], [5, 5], "all 5 are on disk (--mem-queue-size=0)");
      pub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;

      const bytes = await Deno.readFile(dataFile(dir, "fmt", 0));
      const recs = decodeRecords(bytes);
      assert.equal(bytes.length, sent.reduce((s, b) => s + 4 + 26 + b.length, 0), "file size");
      assert.deepEqual(recs.map((r) => r.length), sent.map((b) => 26 + b.length), "record lengths");
      assert.deepEqual(recs.map((r) => [...r.body]), sent.map((b) => [...b]), "bodies in publish order");
      assert.ok(recs.every((r) => r.attempts === 0), "never delivered: attempts 0");
      for (const r of recs) {
        assert.match(r.id, /^[0-9a-f]{16}$/, "ID is 16 lowercase hex chars");
        assert.ok(r.ts >= t0 && r.ts <= t1, `timestamp ${r.ts} is UnixNano at publish`);
      }
      const ids = recs.map((r) => r.id);
      assert.deepEqual([...ids].sort(), ids, "IDs increase within a topic (§1.4)");
      assert.equal(new Set(ids).size, 5, "IDs are unique");
      assert.equal(
        await Deno.readTextFile(metaFile(dir, "fmt")),
        `5\n0,0\n0,${bytes.length}\n`,
        "metadata = depth, readFileNum,readPos, writeFileNum,writePos",
      );
      assert.deepEqual(
        (await files(dir)).filter((f) => f.endsWith(".tmp")),
        [],
        "no temporary files are left",
      );
    } finally {
      await cleanup(dir, n);
    }
  },
);

runtimeTest(
  "a small --max-bytes-per-file rolls data files exactly where go-diskqueue rolls them",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    try {
      n = await startNsqd(rt, [`--data-path=${dir}`, "--mem-queue-size=0", "--max-bytes-per-file=1024"]);
      // records of 4 + 26 + 100 = 130 bytes: a write rolls when writePos > 0 && writePos + 130 > 1024,
      // so 7 records (910 bytes) per file and 30 records in files 0..4 (7, 7, 7, 7, 2); then a record larger
      // than a file (4 + 26 + 5000) rolls to file 5 and fills it alone, and the next small one rolls to file 6
      const sent = Array.from({ length: 30 }, (_, i) => `${String(i).padStart(3, "0")}`.padEnd(100, "."));
      sent.push("big".padEnd(5000, "#"), "031".padEnd(100, "."));
      const pub = await n.connectV2();
      await mpubAll(pub, "roll", sent.slice(0, 12), 12); // one MPUB crossing a roll
      for (const s of sent.slice(12)) await pub.pub("roll", s);
      pub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;

      assert.deepEqual(await dataFileNums(dir, "roll"), [0, 1, 2, 3, 4, 5, 6], "data files 000000 … 000006");
      const all: DiskRecord[] = [];
      const sizes: number[] = [];
      for (let k = 0; k <= 6; k++) {
        const bytes = await Deno.readFile(dataFile(dir, "roll", k));
        sizes.push(bytes.length);
        all.push(...decodeRecords(bytes));
      }
      assert.deepEqual(sizes, [910, 910, 910, 910, 260, 5030, 130], "file sizes");
      assert.deepEqual(all.map((r) => r.text), sent, "records in order across files");
      assert.equal(await Deno.readTextFile(metaFile(dir, "roll")), "32\n0,0\n6,130\n");
    } finally {
      await cleanup(dir, n);
    }
  },
);

runtimeTest(
  "a channel's queue is named topic:channel on disk and holds the topic's messages with the same IDs",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    try {
      n = await startNsqd(rt, [`--data-path=${dir}`, "--mem-queue-size=0"]);
      await post(`${n.httpUrl}/topic/create?topic=t`);
      await post(`${n.httpUrl}/channel/create?topic=t&channel=c`);
      const sent = ["one", "two", "three"];
      const pub = await n.connectV2();
      for (const s of sent) await pub.pub("t", s);
      pub.close();
      await waitChannel(
        n,
        "t",
        "c",
        (c) => c.depth === 3 && c.backend_depth === 3,
        "channel holds 3 on disk",
      );
      await waitTopic(n, "t", (t) => t.depth === 0, "topic pumped");
      assert.equal(await n.stop(), 0);
      n = undefined;

      const bytes = await Deno.readFile(dataFile(dir, "t:c", 0));
      const recs = decodeRecords(bytes);
      assert.deepEqual(recs.map((r) => [r.text, r.attempts]), sent.map((s) => [s, 0]));
      assert.equal(await Deno.readTextFile(metaFile(dir, "t:c")), `3\n0,0\n0,${bytes.length}\n`);
      // the topic's queue was read through: depth 0 and reader at the writer
      const tq = await readQueue(dir, "t");
      assert.equal(tq.meta.depth, 0);
      assert.deepEqual(
        [tq.meta.readFileNum, tq.meta.readPos],
        [tq.meta.writeFileNum, tq.meta.writePos],
        "topic reader caught up with its writer",
      );
      const topicFile = await Deno.readFile(dataFile(dir, "t", tq.meta.writeFileNum)).catch(() => null);
      if (topicFile && topicFile.length > 0) {
        assert.deepEqual(
          decodeRecords(topicFile).map((r) => r.id),
          recs.map((r) => r.id),
          "the channel's records carry the topic's message IDs",
        );
      }
    } finally {
      await cleanup(dir, n);
    }
  },
);

// ---- fixtures laid out as upstream nsqd leaves them ------------------------------------------------------

runtimeTest(
  "topic and channel diskqueues written as upstream nsqd writes them are delivered with their IDs, timestamps and attempts",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    const ts: string[] = [];
    try {
      const msgs = fixtureMessages(3);
      const file = join(...msgs.map(encodeRecord));
      const topicMsgs = fixtureMessages(2, 100);
      const topicFile = join(...topicMsgs.map(encodeRecord));
      await Deno.writeTextFile(`${dir}/nsqd.dat`, NSQD_DAT_TC);
      await Deno.writeFile(dataFile(dir, "t:c", 0), file);
      await Deno.writeTextFile(metaFile(dir, "t:c"), `3\n0,0\n0,${file.length}\n`);
      await Deno.writeFile(dataFile(dir, "t", 0), topicFile);
      await Deno.writeTextFile(metaFile(dir, "t"), `2\n0,0\n0,${topicFile.length}\n`);

      n = await startNsqd(rt, [`--data-path=${dir}`]);
      const c = await channelStats(n, "t", "c");
      assert.ok(c.depth >= 3, `channel depth ${c.depth} includes the 3 of its metadata`);
      const sub = await n.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(10);
      const got = await drain(sub, 5);
      await sub.expectNothing(500);
      const chanGot = got.filter((m) => msgs.some((x) => x.id === m.id));
      for (let i = 0; i < 3; i++) assertDelivered(chanGot[i], msgs[i], ts); // one disk queue: FIFO
      assertSameMultiset(
        got.filter((m) => !chanGot.includes(m)).map((m) => m.id),
        topicMsgs.map((m) => m.id),
        "the topic's queued messages reach the channel",
      );
      for (const m of got.filter((m) => !chanGot.includes(m))) {
        assertDelivered(m, topicMsgs.find((x) => x.id === m.id)!, ts);
      }
      await waitChannel(n, "t", "c", (c) => c.depth === 0 && c.in_flight_count === 0, "drained");
      await waitTopic(n, "t", (t) => t.depth === 0, "topic drained");
      sub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;
      assertTimestampsKept(ts);
    } finally {
      await cleanup(dir, n);
    }
  },
);

runtimeTest(
  "metadata pointing into the middle of a data file skips the records before readPos",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    const ts: string[] = [];
    try {
      const msgs = fixtureMessages(5);
      const recs = msgs.map(encodeRecord);
      const file = join(...recs);
      const readPos = recs[0].length + recs[1].length;
      await Deno.writeTextFile(`${dir}/nsqd.dat`, NSQD_DAT_TC);
      await Deno.writeFile(dataFile(dir, "t:c", 0), file);
      await Deno.writeTextFile(metaFile(dir, "t:c"), `3\n0,${readPos}\n0,${file.length}\n`);

      n = await startNsqd(rt, [`--data-path=${dir}`]);
      const sub = await n.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(10);
      const got = await drain(sub, 3);
      await sub.expectNothing(500);
      for (let i = 0; i < 3; i++) assertDelivered(got[i], msgs[i + 2], ts);
      sub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;
      assertTimestampsKept(ts);
    } finally {
      await cleanup(dir, n);
    }
  },
);

runtimeTest(
  "a queue spread over two upstream data files is read across the files, and what is left is written back in upstream's format",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    const ts: string[] = [];
    try {
      const msgs = fixtureMessages(6);
      const f0 = join(...msgs.slice(0, 4).map(encodeRecord));
      const f1 = join(...msgs.slice(4).map(encodeRecord));
      await Deno.writeTextFile(`${dir}/nsqd.dat`, NSQD_DAT_TC);
      await Deno.writeFile(dataFile(dir, "t:c", 0), f0);
      await Deno.writeFile(dataFile(dir, "t:c", 1), f1);
      await Deno.writeTextFile(metaFile(dir, "t:c"), `6\n0,0\n1,${f1.length}\n`);

      n = await startNsqd(rt, [`--data-path=${dir}`]);
      const sub = await n.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(3);
      const first = await readN(sub, 3);
      await sub.rdy(0);
      await finAll(sub, first.slice(0, 2).map((m) => m.id)); // the third stays in flight through the stop
      for (let i = 0; i < 3; i++) assertDelivered(first[i], msgs[i], ts);
      await waitChannel(
        n,
        "t",
        "c",
        (c) => sumFinished(c) === 2 && c.in_flight_count === 1 && c.depth === 3,
        "2 finished, 1 in flight, 3 queued",
      );
      sub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;

      // "and back": an upstream nsqd reading these files finds exactly the 4 unfinished messages, the one that
      // was in flight with the attempt it was delivered with (§3.8)
      const left = msgs.slice(2).map((m, i) => ({ ...m, attempts: i === 0 ? m.attempts + 1 : m.attempts }));
      const { meta, records } = await readQueue(dir, "t:c");
      assert.equal(meta.depth, 4, "metadata depth");
      assertSameMultiset(
        records.map((r) => `${r.id} ${r.attempts} ${r.text}`),
        left.map((m) => `${m.id} ${m.attempts} ${dec.decode(m.body)}`),
        "records left on disk (ID, attempts, body)",
      );
      for (const r of records) {
        const want = msgs.find((m) => m.id === r.id)!;
        if (r.ts !== want.ts) ts.push(`${r.id} on disk after our stop: written ${want.ts}, now ${r.ts}`);
      }

      n = await startNsqd(rt, [`--data-path=${dir}`]);
      const sub2 = await n.connectV2();
      await sub2.sub("t", "c");
      await sub2.rdy(10);
      const rest = await drain(sub2, 4);
      await sub2.expectNothing(500);
      assertSameMultiset(rest.map((m) => m.id), left.map((m) => m.id), "the rest after a second start");
      for (const m of rest) assertDelivered(m, left.find((x) => x.id === m.id)!, ts);
      sub2.close();
      assert.equal(await n.stop(), 0);
      n = undefined;
      assertTimestampsKept(ts);
    } finally {
      await cleanup(dir, n);
    }
  },
);

runtimeTest(
  "records past the metadata's writePos (an unsynced crash) are still read, and new writes go to the next file",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    const ts: string[] = [];
    try {
      const msgs = fixtureMessages(3);
      const recs = msgs.map(encodeRecord);
      const file = join(...recs);
      await Deno.writeTextFile(`${dir}/nsqd.dat`, NSQD_DAT_TC);
      await Deno.writeFile(dataFile(dir, "t:c", 0), file);
      // metadata last synced after two records; the third was written before the crash
      await Deno.writeTextFile(metaFile(dir, "t:c"), `2\n0,0\n0,${recs[0].length + recs[1].length}\n`);

      n = await startNsqd(rt, [`--data-path=${dir}`, "--mem-queue-size=0"]);
      const sub = await n.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(10);
      const got = await drain(sub, 3);
      for (let i = 0; i < 3; i++) assertDelivered(got[i], msgs[i], ts);
      const pub = await n.connectV2();
      await pub.pub("t", "after");
      const m = await sub.readMessage();
      assert.equal(m.text, "after");
      await finAll(sub, [m.id]);
      await sub.expectNothing(300);
      assert.ok(await exists(dataFile(dir, "t:c", 1)), "writes skipped to t:c.diskqueue.000001.dat (§3.7)");
      pub.close();
      sub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;
      assertTimestampsKept(ts);
    } finally {
      await cleanup(dir, n);
    }
  },
);

// ---- corruption ---------------------------------------------------------------------------------------------

runtimeTest(
  "a garbage record length renames the data file .bad, logs an ERROR, and the next file's records are still delivered",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    const ts: string[] = [];
    try {
      const msgs = fixtureMessages(5);
      const garbage = new Uint8Array(40).fill(0xab);
      new DataView(garbage.buffer).setInt32(0, 0x7ffffff0); // far above max-msg-size + 26
      // file 0: A, B, <garbage length + junk>, C (unreachable); file 1: D, E
      const f0 = join(encodeRecord(msgs[0]), encodeRecord(msgs[1]), garbage, encodeRecord(msgs[2]));
      const f1 = join(encodeRecord(msgs[3]), encodeRecord(msgs[4]));
      await Deno.writeTextFile(`${dir}/nsqd.dat`, NSQD_DAT_TC);
      await Deno.writeFile(dataFile(dir, "t:c", 0), f0);
      await Deno.writeFile(dataFile(dir, "t:c", 1), f1);
      await Deno.writeTextFile(metaFile(dir, "t:c"), `5\n0,0\n1,${f1.length}\n`);

      n = await startNsqd(rt, [`--data-path=${dir}`]);
      const sub = await n.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(10);
      const got = await drain(sub, 4);
      await sub.expectNothing(500);
      assertSameMultiset(
        got.map((m) => m.id),
        [msgs[0], msgs[1], msgs[3], msgs[4]].map((m) => m.id),
        "A and B (before the garbage) and D, E (next file) are delivered; C (after the garbage) is not",
      );
      for (const m of got) assertDelivered(m, msgs.find((x) => x.id === m.id)!, ts);
      await n.proc.waitForLine(/ ERROR: /);
      assert.ok(await exists(`${dataFile(dir, "t:c", 0)}.bad`), "t:c.diskqueue.000000.dat.bad exists");
      assert.ok(!(await exists(dataFile(dir, "t:c", 0))), "t:c.diskqueue.000000.dat is gone");

      const pub = await n.connectV2();
      await pub.pub("t", "still serving");
      assert.equal((await sub.readMessage()).text, "still serving");
      const ping = await n.http("/ping");
      assert.deepEqual([ping.status, await ping.text()], [200, "OK"]);
      pub.close();
      sub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;
      assertTimestampsKept(ts);
    } finally {
      await cleanup(dir, n);
    }
  },
);

runtimeTest(
  "a truncated last record does not crash nsqd: the whole records are delivered and it keeps serving",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    const ts: string[] = [];
    try {
      const msgs = fixtureMessages(3);
      const truncated = encodeRecord(msgs[2]).slice(0, 14); // length field says more than what follows
      const f0 = join(encodeRecord(msgs[0]), encodeRecord(msgs[1]), truncated);
      await Deno.writeTextFile(`${dir}/nsqd.dat`, NSQD_DAT_TC);
      await Deno.writeFile(dataFile(dir, "t:c", 0), f0);
      await Deno.writeTextFile(metaFile(dir, "t:c"), `3\n0,0\n0,${f0.length}\n`);

      n = await startNsqd(rt, [`--data-path=${dir}`]);
      const sub = await n.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(10);
      const got = await drain(sub, 2);
      for (let i = 0; i < 2; i++) assertDelivered(got[i], msgs[i], ts);
      await n.proc.waitForLine(/ ERROR: /);
      await sub.expectNothing(300);

      const pub = await n.connectV2();
      await pub.pub("t", "still serving");
      const m = await sub.readMessage();
      assert.equal(m.text, "still serving");
      await finAll(sub, [m.id]);
      await waitChannel(n, "t", "c", (c) => c.depth === 0 && c.in_flight_count === 0, "drained");
      pub.close();
      sub.close();
      assert.equal(await n.stop(), 0, "still running and exits cleanly");
      n = undefined;
      assertTimestampsKept(ts);
    } finally {
      await cleanup(dir, n);
    }
  },
);

// ---- health (§3.15) -----------------------------------------------------------------------------------------

runtimeTest(
  "a failing diskqueue write makes nsqd unhealthy, fails PUB/MPUB/DPUB and HTTP /pub, and the next successful write heals it",
  async (rt) => {
    // How the writes are made to fail: tests run as root, so permissions cannot stop a write. Instead a
    // DIRECTORY is put at the path of the next data file the queue must create. With --mem-queue-size=0 every
    // message to a topic without channels goes to the topic's diskqueue (§3.2), and with
    // --max-bytes-per-file=200 and ~250-byte records every write after the first rolls to a new file (§3.7), so
    // the second write must open `h.diskqueue.000001.dat` — a directory, hence EISDIR. Removing the directory
    // lets the next write create the file.
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    try {
      n = await startNsqd(rt, [`--data-path=${dir}`, "--mem-queue-size=0", "--max-bytes-per-file=200"]);
      const body = "b".repeat(220);
      const ok = await n.connectV2();
      await ok.pub("h", `first ${body}`);
      ok.close();
      let ping = await n.http("/ping");
      assert.deepEqual([ping.status, await ping.text()], [200, "OK"]);

      await Deno.mkdir(dataFile(dir, "h", 1));

      const c1 = await n.connectV2();
      await c1.command("PUB h", `second ${body}`);
      const f1 = await c1.readNonHeartbeat();
      assert.equal(f1.type, FRAME_ERROR);
      assert.match(f1.text, /^E_PUB_FAILED PUB failed ./, "TCP PUB to a failing disk is E_PUB_FAILED");
      await c1.expectClosed();
      c1.close();

      ping = await n.http("/ping");
      const pingText = await ping.text();
      assert.equal(ping.status, 500, `/ping answers 500 while unhealthy (got ${pingText})`);
      assert.ok(pingText.startsWith("NOK - "), `/ping body: ${pingText}`);
      const health = (await n.stats()).health as string;
      assert.ok(health.startsWith("NOK"), `/stats health: ${health}`);

      const c2 = await n.connectV2();
      await c2.write(encodeMpub("h", [`m1 ${body}`, `m2 ${body}`]));
      const f2 = await c2.readNonHeartbeat();
      assert.equal(f2.type, FRAME_ERROR);
      assert.match(f2.text, /^E_MPUB_FAILED MPUB failed ./, "TCP MPUB to a failing disk is E_MPUB_FAILED");
      await c2.expectClosed();
      c2.close();
      const c3 = await n.connectV2();
      await c3.command("DPUB h 1000", `d ${body}`);
      const f3 = await c3.readNonHeartbeat();
      assert.equal(f3.type, FRAME_ERROR);
      assert.match(f3.text, /^E_DPUB_FAILED DPUB failed ./, "TCP DPUB that must go to disk is E_DPUB_FAILED");
      await c3.expectClosed();
      c3.close();

      const httpPub = await n.http("/pub?topic=h", { method: "POST", body: `http ${body}` });
      assert.deepEqual(
        [httpPub.status, await httpPub.text()],
        [503, '{"message":"EXITING"}'],
        "HTTP /pub maps a backend error to 503 EXITING",
      );

      await Deno.remove(dataFile(dir, "h", 1));
      await post(`${n.httpUrl}/pub?topic=h`, `recovered ${body}`);
      ping = await n.http("/ping");
      assert.deepEqual([ping.status, await ping.text()], [200, "OK"], "healthy after a successful write");
      assert.equal((await n.stats()).health, "OK");

      // what was acknowledged is there; what failed is not
      const sub = await n.connectV2();
      await sub.sub("h", "c");
      await sub.rdy(10);
      const got = await drain(sub, 2);
      await sub.expectNothing(500);
      assert.deepEqual(got.map((m) => m.text.split(" ")[0]), ["first", "recovered"]);
      sub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;
    } finally {
      await cleanup(dir, n);
    }
  },
);

// ---- empty / delete ------------------------------------------------------------------------------------------

runtimeTest(
  "/channel/empty, /channel/delete, /topic/empty and /topic/delete remove their queues' diskqueue files",
  async (rt) => {
    const dir = await tempDir();
    let n: NsqdProcess | undefined;
    try {
      n = await startNsqd(rt, [`--data-path=${dir}`, "--mem-queue-size=0"]);
      await post(`${n.httpUrl}/topic/create?topic=t`);
      for (const c of ["c1", "c2", "c3"]) await post(`${n.httpUrl}/channel/create?topic=t&channel=${c}`);
      const pub = await n.connectV2();
      await mpubAll(pub, "t", bodies("a", 20));
      for (const c of ["c1", "c2", "c3"]) {
        await waitChannel(
          n,
          "t",
          c,
          (s) => s.depth === 20 && s.backend_depth === 20,
          `${c} holds 20 on disk`,
        );
        assert.ok((await dataFileNums(dir, `t:${c}`)).length > 0, `t:${c} has data files`);
      }

      await post(`${n.httpUrl}/channel/empty?topic=t&channel=c1`);
      assert.deepEqual(await queueFiles(dir, "t:c1"), [], "/channel/empty removes t:c1's files");
      assert.equal((await channelStats(n, "t", "c1")).depth, 0);
      assert.ok((await dataFileNums(dir, "t:c2")).length > 0, "t:c2 untouched");

      await post(`${n.httpUrl}/channel/delete?topic=t&channel=c2`);
      assert.deepEqual(await queueFiles(dir, "t:c2"), [], "/channel/delete removes t:c2's files");
      assert.equal(channelOf(await n.stats(), "t", "c2"), undefined);
      assert.ok((await dataFileNums(dir, "t:c3")).length > 0, "t:c3 untouched");

      await post(`${n.httpUrl}/topic/pause?topic=t`);
      await mpubAll(pub, "t", bodies("b", 20));
      await waitTopic(
        n,
        "t",
        (t) => t.depth === 20 && t.backend_depth === 20,
        "paused topic holds 20 on disk",
      );
      assert.ok((await dataFileNums(dir, "t")).length > 0, "t has data files");
      await post(`${n.httpUrl}/topic/empty?topic=t`);
      assert.deepEqual(await queueFiles(dir, "t"), [], "/topic/empty removes t's files");
      assert.equal((await topicStats(n, "t")).depth, 0);
      assert.equal((await channelStats(n, "t", "c3")).depth, 20, "/topic/empty leaves channels alone");
      assert.ok((await dataFileNums(dir, "t:c3")).length > 0, "t:c3 untouched");

      await mpubAll(pub, "t", bodies("c", 5));
      await waitTopic(n, "t", (t) => t.depth === 5, "paused topic holds 5 again");
      assert.ok((await dataFileNums(dir, "t")).length > 0, "t has data files again");
      await post(`${n.httpUrl}/topic/delete?topic=t`);
      assert.deepEqual(
        (await files(dir)).filter((f) => f.startsWith("t.") || f.startsWith("t:")),
        [],
        "/topic/delete removes the topic's and its channels' files",
      );
      pub.close();
      assert.equal(await n.stop(), 0);
      n = undefined;
    } finally {
      await cleanup(dir, n);
    }
  },
);

// ---- ephemeral ------------------------------------------------------------------------------------------------

runtimeTest(
  "ephemeral topics and channels never create diskqueue files, even past --mem-queue-size and at shutdown",
  async (rt) => {
    for (const memQueueSize of [10, 0]) {
      const dir = await tempDir();
      let n: NsqdProcess | undefined;
      try {
        n = await startNsqd(rt, [`--data-path=${dir}`, `--mem-queue-size=${memQueueSize}`]);
        // consumers with RDY 0 keep the ephemeral channels alive without taking messages
        const s1 = await n.connectV2();
        await s1.sub("e#ephemeral", "c#ephemeral");
        const s2 = await n.connectV2();
        await s2.sub("t", "c#ephemeral");
        const pub = await n.connectV2();
        await mpubAll(pub, "e#ephemeral", bodies("e", 100), 50);
        await mpubAll(pub, "t", bodies("t", 100), 50);

        await waitTopic(
          n,
          "e#ephemeral",
          (t) => t.message_count === 100 && t.depth === 0,
          "e#ephemeral pumped",
        );
        await waitTopic(n, "t", (t) => t.message_count === 100 && t.depth === 0, "t pumped");
        for (const [t, c] of [["e#ephemeral", "c#ephemeral"], ["t", "c#ephemeral"]]) {
          const s = await channelStats(n, t, c);
          assert.equal(s.backend_depth, 0, `${t}/${c} backend_depth`);
          assert.ok(
            s.depth <= memQueueSize,
            `${t}/${c} keeps at most --mem-queue-size=${memQueueSize} (${s.depth}); overflow is dropped (§3.3)`,
          );
        }
        const ephemeralFiles = () => files(dir).then((fs) => fs.filter((f) => f.includes("ephemeral")));
        assert.deepEqual(await ephemeralFiles(), [], "no files for ephemeral queues");
        assert.equal(await n.stop(), 0);
        n = undefined;
        assert.deepEqual(await ephemeralFiles(), [], "no files for ephemeral queues after shutdown");
        for (const c of [s1, s2, pub]) c.close();
      } finally {
        await cleanup(dir, n);
      }
    }
  },
);

runtimeTest(
  "an MPUB that overflows a channel's memory queue goes to the channel's disk queue in MPUB order, and each message is delivered once",
  async (rt) => {
    const dir = await tempDir();
    let a: NsqdProcess | undefined;
    try {
      a = await startNsqd(rt, [`--data-path=${dir}`, "--mem-queue-size=10"]);
      await post(`${a.httpUrl}/topic/create?topic=t`);
      await post(`${a.httpUrl}/channel/create?topic=t&channel=c`);
      const pub = await a.connectV2();
      const first = bodies("a", 100);
      const second = bodies("b", 50);
      await pub.mpub("t", first);
      await pub.mpub("t", second);
      const c = await channelStats(a!, "t", "c");
      assert.equal(c.depth, 150);
      assert.equal(c.backend_depth, 140, "10 in memory, the rest of both MPUBs on disk");
      // The channel's data file holds the overflow in order (read with the independent reader).
      const records = decodeRecords(await Deno.readFile(dataFile(dir, "t:c", 0)));
      assert.deepEqual(records.map((r) => r.text), [...first.slice(10), ...second]);
      const ids = records.map((r) => r.id);
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i] > ids[i - 1], "IDs increase in write order");
      assert.ok(records.every((r) => r.attempts === 0));

      const sub = await a.connectV2();
      await sub.sub("t", "c");
      await sub.rdy(200);
      const got = await drain(sub, 150);
      assertSameMultiset(got.map((m) => m.text), [...first, ...second], "delivered");
      await waitChannel(a, "t", "c", (s) => s.depth === 0 && s.in_flight_count === 0, "drained");
    } finally {
      await cleanup(dir, a);
    }
  },
);
