/**
 * Deleting, emptying and pausing topics and channels while clients come and go (issue 14), on a real
 * Nsqd in this process: clients are ProtocolV2 instances on fake connections, the HTTP API is the Hono
 * app called without a port. A fake connection reports its close either at once (as Deno does when
 * nothing is being written) or on a later turn of the event loop (as Bun always does).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DiskQueue } from "../../src/nsqd/diskqueue/disk_queue.ts";
import { createHttpApp } from "../../src/nsqd/http/http.ts";
import { LogLevel } from "../../src/internal/logger.ts";
import { Nsqd } from "../../src/nsqd/nsqd.ts";
import { defaultNsqdOptions, type NsqdOptions } from "../../src/nsqd/options.ts";
import { ProtocolV2 } from "../../src/nsqd/protocol_v2.ts";
import { currentPlatform } from "../../src/platform/mod.ts";
import type { Conn, NetAddr, SocketEvents } from "../../src/platform/types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const platform = await currentPlatform();

/** How a fake connection reports that it closed. */
type CloseMode = "sync" | "async";

class FakeConn implements Conn {
  readonly remoteAddr: NetAddr = { hostname: "127.0.0.1", port: 1 };
  readonly localAddr: NetAddr = { hostname: "127.0.0.1", port: 2 };
  readonly pendingBytes = 0;
  events: SocketEvents | null = null;
  closed = false;
  #out: number[] = [];

  constructor(readonly closeMode: CloseMode) {}

  write(bytes: Uint8Array): void {
    for (const b of bytes) this.#out.push(b);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.closeMode === "sync") this.events!.close();
    else setTimeout(() => this.events!.close(), 0);
  }

  destroy(): void {
    this.close();
  }

  /** The frames written so far, as `[type, text]`. */
  frames(): [number, string][] {
    const out: [number, string][] = [];
    const b = Uint8Array.from(this.#out);
    const view = new DataView(b.buffer);
    for (let off = 0; off + 8 <= b.length;) {
      const size = view.getInt32(off);
      out.push([view.getInt32(off + 4), decoder.decode(b.subarray(off + 8, off + 4 + size))]);
      off += 4 + size;
    }
    return out;
  }
}

interface Broker {
  nsqd: Nsqd;
  log: string[];
  /** A client connection that has sent the magic. */
  connect(mode: CloseMode): FakeConn;
  send(conn: FakeConn, text: string): void;
  http(path: string): Promise<{ status: number; text: string }>;
  /** Log lines that an operator would read as a bug. */
  internalErrors(): string[];
}

async function withNsqd(fn: (b: Broker) => Promise<void>, over: Partial<NsqdOptions> = {}): Promise<void> {
  const dataPath = mkdtempSync(join(tmpdir(), "nsqd-deletion-"));
  const log: string[] = [];
  const nsqd = new Nsqd(platform, {
    ...defaultNsqdOptions("unit"),
    tcpAddress: "127.0.0.1:0",
    httpAddress: "",
    dataPath,
    logLevel: LogLevel.info,
    ...over,
  }, (line) => log.push(line));
  const app = createHttpApp(nsqd);
  const protocols = new Map<FakeConn, ProtocolV2>();
  const broker: Broker = {
    nsqd,
    log,
    connect(mode) {
      const conn = new FakeConn(mode);
      const p = new ProtocolV2(nsqd, conn);
      conn.events = p;
      protocols.set(conn, p);
      p.data(encoder.encode("  V2"));
      return conn;
    },
    send(conn, text) {
      protocols.get(conn)!.data(encoder.encode(text));
    },
    async http(path) {
      const res = await app.request(path, { method: path.startsWith("/stats") ? "GET" : "POST" });
      return { status: res.status, text: await res.text() };
    },
    internalErrors: () => log.filter((l) => /internal error|does not exist|Uncaught/.test(l)),
  };
  try {
    await fn(broker);
  } finally {
    for (const conn of protocols.keys()) conn.close();
    await nsqd.close();
    // Async closes report on a later turn: let them, so no timer outlives the test.
    await new Promise((r) => setTimeout(r, 5));
    rmSync(dataPath, { recursive: true, force: true });
  }
}

function channelNames(nsqd: Nsqd, topic: string): string[] {
  return nsqd.getExistingTopic(topic)?.channels.map((c) => c.name) ?? [];
}

const tick = () => new Promise((r) => setTimeout(r, 5));

for (const mode of ["sync", "async"] as const) {
  Deno.test(`[${mode} close] /topic/delete answers 200 when it closes the last client of an ephemeral channel`, async () => {
    await withNsqd(async (b) => {
      const c1 = b.connect(mode);
      b.send(c1, "SUB t e#ephemeral\n");
      const c2 = b.connect(mode);
      b.send(c2, "SUB t durable\n");
      assert.deepEqual(channelNames(b.nsqd, "t"), ["durable", "e#ephemeral"]);
      assert.deepEqual(await b.http("/topic/delete?topic=t"), { status: 200, text: "" });
      assert.equal(b.nsqd.getExistingTopic("t"), undefined);
      await tick();
      assert.ok(c1.closed && c2.closed, "subscribers are disconnected");
      assert.deepEqual(b.internalErrors(), []);
    });
  });

  Deno.test(`[${mode} close] /topic/delete of an ephemeral topic with subscribed channels answers 200`, async () => {
    await withNsqd(async (b) => {
      for (const ch of ["a#ephemeral", "b#ephemeral", "c"]) {
        b.send(b.connect(mode), `SUB t#ephemeral ${ch}\n`);
      }
      assert.deepEqual(await b.http("/topic/delete?topic=t%23ephemeral"), { status: 200, text: "" });
      await tick();
      assert.equal(b.nsqd.getExistingTopic("t#ephemeral"), undefined);
      assert.equal(b.log.filter((l) => l.includes("TOPIC(t#ephemeral): deleted")).length, 1);
      assert.deepEqual(b.internalErrors(), []);
    });
  });

  Deno.test(`[${mode} close] /channel/delete of an ephemeral channel with clients answers 200; its ephemeral topic goes too`, async () => {
    await withNsqd(async (b) => {
      const c1 = b.connect(mode);
      b.send(c1, "SUB t#ephemeral e#ephemeral\n");
      b.send(b.connect(mode), "SUB t#ephemeral e#ephemeral\n");
      assert.deepEqual(
        await b.http("/channel/delete?topic=t%23ephemeral&channel=e%23ephemeral"),
        { status: 200, text: "" },
      );
      await tick();
      assert.equal(b.nsqd.getExistingTopic("t#ephemeral"), undefined);
      assert.deepEqual(
        await b.http("/channel/delete?topic=t%23ephemeral&channel=e%23ephemeral"),
        { status: 404, text: '{"message":"TOPIC_NOT_FOUND"}' },
      );
      assert.deepEqual(b.internalErrors(), []);
    });
  });

  Deno.test(`[${mode} close] a client leaving a deleted channel never deletes the channel re-created under its name`, async () => {
    await withNsqd(async (b) => {
      const old = b.connect(mode);
      b.send(old, "SUB t e#ephemeral\n");
      assert.deepEqual(await b.http("/channel/delete?topic=t&channel=e%23ephemeral"), {
        status: 200,
        text: "",
      });
      // A new subscriber re-creates the channel before the old connection's close is reported.
      const fresh = b.connect(mode);
      b.send(fresh, "SUB t e#ephemeral\n");
      await tick();
      assert.deepEqual(channelNames(b.nsqd, "t"), ["e#ephemeral"]);
      assert.equal(b.nsqd.getExistingTopic("t")!.getExistingChannel("e#ephemeral")!.clientCount, 1);
      assert.deepEqual(fresh.frames(), [[0, "OK"]]);
      // The same for a topic deleted and re-created.
      assert.deepEqual(await b.http("/topic/delete?topic=t"), { status: 200, text: "" });
      const again = b.connect(mode);
      b.send(again, "SUB t e#ephemeral\n");
      await tick();
      assert.equal(b.nsqd.getExistingTopic("t")!.getExistingChannel("e#ephemeral")!.clientCount, 1);
      assert.deepEqual(b.internalErrors(), []);
    });
  });

  Deno.test(`[${mode} close] the last client leaving an ephemeral channel deletes it once, and its ephemeral topic`, async () => {
    await withNsqd(async (b) => {
      const c1 = b.connect(mode);
      b.send(c1, "SUB t#ephemeral e#ephemeral\n");
      const c2 = b.connect(mode);
      b.send(c2, "SUB t#ephemeral e#ephemeral\n");
      c1.close();
      await tick();
      assert.deepEqual(channelNames(b.nsqd, "t#ephemeral"), ["e#ephemeral"]);
      c2.close();
      await tick();
      assert.equal(b.nsqd.getExistingTopic("t#ephemeral"), undefined);
      assert.equal(b.log.filter((l) => l.includes("deleting channel(e#ephemeral)")).length, 1);
      assert.equal(b.log.filter((l) => l.includes("TOPIC(t#ephemeral): deleted")).length, 1);
      assert.deepEqual(b.internalErrors(), []);
    });
  });
}

Deno.test('a deleted channel refuses new clients with upstream\'s "exiting" and ignores leaving ones', async () => {
  await withNsqd(async (b) => {
    const c = b.connect("async");
    b.send(c, "SUB t ch\n");
    const channel = b.nsqd.getExistingTopic("t")!.getExistingChannel("ch")!;
    const client = channel.clients[0];
    assert.equal(b.nsqd.getExistingTopic("t")!.deleteExistingChannel("ch"), true);
    assert.equal(b.nsqd.getExistingTopic("t")!.deleteExistingChannel("ch"), false);
    assert.ok(channel.exiting);
    assert.throws(() => channel.addClient(client), /^Error: exiting$/);
    channel.removeClient(client.id); // (its connection closing later) changes nothing
    await tick();
    assert.equal(b.nsqd.getExistingTopic("t")!.getExistingChannel("ch"), undefined);
    assert.deepEqual(b.internalErrors(), []);
  });
});

Deno.test("/channel/delete of a missing channel still answers 404 CHANNEL_NOT_FOUND", async () => {
  await withNsqd(async (b) => {
    assert.equal((await b.http("/topic/create?topic=t")).status, 200);
    assert.deepEqual(await b.http("/channel/delete?topic=t&channel=nope"), {
      status: 404,
      text: '{"message":"CHANNEL_NOT_FOUND"}',
    });
    assert.deepEqual(await b.http("/topic/delete?topic=nope"), {
      status: 404,
      text: '{"message":"TOPIC_NOT_FOUND"}',
    });
  });
});

Deno.test("an MPUB whose topic is deleted while its body is read fails as upstream: E_MPUB_FAILED MPUB failed exiting", async () => {
  await withNsqd(async (b) => {
    const pub = b.connect("sync");
    const body = "hello";
    const size = (n: number) => String.fromCharCode(0, 0, 0, n);
    b.send(pub, `MPUB t\n${size(4 + 4 + body.length)}${size(1)}`);
    assert.deepEqual(await b.http("/topic/delete?topic=t"), { status: 200, text: "" });
    b.send(pub, `${size(body.length)}${body}`);
    assert.deepEqual(pub.frames(), [[1, "E_MPUB_FAILED MPUB failed exiting"]]);
    // A later PUB re-creates the topic.
    const pub2 = b.connect("sync");
    b.send(pub2, `PUB t\n${size(body.length)}${body}`);
    assert.deepEqual(pub2.frames(), [[0, "OK"]]);
    assert.equal(b.nsqd.getExistingTopic("t")!.depth, 1);
  });
});

Deno.test("empty, pause and unpause of topics and channels whose clients come and go answer 200", async () => {
  await withNsqd(async (b) => {
    const c = b.connect("async");
    b.send(c, "SUB t e#ephemeral\nRDY 10\n");
    b.nsqd.publish("t", "x");
    for (const path of ["/topic/empty", "/topic/pause", "/topic/unpause"]) {
      assert.equal((await b.http(`${path}?topic=t`)).status, 200, path);
    }
    for (const path of ["/channel/empty", "/channel/pause", "/channel/unpause"]) {
      assert.equal((await b.http(`${path}?topic=t&channel=e%23ephemeral`)).status, 200, path);
    }
    c.close(); // reported on a later turn: the channel is still there meanwhile
    assert.equal((await b.http("/channel/empty?topic=t&channel=e%23ephemeral")).status, 200);
    await tick();
    assert.deepEqual(await b.http("/channel/pause?topic=t&channel=e%23ephemeral"), {
      status: 404,
      text: '{"message":"CHANNEL_NOT_FOUND"}',
    });
    assert.deepEqual(b.internalErrors(), []);
  }, { memQueueSize: 1 });
});

Deno.test("a topic deleted while its disk queue syncs and re-created at once keeps the new queue's files", async () => {
  await withNsqd(async (b) => {
    const topic = b.nsqd.getTopic("t");
    b.nsqd.publish("t", "old 1");
    b.nsqd.publish("t", "old 2"); // syncEvery=2: a background sync starts
    assert.deepEqual(await b.http("/topic/delete?topic=t"), { status: 200, text: "" });
    assert.ok(topic.exiting);
    b.nsqd.publish("t", "new");
    const file = join(b.nsqd.dataPath, "t.diskqueue.000000.dat");
    assert.ok(existsSync(file));
    await new Promise((r) => setTimeout(r, 100)); // the old queue's sync and delete finish
    assert.ok(existsSync(file), "the re-created topic's data file survives the old queue's deletion");
    assert.equal(b.nsqd.getExistingTopic("t")!.depth, 1);
  }, { memQueueSize: 0, syncEvery: 2, syncTimeout: 60_000 });
});

Deno.test("DiskQueue.delete() removes its files before it returns, so a queue re-opened under the name keeps its own", async () => {
  const dir = mkdtempSync(join(tmpdir(), "dq-delete-"));
  try {
    const opts = {
      name: "t",
      dataPath: dir,
      maxBytesPerFile: 1 << 20,
      minMsgSize: 4,
      maxMsgSize: 1024,
      syncEvery: 2,
      syncTimeoutMs: 60_000,
      log: () => {},
    };
    const q1 = DiskQueue.open(opts);
    q1.put(new Uint8Array([1, 1, 1, 1]));
    q1.put(new Uint8Array([2, 2, 2, 2])); // a background sync is now in flight
    q1.empty();
    const deleted = q1.delete();
    const q2 = DiskQueue.open(opts);
    q2.put(new Uint8Array([3, 3, 3, 3]));
    await deleted;
    assert.ok(existsSync(join(dir, "t.diskqueue.000000.dat")));
    assert.deepEqual(q2.readOne(), new Uint8Array([3, 3, 3, 3]));
    await q2.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
