import assert from "node:assert/strict";
import {
  type AuthOptions,
  type AuthRequest,
  authResponseJson,
  AuthState,
  authStats,
  parseAuthResponse,
  queryAuthd,
  re2ToRegExp,
} from "../../src/internal/auth.ts";
import { deadAddress, grant, startAuthServer, untilAborted } from "../e2e/auth_server.ts";

const REQ: AuthRequest = { remoteIp: "127.0.0.1", tls: false, secret: "s3cret", commonName: "" };

function opts(addresses: string[], extra: Partial<AuthOptions> = {}): AuthOptions {
  return { addresses, method: "get", connectTimeoutMs: 2000, requestTimeoutMs: 5000, ...extra };
}

async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<Error> {
  try {
    await p;
  } catch (err) {
    assert.match((err as Error).message, pattern);
    return err as Error;
  }
  assert.fail(`expected a rejection matching ${pattern}`);
}

Deno.test("queryAuthd GET: host:port → /auth, sorted QueryEscape'd params, Accept header", async () => {
  const auth = startAuthServer(() => grant([{ topic: ".*", channels: [".*"], permissions: ["subscribe"] }]));
  try {
    const req = { remoteIp: "10.0.0.7", tls: true, secret: "a b+c/~é*", commonName: "cn 1" };
    await queryAuthd(opts([auth.address]), req);
    assert.equal(auth.requests.length, 1);
    const r = auth.requests[0];
    assert.equal(r.method, "GET");
    assert.equal(r.path, "/auth");
    assert.equal(r.rawQuery, "common_name=cn+1&remote_ip=10.0.0.7&secret=a+b%2Bc%2F~%C3%A9%2A&tls=true");
    assert.deepEqual(r.params, {
      common_name: "cn 1",
      remote_ip: "10.0.0.7",
      secret: "a b+c/~é*",
      tls: "true",
    });
    assert.equal(r.headers.get("accept"), "application/vnd.nsq; version=1.0");
    assert.equal(r.body, "");
  } finally {
    await auth.close();
  }
});

Deno.test("queryAuthd GET: raw secret bytes are escaped byte for byte; tls=false", async () => {
  const auth = startAuthServer(() => grant([]));
  try {
    await queryAuthd(opts([auth.address]), { ...REQ, secret: new Uint8Array([0xff, 0x00, 0x41]) });
    assert.equal(auth.requests[0].rawQuery, "common_name=&remote_ip=127.0.0.1&secret=%FF%00A&tls=false");
  } finally {
    await auth.close();
  }
});

Deno.test("queryAuthd POST: JSON url.Values body with sorted keys and Go escapes", async () => {
  const auth = startAuthServer(() => grant([]));
  try {
    await queryAuthd(opts([auth.address], { method: "post" }), { ...REQ, secret: "<&>" });
    const r = auth.requests[0];
    assert.equal(r.method, "POST");
    assert.equal(r.path, "/auth");
    assert.equal(r.rawQuery, "");
    assert.equal(
      r.body,
      '{"common_name":[""],"remote_ip":["127.0.0.1"],"secret":["\\u003c\\u0026\\u003e"],"tls":["false"]}',
    );
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.equal(r.headers.get("accept"), "application/vnd.nsq; version=1.0");
    assert.equal(r.params.secret, "<&>");
  } finally {
    await auth.close();
  }
});

Deno.test("queryAuthd: a full URL address is used as-is (GET appends ?query, POST not)", async () => {
  const auth = startAuthServer(() => grant([]));
  try {
    await queryAuthd(opts([`${auth.origin}/v2/check`]), REQ);
    await queryAuthd(opts([`${auth.origin}/v2/check`], { method: "post" }), REQ);
    assert.equal(auth.requests[0].path, "/v2/check");
    assert.match(auth.requests[0].rawQuery, /^common_name=&remote_ip=127\.0\.0\.1&secret=s3cret&tls=false$/);
    assert.equal(auth.requests[1].path, "/v2/check");
    assert.equal(auth.requests[1].rawQuery, "");
  } finally {
    await auth.close();
  }
});

Deno.test("queryAuthd: a grant gives ttl, identity, identity_url, compiled authorizations", async () => {
  const auth = startAuthServer(() =>
    grant([
      { topic: "^orders$", channels: ["^billing$", "^audit"], permissions: ["subscribe"] },
      { topic: "^orders$", channels: [".*"], permissions: ["publish"] },
    ], { ttl: 60, identity: "alice", identity_url: "https://id/alice" })
  );
  try {
    const before = Date.now();
    const state = await queryAuthd(opts([auth.address]), REQ);
    assert.equal(state.ttl, 60);
    assert.equal(state.identity, "alice");
    assert.equal(state.identityUrl, "https://id/alice");
    assert.equal(state.authorizations.length, 2);
    assert.deepEqual(state.authorizations[0].permissions, ["subscribe"]);
    assert.ok(state.expires >= before + 60_000 && state.expires <= Date.now() + 60_000);
    assert.equal(state.hasAuthorizations, true);
    assert.equal(
      authResponseJson(state),
      '{"identity":"alice","identity_url":"https://id/alice","permission_count":2}',
    );
    assert.deepEqual(authStats(state), {
      authed: true,
      auth_identity: "alice",
      auth_identity_url: "https://id/alice",
    });
  } finally {
    await auth.close();
  }
});

Deno.test("queryAuthd: an empty authorization list is a valid answer (caller → E_UNAUTHORIZED)", async () => {
  const auth = startAuthServer(() => ({ ttl: 10, authorizations: [] }));
  try {
    const state = await queryAuthd(opts([auth.address]), REQ);
    assert.equal(state.hasAuthorizations, false);
    assert.deepEqual(authStats(state), {});
    assert.equal(authResponseJson(state), '{"identity":"","identity_url":"","permission_count":0}');
  } finally {
    await auth.close();
  }
});

Deno.test("AuthState.isAllowed matrix", () => {
  const state = parseAuthResponse(
    JSON.stringify({
      ttl: 3600,
      authorizations: [
        { topic: "^orders", channels: ["^billing$", "^audit-.*"], permissions: ["subscribe"] },
        { topic: "events", channels: [".*"], permissions: ["publish"] },
        { topic: "^pubonly$", channels: ["^x$"], permissions: ["publish"] },
        { topic: "^both$", channels: [".*"], permissions: ["subscribe", "publish"] },
      ],
    }),
    0,
  );
  const cases: [string, string, "subscribe" | "publish", boolean][] = [
    ["orders", "billing", "subscribe", true],
    ["orders_eu", "audit-1", "subscribe", true], // topic regex unanchored at the end
    ["orders", "billing2", "subscribe", false], // channel anchored
    ["xorders", "billing", "subscribe", false],
    ["orders", "", "publish", false], // no publish grant on orders
    ["my_events_topic", "", "publish", true], // unanchored match inside the name
    ["my_events_topic", "c", "subscribe", false], // permission mismatch
    ["pubonly", "", "publish", false], // publish checks channel "" — "^x$" does not match it
    ["both", "", "publish", true],
    ["both", "c#ephemeral", "subscribe", true],
    ["nothing", "", "publish", false],
  ];
  for (const [topic, channel, perm, want] of cases) {
    assert.equal(state.isAllowed(topic, channel, perm), want, `${perm} ${topic}/${channel}`);
  }
});

Deno.test("AuthState expiry: ttl 1 → not expired at +1 s exactly, expired after", () => {
  const t0 = 1_700_000_000_000;
  const state = parseAuthResponse('{"ttl":1,"authorizations":[]}', t0);
  assert.equal(state.expires, t0 + 1000);
  assert.equal(state.isExpired(t0), false);
  assert.equal(state.isExpired(t0 + 1000), false); // Expires.Before(now) is strict
  assert.equal(state.isExpired(t0 + 1001), true);
});

Deno.test("queryAuthd: expires uses the injected clock", async () => {
  const auth = startAuthServer(() => ({ ttl: 1, authorizations: [] }));
  try {
    const state = await queryAuthd(opts([auth.address]), REQ, { now: () => 5000 });
    assert.equal(state.expires, 6000);
    assert.equal(state.isExpired(6001), true);
  } finally {
    await auth.close();
  }
});

Deno.test("parseAuthResponse decodes like Go's encoding/json", () => {
  // case-insensitive keys, unknown keys ignored, null = zero value, null authorization = empty grant
  const s = parseAuthResponse(
    '{"TTL":5,"Identity":"x","extra":{"a":[1]},"identity_url":null,"authorizations":[null,' +
      '{"Topic":"t","CHANNELS":null,"permissions":["publish"]}]}',
    0,
  );
  assert.equal(s.ttl, 5);
  assert.equal(s.identity, "x");
  assert.equal(s.identityUrl, "");
  assert.equal(s.authorizations.length, 2);
  assert.deepEqual(s.authorizations[0].permissions, []);
  assert.deepEqual(s.authorizations[1].channels, []);
  // a valid RFC 3339 "Expires" is accepted (and overwritten)
  assert.equal(parseAuthResponse('{"ttl":2,"Expires":"2020-01-01T00:00:00Z"}', 0).expires, 2000);
});

Deno.test("parseAuthResponse rejects what upstream rejects", () => {
  const bad: [string, RegExp][] = [
    ['{"ttl":0,"authorizations":[]}', /^invalid TTL 0 \(must be >0\)$/],
    ['{"ttl":-5}', /^invalid TTL -5 \(must be >0\)$/],
    ['{"authorizations":[]}', /^invalid TTL 0/],
    ["null", /^invalid TTL 0/],
    [
      '{"ttl":1,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["owner"]}]}',
      /^unknown permission owner$/,
    ],
    [
      '{"ttl":1,"authorizations":[{"topic":"a(","channels":[]}]}',
      /^unable to compile topic "a\(" error parsing regexp/,
    ],
    [
      '{"ttl":1,"authorizations":[{"topic":"a","channels":["[z-a]"]}]}',
      /^unable to compile channel "\[z-a\]"/,
    ],
    ['{"ttl":1,"authorizations":[{"topic":"(?=a)"}]}', /unable to compile topic/], // no lookahead in RE2
    ['{"ttl":1.5}', /cannot unmarshal number 1\.5 into Go struct field State\.ttl of type int/],
    ['{"ttl":1e3}', /cannot unmarshal number 1e3/],
    ['{"ttl":"60"}', /cannot unmarshal string/],
    ['{"ttl":1,"identity":5}', /of type string/],
    ['{"ttl":1,"authorizations":{}}', /cannot unmarshal object/],
    ['{"ttl":1,"authorizations":[{"channels":"x"}]}', /of type \[\]string/],
    ['{"ttl":1,"authorizations":[{"permissions":[1]}]}', /of type string/],
    ['{"ttl":1,"expires":"soon"}', /parsing time/],
    ["[]", /cannot unmarshal array into Go value of type auth\.State/],
    ["", /unexpected end of JSON input/],
    ["not json", /./],
    ['{"ttl":1', /./],
    ["\ufeff{}", /./],
  ];
  for (const [body, pattern] of bad) {
    assert.throws(() => parseAuthResponse(body, 0), { message: pattern }, body);
  }
});

Deno.test("queryAuthd failures throw log-worthy errors", async (t) => {
  const cases: [string, () => unknown, RegExp][] = [
    ["ttl <= 0", () => ({ ttl: 0, authorizations: [] }), /invalid TTL 0/],
    [
      "unknown permission",
      () => grant([{ topic: "a", channels: ["b"], permissions: ["read"] }]),
      /unknown permission read/,
    ],
    [
      "invalid regex",
      () => grant([{ topic: "*", channels: [], permissions: [] }]),
      /unable to compile topic "\*"/,
    ],
    [
      "non-200",
      () => ({ status: 500, body: "boom" }),
      /^failed to auth against 127\.0\.0\.1:\d+ - got response 500 Internal Server Error "boom"$/,
    ],
    ["invalid JSON", () => new Response("{nope", { status: 200 }), /failed to auth against/],
    ["403 without https_port JSON", () => ({ status: 403, body: "forbidden" }), /failed to auth against/],
  ];
  for (const [name, reply, pattern] of cases) {
    await t.step(name, async () => {
      const auth = startAuthServer(reply as () => Response);
      try {
        await rejects(queryAuthd(opts([auth.address]), REQ), pattern);
      } finally {
        await auth.close();
      }
    });
  }
});

Deno.test("queryAuthd: a 403 with https_port is retried over https at that port (upstream V1 client)", async () => {
  let port = 0;
  const auth = startAuthServer(() => ({ status: 403, body: { https_port: port } }));
  port = auth.port;
  try {
    // The retry speaks TLS to a plain-HTTP server, so it fails — but at the https URL.
    await rejects(
      queryAuthd(opts([auth.address]), REQ),
      new RegExp(`Get "https://127\\.0\\.0\\.1:${port}/auth\\?common_name=&remote_ip=`),
    );
    assert.equal(auth.requests.length, 1);
  } finally {
    await auth.close();
  }
});

Deno.test("queryAuthd: unreachable server (closed port) throws", async () => {
  const dead = deadAddress();
  const err = await rejects(
    queryAuthd(opts([dead]), REQ),
    new RegExp(`^failed to auth against ${dead} - Get "http`),
  );
  assert.ok(err.message.includes(`http://${dead}/auth?common_name=`));
});

Deno.test("queryAuthd: a server that never answers times out", async () => {
  const auth = startAuthServer(async (req) => {
    await untilAborted(req.signal);
    return new Response("too late");
  });
  try {
    const started = Date.now();
    await rejects(
      queryAuthd(opts([auth.address], { connectTimeoutMs: 100, requestTimeoutMs: 200 }), REQ),
      /Client\.Timeout exceeded/,
    );
    const took = Date.now() - started;
    assert.ok(took >= 150 && took < 3000, `took ${took} ms`);
  } finally {
    await auth.close();
  }
});

Deno.test("queryAuthd: rotation falls back from a dead address to a live one", async () => {
  const dead = deadAddress();
  const auth = startAuthServer(() => grant([{ topic: ".*", channels: [".*"], permissions: ["publish"] }]));
  try {
    // random() = 0 → start at index 0 (the dead one), then move on
    const state = await queryAuthd(opts([dead, auth.address]), REQ, { random: () => 0 });
    assert.equal(state.authorizations.length, 1);
    // start at the live one: the dead one is never tried
    await queryAuthd(opts([dead, auth.address]), REQ, { random: () => 0.99 });
    assert.equal(auth.requests.length, 2);
  } finally {
    await auth.close();
  }
});

Deno.test("queryAuthd: every address failing joins the reasons with '; '", async () => {
  const a = deadAddress();
  const auth = startAuthServer(() => ({ status: 404, body: "no" }));
  try {
    const err = await rejects(queryAuthd(opts([a, auth.address]), REQ, { random: () => 0 }), /; /);
    const parts = err.message.split("; failed to auth against ");
    assert.equal(parts.length, 2);
    assert.ok(parts[0].startsWith(`failed to auth against ${a} - `));
    assert.equal(parts[1], `${auth.address} - got response 404 Not Found "no"`);
  } finally {
    await auth.close();
  }
});

Deno.test("AuthState can be built by hand", () => {
  const s = new AuthState({
    ttl: 1,
    identity: "",
    identityUrl: "",
    authorizations: [{ topic: /^t$/, channels: [/.*/], permissions: ["publish"] }],
    expires: 10,
  });
  assert.equal(s.isAllowed("t", "", "publish"), true);
  assert.equal(s.isExpired(11), true);
  assert.deepEqual(authStats(s), { authed: true });
  assert.deepEqual(authStats(null), {});
});

// ---- RE2 → RegExp ----------------------------------------------------------------------------------

Deno.test("re2ToRegExp: matches like Go's MatchString", () => {
  const cases: [string, string, boolean][] = [
    ["", "anything", true],
    ["", "", true],
    [".*", "", true],
    ["abc", "xxabcxx", true], // unanchored
    ["^abc$", "abc", true],
    ["^abc$", "abc\n", false], // RE2 $ is \z, not "before a final \n"
    ["(?m)^b$", "a\nb\nc", true],
    ["(?m)^b$", "a\rb\rc", false], // only \n is a line break in RE2
    ["a.c", "a\rc", true], // . excludes only \n
    ["a.c", "a\nc", false],
    ["(?s)a.c", "a\nc", true],
    ["\\Aab\\z", "ab", true],
    ["\\Aab\\z", "xab", false],
    ["a\\sb", "a\u000bb", false], // RE2 \s has no \v
    ["a\\sb", "a\u00a0b", false], // nor Unicode spaces
    ["a\\sb", "a\tb", true],
    ["[\\S]", " ", false],
    ["(?i)orders", "ORDERS", true],
    ["(?i:ab)c", "ABc", true],
    ["(?i:ab)c", "ABC", false],
    ["a(?i)b|c", "C", true], // flags run to the end of the group, across |
    ["(?i)a(?-i)b", "Ab", true],
    ["(?i)a(?-i)b", "AB", false],
    ["\\Qa.b*\\E+", "a.b**", true],
    ["\\Qa.b", "axb", false],
    ["\\x41\\x{42}\\103", "ABC", true],
    ["[[:alpha:]]+[[:digit:]]", "abc1", true],
    ["^[[:^alpha:]]$", "a", false],
    ["^[[:^alpha:]]$", "1", true],
    ["[]a]", "]", true], // leading ] is literal
    ["[^]a]", "b", true],
    ["a{", "a{", true], // not a repeat: literal
    ["a{,2}", "a{,2}", true],
    ["a{01}", "a{01}", true], // leading zero: literal (Go quirk)
    ["^a{2,3}$", "aaa", true],
    ["^a{2,3}$", "aaaa", false],
    ["^a{2}$", "aa", true],
    ["\\-\\#\\_", "-#_", true], // escaped punctuation
    ["^\\pL+$", "héllo", true],
    ["^\\p{Greek}+$", "αβγ", true],
    ["^\\p{^Greek}+$", "abc", true],
    ["^\\PL$", "1", true],
    ["^[\\p{Lu}\\d]+$", "A1B2", true],
    ["(?P<name>x)(?:y)", "xy", true],
    ["^*a", "a", true], // Go allows repeating ^
    ["a*?b", "aab", true],
    ["(?U)a+b", "aab", true],
    ["\\bword\\b", "a word here", true],
    ["[a-c-e]", "-", true], // - after a range is literal (Perl mode)
    ["/", "a/b", true],
    ["a|", "zzz", true],
  ];
  for (const [pattern, input, want] of cases) {
    assert.equal(re2ToRegExp(pattern).test(input), want, `${pattern} on ${JSON.stringify(input)}`);
  }
});

Deno.test("re2ToRegExp: rejects what Go's regexp.Compile rejects", () => {
  const bad = [
    "(?=a)", // lookahead
    "(?!a)",
    "(?<=a)", // lookbehind
    "(?<!a)",
    "(a)\\1", // backreference
    "\\Z",
    "\\y", // unknown escape
    "\\C",
    "\\8",
    "a**", // nested repetition
    "a*+",
    "a{2}{3}",
    "*a", // missing argument
    "a|*",
    "(*)",
    "(?i)*",
    "a{1001}",
    "a{2,1}",
    "a(",
    "a)",
    "[a",
    "[]",
    "[z-a]",
    "[[:foo:]]",
    "\\p{Nope}",
    "\\pX",
    "(?P<1 2>a)",
    "(?P<>a)",
    "(?-)",
    "(?i-)",
    "(?x)",
    "\\x{110000}",
    "\\x{}",
    "\\xZZ",
    "a\\",
  ];
  for (const p of bad) {
    assert.throws(() => re2ToRegExp(p), /error parsing regexp/, p);
  }
});

Deno.test("re2ToRegExp: accepted Go quirks", () => {
  // {n,m} with a 10+ digit max reads as "no max" in Go's parser
  assert.equal(re2ToRegExp("^a{2,99999999999}$").test("aaaaaaa"), true);
  assert.throws(() => re2ToRegExp("a{99999999999}"), /invalid repeat count/);
  assert.equal(re2ToRegExp("(?)a").test("a"), true); // empty flag group
  assert.equal(re2ToRegExp("a*(?i)*").test("aa"), true); // repeat after a flag group applies to a*
});

Deno.test("parseAuthResponse accepts the admin permission (beyond upstream), which grants no publish or subscribe", () => {
  const state = parseAuthResponse(
    '{"ttl":1,"authorizations":[{"topic":".*","channels":[".*"],"permissions":["admin"]}]}',
    0,
  );
  assert.equal(state.isAllowed("t", "", "admin"), true);
  assert.equal(state.isAllowed("t", "", "publish"), false);
  assert.equal(state.isAllowed("t", "c", "subscribe"), false);
});
