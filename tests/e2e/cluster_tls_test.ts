/**
 * TLS between nsqd and nsqlookupd (beyond upstream, nsq #876): nsqlookupd with `--tls-cert` speaks TLS
 * on its TCP port and HTTPS on its HTTP port; nsqd with `--lookupd-tls` dials it over TLS, with or
 * without a client certificate. A wrong CA, or a missing client certificate, is refused and logged.
 */
import assert from "node:assert/strict";
import { eventually, type NsqlookupdProcess, runtimeTest, startNsqd, withNsqlookupd } from "./harness.ts";

const FIX = new URL("./fixtures/", import.meta.url).pathname;
const LOOKUPD_TLS = [`--tls-cert=${FIX}server.pem`, `--tls-key=${FIX}server.key`];
const client = Deno.createHttpClient({ caCerts: [Deno.readTextFileSync(`${FIX}ca.pem`)] });

/** GET over HTTPS from the lookupd (its HTTP port serves HTTPS under --tls-cert). */
async function lookup(l: NsqlookupdProcess, topic: string): Promise<number> {
  const res = await fetch(`https://127.0.0.1:${l.httpPort}/lookup?topic=${topic}`, { client });
  if (res.status !== 200) {
    await res.body?.cancel();
    return 0;
  }
  return (await res.json()).producers.length;
}

async function nsqdWithTopic(
  rt: Parameters<Parameters<typeof runtimeTest>[1]>[0],
  args: string[],
  topic: string,
) {
  const nsqd = await startNsqd(rt, args);
  const res = await nsqd.http(`/topic/create?topic=${topic}`, { method: "POST" });
  assert.equal(res.status, 200);
  await res.body?.cancel();
  return nsqd;
}

runtimeTest("nsqd registers with a TLS nsqlookupd over TLS; a wrong CA is refused", async (rt) => {
  await withNsqlookupd(rt, LOOKUPD_TLS, async (l) => {
    const addr = `--lookupd-tcp-address=127.0.0.1:${l.tcpPort}`;
    const good = await nsqdWithTopic(
      rt,
      [addr, "--lookupd-tls", `--lookupd-tls-root-ca-file=${FIX}ca.pem`],
      "t_good",
    );
    const bad = await nsqdWithTopic(
      rt,
      [addr, "--lookupd-tls", `--lookupd-tls-root-ca-file=${FIX}other.pem`],
      "t_bad",
    );
    const plain = await nsqdWithTopic(rt, [addr], "t_plain");
    try {
      await eventually(async () => (await lookup(l, "t_good")) === 1, 10_000, "registration of t_good");
      await good.proc.waitForLine(/LOOKUPD\(127\.0\.0\.1:\d+\): TLS TLS1\.[23] TLS_/);
      await bad.proc.waitForLine(/LOOKUPD\(127\.0\.0\.1:\d+\): .*TLS handshake failed - /);
      // Upstream's plain nsqd cannot talk to a TLS lookupd: nothing registers.
      await l.proc.waitForLine(/TCP: TLS handshake with .* failed/);
      assert.equal(await lookup(l, "t_bad"), 0);
      assert.equal(await lookup(l, "t_plain"), 0);
    } finally {
      await Promise.all([good.stop(), bad.stop(), plain.stop()]);
    }
  });
});

runtimeTest(
  "with --tls-client-auth-policy=require-verify only an nsqd with a client certificate registers",
  async (rt) => {
    const args = [
      ...LOOKUPD_TLS,
      "--tls-client-auth-policy=require-verify",
      `--tls-root-ca-file=${FIX}ca.pem`,
    ];
    await withNsqlookupd(rt, args, async (l) => {
      const base = [
        `--lookupd-tcp-address=127.0.0.1:${l.tcpPort}`,
        "--lookupd-tls",
        `--lookupd-tls-root-ca-file=${FIX}ca.pem`,
      ];
      const withCert = await nsqdWithTopic(
        rt,
        [...base, `--lookupd-tls-cert=${FIX}client.pem`, `--lookupd-tls-key=${FIX}client.key`],
        "t_cert",
      );
      const without = await nsqdWithTopic(rt, base, "t_nocert");
      try {
        await eventually(async () => (await lookup(l, "t_cert")) === 1, 10_000, "registration of t_cert");
        await l.proc.waitForLine(/TCP: TLS handshake with .* failed/);
        assert.equal(await lookup(l, "t_nocert"), 0);
      } finally {
        await Promise.all([withCert.stop(), without.stop()]);
      }
    });
  },
);
