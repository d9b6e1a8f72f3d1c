/**
 * The client's IDENTIFY upgrades against our nsqd (a child process on each runtime): TLS with a CA,
 * without verification, with a client certificate, refused when nsqd is not verified; Snappy;
 * Deflate at several levels; TLS with compression; AUTH for a Consumer; and the client itself on Bun
 * over TLS. Each scenario publishes with a Producer and receives with a Consumer through the layers.
 */
import assert from "node:assert/strict";
import {
  Consumer,
  type ConsumerMessage,
  NsqConnectionError,
  NsqError,
  Producer,
  type ProducerOptions,
} from "../../mod.ts";
import { grant, startAuthServer } from "./auth_server.ts";
import { channelStats, type NsqdProcess, runtimeTest, testSecret, until, withNsqd } from "./harness.ts";

// Secrets this file hands to nsqd: no log of the suite may contain them (harness.ts `testSecret`).
testSecret("s3cret");

const waitFor = (what: string, ok: () => boolean | Promise<boolean>, ms = 10_000) =>
  until(what, async () => assert.ok(await ok(), what), ms);

const ROOT = new URL("../../", import.meta.url).pathname;
const FIX = `${ROOT}tests/e2e/fixtures/`;
const pem = (name: string): string => Deno.readTextFileSync(FIX + name);
const CA = pem("ca.pem");
const TLS_FLAGS = [
  `--tls-cert=${FIX}server.pem`,
  `--tls-key=${FIX}server.key`,
  "--https-address=127.0.0.1:0",
];
const REQUIRE_CERT_FLAGS = [
  ...TLS_FLAGS,
  `--tls-root-ca-file=${FIX}ca.pem`,
  "--tls-client-auth-policy=require-verify",
  "--tls-required=tcp-https", // (a client auth policy would make plain HTTP /stats answer 403)
];

type Options = ProducerOptions;

/** Bodies that compress well, one of them larger than a snappy chunk (64 KiB). */
function bodiesFor(topic: string, n: number): string[] {
  return Array.from(
    { length: n },
    (_, i) => i === 0 ? "big ".repeat(40_000) + topic : `${topic} message ${i} ` + "payload ".repeat(i % 50),
  );
}

/**
 * Publishes `n` messages with a Producer (pipelined, then one MPUB) and receives them with a Consumer,
 * both with `options`; checks every body arrived and what nsqd's /stats says of the consumer.
 */
async function roundTrip(
  nsqd: NsqdProcess,
  topic: string,
  options: Options,
  n = 50,
): Promise<Record<string, unknown>> {
  const address = `127.0.0.1:${nsqd.tcpPort}`;
  const bodies = bodiesFor(topic, n);
  const producer = new Producer(address, options);
  await Promise.all(bodies.slice(0, n - 2).map((b) => producer.publish(topic, b)));
  await producer.publishMany(topic, bodies.slice(n - 2));
  await producer.close();

  const got: string[] = [];
  const consumer = new Consumer(topic, "ch", { ...options, maxInFlight: 16, onError: () => {} });
  consumer.addHandler((msg: ConsumerMessage) => {
    got.push(msg.text);
  });
  try {
    await consumer.connectToNsqd(address);
    await waitFor(`${n} messages on ${topic}`, () => got.length >= n);
    assert.deepEqual([...got].sort(), [...bodies].sort());
    await waitFor(
      "all finished",
      async () => (await channelStats(nsqd, topic, "ch"))?.clients?.[0]?.finish_count === n,
    );
    return (await channelStats(nsqd, topic, "ch")).clients[0];
  } finally {
    await consumer.stop();
  }
}

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}

// ---- TLS ---------------------------------------------------------------------------------------------

runtimeTest(
  "TLS: verified with the CA, with insecureSkipVerify, and refused for an unknown CA or a wrong name",
  async (rt) => {
    await withNsqd(rt, TLS_FLAGS, async (nsqd) => {
      const verified = await roundTrip(nsqd, "tls_ca", { tlsV1: true, tlsConfig: { ca: CA } });
      assert.equal(verified.tls, true);
      assert.match(String(verified.tls_version), /^TLS1\.[23]$/);

      const skip = await roundTrip(nsqd, "tls_skip", {
        tlsV1: true,
        tlsConfig: { insecureSkipVerify: true },
      });
      assert.equal(skip.tls, true);

      const address = `127.0.0.1:${nsqd.tcpPort}`;
      for (
        const tlsConfig of [{ ca: pem("other.pem") }, {}, { ca: CA, serverName: "nsqd.example.invalid" }]
      ) {
        const p = new Producer(address, { tlsV1: true, tlsConfig });
        const err = await rejection(p.publish("t", "x"));
        assert.ok(err instanceof NsqConnectionError, String(err));
        assert.match(err.message, /^TLS handshake with 127\.0\.0\.1:\d+ failed: /);
        assert.match(err.message, /cert|self[- ]signed|altname|Hostname|host/i);
        await p.close();
      }
      const c = new Consumer("t", "ch", {
        tlsV1: true,
        tlsConfig: { ca: pem("other.pem") },
        onError: () => {},
      });
      assert.match((await rejection(c.connectToNsqd(address))).message, /^TLS handshake .* failed: /);
      await c.stop();
    });
  },
);

runtimeTest(
  "TLS with --tls-client-auth-policy=require-verify: a client certificate of the CA is accepted, none or another refused",
  async (rt) => {
    await withNsqd(rt, REQUIRE_CERT_FLAGS, async (nsqd) => {
      const withCert = { ca: CA, cert: pem("client.pem"), key: pem("client.key") };
      const cs = await roundTrip(nsqd, "tls_cert", { tlsV1: true, tlsConfig: withCert }, 20);
      assert.equal(cs.tls, true);

      const address = `127.0.0.1:${nsqd.tcpPort}`;
      for (const tlsConfig of [{ ca: CA }, { ca: CA, cert: pem("other.pem"), key: pem("other.key") }]) {
        const p = new Producer(address, { tlsV1: true, tlsConfig });
        const err = await rejection(p.publish("t", "x"));
        assert.ok(err instanceof NsqConnectionError, String(err));
        // TLS 1.3: the client's handshake is done before nsqd checks its certificate, so the refusal is
        // either a TLS alert or nsqd closing the connection instead of sending OK.
        assert.match(err.message, /TLS handshake .* failed|during the TLS upgrade/);
        await p.close();
      }
    });
  },
);

runtimeTest("tlsV1 against an nsqd without TLS stays plain text, as go-nsq", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const cs = await roundTrip(nsqd, "no_tls", { tlsV1: true, tlsConfig: { ca: CA } }, 5);
    assert.equal(cs.tls, false);
  });
});

// ---- compression ---------------------------------------------------------------------------------------

runtimeTest("snappy: Producer and Consumer through the snappy framing format", async (rt) => {
  await withNsqd(rt, [], async (nsqd) => {
    const cs = await roundTrip(nsqd, "snappy", { snappy: true });
    assert.equal(cs.snappy, true);
    assert.equal(cs.deflate, false);
  });
});

runtimeTest("deflate at levels 1, 6 and 9 (nsqd's --max-deflate-level=9)", async (rt) => {
  await withNsqd(rt, ["--max-deflate-level=9"], async (nsqd) => {
    for (const level of [1, 6, 9]) {
      const cs = await roundTrip(nsqd, `deflate_${level}`, { deflate: true, deflateLevel: level }, 30);
      assert.equal(cs.deflate, true);
    }
  });
});

runtimeTest("TLS then snappy, and TLS then deflate", async (rt) => {
  await withNsqd(rt, TLS_FLAGS, async (nsqd) => {
    const s = await roundTrip(nsqd, "tls_snappy", { tlsV1: true, tlsConfig: { ca: CA }, snappy: true });
    assert.equal(s.tls, true);
    assert.equal(s.snappy, true);
    const d = await roundTrip(nsqd, "tls_deflate", { tlsV1: true, tlsConfig: { ca: CA }, deflate: true });
    assert.equal(d.tls, true);
    assert.equal(d.deflate, true);
  });
});

// ---- AUTH ----------------------------------------------------------------------------------------------

runtimeTest(
  "Consumer AUTH: subscribes where the grant allows (over TLS with snappy too), E_UNAUTHORIZED elsewhere, Auth Required without a secret",
  async (rt) => {
    const server = startAuthServer(() =>
      grant([{ topic: "^auth_.*", channels: [".*"], permissions: ["subscribe", "publish"] }])
    );
    try {
      await withNsqd(rt, [...TLS_FLAGS, `--auth-http-address=${server.address}`], async (nsqd) => {
        const secret = { authSecret: "s3cret" };
        await roundTrip(nsqd, "auth_plain", secret, 10);
        assert.equal(server.requests.at(-1)?.params.secret, "s3cret");
        assert.equal(server.requests.at(-1)?.params.tls, "false");
        const cs = await roundTrip(nsqd, "auth_tls", {
          ...secret,
          tlsV1: true,
          tlsConfig: { ca: CA },
          snappy: true,
        }, 10);
        assert.equal(cs.tls, true);
        assert.equal(server.requests.at(-1)?.params.tls, "true");

        const address = `127.0.0.1:${nsqd.tcpPort}`;
        const forbidden = new Consumer("other", "ch", { ...secret, onError: () => {} });
        const err = await rejection(forbidden.connectToNsqd(address));
        assert.ok(err instanceof NsqError, String(err));
        assert.equal(err.code, "E_UNAUTHORIZED");
        await forbidden.stop();

        const anonymous = new Consumer("auth_plain", "ch", { onError: () => {} });
        const err2 = await rejection(anonymous.connectToNsqd(address));
        assert.ok(err2 instanceof NsqConnectionError, String(err2));
        assert.equal(err2.message, "Auth Required");
        await anonymous.stop();
      });
    } finally {
      await server.close();
    }
  },
);

// ---- the client on Bun ---------------------------------------------------------------------------------

runtimeTest(
  "the Producer and Consumer running on Bun over TLS (client certificate) with snappy",
  async (rt) => {
    await withNsqd(rt, REQUIRE_CERT_FLAGS, async (nsqd) => {
      const out = await new Deno.Command(`${ROOT}node_modules/.bin/bun`, {
        args: [`${ROOT}tests/e2e/clients/tls_client.ts`, String(nsqd.tcpPort), "from_bun_tls", "200"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.equal(new TextDecoder().decode(out.stdout).trim(), "received 200");
    });
  },
);

// ---- configuration -------------------------------------------------------------------------------------

Deno.test("client TLS and compression options are validated as go-nsq's, and a bit more", () => {
  const make = (o: Options) => () => new Producer("127.0.0.1:4150", o);
  assert.throws(make({ snappy: true, deflate: true }), /options snappy and deflate cannot both be enabled/);
  assert.throws(
    make({ deflate: true, deflateLevel: 0 }),
    /option deflateLevel must be between 1 and 9, got 0/,
  );
  assert.throws(make({ deflate: true, deflateLevel: 10 }), RangeError);
  assert.throws(make({ deflateLevel: 2.5 }), RangeError);
  assert.throws(make({ tlsConfig: { ca: CA } }), /option tlsConfig needs tlsV1: true/);
  assert.throws(make({ tlsV1: true, tlsConfig: { cert: "x" } }), /tlsConfig\.cert and tlsConfig\.key/);
  assert.throws(
    make({ tlsV1: true, tlsConfig: { caFile: "x" } as never }),
    /unknown option tlsConfig\.caFile/,
  );
  assert.throws(make({ tlsV1: true, tlsConfig: { insecureSkipVerify: "yes" } as never }), TypeError);
  assert.throws(() => new Consumer("t", "c", { snappy: true, deflate: true }), RangeError);
  make({ tlsV1: true, tlsConfig: { ca: CA, insecureSkipVerify: false }, snappy: true })();
});
