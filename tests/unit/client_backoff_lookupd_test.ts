import assert from "node:assert/strict";
import { BackoffSignal, BackoffState } from "../../src/client/backoff.ts";
import { lookupUrl } from "../../src/client/lookupd.ts";

const config = {
  backoffStrategy: "exponential" as const,
  backoffMultiplier: 1000,
  maxBackoffDuration: 120_000,
};

Deno.test("BackoffState: with go-nsq's defaults the level stops at 6 (64 s), never 2 min", () => {
  const b = new BackoffState(config);
  const delays: number[] = [];
  for (let i = 0; i < 10; i++) {
    const a = b.signal(BackoffSignal.Backoff);
    assert.equal(a.kind, "backoff");
    if (a.kind === "backoff") delays.push(a.delayMs);
  }
  assert.deepEqual(delays, [2000, 4000, 8000, 16000, 32000, 64000, 64000, 64000, 64000, 64000]);
  assert.equal(b.level, 6);
});

Deno.test("BackoffState: signals during a period are ignored; resume lowers the level, exiting at 0", () => {
  const b = new BackoffState(config);
  b.signal(BackoffSignal.Backoff);
  b.timerPending = true;
  assert.deepEqual(b.signal(BackoffSignal.Backoff), { kind: "none" });
  assert.deepEqual(b.signal(BackoffSignal.Resume), { kind: "none" });
  assert.equal(b.level, 1);
  b.timerPending = false;
  assert.deepEqual(b.signal(BackoffSignal.Continue), { kind: "backoff", delayMs: 2000, level: 1 });
  assert.deepEqual(b.signal(BackoffSignal.Resume), { kind: "exit" });
  assert.deepEqual(b.signal(BackoffSignal.Resume), { kind: "none" });
});

Deno.test("BackoffState: maxBackoffDuration 0 disables backoff; full_jitter draws below the bound", () => {
  assert.deepEqual(new BackoffState({ ...config, maxBackoffDuration: 0 }).signal(BackoffSignal.Backoff), {
    kind: "none",
  });
  const j = new BackoffState({ ...config, backoffStrategy: "full_jitter" }, () => 0.5);
  assert.equal(j.duration(3), 4000);
});

Deno.test("lookupUrl(): scheme and /lookup added, custom paths kept, a port required", () => {
  assert.equal(lookupUrl("127.0.0.1:4161", "t"), "http://127.0.0.1:4161/lookup?topic=t");
  assert.equal(lookupUrl("https://h:443/x?a=1", "t"), "https://h/x?a=1&topic=t");
  assert.equal(lookupUrl("http://[::1]:4161/", "t"), "http://[::1]:4161/lookup?topic=t");
  assert.throws(() => lookupUrl("127.0.0.1", "t"), /missing port/);
});
