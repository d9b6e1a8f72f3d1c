/**
 * Draining mode (beyond upstream; nsq issue #1302): `--sigterm=drain` and `PUT /config/drain` refuse
 * publishes and new topics and channels, let consumers receive what is queued, deferred or in flight,
 * and exit 0 once nothing deliverable is left; a second SIGTERM or `PUT /config/shutdown` is a clean
 * shutdown that loses nothing; default flags keep upstream's SIGTERM.
 */
import assert from "node:assert/strict";
import { startNsqd as startEmbedded } from "../../mod.ts";
import {
  commandFor,
  encodeCommand,
  encodeMpub,
  eventually,
  NsqConn,
  type NsqdProcess,
  type NsqMessage,
  type Runtime,
  runtimeTest,
  startNsqd,
  startNsqlookupd,
  withTimeout,
} from "./harness.ts";

const DRAINING_LINE = /INFO: NSQ: draining/;

async function tempDir(): Promise<string> {
  return await Deno.makeTempDir({ prefix: "nsqd-drain-" });
}

/** A request whose answer is `status` with `body` (text, compared exactly). */
async function expectHttp(
  nsqd: NsqdProcess,
  method: string,
  path: string,
  status: number,
  body: string,
  reqBody?: string,
): Promise<void> {
  const res = await nsqd.http(path, { method, body: reqBody });
  const text = await res.text();
  assert.deepEqual([res.status, text], [status, body], `${method} ${path}`);
}

/** Sends raw bytes on a fresh connection and expects one error frame, then the connection closed. */
async function expectRefused(nsqd: NsqdProcess, bytes: Uint8Array, error: string): Promise<void> {
  const c = await nsqd.connectV2();
  try {
    await c.write(bytes);
    await c.expectError(error);
    await c.expectClosed();
  } finally {
    c.close();
  }
}

/** Waits until nsqd exits by itself; returns its exit code. */
async function exitsByItself(nsqd: NsqdProcess, ms = 10_000): Promise<number> {
  const status = await withTimeout(nsqd.proc.status, ms, `nsqd to exit by itself:\n${nsqd.proc.stderr}`);
  await nsqd.stop(); // removes the harness' own temp dir
  return status.code;
}

/** Reads `n` messages, FINing each; returns their bodies. */
async function consume(c: NsqConn, n: number, timeoutMs = 5000): Promise<string[]> {
  const bodies: string[] = [];
  for (let i = 0; i < n; i++) {
    const m: NsqMessage = await c.readMessage(timeoutMs);
    bodies.push(m.text);
    await c.fin(m.id);
  }
  return bodies;
}

runtimeTest(
  "with --sigterm=drain, SIGTERM refuses publishes, delivers every queued, deferred and in-flight message, then exits 0",
  async (rt) => {
    const dir = await tempDir();
    try {
      const nsqd = await startNsqd(rt, ["--sigterm=drain", `--data-path=${dir}`]);
      await expectHttp(nsqd, "GET", "/config/sigterm", 200, "drain");
      const consumer = await nsqd.connectV2();
      await consumer.sub("t", "c");
      const producer = await nsqd.connectV2();
      const published = ["m0", "m1", "m2", "m3", "m4"];
      await producer.mpub("t", published);
      await producer.dpub("t", 700, "deferred");
      await producer.pub("nochannel", "stranded"); // a topic without channels: left on disk
      await consumer.rdy(1);
      const first = await consumer.readMessage(); // held in flight across the SIGTERM

      nsqd.proc.signal("SIGTERM");
      await nsqd.proc.waitForLine(DRAINING_LINE);
      await producer.write(encodeCommand("PUB t", "late"));
      await producer.expectError("E_PUB_FAILED PUB failed draining");
      await producer.expectClosed();
      producer.close();
      // Consumers may still come to an existing channel.
      const second = await nsqd.connectV2();
      await second.sub("t", "c");

      await consumer.fin(first.id);
      await consumer.rdy(10);
      const rest = await consume(consumer, 5);
      assert.deepEqual(
        [first.text, ...rest].sort(),
        [...published, "deferred"].sort(),
        "each message delivered exactly once",
      );
      assert.equal(await exitsByItself(nsqd), 0, nsqd.proc.stderr);
      consumer.close();
      second.close();
      assert.match(
        nsqd.proc.stderr,
        /WARNING: TOPIC\(nochannel\): 1 messages not drained \(the topic has no channel\)/,
      );
      assert.match(nsqd.proc.stderr, /INFO: NSQ: drained/);

      // What could not be drained is on disk, as after a clean shutdown.
      const again = await startNsqd(rt, [`--data-path=${dir}`]);
      const s = await again.stats();
      assert.deepEqual(
        s.topics.map((t: { topic_name: string; depth: number }) => [t.topic_name, t.depth]),
        [["nochannel", 1], ["t", 0]],
      );
      assert.equal(s.topics[1].channels[0].depth, 0);
      assert.equal(await again.stop(), 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

runtimeTest(
  "during a drain every publish is refused, no topic or channel is created, SUB to an existing channel works",
  async (rt) => {
    const dir = await tempDir();
    try {
      const nsqd = await startNsqd(rt, [`--data-path=${dir}`]);
      const consumer = await nsqd.connectV2();
      await consumer.sub("t", "c");
      await consumer.rdy(1);
      await expectHttp(nsqd, "POST", "/pub?topic=t", 200, "OK", "held");
      const held = await consumer.readMessage(); // in flight: the drain cannot finish

      await expectHttp(nsqd, "PUT", "/config/drain", 200, "true", "true");
      await nsqd.proc.waitForLine(DRAINING_LINE);
      await expectHttp(nsqd, "PUT", "/config/drain", 200, "true", "true"); // again: no change
      await expectHttp(nsqd, "PUT", "/config/drain", 400, '{"message":"INVALID_VALUE"}', "false");

      // TCP: the publish commands' own codes, `<CMD> failed draining`, fatal as upstream's `exiting`.
      await expectRefused(nsqd, encodeCommand("PUB t", "x"), "E_PUB_FAILED PUB failed draining");
      await expectRefused(nsqd, encodeCommand("DPUB t 100", "x"), "E_DPUB_FAILED DPUB failed draining");
      await expectRefused(nsqd, encodeMpub("t", ["x", "y"]), "E_MPUB_FAILED MPUB failed draining");
      await expectRefused(nsqd, encodeCommand("PUB new", "x"), "E_PUB_FAILED PUB failed draining");
      await expectRefused(nsqd, encodeMpub("new", ["x"]), "E_MPUB_FAILED MPUB failed draining");
      await expectRefused(nsqd, encodeCommand("SUB t other"), "E_SUB_FAILED SUB failed draining");
      await expectRefused(nsqd, encodeCommand("SUB new c"), "E_SUB_FAILED SUB failed draining");
      const late = await nsqd.connectV2();
      await late.sub("t", "c");
      late.close();

      // HTTP: 503 DRAINING.
      const draining = '{"message":"DRAINING"}';
      await expectHttp(nsqd, "POST", "/pub?topic=t", 503, draining, "x");
      await expectHttp(nsqd, "POST", "/pub?topic=t&defer=100", 503, draining, "x");
      await expectHttp(nsqd, "POST", "/mpub?topic=t", 503, draining, "x\ny");
      await expectHttp(nsqd, "POST", "/pub?topic=new", 503, draining, "x");
      await expectHttp(nsqd, "POST", "/topic/create?topic=new", 503, draining);
      await expectHttp(nsqd, "POST", "/channel/create?topic=t&channel=other", 503, draining);
      await expectHttp(nsqd, "POST", "/topic/create?topic=t", 200, ""); // exists: nothing to create

      // /stats, /info, /metrics and /config/drain say so.
      const s = await nsqd.stats();
      assert.equal(Object.keys(s).at(-1), "draining");
      assert.equal(s.draining, true);
      assert.deepEqual(s.topics.map((t: { topic_name: string }) => t.topic_name), ["t"]);
      assert.deepEqual(s.topics[0].channels.map((c: { channel_name: string }) => c.channel_name), ["c"]);
      assert.equal(s.topics[0].message_count, 1);
      assert.equal((await (await nsqd.http("/info")).json()).draining, true);
      assert.match(await (await nsqd.http("/metrics")).text(), /^nsq_draining 1$/m);
      assert.match(await (await nsqd.http("/stats")).text(), /^Draining: true$/m);
      await expectHttp(nsqd, "GET", "/config/drain", 200, "true");

      // PUT /config/shutdown: a clean shutdown, the message in flight is kept.
      await expectHttp(nsqd, "PUT", "/config/shutdown", 200, "true", "true");
      assert.equal(await exitsByItself(nsqd), 0, nsqd.proc.stderr);
      consumer.close();
      assert.match(nsqd.proc.stderr, /INFO: NSQ: drain ended early: clean shutdown, 1 messages kept/);
      const again = await startNsqd(rt, [`--data-path=${dir}`]);
      const c = await again.connectV2();
      await c.sub("t", "c");
      await c.rdy(1);
      const m = await c.readMessage();
      assert.deepEqual([m.text, m.attempts], [held.text, 2]);
      c.close();
      assert.equal(await again.stop(), 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

runtimeTest("a second SIGTERM during a drain is a clean shutdown that keeps every message", async (rt) => {
  const dir = await tempDir();
  try {
    const nsqd = await startNsqd(rt, ["--sigterm=drain", `--data-path=${dir}`]);
    await expectHttp(nsqd, "POST", "/topic/create?topic=t", 200, "");
    await expectHttp(nsqd, "POST", "/channel/create?topic=t&channel=c", 200, "");
    await expectHttp(nsqd, "POST", "/mpub?topic=t", 200, "OK", "a\nb\nc");
    nsqd.proc.signal("SIGTERM");
    await nsqd.proc.waitForLine(DRAINING_LINE);
    await expectHttp(nsqd, "GET", "/ping", 200, "OK"); // no consumer: the drain waits
    nsqd.proc.signal("SIGTERM");
    assert.equal(await exitsByItself(nsqd), 0, nsqd.proc.stderr);
    assert.match(nsqd.proc.stderr, /drain ended early: clean shutdown, 3 messages kept/);

    const again = await startNsqd(rt, [`--data-path=${dir}`]);
    const c = await again.connectV2();
    await c.sub("t", "c");
    await c.rdy(10);
    assert.deepEqual((await consume(c, 3)).sort(), ["a", "b", "c"]);
    c.close();
    assert.equal(await again.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

runtimeTest("a drain does not wait for a paused channel: its messages stay on disk, paused", async (rt) => {
  const dir = await tempDir();
  try {
    const nsqd = await startNsqd(rt, ["--sigterm=drain", `--data-path=${dir}`]);
    await expectHttp(nsqd, "POST", "/topic/create?topic=t", 200, "");
    await expectHttp(nsqd, "POST", "/channel/create?topic=t&channel=paused", 200, "");
    await expectHttp(nsqd, "POST", "/channel/pause?topic=t&channel=paused", 200, "");
    const consumer = await nsqd.connectV2();
    await consumer.sub("t", "live");
    await expectHttp(nsqd, "POST", "/pub?topic=t", 200, "OK", "x");
    nsqd.proc.signal("SIGTERM");
    await nsqd.proc.waitForLine(DRAINING_LINE);
    await consumer.rdy(1);
    assert.deepEqual(await consume(consumer, 1), ["x"]);
    assert.equal(await exitsByItself(nsqd), 0, nsqd.proc.stderr);
    consumer.close();
    assert.match(
      nsqd.proc.stderr,
      /WARNING: TOPIC\(t\): channel\(paused\): 1 messages not drained \(the channel is paused\)/,
    );

    const again = await startNsqd(rt, [`--data-path=${dir}`]);
    const channels = (await again.stats()).topics[0].channels;
    assert.deepEqual(
      channels.map((
        c: { channel_name: string; depth: number; paused: boolean },
      ) => [c.channel_name, c.depth, c.paused]),
      [["live", 0, false], ["paused", 1, true]],
    );
    assert.equal(await again.stop(), 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

runtimeTest("--drain-timeout ends a drain that cannot finish with a clean shutdown", async (rt) => {
  const nsqd = await startNsqd(rt, ["--sigterm=drain", "--drain-timeout=300ms"]);
  await expectHttp(nsqd, "GET", "/config/drain_timeout", 200, "300000000");
  await expectHttp(nsqd, "POST", "/channel/create?topic=t&channel=c", 404, '{"message":"TOPIC_NOT_FOUND"}');
  await expectHttp(nsqd, "POST", "/topic/create?topic=t", 200, "");
  await expectHttp(nsqd, "POST", "/channel/create?topic=t&channel=c", 200, "");
  await expectHttp(nsqd, "POST", "/pub?topic=t", 200, "OK", "x");
  nsqd.proc.signal("SIGTERM");
  assert.equal(await exitsByItself(nsqd, 5000), 0, nsqd.proc.stderr);
  assert.match(nsqd.proc.stderr, /WARNING: NSQ: drain timed out after 300 ms/);
  assert.match(nsqd.proc.stderr, /drain ended early: clean shutdown, 1 messages kept/);
});

runtimeTest(
  "with default flags SIGTERM is still a clean shutdown, and nothing shows a drain; bad drain/shutdown bodies are 400",
  async (rt) => {
    const nsqd = await startNsqd(rt, []);
    await expectHttp(nsqd, "GET", "/config/sigterm", 200, "clean-shutdown");
    await expectHttp(nsqd, "GET", "/config/drain_timeout", 200, "0");
    await expectHttp(nsqd, "GET", "/config/drain", 200, "false");
    await expectHttp(nsqd, "GET", "/config/shutdown", 200, "false");
    await expectHttp(nsqd, "PUT", "/config/drain", 413, '{"message":"INVALID_VALUE"}', "");
    for (const bad of ["false", "yes", "1", '"true"', "{}"]) {
      await expectHttp(nsqd, "PUT", "/config/drain", 400, '{"message":"INVALID_VALUE"}', bad);
      await expectHttp(nsqd, "PUT", "/config/shutdown", 400, '{"message":"INVALID_VALUE"}', bad);
    }
    await expectHttp(nsqd, "PUT", "/config/sigterm", 400, '{"message":"INVALID_OPTION"}', "drain");
    await expectHttp(nsqd, "PUT", "/config/drain_timeout", 400, '{"message":"INVALID_OPTION"}', "1");
    assert.equal((await (await nsqd.http("/info")).json()).draining, false);
    assert.equal("draining" in await nsqd.stats(), false);
    assert.match(await (await nsqd.http("/metrics")).text(), /^nsq_draining 0$/m);

    await expectHttp(nsqd, "POST", "/topic/create?topic=t", 200, "");
    await expectHttp(nsqd, "POST", "/channel/create?topic=t&channel=c", 200, "");
    await expectHttp(nsqd, "POST", "/pub?topic=t", 200, "OK", "x");
    assert.equal(await nsqd.stop(), 0); // does not wait for the backlog
    assert.doesNotMatch(nsqd.proc.stderr, /draining/);
  },
);

runtimeTest("bad --sigterm and --drain-timeout values are fatal with exit 1", async (rt) => {
  const run = async (args: string[]) => {
    const dataPath = await tempDir();
    const cmd = commandFor(rt, "nsqd");
    try {
      const out = await new Deno.Command(cmd[0], {
        args: [
          ...cmd.slice(1),
          "--tcp-address=127.0.0.1:0",
          "--http-address=",
          `--data-path=${dataPath}`,
          ...args,
        ],
        stdin: "null",
        stdout: "null",
        stderr: "piped",
      }).output();
      return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
    } finally {
      await Deno.remove(dataPath, { recursive: true });
    }
  };
  const bogus = await run(["--sigterm=bogus"]);
  assert.equal(bogus.code, 1, bogus.stderr);
  assert.match(
    bogus.stderr,
    /FATAL: failed to instantiate nsqd - --sigterm must be clean-shutdown or drain \(not "bogus"\)/,
  );
  const negative = await run(["--drain-timeout=-1s"]);
  assert.equal(negative.code, 1, negative.stderr);
  assert.match(negative.stderr, /FATAL: failed to instantiate nsqd - --drain-timeout must be >= 0/);
});

runtimeTest("nsqlookupd keeps listing a draining nsqd for its consumers", async (rt: Runtime) => {
  const lookupd = await startNsqlookupd(rt);
  try {
    const nsqd = await startNsqd(rt, [`--lookupd-tcp-address=127.0.0.1:${lookupd.tcpPort}`]);
    const consumer = await nsqd.connectV2();
    await consumer.sub("t", "c");
    await consumer.rdy(1);
    await expectHttp(nsqd, "POST", "/pub?topic=t", 200, "OK", "x");
    await consumer.readMessage(); // in flight: the drain waits
    const listed = async () => {
      const res = await lookupd.http("/lookup?topic=t");
      const body = await res.json();
      return res.status === 200 && body.channels.join() === "c" &&
        body.producers.map((p: { tcp_port: number }) => p.tcp_port).join() === String(nsqd.tcpPort);
    };
    await eventually(listed, 5000, "nsqd registered with nsqlookupd");
    await expectHttp(nsqd, "PUT", "/config/drain", 200, "true", "true");
    await nsqd.proc.waitForLine(DRAINING_LINE);
    // nsqd unregisters nothing when it starts draining: its consumers still find it.
    assert.equal(await listed(), true);
    assert.doesNotMatch(nsqd.proc.stderr, /UNREGISTER/);
    consumer.close();
    assert.equal(await nsqd.stop(), 0);
  } finally {
    await lookupd.stop();
  }
});

// In-process under Deno with the sanitizers on: drain() resolves once drained and closed.
Deno.test("embedded: drain() refuses publish(), resolves once the consumer finished everything", async () => {
  const dataPath = await tempDir();
  const nsqd = await startEmbedded({
    tcpAddress: "127.0.0.1:0",
    httpAddress: "",
    dataPath,
    logLevel: "fatal",
  });
  const c = await NsqConn.connect(nsqd.tcpAddr!.port);
  try {
    await c.write("  V2");
    await c.sub("t", "c");
    nsqd.publish("t", "a");
    nsqd.publish("t", "b", { deferMs: 200 });
    let drained = false;
    const drain = nsqd.drain().then(() => (drained = true));
    assert.equal(nsqd.draining, true);
    assert.throws(() => nsqd.publish("t", "late"), /draining/);
    assert.equal(nsqd.stats().draining, true);
    await c.rdy(2);
    assert.deepEqual((await consume(c, 2)).sort(), ["a", "b"]);
    await withTimeout(drain, 5000, "drain()");
    await nsqd.closed;
    assert.equal(drained, true);
    await c.expectClosed();
  } finally {
    c.close();
    await nsqd.close();
    await Deno.remove(dataPath, { recursive: true });
  }
});

Deno.test("embedded: close() during a drain ends it cleanly and resolves drain()", async () => {
  const dataPath = await tempDir();
  const nsqd = await startEmbedded({
    tcpAddress: "127.0.0.1:0",
    httpAddress: "",
    dataPath,
    logLevel: "fatal",
  });
  const c = await NsqConn.connect(nsqd.tcpAddr!.port);
  try {
    await c.write("  V2");
    await c.sub("t", "c"); // creates the channel; no RDY, so nothing drains
    nsqd.publish("t", "kept");
    const drain = nsqd.drain();
    await nsqd.close();
    await withTimeout(drain, 1000, "drain()");
    await c.expectClosed();
  } finally {
    c.close();
  }
  const again = await startEmbedded({
    tcpAddress: "127.0.0.1:0",
    httpAddress: "",
    dataPath,
    logLevel: "fatal",
  });
  const channel = (again.stats().topics![0].channels as { depth: number }[])[0];
  assert.equal(channel.depth, 1);
  await again.close();
  await Deno.remove(dataPath, { recursive: true });
});
