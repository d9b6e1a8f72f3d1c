import assert from "node:assert/strict";
import { holdClock, monoMs, releaseClock, smallInt } from "../../src/nsqd/clock.ts";

Deno.test("smallInt keeps the value and makes int32 values integers", () => {
  assert.equal(smallInt(60000.0), 60000);
  assert.equal(smallInt(Math.floor(1234.9)), 1234);
  assert.equal(smallInt(-5), -5);
  assert.equal(smallInt(0x7fffffff), 0x7fffffff);
  // Beyond int32 the value is kept as it is (no wrap-around).
  assert.equal(smallInt(0x80000000), 0x80000000);
  assert.equal(smallInt(2 ** 40 + 1), 2 ** 40 + 1);
});

Deno.test("monoMs is a whole number of ms since the process started, held while a read is handled", async () => {
  const a = monoMs();
  assert.ok(Number.isInteger(a) && a >= 0 && a <= performance.now() + 1);
  holdClock();
  holdClock(); // nests
  const held = monoMs();
  await new Promise((r) => setTimeout(r, 15));
  assert.equal(monoMs(), held);
  releaseClock();
  assert.equal(monoMs(), held, "still held by the outer hold");
  releaseClock();
  assert.ok(monoMs() >= held + 10, "released: reads the clock again");
});
