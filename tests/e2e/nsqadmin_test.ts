/**
 * nsqadmin's API end to end (shared/nsq-reference.md §11.2–11.6): our nsqadmin in front of our own
 * cluster — 2 nsqlookupds, 3 nsqds registered with both — on each runtime. Every route's JSON is
 * compared key by key with upstream's shapes, actions are checked on the nsqds themselves, a
 * stopped (SIGSTOP) nsqd and a dead lookupd give the partial-result warning, every upstream down
 * gives the 502, ACLs refuse non-admins, and each action's notification reaches an HTTP endpoint.
 */
import assert from "node:assert/strict";
import {
  ChildProcess,
  commandFor,
  consumer,
  type NsqadminProcess,
  type NsqConn,
  type NsqdProcess,
  type NsqlookupdProcess,
  type Runtime,
  runtimesFor,
  startNsqadmin,
  startNsqd,
  startNsqlookupd,
  type StatsJson,
  topicStats,
  until,
  withTimeout,
} from "./harness.ts";

const TOPIC_KEYS = [
  "node",
  "hostname",
  "topic_name",
  "depth",
  "memory_depth",
  "backend_depth",
  "message_count",
  "nodes",
  "channels",
  "paused",
  "e2e_processing_latency",
];
const CHANNEL_KEYS = [
  "node",
  "hostname",
  "topic_name",
  "channel_name",
  "depth",
  "memory_depth",
  "backend_depth",
  "in_flight_count",
  "deferred_count",
  "requeue_count",
  "timeout_count",
  "message_count",
  "client_count",
  "nodes",
  "clients",
  "paused",
  "e2e_processing_latency",
];
const CLIENT_KEYS = [
  "node",
  "remote_address",
  "version",
  "client_id",
  "hostname",
  "user_agent",
  "connect_ts",
  "connected",
  "in_flight_count",
  "ready_count",
  "finish_count",
  "requeue_count",
  "message_count",
  "sample_rate",
  "deflate",
  "snappy",
  "authed",
  "auth_identity",
  "auth_identity_url",
  "tls",
  "tls_cipher_suite",
  "tls_version",
  "tls_negotiated_protocol",
  "tls_negotiated_protocol_is_mutual",
];
const PRODUCER_KEYS = [
  "remote_addresses",
  "remote_address",
  "hostname",
  "broadcast_address",
  "tcp_port",
  "http_port",
  "version",
  "topics",
  "out_of_date",
];
const E2E_KEYS = ["count", "percentiles", "topic", "channel", "host"];

// deno-lint-ignore no-explicit-any
type Json = any;

interface Answer {
  status: number;
  body: Json;
  headers: Headers;
}

async function call(admin: NsqadminProcess, method: string, path: string, body?: unknown, user?: string) {
  const headers: Record<string, string> = {};
  if (user !== undefined) headers["X-Forwarded-User"] = user;
  const res = await admin.http(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: Json = text;
  try {
    parsed = JSON.parse(text);
  } catch { /* text */ }
  return { status: res.status, body: parsed, headers: res.headers } as Answer;
}

async function get(admin: NsqadminProcess, path: string): Promise<Json> {
  const a = await call(admin, "GET", path);
  assert.equal(a.status, 200, `GET ${path}: ${JSON.stringify(a.body)}`);
  assert.equal(a.headers.get("x-nsq-content-type"), "nsq; version=1.0");
  return a.body;
}

/** An action as admin `alice`: 200 and `"message":""`. */
async function act(admin: NsqadminProcess, method: string, path: string, body?: unknown): Promise<void> {
  const a = await call(admin, method, path, body, "alice");
  assert.deepEqual([a.status, a.body], [200, { message: "" }], `${method} ${path}`);
}

function assertE2e(e: Json, topic: string, channel: string, host: string): void {
  assert.deepEqual(Object.keys(e), E2E_KEYS);
  assert.deepEqual(e, { count: 0, percentiles: null, topic, channel, host });
}

function assertTopicNode(t: Json, nsqd: NsqdProcess, topic: string): void {
  assert.deepEqual(Object.keys(t), TOPIC_KEYS);
  assert.equal(t.node, addr(nsqd));
  assert.equal(t.topic_name, topic);
  assert.equal(t.nodes, null);
  assert.equal(t.memory_depth, t.depth - t.backend_depth);
  assertE2e(t.e2e_processing_latency, "", "", "");
}

function assertChannelNode(c: Json, nsqd: NsqdProcess, topic: string, channel: string): void {
  assert.deepEqual(Object.keys(c), CHANNEL_KEYS);
  assert.equal(c.node, addr(nsqd));
  assert.equal(c.topic_name, topic);
  assert.equal(c.channel_name, channel);
  assert.equal(c.nodes, null);
  assertE2e(c.e2e_processing_latency, "", "", "");
}

function addr(nsqd: NsqdProcess): string {
  return `127.0.0.1:${nsqd.httpPort}`;
}

async function publish(nsqd: NsqdProcess, topic: string, n: number): Promise<void> {
  const res = await nsqd.http(`/mpub?topic=${topic}`, {
    method: "POST",
    body: Array.from({ length: n }, (_, i) => `m${i}`).join("\n"),
  });
  assert.equal(await res.text(), "OK");
}

async function createChannel(nsqd: NsqdProcess, topic: string, channel: string): Promise<void> {
  const res = await nsqd.http(`/channel/create?topic=${topic}&channel=${channel}`, { method: "POST" });
  assert.equal(res.status, 200, await res.text());
}

/** An HTTP endpoint that collects the notifications POSTed to it. */
function notificationSink(): { url: string; received: Json[]; close: () => Promise<void> } {
  const received: Json[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    received.push({ contentType: req.headers.get("content-type"), body: await req.json() });
    return new Response("ok");
  });
  return { url: `http://127.0.0.1:${server.addr.port}/notify`, received, close: () => server.shutdown() };
}

interface Cluster {
  lookupds: NsqlookupdProcess[];
  nsqds: NsqdProcess[];
}

async function startCluster(runtime: Runtime): Promise<Cluster> {
  const lookupds = await Promise.all([startNsqlookupd(runtime), startNsqlookupd(runtime)]);
  const lookupArgs = lookupds.map((l) => `--lookupd-tcp-address=127.0.0.1:${l.tcpPort}`);
  const nsqds = await Promise.all(
    [0, 1, 2].map(() => startNsqd(runtime, ["--broadcast-address=127.0.0.1", ...lookupArgs])),
  );
  return { lookupds, nsqds };
}

async function stopAll(procs: { stop(): Promise<number> }[]): Promise<void> {
  await Promise.all(procs.map((p) => p.stop().catch(() => 0)));
}

for (const runtime of runtimesFor("nsqadmin")) {
  Deno.test({
    name:
      `[${runtime}] nsqadmin's API over 2 nsqlookupds and 3 nsqds: shapes, actions, ACL, notifications, partial results`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: (t) => withTimeout(clusterTest(t, runtime), 40_000, "nsqadmin cluster test"),
  });

  Deno.test({
    name: `[${runtime}] nsqadmin in nsqd mode lists the configured nsqds and warns about one that is down`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withTimeout(nsqdModeTest(runtime), 30_000, "nsqadmin nsqd mode test"),
  });

  Deno.test({
    name: `[${runtime}] nsqadmin refuses to start without exactly one of the address lists`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withTimeout(startupErrorsTest(runtime), 20_000, "nsqadmin startup errors"),
  });
}

async function clusterTest(t: Deno.TestContext, runtime: Runtime): Promise<void> {
  const sink = notificationSink();
  const { lookupds, nsqds } = await startCluster(runtime);
  const [n1, n2, n3] = nsqds;
  let admin: NsqadminProcess | null = null;
  const conns: NsqConn[] = [];
  try {
    admin = await startNsqadmin(runtime, [
      ...lookupds.map((l) => `--lookupd-http-address=127.0.0.1:${l.httpPort}`),
      "--admin-user=alice",
      `--notification-http-endpoint=${sink.url}`,
      "--http-client-request-timeout=1s",
    ]);
    const a = admin;

    // "orders" on n1 and n2 with channel "archive" (a consumer on n1), "solo" on n3 only.
    await Promise.all([publish(n1, "orders", 3), publish(n2, "orders", 2), publish(n3, "solo", 1)]);
    await Promise.all([createChannel(n1, "orders", "archive"), createChannel(n2, "orders", "archive")]);
    conns.push(await consumer(n1, "orders", "archive", 0));
    await until("every nsqd registered its topics with both lookupds", async () => {
      const nodes = (await get(a, "/api/nodes")).nodes;
      assert.equal(nodes.length, 3);
      for (const n of nodes) {
        assert.equal(n.remote_addresses.length, 2);
        assert.ok(n.topics !== null);
      }
    }, 10_000);

    await t.step("GET /ping and /api/topics", async () => {
      const ping = await a.http("/ping");
      assert.deepEqual([ping.status, await ping.text()], [200, "OK"]);
      assert.deepEqual(await get(a, "/api/topics"), { topics: ["orders", "solo"], message: "" });
    });

    await t.step(
      "GET /api/topics/:topic aggregates both nodes and lists every node of a channel",
      async () => {
        const answer = await call(a, "GET", "/api/topics/orders");
        assert.equal(answer.headers.get("content-encoding"), "gzip"); // fetch asks for it
        const body = answer.body;
        assert.deepEqual(Object.keys(body), [...TOPIC_KEYS, "message"]);
        assert.equal(body.message, "");
        assert.deepEqual(
          [body.node, body.hostname, body.topic_name, body.message_count, body.paused],
          ["*", "", "orders", 5, false],
        );
        assert.equal(body.depth, body.memory_depth + body.backend_depth);
        assertE2e(body.e2e_processing_latency, "orders", "", "*");
        assert.equal(body.nodes.length, 2);
        const byNode = new Map(body.nodes.map((n: Json) => [n.node, n]));
        for (const [nsqd, count] of [[n1, 3], [n2, 2]] as const) {
          const node = byNode.get(addr(nsqd)) as Json;
          assertTopicNode(node, nsqd, "orders");
          assert.equal(node.message_count, count);
          assert.equal(node.channels.length, 1);
          assertChannelNode(node.channels[0], nsqd, "orders", "archive");
          assert.equal(node.channels[0].clients, null);
        }
        assert.equal(body.channels.length, 1);
        const ch = body.channels[0];
        assert.deepEqual(Object.keys(ch), CHANNEL_KEYS);
        assert.deepEqual(
          [ch.node, ch.hostname, ch.channel_name, ch.depth, ch.message_count, ch.client_count],
          ["*", "", "archive", 5, 5, 1],
        );
        assert.deepEqual(ch.nodes.map((n: Json) => n.node).sort(), [addr(n1), addr(n2)].sort());
        assertE2e(ch.e2e_processing_latency, "orders", "archive", "*");
      },
    );

    await t.step("GET /api/topics/:topic/:channel lists the clients with their node", async () => {
      const body = await get(a, "/api/topics/orders/archive");
      assert.deepEqual(Object.keys(body), [...CHANNEL_KEYS, "message"]);
      assert.deepEqual([body.node, body.depth, body.client_count, body.message], ["*", 5, 1, ""]);
      assert.equal(body.nodes.length, 2);
      for (const n of body.nodes) assertChannelNode(n, n.node === addr(n1) ? n1 : n2, "orders", "archive");
      assert.equal(body.clients.length, 1);
      const client = body.clients[0];
      assert.deepEqual(Object.keys(client), CLIENT_KEYS);
      assert.equal(client.node, addr(n1));
      assert.equal(client.version, "V2");
      assert.ok(client.connected >= 0 && client.connected % 1e9 === 0, `connected ${client.connected}`);
      const missing = await call(a, "GET", "/api/topics/orders/nope");
      assert.deepEqual([missing.status, missing.body], [404, { message: "CHANNEL_NOT_FOUND" }]);
    });

    await t.step("GET /api/nodes and /api/nodes/:node", async () => {
      const body = await get(a, "/api/nodes");
      assert.deepEqual(Object.keys(body), ["nodes", "message"]);
      assert.equal(body.message, "");
      for (const n of body.nodes) {
        assert.deepEqual(Object.keys(n), PRODUCER_KEYS);
        assert.deepEqual(
          n.remote_addresses.map((r: string) => r.slice(0, r.indexOf("/"))),
          lookupds.map((l) => `127.0.0.1:${l.httpPort}`),
        );
        assert.equal(n.broadcast_address, "127.0.0.1");
        assert.equal(n.version, "1.3.0");
        assert.equal(n.out_of_date, false);
      }
      const n3Node = body.nodes.find((n: Json) => n.http_port === n3.httpPort);
      assert.deepEqual([n3Node.tcp_port, n3Node.topics], [n3.tcpPort, [{
        topic: "solo",
        tombstoned: false,
      }]]);

      const node = await get(a, `/api/nodes/${addr(n1)}`);
      assert.deepEqual(Object.keys(node), ["node", "topics", "total_messages", "total_clients", "message"]);
      assert.deepEqual([node.node, node.total_messages, node.total_clients, node.message], [
        addr(n1),
        3,
        1,
        "",
      ]);
      assertTopicNode(node.topics[0], n1, "orders");
      assert.equal(node.topics[0].channels[0].clients[0].node, addr(n1));
      const unknown = await call(a, "GET", "/api/nodes/10.0.0.1:4151");
      assert.deepEqual([unknown.status, unknown.body], [404, { message: "NODE_NOT_FOUND" }]);
    });

    await t.step("GET /api/counter", async () => {
      const body = await get(a, "/api/counter");
      assert.deepEqual(body, {
        stats: Object.fromEntries(
          [[n1, 3], [n2, 2]].sort((x, y) => (addr(x[0] as NsqdProcess) < addr(y[0] as NsqdProcess) ? -1 : 1))
            .map(([n, count]) => {
              const node = addr(n as NsqdProcess);
              return [`orders:archive:${node}`, {
                node,
                topic_name: "orders",
                channel_name: "archive",
                message_count: count,
              }];
            }),
        ),
        message: "",
      });
    });

    await t.step("GET/PUT /config/:opt", async () => {
      assert.equal(await get(a, "/config/log_level"), 2);
      assert.equal(await get(a, "/config/http_client_request_timeout"), 1e9);
      assert.deepEqual(await get(a, "/config/admin_users"), ["alice"]);
      const bad = await call(a, "GET", "/config/nope");
      assert.deepEqual([bad.status, bad.body], [400, { message: "INVALID_OPTION" }]);
      const put = await a.http("/config/log_level", { method: "PUT", body: "debug" });
      assert.deepEqual([put.status, await put.text()], [200, "1"]);
      const bad2 = await a.http("/config/log_level", { method: "PUT", body: "loud" });
      assert.deepEqual([bad2.status, await bad2.json()], [400, { message: "INVALID_VALUE" }]);
      await a.http("/config/log_level", { method: "PUT", body: "info" }).then((r) => r.body?.cancel());
    });

    await t.step("actions refuse non-admins with 403 FORBIDDEN and change nothing", async () => {
      for (const user of [undefined, "bob"]) {
        const r = await call(a, "POST", "/api/topics/orders", { action: "pause" }, user);
        assert.deepEqual([r.status, r.body], [403, { message: "FORBIDDEN" }]);
        const d = await call(a, "DELETE", "/api/topics/solo", undefined, user);
        assert.deepEqual([d.status, d.body], [403, { message: "FORBIDDEN" }]);
      }
      assert.equal((await topicStats(n1, "orders")).paused, false);
      assert.ok(await topicStats(n3, "solo"));
    });

    await t.step("bad action bodies are 400s", async () => {
      const r = await call(a, "POST", "/api/topics/orders", { action: "explode" }, "alice");
      assert.deepEqual([r.status, r.body], [400, { message: "INVALID_ACTION" }]);
      const e = await call(a, "POST", "/api/topics", undefined, "alice");
      assert.deepEqual([e.status, e.body], [400, { message: "EOF" }]);
      const bt = await call(a, "POST", "/api/topics", { topic: "bad topic" }, "alice");
      assert.deepEqual([bt.status, bt.body], [400, { message: "INVALID_TOPIC" }]);
      const bc = await call(a, "POST", "/api/topics", { topic: "ok", channel: "bad!" }, "alice");
      assert.deepEqual([bc.status, bc.body], [400, { message: "INVALID_CHANNEL" }]);
      const tb = await call(a, "DELETE", `/api/nodes/${addr(n1)}`, undefined, "alice");
      assert.deepEqual([tb.status, tb.body], [400, { message: "INVALID_BODY" }]);
    });

    await t.step("pause, unpause and empty reach every nsqd of the topic", async () => {
      await act(a, "POST", "/api/topics/orders", { action: "pause" });
      for (const n of [n1, n2]) assert.equal((await topicStats(n, "orders")).paused, true);
      assert.equal((await get(a, "/api/topics/orders")).paused, true);
      await act(a, "POST", "/api/topics/orders", { action: "unpause" });
      for (const n of [n1, n2]) assert.equal((await topicStats(n, "orders")).paused, false);
      await act(a, "POST", "/api/topics/orders/archive", { action: "pause" });
      for (const n of [n1, n2]) assert.equal((await topicStats(n, "orders")).channels[0].paused, true);
      await act(a, "POST", "/api/topics/orders/archive", { action: "unpause" });
      await act(a, "POST", "/api/topics/orders/archive", { action: "empty" });
      for (const n of [n1, n2]) assert.equal((await topicStats(n, "orders")).channels[0].depth, 0);
      await act(a, "POST", "/api/topics/orders", { action: "empty" });
    });

    await t.step("create registers with the lookupds; inactive topics list it", async () => {
      await act(a, "POST", "/api/topics", { topic: "ghost", channel: "g1" });
      for (const l of lookupds) {
        const body = await (await l.http("/channels?topic=ghost")).json();
        assert.deepEqual(body.channels, ["g1"]);
      }
      assert.deepEqual(await get(a, "/api/topics?inactive=true"), { topics: { ghost: ["g1"] }, message: "" });
      await act(a, "POST", "/api/topics", { topic: "orders", channel: "audit" });
      for (const n of [n1, n2]) {
        const names = (await topicStats(n, "orders")).channels.map((c: StatsJson) => c.channel_name);
        assert.deepEqual(names, ["archive", "audit"]);
      }
    });

    await t.step("delete channel and topic", async () => {
      await act(a, "DELETE", "/api/topics/orders/audit");
      for (const n of [n1, n2]) assert.equal((await topicStats(n, "orders")).channels.length, 1);
      await act(a, "DELETE", "/api/topics/solo");
      assert.equal(await topicStats(n3, "solo"), undefined);
      await until("the lookupds forgot solo", async () => {
        assert.deepEqual((await get(a, "/api/topics")).topics, ["ghost", "orders"]);
      });
      await act(a, "DELETE", "/api/topics/ghost");
    });

    await t.step("DELETE /api/nodes/:node tombstones the node and deletes the topic there", async () => {
      await act(a, "DELETE", `/api/nodes/${addr(n2)}`, { topic: "orders" });
      assert.equal(await topicStats(n2, "orders"), undefined);
      assert.ok(await topicStats(n1, "orders"));
      await until("only n1 produces orders", async () => {
        const body = await get(a, "/api/topics/orders");
        assert.deepEqual(body.nodes.map((n: Json) => n.node), [addr(n1)]);
      });
    });

    await t.step("every action was notified, in order, with upstream's fields", async () => {
      await until("notifications arrived", () => assert.equal(sink.received.length, 14), 5000);
      assert.deepEqual(sink.received.map((r) => r.body.action), [
        "pause_topic",
        "unpause_topic",
        "pause_channel",
        "unpause_channel",
        "empty_channel",
        "empty_topic",
        "create_topic",
        "create_channel",
        "create_topic",
        "create_channel",
        "delete_channel",
        "delete_topic",
        "delete_topic",
        "tombstone_topic_producer",
      ]);
      const first = sink.received[0];
      assert.equal(first.contentType, "application/json");
      assert.deepEqual(Object.keys(first.body), [
        "action",
        "topic",
        "timestamp",
        "remote_ip",
        "user_agent",
        "url",
        "via",
      ]);
      assert.equal(first.body.topic, "orders");
      assert.equal(first.body.url, `${a.httpUrl}/api/topics/orders`);
      assert.match(first.body.remote_ip, /^127\.0\.0\.1:\d+$/);
      assert.ok(Math.abs(first.body.timestamp - Date.now() / 1000) < 60);
      const channel = sink.received[2].body;
      assert.deepEqual([channel.topic, channel.channel], ["orders", "archive"]);
      const tomb = sink.received[13].body;
      assert.deepEqual(Object.keys(tomb).slice(0, 4), ["action", "topic", "node", "timestamp"]);
      assert.equal(tomb.node, addr(n2));
    });

    await t.step("a stopped nsqd gives a partial result with a warning", async () => {
      await publish(n3, "orders", 4); // n3 now produces orders too
      await until("n3 produces orders", async () => {
        assert.equal((await get(a, "/api/topics/orders")).nodes.length, 2);
      });
      n3.proc.signal("SIGSTOP");
      try {
        const body = await get(a, "/api/topics/orders");
        assert.match(body.message, new RegExp(`^WARNING: .*${addr(n3)}/stats`));
        assert.deepEqual(body.nodes.map((n: Json) => n.node), [addr(n1)]);
        const counter = await get(a, "/api/counter");
        assert.match(counter.message, /^WARNING: /);
        // The action still reaches n1; n3's failure is a warning.
        const r = await call(a, "POST", "/api/topics/orders", { action: "pause" }, "alice");
        assert.equal(r.status, 200);
        assert.match(r.body.message, new RegExp(`^WARNING: .*${addr(n3)}/topic/pause`));
        assert.equal((await topicStats(n1, "orders")).paused, true);
      } finally {
        n3.proc.signal("SIGCONT");
      }
    });

    await t.step("a dead lookupd gives warnings; no lookupd answering gives 502", async () => {
      const live = lookupds.map((l) => `127.0.0.1:${l.httpPort}`);
      const put = await call(a, "PUT", "/config/nsqlookupd_http_addresses", [...live, "127.0.0.1:1"]);
      assert.deepEqual([put.status, put.body], [200, [...live, "127.0.0.1:1"]]);
      const topics = await get(a, "/api/topics");
      assert.deepEqual(topics.topics, ["orders"]);
      assert.match(topics.message, /^WARNING: Get "http:\/\/127\.0\.0\.1:1\/topics": /);
      await call(a, "PUT", "/config/nsqlookupd_http_addresses", ["127.0.0.1:1"]);
      const down = await call(a, "GET", "/api/topics");
      assert.equal(down.status, 502);
      assert.match(
        down.body.message,
        /^UPSTREAM_ERROR: failed to query any nsqlookupd: Get "http:\/\/127\.0\.0\.1:1/,
      );
      const create = await call(a, "POST", "/api/topics", { topic: "never" }, "alice");
      assert.equal(create.status, 502);
      assert.match(create.body.message, /^UPSTREAM_ERROR: failed to query any node: /);
      await call(a, "PUT", "/config/nsqlookupd_http_addresses", live);
    });
  } finally {
    for (const c of conns) c.close();
    await stopAll([...(admin ? [admin] : []), ...nsqds, ...lookupds]);
    await sink.close();
  }
}

async function nsqdModeTest(runtime: Runtime): Promise<void> {
  const nsqds = await Promise.all([0, 1].map(() => startNsqd(runtime, ["--broadcast-address=127.0.0.1"])));
  const [n1, n2] = nsqds;
  let admin: NsqadminProcess | null = null;
  try {
    admin = await startNsqadmin(runtime, nsqds.map((n) => `--nsqd-http-address=${addr(n)}`));
    const a = admin;
    await publish(n1, "t", 2);
    await act(a, "POST", "/api/topics", { topic: "made", channel: "here" });
    for (const n of nsqds) assert.deepEqual((await topicStats(n, "made")).channels[0].channel_name, "here");
    assert.deepEqual(await get(a, "/api/topics"), { topics: ["made", "t"], message: "" });
    assert.deepEqual(await get(a, "/api/topics?inactive=true"), { topics: {}, message: "" });
    const nodes = await get(a, "/api/nodes");
    assert.equal(nodes.nodes.length, 2);
    for (const n of nodes.nodes) {
      assert.deepEqual(Object.keys(n), PRODUCER_KEYS);
      assert.deepEqual([n.remote_addresses, n.remote_address, n.out_of_date], [null, "", false]);
    }
    const topic = await get(a, "/api/topics/t");
    assert.deepEqual([topic.message_count, topic.nodes.length], [2, 1]);

    await n2.stop();
    const after = await get(a, "/api/nodes");
    assert.equal(after.nodes.length, 1);
    assert.match(after.message, new RegExp(`^WARNING: Get "http://${addr(n2)}/`));
  } finally {
    await stopAll([...(admin ? [admin] : []), ...nsqds]);
  }
}

async function startupErrorsTest(runtime: Runtime): Promise<void> {
  const cases: [string[], string][] = [
    [[], "--nsqd-http-address or --lookupd-http-address required"],
    [
      ["--nsqd-http-address=127.0.0.1:4151", "--lookupd-http-address=127.0.0.1:4161"],
      "use --nsqd-http-address or --lookupd-http-address not both",
    ],
  ];
  await Promise.all(cases.map(async ([args, text]) => {
    const proc = new ChildProcess(commandFor(runtime, "nsqadmin"), ["--http-address=127.0.0.1:0", ...args]);
    const status = await proc.status;
    assert.equal(status.code, 1);
    assert.match(proc.stderr, new RegExp(`FATAL: failed to instantiate nsqadmin - ${text}`));
  }));
}
