/**
 * Every place a tool reads this broker's identity (issue 13), checked against the form upstream's
 * tools and client test harnesses parse:
 * - `--version` and the startup log line: upstream's `version.String(app)`, matched with the pattern
 *   of gnsq's harness (`<name> v<X.Y.Z>[-suffix] (built w/<toolchain>)`, toolchain `[a-z0-9.-]`),
 *   reporting an NSQ release >= 1.3.0 (gnsq enables HTTPS from 0.2.28 and port 0 from 0.3.5);
 * - the JSON `version` fields (nsqd `/info` and `/stats`, IDENTIFY responses of nsqd and nsqlookupd,
 *   nsqlookupd's `/info` and its producers' `version`): a plain `X.Y.Z`, so semver comparisons
 *   (nsqadmin's `out_of_date`) see 1.3.0 and not a pre-release below it.
 */
import assert from "node:assert/strict";
import { NSQ_VERSION, RELEASE_VERSION } from "../../src/nsqd/version.ts";
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
