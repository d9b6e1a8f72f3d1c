import assert from "node:assert/strict";
import { InFlightQueue } from "../../src/nsqd/in_flight_queue.ts";
import { MessageQueue } from "../../src/nsqd/message_queue.ts";
import { Message } from "../../src/protocol/message.ts";

function msg(i: number, pri = 0): Message {
  const m = new Message(String(i).padStart(16, "0"), new Uint8Array(0), 0);
  m.pri = pri;
  return m;
}

/** A small deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

Deno.test("MessageQueue is FIFO across growth and wrap-around", () => {
  const q = new MessageQueue(4);
  const out: number[] = [];
  let next = 0;
  const rand = rng(7);
  for (let round = 0; round < 10_000; round++) {
    if (rand() < 0.6) q.push(msg(next++));
    else {
      const m = q.shift();
      if (m) out.push(Number(m.id));
    }
  }
  for (let m; (m = q.shift()) !== undefined;) out.push(Number(m.id));
  assert.deepEqual(out, [...Array(next).keys()]);
  assert.equal(q.length, 0);
});

Deno.test("InFlightQueue pops in priority order under random pushes and removals", () => {
  for (let seed = 1; seed <= 20; seed++) {
    const rand = rng(seed);
    const q = new InFlightQueue();
    const live = new Set<Message>();
    for (let i = 0; i < 500; i++) {
      const m = msg(i, Math.floor(rand() * 1000));
      q.push(m);
      live.add(m);
      if (rand() < 0.3) {
        const victim = [...live][Math.floor(rand() * live.size)];
        q.remove(victim);
        live.delete(victim);
        assert.equal(victim.index, -1);
      }
    }
    assert.equal(q.length, live.size);
    const popped: number[] = [];
    for (let m; (m = q.peekAndShift(Infinity)) !== undefined;) popped.push(m.pri);
    assert.deepEqual(popped, [...live].map((m) => m.pri).sort((a, b) => a - b));
  }
});

Deno.test("InFlightQueue.peekAndShift() returns nothing before the deadline", () => {
  const q = new InFlightQueue();
  q.push(msg(1, 100));
  q.push(msg(2, 50));
  assert.equal(q.nextDeadline, 50);
  assert.equal(q.peekAndShift(49), undefined);
  assert.equal(q.peekAndShift(50)?.pri, 50);
  assert.equal(q.peekAndShift(99), undefined);
  assert.equal(q.peekAndShift(100)?.pri, 100);
  assert.equal(q.nextDeadline, Infinity);
});

Deno.test("BodyArena copies bodies into shared slabs, and large ones into their own buffer", async () => {
  const { BodyArena } = await import("../../src/nsqd/body_arena.ts");
  const arena = new BodyArena(1024);
  const src = new Uint8Array([1, 2, 3]);
  const a = arena.copy(src);
  src[0] = 9; // the caller reuses its buffer
  const b = arena.copy(new Uint8Array([4, 5]));
  assert.deepEqual([...a], [1, 2, 3]);
  assert.deepEqual([...b], [4, 5]);
  assert.equal(a.buffer, b.buffer);
  const big = arena.copy(new Uint8Array(600));
  assert.notEqual(big.buffer, a.buffer);
  for (let i = 0; i < 500; i++) arena.copy(new Uint8Array([i & 255, 1, 2])); // fills slabs, makes new ones
  assert.deepEqual([...a], [1, 2, 3]);
});

Deno.test("BodyArena.copyFrom() copies a range, short by a loop and long by set()", async () => {
  const { BodyArena } = await import("../../src/nsqd/body_arena.ts");
  const arena = new BodyArena(4096);
  const buf = new Uint8Array(300).map((_, i) => i & 255);
  const short = arena.copyFrom(buf, 10, 20);
  const long = arena.copyFrom(buf, 100, 300);
  buf.fill(0);
  assert.deepEqual([...short], [10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  assert.equal(long.length, 200);
  assert.equal(long[0], 100);
  assert.equal(long[199], 299 & 255);
});

Deno.test("InFlightIndex finds messages by ID string and by ID bytes, and tells equal hashes apart", async () => {
  const { InFlightIndex, idHash, idHashBytes } = await import("../../src/nsqd/in_flight_index.ts");
  const enc = new TextEncoder();
  const index = new InFlightIndex();
  const a = msg(1);
  const b = msg(2);
  assert.equal(index.add(a), true);
  assert.equal(index.add(b), true);
  assert.equal(index.add(msg(1)), false); // same ID
  assert.equal(index.size, 2);
  const line = enc.encode("FIN " + a.id);
  assert.equal(index.getAt(line, 4), a);
  assert.equal(idHash(a.id), idHashBytes(line, 4));
  assert.equal(index.get(b.id), b);
  // Force a collision: two messages whose keys are equal still resolve to themselves.
  const c = msg(3);
  const d = msg(4);
  c.idKey = 7;
  d.idKey = 7;
  index.add(c);
  index.add(d);
  assert.equal(index.size, 4);
  index.delete(c);
  assert.equal(index.size, 3);
  assert.equal(index.get(a.id), a);
  index.delete(a);
  assert.equal(index.getAt(line, 4), undefined);
  index.clear();
  assert.equal(index.size, 0);
});
