/**
 * Every place a tool reads this broker's identity (issue 13), checked against the form upstream's
 * tools and client test harnesses parse:
 * - `--version` and the startup log line: upstream's `version.String(app)`, matched with the pattern
 *   of gnsq's harness (`<name> v<X.Y.Z>[-suffix] (built w/<toolchain>)`, toolchain `[a-z0-9.-]`),
 *   reporting an NSQ release >= 1.3.0 (gnsq enables HTTPS from 0.2.28 and port 0 from 0.3.5);
 * - the JSON `version` fields (nsqd `/info` and `/stats`, IDENTIFY responses of nsqd and nsqlookupd,
 *   nsqlookupd's `/info` and its producers' `version`): a plain `X.Y.Z`, so semver comparisons
 *   (nsqadmin's `out_of_date`) see 1.3.0 and not a pre-release below it;
 * - the `User-Agent` nsqd sends to auth servers and to nsqlookupd's `/channels`.
 */
import assert from "node:assert/strict";
import { BINARY_VERSION, NSQ_VERSION, RELEASE_VERSION } from "../../src/internal/version.ts";
import { grant, startAuthServer } from "./auth_server.ts";
import {
  commandFor,
  type Runtime,
  runtimeTest,
  startNsqd,
  startNsqlookupd,
  until,
  withNsqd,
  withNsqlookupd,
} from "./harness.ts";

/** gnsq's pattern for `--version` (name, X.Y.Z, optional suffix, the toolchain after `built w/`). */
const VERSION_LINE = /^(nsqd|nsqlookupd) v(\d+\.\d+\.\d+)(-[a-z0-9.]+)? \(built w\/([a-z0-9.-]+)\)$/;
/** A JSON `version` as upstream writes it: `X.Y.Z`, nothing after. */
const PLAIN_SEMVER = /^\d+\.\d+\.\d+$/;

function atLeast(version: string, min: string): boolean {
  const a = version.split(".").map(Number);
  const b = min.split(".").map(Number);
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

/** Checks a version line and returns its parts. */
function parseVersionLine(line: string, program: string, rt: Runtime) {
  const m = line.match(VERSION_LINE);
  assert.ok(m, `${JSON.stringify(line)} does not parse like upstream's version line`);
  const [, name, version, suffix, toolchain] = m;
  assert.equal(name, program);
  assert.ok(atLeast(version, "1.3.0"), `${version} >= 1.3.0`);
  assert.equal(version, NSQ_VERSION);
  assert.equal(suffix, `-ts${RELEASE_VERSION}`, "our own release stays readable");
  assert.match(toolchain, rt === "bin" ? /^(deno|bun)\d/ : new RegExp(`^${rt}\\d`), "and the runtime");
  return { version, toolchain };
}

async function versionOutput(rt: Runtime, program: "nsqd" | "nsqlookupd") {
  const cmd = commandFor(rt, program);
  const out = await new Deno.Command(cmd[0], {
    args: [...cmd.slice(1), "--version"],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

for (const program of ["nsqd", "nsqlookupd"] as const) {
  runtimeTest(
    `${program} --version prints one line that parses like upstream's, NSQ >= 1.3.0`,
    async (rt) => {
      const out = await versionOutput(rt, program);
      assert.equal(out.code, 0, out.stderr);
      assert.equal(out.stderr, "");
      assert.ok(out.stdout.endsWith("\n") && out.stdout.indexOf("\n") === out.stdout.length - 1, out.stdout);
      parseVersionLine(out.stdout.trimEnd(), program, rt);
    },
  );
}

runtimeTest("both programs log their --version line first at startup, in the same words", async (rt) => {
  const stamp = String.raw`\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\.\d{6}`;
  const nsqd = await startNsqd(rt);
  try {
    const line = (await versionOutput(rt, "nsqd")).stdout.trimEnd();
    assert.match(nsqd.proc.lines[0], new RegExp(`^\\[nsqd\\] ${stamp} INFO: (.*)$`));
    assert.equal(nsqd.proc.lines[0].replace(/^.*? INFO: /, ""), line);
  } finally {
    await nsqd.stop();
  }
  const lookupd = await startNsqlookupd(rt);
  try {
    const line = (await versionOutput(rt, "nsqlookupd")).stdout.trimEnd();
    assert.match(lookupd.proc.lines[0], new RegExp(`^\\[nsqlookupd\\] ${stamp} INFO: (.*)$`));
    assert.equal(lookupd.proc.lines[0].replace(/^.*? INFO: /, ""), line);
  } finally {
    await lookupd.stop();
  }
});

runtimeTest(
  "nsqd /info, /stats and the IDENTIFY response report a plain 1.3.0; /info server_version our release",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const info = await (await nsqd.http("/info")).json();
      assert.match(info.version, PLAIN_SEMVER);
      assert.ok(atLeast(info.version, "1.3.0"));
      assert.equal(info.server_version, RELEASE_VERSION);
      assert.equal((await nsqd.stats()).version, info.version);
      const text = await (await nsqd.http("/stats")).text();
      const first = text.split("\n")[0];
      assert.equal(parseVersionLine(first, "nsqd", rt).version, info.version, "/stats text header");

      const c = await nsqd.connectV2();
      const reply = JSON.parse((await c.identify({ feature_negotiation: true })).text);
      assert.equal(reply.version, info.version);
      c.close();
    });
  },
);

runtimeTest(
  "nsqlookupd /info, its IDENTIFY response and the producer version of a registered nsqd are a plain 1.3.0",
  async (rt) => {
    await withNsqlookupd(rt, [], async (l) => {
      const info = await (await l.http("/info")).json();
      assert.deepEqual(info, { version: NSQ_VERSION });
      assert.match(info.version, PLAIN_SEMVER);

      const conn = await l.connectV1();
      const answer = await conn.identify();
      assert.equal(answer.version, NSQ_VERSION);
      conn.close();

      await withNsqd(
        rt,
        [`--lookupd-tcp-address=127.0.0.1:${l.tcpPort}`, "--broadcast-address=127.0.0.1"],
        async (n) => {
          await n.http("/topic/create?topic=t", { method: "POST" }).then((r) => r.body?.cancel());
          await until("the nsqd is a producer of t", async () => {
            const lookup = await (await l.http("/lookup?topic=t")).json();
            const p = lookup.producers?.find((p: { tcp_port: number }) => p.tcp_port === n.tcpPort);
            assert.ok(p, JSON.stringify(lookup));
            assert.match(p.version, PLAIN_SEMVER);
            assert.ok(atLeast(p.version, "1.3.0"));
            assert.equal(p.version, NSQ_VERSION);
          });
        },
      );
    });
  },
);

runtimeTest("nsqd sends User-Agent nsqd/<version> to the auth server", async (rt) => {
  const server = startAuthServer(() => grant([{ topic: ".*", channels: [".*"], permissions: ["publish"] }]));
  try {
    await withNsqd(rt, [`--auth-http-address=${server.address}`], async (nsqd) => {
      const c = await nsqd.connectV2();
      await c.identify({ feature_negotiation: true });
      await c.command("AUTH", "s3cret");
      await c.readNonHeartbeat();
      c.close();
      assert.equal(server.requests.length, 1);
      assert.equal(server.requests[0].headers.get("user-agent"), `nsqd/${BINARY_VERSION}`);
    });
  } finally {
    await server.close();
  }
});

/**
 * A stand-in nsqlookupd: answers the TCP protocol V1 (IDENTIFY with its own info, OK to the rest)
 * and records the HTTP requests nsqd makes to the `http_port` it advertised.
 */
function startFakeLookupd() {
  const requests: { path: string; userAgent: string | null }[] = [];
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    requests.push({ path: new URL(req.url).pathname, userAgent: req.headers.get("user-agent") });
    return Response.json({ channels: [] }, { headers: { "X-NSQ-Content-Type": "nsq; version=1.0" } });
  });
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tcpPort = (listener.addr as Deno.NetAddr).port;
  const conns: Deno.Conn[] = [];
  const respond = (conn: Deno.Conn, text: string) => {
    const body = new TextEncoder().encode(text);
    const out = new Uint8Array(4 + body.length);
    new DataView(out.buffer).setUint32(0, body.length);
    out.set(body, 4);
    return conn.write(out);
  };
  const serve = async (conn: Deno.Conn) => {
    let buf = new Uint8Array(0);
    const chunk = new Uint8Array(4096);
    const identify = JSON.stringify({
      broadcast_address: "127.0.0.1",
      hostname: "fake",
      http_port: http.addr.port,
      tcp_port: tcpPort,
      version: NSQ_VERSION,
    });
    try {
      for (;;) {
        const n = await conn.read(chunk);
        if (n === null) return;
        buf = new Uint8Array([...buf, ...chunk.subarray(0, n)]);
        if (buf.length >= 4 && new TextDecoder().decode(buf.subarray(0, 4)) === "  V1") buf = buf.subarray(4);
        for (;;) {
          const nl = buf.indexOf(10);
          if (nl < 0) break;
          const line = new TextDecoder().decode(buf.subarray(0, nl));
          if (line === "IDENTIFY") {
            if (buf.length < nl + 5) break;
            const size = new DataView(buf.buffer, buf.byteOffset + nl + 1, 4).getUint32(0);
            if (buf.length < nl + 5 + size) break;
            buf = buf.subarray(nl + 5 + size);
            await respond(conn, identify);
          } else {
            buf = buf.subarray(nl + 1);
            await respond(conn, "OK");
          }
        }
      }
    } catch { /* closed */ }
  };
  (async () => {
    try {
      for await (const conn of listener) {
        conns.push(conn);
        serve(conn);
      }
    } catch { /* closed */ }
  })();
  return {
    tcpAddress: `127.0.0.1:${tcpPort}`,
    requests,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await http.shutdown();
    },
  };
}

runtimeTest(
  "nsqd sends User-Agent nsqd/<version> when it asks nsqlookupd for a topic's channels",
  async (rt) => {
    const lookupd = startFakeLookupd();
    try {
      await withNsqd(rt, [`--lookupd-tcp-address=${lookupd.tcpAddress}`], async (nsqd) => {
        await nsqd.proc.waitForLine(/LOOKUPD\(.*\): peer info /, 10_000);
        const r = await nsqd.http("/pub?topic=t", { method: "POST", body: "x" });
        assert.equal(r.status, 200, await r.text());
        await until("nsqd queried /channels", () => assert.equal(lookupd.requests.length, 1));
        assert.deepEqual(lookupd.requests[0], { path: "/channels", userAgent: `nsqd/${BINARY_VERSION}` });
      });
    } finally {
      await lookupd.close();
    }
  },
);
