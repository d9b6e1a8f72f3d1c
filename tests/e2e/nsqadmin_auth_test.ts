/**
 * Issue 21: nsqadmin in front of nsqds whose HTTP API is authorized (`--http-auth`): with
 * `--http-client-auth-token` it sends the token to every node and works as usual; without it the nodes refuse
 * it and the answer says so.
 */
import assert from "node:assert/strict";
import { runtimesFor, startNsqadmin, startNsqd, testSecret } from "./harness.ts";

const TOKEN = testSecret("nsqadmin-Token-5c1e77");

for (const rt of runtimesFor("nsqadmin")) {
  Deno.test({
    name: `[${rt}] nsqadmin passes --http-client-auth-token to nsqds started with --http-auth`,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: async () => {
      const file = await Deno.makeTempFile({ prefix: "nsq-tokens-", suffix: ".json" });
      await Deno.writeTextFile(
        file,
        JSON.stringify({
          tokens: [{
            token: TOKEN,
            authorizations: [{
              topic: ".*",
              channels: [".*"],
              permissions: ["publish", "subscribe", "admin"],
            }],
          }],
        }),
      );
      const nsqd = await startNsqd(rt, ["--http-auth=token-file", `--http-auth-token-file=${file}`]);
      const node = `--nsqd-http-address=127.0.0.1:${nsqd.httpPort}`;
      const withToken = await startNsqadmin(rt, [node, `--http-client-auth-token=${TOKEN}`]);
      const without = await startNsqadmin(rt, [node]);
      try {
        const created = await withToken.http("/api/topics", {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ topic: "guarded", channel: "ch" }),
        });
        assert.equal(created.status, 200, await created.text());
        const res = await fetch(`${nsqd.httpUrl}/stats?format=json`, {
          headers: { Authorization: `Bearer ${TOKEN}` },
        });
        const stats = await res.json();
        assert.deepEqual(stats.topics.map((t: { topic_name: string }) => t.topic_name), ["guarded"]);
        const topics = await (await withToken.http("/api/topics")).json();
        assert.deepEqual(topics, { topics: ["guarded"], message: "" });

        const refused = await without.http("/api/topics/guarded");
        const body = await refused.text();
        assert.notEqual(refused.status, 200, body);
        assert.match(body, /401/, "the nodes' refusal is reported");
        assert.ok(
          !withToken.proc.stderr.includes(TOKEN) && !nsqd.proc.stderr.includes(TOKEN),
          "no token in logs",
        );
      } finally {
        await withToken.stop();
        await without.stop();
        await nsqd.stop();
        await Deno.remove(file).catch(() => {});
      }
    },
  });
}
