/**
 * `--http-auth` (beyond upstream, nsq #1183/#1426): every protected endpoint of nsqd and nsqlookupd
 * answers 401 without a token, 403 with a token that lacks the permission, and normally with it.
 */
import assert from "node:assert/strict";
import { grant, startAuthServer } from "./auth_server.ts";
import { ChildProcess, commandFor, runtimeTest, testSecret, withNsqd, withNsqlookupd } from "./harness.ts";

// Secrets this file hands to nsqd: no log of the suite may contain them (harness.ts `testSecret`).
testSecret("admin-secret");

const ALL = [".*"];

/** Tokens and grants, in the token file's format. */
const TOKENS = {
  tokens: [
    {
      token: "pub-t",
      identity: "publisher",
      authorizations: [{ topic: "^t$", channels: ALL, permissions: ["publish"] }],
    },
    {
      token: "sub-t",
      identity: "reader",
      authorizations: [{ topic: "^t$", channels: ALL, permissions: ["subscribe"] }],
    },
    {
      token: "other",
      identity: "elsewhere",
      authorizations: [{ topic: "^other$", channels: ALL, permissions: ["publish", "subscribe", "admin"] }],
    },
    // Stored as its hash: sha256("admin-secret").
    {
      token_sha256: await sha256Hex("admin-secret"),
      identity: "ops",
      authorizations: [{ topic: ".*", channels: ALL, permissions: ["admin"] }],
    },
  ],
};

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function tokenFile(doc: unknown = TOKENS): Promise<string> {
  const path = await Deno.makeTempFile({ prefix: "nsq-tokens-", suffix: ".json" });
  await Deno.writeTextFile(path, JSON.stringify(doc));
  return path;
}

type Call = (token: string | null) => Promise<Response>;

function caller(base: string, method: string, path: string, body?: string): Call {
  return (token) =>
    fetch(`${base}${path}`, {
      method,
      body,
      headers: token === null ? {} : { Authorization: `Bearer ${token}` },
    });
}

/** No token → 401, `denied` token → 403, `allowed` token → `status` (the normal answer). */
async function checkEndpoint(call: Call, what: string, denied: string, allowed: string, status = 200) {
  const none = await call(null);
  assert.equal(none.status, 401, `${what} without a token`);
  assert.deepEqual(await none.json(), { message: "UNAUTHORIZED" });
  assert.equal(none.headers.get("x-nsq-content-type"), "nsq; version=1.0");
  assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer realm=/);
  const wrong = await call("not-a-token");
  assert.equal(wrong.status, 401, `${what} with an unknown token`);
  await wrong.body?.cancel();
  const forbidden = await call(denied);
  assert.equal(forbidden.status, 403, `${what} with ${denied}`);
  assert.deepEqual(await forbidden.json(), { message: "FORBIDDEN" });
  const ok = await call(allowed);
  assert.equal(ok.status, status, `${what} with ${allowed}: ${await ok.clone().text()}`);
  return await ok.text();
}

runtimeTest(
  "nsqd --http-auth=token-file: 401 without a token, 403 without the permission, else the answer",
  async (rt) => {
    const file = await tokenFile();
    try {
      await withNsqd(rt, ["--http-auth=token-file", `--http-auth-token-file=${file}`], async (nsqd) => {
        const u = nsqd.httpUrl;
        assert.equal(
          await checkEndpoint(caller(u, "POST", "/pub?topic=t", "m1"), "/pub", "sub-t", "pub-t"),
          "OK",
        );
        assert.equal(
          await checkEndpoint(caller(u, "POST", "/mpub?topic=t", "m2\nm3"), "/mpub", "other", "pub-t"),
          "OK",
        );
        const stats = await checkEndpoint(
          caller(u, "GET", "/stats?format=json&topic=t"),
          "/stats?topic=",
          "other",
          "sub-t",
        );
        assert.equal(JSON.parse(stats).topics[0].message_count, 3);
        // Admin endpoints: a publish grant on the topic is not enough.
        for (
          const path of [
            "/topic/create?topic=t2",
            "/topic/pause?topic=t2",
            "/topic/unpause?topic=t2",
            "/topic/empty?topic=t2",
          ]
        ) {
          await checkEndpoint(caller(u, "POST", path), path, "pub-t", "admin-secret");
        }
        for (const action of ["create", "pause", "unpause", "empty", "delete"]) {
          const path = `/channel/${action}?topic=t&channel=c`;
          await checkEndpoint(caller(u, "POST", path), path, "pub-t", "admin-secret");
        }
        await checkEndpoint(
          caller(u, "POST", "/topic/delete?topic=t2"),
          "/topic/delete",
          "other",
          "admin-secret",
        );
        // A topic-scoped admin grant cannot change the daemon's config.
        const config = await checkEndpoint(
          caller(u, "PUT", "/config/log_level", "debug"),
          "PUT /config",
          "other",
          "admin-secret",
        );
        assert.equal(config, "1"); // LogLevel.debug, as upstream's /config answers
        // Read-only endpoints need a token, any valid one.
        assert.equal((await caller(u, "GET", "/ping")(null)).status, 401);
        assert.equal(await (await caller(u, "GET", "/ping")("sub-t")).text(), "OK");
        assert.equal((await caller(u, "GET", "/info")(null)).status, 401);
        assert.equal((await caller(u, "GET", "/info")("other")).status, 200);
        assert.equal((await caller(u, "GET", "/nonexistent")(null)).status, 401);
        // /stats without a topic lists only the topics the token's grants name.
        await caller(u, "POST", "/pub?topic=other", "x")("other");
        const all = await (await caller(u, "GET", "/stats?format=json")("admin-secret")).json();
        assert.deepEqual(all.topics.map((t: { topic_name: string }) => t.topic_name).sort(), ["other", "t"]);
        const mine = await (await caller(u, "GET", "/stats?format=json")("sub-t")).json();
        assert.deepEqual(mine.topics.map((t: { topic_name: string }) => t.topic_name), ["t"]);
        // Missing arguments are still the handler's 400 for a valid token.
        assert.equal((await caller(u, "POST", "/pub", "x")("pub-t")).status, 400);
        // Refusals are logged without the token.
        assert.ok(
          nsqd.proc.lines.some((l) => l.includes("HTTP: auth failed for POST /pub")),
          nsqd.proc.stderr,
        );
        assert.ok(!nsqd.proc.stderr.includes("not-a-token"));
      });
    } finally {
      await Deno.remove(file);
    }
  },
);

runtimeTest("--http-auth-open leaves GET /ping and /info open and nothing else", async (rt) => {
  const file = await tokenFile();
  try {
    await withNsqd(
      rt,
      ["--http-auth=token-file", `--http-auth-token-file=${file}`, "--http-auth-open=/ping,/info"],
      async (nsqd) => {
        assert.equal(await (await nsqd.http("/ping")).text(), "OK");
        assert.equal((await nsqd.http("/info")).status, 200);
        const stats = await nsqd.http("/stats");
        assert.equal(stats.status, 401);
        await stats.body?.cancel();
      },
    );
  } finally {
    await Deno.remove(file);
  }
});

runtimeTest(
  "nsqd --http-auth=auth-server asks the TCP auth server and honours the answer's ttl",
  async (rt) => {
    const server = startAuthServer((req) =>
      req.params.secret === "admin-secret"
        ? grant([{ topic: ".*", channels: ALL, permissions: ["admin"] }], { ttl: 1 })
        : req.params.secret === "pub-t"
        ? grant([{ topic: "^t$", channels: ALL, permissions: ["publish"] }], { ttl: 3600 })
        : { status: 403, body: { message: "NO" } }
    );
    try {
      await withNsqd(
        rt,
        ["--http-auth=auth-server", `--auth-http-address=${server.address}`],
        async (nsqd) => {
          const u = nsqd.httpUrl;
          await checkEndpoint(
            caller(u, "POST", "/topic/create?topic=t"),
            "/topic/create",
            "pub-t",
            "admin-secret",
          );
          const adminQueries = () => server.requests.filter((r) => r.params.secret === "admin-secret").length;
          assert.equal(adminQueries(), 1);
          const req = server.requests.find((r) => r.params.secret === "admin-secret")!;
          assert.deepEqual([req.params.remote_ip, req.params.tls], ["127.0.0.1", "false"]);
          // Within the ttl (1 s) the answer is cached; past it nsqd asks again.
          assert.equal((await caller(u, "POST", "/topic/pause?topic=t")("admin-secret")).status, 200);
          assert.equal(adminQueries(), 1);
          await new Promise((r) => setTimeout(r, 1100));
          assert.equal((await caller(u, "POST", "/topic/unpause?topic=t")("admin-secret")).status, 200);
          assert.equal(adminQueries(), 2);
          // The long ttl of pub-t: asked once for any number of publishes.
          for (let i = 0; i < 3; i++) {
            assert.equal(
              (await caller(u, "POST", "/pub?topic=t", "m")("pub-t")).status,
              200,
            );
          }
          assert.equal(server.requests.filter((r) => r.params.secret === "pub-t").length, 1);
          // TCP AUTH accepts the same answer, but `admin` grants nothing there.
          const c = await nsqd.connectV2();
          await c.command("AUTH", "admin-secret");
          assert.equal((await c.readNonHeartbeat()).type, 0);
          await c.command("PUB t", "m");
          await c.expectError('E_UNAUTHORIZED AUTH failed for PUB on "t" ""');
          assert.ok(!nsqd.proc.stderr.includes("admin-secret"), nsqd.proc.stderr);
        },
      );
    } finally {
      await server.close();
    }
  },
);

runtimeTest(
  "nsqlookupd --http-auth=token-file protects its admin endpoints and scopes /lookup",
  async (rt) => {
    const file = await tokenFile();
    try {
      await withNsqlookupd(rt, [
        "--http-auth=token-file",
        `--http-auth-token-file=${file}`,
        "--http-auth-open=/ping",
      ], async (l) => {
        const u = l.httpUrl;
        assert.equal(await (await l.http("/ping")).text(), "OK");
        await checkEndpoint(
          caller(u, "POST", "/topic/create?topic=t"),
          "/topic/create",
          "pub-t",
          "admin-secret",
        );
        await checkEndpoint(
          caller(u, "POST", "/channel/create?topic=t&channel=c"),
          "/channel/create",
          "sub-t",
          "admin-secret",
        );
        await checkEndpoint(caller(u, "GET", "/channels?topic=t"), "/channels", "other", "sub-t");
        await checkEndpoint(caller(u, "GET", "/lookup?topic=t"), "/lookup", "other", "pub-t");
        await checkEndpoint(
          caller(u, "POST", "/channel/delete?topic=t&channel=c"),
          "/channel/delete",
          "other",
          "admin-secret",
        );
        await checkEndpoint(
          caller(u, "POST", "/topic/delete?topic=t"),
          "/topic/delete",
          "pub-t",
          "admin-secret",
        );
        assert.equal((await caller(u, "GET", "/topics")(null)).status, 401);
        assert.equal((await caller(u, "GET", "/topics")("sub-t")).status, 200);
      });
    } finally {
      await Deno.remove(file);
    }
  },
);

runtimeTest("a bad token file stops nsqd at start, naming the file but not the tokens", async (rt) => {
  const file = await tokenFile({
    tokens: [{
      token: "leaky-secret",
      authorizations: [{ topic: "(", channels: ALL, permissions: ["admin"] }],
    }],
  });
  try {
    const dataPath = await Deno.makeTempDir();
    const proc = new ChildProcess(commandFor(rt, "nsqd"), [
      "--tcp-address=127.0.0.1:0",
      "--http-address=127.0.0.1:0",
      `--data-path=${dataPath}`,
      "--http-auth=token-file",
      `--http-auth-token-file=${file}`,
    ]);
    assert.equal((await proc.status).code, 1);
    assert.match(proc.stderr, /tokens\[0\]: unable to compile topic/);
    assert.ok(proc.stderr.includes(file) && !proc.stderr.includes("leaky-secret"), proc.stderr);
    await Deno.remove(dataPath, { recursive: true });
  } finally {
    await Deno.remove(file);
  }
});
