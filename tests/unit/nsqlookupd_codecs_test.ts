/**
 * nsqlookupd's pure pieces: the IDENTIFY body decoder (Go `encoding/json` into `PeerInfo`), Go's
 * `strings.TrimSpace` on command lines, Go-escaped JSON, flag/config resolution, and the HTTP
 * routes through `app.request()` (no sockets).
 */
import assert from "node:assert/strict";
import { parseNsqlookupdArgs } from "../../src/cli/nsqlookupd_options.ts";
import { ConfigError } from "../../src/cli/config_file.ts";
import { FlagError } from "../../src/cli/flags.ts";
import { LogLevel } from "../../src/internal/logger.ts";
import { createLookupHttpApp } from "../../src/nsqlookupd/http.ts";
import { decodeIdentifyBody } from "../../src/nsqlookupd/identify.ts";
import { trimGoSpace } from "../../src/nsqlookupd/lookup_protocol_v1.ts";
import { Nsqlookupd } from "../../src/nsqlookupd/nsqlookupd.ts";
import { defaultNsqlookupdOptions } from "../../src/nsqlookupd/options.ts";
import { Category, Producer, unixNanos } from "../../src/nsqlookupd/registration_db.ts";
import type { Platform } from "../../src/platform/types.ts";
import { goJson } from "../../src/protocol/go_json.ts";

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("decodeIdentifyBody() fills PeerInfo's fields, ignores unknown keys and null", () => {
  const f = decodeIdentifyBody(enc(JSON.stringify({
    version: "1.3.0",
    tcp_port: 4150,
    http_port: 4151,
    hostname: "h",
    broadcast_address: "b",
    topology_zone: "z",
    topology_region: "r",
    remote_address: "ignored",
    unknown: { nested: [1, 2, { "}": "]" }] },
    topology_zone_x: null,
  })));
  assert.deepEqual(f, {
    hostname: "h",
    broadcastAddress: "b",
    tcpPort: 4150,
    httpPort: 4151,
    version: "1.3.0",
    topologyZone: "z",
    topologyRegion: "r",
  });
  assert.equal(decodeIdentifyBody(enc("null")).version, "");
  assert.equal(decodeIdentifyBody(enc('{"version":null}')).version, "");
});

Deno.test("decodeIdentifyBody() matches keys case-insensitively and lets the last duplicate win", () => {
  const f = decodeIdentifyBody(enc('{"TCP_PORT":1,"tcp_port":2,"Http_Port":3,"VERSION":"v"}'));
  assert.deepEqual([f.tcpPort, f.httpPort, f.version], [2, 3, "v"]);
});

Deno.test("decodeIdentifyBody() fails where Go's json.Unmarshal fails", () => {
  for (
    const body of [
      "",
      "{",
      "[]",
      '"x"',
      "1",
      '{"tcp_port":"4150"}',
      '{"tcp_port":4150.0}',
      '{"tcp_port":1e3}',
      '{"tcp_port":9223372036854775808}',
      '{"version":1}',
      '{"hostname":true}',
      '{"remote_address":1}',
      "{} x",
      "\ufeff{}",
    ]
  ) {
    assert.throws(() => decodeIdentifyBody(enc(body)), Error, body);
  }
  assert.equal(decodeIdentifyBody(enc('{"tcp_port":-9223372036854775808}')).tcpPort, -(2 ** 63));
  assert.throws(
    () => decodeIdentifyBody(enc('{"tcp_port":"1","http_port":"2"}')),
    /cannot unmarshal string into Go struct field PeerInfo\.tcp_port of type int/,
  );
});

Deno.test("trimGoSpace() trims ASCII and Unicode white space like strings.TrimSpace", () => {
  const trim = (s: Uint8Array) => new TextDecoder().decode(trimGoSpace(s));
  assert.equal(trim(enc(" \t\v\f\r PING \r")), "PING");
  assert.equal(trim(enc("\u00a0\u2003PING\u3000\u0085")), "PING");
  assert.equal(trim(enc("   ")), "");
  assert.equal(trim(enc("A B")), "A B");
  // Invalid UTF-8 is not space.
  assert.deepEqual(trimGoSpace(new Uint8Array([0xc2, 0x41, 0x20])), new Uint8Array([0xc2, 0x41]));
});

Deno.test("goJson() writes Go's escapes, bigint numbers exactly, and keeps key order", () => {
  assert.equal(
    goJson({ b: "<a&b>", a: [1, true, null] }),
    '{"b":"\\u003ca\\u0026b\\u003e","a":[1,true,null]}',
  );
  assert.equal(goJson(-6795364578871345152n), "-6795364578871345152");
  assert.equal(goJson("\u2028\n\u0001é"), '"\\u2028\\n\\u0001é"');
  assert.equal(goJson([]), "[]");
  assert.equal(goJson({}), "{}");
});

Deno.test("parseNsqlookupdArgs(): defaults, Go flag syntax, durations in ms", () => {
  const d = defaultNsqlookupdOptions("host");
  assert.deepEqual(parseNsqlookupdArgs([], d).options, d);
  assert.equal(d.inactiveProducerTimeout, 300_000);
  assert.equal(d.tombstoneLifetime, 45_000);
  const { options } = parseNsqlookupdArgs(
    ["-tcp-address", "127.0.0.1:1", "--inactive-producer-timeout=1m30s", "-verbose", "--log-level=WARN"],
    d,
  );
  assert.equal(options.tcpAddress, "127.0.0.1:1");
  assert.equal(options.inactiveProducerTimeout, 90_000);
  assert.equal(options.logLevel, LogLevel.warn);
  assert.throws(() => parseNsqlookupdArgs(["--node-id=1"], d), FlagError);
  assert.throws(
    () => parseNsqlookupdArgs(["--log-level=loud"], d),
    /invalid value "loud" for flag -log-level/,
  );
});

Deno.test("parseNsqlookupdArgs(): config keys, integer durations as ms, flags win", () => {
  const d = defaultNsqlookupdOptions("host");
  const cfg = [
    'http_address = "127.0.0.1:2"',
    "tombstone_lifetime = 1500",
    'inactive_producer_timeout = "10s"',
    'log_level = "debug"',
    'log_prefix = "[x] "',
    "verbose = true", // not an option upstream: ignored
  ].join("\n");
  const read = () => cfg;
  const { options } = parseNsqlookupdArgs(["--config=c.toml", "--tombstone-lifetime=2s"], d, read);
  assert.equal(options.httpAddress, "127.0.0.1:2");
  assert.equal(options.tombstoneLifetime, 2000);
  assert.equal(options.inactiveProducerTimeout, 10_000);
  assert.equal(options.logLevel, LogLevel.debug);
  assert.equal(options.logPrefix, "[x] ");
  assert.throws(() => parseNsqlookupdArgs(["--config=c"], d, () => 'log_level = "x"'), ConfigError);
  assert.throws(
    () => parseNsqlookupdArgs(["--config=c"], d, () => 'tombstone_lifetime = "soon"'),
    /option resolution failed to coerce soon for tombstone_lifetime/,
  );
  assert.throws(
    () =>
      parseNsqlookupdArgs(["--config=missing"], d, () => {
        throw new Error("no such file");
      }),
    /failed to load config file missing - no such file/,
  );
});

// ---- HTTP routes without sockets ----------------------------------------------------------------

const fakePlatform = { name: "deno", version: "0", hostname: () => "h" } as unknown as Platform;

function lookupd(overrides: Partial<ReturnType<typeof defaultNsqlookupdOptions>> = {}): Nsqlookupd {
  return new Nsqlookupd(fakePlatform, { ...defaultNsqlookupdOptions("h"), ...overrides }, () => {});
}

function register(
  l: Nsqlookupd,
  id: string,
  topic: string,
  extra: Partial<{ broadcastAddress: string }> = {},
) {
  const peer = {
    id,
    remoteAddress: id,
    hostname: "<h>",
    broadcastAddress: extra.broadcastAddress ?? "b",
    tcpPort: 4150,
    httpPort: 4151,
    version: "1.3.0",
    topologyZone: "",
    topologyRegion: "",
    lastUpdate: unixNanos(),
  };
  l.db.addProducer({ category: Category.Client, key: "", subKey: "" }, new Producer(peer));
  l.db.addProducer({ category: Category.Topic, key: topic, subKey: "" }, new Producer(peer));
  return peer;
}

Deno.test("/lookup writes producers with Go's HTML escapes and hides tombstoned ones", async () => {
  const l = lookupd();
  const app = createLookupHttpApp(l);
  register(l, "1.2.3.4:5", "t", { broadcastAddress: "a" });
  register(l, "1.2.3.4:6", "t", { broadcastAddress: "b" });
  let res = await app.request("/lookup?topic=t");
  const text = await res.text();
  assert.ok(text.includes('"hostname":"\\u003ch\\u003e"'), text);
  assert.equal(JSON.parse(text).producers.length, 2);
  res = await app.request("/topic/tombstone?topic=t&node=a:4151", { method: "POST" });
  assert.equal(res.status, 200);
  const after = await (await app.request("/lookup?topic=t")).json();
  assert.deepEqual(after.producers.map((p: { broadcast_address: string }) => p.broadcast_address), ["b"]);
  const nodes = await (await app.request("/nodes")).json();
  assert.deepEqual(nodes.producers.map((p: { tombstones: boolean[] }) => p.tombstones), [[true], [false]]);
});

Deno.test("/lookup?topic=* matches every topic key, as upstream's wildcard lookup does", async () => {
  const l = lookupd();
  const app = createLookupHttpApp(l);
  register(l, "1.2.3.4:5", "t1");
  register(l, "1.2.3.4:6", "t2");
  l.db.addRegistration({ category: Category.Channel, key: "t2", subKey: "c" });
  const body = await (await app.request("/lookup?topic=*")).json();
  assert.deepEqual(body.channels, ["c"]);
  assert.equal(body.producers.length, 2);
});

Deno.test("/nodes and /lookup leave out a producer inactive for longer than the timeout", async () => {
  const l = lookupd({ inactiveProducerTimeout: 1000 });
  const app = createLookupHttpApp(l);
  const old = register(l, "1.2.3.4:5", "t");
  register(l, "1.2.3.4:6", "t");
  old.lastUpdate -= 2_000_000_000n;
  const lookup = await (await app.request("/lookup?topic=t")).json();
  assert.deepEqual(lookup.producers.map((p: { remote_address: string }) => p.remote_address), ["1.2.3.4:6"]);
  const nodes = await (await app.request("/nodes")).json();
  assert.deepEqual(nodes.producers.map((p: { remote_address: string }) => p.remote_address), ["1.2.3.4:6"]);
  const debug = await (await app.request("/debug")).json();
  assert.equal(debug["client::"].length, 2);
});
