/**
 * `--tls-min-version` on every TLS listener of nsqd (the tls_v1 upgrade of the TCP protocol and the
 * HTTPS port), on Deno and on Bun: a client that offers only TLS 1.2 is refused under tls1.3, with a
 * log line that says so, and /stats shows what a TLS 1.3 client negotiated.
 */
import assert from "node:assert/strict";
import tls from "node:tls";
import { runtimeTest, withNsqd } from "./harness.ts";
import { fixture, identify, UpgradeClient } from "./upgrade_client.ts";

const FIX = new URL("./fixtures/", import.meta.url).pathname;
const TLS13 = [
  `--tls-cert=${FIX}server.pem`,
  `--tls-key=${FIX}server.key`,
  "--https-address=127.0.0.1:0",
  "--tls-min-version=tls1.3",
];

/** A TLS handshake with the HTTPS port, offering versions up to `max`; resolves with the outcome. */
function httpsHandshake(port: number, max: tls.SecureVersion): Promise<string> {
  return new Promise((resolve) => {
    const s = tls.connect(
      { host: "127.0.0.1", port, servername: "localhost", ca: fixture("ca.pem"), maxVersion: max },
      () => {
        resolve(`ok ${s.getProtocol()}`);
        s.destroy();
      },
    );
    s.on("error", (err) => resolve(`refused ${err.message}`));
  });
}

runtimeTest(
  "--tls-min-version=tls1.3 refuses a TLS 1.2 client on the TCP upgrade and on HTTPS",
  async (rt) => {
    await withNsqd(rt, TLS13, async (nsqd) => {
      const httpsPort = Number((await nsqd.proc.waitForLine(/HTTPS: listening on .+:(\d+)$/))[1]);
      // TCP: IDENTIFY tls_v1, then a handshake that offers TLS 1.2 at most.
      const old = await UpgradeClient.connect(nsqd.tcpPort);
      assert.equal((await identify(old, { tls_v1: true })).tls_v1, true);
      await assert.rejects(old.startTls({ maxVersion: "TLSv1.2" }));
      await nsqd.proc.waitForLine(
        /E_IDENTIFY_FAILED IDENTIFY failed TLS handshake failed \(--tls-min-version=tls1.3\) - /,
      );
      old.close();
      // A TLS 1.3 client gets in; /stats names the version and cipher suite it negotiated.
      const c = await UpgradeClient.connect(nsqd.tcpPort);
      await identify(c, { tls_v1: true });
      await c.startTls();
      assert.equal((await c.readFrame()).text, "OK");
      c.command("SUB t c");
      assert.equal((await c.readNonHeartbeat()).text, "OK");
      const client = (await nsqd.stats()).topics[0].channels[0].clients[0];
      assert.equal(client.tls, true);
      assert.equal(client.tls_version, "TLS1.3");
      assert.match(
        client.tls_cipher_suite,
        /^TLS_(AES_128_GCM_SHA256|AES_256_GCM_SHA384|CHACHA20_POLY1305_SHA256)$/,
      );
      c.close();
      // HTTPS.
      assert.match(await httpsHandshake(httpsPort, "TLSv1.2"), /^refused /);
      // Deno serves this HTTPS with node:https, which reports refused handshakes (Bun.serve does not).
      if (rt === "deno") await nsqd.proc.waitForLine(/HTTPS: TLS handshake with .* failed - /);
      assert.equal(await httpsHandshake(httpsPort, "TLSv1.3"), "ok TLSv1.3");
    });
  },
);

runtimeTest("by default (tls1.0) a TLS 1.2 client is accepted on both TLS listeners", async (rt) => {
  await withNsqd(rt, TLS13.slice(0, 3), async (nsqd) => {
    const httpsPort = Number((await nsqd.proc.waitForLine(/HTTPS: listening on .+:(\d+)$/))[1]);
    const c = await UpgradeClient.connect(nsqd.tcpPort);
    await identify(c, { tls_v1: true });
    await c.startTls({ maxVersion: "TLSv1.2" });
    assert.equal((await c.readFrame()).text, "OK");
    c.close();
    assert.equal(await httpsHandshake(httpsPort, "TLSv1.2"), "ok TLSv1.2");
  });
});
