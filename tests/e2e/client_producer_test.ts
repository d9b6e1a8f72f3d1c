/**
 * The client Producer against our nsqd (as a child process on each runtime): go-nsq v1.1.0's
 * producer_test.go scenarios rewritten, plus pipelining order, each error code a producer can be
 * answered with, reconnect after nsqd restarts, close() waiting for what is in flight, batching,
 * AUTH, and the Producer itself running on Bun.
 */
import assert from "node:assert/strict";
import { NsqClosedError, NsqConnectionError, NsqError, Producer } from "../../mod.ts";
import { grant, startAuthServer } from "./auth_server.ts";
import {
  consumer,
  type NsqdProcess,
  readMessages,
  runtimeTest,
  startNsqd,
  testSecret,
  topicStats,
  withNsqd,
  withTimeout,
} from "./harness.ts";

// Secrets this file hands to nsqd: no log of the suite may contain them (harness.ts `testSecret`).
testSecret("s3cret");

const ROOT = new URL("../../", import.meta.url).pathname;

function producerFor(nsqd: NsqdProcess, options: ConstructorParameters<typeof Producer>[1] = {}): Producer {
  return new Producer(`127.0.0.1:${nsqd.tcpPort}`, options);
}

/** Reads `n` messages of `topic` on a fresh channel and returns their bodies in order of arrival. */
async function bodies(nsqd: NsqdProcess, topic: string, n: number): Promise<string[]> {
  const c = await consumer(nsqd, topic, "ch", Math.max(n, 1));
  try {
    return (await readMessages(c, n)).map((m) => m.text);
  } finally {
    c.close();
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

function assertNsqError(err: Error, code: string, message?: string): void {
  assert.ok(err instanceof NsqError, `expected NsqError, got ${err}`);
  assert.equal(err.code, code);
  if (message !== undefined) assert.equal(err.message, message);
}

// ---- go-nsq producer_test.go ------------------------------------------------------------------------

runtimeTest(
  "TestProducerConnection: publish connects lazily; after close() publish rejects with stopped",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const w = producerFor(nsqd);
      assert.equal(w.connected, false);
      await w.publish("write_test", "test");
      assert.equal(w.connected, true);
      await w.close();
      const err = await rejection(w.publish("write_test", "fail test"));
      assert.ok(err instanceof NsqClosedError);
      assert.equal(err.message, "stopped");
      assert.ok(await rejection(w.publishMany("write_test", ["x"])) instanceof NsqClosedError);
      assert.ok(await rejection(w.publishDeferred("write_test", 10, "x")) instanceof NsqClosedError);
      assert.ok(await rejection(w.ping()) instanceof NsqClosedError);
    });
  },
);

runtimeTest("TestProducerPublish: ten publishes one after another all arrive", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const w = producerFor(nsqd);
    for (let i = 0; i < 10; i++) await w.publish("publish", "publish_test_case");
    await w.publish("publish", "bad_test_case");
    await w.close();
    const got = await bodies(nsqd, "publish", 11);
    assert.deepEqual(got, [...Array(10).fill("publish_test_case"), "bad_test_case"]);
  });
});

runtimeTest("TestProducerMultiPublish: one MPUB of ten bodies arrives as ten messages", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const w = producerFor(nsqd);
    await w.publishMany("multi_publish", Array(10).fill("multipublish_test_case"));
    await w.publish("multi_publish", "bad_test_case");
    await w.close();
    assert.deepEqual(await bodies(nsqd, "multi_publish", 11), [
      ...Array(10).fill("multipublish_test_case"),
      "bad_test_case",
    ]);
  });
});

runtimeTest("TestProducerPublishAsync: ten publishes in flight at once each resolve", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const w = producerFor(nsqd);
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => w.publish("async", "publish_test_case")),
    );
    assert.deepEqual(results.map((r) => r.status), Array(10).fill("fulfilled"));
    await w.close();
    assert.deepEqual(await bodies(nsqd, "async", 10), Array(10).fill("publish_test_case"));
  });
});

runtimeTest(
  "TestProducerMultiPublishAsync: an MPUB and a PUB in flight together both resolve",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const w = producerFor(nsqd);
      const mpub = w.publishMany("multi_async", Array(10).fill("multipublish_test_case"));
      const pub = w.publish("multi_async", "bad_test_case");
      await Promise.all([mpub, pub]);
      await w.close();
      assert.equal((await topicStats(nsqd, "multi_async")).message_count, 11);
    });
  },
);

runtimeTest(
  "TestProducerHeartbeat: 100 ms is refused by IDENTIFY; with 1 s, heartbeats are answered and publishing goes on",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const bad = producerFor(nsqd, { heartbeatInterval: 100 });
      const err = await rejection(bad.publish("heartbeat", "publish_test_case"));
      assertNsqError(
        err,
        "E_BAD_BODY",
        "failed to IDENTIFY - E_BAD_BODY IDENTIFY heartbeat interval (100) is invalid",
      );
      assert.equal(bad.inFlight, 0);
      await bad.close();

      const w = producerFor(nsqd, { heartbeatInterval: 1000 });
      await w.publish("heartbeat", "publish_test_case");
      // Long enough for nsqd to send a heartbeat, which must be answered (NOP) and not taken for an answer.
      await new Promise((r) => setTimeout(r, 1100));
      const s = await nsqd.stats();
      assert.equal(s.producers?.length, 1);
      for (let i = 0; i < 10; i++) await w.publish("heartbeat", "publish_test_case");
      await w.publish("heartbeat", "bad_test_case");
      await w.close();
      assert.equal((await topicStats(nsqd, "heartbeat")).message_count, 12);
    });
  },
);

// ---- pipelining -------------------------------------------------------------------------------------

runtimeTest("answers settle in issue order under pipelining, across PUB, MPUB and DPUB", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const w = producerFor(nsqd);
    await w.ping(); // connected: the commands below go out in one write
    const settled: number[] = [];
    const all: Promise<void>[] = [];
    for (let i = 0; i < 2000; i++) {
      const p = i % 100 === 50
        ? w.publishMany("order", [`${i}a`, `${i}b`])
        : i % 100 === 99
        ? w.publishDeferred("order-deferred", 60_000, String(i))
        : w.publish("order", String(i));
      all.push(p.then(() => void settled.push(i)));
    }
    assert.equal(w.inFlight, 2000);
    await Promise.all(all);
    assert.deepEqual(settled, Array.from({ length: 2000 }, (_, i) => i));
    await w.close();
    const expected: string[] = [];
    for (let i = 0; i < 2000; i++) {
      if (i % 100 === 50) expected.push(`${i}a`, `${i}b`);
      else if (i % 100 !== 99) expected.push(String(i));
    }
    assert.deepEqual(await bodies(nsqd, "order", expected.length), expected);
    assert.equal((await topicStats(nsqd, "order-deferred")).message_count, 20);
  });
});

runtimeTest(
  "an error in the middle of a pipeline rejects that command with its code, later ones with NsqConnectionError",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const w = producerFor(nsqd);
      const ps = [w.publish("t", "1"), w.publish("t", "2"), w.publish("bad!", "3"), w.publish("t", "4")];
      const results = await Promise.allSettled(ps);
      assert.deepEqual(results.map((r) => r.status), ["fulfilled", "fulfilled", "rejected", "rejected"]);
      assertNsqError((results[2] as PromiseRejectedResult).reason, "E_BAD_TOPIC");
      assert.ok((results[3] as PromiseRejectedResult).reason instanceof NsqConnectionError);
      // The next publish reconnects on demand.
      await w.publish("t", "5");
      await w.close();
      assert.deepEqual(await bodies(nsqd, "t", 3), ["1", "2", "5"]);
    });
  },
);

// ---- error codes ------------------------------------------------------------------------------------

runtimeTest(
  "each error code a producer can be answered with reaches the caller as NsqError.code",
  async (rt) => {
    await withNsqd(
      rt,
      ["--max-msg-size=100", "--max-body-size=1000", "--max-req-timeout=2s"],
      async (nsqd) => {
        const w = producerFor(nsqd);
        assertNsqError(
          await rejection(w.publish("bad!topic", "x")),
          "E_BAD_TOPIC",
          'E_BAD_TOPIC PUB topic name "bad!topic" is not valid',
        );
        assertNsqError(await rejection(w.publishMany("bad!topic", ["x"])), "E_BAD_TOPIC");
        assertNsqError(await rejection(w.publishDeferred("bad!topic", 1, "x")), "E_BAD_TOPIC");
        assertNsqError(
          await rejection(w.publish("t", "x".repeat(101))),
          "E_BAD_MESSAGE",
          "E_BAD_MESSAGE PUB message too big 101 > 100",
        );
        assertNsqError(
          await rejection(w.publish("t", "")),
          "E_BAD_MESSAGE",
          "E_BAD_MESSAGE PUB invalid message body size 0",
        );
        assertNsqError(await rejection(w.publishMany("t", ["ok", "x".repeat(101)])), "E_BAD_MESSAGE");
        assertNsqError(await rejection(w.publishMany("t", [])), "E_BAD_BODY");
        assertNsqError(await rejection(w.publishMany("t", Array(20).fill("x".repeat(90)))), "E_BAD_BODY");
        assertNsqError(
          await rejection(w.publishDeferred("t", 5000, "x")),
          "E_INVALID",
          "E_INVALID DPUB timeout 5000 out of range 0-2000",
        );
        assertNsqError(await rejection(w.publishDeferred("t", -1, "x")), "E_INVALID");
        // After each fatal error nsqd closed the connection; the producer reconnects for the next command.
        await w.publishDeferred("t", 2000, "x");
        await w.close();
      },
    );
  },
);

runtimeTest("a topic with a space or line break is refused before anything is sent", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const w = producerFor(nsqd);
    for (const topic of ["a b", "a\nPUB b"]) {
      const err = await rejection(w.publish(topic, "x"));
      assert.ok(err instanceof TypeError, `${err}`);
    }
    assert.equal(w.connected, false);
    await w.close();
  });
});

runtimeTest(
  "AUTH with a secret, then publish where it is allowed (OK) and where not (E_UNAUTHORIZED)",
  async (rt) => {
    const server = startAuthServer(() =>
      grant([{ topic: "^t$", channels: [".*"], permissions: ["publish"] }])
    );
    try {
      await withNsqd(rt, [`--auth-http-address=${server.address}`], async (nsqd) => {
        const none = producerFor(nsqd);
        const err = await rejection(none.publish("t", "x"));
        assert.ok(err instanceof NsqConnectionError);
        assert.equal(err.message, "Auth Required");
        await none.close();

        const w = producerFor(nsqd, { authSecret: "s3cret" });
        await w.publish("t", "allowed");
        assert.equal(server.requests.at(-1)?.params.secret, "s3cret");
        assertNsqError(await rejection(w.publish("other", "x")), "E_UNAUTHORIZED");
        await w.close();
      });
    } finally {
      await server.close();
    }
  },
);

runtimeTest("a refused AUTH rejects the publish with the auth error's code", async (rt) => {
  const server = startAuthServer(() => grant([]));
  try {
    await withNsqd(rt, [`--auth-http-address=${server.address}`], async (nsqd) => {
      const w = producerFor(nsqd, { authSecret: "nope" });
      const err = await rejection(w.publish("t", "x"));
      assertNsqError(err, "E_UNAUTHORIZED");
      assert.match(err.message, /^Error authenticating E_UNAUTHORIZED/);
      await w.close();
    });
  } finally {
    await server.close();
  }
});

// ---- connection loss, reconnect, close ---------------------------------------------------------------

runtimeTest(
  "a publish in flight when nsqd dies rejects; after a restart the next publish reconnects",
  async (rt) => {
    let nsqd = await startNsqd(rt);
    const port = nsqd.tcpPort;
    const w = producerFor(nsqd);
    try {
      await w.publish("t", "before");
      nsqd.proc.signal("SIGSTOP"); // the next publish is written but never answered…
      const inFlight = w.publish("t", "lost?");
      const also = w.publishMany("t", ["a", "b"]);
      assert.equal(w.inFlight, 2);
      const rejected = Promise.all([rejection(inFlight), rejection(also)]);
      await nsqd.stop("SIGKILL"); // …until the connection drops
      const errs = await rejected;
      for (const err of errs) assert.ok(err instanceof NsqConnectionError, `${err}`);
      assert.equal(w.inFlight, 0);
      assert.equal(w.connected, false);
      // nsqd is down: the next publish fails to connect.
      assert.ok(await rejection(w.publish("t", "down")) instanceof NsqConnectionError);

      nsqd = await startNsqd(rt, [`--tcp-address=127.0.0.1:${port}`, "--http-address=127.0.0.1:0"], {
        noDefaultAddresses: true,
      });
      await w.publish("t", "after");
      await w.publishMany("t", ["after-a", "after-b"]);
      assert.equal((await topicStats(nsqd, "t")).message_count, 3);
    } finally {
      await w.close();
      await nsqd.stop();
    }
  },
);

runtimeTest("close() waits until every command in flight is answered", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const w = producerFor(nsqd);
    await w.ping();
    nsqd.proc.signal("SIGSTOP");
    const ps = [w.publish("t", "1"), w.publishMany("t", ["2", "3"]), w.publishDeferred("t", 5, "4")];
    let closed = false;
    const closing = w.close().then(() => closed = true);
    assert.ok(await rejection(w.publish("t", "late")) instanceof NsqClosedError);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(closed, false);
    assert.equal(w.inFlight, 3);
    nsqd.proc.signal("SIGCONT");
    await withTimeout(Promise.all([...ps, closing]), 5000, "close after SIGCONT");
    assert.equal(closed, true);
    assert.equal(w.connected, false);
    assert.equal((await topicStats(nsqd, "t")).message_count, 4);
  });
});

runtimeTest("publishes issued before the connection is up are sent in order once it is", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const w = producerFor(nsqd);
    const ps = Array.from({ length: 100 }, (_, i) => w.publish("t", String(i)));
    assert.equal(w.inFlight, 100);
    await Promise.all(ps);
    await w.close();
    assert.deepEqual(await bodies(nsqd, "t", 100), Array.from({ length: 100 }, (_, i) => String(i)));
  });
});

runtimeTest(
  "ping() connects and keeps the connection usable; a dial to a closed port rejects",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const w = producerFor(nsqd);
      await w.ping();
      assert.equal(w.connected, true);
      await w.publish("t", "x");
      await w.close();
    });
    const dead = await startNsqd(rt);
    const port = dead.tcpPort;
    await dead.stop();
    const w = new Producer(`127.0.0.1:${port}`);
    const err = await rejection(w.publish("t", "x"));
    assert.ok(err instanceof NsqConnectionError, `${err}`);
    assert.match(err.message, new RegExp(`^dial 127\\.0\\.0\\.1:${port}: `));
    await w.close();
  },
);

// ---- batching ----------------------------------------------------------------------------------------

runtimeTest(
  "with batching, publish() calls within the window travel as MPUBs and all resolve, in order",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const w = producerFor(nsqd, { batch: { maxMessages: 50, maxDelayMs: 20 } });
      const ps = Array.from({ length: 120 }, (_, i) => w.publish(i % 2 ? "odd" : "even", String(i)));
      await Promise.all(ps);
      // A single publish waits for the window, then goes as PUB.
      const t0 = performance.now();
      await w.publish("even", "single");
      assert.ok(performance.now() - t0 >= 15, "waited for the batch window");
      await w.close();
      assert.deepEqual(
        await bodies(nsqd, "odd", 60),
        Array.from({ length: 60 }, (_, i) => String(2 * i + 1)),
      );
      assert.deepEqual(await bodies(nsqd, "even", 61), [
        ...Array.from({ length: 60 }, (_, i) => String(2 * i)),
        "single",
      ]);
    });
  },
);

runtimeTest(
  "with batching, an error rejects every publish of its batch; close() sends an open batch",
  async (rt) => {
    await withNsqd(rt, ["--max-msg-size=10"], async (nsqd) => {
      const w = producerFor(nsqd, { batch: { maxDelayMs: 1000 } });
      const ps = [w.publish("t", "ok"), w.publish("t", "x".repeat(11)), w.publish("t", "ok")];
      const closing = w.close(); // does not wait for the 1 s window
      const results = await Promise.allSettled(ps);
      for (const r of results) {
        assert.equal(r.status, "rejected");
        assertNsqError((r as PromiseRejectedResult).reason, "E_BAD_MESSAGE");
      }
      await closing;

      const v = producerFor(nsqd, { batch: { maxDelayMs: 1000 } });
      const good = [v.publish("t", "a"), v.publish("t", "b")];
      await v.close();
      await Promise.all(good);
      assert.equal((await topicStats(nsqd, "t")).message_count, 2);
    });
  },
);

Deno.test("Producer: batch and config options are validated when it is made", () => {
  assert.throws(() => new Producer("127.0.0.1:4150", { batch: { maxMessages: 0 } }), RangeError);
  assert.throws(() => new Producer("127.0.0.1:4150", { batch: { maxDelayMs: -1 } }), RangeError);
  assert.throws(() => new Producer("127.0.0.1:4150", { sampleRate: 100 }), /option sampleRate/);
  assert.throws(() => new Producer("nowhere"), TypeError);
});

// ---- the client on Bun -------------------------------------------------------------------------------

for (const mode of ["pipelined", "batch"]) {
  runtimeTest(`the Producer running on Bun publishes ${mode} to nsqd`, async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const out = await new Deno.Command(`${ROOT}node_modules/.bin/bun`, {
        args: [`${ROOT}tests/e2e/clients/producer_client.ts`, String(nsqd.tcpPort), "from_bun", "500", mode],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "published 503");
      const got = await bodies(nsqd, "from_bun", 502);
      assert.deepEqual(got, [...Array.from({ length: 500 }, (_, i) => String(i)), "mpub-a", "mpub-b"]);
      assert.equal((await topicStats(nsqd, "from_bun")).message_count, 503);
    });
  });
}
