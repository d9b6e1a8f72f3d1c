import assert from "node:assert/strict";
import { InFlightQueue } from "../../src/nsqd/in_flight_queue.ts";
import { MessageQueue } from "../../src/nsqd/message_queue.ts";
import {
  createMessage,
  type Message,
  messageBody,
  messageId,
  messageTimestamp,
} from "../../src/protocol/message.ts";

function msg(i: number, pri = 0): Message {
  const m = createMessage(String(i).padStart(16, "0"), new Uint8Array(0), 0);
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

Deno.test("MessageQueue is FIFO across growth, wrap-around and shrinking, and keeps every field", () => {
  const q = new MessageQueue();
  const out: Message[] = [];
  const pushed: Message[] = [];
  let next = 0;
  const rand = rng(7);
  const make = (i: number) => {
    const m = createMessage(
      String(i).padStart(16, "0"),
      new Uint8Array([i & 255, 7]),
      (i - 5000) * 1e9,
      i % 3,
    );
    if (i % 97 === 0) m.deferMs = 1000 + i; // a DPUB waiting on a topic: kept whole
    if (i % 89 === 0) m.idKey = 12345; // a cached hash is not carried over (recomputed when needed)
    return m;
  };
  // Phases that grow the ring to thousands, drain it (shrinking), then churn around a small size.
  for (const [rounds, pPush] of [[20_000, 0.7], [20_000, 0.3], [10_000, 0.5]] as const) {
    for (let round = 0; round < rounds; round++) {
      if (rand() < pPush) {
        const m = make(next++);
        pushed.push(m);
        q.push(m);
      } else {
        const m = q.shift();
        if (m) out.push(m);
      }
    }
  }
  assert.equal(q.peek() === undefined, q.length === 0);
  if (q.length > 0) assert.equal(messageId(q.peek()!), messageId(pushed[out.length]));
  for (let m; (m = q.shift()) !== undefined;) out.push(m);
  assert.equal(q.length, 0);
  assert.equal(q.shift(), undefined);
  assert.equal(out.length, next);
  for (let i = 0; i < next; i++) {
    const a = out[i];
    const b = pushed[i];
    assert.equal(messageId(a), messageId(b));
    assert.deepEqual(messageBody(a), messageBody(b));
    assert.equal(messageTimestamp(a), messageTimestamp(b));
    assert.equal(a.attempts, b.attempts);
    assert.equal(a.deferMs, b.deferMs);
    assert.equal(a.index, -1);
    if (b.deferMs === 0) assert.equal(a.idKey, -1);
  }
  // clear() empties and the queue is usable again.
  q.push(make(1));
  q.clear();
  assert.equal(q.length, 0);
  q.push(make(2));
  assert.equal(messageId(q.shift()!), "0000000000000002");
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

Deno.test("BodyArena keeps ID and body in shared slabs, and large messages in their own buffer", async () => {
  const { BodyArena } = await import("../../src/nsqd/body_arena.ts");
  const { GuidFactory } = await import("../../src/protocol/guid.ts");
  const guid = new GuidFactory(1);
  const arena = new BodyArena(1024);
  const src = new Uint8Array([1, 2, 3]);
  const a = arena.message(guid, 1_700_000_000_000, src, 0, 3, 1, -2);
  src[0] = 9; // the caller reuses its buffer
  const b = arena.message(guid, 1_700_000_000_000, new Uint8Array([7, 4, 5]), 1, 3, 1, -2);
  assert.deepEqual([...messageBody(a)], [1, 2, 3]);
  assert.deepEqual([...messageBody(b)], [4, 5]);
  assert.equal(a.data, b.data, "one slab");
  assert.equal(b.off, a.off + 16 + 3, "ID then body, packed");
  assert.match(messageId(a), /^[0-9a-f]{16}$/);
  assert.notEqual(messageId(a), messageId(b));
  assert.equal(messageTimestamp(a), 1 * 2 ** 32 + (2 ** 32 - 2));
  const big = arena.message(guid, 1_700_000_000_000, new Uint8Array(600), 0, 600, 0, 0);
  assert.notEqual(big.data, a.data);
  assert.equal(big.len, 600);
  const long = new Uint8Array(300).map((_, i) => i & 255);
  const c = arena.message(guid, 1_700_000_000_000, long, 100, 300, 0, 0); // copied by set()
  assert.equal(messageBody(c)[0], 100);
  assert.equal(messageBody(c)[199], 299 & 255);
  for (let i = 0; i < 500; i++) arena.message(guid, 1_700_000_000_000, src, 0, 3, 0, 0); // new slabs
  assert.deepEqual([...messageBody(a)], [1, 2, 3]);
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
  const line = enc.encode("FIN " + messageId(a));
  assert.equal(index.getAt(line, 4), a);
  assert.equal(idHash(messageId(a)), idHashBytes(line, 4));
  assert.equal(index.get(messageId(b)), b);
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
  assert.equal(index.get(messageId(a)), a);
  index.delete(a);
  assert.equal(index.getAt(line, 4), undefined);
  index.clear();
  assert.equal(index.size, 0);
});

Deno.test("InFlightIndex agrees with a Map under random adds and deletes, with crowded hashes", async () => {
  const { InFlightIndex } = await import("../../src/nsqd/in_flight_index.ts");
  let seed = 12345;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const index = new InFlightIndex(64); // shrinks too
  const model = new Map<string, Message>();
  const all: Message[] = [];
  let checked = 0;
  for (let i = 0; i < 3000; i++) {
    const m = createMessage(i.toString(16).padStart(16, "0"), new Uint8Array(0), 0);
    // Few distinct keys: long probe runs, wrap-around and moves on delete are exercised.
    if (i % 3 === 0) m.idKey = rand(40);
    all.push(m);
  }
  for (let step = 0; step < 40_000; step++) {
    const m = all[rand(all.length)];
    const id = messageId(m);
    // Phases of mostly adds and mostly deletes: the table grows and shrinks.
    const adding = Math.floor(step / 5000) % 2 === 0;
    if (rand(10) < (adding ? 8 : 2)) {
      assert.equal(index.add(m), !model.has(id));
      model.set(id, m);
    } else {
      index.delete(m);
      model.delete(id);
    }
    assert.equal(index.size, model.size);
    if (step % 97 === 0) {
      for (const x of all) {
        // (lookups by ID hash the ID: only for messages whose key was not forced)
        if (x.idKey < 40 && x.idKey >= 0 && Number.parseInt(messageId(x), 16) % 3 === 0) continue;
        const want = model.get(messageId(x));
        assert.equal(index.getAt(x.data, x.off), want);
        assert.equal(index.get(messageId(x)), want);
        checked += want === undefined ? 0 : 1;
      }
    }
  }
  assert.ok(checked > 10_000, `lookups of present messages: ${checked}`);
  for (const m of [...model.values()]) index.delete(m);
  assert.equal(index.size, 0);
  assert.equal(index.getAt(all[0].data, all[0].off), undefined);
});

Deno.test("DeadlineQueue hands out the earliest deadline first, like a heap, for in-order and out-of-order pushes", async () => {
  const { DeadlineQueue } = await import("../../src/nsqd/in_flight_queue.ts");
  let seed = 99;
  const rand = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % n;
  };
  const q = new DeadlineQueue();
  const live = new Set<Message>();
  let clock = 1000;
  let popped = 0;
  for (let step = 0; step < 60_000; step++) {
    const op = rand(10);
    if (op < 5) {
      // Mostly increasing deadlines (one timeout), sometimes an earlier one (TOUCH, another client).
      clock += rand(3);
      const m = msg(step, rand(8) === 0 ? clock - rand(500) : clock + 60);
      q.push(m);
      live.add(m);
    } else if (op < 8 && live.size > 0) {
      // FIN/REQ: usually one of the oldest, sometimes any.
      const all = [...live];
      const m = rand(3) === 0 ? all[rand(all.length)] : all[rand(Math.min(all.length, 4))];
      q.remove(m);
      live.delete(m);
      assert.equal(m.index, -1);
      q.remove(m); // twice: no effect
    } else {
      const now = clock + rand(100) - 40;
      const m = q.peekAndShift(now);
      const min = Math.min(...[...live].map((x) => x.pri));
      if (m === undefined) assert.ok(live.size === 0 || min > now, `nothing due at ${now}, earliest ${min}`);
      else {
        assert.equal(m.pri, min, "the earliest comes out first");
        assert.ok(m.pri <= now);
        assert.ok(live.delete(m));
        popped++;
      }
    }
    assert.equal(q.length, live.size);
    assert.equal(q.nextDeadline, live.size === 0 ? Infinity : Math.min(...[...live].map((x) => x.pri)));
  }
  assert.ok(popped > 1000, `popped ${popped}`);
  const rest = q.drain();
  assert.equal(rest.length, live.size);
  assert.ok(rest.every((m) => live.has(m) && m.index === -1));
  assert.equal(q.length, 0);
  assert.equal(q.peekAndShift(Infinity), undefined);
});
