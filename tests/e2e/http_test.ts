/**
 * nsqd's HTTP API as far as this version has it (shared/nsq-reference.md §2.1–2.5): /ping, /info,
 * /pub, /mpub, /stats?format=json, and the 404/405 answers — status codes, exact bodies and headers.
 */
import assert from "node:assert/strict";
import {
  assertV1Error,
  concat,
  consumer,
  encodeCommand,
  int32,
  JSON_TYPE,
  NSQ_HEADER,
  type NsqdProcess,
  readMessages,
  type Reply,
  runtimeTest,
  type StatsJson,
  topicStats,
  until,
  withNsqd,
} from "./harness.ts";

const TEXT_TYPE = "text/plain; charset=utf-8";

// ---- local helpers ------------------------------------------------------------------------------

async function call(
  nsqd: NsqdProcess,
  method: string,
  path: string,
  body?: string | Uint8Array,
): Promise<Reply> {
  const res = await nsqd.http(path, { method, body: body as BodyInit | undefined });
  const text = await res.text();
  return { status: res.status, text, headers: res.headers };
}

/** Asserts a V1 text success `OK`. */
function assertV1Ok(r: Reply, what = ""): void {
  assert.deepEqual([r.status, r.text], [200, "OK"], what);
  assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER, `X-NSQ-Content-Type ${what}`);
}

/** A raw TCP connection (so its local port is known); what it is sent is written in one go. */
async function rawClient(nsqd: NsqdProcess, ...commands: Uint8Array[]): Promise<[Deno.TcpConn, number]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: nsqd.tcpPort });
  const bytes = concat("  V2", ...commands);
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
  return [conn, (conn.localAddr as Deno.NetAddr).port];
}

function binaryMpubBody(bodies: (string | Uint8Array)[]): Uint8Array {
  const enc = new TextEncoder();
  const parts = bodies.map((b) => (typeof b === "string" ? enc.encode(b) : b));
  return concat(int32(parts.length), ...parts.flatMap((p) => [int32(p.length), p]));
}

const TOP_KEYS = ["version", "health", "start_time", "topics", "memory", "producers"];
const MEMORY_KEYS = [
  "heap_objects",
  "heap_idle_bytes",
  "heap_in_use_bytes",
  "heap_released_bytes",
  "gc_pause_usec_100",
  "gc_pause_usec_99",
  "gc_pause_usec_95",
  "next_gc_bytes",
  "gc_total_runs",
];
const TOPIC_KEYS = [
  "topic_name",
  "channels",
  "depth",
  "backend_depth",
  "message_count",
  "message_bytes",
  "paused",
  "e2e_processing_latency",
];
const CHANNEL_KEYS = [
  "channel_name",
  "depth",
  "backend_depth",
  "in_flight_count",
  "deferred_count",
  "message_count",
  "requeue_count",
  "timeout_count",
  "client_count",
  "clients",
  "paused",
  "e2e_processing_latency",
];
const CLIENT_KEYS = [
  "client_id",
  "hostname",
  "version",
  "remote_address",
  "state",
  "ready_count",
  "in_flight_count",
  "message_count",
  "finish_count",
  "requeue_count",
  "connect_ts",
  "sample_rate",
  "deflate",
  "snappy",
  "user_agent",
  "topology_zone",
  "topology_region",
  "tls",
  "tls_cipher_suite",
  "tls_version",
  "tls_negotiated_protocol",
  "tls_negotiated_protocol_is_mutual",
];
/** omitempty keys (§2.4) that may or may not appear. */
const OPTIONAL_KEYS = new Set([
  "authed",
  "auth_identity",
  "auth_identity_url",
  "pub_counts",
  "zone_local_msg_count",
  "region_local_msg_count",
  "global_msg_count",
]);

function keysOf(o: StatsJson): string[] {
  return Object.keys(o).filter((k) => !OPTIONAL_KEYS.has(k));
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

// ---- /ping, /info -------------------------------------------------------------------------------

runtimeTest("GET /ping answers 200 OK as plain text without the X-NSQ header", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const r = await call(nsqd, "GET", "/ping");
    assert.deepEqual([r.status, r.text], [200, "OK"]);
    assert.match(r.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(r.headers.get("x-nsq-content-type"), null);
  });
});

runtimeTest("GET /info reports version 1.3.0, the real ports and limits in nanoseconds", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const r = await call(nsqd, "GET", "/info");
    assert.equal(r.status, 200);
    assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER);
    assert.equal(r.headers.get("content-type"), JSON_TYPE);
    const info = JSON.parse(r.text);
    const expectedOrder = [
      "version",
      "broadcast_address",
      "hostname",
      "http_port",
      "tcp_port",
      "start_time",
      "max_heartbeat_interval",
      "max_output_buffer_size",
      "max_output_buffer_timeout",
      "max_deflate_level",
      "topology_zone",
      "topology_region",
    ];
    assert.deepEqual(Object.keys(info).filter((k) => expectedOrder.includes(k)), expectedOrder);
    assert.equal(info.version, "1.3.0");
    assert.equal(info.tcp_port, nsqd.tcpPort);
    assert.equal(info.http_port, nsqd.httpPort);
    assert.equal(info.max_heartbeat_interval, 60_000_000_000);
    assert.equal(info.max_output_buffer_timeout, 30_000_000_000);
    assert.equal(info.max_output_buffer_size, 65536);
    assert.equal(info.max_deflate_level, 6);
    assert.equal(info.topology_zone, "");
    assert.equal(info.topology_region, "");
    assert.equal(typeof info.hostname, "string");
    assert.ok(info.hostname.length > 0);
    assert.equal(info.broadcast_address, info.hostname, "broadcast address defaults to the hostname");
    assert.ok(Number.isInteger(info.start_time));
    assert.ok(Math.abs(info.start_time - nowSeconds()) < 120, `start_time ${info.start_time}`);
  });
});

runtimeTest("GET /info follows the limit flags", async (rt) => {
  await withNsqd(rt, [
    "--max-heartbeat-interval=10s",
    "--max-output-buffer-timeout=2s",
    "--max-output-buffer-size=1024",
    "--max-deflate-level=9",
  ], async (nsqd) => {
    const info = JSON.parse((await call(nsqd, "GET", "/info")).text);
    assert.equal(info.max_heartbeat_interval, 10_000_000_000);
    assert.equal(info.max_output_buffer_timeout, 2_000_000_000);
    assert.equal(info.max_output_buffer_size, 1024);
    assert.equal(info.max_deflate_level, 9);
  });
});

// ---- /pub ---------------------------------------------------------------------------------------

runtimeTest("POST /pub answers OK and the message can be consumed over TCP", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const r = await call(nsqd, "POST", "/pub?topic=t", "hello http");
    assertV1Ok(r);
    assert.equal(r.headers.get("content-type"), TEXT_TYPE);
    const t = await topicStats(nsqd, "t");
    assert.equal(t.depth, 1, "the message waits on the topic without channels");
    assert.equal(t.message_bytes, "hello http".length);
    const c = await consumer(nsqd, "t", "c", 1);
    const m = await c.readMessage();
    assert.equal(m.text, "hello http");
    assert.equal(m.attempts, 1);
    c.close();
  });
});

runtimeTest("POST /pub keeps binary bodies byte for byte", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const body = new Uint8Array(256).map((_, i) => 255 - i);
    assertV1Ok(await call(nsqd, "POST", "/pub?topic=t", body));
    const c = await consumer(nsqd, "t", "c", 1);
    const m = await c.readMessage();
    assert.deepEqual(m.body, body);
    c.close();
  });
});

runtimeTest(
  "POST /pub rejects empty bodies, missing or invalid topics and oversized messages",
  async (rt) => {
    await withNsqd(rt, ["--max-msg-size=10"], async (nsqd) => {
      assertV1Error(await call(nsqd, "POST", "/pub?topic=t", ""), 400, "MSG_EMPTY", "empty body");
      assertV1Error(await call(nsqd, "POST", "/pub", ""), 400, "MSG_EMPTY", "empty body, no topic");
      assertV1Error(await call(nsqd, "POST", "/pub", "x"), 400, "MISSING_ARG_TOPIC", "no topic");
      assertV1Error(await call(nsqd, "POST", "/pub?topic=bad!name", "x"), 400, "INVALID_TOPIC", "bad!name");
      assertV1Error(
        await call(nsqd, "POST", `/pub?topic=${"a".repeat(65)}`, "x"),
        400,
        "INVALID_TOPIC",
        "65 chars",
      );
      assertV1Error(await call(nsqd, "POST", "/pub?topic=t", "01234567890"), 413, "MSG_TOO_BIG", "11 bytes");
      assertV1Ok(await call(nsqd, "POST", "/pub?topic=t", "0123456789"), "exactly --max-msg-size");
      assertV1Ok(await call(nsqd, "POST", `/pub?topic=${"a".repeat(64)}`, "x"), "64-char topic");
      const t = await topicStats(nsqd, "t");
      assert.equal(t.message_count, 1, "only the valid publish counted");
    });
  },
);

runtimeTest(
  "POST /pub and /mpub read chunked bodies (no Content-Length) and hold them to the same limits",
  async (rt) => {
    await withNsqd(rt, ["--max-msg-size=10", "--max-body-size=25"], async (nsqd) => {
      const enc = new TextEncoder();
      // A body in several chunks without a Content-Length (Transfer-Encoding: chunked).
      const chunked = async (path: string, parts: string[]) => {
        const res = await fetch(`${nsqd.httpUrl}${path}`, {
          method: "POST",
          body: new ReadableStream<Uint8Array>({
            start(c) {
              for (const p of parts) c.enqueue(enc.encode(p));
              c.close();
            },
          }),
          // @ts-ignore: RequestInit.duplex is not in every runtime's types; a streamed body needs it.
          duplex: "half",
        });
        return { status: res.status, body: await res.text() };
      };
      assert.deepEqual(await chunked("/pub?topic=ch", ["01234", "56789"]), { status: 200, body: "OK" });
      assert.deepEqual(await chunked("/pub?topic=ch", ["01234", "567890"]), {
        status: 413,
        body: '{"message":"MSG_TOO_BIG"}',
      });
      assert.deepEqual(await chunked("/mpub?topic=ch", ["a\nbb\n", "ccc"]), { status: 200, body: "OK" });
      assert.deepEqual(await chunked("/mpub?topic=ch", ["0123456789\n", "0123456789\n", "0123"]), {
        status: 413,
        body: '{"message":"BODY_TOO_BIG"}',
      });
      const c = await consumer(nsqd, "ch", "c", 10);
      const msgs = await readMessages(c, 4);
      c.close();
      assert.deepEqual(msgs.map((m) => new TextDecoder().decode(m.body)), ["0123456789", "a", "bb", "ccc"]);
    });
  },
);

runtimeTest(
  "POST /pub rejects a defer that is not an integer, negative or above --max-req-timeout",
  async (rt) => {
    await withNsqd(rt, ["--max-req-timeout=1s"], async (nsqd) => {
      for (const d of ["abc", "1.5", "", "-1", "1001"]) {
        assertV1Error(
          await call(nsqd, "POST", `/pub?topic=t&defer=${d}`, "x"),
          400,
          "INVALID_DEFER",
          `defer=${d}`,
        );
      }
      assertV1Ok(await call(nsqd, "POST", "/pub?topic=t&defer=1000", "x"), "defer=1000");
      assertV1Ok(await call(nsqd, "POST", "/pub?topic=t&defer=0", "x"), "defer=0");
      assert.equal((await topicStats(nsqd, "t")).message_count, 2);
    });
  },
);

runtimeTest("POST /pub with defer=300 delays delivery by at least 300 ms", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 1);
    const t0 = Date.now();
    assertV1Ok(await call(nsqd, "POST", "/pub?topic=t&defer=300", "later"));
    const m = await c.readMessage(8000);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 250, `delivered after ${elapsed} ms, before the 300 ms deferral`);
    assert.equal(m.text, "later");
    assert.equal(m.attempts, 1);
    c.close();
  });
});

// ---- /mpub --------------------------------------------------------------------------------------

runtimeTest(
  "POST /mpub in text mode publishes one message per line, skipping empty lines and keeping \\r",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "t", "c", 10);
      assertV1Ok(await call(nsqd, "POST", "/mpub?topic=t", "a\n\nb\r\nc\n\n"));
      const got = await readMessages(c, 3);
      assert.deepEqual(got.map((m) => m.text), ["a", "b\r", "c"]);
      await c.expectNothing(200);
      assert.equal((await topicStats(nsqd, "t")).message_count, 3);
      c.close();
    });
  },
);

runtimeTest("POST /mpub with binary=false or 0 is text mode", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 10);
    assertV1Ok(await call(nsqd, "POST", "/mpub?topic=t&binary=false", "x\ny"));
    assertV1Ok(await call(nsqd, "POST", "/mpub?topic=t&binary=0", "z"));
    const got = await readMessages(c, 3);
    assert.deepEqual(got.map((m) => m.text), ["x", "y", "z"]);
    c.close();
  });
});

runtimeTest("POST /mpub with binary=true, 1 or any other value reads the binary format", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await consumer(nsqd, "t", "c", 20);
    const bodies = ["line\none", new Uint8Array([0, 10, 13, 255])];
    for (const v of ["true", "1", "yes"]) {
      assertV1Ok(
        await call(nsqd, "POST", `/mpub?topic=t&binary=${v}`, binaryMpubBody(bodies)),
        `binary=${v}`,
      );
      const got = await readMessages(c, 2);
      assert.equal(got[0].text, "line\none", `binary=${v}`);
      assert.deepEqual(got[1].body, bodies[1], `binary=${v}`);
    }
    await c.expectNothing(200);
    c.close();
  });
});

runtimeTest("POST /mpub with an empty body answers OK and publishes nothing", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    assertV1Ok(await call(nsqd, "POST", "/mpub?topic=t", ""));
    const t = await topicStats(nsqd, "t");
    assert.ok(t, "the topic is created");
    assert.equal(t.message_count, 0);
    assert.equal(t.depth, 0);
  });
});

runtimeTest(
  "POST /mpub rejects missing or invalid topics, oversized bodies and oversized lines",
  async (rt) => {
    await withNsqd(rt, ["--max-msg-size=10", "--max-body-size=100"], async (nsqd) => {
      assertV1Error(await call(nsqd, "POST", "/mpub", "a\nb"), 400, "MISSING_ARG_TOPIC", "no topic");
      assertV1Error(await call(nsqd, "POST", "/mpub?topic=a/b", "a\nb"), 400, "INVALID_TOPIC", "a/b");
      const big = "012345678\n".repeat(10) + "x"; // 101 bytes, every line within --max-msg-size
      assertV1Error(
        await call(nsqd, "POST", "/mpub?topic=t", big),
        413,
        "BODY_TOO_BIG",
        "101-byte text body",
      );
      assertV1Error(
        await call(
          nsqd,
          "POST",
          "/mpub?topic=t&binary=true",
          binaryMpubBody(["0123456789", ...Array(9).fill("0123456")]),
        ),
        413,
        "BODY_TOO_BIG",
        "binary body over 100 bytes",
      );
      assertV1Error(
        await call(nsqd, "POST", "/mpub?topic=t", "ok\n01234567890\nok"),
        413,
        "MSG_TOO_BIG",
        "11-byte line",
      );
      assertV1Ok(await call(nsqd, "POST", "/mpub?topic=u", "0123456789\n" + "012345678\n".repeat(8) + "x"));
      assert.equal(
        (await topicStats(nsqd, "t")).message_count,
        0,
        "nothing of a rejected batch is published",
      );
      assert.equal((await topicStats(nsqd, "u")).message_count, 10);
    });
  },
);

runtimeTest(
  "POST /mpub in binary mode answers malformed bodies with 413 BAD_BODY or BAD_MESSAGE",
  async (rt) => {
    await withNsqd(rt, ["--max-msg-size=10"], async (nsqd) => {
      const post = (body: Uint8Array) => call(nsqd, "POST", "/mpub?topic=t&binary=true", body);
      assertV1Error(await post(new Uint8Array([0, 1])), 413, "BAD_BODY", "truncated count");
      assertV1Error(await post(int32(0)), 413, "BAD_BODY", "count 0");
      assertV1Error(await post(int32(-1)), 413, "BAD_BODY", "negative count");
      assertV1Error(
        await post(concat(int32(2), int32(1), "a")),
        413,
        "BAD_MESSAGE",
        "missing second message",
      );
      assertV1Error(await post(concat(int32(1), int32(0))), 413, "BAD_MESSAGE", "zero-size message");
      assertV1Error(
        await post(concat(int32(1), int32(11), "01234567890")),
        413,
        "BAD_MESSAGE",
        "11-byte message",
      );
      assertV1Error(await post(concat(int32(1), int32(5), "ab")), 413, "BAD_MESSAGE", "truncated body");
      assert.equal((await topicStats(nsqd, "t")).message_count, 0);
    });
  },
);

// ---- routing errors ---------------------------------------------------------------------------------

runtimeTest("an unknown path answers 404 NOT_FOUND and a wrong method 405 METHOD_NOT_ALLOWED", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    assertV1Error(await call(nsqd, "GET", "/nope"), 404, "NOT_FOUND", "GET /nope");
    assertV1Error(await call(nsqd, "POST", "/does/not/exist", "x"), 404, "NOT_FOUND", "POST /does/not/exist");
    assertV1Error(await call(nsqd, "GET", "/pub?topic=t"), 405, "METHOD_NOT_ALLOWED", "GET /pub");
    assertV1Error(await call(nsqd, "GET", "/mpub?topic=t"), 405, "METHOD_NOT_ALLOWED", "GET /mpub");
    assertV1Error(await call(nsqd, "POST", "/ping", "x"), 405, "METHOD_NOT_ALLOWED", "POST /ping");
    assertV1Error(await call(nsqd, "POST", "/info", "x"), 405, "METHOD_NOT_ALLOWED", "POST /info");
    assertV1Error(await call(nsqd, "POST", "/stats", "x"), 405, "METHOD_NOT_ALLOWED", "POST /stats");
    assert.equal(await topicStats(nsqd, "t"), undefined, "GET /pub created no topic");
  });
});

// ---- /stats -------------------------------------------------------------------------------------

runtimeTest(
  "GET /stats?format=json on an empty nsqd starts with version, health, start_time, [] topics and memory",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const r = await call(nsqd, "GET", "/stats?format=json");
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("content-type"), JSON_TYPE);
      assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER);
      assert.match(r.text, /^\{"version":"1\.3\.0","health":"OK","start_time":\d+,"topics":\[\],"memory":\{/);
      const s = JSON.parse(r.text);
      assert.deepEqual(Object.keys(s), TOP_KEYS);
      assert.deepEqual(Object.keys(s.memory), MEMORY_KEYS);
      for (const k of MEMORY_KEYS) assert.equal(typeof s.memory[k], "number", k);
      assert.equal(s.producers, null);
      assert.ok(Math.abs(s.start_time - nowSeconds()) < 120, `start_time ${s.start_time}`);
    });
  },
);

runtimeTest(
  "GET /stats lists topics, channels and clients with the keys, order and values of nsqd",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const [conn, port] = await rawClient(
        nsqd,
        encodeCommand(
          "IDENTIFY",
          JSON.stringify({ client_id: "worker-1", hostname: "box.example", user_agent: "e2e/1.0" }),
        ),
        encodeCommand("SUB t c"),
        encodeCommand("RDY 3"),
      );
      const remote = `127.0.0.1:${port}`;
      await until("client subscribed", async () => {
        const ch = (await topicStats(nsqd, "t"))?.channels[0];
        assert.equal(ch?.clients?.[0]?.ready_count, 3);
      });
      assertV1Ok(await call(nsqd, "POST", "/pub?topic=t", "hello"));
      assertV1Ok(await call(nsqd, "POST", "/pub?topic=t", "hi"));
      await until("two messages in flight", async () => {
        const ch = (await topicStats(nsqd, "t")).channels[0];
        assert.equal(ch.in_flight_count, 2);
      });

      const s = await nsqd.stats();
      assert.deepEqual(Object.keys(s), TOP_KEYS);
      assert.equal(s.topics.length, 1);
      const t = s.topics[0];
      assert.deepEqual(keysOf(t), TOPIC_KEYS);
      assert.deepEqual(
        { ...t, channels: undefined },
        {
          topic_name: "t",
          channels: undefined,
          depth: 0,
          backend_depth: 0,
          message_count: 2,
          message_bytes: 7,
          paused: false,
          e2e_processing_latency: { count: 0, percentiles: null },
        },
      );
      assert.equal(t.channels.length, 1);
      const ch = t.channels[0];
      assert.deepEqual(keysOf(ch), CHANNEL_KEYS);
      assert.deepEqual(
        { ...ch, clients: undefined },
        {
          channel_name: "c",
          depth: 0,
          backend_depth: 0,
          in_flight_count: 2,
          deferred_count: 0,
          message_count: 2,
          requeue_count: 0,
          timeout_count: 0,
          client_count: 1,
          clients: undefined,
          paused: false,
          e2e_processing_latency: { count: 0, percentiles: null },
        },
      );
      assert.equal(ch.clients.length, 1);
      const cl = ch.clients[0];
      assert.deepEqual(keysOf(cl), CLIENT_KEYS);
      assert.ok(Math.abs(cl.connect_ts - nowSeconds()) < 120, `connect_ts ${cl.connect_ts}`);
      assert.deepEqual({ ...cl, connect_ts: 0 }, {
        client_id: "worker-1",
        hostname: "box.example",
        version: "V2",
        remote_address: remote,
        state: 3,
        ready_count: 3,
        in_flight_count: 2,
        message_count: 2,
        finish_count: 0,
        requeue_count: 0,
        connect_ts: 0,
        sample_rate: 0,
        deflate: false,
        snappy: false,
        user_agent: "e2e/1.0",
        topology_zone: "",
        topology_region: "",
        tls: false,
        tls_cipher_suite: "",
        tls_version: "",
        tls_negotiated_protocol: "",
        tls_negotiated_protocol_is_mutual: false,
      });
      assert.equal(s.producers, null, "HTTP publishes are not producers");
      conn.close();
    });
  },
);

runtimeTest(
  "a client's client_id and hostname default to its IP and IDENTIFY overwrites them even with empty strings",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const [plain, plainPort] = await rawClient(nsqd, encodeCommand("SUB t c"), encodeCommand("RDY 1"));
      const [empty, emptyPort] = await rawClient(
        nsqd,
        encodeCommand("IDENTIFY", JSON.stringify({ client_id: "", hostname: "", user_agent: "agent/2" })),
        encodeCommand("SUB t c"),
        encodeCommand("RDY 7"),
      );
      await until("both clients subscribed", async () => {
        const ch = (await topicStats(nsqd, "t"))?.channels[0];
        assert.equal(ch?.client_count, 2);
        const byAddr = new Map(ch.clients.map((c: StatsJson) => [c.remote_address, c]));
        const a = byAddr.get(`127.0.0.1:${plainPort}`) as StatsJson;
        const b = byAddr.get(`127.0.0.1:${emptyPort}`) as StatsJson;
        assert.ok(a && b, `clients ${[...byAddr.keys()]}`);
        assert.deepEqual(
          [a.client_id, a.hostname, a.user_agent, a.state, a.ready_count],
          ["127.0.0.1", "127.0.0.1", "", 3, 1],
        );
        assert.deepEqual([b.client_id, b.hostname, b.user_agent, b.state, b.ready_count], [
          "",
          "",
          "agent/2",
          3,
          7,
        ]);
      });
      plain.close();
      empty.close();
    });
  },
);

runtimeTest("GET /stats with an unknown topic filter reports topics null", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    assertV1Ok(await call(nsqd, "POST", "/pub?topic=t", "x"));
    const r = await call(nsqd, "GET", "/stats?format=json&topic=nope");
    assert.equal(r.status, 200);
    assert.match(r.text, /"topics":null/);
    assert.equal(JSON.parse(r.text).topics, null);
  });
});

runtimeTest("GET /stats filters by topic and by channel", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const conns = [
      await consumer(nsqd, "t1", "c1", 1),
      await consumer(nsqd, "t1", "c2", 1),
      await consumer(nsqd, "t2", "c1", 1),
      await consumer(nsqd, "t3", "c2", 1),
    ];
    const names = (s: StatsJson) =>
      s.topics.map((t: StatsJson) => [t.topic_name, t.channels.map((c: StatsJson) => c.channel_name)]);

    assert.deepEqual(names(await nsqd.stats()), [["t1", ["c1", "c2"]], ["t2", ["c1"]], ["t3", ["c2"]]]);
    assert.deepEqual(names(await nsqd.stats("&topic=t1")), [["t1", ["c1", "c2"]]]);
    assert.deepEqual(names(await nsqd.stats("&topic=t1&channel=c2")), [["t1", ["c2"]]]);
    assert.deepEqual(names(await nsqd.stats("&channel=c1")), [["t1", ["c1"]], ["t2", ["c1"]]]);
    for (const c of conns) c.close();
  });
});

runtimeTest(
  "GET /stats with include_clients=false nulls clients and producers but keeps client_count",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await consumer(nsqd, "t", "c", 1);
      const p = await nsqd.connectV2();
      await p.pub("t", "x");
      await c.readMessage();
      for (const v of ["false", "0"]) {
        const s = await nsqd.stats(`&include_clients=${v}`);
        const ch = s.topics[0].channels[0];
        assert.equal(ch.clients, null, `include_clients=${v}`);
        assert.equal(ch.client_count, 1, `include_clients=${v}`);
        assert.equal(s.producers, null, `include_clients=${v}`);
      }
      for (const v of ["true", "1", "bogus"]) {
        const s = await nsqd.stats(`&include_clients=${v}`);
        assert.equal(s.topics[0].channels[0].clients.length, 1, `include_clients=${v}`);
        assert.equal(s.producers.length, 1, `include_clients=${v}`);
      }
      p.close();
      c.close();
    });
  },
);

runtimeTest("GET /stats with include_mem=false leaves memory out", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    for (const v of ["false", "0"]) {
      const r = await call(nsqd, "GET", `/stats?format=json&include_mem=${v}`);
      assert.match(
        r.text,
        /^\{"version":"1\.3\.0","health":"OK","start_time":\d+,"topics":\[\],"producers":null\}$/,
      );
      assert.deepEqual(Object.keys(JSON.parse(r.text)), [
        "version",
        "health",
        "start_time",
        "topics",
        "producers",
      ]);
    }
    const s = await nsqd.stats("&include_mem=true");
    assert.deepEqual(Object.keys(s), TOP_KEYS);
  });
});

runtimeTest(
  "a TCP publisher is listed under producers with its pub_counts, HTTP publishes are not",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      assertV1Ok(await call(nsqd, "POST", "/pub?topic=t", "http"));
      assertV1Ok(await call(nsqd, "POST", "/mpub?topic=t", "a\nb"));
      assert.equal((await nsqd.stats()).producers, null, "no TCP publisher yet");

      const [conn, port] = await rawClient(
        nsqd,
        encodeCommand("IDENTIFY", JSON.stringify({ client_id: "pub-1", hostname: "h", user_agent: "pub/1" })),
        encodeCommand("PUB t", "1"),
        encodeCommand("PUB t", "2"),
        encodeCommand("PUB t", "3"),
      );
      await until("producer with 3 publishes", async () => {
        const s = await nsqd.stats();
        assert.ok(Array.isArray(s.producers), `producers ${JSON.stringify(s.producers)}`);
        assert.equal(s.producers.length, 1);
        const p = s.producers[0];
        assert.deepEqual(p.pub_counts, [{ topic: "t", count: 3 }]);
        assert.deepEqual(
          [p.client_id, p.hostname, p.user_agent, p.remote_address, p.version],
          ["pub-1", "h", "pub/1", `127.0.0.1:${port}`, "V2"],
        );
      });
      assert.equal((await topicStats(nsqd, "t")).message_count, 6);
      conn.close();
      await until("producer gone after disconnect", async () => {
        assert.equal((await nsqd.stats()).producers, null);
      });
    });
  },
);
