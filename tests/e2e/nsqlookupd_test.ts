/**
 * nsqlookupd as a black box (shared/nsq-reference.md §5.1–5.4, §4.3–4.4): the TCP protocol V1 byte
 * by byte (unframed `[size][data]` answers, every error text, fatal closes), the registration DB as
 * seen through the HTTP API (exact JSON shapes), tombstones and inactive producers with short
 * timeouts, `/metrics`, and the command line. Each test runs against nsqlookupd on Deno and on Bun.
 */
import assert from "node:assert/strict";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import {
  ChildProcess,
  commandFor,
  concat,
  eventually,
  int32,
  type LookupConn,
  type NsqlookupdProcess,
  peerIdentify,
  runtimeTest,
  withNsqd,
  withNsqlookupd,
} from "./harness.ts";

const NSQ_HEADER = "nsq; version=1.0";
const JSON_TYPE = "application/json; charset=utf-8";
const encoder = new TextEncoder();
const NSQJS_LOOKUP_CLIENT = new URL("./clients/nsqjs_lookup_client.mjs", import.meta.url).pathname;

// ---- local helpers ------------------------------------------------------------------------------

interface Reply {
  status: number;
  text: string;
  headers: Headers;
}

async function call(l: NsqlookupdProcess, method: string, path: string): Promise<Reply> {
  const res = await l.http(path, { method });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

const get = (l: NsqlookupdProcess, path: string) => call(l, "GET", path);
const post = (l: NsqlookupdProcess, path: string) => call(l, "POST", path);

/** A V1 JSON success whose body is exactly `text`. */
function assertJson(r: Reply, text: string, what = ""): void {
  assert.deepEqual([r.status, r.text], [200, text], what);
  assert.equal(r.headers.get("content-type"), JSON_TYPE, `content-type ${what}`);
  assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER, `X-NSQ-Content-Type ${what}`);
}

/** A V1 success with an empty body. */
function assertEmptyOk(r: Reply, what = ""): void {
  assert.deepEqual([r.status, r.text], [200, ""], what);
  assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER, `X-NSQ-Content-Type ${what}`);
}

/** A V1 error: status and body exactly `{"message":"…"}`. */
function assertV1Error(r: Reply, status: number, message: string, what = ""): void {
  assert.deepEqual([r.status, r.text], [status, JSON.stringify({ message })], what);
  assert.equal(r.headers.get("content-type"), JSON_TYPE, `content-type ${what}`);
  assert.equal(r.headers.get("x-nsq-content-type"), NSQ_HEADER, `X-NSQ-Content-Type ${what}`);
}

async function getJson(l: NsqlookupdProcess, path: string): Promise<Record<string, unknown>> {
  const r = await get(l, path);
  assert.equal(r.status, 200, `${path}: ${r.text}`);
  return JSON.parse(r.text);
}

/** Polls until `check` stops throwing (its last assertion error is reported on timeout). */
async function until(what: string, check: () => Promise<void> | void, timeoutMs = 5000): Promise<void> {
  await eventually(
    async () => {
      await check();
      return true;
    },
    timeoutMs,
    what,
  );
}

/** A connected, identified peer (an nsqd as lookupd sees it). */
async function identified(
  l: NsqlookupdProcess,
  overrides: Record<string, unknown> = {},
): Promise<LookupConn> {
  const c = await l.connectV1();
  await c.identify(peerIdentify(overrides));
  return c;
}

/** Expects a fatal error answer (`[size][text]`) and then the close. */
async function expectFatal(c: LookupConn, text: string): Promise<void> {
  await c.expectResponse(text);
  await c.expectClosed();
  assert.equal(c.buffered, 0, "nothing after a fatal error");
}

/** The `id` (remote `ip:port`) of every identified peer, from `/debug`. */
async function peerIds(l: NsqlookupdProcess): Promise<string[]> {
  const debug = await getJson(l, "/debug") as Record<string, { id: string }[]>;
  return (debug["client::"] ?? []).map((p) => p.id);
}

/** `/lookup` producers as `broadcast_address:http_port`, sorted. */
async function lookupNodes(l: NsqlookupdProcess, topic: string): Promise<string[]> {
  const body = await getJson(l, `/lookup?topic=${encodeURIComponent(topic)}`);
  const producers = body.producers as { broadcast_address: string; http_port: number }[];
  return producers.map((p) => `${p.broadcast_address}:${p.http_port}`).sort();
}

interface Family {
  name: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

function metricValue(
  families: Family[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const fam = families.find((f) => f.name === name);
  const want = JSON.stringify(Object.entries(labels).sort());
  const m = fam?.metrics.find((m) => JSON.stringify(Object.entries(m.labels ?? {}).sort()) === want);
  return m === undefined ? undefined : Number(m.value);
}

// ---- TCP protocol V1 ----------------------------------------------------------------------------

runtimeTest("a wrong magic gets an unframed E_BAD_PROTOCOL, then the close", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const c = await l.connect();
    await c.write("  V2");
    assert.deepEqual(await c.raw.readExactly(4 + 14), concat(int32(14), "E_BAD_PROTOCOL"));
    await c.expectClosed();
    await l.proc.waitForLine(/ERROR: client\(127\.0\.0\.1:\d+\) bad protocol magic ' {2}V2'/);
  });
});

runtimeTest("PING answers an unframed OK, before and after IDENTIFY", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const c = await l.connectV1();
    await c.command("PING");
    assert.deepEqual(await c.raw.readExactly(6), concat(int32(2), "OK"));
    await c.identify();
    await c.command("PING");
    assert.deepEqual(await c.raw.readExactly(6), concat(int32(2), "OK"));
    c.close();
  });
});

runtimeTest(
  "IDENTIFY answers lookupd's broadcast address, hostname and real ports as a Go map",
  async (rt) => {
    await withNsqlookupd(rt, ["--broadcast-address=lookupd.example"], async (l) => {
      const c = await l.connectV1();
      await c.command("IDENTIFY", JSON.stringify(peerIdentify()));
      const text = await c.readResponse();
      const body = JSON.parse(text);
      assert.deepEqual(Object.keys(body), [
        "broadcast_address",
        "hostname",
        "http_port",
        "tcp_port",
        "version",
      ]);
      assert.equal(typeof body.hostname, "string");
      assert.equal(
        text,
        JSON.stringify({
          broadcast_address: "lookupd.example",
          hostname: body.hostname,
          http_port: l.httpPort,
          tcp_port: l.tcpPort,
          version: "1.3.0",
        }),
      );
      await l.proc.waitForLine(
        /INFO: CLIENT\(127\.0\.0\.1:\d+\): IDENTIFY Address:nsqd\.example TCP:4150 HTTP:4151 Version:1\.3\.0/,
      );
      c.close();
    });
  },
);

runtimeTest("IDENTIFY without broadcast_address, tcp_port, http_port or version is refused", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    for (const missing of ["broadcast_address", "tcp_port", "http_port", "version"]) {
      const c = await l.connectV1();
      const body = peerIdentify();
      delete body[missing];
      await c.command("IDENTIFY", JSON.stringify(body));
      await expectFatal(c, "E_BAD_BODY IDENTIFY missing fields");
    }
    // Zero and empty values count as missing; unknown keys and null do not matter.
    const c = await l.connectV1();
    await c.command(
      "IDENTIFY",
      JSON.stringify(peerIdentify({ tcp_port: 0, extra: { x: [1] }, hostname: null })),
    );
    await expectFatal(c, "E_BAD_BODY IDENTIFY missing fields");
    assert.deepEqual(await peerIds(l), []);
  });
});

runtimeTest("IDENTIFY bodies Go's JSON decoder refuses fail to decode", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const bad = [
      "not json",
      "",
      "[]",
      JSON.stringify(peerIdentify({ tcp_port: "4150" })),
      JSON.stringify(peerIdentify({ http_port: 4151.5 })),
      JSON.stringify(peerIdentify({ version: 1 })),
      JSON.stringify(peerIdentify()) + "x",
      "\ufeff" + JSON.stringify(peerIdentify()),
    ];
    for (const body of bad) {
      const c = await l.connectV1();
      await c.command("IDENTIFY", body);
      await expectFatal(c, "E_BAD_BODY IDENTIFY failed to decode JSON body");
    }
  });
});

runtimeTest(
  "IDENTIFY keys match case-insensitively and a large body is accepted (no size limit)",
  async (rt) => {
    await withNsqlookupd(rt, [], async (l) => {
      const c = await l.connectV1();
      const body = {
        VERSION: "1.3.0",
        Tcp_Port: 4150,
        HTTP_PORT: 4151,
        broadcast_address: "big.example",
        padding: "x".repeat(6 * 1024 * 1024),
      };
      const answer = await c.identify(body);
      assert.equal(answer.version, "1.3.0");
      const debug = await getJson(l, "/debug") as Record<string, Record<string, unknown>[]>;
      assert.equal(debug["client::"][0].broadcast_address, "big.example");
      assert.equal(debug["client::"][0].tcp_port, 4150);
      c.close();
    });
  },
);

runtimeTest("a second IDENTIFY is refused before its body is read", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const c = await l.connectV1();
    await c.identify();
    await c.command("IDENTIFY", JSON.stringify(peerIdentify()));
    await expectFatal(c, "E_INVALID cannot IDENTIFY again");
  });
});

runtimeTest(
  "EOF inside IDENTIFY (or a negative size): failed to read body size, failed to read body",
  async (rt) => {
    await withNsqlookupd(rt, [], async (l) => {
      let c = await l.connectV1();
      await c.write("IDENTIFY\n\x00\x00");
      await c.raw.closeWrite();
      await expectFatal(c, "E_BAD_BODY IDENTIFY failed to read body size");

      c = await l.connectV1();
      await c.write(concat("IDENTIFY\n", int32(100), "{"));
      await c.raw.closeWrite();
      await expectFatal(c, "E_BAD_BODY IDENTIFY failed to read body");

      // A negative size (upstream panics on it) is refused the same way.
      c = await l.connectV1();
      await c.write(concat("IDENTIFY\n", int32(-1)));
      await expectFatal(c, "E_BAD_BODY IDENTIFY failed to read body");
    });
  },
);

runtimeTest("REGISTER and UNREGISTER need IDENTIFY first", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    for (const cmd of ["REGISTER t", "UNREGISTER t c"]) {
      const c = await l.connectV1();
      await c.command(cmd);
      await expectFatal(c, "E_INVALID client must IDENTIFY");
    }
  });
});

runtimeTest(
  "REGISTER and UNREGISTER argument errors quote the name in single quotes, and are fatal",
  async (rt) => {
    await withNsqlookupd(rt, [], async (l) => {
      const cases: [string, string][] = [
        ["REGISTER", "E_INVALID REGISTER insufficient number of params"],
        ["UNREGISTER   ", "E_INVALID UNREGISTER insufficient number of params"],
        ["REGISTER bad!", "E_BAD_TOPIC REGISTER topic name 'bad!' is not valid"],
        ["UNREGISTER bad! c", "E_BAD_TOPIC UNREGISTER topic name 'bad!' is not valid"],
        ["REGISTER t bad!", "E_BAD_CHANNEL REGISTER channel name 'bad!' is not valid"],
        ["UNREGISTER t bad!", "E_BAD_CHANNEL UNREGISTER channel name 'bad!' is not valid"],
        ["REGISTER  t", "E_BAD_TOPIC REGISTER topic name '' is not valid"],
        [`REGISTER ${"a".repeat(65)}`, `E_BAD_TOPIC REGISTER topic name '${"a".repeat(65)}' is not valid`],
      ];
      for (const [cmd, err] of cases) {
        const c = await identified(l);
        await c.command(cmd);
        await expectFatal(c, err);
      }
      // Bytes that are not UTF-8 come back as they were sent.
      const c = await identified(l);
      await c.write(concat("REGISTER t", new Uint8Array([0xff]), "\n"));
      const answer = await c.readResponseBytes();
      assert.deepEqual(
        answer,
        concat("E_BAD_TOPIC REGISTER topic name 't", new Uint8Array([0xff]), "' is not valid"),
      );
      await c.expectClosed();
    });
  },
);

runtimeTest("an unknown command is a fatal E_INVALID invalid command", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    let c = await l.connectV1();
    await c.command("FOO bar");
    await expectFatal(c, "E_INVALID invalid command FOO");
    c = await l.connectV1();
    await c.write("\n");
    await expectFatal(c, "E_INVALID invalid command ");
    // Lower case is not PING.
    c = await l.connectV1();
    await c.command("ping");
    await expectFatal(c, "E_INVALID invalid command ping");
    await l.proc.waitForLine(/ERROR: \[127\.0\.0\.1:\d+\] - E_INVALID invalid command FOO/);
  });
});

runtimeTest("commands are trimmed, pipelined, and parsed whatever the chunking", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const c = await l.connectV1();
    const body = encoder.encode(JSON.stringify(peerIdentify()));
    const all = concat(
      " \t PING \r\n",
      "IDENTIFY\n",
      int32(body.length),
      body,
      "REGISTER t c extra\n",
      "PING\n",
    );
    for (const b of all) await c.write(new Uint8Array([b]));
    await c.expectResponse("OK");
    assert.equal(JSON.parse(await c.readResponse()).version, "1.3.0");
    await c.expectResponse("OK");
    await c.expectResponse("OK");
    // Several commands in one write, answered in order.
    await c.write("REGISTER t2\nUNREGISTER t2\nPING\n");
    for (let i = 0; i < 3; i++) await c.expectResponse("OK");
    assertJson(await get(l, "/channels?topic=t"), '{"channels":["c"]}');
    c.close();
  });
});

// ---- registration DB through HTTP ---------------------------------------------------------------

runtimeTest("IDENTIFY + REGISTER show in /lookup, /topics, /channels, /nodes and /debug", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const c = await identified(l, { topology_zone: "z1", topology_region: "r1" });
    await c.register("t", "c");
    await c.register("t2");
    const [id] = await peerIds(l);
    assert.match(id, /^127\.0\.0\.1:\d+$/);
    const info = `"remote_address":"${id}","hostname":"nsqd-host","broadcast_address":"nsqd.example",` +
      `"tcp_port":4150,"http_port":4151,"version":"1.3.0","topology_zone":"z1","topology_region":"r1"`;

    assertJson(await get(l, "/lookup?topic=t"), `{"channels":["c"],"producers":[{${info}}]}`);
    assertJson(await get(l, "/lookup?topic=t2"), `{"channels":[],"producers":[{${info}}]}`);
    assert.deepEqual((await getJson(l, "/topics")).topics, ["t", "t2"]);
    assertJson(await get(l, "/channels?topic=t"), '{"channels":["c"]}');
    assertJson(await get(l, "/channels?topic=nope"), '{"channels":[]}');

    const nodes = await getJson(l, "/nodes") as { producers: Record<string, unknown>[] };
    assert.equal(nodes.producers.length, 1);
    const node = nodes.producers[0];
    assert.deepEqual(Object.keys(node), [
      "remote_address",
      "hostname",
      "broadcast_address",
      "tcp_port",
      "http_port",
      "version",
      "topology_zone",
      "topology_region",
      "tombstones",
      "topics",
    ]);
    const topics = node.topics as string[];
    assert.deepEqual([...topics].sort(), ["t", "t2"]);
    assert.deepEqual(node.tombstones, [false, false]);

    const r = await get(l, "/debug");
    const debug = JSON.parse(r.text) as Record<string, Record<string, unknown>[]>;
    assert.deepEqual(Object.keys(debug), ["channel:t:c", "client::", "topic:t2:", "topic:t:"]);
    const entry = debug["topic:t:"][0];
    assert.deepEqual(Object.keys(entry), [
      "broadcast_address",
      "hostname",
      "http_port",
      "id",
      "last_update",
      "tcp_port",
      "tombstoned",
      "tombstoned_at",
      "topology_region",
      "topology_zone",
      "version",
    ]);
    assert.equal(entry.id, id);
    assert.equal(entry.tombstoned, false);
    // Go's zero time.Time in Unix nanoseconds, written exactly (it does not fit a double).
    assert.match(r.text, /"tombstoned_at":-6795364578871345152,/);
    const lastUpdate = BigInt(r.text.match(/"last_update":(\d+)/)![1]);
    const nowNs = BigInt(Date.now()) * 1_000_000n;
    assert.ok(
      nowNs - lastUpdate < 60_000_000_000n && lastUpdate - nowNs < 5_000_000_000n,
      String(lastUpdate),
    );
    c.close();
  });
});

runtimeTest("PING refreshes the producer's last_update", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const c = await identified(l);
    const lastUpdate = async () => {
      const r = await get(l, "/debug");
      return BigInt(r.text.match(/"last_update":(\d+)/)![1]);
    };
    const before = await lastUpdate();
    await new Promise((r) => setTimeout(r, 20));
    await c.ping();
    assert.ok((await lastUpdate()) > before);
    await l.proc.waitForLine(/INFO: CLIENT\(127\.0\.0\.1:\d+\): pinged \(last ping [0-9.]+(ms|µs|s)\)/);
    c.close();
  });
});

runtimeTest("a closed connection removes its producers but keeps the keys (TestBasicLookupd)", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const c = await identified(l);
    await c.register("t", "c");
    await c.register("e#ephemeral", "c#ephemeral");
    assert.equal((await lookupNodes(l, "t")).length, 1);
    c.close();
    await until("producer gone", async () => {
      assertJson(await get(l, "/lookup?topic=t"), '{"channels":["c"],"producers":[]}');
    });
    assert.deepEqual((await getJson(l, "/topics")).topics, ["t", "e#ephemeral"]);
    assertJson(await get(l, "/channels?topic=e%23ephemeral"), '{"channels":["c#ephemeral"]}');
    assertJson(await get(l, "/nodes"), '{"producers":[]}');
    assertJson(await get(l, "/debug"), "{}");
    await l.proc.waitForLine(/INFO: DB: client\(127\.0\.0\.1:\d+\) UNREGISTER category:topic key:t subkey:/);
  });
});

runtimeTest("ephemeral channel and topic keys go with their last UNREGISTER", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const a = await identified(l, { broadcast_address: "a" });
    const b = await identified(l, { broadcast_address: "b" });
    for (const c of [a, b]) await c.register("e#ephemeral", "c#ephemeral");
    await a.register("t", "c#ephemeral");

    await a.unregister("e#ephemeral", "c#ephemeral");
    assertJson(await get(l, "/channels?topic=e%23ephemeral"), '{"channels":["c#ephemeral"]}');
    await b.unregister("e#ephemeral", "c#ephemeral");
    assertJson(await get(l, "/channels?topic=e%23ephemeral"), '{"channels":[]}');

    await a.unregister("e#ephemeral");
    assert.deepEqual((await getJson(l, "/topics")).topics, ["e#ephemeral", "t"]);
    await b.unregister("e#ephemeral");
    assert.deepEqual((await getJson(l, "/topics")).topics, ["t"]);
    assertV1Error(await get(l, "/lookup?topic=e%23ephemeral"), 404, "TOPIC_NOT_FOUND");

    // A topic UNREGISTER takes the peer off that topic's channels too, but keeps those keys.
    await a.unregister("t");
    assertJson(await get(l, "/lookup?topic=t"), '{"channels":["c#ephemeral"],"producers":[]}');
    await l.proc.waitForLine(
      /WARNING: client\(127\.0\.0\.1:\d+\) unexpected UNREGISTER category:channel key:t/,
    );
    // Unregistering what is not registered is fine; a non-ephemeral key stays.
    await b.unregister("t", "c");
    await b.register("p", "c");
    await b.unregister("p", "c");
    await b.unregister("p");
    assertJson(await get(l, "/lookup?topic=p"), '{"channels":["c"],"producers":[]}');
    a.close();
    b.close();
  });
});

// ---- HTTP API -----------------------------------------------------------------------------------

runtimeTest("/ping, /info, 404 and 405 answer the NSQ way", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const ping = await get(l, "/ping");
    assert.deepEqual([ping.status, ping.text], [200, "OK"]);
    assert.equal(ping.headers.get("content-type"), "text/plain; charset=utf-8");
    assert.equal(ping.headers.get("x-nsq-content-type"), null);
    assertJson(await get(l, "/info"), '{"version":"1.3.0"}');
    assertV1Error(await get(l, "/nope"), 404, "NOT_FOUND");
    assertV1Error(await get(l, "/topic/create?topic=t"), 405, "METHOD_NOT_ALLOWED");
    assertV1Error(await post(l, "/lookup?topic=t"), 405, "METHOD_NOT_ALLOWED");
    assertV1Error(await call(l, "PUT", "/topics"), 405, "METHOD_NOT_ALLOWED");
    assertV1Error(await call(l, "DELETE", "/topic/tombstone"), 405, "METHOD_NOT_ALLOWED");
    await l.proc.waitForLine(/INFO: 404 GET \/nope \(127\.0\.0\.1:\d+\) /);
  });
});

runtimeTest("/lookup and /channels need a topic; /lookup 404s only for an unknown topic key", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    assertV1Error(await get(l, "/lookup"), 400, "MISSING_ARG_TOPIC");
    assertV1Error(await get(l, "/channels"), 400, "MISSING_ARG_TOPIC");
    assertV1Error(await get(l, "/lookup?topic=t"), 404, "TOPIC_NOT_FOUND");
    // Present but empty is a (never registered) topic name, not a missing one.
    assertV1Error(await get(l, "/lookup?topic="), 404, "TOPIC_NOT_FOUND");
    assertJson(await get(l, "/channels?topic="), '{"channels":[]}');
    assertV1Error(await get(l, "/lookup?topic=%zz"), 400, "INVALID_REQUEST");
    assertJson(await get(l, "/topics"), '{"topics":[]}');
    assertJson(await get(l, "/nodes"), '{"producers":[]}');
    assertJson(await get(l, "/debug"), "{}");
  });
});

runtimeTest("/topic/create and /topic/delete", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    assertV1Error(await post(l, "/topic/create"), 400, "MISSING_ARG_TOPIC");
    assertV1Error(await post(l, "/topic/create?topic=bad!"), 400, "INVALID_ARG_TOPIC");
    assertV1Error(await post(l, "/topic/create?topic="), 400, "INVALID_ARG_TOPIC");
    assertEmptyOk(await post(l, "/topic/create?topic=t"));
    assertEmptyOk(await post(l, "/topic/create?topic=t"));
    assertEmptyOk(await post(l, "/topic/create?topic=u"));
    assertJson(await get(l, "/topics"), '{"topics":["t","u"]}');
    assertJson(await get(l, "/lookup?topic=t"), '{"channels":[],"producers":[]}');

    assertEmptyOk(await post(l, "/channel/create?topic=t&channel=c"));
    assertEmptyOk(await post(l, "/channel/create?topic=u&channel=c"));
    assertV1Error(await post(l, "/topic/delete"), 400, "MISSING_ARG_TOPIC");
    assertEmptyOk(await post(l, "/topic/delete?topic=nope"), "absent topic");
    assertEmptyOk(await post(l, "/topic/delete?topic=bad!"), "no name check");
    assertEmptyOk(await post(l, "/topic/delete?topic=t"));
    assertJson(await get(l, "/topics"), '{"topics":["u"]}');
    assertJson(await get(l, "/channels?topic=t"), '{"channels":[]}');
    assertJson(await get(l, "/channels?topic=u"), '{"channels":["c"]}');
    await l.proc.waitForLine(/INFO: DB: removing channel\(c\) from topic\(t\)/);
    await l.proc.waitForLine(/INFO: DB: removing topic\(t\)/);
  });
});

runtimeTest("/channel/create and /channel/delete check topic then channel", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    for (const path of ["/channel/create", "/channel/delete"]) {
      assertV1Error(await post(l, path), 400, "MISSING_ARG_TOPIC", path);
      assertV1Error(await post(l, `${path}?topic=bad!&channel=c`), 400, "INVALID_ARG_TOPIC", path);
      assertV1Error(await post(l, `${path}?topic=t`), 400, "MISSING_ARG_CHANNEL", path);
      assertV1Error(await post(l, `${path}?topic=t&channel=bad!`), 400, "INVALID_ARG_CHANNEL", path);
      assertV1Error(await post(l, `${path}?channel=c`), 400, "MISSING_ARG_TOPIC", path);
    }
    assertV1Error(await post(l, "/channel/delete?topic=t&channel=c"), 404, "CHANNEL_NOT_FOUND");
    assertEmptyOk(await post(l, "/channel/create?topic=t&channel=c"));
    assertEmptyOk(await post(l, "/channel/create?topic=t&channel=d"));
    assertJson(await get(l, "/topics"), '{"topics":["t"]}');
    assertJson(await get(l, "/channels?topic=t"), '{"channels":["c","d"]}');
    assertEmptyOk(await post(l, "/channel/delete?topic=t&channel=c"));
    assertJson(await get(l, "/channels?topic=t"), '{"channels":["d"]}');
    assertJson(await get(l, "/topics"), '{"topics":["t"]}');
    assertV1Error(await post(l, "/channel/delete?topic=t&channel=c"), 404, "CHANNEL_NOT_FOUND");
  });
});

runtimeTest(
  "/topic/tombstone hides a producer from /lookup for --tombstone-lifetime, not from /nodes",
  async (rt) => {
    await withNsqlookupd(rt, ["--tombstone-lifetime=1s"], async (l) => {
      assertV1Error(await post(l, "/topic/tombstone"), 400, "MISSING_ARG_TOPIC");
      assertV1Error(await post(l, "/topic/tombstone?topic=t"), 400, "MISSING_ARG_NODE");
      assertEmptyOk(await post(l, "/topic/tombstone?topic=nope&node=x:1"), "unknown topic and node");

      const a = await identified(l, { broadcast_address: "a.example", http_port: 1001 });
      const b = await identified(l, { broadcast_address: "b.example", http_port: 1002 });
      for (const c of [a, b]) {
        await c.register("t", "c");
        await c.register("t2");
      }
      assert.deepEqual(await lookupNodes(l, "t"), ["a.example:1001", "b.example:1002"]);

      assertEmptyOk(await post(l, "/topic/tombstone?topic=t&node=a.example:1001"));
      assert.deepEqual(await lookupNodes(l, "t"), ["b.example:1002"]);
      assert.deepEqual(
        await lookupNodes(l, "t2"),
        ["a.example:1001", "b.example:1002"],
        "other topic untouched",
      );
      // Re-registering keeps the tombstoned producer object.
      await a.register("t", "c");
      assert.deepEqual(await lookupNodes(l, "t"), ["b.example:1002"]);

      const nodes = (await getJson(l, "/nodes")).producers as {
        broadcast_address: string;
        topics: string[];
        tombstones: boolean[];
      }[];
      assert.equal(nodes.length, 2, "tombstoned nodes stay in /nodes");
      const byNode = Object.fromEntries(nodes.map((n) => [
        n.broadcast_address,
        Object.fromEntries(n.topics.map((t, i) => [t, n.tombstones[i]])),
      ]));
      assert.deepEqual(byNode, { "a.example": { t: true, t2: false }, "b.example": { t: false, t2: false } });
      const debug = await getJson(l, "/debug") as Record<
        string,
        { broadcast_address: string; tombstoned: boolean }[]
      >;
      assert.deepEqual(debug["topic:t:"].map((p) => [p.broadcast_address, p.tombstoned]).sort(), [
        ["a.example", true],
        ["b.example", false],
      ]);

      // The lifetime passes: the flag stays set but no longer counts.
      await until("tombstone expired", async () => {
        assert.deepEqual(await lookupNodes(l, "t"), ["a.example:1001", "b.example:1002"]);
      });
      const after = await getJson(l, "/debug") as Record<
        string,
        { broadcast_address: string; tombstoned: boolean }[]
      >;
      assert.ok(after["topic:t:"].some((p) => p.broadcast_address === "a.example" && p.tombstoned));

      // UNREGISTER then REGISTER makes a new producer: no tombstone.
      assertEmptyOk(await post(l, "/topic/tombstone?topic=t2&node=a.example:1001"));
      assert.deepEqual(await lookupNodes(l, "t2"), ["b.example:1002"]);
      await a.unregister("t2");
      await a.register("t2");
      assert.deepEqual(await lookupNodes(l, "t2"), ["a.example:1001", "b.example:1002"]);
      a.close();
      b.close();
    });
  },
);

runtimeTest("--inactive-producer-timeout hides a producer that stops PINGing", async (rt) => {
  await withNsqlookupd(rt, ["--inactive-producer-timeout=1s"], async (l) => {
    const a = await identified(l, { broadcast_address: "a.example" });
    const b = await identified(l, { broadcast_address: "b.example" });
    for (const c of [a, b]) await c.register("t");
    assert.deepEqual(await lookupNodes(l, "t"), ["a.example:4151", "b.example:4151"]);
    await until("b inactive", async () => {
      await a.ping();
      assert.deepEqual(await lookupNodes(l, "t"), ["a.example:4151"]);
      const nodes = (await getJson(l, "/nodes")).producers as { broadcast_address: string }[];
      assert.deepEqual(nodes.map((n) => n.broadcast_address), ["a.example"]);
    });
    // Still in the DB until its connection closes.
    assert.deepEqual((await peerIds(l)).length, 2);
    await b.ping();
    assert.deepEqual(await lookupNodes(l, "t"), ["a.example:4151", "b.example:4151"]);
    a.close();
    b.close();
  });
});

runtimeTest("/metrics counts producers, topics and channels in Prometheus text", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const c = await identified(l);
    await c.register("t", "c1");
    await c.register("t", "c2");
    assertEmptyOk(await post(l, "/topic/create?topic=empty"));
    const res = await l.http("/metrics");
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    const families = parsePrometheusTextFormat(await res.text()) as Family[];
    assert.equal(metricValue(families, "nsqlookupd_producers"), 1);
    assert.equal(metricValue(families, "nsqlookupd_active_producers"), 1);
    assert.equal(metricValue(families, "nsqlookupd_tcp_clients"), 1);
    assert.equal(metricValue(families, "nsqlookupd_topics"), 2);
    assert.equal(metricValue(families, "nsqlookupd_channels"), 2);
    assert.equal(metricValue(families, "nsqlookupd_topic_producers", { topic: "t" }), 1);
    assert.equal(metricValue(families, "nsqlookupd_topic_producers", { topic: "empty" }), 0);
    assert.equal(metricValue(families, "nsqlookupd_tombstoned_producers"), 0);
    assert.equal(families.find((f) => f.name === "nsqlookupd_info")?.metrics[0].labels?.version, "1.3.0");
    assert.ok(families.every((f) => f.type === "GAUGE"));
    c.close();
    await until("producer gone from metrics", async () => {
      const fams = parsePrometheusTextFormat(await (await l.http("/metrics")).text()) as Family[];
      assert.equal(metricValue(fams, "nsqlookupd_producers"), 0);
      assert.equal(metricValue(fams, "nsqlookupd_topics"), 2);
    });
  });
});

// ---- a real client ------------------------------------------------------------------------------

runtimeTest("nsqjs finds an nsqd through /lookup and consumes from it", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    await withNsqlookupd(rt, [], async (l) => {
      // Register the nsqd the way nsqd's lookupLoop does: IDENTIFY with its address, then REGISTER.
      const peer = await identified(l, {
        broadcast_address: "127.0.0.1",
        tcp_port: nsqd.tcpPort,
        http_port: nsqd.httpPort,
      });
      await peer.register("interop");
      const pub = await nsqd.http("/pub?topic=interop", { method: "POST", body: "via lookupd" });
      assert.equal(await pub.text(), "OK");
      const out = await new Deno.Command("node", {
        args: [NSQJS_LOOKUP_CLIENT, String(l.httpPort), "interop", "via lookupd"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const line = new TextDecoder().decode(out.stdout).trim();
      assert.equal(out.code, 0, `${line}\n${new TextDecoder().decode(out.stderr)}`);
      assert.deepEqual(JSON.parse(line), {
        ok: true,
        body: "via lookupd",
        nsqd: `127.0.0.1:${nsqd.tcpPort}`,
      });
      await l.proc.waitForLine(/INFO: 200 GET \/lookup\?topic=interop /);
      peer.close();
    });
  });
});

// ---- command line -------------------------------------------------------------------------------

async function run(rt: Parameters<typeof commandFor>[0], args: string[]): Promise<[number, ChildProcess]> {
  const proc = new ChildProcess(commandFor(rt, "nsqlookupd"), args);
  const status = await proc.status;
  // Let the pipes drain.
  await new Promise((r) => setTimeout(r, 50));
  return [status.code, proc];
}

runtimeTest("startup logs the listening lines in Go's log format; SIGINT exits 0", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const stamp = String.raw`\[nsqlookupd\] \d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6}`;
    await l.proc.waitForLine(new RegExp(`${stamp} INFO: TCP: listening on 127\\.0\\.0\\.1:${l.tcpPort}`));
    await l.proc.waitForLine(new RegExp(`${stamp} INFO: HTTP: listening on 127\\.0\\.0\\.1:${l.httpPort}`));
    assert.equal(await l.stop("SIGINT"), 0);
  });
});

// --version: version_test.ts.
runtimeTest("an unknown flag or a bad duration exits 2 with usage", async (rt) => {
  let [code, proc] = await run(rt, ["-nope"]);
  assert.equal(code, 2);
  assert.match(proc.stderr, /^flag provided but not defined: -nope\nUsage of nsqlookupd:\n/);
  for (
    const flag of ["-broadcast-address", "-inactive-producer-timeout", "-tombstone-lifetime", "-verbose"]
  ) {
    assert.ok(proc.stderr.includes(`\n  ${flag}`), flag);
  }
  assert.match(proc.stderr, /-tombstone-lifetime duration\n\s+duration of time .* \(default 45s\)/);
  assert.match(proc.stderr, /-inactive-producer-timeout duration\n.*\(default 5m0s\)/);
  [code, proc] = await run(rt, ["--tombstone-lifetime=soon"]);
  assert.equal(code, 2);
  assert.match(proc.stderr, /^invalid value "soon" for flag -tombstone-lifetime: parse error/);
});

runtimeTest("--config TOML is applied, and command-line flags beat it", async (rt) => {
  const dir = await Deno.makeTempDir({ prefix: "nsqlookupd-e2e-" });
  try {
    const cfg = `${dir}/nsqlookupd.cfg`;
    await Deno.writeTextFile(
      cfg,
      'broadcast_address = "cfg.example"\ntombstone_lifetime = "45s"\ninactive_producer_timeout = 1000\n' +
        'log_prefix = "[lookupd-cfg] "\n',
    );
    await withNsqlookupd(rt, [`--config=${cfg}`, "-verbose"], async (l) => {
      const c = await l.connectV1();
      assert.equal((await c.identify()).broadcast_address, "cfg.example");
      await c.register("t");
      // inactive_producer_timeout = 1000 (an integer means milliseconds)
      await until("inactive after 1s", async () => {
        assert.deepEqual(await lookupNodes(l, "t"), []);
      });
      await l.proc.waitForLine(/^\[lookupd-cfg\] /);
      c.close();
    });
    await withNsqlookupd(rt, [`--config=${cfg}`, "--broadcast-address", "flag.example"], async (l) => {
      const c = await l.connectV1();
      assert.equal((await c.identify()).broadcast_address, "flag.example");
      c.close();
    });
    await Deno.writeTextFile(cfg, 'log_level = "loud"\n');
    const [code, proc] = await run(rt, [`--config=${cfg}`]);
    assert.equal(code, 1);
    assert.match(proc.stderr, /FATAL: failed parsing log_level loud/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

runtimeTest("a port in use is a FATAL failed to instantiate, exit 1", async (rt) => {
  await withNsqlookupd(rt, [], async (l) => {
    const [code, proc] = await run(rt, [
      `--tcp-address=127.0.0.1:${l.tcpPort}`,
      "--http-address=127.0.0.1:0",
    ]);
    assert.equal(code, 1);
    assert.match(
      proc.stderr,
      /FATAL: failed to instantiate nsqlookupd - listen \(127\.0\.0\.1:\d+\) failed - /,
    );
  });
});
