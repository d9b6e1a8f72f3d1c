/**
 * The Consumer's commands on the wire, byte for byte, against a scripted nsqd in this process:
 * go-nsq v1.1.0's mock_test.go (TestConsumerBackoff, TestConsumerRequeueNoBackoff,
 * TestConsumerBackoffDisconnect, TestConsumerPause) rewritten. The mock answers IDENTIFY and SUB
 * with OK, then sends its message frames 20 ms apart while RDY (counted down per message, as the
 * mock does) allows, and records every command line.
 */
import assert from "node:assert/strict";
import { Consumer, type ConsumerMessage } from "../../mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function frame(type: number, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 4 + data.length);
  view.setUint32(4, type);
  out.set(data, 8);
  return out;
}

function message(id: string, body: string): Uint8Array {
  const b = encoder.encode(body);
  const data = new Uint8Array(26 + b.length); // timestamp 0, attempts 0 (go-nsq's NewMessage)
  data.set(encoder.encode(id), 10);
  data.set(b, 26);
  return frame(2, data);
}

/** A one-connection scripted nsqd: sends `bodies` (id, body) 20 ms apart, exits `exitAfterMs` after the last. */
function mockNsqd(messages: [string, string][], exitAfterMs: number, port = 0) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port });
  const got: string[] = [];
  const done = (async () => {
    const conn = await listener.accept();
    let rdy = 0;
    let closed = false;
    const reader = (async () => {
      const buf = new Uint8Array(65536);
      let pending = new Uint8Array(0);
      let magic = false;
      for (;;) {
        const n = await conn.read(buf).catch(() => null);
        if (n === null) break;
        const next = new Uint8Array(pending.length + n);
        next.set(pending);
        next.set(buf.subarray(0, n), pending.length);
        pending = next;
        if (!magic && pending.length >= 4) {
          pending = pending.subarray(4);
          magic = true;
        }
        for (;;) {
          const nl = pending.indexOf(10);
          if (nl < 0) break;
          const line = decoder.decode(pending.subarray(0, nl));
          if (line === "IDENTIFY") {
            if (pending.length < nl + 5) break;
            const size = new DataView(pending.buffer, pending.byteOffset + nl + 1).getUint32(0);
            if (pending.length < nl + 5 + size) break;
            pending = pending.subarray(nl + 5 + size);
          } else pending = pending.subarray(nl + 1);
          got.push(line);
          if (line === "IDENTIFY" || line.startsWith("SUB ")) {
            await conn.write(frame(0, encoder.encode("OK")));
          }
          if (line.startsWith("RDY ")) rdy = Number(line.slice(4));
        }
      }
    })();
    for (let i = 0; i < messages.length;) {
      await new Promise((r) => setTimeout(r, 20));
      if (rdy === 0) continue;
      rdy--;
      await conn.write(message(...messages[i++]));
    }
    await new Promise((r) => setTimeout(r, exitAfterMs));
    closed = true;
    listener.close();
    conn.close();
    await reader;
    return closed;
  })();
  return { port: (listener.addr as Deno.NetAddr).port, got, done };
}

const GOOD = "1234567890asdfgh";
const BAD = "zxcvb67890asdfgh";
const REQUEUE = "reqvb67890asdfgh";
const REQUEUE_NO_BACKOFF = "reqnback90asdfgh";

/** go-nsq mock_test.go's testHandler. */
function testHandler(msg: ConsumerMessage): void {
  switch (msg.text) {
    case "requeue":
      msg.requeue();
      return;
    case "requeue_no_backoff_1":
      if (msg.attempts > 1) return;
      msg.requeue(undefined, false);
      return;
    case "bad":
      throw new Error("bad");
  }
}

function wireTest(name: string, fn: () => Promise<void>): void {
  Deno.test({ name, sanitizeOps: false, sanitizeResources: false, fn });
}

wireTest(
  "TestConsumerBackoff: RDY 0 before each REQ, RDY 1 after each period, RDY 5 on leaving",
  async () => {
    const n = mockNsqd([
      [GOOD, "good"],
      [GOOD, "good"],
      [GOOD, "good"],
      [BAD, "bad"],
      [BAD, "bad"],
      [GOOD, "good"],
      [GOOD, "good"],
    ], 200);
    const q = new Consumer("test_consumer_commands", "ch", {
      maxInFlight: 5,
      backoffMultiplier: 10,
      onError: () => {},
    });
    q.addHandler(testHandler);
    await q.connectToNsqd(`127.0.0.1:${n.port}`);
    await n.done;
    await q.stop({ timeoutMs: 100 });
    assert.deepEqual(n.got, [
      "IDENTIFY",
      "SUB test_consumer_commands ch",
      "RDY 5",
      `FIN ${GOOD}`,
      `FIN ${GOOD}`,
      `FIN ${GOOD}`,
      "RDY 0",
      `REQ ${BAD} 0`,
      "RDY 1",
      "RDY 0",
      `REQ ${BAD} 0`,
      "RDY 1",
      "RDY 0",
      `FIN ${GOOD}`,
      "RDY 1",
      "RDY 5",
      `FIN ${GOOD}`,
    ]);
  },
);

wireTest("TestConsumerRequeueNoBackoff: requeue(undefined, false) keeps the level", async () => {
  const n = mockNsqd([
    [REQUEUE, "requeue"],
    [REQUEUE_NO_BACKOFF, "requeue_no_backoff_1"],
    [GOOD, "good"],
  ], 100);
  const q = new Consumer("test_requeue", "ch", { maxInFlight: 1, backoffMultiplier: 10, onError: () => {} });
  q.addHandler(testHandler);
  await q.connectToNsqd(`127.0.0.1:${n.port}`);
  await n.done;
  await q.stop({ timeoutMs: 100 });
  assert.deepEqual(n.got, [
    "IDENTIFY",
    "SUB test_requeue ch",
    "RDY 1",
    "RDY 0",
    `REQ ${REQUEUE} 0`,
    "RDY 1",
    "RDY 0",
    `REQ ${REQUEUE_NO_BACKOFF} 0`,
    "RDY 1",
    "RDY 1",
    `FIN ${GOOD}`,
  ]);
});

wireTest("TestConsumerBackoffDisconnect: after a reconnect in backoff, RDY 1 then RDY 5", async () => {
  const n = mockNsqd([
    [GOOD, "good"],
    [REQUEUE, "requeue"],
    [REQUEUE, "requeue"],
    [GOOD, "good"],
  ], 100);
  const q = new Consumer("test_requeue", "ch", {
    maxInFlight: 5,
    backoffMultiplier: 10,
    lookupdPollInterval: 10,
    rdyRedistributeInterval: 10,
    onError: () => {},
  });
  q.addHandler(testHandler);
  await q.connectToNsqd(`127.0.0.1:${n.port}`);
  await n.done;
  assert.deepEqual(n.got, [
    "IDENTIFY",
    "SUB test_requeue ch",
    "RDY 5",
    `FIN ${GOOD}`,
    "RDY 0",
    `REQ ${REQUEUE} 0`,
    "RDY 1",
    "RDY 0",
    `REQ ${REQUEUE} 0`,
    "RDY 1",
    "RDY 0",
    `FIN ${GOOD}`,
    "RDY 1",
  ]);
  const n2 = mockNsqd([[GOOD, "good"], [GOOD, "good"]], 100, n.port);
  await n2.done;
  await q.stop({ timeoutMs: 100 });
  assert.deepEqual(n2.got, [
    "IDENTIFY",
    "SUB test_requeue ch",
    "RDY 1",
    "RDY 5",
    `FIN ${GOOD}`,
    `FIN ${GOOD}`,
  ]);
});

wireTest("TestConsumerPause: changeMaxInFlight(0) sends RDY 0, changing it back RDY 5", async () => {
  const n = mockNsqd([[GOOD, "good"]], 200);
  const q = new Consumer("test_pause", "ch", { maxInFlight: 5, onError: () => {} });
  q.addHandler(testHandler);
  await q.connectToNsqd(`127.0.0.1:${n.port}`);
  setTimeout(() => q.changeMaxInFlight(0), 50);
  setTimeout(() => q.changeMaxInFlight(5), 75);
  await n.done;
  await q.stop({ timeoutMs: 100 });
  assert.deepEqual(n.got, ["IDENTIFY", "SUB test_pause ch", "RDY 5", `FIN ${GOOD}`, "RDY 0", "RDY 5"]);
});
