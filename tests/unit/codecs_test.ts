import assert from "node:assert/strict";
import { byteToBase10 } from "../../src/protocol/byte_base10.ts";
import { encodeFrame, FrameBuffer, FrameType } from "../../src/protocol/frame.ts";
import { goQuote } from "../../src/protocol/go_format.ts";
import { GuidFactory } from "../../src/protocol/guid.ts";
import {
  copyMessage,
  createMessage,
  decodeMessage,
  encodeMessage,
  messageBody,
  messageId,
  messageTimestamp,
} from "../../src/protocol/message.ts";
import { isEphemeral, isValidChannelName, isValidTopicName } from "../../src/protocol/names.ts";

const enc = new TextEncoder();

Deno.test("encodeMessage() writes timestamp, attempts, id and body big-endian", () => {
  const msg = createMessage("0123456789abcdef", enc.encode("hi"), 1_700_000_000_123_456_768, 3);
  const bytes = encodeMessage(msg);
  const view = new DataView(bytes.buffer);
  assert.equal(bytes.length, 28);
  assert.equal(view.getBigInt64(0), 1_700_000_000_123_456_768n);
  assert.equal(view.getUint16(8), 3);
  assert.equal(new TextDecoder().decode(bytes.subarray(10, 26)), "0123456789abcdef");
  assert.deepEqual(bytes.subarray(26), enc.encode("hi"));
});

Deno.test("decodeMessage() reverses encodeMessage() and rejects fewer than 26 bytes", () => {
  const msg = createMessage("fedcba9876543210", enc.encode("body"), 1_600_000_000_000_000_000, 65535);
  const back = decodeMessage(encodeMessage(msg));
  assert.equal(messageId(back), messageId(msg));
  assert.equal(messageTimestamp(back), messageTimestamp(msg));
  assert.equal(back.attempts, 65535);
  assert.deepEqual(messageBody(back), messageBody(msg));
  assert.throws(() => decodeMessage(new Uint8Array(25)), RangeError);
});

Deno.test("frames carry size = 4 + data length and the frame type", () => {
  const f = encodeFrame(FrameType.Error, "E_INVALID x");
  const view = new DataView(f.buffer);
  assert.equal(view.getUint32(0), 4 + 11);
  assert.equal(view.getInt32(4), 1);
  const buf = new FrameBuffer(8);
  buf.writeTextFrame(FrameType.Response, "OK");
  buf.writeMessage(createMessage("0123456789abcdef", enc.encode("x".repeat(100)), 1, 1));
  const bytes = buf.bytes();
  assert.deepEqual(bytes.subarray(0, 10), new Uint8Array([0, 0, 0, 6, 0, 0, 0, 0, 79, 75]));
  assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(10), 4 + 26 + 100);
  assert.equal(bytes.length, 10 + 8 + 26 + 100);
});

Deno.test("GuidFactory makes unique increasing 16-hex-char IDs with the node ID inside", () => {
  const g = new GuidFactory(513);
  const ids: string[] = [];
  for (let i = 0; i < 10_000; i++) ids.push(g.next(1_700_000_000_000));
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, /^[0-9a-f]{16}$/);
  for (let i = 1; i < ids.length; i++) assert.ok(BigInt("0x" + ids[i]) > BigInt("0x" + ids[i - 1]));
  const v = BigInt("0x" + ids[0]);
  assert.equal(Number((v >> 12n) & 1023n), 513);
  assert.throws(() => new GuidFactory(1024), RangeError);
});

Deno.test("GuidFactory stays increasing when the clock goes backwards", () => {
  const g = new GuidFactory(1);
  const a = g.next(1_700_000_001_000);
  const b = g.next(1_700_000_000_000);
  assert.ok(BigInt("0x" + b) > BigInt("0x" + a));
});

Deno.test("names follow ^[.a-zA-Z0-9_-]+(#ephemeral)?$ with 1..64 characters", () => {
  assert.ok(isValidTopicName("a.b_c-D9"));
  assert.ok(isValidTopicName("x".repeat(64)));
  assert.ok(!isValidTopicName("x".repeat(65)));
  assert.ok(isValidChannelName("x".repeat(54) + "#ephemeral"));
  assert.ok(!isValidChannelName("x".repeat(55) + "#ephemeral"));
  assert.ok(!isValidTopicName(""));
  assert.ok(!isValidTopicName("a b"));
  assert.ok(!isValidTopicName("a#b"));
  assert.ok(isEphemeral("t#ephemeral"));
  assert.ok(!isEphemeral("t"));
});

Deno.test("goQuote() quotes like Go's strconv.Quote", () => {
  assert.equal(goQuote(enc.encode('a b"\\')), '"a b\\"\\\\"');
  assert.equal(goQuote(new Uint8Array([0x61, 0x0a, 0x00, 0x7f, 0xff])), '"a\\n\\x00\\x7f\\xff"');
  assert.equal(goQuote(enc.encode("héllo")), '"héllo"');
  assert.equal(goQuote(enc.encode("\u0085")), '"\\u0085"');
});

Deno.test("byteToBase10() takes digits only; empty is 0", () => {
  assert.equal(byteToBase10(enc.encode("2500")), 2500);
  assert.equal(byteToBase10(enc.encode("")), 0);
  assert.equal(byteToBase10(enc.encode("-1")), -1);
  assert.equal(byteToBase10(enc.encode("1x")), -1);
});

Deno.test("decodeMessage() and encodeMessage() keep any int64 timestamp bit for bit", () => {
  const bytes = new Uint8Array(30);
  const view = new DataView(bytes.buffer);
  for (const ts of [1_700_000_000_001_000_123n, 1n, 9_223_372_036_854_775_807n, -5n]) {
    view.setBigInt64(0, ts);
    bytes.set(enc.encode("0123456789abcdef"), 10);
    const back = encodeMessage(decodeMessage(bytes));
    assert.equal(new DataView(back.buffer).getBigInt64(0), ts);
    assert.equal(
      new DataView(back.buffer).getBigInt64(0),
      new DataView(encodeMessage(copyMessage(decodeMessage(bytes))).buffer).getBigInt64(0),
    );
  }
});
