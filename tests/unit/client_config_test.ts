import assert from "node:assert/strict";
import { defaultClientConfig, resolveClientConfig } from "../../src/client/config.ts";
import { parseAddress } from "../../src/client/connection.ts";
import { CommandWriter } from "../../src/protocol/command.ts";
import { encodeFrame, FrameDecoder, FrameType } from "../../src/protocol/frame.ts";

Deno.test("defaultClientConfig() has go-nsq's defaults and derives the identity from the host name", () => {
  const c = defaultClientConfig("box.example.com");
  assert.equal(c.clientId, "box");
  assert.equal(c.hostname, "box.example.com");
  assert.match(c.userAgent, /^nsq-ts\/\d+\.\d+\.\d+/);
  assert.deepEqual(
    [
      c.readTimeout,
      c.writeTimeout,
      c.dialTimeout,
      c.heartbeatInterval,
      c.lookupdPollInterval,
      c.lookupdPollJitter,
    ],
    [60_000, 1000, 1000, 30_000, 60_000, 0.3],
  );
  assert.deepEqual([c.maxInFlight, c.maxAttempts, c.sampleRate, c.deflateLevel], [1, 5, 0, 6]);
  assert.deepEqual([c.outputBufferSize, c.outputBufferTimeout, c.msgTimeout, c.authSecret], [
    16384,
    250,
    0,
    "",
  ]);
  assert.deepEqual([c.defaultRequeueDelay, c.maxRequeueDelay, c.maxBackoffDuration, c.backoffMultiplier], [
    90_000,
    900_000,
    120_000,
    1000,
  ]);
  assert.equal(c.backoffStrategy, "exponential");
});

Deno.test("resolveClientConfig() accepts the bounds of every range", () => {
  const c = resolveClientConfig({
    readTimeout: 100,
    writeTimeout: 300_000,
    heartbeatInterval: 100,
    sampleRate: 99,
    deflateLevel: 1,
    maxAttempts: 65535,
    lookupdPollJitter: 1,
    maxInFlight: 0,
    lowRdyIdleTimeout: 1000,
    rdyRedistributeInterval: 5000,
  }, "h");
  assert.equal(c.sampleRate, 99);
  assert.equal(c.heartbeatInterval, 100);
});

const outOfRange: [string, Record<string, unknown>, RegExp][] = [
  [
    "readTimeout below 100 ms",
    { readTimeout: 99 },
    /option readTimeout must be between 100 ms and 300000 ms, got 99 ms/,
  ],
  [
    "writeTimeout above 5 min",
    { writeTimeout: 300_001 },
    /option writeTimeout must be between 100 ms and 300000 ms/,
  ],
  ["sampleRate 100", { sampleRate: 100 }, /option sampleRate must be between 0 and 99, got 100/],
  ["sampleRate -1", { sampleRate: -1 }, /option sampleRate must be between 0 and 99, got -1/],
  ["deflateLevel 0", { deflateLevel: 0 }, /option deflateLevel must be between 1 and 9, got 0/],
  ["deflateLevel 10", { deflateLevel: 10 }, /option deflateLevel must be between 1 and 9/],
  ["maxInFlight -1", { maxInFlight: -1 }, /option maxInFlight must be at least 0, got -1/],
  ["maxInFlight 1.5", { maxInFlight: 1.5 }, /option maxInFlight must be an integer, got 1.5/],
  ["maxAttempts 65536", { maxAttempts: 65536 }, /option maxAttempts must be between 0 and 65535/],
  ["lookupdPollJitter 1.1", { lookupdPollJitter: 1.1 }, /option lookupdPollJitter must be between 0 and 1/],
  [
    "lookupdPollInterval 5 ms",
    { lookupdPollInterval: 5 },
    /option lookupdPollInterval must be between 10 ms/,
  ],
  [
    "lowRdyIdleTimeout 999 ms",
    { lowRdyIdleTimeout: 999 },
    /option lowRdyIdleTimeout must be between 1000 ms/,
  ],
  [
    "rdyRedistributeInterval 0",
    { rdyRedistributeInterval: 0 },
    /rdyRedistributeInterval must be between 1 ms/,
  ],
  [
    "maxRequeueDelay above 60 min",
    { maxRequeueDelay: 3_600_001 },
    /option maxRequeueDelay must be between 0 ms/,
  ],
  ["msgTimeout -1", { msgTimeout: -1 }, /option msgTimeout must be at least 0 ms, got -1 ms/],
  [
    "backoffStrategy",
    { backoffStrategy: "linear" },
    /backoffStrategy must be "exponential" or "full_jitter"/,
  ],
  [
    "heartbeatInterval above readTimeout",
    { heartbeatInterval: 61_000 },
    /option heartbeatInterval \(61000 ms\) must be less than readTimeout \(60000 ms\)/,
  ],
];
for (const [what, options, message] of outOfRange) {
  Deno.test(`resolveClientConfig() refuses ${what} with a RangeError naming the option`, () => {
    assert.throws(() => resolveClientConfig(options, "h"), (err: Error) => {
      assert.ok(err instanceof RangeError, `${err}`);
      assert.match(err.message, message);
      return true;
    });
  });
}

Deno.test("resolveClientConfig() refuses unknown options and wrong types with a TypeError", () => {
  assert.throws(() => resolveClientConfig({ maxInflight: 3 } as never, "h"), {
    name: "TypeError",
    message: 'unknown client option "maxInflight"',
  });
  assert.throws(
    () => resolveClientConfig({ snappy: "yes" } as never, "h"),
    /option snappy must be a boolean/,
  );
  assert.throws(() => resolveClientConfig({ clientId: 7 } as never, "h"), /option clientId must be a string/);
  assert.throws(
    () => resolveClientConfig({ readTimeout: NaN }, "h"),
    /option readTimeout must be a finite number/,
  );
});

Deno.test("resolveClientConfig() lets heartbeatInterval equal readTimeout, and -1 disable heartbeats", () => {
  assert.equal(resolveClientConfig({ heartbeatInterval: 60_000 }, "h").heartbeatInterval, 60_000);
  assert.equal(resolveClientConfig({ heartbeatInterval: -1 }, "h").heartbeatInterval, -1);
});

Deno.test("parseAddress() reads host:port and [v6]:port, and refuses the rest", () => {
  assert.deepEqual(parseAddress("127.0.0.1:4150"), { hostname: "127.0.0.1", port: 4150 });
  assert.deepEqual(parseAddress("[::1]:4150"), { hostname: "::1", port: 4150 });
  assert.deepEqual(parseAddress("nsqd.local:1"), { hostname: "nsqd.local", port: 1 });
  for (const bad of ["127.0.0.1", "h:0", "h:70000", "h:x", ""]) {
    assert.throws(() => parseAddress(bad), TypeError, bad);
  }
});

const text = (b: Uint8Array) => new TextDecoder().decode(b);

Deno.test("CommandWriter encodes PUB, DPUB, MPUB, IDENTIFY and bare lines as nsqd expects them", () => {
  const w = new CommandWriter(8);
  w.pub("t", "héllo");
  w.dpub("t", 1500.9, new Uint8Array([1, 2]));
  w.mpub("t", ["a", "bc"]);
  w.line("NOP");
  const expected = [
    ...new TextEncoder().encode("PUB t\n"),
    0,
    0,
    0,
    6,
    ...new TextEncoder().encode("héllo"),
    ...new TextEncoder().encode("DPUB t 1500\n"),
    0,
    0,
    0,
    2,
    1,
    2,
    ...new TextEncoder().encode("MPUB t\n"),
    0,
    0,
    0,
    15, // 4 (count) + 4 + 1 + 4 + 2
    0,
    0,
    0,
    2,
    0,
    0,
    0,
    1,
    97,
    0,
    0,
    0,
    2,
    98,
    99,
    ...new TextEncoder().encode("NOP\n"),
  ];
  assert.deepEqual([...w.bytes()], expected);
  const encoded = new CommandWriter();
  encoded.sizedBody("a");
  encoded.sizedBody("bc");
  const viaEncoded = new CommandWriter();
  viaEncoded.mpubEncoded("t", 2, encoded.bytes());
  const direct = new CommandWriter();
  direct.mpub("t", ["a", "bc"]);
  assert.deepEqual(viaEncoded.bytes(), direct.bytes());
  w.reset();
  assert.equal(w.length, 0);
});

Deno.test("FrameDecoder yields the same frames whether fed whole or byte by byte", () => {
  const frames = [
    encodeFrame(FrameType.Response, "OK"),
    encodeFrame(FrameType.Response, "_heartbeat_"),
    encodeFrame(FrameType.Error, 'E_BAD_TOPIC PUB topic name "a!" is not valid'),
    encodeFrame(FrameType.Message, new Uint8Array(5000).fill(7)),
  ];
  const wire = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let off = 0;
  for (const f of frames) {
    wire.set(f, off);
    off += f.length;
  }
  const run = (chunks: Uint8Array[]) => {
    const out: string[] = [];
    const dec = new FrameDecoder((type, data) =>
      out.push(`${type}:${data.length}:${text(data.subarray(0, 20))}`)
    );
    for (const c of chunks) dec.push(c.slice()); // a copy: the decoder must not keep views of old chunks
    assert.equal(dec.buffered, 0);
    return out;
  };
  const whole = run([wire]);
  assert.equal(whole.length, 4);
  assert.equal(whole[0], "0:2:OK");
  assert.deepEqual(run([...wire].map((b) => new Uint8Array([b]))), whole);
  assert.deepEqual(run([wire.subarray(0, 13), wire.subarray(13, 4000), wire.subarray(4000)]), whole);
});

Deno.test("FrameDecoder throws a RangeError on an impossible frame size", () => {
  const dec = new FrameDecoder(() => {}, 1024);
  assert.throws(() => dec.push(new Uint8Array([0, 0, 0, 2, 0, 0, 0, 0])), RangeError);
  const big = new FrameDecoder(() => {}, 1024);
  assert.throws(() => big.push(new Uint8Array([0, 0, 8, 0, 0, 0, 0, 0])), /invalid frame size 2048/);
});

Deno.test("CommandWriter gives the same bytes whatever the buffer size it starts with (growth mid-command)", () => {
  const write = (w: CommandWriter) => {
    w.line("RDY 2500");
    w.pub("topic", new Uint8Array(100).fill(97));
    w.line("FIN 0123456789abcdef");
    w.append(new Uint8Array([1, 2, 3, 10]));
    w.dpub("topic", 5, new Uint8Array([4, 5, 6]));
    w.mpub("topic", [new Uint8Array(30).fill(98), "text"]);
    w.identify("{}");
  };
  const reference = new CommandWriter(1 << 16);
  write(reference);
  for (let size = 1; size <= reference.length; size++) {
    const w = new CommandWriter(size);
    write(w);
    assert.deepEqual(w.bytes(), reference.bytes(), `initial size ${size}`);
  }
});
