/**
 * AUTH secrets and HTTP tokens never reach nsqd's log or /stats: every path a secret travels (TCP AUTH,
 * its re-query after the ttl, a failing or unreachable auth server, HTTP Bearer tokens good and bad)
 * is exercised at --log-level=debug, then the whole log and /stats are searched for the secrets.
 */
import assert from "node:assert/strict";
import { deadAddress, grant, startAuthServer } from "./auth_server.ts";
import { runtimeTest, testSecret, withNsqd } from "./harness.ts";

// Secrets this file hands to nsqd: no log of the suite may contain them (harness.ts `testSecret`).
testSecret("good-Secret-7f3a9c");
testSecret("bad-Secret-41d2e8");

const GOOD = "good-Secret-7f3a9c";
const BAD = "bad-Secret-41d2e8";
const SECRETS = [GOOD, BAD, encodeURIComponent(GOOD), encodeURIComponent(BAD)];

function assertNoSecret(text: string, where: string): void {
  for (const s of SECRETS) assert.ok(!text.includes(s), `${where} contains the secret ${s}:\n${text}`);
}

runtimeTest("no AUTH secret or HTTP token appears in the log or in /stats", async (rt) => {
  const server = startAuthServer((req) =>
    req.params.secret === GOOD
      ? grant([{ topic: ".*", channels: [".*"], permissions: ["publish", "subscribe", "admin"] }], { ttl: 1 })
      : { status: 500, body: `no such secret ${req.params.secret}` }
  );
  try {
    const args = [
      "--log-level=debug",
      `--auth-http-address=${server.address}`,
      "--http-auth=auth-server",
    ];
    await withNsqd(rt, args, async (nsqd) => {
      // TCP AUTH: granted, used, expired and asked again.
      const c = await nsqd.connectV2();
      await c.identify({ feature_negotiation: true });
      await c.command("AUTH", GOOD);
      assert.equal((await c.readNonHeartbeat()).type, 0);
      await c.pub("t", "m");
      await new Promise((r) => setTimeout(r, 1100));
      await c.pub("t", "m2");
      // TCP AUTH refused by the server (its answer quotes the secret).
      const d = await nsqd.connectV2();
      await d.command("AUTH", BAD);
      await d.expectError("E_AUTH_FAILED AUTH failed");
      // HTTP: good and bad Bearer tokens.
      const headers = (s: string) => ({ Authorization: `Bearer ${s}` });
      const stats = await nsqd.http("/stats?format=json&include_clients=true", { headers: headers(GOOD) });
      assert.equal(stats.status, 200);
      assertNoSecret(await stats.text(), "/stats (json)");
      const text = await nsqd.http("/stats?include_clients=true", { headers: headers(GOOD) });
      assertNoSecret(await text.text(), "/stats (text)");
      const refused = await nsqd.http("/pub?topic=t", { method: "POST", body: "x", headers: headers(BAD) });
      assert.equal(refused.status, 401);
      await refused.body?.cancel();
      await nsqd.proc.waitForLine(/HTTP: auth failed for POST \/pub/);
      await nsqd.proc.waitForLine(/AUTH failed failed to auth against/);
      assertNoSecret(nsqd.proc.stderr, "the log (an auth server quoting the refused secret)");
      c.close();
    });
    // An auth server nobody answers at: fetch's own error quotes the URL (and so the GET query).
    await withNsqd(rt, ["--log-level=debug", `--auth-http-address=${deadAddress()}`], async (nsqd) => {
      const c = await nsqd.connectV2();
      await c.command("AUTH", BAD);
      await c.expectError("E_AUTH_FAILED AUTH failed");
      const line = await nsqd.proc.waitForLine(/AUTH failed failed to auth against .*/);
      assert.match(line[0], /secret=REDACTED/);
      assertNoSecret(nsqd.proc.stderr, "the log");
    });
  } finally {
    await server.close();
  }
});
