import assert from "node:assert/strict";
import { deadAddress, grant, startAuthServer } from "./auth_server.ts";
import { type NsqConn, runtimeTest, testSecret, withNsqd } from "./harness.ts";

// Secrets this file hands to nsqd: no log of the suite may contain them (harness.ts `testSecret`).
testSecret("s3cret");
testSecret("ttl-secret");

const PUBLISH_T = { topic: "^t$", channels: [".*"], permissions: ["publish"] };
const SUBSCRIBE_T_C = { topic: "^t$", channels: ["^c$"], permissions: ["subscribe"] };

async function auth(c: NsqConn, secret: string) {
  await c.command("AUTH", secret);
  return await c.readNonHeartbeat();
}

runtimeTest(
  "AUTH asks the auth server, answers its identity, and then allows exactly what it granted",
  async (rt) => {
    const server = startAuthServer(() =>
      grant([PUBLISH_T, SUBSCRIBE_T_C], { identity: "alice", identity_url: "https://id/alice" })
    );
    try {
      await withNsqd(rt, [`--auth-http-address=${server.address}`], async (nsqd) => {
        const c = await nsqd.connectV2();
        const reply = await c.identify({ feature_negotiation: true, user_agent: "auth-test" });
        assert.equal(JSON.parse(reply.text).auth_required, true);
        const f = await auth(c, "s3cret");
        assert.deepEqual([f.type, JSON.parse(f.text)], [0, {
          identity: "alice",
          identity_url: "https://id/alice",
          permission_count: 2,
        }]);
        assert.equal(server.requests.length, 1);
        const req = server.requests[0];
        assert.equal(req.method, "GET");
        assert.equal(req.path, "/auth");
        assert.deepEqual(req.params, {
          common_name: "",
          remote_ip: "127.0.0.1",
          secret: "s3cret",
          tls: "false",
        });
        assert.equal(req.headers.get("accept"), "application/vnd.nsq; version=1.0");
        await c.pub("t", "allowed");
        await c.sub("t", "c");
        const s = await nsqd.stats();
        const client = s.topics[0].channels[0].clients[0];
        assert.equal(client.authed, true);
        assert.equal(client.auth_identity, "alice");
        assert.equal(client.auth_identity_url, "https://id/alice");
        // Not granted: publishing to another topic.
        await c.command("PUB other", "x");
        await c.expectError('E_UNAUTHORIZED AUTH failed for PUB on "other" ""');
        await c.expectClosed();
      });
    } finally {
      await server.close();
    }
  },
);

runtimeTest(
  "SUB to a channel the grant does not cover is E_UNAUTHORIZED with both names quoted",
  async (rt) => {
    const server = startAuthServer(() => grant([SUBSCRIBE_T_C]));
    try {
      await withNsqd(rt, [`--auth-http-address=${server.address}`], async (nsqd) => {
        const c = await nsqd.connectV2();
        assert.equal((await auth(c, "x")).type, 0);
        await c.command("SUB t other");
        await c.expectError('E_UNAUTHORIZED AUTH failed for SUB on "t" "other"');
        await c.expectClosed();
      });
    } finally {
      await server.close();
    }
  },
);

runtimeTest(
  "commands that need AUTH before it get E_AUTH_FIRST; a second AUTH is E_INVALID AUTH already set",
  async (rt) => {
    const server = startAuthServer(() => grant([PUBLISH_T]));
    try {
      await withNsqd(rt, [`--auth-http-address=${server.address}`], async (nsqd) => {
        for (
          const [cmd, expected] of [["SUB t c", "SUB"], ["PUB t", "PUB"], ["DPUB t 10", "DPUB"], [
            "MPUB t",
            "MPUB",
          ]]
        ) {
          const c = await nsqd.connectV2();
          await c.command(
            cmd,
            cmd.startsWith("SUB") ? undefined : cmd.startsWith("MPUB") ? undefined : "body",
          );
          await c.expectError(`E_AUTH_FIRST AUTH required before ${expected}`);
          await c.expectClosed();
        }
        const c = await nsqd.connectV2();
        assert.equal((await auth(c, "x")).type, 0);
        await c.command("AUTH", "again");
        await c.expectError("E_INVALID AUTH already set");
        await c.expectClosed();
      });
    } finally {
      await server.close();
    }
  },
);

runtimeTest("an empty grant is E_UNAUTHORIZED AUTH no authorizations found", async (rt) => {
  const server = startAuthServer(() => grant([]));
  try {
    await withNsqd(rt, [`--auth-http-address=${server.address}`], async (nsqd) => {
      const c = await nsqd.connectV2();
      await c.command("AUTH", "nobody");
      await c.expectError("E_UNAUTHORIZED AUTH no authorizations found");
      await c.expectClosed();
    });
  } finally {
    await server.close();
  }
});

runtimeTest(
  "an unreachable or failing auth server is E_AUTH_FAILED AUTH failed (details only in the log)",
  async (rt) => {
    const failing = startAuthServer(() => ({ status: 500, body: "boom" }));
    try {
      for (const address of [deadAddress(), failing.address]) {
        await withNsqd(
          rt,
          [`--auth-http-address=${address}`, "--http-client-request-timeout=2s"],
          async (nsqd) => {
            const c = await nsqd.connectV2();
            await c.command("AUTH", "x");
            await c.expectError("E_AUTH_FAILED AUTH failed");
            await c.expectClosed();
            await nsqd.proc.waitForLine(/AUTH failed/);
          },
        );
      }
    } finally {
      await failing.close();
    }
  },
);

runtimeTest(
  "an expired grant is re-queried with the same secret before the next PUB; a refusal then fails it",
  async (rt) => {
    let allow = true;
    const server = startAuthServer(() =>
      allow ? grant([PUBLISH_T], { ttl: 1 }) : { status: 403, body: "no" }
    );
    try {
      await withNsqd(rt, [`--auth-http-address=${server.address}`], async (nsqd) => {
        const c = await nsqd.connectV2();
        assert.equal((await auth(c, "ttl-secret")).type, 0);
        await c.pub("t", "first");
        assert.equal(server.requests.length, 1);
        await new Promise((r) => setTimeout(r, 1200)); // let the 1 s grant expire
        await c.pub("t", "after re-query");
        assert.equal(server.requests.length, 2);
        assert.equal(server.requests[1].params.secret, "ttl-secret");
        await new Promise((r) => setTimeout(r, 1200));
        allow = false;
        // Pipelined: the PUB waits for the auth server, the NOP after it is held until then.
        await c.write(new TextEncoder().encode("PUB t\n\x00\x00\x00\x01xNOP\n"));
        await c.expectError("E_AUTH_FAILED AUTH failed");
        await c.expectClosed();
        assert.equal((await nsqd.stats()).topics[0].message_count, 2);
      });
    } finally {
      await server.close();
    }
  },
);

runtimeTest(
  "--auth-http-request-method=post sends url.Values as JSON; a full URL address is used as-is",
  async (rt) => {
    const server = startAuthServer(() => grant([PUBLISH_T]));
    try {
      const flags = [`--auth-http-address=${server.origin}/custom/path`, "--auth-http-request-method=post"];
      await withNsqd(rt, flags, async (nsqd) => {
        const c = await nsqd.connectV2();
        assert.equal((await auth(c, "p")).type, 0);
        const req = server.requests[0];
        assert.equal(req.method, "POST");
        assert.equal(req.path, "/custom/path");
        assert.equal(req.headers.get("content-type"), "application/json");
        assert.deepEqual(JSON.parse(req.body), {
          common_name: [""],
          remote_ip: ["127.0.0.1"],
          secret: ["p"],
          tls: ["false"],
        });
      });
    } finally {
      await server.close();
    }
  },
);

runtimeTest("without --auth-http-address AUTH is E_AUTH_DISABLED and everything is allowed", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const c = await nsqd.connectV2();
    await c.pub("t", "x");
    await c.command("AUTH", "x");
    await c.expectError("E_AUTH_DISABLED AUTH disabled");
    await c.expectClosed();
  });
});
