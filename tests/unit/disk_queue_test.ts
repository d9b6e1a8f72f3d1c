import assert from "node:assert/strict";
import {
  copyFileSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { DiskQueue, type DiskQueueOptions } from "../../src/nsqd/diskqueue/disk_queue.ts";
import { fill, mountTmpfs, unmount } from "../tmpfs.ts";

// ---- an independent reader/writer of go-diskqueue v1.1.0 files, written from the spec ----

const NAME = "t:c";

function dataFile(dir: string, n: number): string {
  return join(dir, `${NAME}.diskqueue.${String(n).padStart(6, "0")}.dat`);
}

function metaFile(dir: string): string {
  return join(dir, `${NAME}.diskqueue.meta.dat`);
}

/** Splits a data file into its records: `[4-byte BE int32 length][bytes]`, nothing left over. */
function decodeRecords(file: Uint8Array): Uint8Array[] {
  const bytes = new Uint8Array(file); // a plain copy (readFileSync hands out Buffers)
  const out: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos < bytes.length) {
    assert.ok(pos + 4 <= bytes.length, `truncated length at ${pos}`);
    const len = view.getInt32(pos, false);
    assert.ok(len >= 0 && pos + 4 + len <= bytes.length, `truncated record at ${pos}`);
    out.push(bytes.slice(pos + 4, pos + 4 + len));
    pos += 4 + len;
  }
  return out;
}

function encodeRecords(records: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(records.reduce((n, r) => n + 4 + r.length, 0));
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const r of records) {
    view.setInt32(pos, r.length, false);
    out.set(r, pos + 4);
    pos += 4 + r.length;
  }
  return out;
}

function metaText(depth: number, rfn: number, rpos: number, wfn: number, wpos: number): string {
  return `${depth}\n${rfn},${rpos}\n${wfn},${wpos}\n`;
}

/** Record `i` of `len` bytes (>= 26), recognisable by its first 4 bytes. */
function record(i: number, len = 40): Uint8Array {
  const r = new Uint8Array(len);
  new DataView(r.buffer).setUint32(0, i, false);
  for (let k = 4; k < len; k++) r[k] = (i * 7 + k) & 0xff;
  return r;
}

function idOf(r: Uint8Array | undefined): number {
  assert.ok(r, "expected a record");
  return new DataView(r.buffer, r.byteOffset, r.byteLength).getUint32(0, false);
}

/** Where go-diskqueue v1.1.0 puts records: roll before a write when writePos > 0 && writePos+4+len > max. */
function layout(sizes: number[], maxBytesPerFile: number): number[][] {
  const files: number[][] = [[]];
  let pos = 0;
  sizes.forEach((len, i) => {
    if (pos > 0 && pos + 4 + len > maxBytesPerFile) {
      files.push([]);
      pos = 0;
    }
    files[files.length - 1].push(i);
    pos += 4 + len;
  });
  return files;
}

function queueFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.startsWith(`${NAME}.diskqueue.`)).sort();
}

// ---- harness ----

interface Harness {
  dir: string;
  logs: string[];
  opts(over?: Partial<DiskQueueOptions>): DiskQueueOptions;
  open(over?: Partial<DiskQueueOptions>): DiskQueue;
}

async function withDir(fn: (h: Harness) => Promise<void> | void): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dq-test-" });
  const logs: string[] = [];
  const opts = (over: Partial<DiskQueueOptions> = {}): DiskQueueOptions => ({
    name: NAME,
    dataPath: dir,
    maxBytesPerFile: 1 << 20,
    minMsgSize: 26,
    maxMsgSize: 1024 * 1024 + 26,
    syncEvery: 2500,
    syncTimeoutMs: 2000,
    log: (level, msg) => logs.push(`${level}: ${msg}`),
    ...over,
  });
  try {
    await fn({ dir, logs, opts, open: (over) => DiskQueue.open(opts(over)) });
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

async function waitFor(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 5));
  }
}

function readAll(q: DiskQueue): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let r; (r = q.readOne()) !== undefined;) out.push(r);
  return out;
}

// ---- tests ----

Deno.test("records come back in order, depth follows puts and reads, and a reopen continues mid-way", async () => {
  await withDir(async (h) => {
    const sizes = Array.from({ length: 300 }, (_, i) => 26 + ((i * 37) % 500));
    const records = sizes.map((len, i) => record(i, len));
    let q = h.open({ maxBytesPerFile: 4096 });
    records.forEach((r, i) => {
      q.put(r);
      assert.equal(q.depth, i + 1);
    });
    for (let i = 0; i < 120; i++) assert.deepEqual(q.readOne(), records[i]);
    assert.equal(q.depth, 180);
    await q.close();

    q = h.open({ maxBytesPerFile: 4096 });
    assert.equal(q.depth, 180);
    const rest = readAll(q);
    assert.deepEqual(rest, records.slice(120));
    assert.equal(q.depth, 0);
    assert.equal(q.readOne(), undefined);
    await q.close();
    assert.ok(!h.logs.some((l) => l.startsWith("error") || l.startsWith("warn")), h.logs.join("\n"));
  });
});

Deno.test("data files and metadata are byte-exact go-diskqueue v1.1.0 format after close", async () => {
  await withDir(async (h) => {
    const sizes = Array.from({ length: 25 }, (_, i) => 26 + ((i * 53) % 200));
    const records = sizes.map((len, i) => record(i, len));
    const q = h.open({ maxBytesPerFile: 1000 });
    for (const r of records) q.put(r);
    const consumed = 3;
    for (let i = 0; i < consumed; i++) q.readOne();
    await q.close();

    const files = layout(sizes, 1000);
    assert.ok(files.length >= 3);
    assert.deepEqual(queueFiles(h.dir), [
      ...files.map((_, n) => `${NAME}.diskqueue.${String(n).padStart(6, "0")}.dat`),
      `${NAME}.diskqueue.meta.dat`,
    ]);
    files.forEach((ids, n) => {
      const bytes = readFileSync(dataFile(h.dir, n));
      assert.deepEqual(decodeRecords(bytes), ids.map((i) => records[i]));
      assert.ok(bytes.length <= 1000);
    });
    const readPos = sizes.slice(0, consumed).reduce((n, len) => n + 4 + len, 0);
    const last = files.length - 1;
    const writePos = files[last].reduce((n, i) => n + 4 + sizes[i], 0);
    assert.equal(
      readFileSync(metaFile(h.dir), "utf8"),
      metaText(records.length - consumed, 0, readPos, last, writePos),
    );
  });
});

Deno.test("a file filled exactly to maxBytesPerFile stays the write file until the next put (roll before write)", async () => {
  await withDir(async (h) => {
    const q = h.open({ maxBytesPerFile: 1000, syncEvery: 1 });
    for (let i = 0; i < 10; i++) q.put(record(i, 96)); // 10 × (4 + 96) = 1000
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(10, 0, 0, 0, 1000));
    assert.ok(!existsSync(dataFile(h.dir, 1)));
    q.put(record(10, 96));
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(11, 0, 0, 1, 100));
    assert.equal(readFileSync(dataFile(h.dir, 0)).length, 1000);
    await q.close();
  });
});

Deno.test("files laid out by hand as upstream nsqd leaves them are read from the metadata position", async () => {
  await withDir(async (h) => {
    const a = [0, 1, 2, 3, 4].map((i) => record(i, 30 + i));
    const b = [5, 6, 7].map((i) => record(i, 50));
    writeFileSync(dataFile(h.dir, 0), encodeRecords(a));
    writeFileSync(dataFile(h.dir, 1), encodeRecords(b));
    const readPos = 4 + 30 + 4 + 31; // two records consumed
    const f1Size = encodeRecords(b).length;
    writeFileSync(metaFile(h.dir), metaText(6, 0, readPos, 1, f1Size));

    const q = h.open({ maxBytesPerFile: 1000 });
    assert.equal(q.depth, 6);
    assert.deepEqual(readAll(q), [...a.slice(2), ...b]);
    assert.equal(q.depth, 0);
    q.put(record(8, 26));
    await q.close();

    assert.ok(!existsSync(dataFile(h.dir, 0)), "the fully read file is deleted");
    assert.deepEqual(decodeRecords(readFileSync(dataFile(h.dir, 1))), [...b, record(8, 26)]);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(1, 1, f1Size, 1, f1Size + 30));
    assert.ok(!h.logs.some((l) => l.startsWith("error") || l.startsWith("warn")), h.logs.join("\n"));
  });
});

Deno.test("a reader left at the end of an older file (caught up when upstream rolled) moves on without a .bad file", async () => {
  await withDir(async (h) => {
    // also an older file bigger than maxBytesPerFile (pre-v1.1.0 writers overshot): its end is its size
    const a = Array.from({ length: 12 }, (_, i) => record(i, 96));
    const b = [record(100, 60)];
    writeFileSync(dataFile(h.dir, 0), encodeRecords(a));
    writeFileSync(dataFile(h.dir, 1), encodeRecords(b));
    writeFileSync(metaFile(h.dir), metaText(1, 0, 1200, 1, 64));

    const q = h.open({ maxBytesPerFile: 1000, syncEvery: 1 });
    assert.deepEqual(readAll(q), b);
    assert.ok(!existsSync(dataFile(h.dir, 0)));
    assert.deepEqual(queueFiles(h.dir).filter((f) => f.endsWith(".bad")), []);
    await q.close();

    // an older file read from mid-way past maxBytesPerFile
    writeFileSync(dataFile(h.dir, 5), encodeRecords(a));
    writeFileSync(dataFile(h.dir, 6), encodeRecords(b));
    writeFileSync(metaFile(h.dir), metaText(3, 5, 1000, 6, 64));
    const q2 = h.open({ maxBytesPerFile: 1000 });
    assert.deepEqual(readAll(q2), [a[10], a[11], b[0]]);
    assert.equal(q2.depth, 0);
    await q2.close();
  });
});

Deno.test("files roll at maxBytesPerFile and fully read files are deleted", async () => {
  await withDir(async (h) => {
    const q = h.open({ maxBytesPerFile: 1000, syncEvery: 1 });
    const records = Array.from({ length: 30 }, (_, i) => record(i, 96));
    for (const r of records) q.put(r);
    assert.deepEqual(queueFiles(h.dir), [
      `${NAME}.diskqueue.000000.dat`,
      `${NAME}.diskqueue.000001.dat`,
      `${NAME}.diskqueue.000002.dat`,
      `${NAME}.diskqueue.meta.dat`,
    ]);
    for (let i = 0; i < 9; i++) assert.equal(idOf(q.readOne()), i);
    assert.ok(existsSync(dataFile(h.dir, 0)), "not fully read yet");
    assert.equal(idOf(q.readOne()), 9); // last record of file 0: the reader moves to file 1
    assert.ok(!existsSync(dataFile(h.dir, 0)));
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(20, 1, 0, 2, 1000));
    for (let i = 10; i < 30; i++) assert.equal(idOf(q.readOne()), i);
    assert.equal(q.readOne(), undefined);
    assert.deepEqual(queueFiles(h.dir), [`${NAME}.diskqueue.000002.dat`, `${NAME}.diskqueue.meta.dat`]);
    await q.close();
  });
});

Deno.test("a reader caught up when the writer rolls continues into the new file", async () => {
  await withDir(async (h) => {
    const q = h.open({ maxBytesPerFile: 1000 });
    for (let i = 0; i < 25; i++) {
      q.put(record(i, 96));
      assert.equal(idOf(q.readOne()), i);
      assert.equal(q.readOne(), undefined);
    }
    assert.equal(q.depth, 0);
    await q.close();
    assert.deepEqual(queueFiles(h.dir), [`${NAME}.diskqueue.000002.dat`, `${NAME}.diskqueue.meta.dat`]);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(0, 2, 500, 2, 500));
    assert.ok(!h.logs.some((l) => l.startsWith("error") || l.startsWith("warn")), h.logs.join("\n"));
  });
});

Deno.test("putMany lays records out as single puts would, one write per file", async () => {
  await withDir(async (h) => {
    const sizes = Array.from({ length: 40 }, (_, i) => 26 + ((i * 71) % 300));
    const records = sizes.map((len, i) => record(i, len));
    const q = h.open({ maxBytesPerFile: 1000 });
    q.putMany(records.slice(0, 25));
    q.putMany(records.slice(25));
    assert.equal(q.depth, 40);
    assert.throws(() => q.putMany([record(99, 30), new Uint8Array(10)]), /invalid message write size \(10\)/);
    assert.throws(() => q.put(new Uint8Array(1024 * 1024 + 27)), /invalid message write size/);
    assert.equal(q.depth, 40);
    await q.close();
    layout(sizes, 1000).forEach((ids, n) => {
      assert.deepEqual(decodeRecords(readFileSync(dataFile(h.dir, n))), ids.map((i) => records[i]));
    });
    const q2 = h.open({ maxBytesPerFile: 1000 });
    assert.deepEqual(readAll(q2), records);
    await q2.close();
  });
});

Deno.test("a garbage length mid-file skips the rest of that file, renames it .bad and reads the next file", async () => {
  await withDir(async (h) => {
    const a = Array.from({ length: 6 }, (_, i) => record(i, 40));
    const b = Array.from({ length: 3 }, (_, i) => record(10 + i, 40));
    const f0 = encodeRecords(a);
    new DataView(f0.buffer).setInt32(3 * 44, 0x7fffff00, false); // header of record 3
    writeFileSync(dataFile(h.dir, 0), f0);
    writeFileSync(dataFile(h.dir, 1), encodeRecords(b));
    writeFileSync(metaFile(h.dir), metaText(9, 0, 0, 1, 3 * 44));

    const q = h.open();
    const got = readAll(q);
    assert.deepEqual(got, [...a.slice(0, 3), ...b]);
    assert.equal(q.depth, 0, "reset at the tail, as v1.1.0 does");
    assert.ok(existsSync(`${dataFile(h.dir, 0)}.bad`));
    assert.ok(!existsSync(dataFile(h.dir, 0)));
    assert.ok(
      h.logs.some((l) => l.startsWith("error") && l.includes("invalid message read size (2147483392)")),
    );
    assert.ok(h.logs.some((l) => l.startsWith("warn") && l.includes("saving bad file as")));
    assert.ok(h.logs.some((l) => l.includes("positive depth at tail (3), data loss, resetting 0...")));
    q.put(record(50, 40));
    assert.equal(idOf(q.readOne()), 50);
    await q.close();
  });
});

Deno.test("a truncated older file is salvaged up to the cut and the next file is still read", async () => {
  await withDir(async (h) => {
    const q = h.open({ maxBytesPerFile: 1000 });
    for (let i = 0; i < 15; i++) q.put(record(i, 96));
    await q.close();
    truncateSync(dataFile(h.dir, 0), 550); // five whole records and half of the sixth

    const q2 = h.open({ maxBytesPerFile: 1000 });
    const ids = readAll(q2).map(idOf);
    assert.deepEqual(ids, [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
    assert.equal(q2.depth, 0);
    assert.ok(existsSync(`${dataFile(h.dir, 0)}.bad`));
    assert.ok(h.logs.some((l) => l.startsWith("error") && l.includes("EOF")));
    await q2.close();
  });
});

Deno.test("a corrupt current write file is skipped for reading and writing", async () => {
  await withDir(async (h) => {
    const a = Array.from({ length: 3 }, (_, i) => record(i, 40));
    const f0 = encodeRecords(a);
    f0.fill(0, 44, 48); // record 1's length becomes 0
    writeFileSync(dataFile(h.dir, 0), f0);
    writeFileSync(metaFile(h.dir), metaText(3, 0, 0, 0, f0.length));
    const q = h.open({ syncEvery: 1 });
    assert.equal(idOf(q.readOne()), 0);
    assert.equal(q.readOne(), undefined);
    assert.equal(q.depth, 0);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(0, 1, 0, 1, 0));
    q.put(record(7, 40));
    assert.equal(idOf(q.readOne()), 7);
    assert.ok(existsSync(`${dataFile(h.dir, 0)}.bad`));
    await q.close();
  });
});

Deno.test("readOne never throws on garbage files, missing files or nonsense metadata", async () => {
  await withDir(async (h) => {
    let seed = 12345;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    for (let round = 0; round < 20; round++) {
      for (let n = 0; n < 4; n++) {
        const junk = new Uint8Array(Math.floor(rand() * 3000));
        for (let k = 0; k < junk.length; k++) junk[k] = Math.floor(rand() * 256);
        if (rand() < 0.8) writeFileSync(dataFile(h.dir, n), junk);
      }
      const nums = Array.from({ length: 5 }, () => Math.floor(rand() * 4000) - (round % 5 === 0 ? 2000 : 0));
      writeFileSync(
        metaFile(h.dir),
        round % 7 === 0
          ? "not metadata"
          : metaText(nums[0], nums[1] % 4, nums[2], Math.abs(nums[3]) % 4, Math.abs(nums[4])),
      );
      const q = h.open({ maxBytesPerFile: 1000 });
      for (let i = 0; i < 200; i++) q.readOne();
      q.put(record(round, 30));
      assert.equal(idOf(readAll(q).at(-1)), round);
      assert.equal(q.depth, 0);
      await q.close();
      for (const f of readdirSync(h.dir)) await Deno.remove(join(h.dir, f));
    }
  });
});

Deno.test("startup with a write file longer than the metadata's writePos writes a new file and salvages the old", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 1 });
    for (let i = 0; i < 5; i++) q.put(record(i, 40));
    q.readOne();
    await q.close();
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(4, 0, 44, 0, 220));
    // records written after the last metadata sync, then SIGKILL
    const extra = [5, 6, 7].map((i) => record(i, 40));
    writeFileSync(dataFile(h.dir, 0), encodeRecords(extra), { flag: "a" });

    const q2 = h.open({ syncEvery: 1 });
    assert.ok(
      h.logs.some((l) => l.startsWith("warn") && l.includes("metadata writePos 220 < file size of 352")),
    );
    assert.equal(q2.depth, 7, "salvaged records are counted");
    q2.put(record(8, 40));
    assert.deepEqual(decodeRecords(readFileSync(dataFile(h.dir, 1))), [record(8, 40)]);
    assert.equal(decodeRecords(readFileSync(dataFile(h.dir, 0))).length, 8, "the old file is left as it was");
    assert.deepEqual(readAll(q2).map(idOf), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.equal(q2.depth, 0);
    assert.ok(!existsSync(dataFile(h.dir, 0)));
    await q2.close();
  });
});

Deno.test("a missing metadata file is an empty queue at file 0, and stray data there is salvaged, not overwritten", async () => {
  await withDir(async (h) => {
    const q = h.open();
    assert.equal(q.depth, 0);
    assert.equal(q.readOne(), undefined);
    await q.close();
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(0, 0, 0, 0, 0));

    await Deno.remove(metaFile(h.dir));
    writeFileSync(dataFile(h.dir, 0), encodeRecords([record(1, 40), record(2, 40)]));
    const q2 = h.open();
    assert.equal(q2.depth, 2);
    q2.put(record(3, 40));
    assert.deepEqual(readAll(q2).map(idOf), [1, 2, 3]);
    await q2.close();
  });
});

Deno.test("empty() removes every data file and the metadata, and the queue starts over", async () => {
  await withDir(async (h) => {
    const q = h.open({ maxBytesPerFile: 1000 });
    for (let i = 0; i < 30; i++) q.put(record(i, 96));
    for (let i = 0; i < 12; i++) q.readOne();
    await new Promise((r) => setTimeout(r, 20)); // let the background sync land
    q.empty();
    assert.deepEqual(queueFiles(h.dir), []);
    assert.equal(q.depth, 0);
    assert.equal(q.readOne(), undefined);
    q.put(record(77, 40));
    assert.equal(q.depth, 1);
    assert.equal(idOf(q.readOne()), 77);
    await q.close();
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(0, 0, 44, 0, 44));
  });
});

Deno.test("delete() closes without persisting metadata and removes the queue's files", async () => {
  await withDir(async (h) => {
    const q = h.open({ maxBytesPerFile: 1000, syncEvery: 3 });
    for (let i = 0; i < 25; i++) q.put(record(i, 96));
    q.readOne();
    await q.delete();
    assert.deepEqual(queueFiles(h.dir), []);
    assert.throws(() => q.put(record(1, 40)), /exiting/);
    assert.equal(q.readOne(), undefined);
    await q.close(); // a no-op now
    assert.deepEqual(queueFiles(h.dir), []);

    const q2 = h.open();
    q2.put(record(1, 40));
    q2.empty();
    await q2.delete();
    assert.deepEqual(readdirSync(h.dir), []);
  });
});

Deno.test("with syncEvery=1 the metadata is on disk as soon as put and readOne return", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 1 });
    q.put(record(1, 40));
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(1, 0, 0, 0, 44));
    q.putMany([record(2, 30), record(3, 30)]);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(3, 0, 0, 0, 112));
    q.readOne();
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(2, 0, 44, 0, 112));
    assert.deepEqual(readdirSync(h.dir).filter((f) => f.endsWith(".tmp")), []);
    await q.close();
  });
});

Deno.test("without syncEvery=1 metadata is synced by count or by timeout, in the background", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 5, syncTimeoutMs: 30 });
    q.put(record(1, 40));
    assert.ok(!existsSync(metaFile(h.dir)), "no sync on the hot path");
    await waitFor(() => existsSync(metaFile(h.dir)));
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(1, 0, 0, 0, 44));

    const q2 = DiskQueue.open(h.opts({ name: "other", syncEvery: 5, syncTimeoutMs: 60_000 }));
    for (let i = 0; i < 5; i++) q2.put(record(i, 40));
    const meta2 = join(h.dir, "other.diskqueue.meta.dat");
    await waitFor(() => existsSync(meta2));
    assert.equal(readFileSync(meta2, "utf8"), metaText(5, 0, 0, 0, 220));
    await Promise.all([q.close(), q2.close()]);
  });
});

Deno.test("a write error is thrown from put and a later put works once the directory is back", async () => {
  await withDir(async (h) => {
    const q = h.open({ maxBytesPerFile: 1000 });
    for (let i = 0; i < 10; i++) q.put(record(i, 96)); // file 0 is full
    await Deno.remove(h.dir, { recursive: true });
    assert.throws(() => q.put(record(10, 96)), (err: NodeJS.ErrnoException) => err.code === "ENOENT");
    assert.throws(() => q.put(record(11, 96)), (err: NodeJS.ErrnoException) => err.code === "ENOENT");
    await Deno.mkdir(h.dir);
    q.put(record(12, 96));
    assert.equal(q.depth, 11);
    // file 0 went with the directory: the reader logs it, skips it and reads what was written since
    assert.deepEqual(readAll(q).map(idOf), [12]);
    assert.equal(q.depth, 0);
    await q.close();
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(0, 1, 100, 1, 100));
  });
});

Deno.test("startup after a crash whose roll metadata never landed skips every file written past the metadata", async () => {
  await withDir(async (h) => {
    const a = [0, 1, 2, 3].map((i) => record(i, 96));
    const b = [4, 5].map((i) => record(i, 96));
    writeFileSync(dataFile(h.dir, 0), encodeRecords(a));
    writeFileSync(dataFile(h.dir, 1), encodeRecords(b));
    writeFileSync(metaFile(h.dir), metaText(1, 0, 200, 0, 300)); // only records 0..2 were synced, 2 unread

    const q = h.open({ maxBytesPerFile: 400 });
    assert.equal(q.depth, 4);
    q.put(record(6, 96));
    assert.ok(existsSync(dataFile(h.dir, 2)));
    assert.deepEqual(decodeRecords(readFileSync(dataFile(h.dir, 1))), b, "file 1 is not overwritten");
    assert.deepEqual(readAll(q).map(idOf), [2, 3, 4, 5, 6]);
    assert.equal(q.depth, 0);
    await q.close();
    assert.deepEqual(queueFiles(h.dir), [`${NAME}.diskqueue.000002.dat`, `${NAME}.diskqueue.meta.dat`]);
  });
});

Deno.test("a background sync still in flight when empty() runs does not bring the metadata back", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 2, syncTimeoutMs: 60_000 });
    q.put(record(1, 40));
    q.put(record(2, 40)); // starts a sync
    q.empty();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(readdirSync(h.dir), []);
    await q.delete();
    assert.deepEqual(readdirSync(h.dir), []);
  });
});

Deno.test("a stale file where a fresh write file starts is truncated, not partly overwritten", async () => {
  await withDir(async (h) => {
    writeFileSync(dataFile(h.dir, 0), encodeRecords([record(0, 96)]));
    writeFileSync(dataFile(h.dir, 1), new Uint8Array(700).fill(0xee));
    writeFileSync(metaFile(h.dir), metaText(0, 0, 300, 0, 100)); // reader past writer: skip to a fresh file
    const q = h.open({ maxBytesPerFile: 1000 });
    assert.ok(h.logs.some((l) => l.includes("readPos > writePos (300 > 100)")));
    q.put(record(1, 96));
    assert.deepEqual(decodeRecords(readFileSync(dataFile(h.dir, 1))), [record(1, 96)]);
    assert.deepEqual(readAll(q).map(idOf), [1]);
    await q.close();
  });
});

// ---- holds (holdSync/releaseSync), mark/rewind ----

/**
 * What a SIGKILL leaves behind: a copy of the queue's files as they are now (the page cache survives the
 * process), opened by a fresh DiskQueue. Returns the records it reads and its depth on opening.
 */
async function afterCrash(
  h: Harness,
  over: Partial<DiskQueueOptions> = {},
): Promise<{ depth: number; ids: number[] }> {
  const image = await Deno.makeTempDir({ prefix: "dq-crash-" });
  try {
    for (const f of queueFiles(h.dir)) copyFileSync(join(h.dir, f), join(image, f));
    const q = DiskQueue.open(h.opts({ ...over, dataPath: image, log: () => {} }));
    const depth = q.depth;
    const ids = readAll(q).map(idOf);
    await q.close();
    return { depth, ids };
  } finally {
    await Deno.remove(image, { recursive: true });
  }
}

Deno.test("under holdSync reads leave the metadata on disk as it was; the outermost releaseSync persists it", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 1 });
    for (let i = 0; i < 5; i++) q.put(record(i, 40));
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(5, 0, 0, 0, 220));
    q.holdSync();
    assert.equal(idOf(q.readOne()), 0);
    assert.equal(idOf(q.readOne()), 1);
    assert.equal(q.depth, 3);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(5, 0, 0, 0, 220));
    q.holdSync(); // nested
    assert.equal(idOf(q.readOne()), 2);
    assert.equal(q.releaseSync(), true);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(5, 0, 0, 0, 220), "an inner release");
    assert.equal(q.releaseSync(), true);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(2, 0, 132, 0, 220));
    assert.equal(q.releaseSync(), true, "a release without a hold does nothing");
    assert.equal(idOf(q.readOne()), 3); // not held: persisted at once again
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(1, 0, 176, 0, 220));
    assert.deepEqual(readdirSync(h.dir).filter((f) => f.endsWith(".tmp")), []);
    await q.close();
    assert.ok(!h.logs.some((l) => l.startsWith("error") || l.startsWith("warn")), h.logs.join("\n"));
  });
});

Deno.test("without syncEvery=1 a hold keeps the background sync from persisting reads until it is released", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 2, syncTimeoutMs: 10 });
    for (let i = 0; i < 4; i++) q.put(record(i, 40));
    await waitFor(() =>
      existsSync(metaFile(h.dir)) && readFileSync(metaFile(h.dir), "utf8") === metaText(4, 0, 0, 0, 176)
    );
    q.holdSync();
    for (let i = 0; i < 3; i++) q.readOne();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(4, 0, 0, 0, 176));
    q.releaseSync();
    await waitFor(() => readFileSync(metaFile(h.dir), "utf8") === metaText(1, 0, 132, 0, 176));
    await q.close();

    // a timer armed before the hold fires under it: no sync then, one at the release
    const q2 = DiskQueue.open(h.opts({ name: "other", syncEvery: 100, syncTimeoutMs: 20 }));
    const meta2 = join(h.dir, "other.diskqueue.meta.dat");
    q2.put(record(1, 40)); // arms the timer
    q2.holdSync();
    q2.readOne();
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(!existsSync(meta2), "nothing persisted under the hold");
    q2.releaseSync();
    await waitFor(() => existsSync(meta2));
    assert.equal(readFileSync(meta2, "utf8"), metaText(0, 0, 44, 0, 44));
    await q2.close();
  });
});

Deno.test("records read under a hold are read again after a crash; after the release they are not", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 1 });
    for (let i = 0; i < 6; i++) q.put(record(i, 40));
    assert.equal(idOf(q.readOne()), 0);
    q.holdSync();
    assert.deepEqual([1, 2, 3].map(() => idOf(q.readOne())), [1, 2, 3]);
    assert.deepEqual(await afterCrash(h), { depth: 5, ids: [1, 2, 3, 4, 5] });
    assert.equal(q.releaseSync(), true);
    assert.deepEqual(await afterCrash(h), { depth: 2, ids: [4, 5] });
    await q.close();
  });
});

Deno.test("with syncEvery=1 puts under a hold are on disk: a crash finds them past the persisted writePos", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 1, maxBytesPerFile: 1000 });
    for (let i = 0; i < 3; i++) q.put(record(i, 96));
    assert.equal(idOf(q.readOne()), 0);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(2, 0, 100, 0, 300));
    q.holdSync();
    for (let i = 3; i < 25; i++) q.put(record(i, 96)); // rolls twice under the hold
    assert.equal(idOf(q.readOne()), 1);
    assert.ok(existsSync(dataFile(h.dir, 2)));
    assert.equal(
      readFileSync(metaFile(h.dir), "utf8"),
      metaText(2, 0, 100, 0, 300),
      "no metadata under a hold",
    );
    const ids = Array.from({ length: 24 }, (_, i) => i + 1);
    assert.deepEqual(await afterCrash(h, { maxBytesPerFile: 1000 }), { depth: 24, ids });
    assert.equal(q.releaseSync(), true);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(23, 0, 200, 2, 500));
    assert.deepEqual(await afterCrash(h, { maxBytesPerFile: 1000 }), { depth: 23, ids: ids.slice(1) });
    await q.close();
  });
});

Deno.test("rewind reads again, in order, what was read since the mark (across a file roll) and restores depth", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 1, maxBytesPerFile: 1000 });
    for (let i = 0; i < 30; i++) q.put(record(i, 96)); // ten records a file: files 0, 1, 2
    for (let i = 0; i < 5; i++) q.readOne();
    q.holdSync();
    const m = q.mark();
    const read12 = () => Array.from({ length: 12 }, () => idOf(q.readOne()));
    const want = Array.from({ length: 12 }, (_, i) => 5 + i);
    assert.deepEqual(read12(), want); // into file 1
    assert.equal(q.depth, 13);
    q.rewind(m);
    assert.equal(q.depth, 25);
    assert.deepEqual(read12(), want, "the same records again");
    assert.equal(q.depth, 13);
    q.rewind(m);
    assert.deepEqual(read12(), want, "and again");
    assert.ok(existsSync(dataFile(h.dir, 0)), "nothing is deleted under a hold");
    q.rewind(m);
    assert.equal(q.depth, 25);
    assert.deepEqual([0, 1, 2].map(() => idOf(q.readOne())), [5, 6, 7]);
    // a mark inside the hold, later rewound to
    const m2 = q.mark();
    assert.deepEqual([0, 1, 2].map(() => idOf(q.readOne())), [8, 9, 10]);
    q.rewind(m2);
    assert.equal(q.depth, 22);

    assert.equal(q.releaseSync(), true);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(22, 0, 800, 2, 1000));
    assert.ok(existsSync(dataFile(h.dir, 0)), "the reader is still in file 0");
    assert.equal(idOf(q.readOne()), 8);
    assert.ok(existsSync(dataFile(h.dir, 0)));
    assert.equal(idOf(q.readOne()), 9); // the reader is past file 0 now
    assert.ok(!existsSync(dataFile(h.dir, 0)));
    assert.deepEqual(readAll(q).map(idOf), Array.from({ length: 20 }, (_, i) => 10 + i));
    assert.equal(q.depth, 0);
    await q.close();
    assert.deepEqual(queueFiles(h.dir), [`${NAME}.diskqueue.000002.dat`, `${NAME}.diskqueue.meta.dat`]);
    assert.ok(!h.logs.some((l) => l.startsWith("error") || l.startsWith("warn")), h.logs.join("\n"));
  });
});

Deno.test("rewind to a mark taken when caught up reads again what was put and read under the hold", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 1, maxBytesPerFile: 1000 });
    for (let i = 0; i < 8; i++) q.put(record(i, 96));
    readAll(q);
    q.holdSync();
    const m = q.mark();
    for (let i = 8; i < 14; i++) q.put(record(i, 96)); // rolls into file 1
    assert.deepEqual(readAll(q).map(idOf), [8, 9, 10, 11, 12, 13]);
    q.rewind(m);
    assert.equal(q.depth, 6);
    assert.deepEqual(readAll(q).map(idOf), [8, 9, 10, 11, 12, 13]);
    q.releaseSync();
    assert.deepEqual(queueFiles(h.dir), [`${NAME}.diskqueue.000001.dat`, `${NAME}.diskqueue.meta.dat`]);
    assert.equal(readFileSync(metaFile(h.dir), "utf8"), metaText(0, 1, 400, 1, 400));
    await q.close();
    assert.ok(!h.logs.some((l) => l.startsWith("error") || l.startsWith("warn")), h.logs.join("\n"));
  });
});

Deno.test("rewind does nothing once the hold is released or the queue was emptied", async () => {
  await withDir(async (h) => {
    const q = h.open({ syncEvery: 1 });
    for (let i = 0; i < 4; i++) q.put(record(i, 40));
    q.holdSync();
    const m = q.mark();
    q.readOne();
    q.releaseSync();
    q.rewind(m);
    assert.equal(q.depth, 3);
    assert.equal(idOf(q.readOne()), 1);

    q.holdSync();
    const m2 = q.mark();
    q.readOne();
    q.empty();
    q.rewind(m2);
    assert.equal(q.depth, 0);
    assert.equal(q.readOne(), undefined);
    q.put(record(9, 40));
    assert.deepEqual(readAll(q).map(idOf), [9]);
    q.releaseSync();
    await q.close();
  });
});

Deno.test({
  name:
    "with syncEvery=1 a put whose metadata sync fails (disk full) throws and is taken back; a later put syncs",
  ignore: Deno.uid() !== 0,
  async fn() {
    await withDir(async (h) => {
      const mnt = join(h.dir, "mnt");
      Deno.mkdirSync(mnt);
      await mountTmpfs(mnt, "64k");
      try {
        const q = DiskQueue.open(h.opts({ dataPath: mnt, syncEvery: 1 }));
        q.put(record(0, 40));
        const filler = join(mnt, "filler");
        fill(filler);
        // the record fits in the data file's page; the metadata's tmp file needs a page of its own
        assert.throws(() => q.put(record(1, 40)), /failed to sync/);
        assert.ok(h.logs.some((l) => l.startsWith("error") && l.includes("failed to sync")));
        assert.equal(readFileSync(join(mnt, `${NAME}.diskqueue.meta.dat`), "utf8"), metaText(1, 0, 0, 0, 44));
        assert.deepEqual(readdirSync(mnt).filter((f) => f.endsWith(".tmp")), []);
        assert.equal(q.depth, 1, "the refused record was taken back (a retry will not duplicate it)");
        assert.equal(statSync(join(mnt, `${NAME}.diskqueue.000000.dat`)).size, 44, "and truncated away");
        // a hold does not hide the failure of the sync its release runs
        q.holdSync();
        assert.equal(idOf(q.readOne()), 0);
        assert.equal(q.releaseSync(), false);

        unlinkSync(filler);
        q.put(record(2, 40));
        assert.equal(
          readFileSync(join(mnt, `${NAME}.diskqueue.meta.dat`), "utf8"),
          metaText(1, 0, 44, 0, 88),
        );
        assert.deepEqual(readAll(q).map(idOf), [2]);
        await q.close();
      } finally {
        await unmount(mnt);
      }
    });
  },
});

Deno.test("DiskBackend opens its disk queue at the first write, or at once when files of it exist", async () => {
  const { DiskBackend } = await import("../../src/nsqd/diskqueue/backend_queue.ts");
  const { defaultNsqdOptions } = await import("../../src/nsqd/options.ts");
  const { createMessage, messageBody, messageId } = await import("../../src/protocol/message.ts");
  const { Logger, LogLevel } = await import("../../src/internal/logger.ts");
  const dir = await Deno.makeTempDir({ prefix: "backend-lazy-" });
  const logger = new Logger(() => {}, "test", LogLevel.fatal);
  const opts = { ...defaultNsqdOptions("x"), syncEvery: 1 }; // every put syncs (metadata) unless held
  const files = () => [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  try {
    // Idle: nothing on disk, nothing to read; holds and marks are kept for the queue to come.
    const idle = new DiskBackend("idle", dir, opts, logger);
    assert.equal(idle.depth, 0);
    assert.equal(idle.read(), undefined);
    assert.equal(idle.mark(), undefined);
    idle.empty();
    assert.deepEqual(files(), []);
    // A hold taken before the queue exists is handed to it: the put does not sync until it is released.
    idle.holdSync();
    idle.put(createMessage("0000000000000001", new TextEncoder().encode("one"), 1e18));
    assert.deepEqual(files(), ["idle.diskqueue.000000.dat"]);
    assert.equal(idle.releaseSync(), true);
    assert.deepEqual(files(), ["idle.diskqueue.000000.dat", "idle.diskqueue.meta.dat"]);
    assert.equal(idle.depth, 1);
    await idle.close();

    // Files of it exist: opened at once, the message is there.
    const again = new DiskBackend("idle", dir, opts, logger);
    assert.equal(again.depth, 1);
    const msg = again.read()!;
    assert.equal(messageId(msg), "0000000000000001");
    assert.equal(new TextDecoder().decode(messageBody(msg)), "one");
    await again.close();

    // A first data file without metadata (a crash before the first sync) is picked up too.
    Deno.removeSync(join(dir, "idle.diskqueue.meta.dat"));
    const salvaged = new DiskBackend("idle", dir, opts, logger);
    assert.equal(salvaged.depth, 1);
    await salvaged.delete();
    assert.deepEqual(files(), []);

    // Never written: closing writes its metadata, as upstream's queues do; deleting leaves nothing.
    const never = new DiskBackend("never", dir, opts, logger);
    await never.close();
    assert.deepEqual(files(), ["never.diskqueue.meta.dat"]);
    await new DiskBackend("never", dir, opts, logger).delete();
    assert.deepEqual(files(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with retainRecords the records readWith hands out stay intact, shared a segment at a time", async () => {
  await withDir(async (h) => {
    const q = h.open({ retainRecords: true, maxBytesPerFile: 64 * 1024 });
    const view = (buf: Uint8Array, off: number, len: number) => buf.subarray(off, off + len);
    const want: Uint8Array[] = [];
    const kept: Uint8Array[] = [];
    const put = (r: Uint8Array) => {
      want.push(r);
      q.put(r);
    };
    // A backlog across file rolls, mostly small records, some past a quarter of a segment.
    for (let i = 0; i < 3000; i++) put(record(i, i % 97 === 0 ? 5000 + i : 26 + (i % 150)));
    for (let r; (r = q.readWith(view)) !== undefined;) kept.push(r);
    // Caught up: each put is read at once (a run of one record).
    for (let i = 3000; i < 3300; i++) {
      put(record(i, 60));
      kept.push(q.readWith(view)!);
    }
    // Read again after a rewind: the same bytes, the earlier copies untouched.
    for (let i = 3300; i < 3400; i++) put(record(i, 90));
    q.holdSync();
    const m = q.mark();
    const first = Array.from({ length: 100 }, () => q.readWith(view)!);
    q.rewind(m);
    for (let r; (r = q.readWith(view)) !== undefined;) kept.push(r);
    q.releaseSync();
    assert.deepEqual(first, want.slice(3300));
    assert.equal(kept.length, want.length);
    kept.forEach((r, i) => assert.deepEqual(r, want[i], `record ${i}`));
    const small = kept.slice(0, 3000).filter((r) => r.length < 4096);
    const segments = new Set(small.map((r) => r.buffer)).size;
    assert.ok(segments < small.length / 50, `${small.length} small records in ${segments} arrays`);
    await q.close();
    assert.ok(!h.logs.some((l) => l.startsWith("error") || l.startsWith("warn")), h.logs.join("\n"));
  });
});
