/**
 * nsqadmin without a cluster: flags and config file, startup checks, the CIDR gate, semver, the
 * e2e-latency aggregate, and the routes that need no upstream (via Hono's `app.request()`).
 */
import assert from "node:assert/strict";
import { parseNsqadminArgs } from "../../src/cli/nsqadmin_options.ts";
import {
  aggregateChannel,
  type ChannelStats,
  compareSemver,
  parseSemver,
} from "../../src/nsqadmin/cluster_info.ts";
import { createAdminHttpApp } from "../../src/nsqadmin/http.ts";
import { Nsqadmin } from "../../src/nsqadmin/nsqadmin.ts";
import {
  cidrContains,
  defaultNsqadminOptions,
  type NsqadminOptions,
  parseCidr,
  validateNsqadminOptions,
} from "../../src/nsqadmin/options.ts";
import type { Platform } from "../../src/platform/types.ts";

const defaults = defaultNsqadminOptions();

Deno.test("parseNsqadminArgs() repeats address flags and reads upstream's config keys", () => {
  const { options } = parseNsqadminArgs(
    ["--lookupd-http-address=a:4161", "--lookupd-http-address=b:4161", "--admin-user=alice"],
    defaults,
  );
  assert.deepEqual(options.nsqlookupdHttpAddresses, ["a:4161", "b:4161"]);
  assert.deepEqual(options.adminUsers, ["alice"]);

  const toml = [
    'nsqd_http_addresses = ["n1:4151", "n2:4151"]',
    'admin_users = ["root"]',
    'acl_http_header = "X-User"',
    'http_client_request_timeout = "3s"',
    'log_level = "debug"',
    'base_path = "/admin"',
  ].join("\n");
  const fromFile =
    parseNsqadminArgs(["--config=x.toml", "--acl-http-header=X-Flag"], defaults, () => toml).options;
  assert.deepEqual(fromFile.nsqdHttpAddresses, ["n1:4151", "n2:4151"]);
  assert.deepEqual(fromFile.adminUsers, ["root"]);
  assert.equal(fromFile.aclHttpHeader, "X-Flag"); // the flag wins over the file
  assert.equal(fromFile.httpClientRequestTimeout, 3000);
  assert.equal(fromFile.logLevel, 1);
  assert.equal(fromFile.basePath, "/admin");
});

Deno.test("parseNsqadminArgs() accepts the graphite and statsd flags", () => {
  const { options } = parseNsqadminArgs([
    "--graphite-url=http://g:8080",
    "--proxy-graphite",
    "--statsd-prefix=nsq.%s",
    "--statsd-interval=30s",
    "--statsd-counter-format=",
    "--verbose",
  ], defaults);
  assert.equal(options.graphiteUrl, "http://g:8080");
  assert.equal(options.proxyGraphite, true);
  assert.equal(options.statsdInterval, 30_000);
  assert.equal(options.statsdCounterFormat, "");
});

Deno.test("validateNsqadminOptions() makes upstream's startup checks and cleans the base path", () => {
  const o = (patch: Partial<NsqadminOptions>) => ({ ...defaults, ...patch });
  assert.throws(
    () => validateNsqadminOptions(o({})),
    /--nsqd-http-address or --lookupd-http-address required/,
  );
  assert.throws(
    () => validateNsqadminOptions(o({ nsqdHttpAddresses: ["a:1"], nsqlookupdHttpAddresses: ["b:2"] })),
    /use --nsqd-http-address or --lookupd-http-address not both/,
  );
  assert.throws(
    () => validateNsqadminOptions(o({ nsqdHttpAddresses: ["a:1"], httpClientTlsCert: "c.pem" })),
    /--http-client-tls-key must be specified with --http-client-tls-cert/,
  );
  assert.throws(
    () => validateNsqadminOptions(o({ nsqdHttpAddresses: ["nohost"] })),
    /failed to resolve --nsqd-http-address \(nohost\)/,
  );
  assert.throws(
    () => validateNsqadminOptions(o({ nsqdHttpAddresses: ["a:1"], allowConfigFromCidr: "10.0.0.0" })),
    /failed to parse --allow-config-from-cidr/,
  );
  assert.equal(validateNsqadminOptions(o({ nsqdHttpAddresses: ["a:1"] })), "");
  assert.equal(validateNsqadminOptions(o({ nsqdHttpAddresses: ["a:1"], basePath: "x//y/../z/" })), "/x/z");
});

Deno.test("cidrContains() matches IPv4, IPv4-mapped IPv6 and IPv6 peers", () => {
  const loop = parseCidr("127.0.0.1/8")!;
  assert.ok(cidrContains(loop, "127.9.8.7"));
  assert.ok(cidrContains(loop, "::ffff:127.0.0.1"));
  assert.ok(!cidrContains(loop, "10.0.0.1"));
  assert.ok(!cidrContains(loop, "::1"));
  assert.ok(cidrContains(parseCidr("::1/128")!, "::1"));
  assert.ok(cidrContains(parseCidr("fd00::/8")!, "fd12:3456::1"));
  assert.equal(parseCidr("300.0.0.0/8"), null);
  assert.equal(parseCidr("10.0.0.0/33"), null);
});

Deno.test("compareSemver() orders releases above their pre-releases and treats junk as 0.0.0", () => {
  const cmp = (a: string, b: string) => Math.sign(compareSemver(parseSemver(a), parseSemver(b)));
  assert.equal(cmp("1.3.0", "1.2.1"), 1);
  assert.equal(cmp("1.3.0-rc.1", "1.3.0"), -1);
  assert.equal(cmp("1.3.0-rc.2", "1.3.0-rc.10"), -1);
  assert.equal(cmp("1.3.0+build", "1.3.0"), 0);
  assert.equal(cmp("junk", "0.0.0"), 0);
});

function channelNode(node: string, hostname: string, count: number, p99: number, p50: number): ChannelStats {
  const pct = (quantile: number, value: number) => ({
    average: value,
    count,
    max: value,
    min: value,
    quantile,
    value,
  });
  return {
    node,
    hostname,
    topic_name: "t",
    channel_name: "c",
    depth: 2,
    memory_depth: 1,
    backend_depth: 1,
    in_flight_count: 1,
    deferred_count: 0,
    requeue_count: 0,
    timeout_count: 0,
    message_count: 5,
    client_count: 1,
    nodes: null,
    clients: [{ node, hostname: `${hostname}-client` }],
    paused: node === "b:1",
    e2e_processing_latency: {
      count,
      percentiles: [pct(0.5, p50), pct(0.99, p99)],
      topic: "",
      channel: "",
      host: "",
    },
  };
}

Deno.test("aggregateChannel() sums, lists every node and merges latencies by quantile", () => {
  const agg = aggregateChannel("t", "c", [
    channelNode("b:1", "hb", 3, 300, 30),
    channelNode("a:1", "ha", 1, 100, 10),
  ]);
  assert.deepEqual([agg.node, agg.hostname, agg.depth, agg.message_count, agg.client_count, agg.paused], [
    "*",
    "",
    4,
    10,
    2,
    true,
  ]);
  assert.deepEqual(agg.nodes!.map((n) => n.node), ["a:1", "b:1"]); // by hostname
  assert.deepEqual(agg.clients!.map((c) => c.node), ["a:1", "b:1"]);
  assert.deepEqual(agg.e2e_processing_latency, {
    count: 4,
    percentiles: [
      { average: 250, count: 4, max: 300, min: 100, quantile: 0.99 },
      { average: 25, count: 4, max: 30, min: 10, quantile: 0.5 },
    ],
    topic: "t",
    channel: "c",
    host: "*",
  });
});

const platform = { name: "deno", hostname: () => "admin-host", writeStderr: () => {} } as unknown as Platform;

function app(patch: Partial<NsqadminOptions> = {}) {
  const admin = new Nsqadmin(platform, { ...defaults, nsqdHttpAddresses: ["127.0.0.1:1"], ...patch });
  return createAdminHttpApp(admin);
}

const from = (hostname: string) => ({ remoteAddr: { hostname, port: 5000 } });

Deno.test("routes live under --base-path; others are 404 NOT_FOUND, wrong methods 405", async () => {
  const a = app({ basePath: "/admin/" });
  const ping = await a.request("/admin/ping");
  assert.deepEqual([ping.status, await ping.text()], [200, "OK"]);
  const root = await a.request("/ping");
  assert.deepEqual([root.status, await root.json()], [404, { message: "NOT_FOUND" }]);
  const put = await a.request("/admin/api/topics", { method: "PUT" });
  assert.deepEqual([put.status, await put.json()], [405, { message: "METHOD_NOT_ALLOWED" }]);
});

Deno.test("/config/:opt is refused outside --allow-config-from-cidr and open when it is empty", async () => {
  const gated = app();
  const far = await gated.request("/config/acl_http_header", {}, from("10.1.2.3"));
  assert.deepEqual([far.status, await far.json()], [403, { message: "FORBIDDEN" }]);
  const near = await gated.request("/config/acl_http_header", {}, from("127.0.0.1"));
  assert.deepEqual([near.status, await near.json()], [200, "X-Forwarded-User"]);
  const nsqds = await gated.request("/config/nsqd_http_addresses", {}, from("::ffff:127.0.0.1"));
  assert.deepEqual(await nsqds.json(), ["127.0.0.1:1"]);
  const open = app({ allowConfigFromCidr: "" });
  const any = await open.request("/config/statsd_interval", {}, from("10.1.2.3"));
  assert.deepEqual(await any.json(), 60e9);
  const empty = await open.request("/config/log_level", { method: "PUT", body: "" }, from("10.1.2.3"));
  assert.deepEqual([empty.status, await empty.json()], [413, { message: "INVALID_VALUE" }]);
  const other = await open.request("/config/http_address", { method: "PUT", body: "x" }, from("10.1.2.3"));
  assert.deepEqual([other.status, await other.json()], [400, { message: "INVALID_OPTION" }]);
});

Deno.test("actions of a user not in --admin-user are 403 FORBIDDEN before any upstream call", async () => {
  const a = app({ adminUsers: ["alice"], aclHttpHeader: "X-User" });
  for (
    const [method, path] of [["POST", "/api/topics"], ["DELETE", "/api/topics/t"], [
      "DELETE",
      "/api/nodes/n:1",
    ]]
  ) {
    const r = await a.request(
      path,
      { method, body: '{"topic":"t"}', headers: { "X-User": "bob" } },
      from("127.0.0.1"),
    );
    assert.deepEqual([r.status, await r.json()], [403, { message: "FORBIDDEN" }], `${method} ${path}`);
  }
});
