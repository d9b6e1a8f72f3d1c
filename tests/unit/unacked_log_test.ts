import assert from "node:assert/strict";
import {
  appendFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import {
  type HeldMessage,
  UnackedLog,
  type UnackedLogOptions,
} from "../../src/nsqd/diskqueue/unacked_log.ts";
import { createMessage, type Message, messageBody, messageId } from "../../src/protocol/message.ts";
import { fill, mountTmpfs, unmount } from "../tmpfs.ts";

/** The rewrite threshold these tests give the log (its default is larger). */
const COMPACT_ABOVE = 4 * 1024 * 1024;

// ---- an independent reader/writer of the log format, written from the module comment ----
// records `[4-byte BE length][type][payload]`; H: `[8-byte BE float64 due][8-byte BE ts][2-byte BE attempts]
// [16-byte ID][body]`; R: `[16-byte ID]`; the length counts type + payload.

interface Rec {
  type: "H" | "R";
  id: string;
  due?: number;
  tsHi?: number;
  tsLo?: number;
  attempts?: number;
  body?: Uint8Array;
}

/** Splits a log into its records; throws on anything but whole, well-formed records. */
function decodeLog(file: Uint8Array): Rec[] {
  const b = new Uint8Array(file);
  const v = new DataView(b.buffer);
  const out: Rec[] = [];
  let pos = 0;
  while (pos < b.length) {
    assert.ok(pos + 5 <= b.length, `truncated header at ${pos}`);
    const len = v.getUint32(pos);
    assert.ok(pos + 4 + len <= b.length, `truncated record at ${pos}`);
    const type = String.fromCharCode(b[pos + 4]);
    const p = pos + 5;
    const id = (o: number) => String.fromCharCode(...b.subarray(o, o + 16));
    if (type === "H") {
      assert.ok(len >= 1 + 8 + 26, `short H record at ${pos}`);
      out.push({
        type,
        due: v.getFloat64(p),
        tsHi: v.getInt32(p + 8),
        tsLo: v.getInt32(p + 12),
        attempts: v.getUint16(p + 16),
        id: id(p + 18),
        body: b.slice(p + 34, pos + 4 + len),
      });
    } else {
      assert.equal(type, "R", `unknown type at ${pos}`);
      assert.equal(len, 17);
      out.push({ type, id: id(p) });
    }
    pos += 4 + len;
  }
  return out;
}

/** Byte offsets where each record of a well-formed log starts. */
function recordStarts(file: Uint8Array): number[] {
  const v = new DataView(new Uint8Array(file).buffer);
  const out: number[] = [];
  for (let pos = 0; pos < file.length; pos += 4 + v.getUint32(pos)) out.push(pos);
  return out;
}

/** The H record of `m` with due time `due`, encoded by hand. */
function encodeHeld(m: Message, due: number): Uint8Array {
  const body = messageBody(m);
  const out = new Uint8Array(4 + 1 + 8 + 26 + body.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length - 4);
  out[4] = 0x48;
  v.setFloat64(5, due);
  v.setInt32(13, m.tsHi);
  v.setInt32(17, m.tsLo);
  v.setUint16(21, m.attempts);
  for (let i = 0; i < 16; i++) out[23 + i] = messageId(m).charCodeAt(i);
  out.set(body, 39);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A file's bytes as a plain Uint8Array (readFileSync hands out Buffers). */
function read(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}

function heldBytes(m: Message): number {
  return 4 + 1 + 8 + 26 + m.len;
}

// ---- messages ----

/** A deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed / 0x7fffffff;
  };
}

function idFor(i: number): string {
  return i.toString(16).padStart(16, "0");
}

/** Message `i`: body of `len` bytes derived from `i`. */
function message(
  i: number,
  len: number,
  attempts = 0,
  timestamp = 1_700_000_000_000_000_000 + i * 4096,
): Message {
  const body = new Uint8Array(len);
  for (let k = 0; k < len; k++) body[k] = (i * 31 + k * 7) & 0xff;
  return createMessage(idFor(i), body, timestamp, attempts);
}

/** Asserts `got` is exactly `want` (ID, body, timestamp halves, attempts, due time), in order. */
function assertHeld(got: HeldMessage[], want: HeldMessage[]): void {
  const view = (h: HeldMessage) => ({
    id: messageId(h.msg),
    body: [...messageBody(h.msg)],
    tsHi: h.msg.tsHi,
    tsLo: h.msg.tsLo,
    attempts: h.msg.attempts,
    due: h.dueWallMs,
  });
  assert.deepEqual(got.map(view), want.map(view));
}

// ---- harness ----

interface Harness {
  dir: string;
  path: string;
  logs: string[];
  opts(live?: () => HeldMessage[], sync?: boolean): UnackedLogOptions;
  recover(path?: string): HeldMessage[];
}

async function withLog(fn: (h: Harness) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "unacked-test-" });
  const logs: string[] = [];
  const log = (level: string, msg: string) => void logs.push(`${level}: ${msg}`);
  const path = join(dir, "t:c.unacked.dat");
  try {
    await fn({
      dir,
      path,
      logs,
      opts: (live = () => assert.fail("live() called"), sync = true) => ({
        sync,
        live,
        log,
        compactAboveBytes: COMPACT_ABOVE,
      }),
      recover: (p = path) => UnackedLog.recover(p, log),
    });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

function assertNoWarnings(logs: string[]): void {
  assert.deepEqual(logs, []);
}

// ---- tests ----

Deno.test("held messages come back from recover exactly, in the order they were held, released ones gone", async () => {
  await withLog((h) => {
    const rand = rng(3);
    const lens = [0, 1, 26, 100, 0, 4096, 65_536, 3, 0, 1000];
    const timestamps = [0, 1, -1, 2 ** 32 - 256, 2 ** 31, 1_700_000_000_123_456_768, Date.now() * 1e6];
    const all: HeldMessage[] = [];
    for (let i = 0; i < 60; i++) {
      const attempts = [0, 1, 2, 255, 256, 65535][i % 6];
      const m = message(i + 1, lens[i % lens.length], attempts, timestamps[i % timestamps.length]);
      const due = i % 3 === 0 ? 0 : Date.now() + Math.floor(rand() * 1e6) + (i % 2 ? 0.5 : 0);
      all.push({ msg: m, dueWallMs: due });
    }
    // an ID of arbitrary bytes round-trips too
    const odd = createMessage("\xff\x00\x80abc\x7f\x01zz\xfe\x10\x11\x12\x13\x14", new Uint8Array([9]), 5, 7);
    all.push({ msg: odd, dueWallMs: 0 });

    const log = UnackedLog.create(h.path, [], h.opts());
    const released = new Set<number>();
    all.forEach((x, i) => {
      log.hold(x.msg, x.dueWallMs);
      if (i % 4 === 1) log.flush();
    });
    for (let i = 0; i < all.length; i += 5) {
      log.release(all[i].msg);
      released.add(i);
    }
    log.flush();
    assert.equal(log.dirty, false);

    const want = all.filter((_, i) => !released.has(i));
    assertHeld(h.recover(), want);
    // the records are the encoding the module comment describes: every H, then every R, in order
    const recs = decodeLog(read(h.path));
    assert.equal(recs.length, all.length + released.size);
    assert.deepEqual(
      read(h.path).subarray(0, all.reduce((n, x) => n + heldBytes(x.msg), 0)),
      concat(all.map((x) => encodeHeld(x.msg, x.dueWallMs))),
    );
    assert.deepEqual(
      recs.slice(all.length).map((r) => [r.type, r.id]),
      [...released].map((i) => ["R", messageId(all[i].msg)]),
    );
    log.close(false);
    assertHeld(h.recover(), want);
    assertNoWarnings(h.logs);
  });
});

Deno.test("the last record of an ID wins: re-held with a due time it is deferred, released it is gone", async () => {
  await withLog((h) => {
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map((i) => message(i, 20 * i, i));
    const log = UnackedLog.create(h.path, [], h.opts());
    for (const m of [a, b, c]) log.hold(m, 0);
    log.flush();
    assertHeld(h.recover(), [a, b, c].map((msg) => ({ msg, dueWallMs: 0 })));

    // REQ with a delay: release, then hold deferred (flushed apart and together)
    log.release(a);
    log.flush();
    log.hold(a, 1_800_000_000_000);
    log.release(c);
    log.hold(c, 1_800_000_000_500);
    log.flush();
    // a re-held message takes the latest place (the order a restart requeues them in)
    assertHeld(h.recover(), [
      { msg: b, dueWallMs: 0 },
      { msg: a, dueWallMs: 1_800_000_000_000 },
      { msg: c, dueWallMs: 1_800_000_000_500 },
    ]);

    // held, then released: gone (flushed apart or in one flush); a hold over a hold wins as well
    log.hold(d, 0);
    log.flush();
    log.release(d);
    log.hold(e, 0);
    log.release(e);
    log.hold(b, 1234);
    log.release(message(99, 0)); // never held: harmless
    log.flush();
    assertHeld(h.recover(), [
      { msg: a, dueWallMs: 1_800_000_000_000 },
      { msg: c, dueWallMs: 1_800_000_000_500 },
      { msg: b, dueWallMs: 1234 },
    ]);
    log.release(a);
    log.release(b);
    log.release(c);
    log.flush();
    assert.deepEqual(h.recover(), []);
    log.close(false);
    assertNoWarnings(h.logs);
  });
});

Deno.test("a torn last record (cut at every byte) loses only that record and recover never throws", async () => {
  await withLog((h) => {
    const ms = [1, 2, 3, 4].map((i) => message(i, 37 * i, i));
    for (const lastIsRelease of [false, true]) {
      const log = UnackedLog.create(h.path, [], h.opts());
      for (const m of ms.slice(0, 3)) log.hold(m, 0);
      log.flush();
      // the last record: a hold of a 4th message, or the release of the 1st
      if (lastIsRelease) log.release(ms[0]);
      else log.hold(ms[3], 99);
      log.flush();
      log.close(false);
      const whole = new Uint8Array(read(h.path));
      const last = recordStarts(whole).at(-1)!;
      const before = ms.slice(0, 3).map((msg) => ({ msg, dueWallMs: 0 }));
      const after = lastIsRelease ? before.slice(1) : [...before, { msg: ms[3], dueWallMs: 99 }];
      assertHeld(h.recover(), after);

      const cut = join(h.dir, "cut.dat");
      for (let at = last; at < whole.length; at++) {
        writeFileSync(cut, whole.subarray(0, at));
        let got: HeldMessage[] = [];
        assert.doesNotThrow(() => got = h.recover(cut), `cut at ${at}`);
        assertHeld(got, before);
      }
      // a cut that leaves at least the length and type is reported
      assert.ok(h.logs.every((l) => l.startsWith("warn: ") && l.includes(`stops at ${last} of`)), h.logs[0]);
      assert.equal(h.logs.length, whole.length - last - 5);
      h.logs.length = 0;
    }
  });
});

Deno.test("garbage after the last record is ignored with a warning", async () => {
  await withLog((h) => {
    const ms = [1, 2].map((i) => message(i, 50));
    const log = UnackedLog.create(h.path, [], h.opts());
    for (const m of ms) log.hold(m, 0);
    log.flush();
    log.close(false);
    const size = statSync(h.path).size;
    const want = ms.map((msg) => ({ msg, dueWallMs: 0 }));
    const rand = rng(11);
    const garbage = [
      new Uint8Array([0, 0, 0, 17, 0x58, ...new Uint8Array(16)]), // unknown type
      new Uint8Array([0, 0, 0, 18, 0x52, ...new Uint8Array(17)]), // an R of the wrong length
      new Uint8Array([0, 0, 0, 20, 0x48, ...new Uint8Array(20)]), // an H too short for a message
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x48, 1, 2, 3]), // a negative length
      new Uint8Array([0x7f, 0xff, 0xff, 0xff, 0x48, 1, 2, 3]), // past the end
      Uint8Array.from({ length: 3000 }, () => Math.floor(rand() * 256)),
    ];
    const clean = read(h.path);
    for (const g of garbage) {
      writeFileSync(h.path, clean);
      appendFileSync(h.path, g);
      assertHeld(h.recover(), want);
      assert.equal(h.logs.length, 1);
      assert.match(
        h.logs[0],
        new RegExp(`^warn: UNACKED\\(.*\\) stops at ${size} of ${size + g.length} bytes`),
      );
      h.logs.length = 0;
    }
    // garbage in the middle ends the reading there: what follows is not trusted
    writeFileSync(h.path, concat([encodeHeld(ms[0], 0), garbage[0], encodeHeld(ms[1], 0)]));
    assertHeld(h.recover(), want.slice(0, 1));
    // no file: nothing, silently
    unlinkSync(h.path);
    h.logs.length = 0;
    assert.deepEqual(h.recover(), []);
    assertNoWarnings(h.logs);
    // an unreadable path (a directory): nothing, with an error
    assert.deepEqual(h.recover(h.dir), []);
    assert.match(h.logs[0], /^error: UNACKED.*failed to read/);
  });
});

Deno.test("hold and release only buffer: flush is what writes the file", async () => {
  await withLog((h) => {
    const [a, b, c] = [1, 2, 3].map((i) => message(i, 10 * i));
    const log = UnackedLog.create(h.path, [], h.opts());
    assert.equal(statSync(h.path).size, 0);
    assert.equal(log.dirty, false);
    log.hold(a, 0);
    log.hold(b, 5);
    assert.equal(log.dirty, true);
    assert.equal(statSync(h.path).size, 0);
    assert.deepEqual(h.recover(), []);
    log.flush();
    assert.equal(log.dirty, false);
    assert.deepEqual(read(h.path), concat([encodeHeld(a, 0), encodeHeld(b, 5)]));

    log.release(a);
    log.hold(c, 0);
    const size = statSync(h.path).size;
    assert.equal(statSync(h.path).size, size);
    assertHeld(h.recover(), [{ msg: a, dueWallMs: 0 }, { msg: b, dueWallMs: 5 }]);
    log.flush();
    assert.equal(statSync(h.path).size, size + 21 + heldBytes(c));
    assertHeld(h.recover(), [{ msg: b, dueWallMs: 5 }, { msg: c, dueWallMs: 0 }]);
    log.flush(); // nothing pending: nothing written
    assert.equal(statSync(h.path).size, size + 21 + heldBytes(c));
    // a large batch of holds (past the initial 64 KiB buffer) in one flush
    const many = Array.from({ length: 300 }, (_, i) => message(100 + i, 1000));
    for (const m of many) log.hold(m, 0);
    log.flush();
    assert.equal(h.recover().length, 302);
    log.close(false);
    assertNoWarnings(h.logs);
  });
});

Deno.test("create replaces an existing log atomically with exactly the given messages, leaving no .tmp", async () => {
  await withLog((h) => {
    const ms = [1, 2, 3, 4, 5].map((i) => message(i, 64 * i, i));
    const old = UnackedLog.create(h.path, [], h.opts());
    for (const m of ms.slice(0, 3)) old.hold(m, 0);
    old.flush();

    const given = [{ msg: ms[3], dueWallMs: 1_900_000_000_000 }, { msg: ms[1], dueWallMs: 0 }];
    const fresh = UnackedLog.create(h.path, given, h.opts());
    assert.deepEqual(read(h.path), concat(given.map((g) => encodeHeld(g.msg, g.dueWallMs))));
    assertHeld(h.recover(), given);
    assert.deepEqual(readdirSync(h.dir), ["t:c.unacked.dat"]);

    // the file was replaced, not rewritten in place: the old log's writes go to the old file
    old.hold(ms[4], 0);
    old.flush();
    old.close(false);
    assertHeld(h.recover(), given);

    // the new log appends after what it was created with
    fresh.release(ms[3]);
    fresh.hold(ms[0], 7);
    fresh.flush();
    assertHeld(h.recover(), [{ msg: ms[1], dueWallMs: 0 }, { msg: ms[0], dueWallMs: 7 }]);
    fresh.close(false);

    // an empty log, and a log where there was none
    UnackedLog.create(h.path, [], h.opts()).close(false);
    assert.equal(statSync(h.path).size, 0);
    const other = join(h.dir, "x:y.unacked.dat");
    UnackedLog.create(other, given, h.opts(undefined, false)).close(false);
    assertHeld(h.recover(other), given);
    assert.deepEqual(readdirSync(h.dir).sort(), ["t:c.unacked.dat", "x:y.unacked.dat"]);
    assertNoWarnings(h.logs);
  });
});

Deno.test("clear() empties the file, close(false) keeps it, close(true) removes it", async () => {
  await withLog((h) => {
    const [a, b, c] = [1, 2, 3].map((i) => message(i, 30));
    let log = UnackedLog.create(h.path, [{ msg: a, dueWallMs: 0 }], h.opts());
    log.hold(b, 0);
    log.flush();
    log.hold(c, 0); // pending: dropped by clear too
    log.clear();
    assert.equal(log.dirty, false);
    assert.equal(statSync(h.path).size, 0);
    log.flush();
    assert.equal(statSync(h.path).size, 0);
    log.hold(c, 3);
    log.flush();
    assertHeld(h.recover(), [{ msg: c, dueWallMs: 3 }]);
    assert.equal(statSync(h.path).size, heldBytes(c), "written from the start of the file");

    log.close(false);
    assertHeld(h.recover(), [{ msg: c, dueWallMs: 3 }]);
    log.close(false); // twice: fine

    log = UnackedLog.create(h.path, h.recover(), h.opts());
    log.close(true);
    assert.ok(!existsSync(h.path));
    log = UnackedLog.create(h.path, [], h.opts());
    unlinkSync(h.path);
    log.close(true); // already gone: not an error
    assertNoWarnings(h.logs);
  });
});

Deno.test("a log much larger than what it holds is rewritten to exactly the live set at the flush past 4 MiB", async () => {
  await withLog((h) => {
    const live = new Map<string, HeldMessage>(); // what the channel holds
    let liveCalls = 0;
    const log = UnackedLog.create(h.path, [], h.opts(() => (liveCalls++, [...live.values()])));
    const liveBytes = () => [...live.values()].reduce((n, x) => n + heldBytes(x.msg), 0);
    const rand = rng(5);
    let size = 0;
    let pending = 0;
    let i = 0;
    let rewrites = 0;
    while (rewrites < 2) {
      // a round: hold a few ~10 KiB messages, finish most of the older ones
      for (let k = 0; k < 4; k++, i++) {
        const m = message(i, 10_000 + Math.floor(rand() * 500), i & 3);
        const due = rand() < 0.3 ? 1_800_000_000_000 + i : 0;
        log.hold(m, due);
        live.set(messageId(m), { msg: m, dueWallMs: due });
        pending += heldBytes(m);
      }
      for (const [id, x] of live) {
        if (rand() < 0.7 && live.size > 3) {
          log.release(x.msg);
          live.delete(id);
          pending += 21;
        }
      }
      const expectRewrite = size + pending > COMPACT_ABOVE && size + pending > 4 * liveBytes();
      log.flush();
      size = expectRewrite ? liveBytes() : size + pending;
      pending = 0;
      assert.equal(statSync(h.path).size, size, `round ending at message ${i}`);
      if (expectRewrite) {
        rewrites++;
        assert.equal(liveCalls, rewrites);
        assert.ok(size < 200_000, `${size} bytes after the rewrite`);
        assertHeld(h.recover(), [...live.values()]);
        assert.deepEqual(readdirSync(h.dir), ["t:c.unacked.dat"]);
      } else assert.equal(liveCalls, rewrites);
    }
    // appends after a rewrite land in the new file
    const last = message(1_000_000, 10);
    log.hold(last, 0);
    live.set(messageId(last), { msg: last, dueWallMs: 0 });
    log.flush();
    assertHeld(h.recover(), [...live.values()]);
    log.close(false);
    assertNoWarnings(h.logs);
  });
});

Deno.test("a log past 4 MiB that holds most of it is not rewritten", async () => {
  await withLog((h) => {
    const log = UnackedLog.create(h.path, [], h.opts()); // live() fails the test if called
    const ms = Array.from({ length: 500 }, (_, i) => message(i, 10_000));
    for (const m of ms) log.hold(m, 0);
    log.flush();
    for (const m of ms.slice(0, 370)) log.release(m); // 130 of 500 still held: more than a quarter
    log.flush();
    assert.equal(statSync(h.path).size, 500 * heldBytes(ms[0]) + 370 * 21);
    assert.equal(h.recover().length, 130);
    log.close(false);
  });
});

Deno.test({
  name: "a flush that fails (disk full) throws, keeps the file whole, and a later flush writes it all once",
  ignore: Deno.uid() !== 0,
  async fn() {
    await withLog(async (h) => {
      const mnt = join(h.dir, "mnt");
      Deno.mkdirSync(mnt);
      await mountTmpfs(mnt, "64k");
      try {
        const path = join(mnt, "t:c.unacked.dat");
        const log = UnackedLog.create(path, [], h.opts());
        const ms = Array.from({ length: 14 }, (_, i) => message(i, 1000, i));
        for (const m of ms.slice(0, 4)) log.hold(m, 0);
        log.flush();
        const size = statSync(path).size;

        const filler = join(mnt, "filler");
        fill(filler);
        for (const m of ms.slice(4)) log.hold(m, 0); // more than the slack in the log's last page
        log.release(ms[0]);
        assert.throws(() => log.flush(), (err: NodeJS.ErrnoException) => err.code === "ENOSPC");
        assert.equal(log.dirty, true);
        assert.equal(statSync(path).size, size, "a partial write is cut off");
        assertHeld(h.recover(path), ms.slice(0, 4).map((msg) => ({ msg, dueWallMs: 0 })));
        assert.throws(() => log.flush(), (err: NodeJS.ErrnoException) => err.code === "ENOSPC");

        unlinkSync(filler);
        log.flush();
        assert.equal(log.dirty, false);
        assertHeld(h.recover(path), ms.slice(1).map((msg) => ({ msg, dueWallMs: 0 })));
        assert.equal(decodeLog(read(path)).length, 14 + 1, "nothing written twice");
        log.close(true);
        assertNoWarnings(h.logs);
      } finally {
        await unmount(mnt);
      }
    });
  },
});
