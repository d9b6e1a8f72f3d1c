/**
 * nsq_to_http (shared/nsq-reference.md §10.6) against a real nsqd and a local HTTP server, on Deno
 * and on Bun: POST bodies and headers, GET with the query-escaped body, round-robin and send-to-all
 * modes, retries of failed requests (none lost), `--sample`, the status lines, and the flag errors.
 */
import assert from "node:assert/strict";
import {
  channelStats,
  type NsqdProcess,
  runApp,
  runtimeTest,
  startApp,
  startNsqd,
  until,
} from "./harness.ts";

interface Seen {
  method: string;
  url: string;
  body: string;
  headers: Headers;
}

/** A local HTTP server recording requests; `fail(n)` answers 500 to every n-th request. */
function httpServer(failEvery = 0) {
  const seen: Seen[] = [];
  let count = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    count++;
    const body = await req.text();
    if (failEvery > 0 && count % failEvery === 0) return new Response("no", { status: 500 });
    seen.push({ method: req.method, url: req.url, body, headers: req.headers });
    return new Response("ok");
  });
  return { seen, server, url: `http://127.0.0.1:${server.addr.port}`, requests: () => count };
}

async function mpub(nsqd: NsqdProcess, topic: string, bodies: string[]): Promise<void> {
  const res = await nsqd.http(`/mpub?topic=${topic}`, { method: "POST", body: bodies.join("\n") });
  assert.equal(res.status, 200, await res.text());
}

async function drained(nsqd: NsqdProcess, topic: string, channel = "nsq_to_http"): Promise<void> {
  await until("every message FINed", async () => {
    const ch = await channelStats(nsqd, topic, channel);
    assert.equal(ch?.depth, 0);
    assert.equal(ch?.in_flight_count, 0);
    assert.equal(ch?.deferred_count, 0);
  }, 15_000);
}

const fast = ["--consumer-opt=default_requeue_delay,0s", "--consumer-opt=backoff_multiplier,10ms"];

runtimeTest(
  "nsq_to_http --post sends each body with the content type and headers, retries failed requests, loses none",
  async (rt) => {
    const nsqd = await startNsqd(rt);
    const web = httpServer(3);
    try {
      const bodies = Array.from({ length: 40 }, (_, i) => `body ${i}`);
      await mpub(nsqd, "h", bodies);
      const app = startApp(rt, "nsq_to_http", [
        "--topic=h",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--post=${web.url}/in`,
        "--content-type=text/plain",
        "--header=X-Test:  yes ",
        "--header=Authorization: Bearer t:k",
        "--status-every=100",
        "-n=4",
        ...fast,
      ]);
      await drained(nsqd, "h");
      app.signal("SIGTERM");
      assert.equal((await app.status).code, 0, app.stderr);
      assert.deepEqual(web.seen.map((s) => s.body).sort(), [...bodies].sort(), "every body delivered once");
      assert.ok(web.requests() > 40, "some requests failed and were retried");
      const s = web.seen[0];
      assert.equal(s.method, "POST");
      assert.equal(new URL(s.url).pathname, "/in");
      assert.equal(s.headers.get("content-type"), "text/plain");
      assert.equal(s.headers.get("x-test"), "yes");
      assert.equal(s.headers.get("authorization"), "Bearer t:k");
      assert.equal(s.headers.get("user-agent"), "nsq_to_http v1.3.0");
      assert.match(app.stderr, /got status code 500/);
    } finally {
      await web.server.shutdown();
      await nsqd.stop();
    }
  },
);

runtimeTest(
  "nsq_to_http --get puts the query-escaped body in the URL; round-robin alternates; --sample=0 sends nothing",
  async (rt) => {
    const nsqd = await startNsqd(rt);
    const a = httpServer(), b = httpServer();
    try {
      const bodies = ["a b&c=d/é", "x%2Fy", "plain", "+"];
      await mpub(nsqd, "g", bodies);
      const app = startApp(rt, "nsq_to_http", [
        "--topic=g",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--get=${a.url}/get?data=%s&x=1`,
        `--get=${b.url}/get?data=%s&x=1`,
        "--mode=round-robin",
        "-n=1",
        "--status-every=2",
      ]);
      await drained(nsqd, "g");
      app.signal("SIGTERM");
      assert.equal((await app.status).code, 0);
      assert.equal(a.seen.length, 2);
      assert.equal(b.seen.length, 2);
      const urls = [...a.seen, ...b.seen].map((s) => s.url.slice(s.url.indexOf("/get")));
      assert.deepEqual(urls.sort(), [
        "/get?data=%2B&x=1",
        "/get?data=a+b%26c%3Dd%2F%C3%A9&x=1",
        "/get?data=plain&x=1",
        "/get?data=x%252Fy&x=1",
      ]);
      assert.ok(a.seen.every((s) => s.method === "GET"));
      assert.match(
        app.stderr,
        /\[aggregate\]: finished 2 - 99th: \d+\.\d\dms - 95th: \d+\.\d\dms - avg: \d+\.\d\dms/,
      );
      assert.match(app.stderr, /\[http:\/\/127\.0\.0\.1:\d+\/get\?data=%s&x=1\]: finished 2 - 99th/);

      // --sample=0: every message is FINed, none sent.
      await mpub(nsqd, "s", ["1", "2", "3"]);
      const sampled = startApp(rt, "nsq_to_http", [
        "--topic=s",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--post=${a.url}/s`,
        "--sample=0",
      ]);
      await drained(nsqd, "s");
      sampled.signal("SIGTERM");
      assert.equal((await sampled.status).code, 0);
      assert.equal(a.seen.filter((s) => s.url.endsWith("/s")).length, 0);
    } finally {
      await a.server.shutdown();
      await b.server.shutdown();
      await nsqd.stop();
    }
  },
);

runtimeTest(
  "nsq_to_http send-to-all mode posts every message to every address; hostpool avoids a failing one",
  async (rt) => {
    const nsqd = await startNsqd(rt);
    const a = httpServer(), b = httpServer(), bad = httpServer(1);
    try {
      await mpub(nsqd, "all", ["m1", "m2"]);
      const app = startApp(rt, "nsq_to_http", [
        "--topic=all",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--post=${a.url}`,
        `--post=${b.url}`,
        "--mode=all",
      ]);
      await drained(nsqd, "all");
      app.signal("SIGTERM");
      assert.equal((await app.status).code, 0);
      assert.deepEqual(a.seen.map((s) => s.body).sort(), ["m1", "m2"]);
      assert.deepEqual(b.seen.map((s) => s.body).sort(), ["m1", "m2"]);

      const bodies = Array.from({ length: 20 }, (_, i) => `p${i}`);
      await mpub(nsqd, "pool", bodies);
      const pool = startApp(rt, "nsq_to_http", [
        "--topic=pool",
        `--nsqd-tcp-address=127.0.0.1:${nsqd.tcpPort}`,
        `--post=${bad.url}`,
        `--post=${a.url}/pool`,
        "-n=1",
        ...fast,
      ]);
      await drained(nsqd, "pool");
      pool.signal("SIGTERM");
      assert.equal((await pool.status).code, 0);
      assert.deepEqual(
        a.seen.filter((s) => s.url.endsWith("/pool")).map((s) => s.body).sort(),
        [...bodies].sort(),
      );
      assert.ok(bad.requests() <= 2, `the dead host is avoided (${bad.requests()} requests)`);
    } finally {
      await a.server.shutdown();
      await b.server.shutdown();
      await bad.server.shutdown();
      await nsqd.stop();
    }
  },
);

runtimeTest("nsq_to_http refuses bad flags and values with upstream's messages", async (rt) => {
  const ok = ["--topic=t", "--nsqd-tcp-address=a:1"];
  const cases: [string[], number, string][] = [
    [["--nsqd-tcp-address=a:1", "--post=http://x"], 1, "--topic and --channel are required"],
    [[...ok], 1, "--get or --post required"],
    [[...ok, "--get=http://x/%s", "--post=http://x"], 1, "use --get or --post not both"],
    [[...ok, "--get=http://x/"], 1, "invalid GET address - must be a printf string"],
    [[...ok, "--get=http://x/%s", "--content-type=a/b"], 1, "--content-type only used with --post"],
    [[...ok, "--post=http://x", "--content-type="], 1, "--content-type requires a value when used"],
    [["--topic=t", "--post=http://x"], 1, "--nsqd-tcp-address or --lookupd-http-address required"],
    [[...ok, "--post=http://x", "--sample=2"], 1, "--sample must be between 0.0 and 1.0"],
    [[...ok, "--post=http://x", "--consumer-opt=max_in_flight,-1"], 2, 'invalid value "max_in_flight,-1"'],
    [[...ok, "--post=http://x", "-n"], 2, "flag needs an argument: -n"],
  ];
  for (const [args, code, text] of cases) {
    const r = await runApp(rt, "nsq_to_http", args);
    assert.equal(r.code, code, `${args.join(" ")}: ${r.stderr}`);
    assert.ok(r.stderr.includes(text), `${args.join(" ")}: ${r.stderr}`);
  }
  const v = await runApp(rt, "nsq_to_http", ["--version"]);
  assert.match(v.stdout, /^nsq_to_http v1\.3\.0/);
});
