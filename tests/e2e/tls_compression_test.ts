import assert from "node:assert/strict";
import { type NsqdProcess, runtimeTest, withNsqd } from "./harness.ts";
import { fixture, identify, UpgradeClient } from "./upgrade_client.ts";

const FIX = new URL("./fixtures/", import.meta.url).pathname;
const TLS_FLAGS = [
  `--tls-cert=${FIX}server.pem`,
  `--tls-key=${FIX}server.key`,
  "--https-address=127.0.0.1:0",
];

/** After the upgrades: PUB, SUB, RDY, a message, FIN — through the negotiated layers. */
async function pubSubRoundTrip(nsqd: NsqdProcess, c: UpgradeClient, topic: string): Promise<void> {
  const body = "x".repeat(3000) + "compressible payload ".repeat(200);
  c.command(`PUB ${topic}`, body);
  assert.equal((await c.readNonHeartbeat()).text, "OK");
  c.command(`SUB ${topic} ch`);
  assert.equal((await c.readNonHeartbeat()).text, "OK");
  c.command("RDY 1");
  const m = await c.readMessage();
  assert.equal(m.text, body);
  c.command(`FIN ${m.id}`);
  c.command("NOP");
  await new Promise((r) => setTimeout(r, 100));
  const stats = await nsqd.stats();
  const ch = stats.topics.find((t: { topic_name: string }) => t.topic_name === topic).channels[0];
  assert.equal(ch.clients[0].finish_count, 1);
}

function clientStats(stats: { topics: { channels: { clients: Record<string, unknown>[] }[] }[] }) {
  return stats.topics[0].channels[0].clients[0];
}

runtimeTest(
  "IDENTIFY tls_v1 upgrades the connection: OK over TLS, then PUB/SUB, and /stats shows the TLS version",
  async (rt) => {
    await withNsqd(rt, TLS_FLAGS, async (nsqd) => {
      const c = await UpgradeClient.connect(nsqd.tcpPort);
      const reply = await identify(c, { tls_v1: true });
      assert.equal(reply.tls_v1, true);
      await c.startTls();
      assert.equal((await c.readFrame()).text, "OK");
      await pubSubRoundTrip(nsqd, c, "tls_topic");
      const cs = clientStats(await nsqd.stats());
      assert.equal(cs.tls, true);
      assert.match(String(cs.tls_version), /^TLS1\.[23]$/);
      assert.match(String(cs.tls_cipher_suite), /^TLS_/);
      c.close();
    });
  },
);

runtimeTest(
  "without --tls-cert, tls_v1 is refused in the IDENTIFY reply and the connection stays plain",
  async (rt) => {
    await withNsqd(rt, [], async (nsqd) => {
      const c = await UpgradeClient.connect(nsqd.tcpPort);
      const reply = await identify(c, { tls_v1: true });
      assert.equal(reply.tls_v1, false);
      c.command("PUB t", "plain");
      assert.equal((await c.readFrame()).text, "OK");
      c.close();
    });
  },
);

runtimeTest(
  "deflate: every level up to --max-deflate-level, both directions compressed, level clamped",
  async (rt) => {
    await withNsqd(rt, ["--max-deflate-level=5"], async (nsqd) => {
      const c = await UpgradeClient.connect(nsqd.tcpPort);
      const reply = await identify(c, { deflate: true, deflate_level: 9 });
      assert.equal(reply.deflate, true);
      assert.equal(reply.deflate_level, 5);
      assert.equal(reply.max_deflate_level, 5);
      c.startDeflate(5);
      assert.equal((await c.readFrame()).text, "OK");
      await pubSubRoundTrip(nsqd, c, "deflate_topic");
      assert.equal(clientStats(await nsqd.stats()).deflate, true);
      c.close();
    });
  },
);

runtimeTest("snappy: the framing format in both directions, and /stats shows snappy", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await UpgradeClient.connect(nsqd.tcpPort);
    const reply = await identify(c, { snappy: true });
    assert.equal(reply.snappy, true);
    c.startSnappy();
    assert.equal((await c.readFrame()).text, "OK");
    await pubSubRoundTrip(nsqd, c, "snappy_topic");
    assert.equal(clientStats(await nsqd.stats()).snappy, true);
    c.close();
  });
});

runtimeTest(
  "TLS then snappy, and TLS then deflate, each acknowledged by an OK through the new layer",
  async (rt) => {
    await withNsqd(rt, TLS_FLAGS, async (nsqd) => {
      for (const mode of ["snappy", "deflate"] as const) {
        const c = await UpgradeClient.connect(nsqd.tcpPort);
        const reply = await identify(c, { tls_v1: true, [mode]: true });
        assert.equal(reply.tls_v1, true);
        assert.equal(reply[mode], true);
        await c.startTls();
        assert.equal((await c.readFrame()).text, "OK");
        if (mode === "snappy") c.startSnappy();
        else c.startDeflate(6);
        assert.equal((await c.readFrame()).text, "OK");
        await pubSubRoundTrip(nsqd, c, `tls_${mode}`);
        c.close();
      }
    });
  },
);

runtimeTest("deflate and snappy together is fatal E_IDENTIFY_FAILED", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await UpgradeClient.connect(nsqd.tcpPort);
    c.write("  V2");
    c.command("IDENTIFY", JSON.stringify({ feature_negotiation: true, deflate: true, snappy: true }));
    const f = await c.readFrame();
    assert.deepEqual([f.type, f.text], [
      1,
      "E_IDENTIFY_FAILED cannot enable both deflate and snappy compression",
    ]);
    await c.expectClosed();
  });
});

runtimeTest("--deflate=false and --snappy=false refuse compression in the IDENTIFY reply", async (rt) => {
  await withNsqd(rt, ["--deflate=false", "--snappy=false"], async (nsqd) => {
    const c = await UpgradeClient.connect(nsqd.tcpPort);
    const reply = await identify(c, { deflate: true, snappy: true });
    assert.equal(reply.deflate, false);
    assert.equal(reply.snappy, false);
    c.command("PUB t", "plain");
    assert.equal((await c.readFrame()).text, "OK");
    c.close();
  });
});

runtimeTest(
  "--tls-required: every command but IDENTIFY needs TLS first; after the upgrade they work",
  async (rt) => {
    await withNsqd(rt, [...TLS_FLAGS, "--tls-required=true"], async (nsqd) => {
      const plain = await UpgradeClient.connect(nsqd.tcpPort);
      plain.write("  V2");
      plain.command("PUB t", "x");
      const f = await plain.readFrame();
      assert.deepEqual([f.type, f.text], [1, "E_INVALID cannot PUB in current state (TLS required)"]);
      await plain.expectClosed();

      const c = await UpgradeClient.connect(nsqd.tcpPort);
      await identify(c, { tls_v1: true });
      await c.startTls();
      assert.equal((await c.readFrame()).text, "OK");
      c.command("PUB t", "x");
      assert.equal((await c.readFrame()).text, "OK");
      c.close();

      // The plain HTTP listener refuses with 403 and points at the HTTPS port.
      const res = await nsqd.http("/ping");
      assert.equal(res.status, 403);
      assert.equal(res.headers.get("x-nsq-content-type"), "nsq; version=1.0");
      assert.match(await res.text(), /^\{"message": "TLS_REQUIRED", "https_port": \d+\}$/);
    });
  },
);

runtimeTest("--tls-required=tcp-https keeps plain HTTP open while TCP needs TLS", async (rt) => {
  await withNsqd(rt, [...TLS_FLAGS, "--tls-required=tcp-https"], async (nsqd) => {
    const res = await nsqd.http("/ping");
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "OK");
    const plain = await UpgradeClient.connect(nsqd.tcpPort);
    plain.write("  V2");
    plain.command("SUB t c");
    assert.equal((await plain.readFrame()).text, "E_INVALID cannot SUB in current state (TLS required)");
  });
});

runtimeTest("HTTPS serves the same API on --https-address and logs HTTPS: listening on", async (rt) => {
  await withNsqd(rt, TLS_FLAGS, async (nsqd) => {
    const m = await nsqd.proc.waitForLine(/HTTPS: listening on (.+):(\d+)$/);
    const client = Deno.createHttpClient({ caCerts: [fixture("ca.pem")] });
    const res = await fetch(`https://localhost:${m[2]}/ping`, { client });
    assert.equal(await res.text(), "OK");
    client.close();
  });
});

runtimeTest(
  "client certificates: require-verify accepts a cert from the root CA and rejects others",
  async (rt) => {
    const flags = [
      ...TLS_FLAGS,
      "--tls-client-auth-policy=require-verify",
      `--tls-root-ca-file=${FIX}ca.pem`,
    ];
    await withNsqd(rt, flags, async (nsqd) => {
      const good = await UpgradeClient.connect(nsqd.tcpPort);
      await identify(good, { tls_v1: true });
      await good.startTls({ cert: fixture("client.pem"), key: fixture("client.key") });
      assert.equal((await good.readFrame()).text, "OK");
      good.command("PUB t", "x");
      assert.equal((await good.readFrame()).text, "OK");
      good.close();

      for (const creds of [{ cert: fixture("other.pem"), key: fixture("other.key") }, {}]) {
        const bad = await UpgradeClient.connect(nsqd.tcpPort);
        await identify(bad, { tls_v1: true });
        const ok = await bad.startTls(creds).then(async () => {
          // TLS 1.3 reports the server's rejection after the client's handshake completes.
          await bad.readFrame(2000);
          return true;
        }).catch(() => false);
        assert.equal(ok, false, "an untrusted or missing client certificate must not get through");
        bad.close();
      }
    });
  },
);

runtimeTest("client certificates: require accepts any certificate but not none", async (rt) => {
  await withNsqd(rt, [...TLS_FLAGS, "--tls-client-auth-policy=require"], async (nsqd) => {
    const any = await UpgradeClient.connect(nsqd.tcpPort);
    await identify(any, { tls_v1: true });
    await any.startTls({ cert: fixture("other.pem"), key: fixture("other.key") });
    assert.equal((await any.readFrame()).text, "OK");
    any.close();

    const none = await UpgradeClient.connect(nsqd.tcpPort);
    await identify(none, { tls_v1: true });
    const ok = await none.startTls({}).then(async () => {
      await none.readFrame(2000);
      return true;
    }).catch(() => false);
    assert.equal(ok, false);
    none.close();
  });
});
