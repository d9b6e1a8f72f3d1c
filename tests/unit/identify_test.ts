import assert from "node:assert/strict";
import { decodeIdentify } from "../../src/nsqd/identify.ts";

const enc = new TextEncoder();
const decode = (s: string) => decodeIdentify(enc.encode(s));

Deno.test("decodeIdentify() reads every field and ignores unknown keys", () => {
  const d = decode(
    JSON.stringify({
      client_id: "c",
      hostname: "h",
      user_agent: "go-nsq/1.1.0",
      heartbeat_interval: 1000,
      output_buffer_size: 64,
      output_buffer_timeout: -1,
      feature_negotiation: true,
      sample_rate: 10,
      msg_timeout: 2000,
      short_id: "deprecated",
      long_id: { nested: [1, 2, "x"] },
    }),
  );
  assert.equal(d.clientId, "c");
  assert.equal(d.userAgent, "go-nsq/1.1.0");
  assert.equal(d.heartbeatInterval, 1000);
  assert.equal(d.outputBufferTimeout, -1);
  assert.equal(d.featureNegotiation, true);
  assert.equal(d.sampleRate, 10);
});

Deno.test("decodeIdentify() matches keys case-insensitively and takes null as zero", () => {
  const d = decode('{"HeartBeat_Interval": 5000, "client_id": null}');
  assert.equal(d.heartbeatInterval, 5000);
  assert.equal(d.clientId, "");
  assert.equal(decode("null").heartbeatInterval, 0);
});

Deno.test("decodeIdentify() fails as Go's decoder does on type mismatches", () => {
  for (
    const bad of [
      '{"heartbeat_interval": 1.5}',
      '{"heartbeat_interval": 1e3}',
      '{"heartbeat_interval": "1000"}',
      '{"feature_negotiation": 1}',
      '{"client_id": 5}',
      '{"sample_rate": 2147483648}',
      '{"msg_timeout": 9223372036854775808}',
      "[]",
      '"x"',
      "{",
      "",
    ]
  ) {
    assert.throws(() => decode(bad), Error, bad);
  }
});
