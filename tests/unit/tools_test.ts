import assert from "node:assert/strict";
import { HostPool, RoundRobin } from "../../src/apps/host_pool.ts";
import { queryEscape } from "../../src/apps/nsq_to_http.ts";
import { filterJson } from "../../src/apps/nsq_to_nsq.ts";
import { strftime } from "../../src/apps/strftime.ts";
import { clientFlagOptions, clientOptFlag } from "../../src/apps/client_flags.ts";
import { parseFlags } from "../../src/cli/flags.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

Deno.test("strftime() fills every supported code and leaves unknown ones as they are", () => {
  const d = new Date(2024, 1, 3, 14, 5, 6);
  assert.equal(
    strftime("%Y %y %m %d %H %I %M %S %p %B %b %A %a %% %q", d),
    "2024 24 02 03 14 02 05 06 PM February Feb Saturday Sat % %q",
  );
  assert.equal(strftime("2006-%Y", d), "2006-2024");
});

Deno.test("queryEscape() escapes bytes as Go's url.QueryEscape", () => {
  assert.equal(queryEscape(enc.encode("a b&c=d/é~-_.*")), "a+b%26c%3Dd%2F%C3%A9~-_.%2A");
});

Deno.test("RoundRobin starts with the first host; HostPool skips a failed host until all are dead", () => {
  const rr = new RoundRobin(["a", "b", "c"]);
  assert.deepEqual([rr.next(), rr.next(), rr.next(), rr.next()], ["a", "b", "c", "a"]);
  let now = 0;
  const pool = new HostPool(["a", "b"], () => now);
  pool.failed("a");
  assert.deepEqual([pool.next(), pool.next(), pool.next()], ["b", "b", "b"]);
  now = 30_000;
  assert.ok([pool.next(), pool.next()].includes("a"), "retried after 30 s");
  pool.failed("a");
  pool.failed("b");
  assert.ok(["a", "b"].includes(pool.next()), "all dead: all revived");
});

Deno.test("filterJson() requires fields and values and whitelists keys, sorted", () => {
  const f = (body: string, o: Partial<Parameters<typeof filterJson>[1]>) => {
    const out = filterJson(enc.encode(body), {
      whitelistJsonFields: [],
      requireJsonField: "",
      requireJsonValue: "",
      ...o,
    });
    return out === null ? null : dec.decode(out);
  };
  assert.equal(f("not json", {}), "not json");
  assert.equal(f("not json", { requireJsonField: "a" }), null);
  assert.equal(f("[1]", { requireJsonField: "a" }), null);
  assert.equal(f('{"b":1}', { requireJsonField: "a" }), null);
  assert.equal(f('{"a":1}', { requireJsonField: "a", requireJsonValue: "1.0" }), '{"a":1}');
  assert.equal(f('{"a":"1.0"}', { requireJsonField: "a", requireJsonValue: "1" }), null);
  assert.equal(f('{"a":true}', { requireJsonField: "a", requireJsonValue: "true" }), null);
  assert.equal(f('{"z":1,"a":2.0,"x":3}', { whitelistJsonFields: ["z", "a", "q"] }), '{"a":2,"z":1}');
});

Deno.test("--consumer-opt / --producer-opt map go-nsq keys with go-nsq's coercions and refuse the rest", () => {
  assert.deepEqual(
    clientFlagOptions(["max_attempts,10", "default-requeue-delay,1.5s", "snappy", "lookupd_poll_jitter,0.5"]),
    { maxAttempts: 10, defaultRequeueDelay: 1500, snappy: true, lookupdPollJitter: 0.5 },
  );
  const parse = (flag: "consumer-opt" | "producer-opt", value: string) =>
    parseFlags([clientOptFlag(flag)], [`--${flag}=${value}`]);
  assert.throws(() => parse("consumer-opt", "read_timeout,5000"), /failed to coerce option read_timeout/);
  assert.throws(
    () => parse("consumer-opt", "max_attempts,70000"),
    /invalid value "max_attempts,70000" for flag -consumer-opt/,
  );
  assert.throws(() => parse("producer-opt", "nope,1"), /-producer-opt: invalid option nope/);
  assert.throws(
    () => parse("consumer-opt", "topology_zone,a"),
    /-consumer-opt: option topology_zone is not supported by this client/,
  );
});
