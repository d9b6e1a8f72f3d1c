import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import SnappyJS from "snappyjs";
import {
  crc32c,
  maskedCrc32c,
  SNAPPY_STREAM_IDENTIFIER,
  SnappyError,
  SnappyFrameDecoder,
  SnappyFrameEncoder,
} from "../../src/protocol/snappy.ts";

const te = new TextEncoder();
const STREAM_ID = [0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59];

// ---------------------------------------------------------------------------------------------------------------
// helpers

/** Deterministic xorshift32 PRNG. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

function randomBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = r() & 0xff;
  return out;
}

function repetitiveBytes(n: number): Uint8Array {
  const pattern = te.encode('{"topic":"events","body":"the quick brown fox jumps over the lazy dog"}\n');
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = pattern[i % pattern.length];
  return out;
}

/** Runs of repeated bytes mixed with random stretches (exercises literals, copy-1 and copy-2 tags). */
function mixedBytes(n: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(n);
  let i = 0;
  while (i < n) {
    const len = 1 + (r() % 300);
    const kind = r() % 3;
    for (let k = 0; k < len && i < n; k++, i++) {
      out[i] = kind === 0 ? r() & 0xff : kind === 1 ? 0x61 : out[Math.max(0, i - 1 - (r() % 2000))];
    }
  }
  return out;
}

function concatAll(parts: Uint8Array[]): Uint8Array {
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

function decodeWhole(stream: Uint8Array): Uint8Array {
  return new SnappyFrameDecoder().push(stream);
}

function decodeByteByByte(stream: Uint8Array): Uint8Array {
  const dec = new SnappyFrameDecoder();
  const parts: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i++) parts.push(dec.push(stream.subarray(i, i + 1)));
  return concatAll(parts);
}

function decodeRandomSplits(stream: Uint8Array, seed: number): Uint8Array {
  const r = rng(seed);
  const dec = new SnappyFrameDecoder();
  const parts: Uint8Array[] = [];
  let pos = 0;
  while (pos < stream.length) {
    // Mix tiny pieces (split headers) and large ones (several chunks at once).
    const max = r() % 4 === 0 ? 8 : 150_000;
    const len = Math.min(stream.length - pos, r() % (max + 1));
    parts.push(dec.push(stream.subarray(pos, pos + len)));
    pos += len;
  }
  return concatAll(parts);
}

interface ParsedChunk {
  type: number;
  payload: Uint8Array;
}

function parseChunks(stream: Uint8Array): ParsedChunk[] {
  const chunks: ParsedChunk[] = [];
  let p = 0;
  while (p < stream.length) {
    const len = stream[p + 1] | (stream[p + 2] << 8) | (stream[p + 3] << 16);
    chunks.push({ type: stream[p], payload: stream.subarray(p + 4, p + 4 + len) });
    p += 4 + len;
  }
  assert.equal(p, stream.length);
  return chunks;
}

function le32(n: number): number[] {
  return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
}

function chunk(type: number, payload: number[] | Uint8Array): Uint8Array {
  const len = payload.length;
  return new Uint8Array([type, len & 0xff, (len >> 8) & 0xff, len >> 16, ...payload]);
}

function assertSnappyError(fn: () => unknown, re?: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SnappyError, `expected SnappyError, got ${e}`);
    if (re) assert.match(e.message, re);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------------------------
// CRC-32C

Deno.test("crc32c: known vectors", () => {
  assert.equal(crc32c(te.encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  // RFC 3720 (iSCSI) B.4 test vectors.
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
  assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => 31 - i)), 0x113fdb5c);
  assert.equal(crc32c(te.encode("The quick brown fox jumps over the lazy dog")), 0x22620404);
});

Deno.test("crc32c: table-driven result equals bitwise reference for all lengths/alignments", () => {
  const bitwise = (d: Uint8Array) => {
    let c = 0xffffffff;
    for (const x of d) {
      c ^= x;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    }
    return (c ^ 0xffffffff) >>> 0;
  };
  const data = randomBytes(300, 7);
  for (let start = 0; start < 9; start++) {
    for (let len = 0; len < 40; len++) {
      const d = data.subarray(start, start + len);
      assert.equal(crc32c(d), bitwise(d), `start=${start} len=${len}`);
    }
  }
  assert.equal(crc32c(data), bitwise(data));
});

Deno.test("maskedCrc32c: mask formula and known values", () => {
  assert.equal(maskedCrc32c(new Uint8Array(0)), 0xa282ead8);
  assert.equal(maskedCrc32c(te.encode("123456789")), 0xc78ab0e5);
  // Value produced by snappystream (native @node-rs/crc32) for this input.
  assert.equal(maskedCrc32c(te.encode("hello hello hello hello hello hello")), 0x9bad97d7);
  for (const s of ["OK", "abc", "x".repeat(1000)]) {
    const c = crc32c(te.encode(s));
    assert.equal(maskedCrc32c(te.encode(s)), ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) % 2 ** 32);
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Encoder

Deno.test("encoder: stream identifier bytes, only before the first non-empty write", () => {
  assert.deepEqual([...SNAPPY_STREAM_IDENTIFIER], STREAM_ID);
  const enc = new SnappyFrameEncoder();
  assert.equal(enc.encode(new Uint8Array(0)).length, 0); // Go: empty Write emits nothing, not even the header
  const first = enc.encode(te.encode("OK"));
  // Exactly what golang/snappy's Writer emits for Write([]byte("OK")).
  assert.deepEqual(
    [...first],
    [...STREAM_ID, 0x01, 0x06, 0x00, 0x00, 0xd2, 0x4e, 0xdb, 0xbd, 0x4f, 0x4b],
  );
  const second = enc.encode(te.encode("OK"));
  assert.deepEqual([...second], [0x01, 0x06, 0x00, 0x00, 0xd2, 0x4e, 0xdb, 0xbd, 0x4f, 0x4b]);
  assert.equal(enc.encode(new Uint8Array(0)).length, 0);
});

Deno.test("encoder: incompressible data becomes uncompressed chunks", () => {
  const data = randomBytes(1000, 42);
  const out = new SnappyFrameEncoder().encode(data);
  const chunks = parseChunks(out);
  assert.equal(chunks.length, 2);
  assert.equal(chunks[0].type, 0xff);
  assert.equal(chunks[1].type, 0x01);
  assert.equal(chunks[1].payload.length, 4 + 1000);
  assert.deepEqual([...chunks[1].payload.subarray(0, 4)], le32(maskedCrc32c(data)));
  assert.deepEqual(chunks[1].payload.subarray(4), data);
});

Deno.test("encoder: short pieces (< 17 bytes) are always uncompressed, like golang/snappy", () => {
  const data = new Uint8Array(16).fill(0x61); // compressible, but Go emits a single literal for it
  const chunks = parseChunks(new SnappyFrameEncoder().encode(data));
  assert.equal(chunks[1].type, 0x01);
  const data17 = new Uint8Array(17).fill(0x61);
  const chunks17 = parseChunks(new SnappyFrameEncoder().encode(data17));
  assert.equal(chunks17[1].type, 0x00);
});

Deno.test("encoder: splits writes into <= 64 KiB pieces and applies the 12.5% rule", () => {
  for (const data of [repetitiveBytes(200 * 1024 + 5), randomBytes(140_000, 3), mixedBytes(300_000, 9)]) {
    const chunks = parseChunks(new SnappyFrameEncoder().encode(data));
    assert.equal(chunks[0].type, 0xff);
    const dataChunks = chunks.slice(1);
    assert.equal(dataChunks.length, Math.ceil(data.length / 65536));
    dataChunks.forEach((c, i) => {
      const piece = data.subarray(i * 65536, Math.min(data.length, (i + 1) * 65536));
      assert.deepEqual([...c.payload.subarray(0, 4)], le32(maskedCrc32c(piece)));
      const block = SnappyJS.compress(piece) as Uint8Array;
      const shouldCompress = block.length < piece.length - Math.floor(piece.length / 8);
      assert.equal(c.type, shouldCompress ? 0x00 : 0x01, `piece ${i}`);
      if (c.type === 0x00) {
        assert.deepEqual(SnappyJS.uncompress(c.payload.subarray(4), 65536) as Uint8Array, piece);
      } else {
        assert.deepEqual(c.payload.subarray(4), piece);
      }
    });
  }
  // Repetitive data really is compressed.
  const out = new SnappyFrameEncoder().encode(repetitiveBytes(200 * 1024));
  assert.ok(out.length < 200 * 1024 / 10, `compressed to ${out.length}`);
});

// ---------------------------------------------------------------------------------------------------------------
// Round trips

Deno.test("round trip: random/repetitive/mixed data 0..200 KiB, fed whole and at random split points", () => {
  const sizes = [0, 1, 2, 3, 15, 16, 17, 18, 100, 255, 1000, 4095, 4096, 65535, 65536, 65537, 131071, 131072];
  sizes.push(131073, 150_000, 200 * 1024 - 1, 200 * 1024);
  const r = rng(1234);
  for (let i = 0; i < 10; i++) sizes.push(r() % (200 * 1024 + 1));
  sizes.forEach((size, idx) => {
    for (
      const [kind, data] of [
        ["random", randomBytes(size, idx + 1)],
        ["repetitive", repetitiveBytes(size)],
        ["mixed", mixedBytes(size, idx + 100)],
      ] as const
    ) {
      const stream = new SnappyFrameEncoder().encode(data);
      const msg = `${kind} size=${size}`;
      assert.deepEqual(decodeWhole(stream), data, msg);
      assert.deepEqual(decodeRandomSplits(stream, idx * 7 + 1), data, msg);
    }
  });
});

Deno.test("round trip: fed byte by byte", () => {
  for (const size of [0, 1, 17, 1000, 65536, 65537, 200 * 1024]) {
    for (const data of [randomBytes(size, size), repetitiveBytes(size), mixedBytes(size, size + 1)]) {
      const stream = new SnappyFrameEncoder().encode(data);
      assert.deepEqual(decodeByteByByte(stream), data, `size=${size}`);
    }
  }
});

Deno.test("round trip: many writes on one encoder form one stream", () => {
  const enc = new SnappyFrameEncoder();
  const r = rng(99);
  const writes: Uint8Array[] = [];
  const wire: Uint8Array[] = [];
  for (let i = 0; i < 200; i++) {
    const size = r() % 5 === 0 ? r() % 100_000 : r() % 300;
    const w = i % 2 ? randomBytes(size, i) : mixedBytes(size, i);
    writes.push(w);
    wire.push(enc.encode(w));
  }
  const stream = concatAll(wire);
  assert.equal(parseChunks(stream).filter((c) => c.type === 0xff).length, 1);
  const expected = concatAll(writes);
  assert.deepEqual(decodeWhole(stream), expected);
  assert.deepEqual(decodeRandomSplits(stream, 5), expected);
  // Chunk-aligned pushes yield exactly the corresponding write.
  const dec = new SnappyFrameDecoder();
  wire.forEach((w, i) => assert.deepEqual(dec.push(w), writes[i]));
});

Deno.test("decoder: accepts Node Buffers and never aliases its input", () => {
  const data = randomBytes(5000, 11);
  const stream = Buffer.from(new SnappyFrameEncoder().encode(data));
  const dec = new SnappyFrameDecoder();
  const out1 = dec.push(stream.subarray(0, 3000));
  const out2 = dec.push(stream.subarray(3000));
  const out = concatAll([out1, out2]);
  assert.deepEqual(out, data);
  stream.fill(0);
  assert.deepEqual(out, data);
});

// ---------------------------------------------------------------------------------------------------------------
// Hand-made streams (built from framing_format.txt / format_description.txt)

Deno.test("decoder: hand-made stream with every chunk kind", () => {
  // deno-fmt-ignore
  const stream = new Uint8Array([
    // stream identifier
    0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59,
    // uncompressed data "abc": masked crc32c("abc") = 0x21f1576e
    0x01, 0x07, 0x00, 0x00, 0x6e, 0x57, 0xf1, 0x21, 0x61, 0x62, 0x63,
    // padding
    0xfe, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
    // reserved skippable chunk 0x80
    0x80, 0x02, 0x00, 0x00, 0xde, 0xad,
    // compressed "abcdabcdabcd": crc 0x035f8da8; block = len 12, literal(4) "abcd", copy-1 len 8 offset 4
    0x00, 0x0c, 0x00, 0x00, 0xa8, 0x8d, 0x5f, 0x03, 0x0c, 0x0c, 0x61, 0x62, 0x63, 0x64, 0x11, 0x04,
    // a repeated stream identifier (concatenated streams) is allowed
    0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59,
    // compressed "abcdefgh" x 11 (88 bytes): crc 0xbeb6dda6; block = len 88, literal(8),
    // copy-2 len 64 offset 8, copy-2 len 16 offset 8
    0x00, 0x14, 0x00, 0x00, 0xa6, 0xdd, 0xb6, 0xbe,
    0x58, 0x1c, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0xfe, 0x08, 0x00, 0x3e, 0x08, 0x00,
    // empty compressed chunk: crc of "" masked = 0xa282ead8, block = varint 0
    0x00, 0x05, 0x00, 0x00, 0xd8, 0xea, 0x82, 0xa2, 0x00,
    // empty uncompressed chunk
    0x01, 0x04, 0x00, 0x00, 0xd8, 0xea, 0x82, 0xa2,
    // skippable 0xfd
    0xfd, 0x00, 0x00, 0x00,
  ]);
  const expected = te.encode("abc" + "abcdabcdabcd" + "abcdefgh".repeat(11));
  assert.deepEqual(decodeWhole(stream), expected);
  assert.deepEqual(decodeByteByByte(stream), expected);
  for (let seed = 1; seed < 50; seed++) assert.deepEqual(decodeRandomSplits(stream, seed), expected);
});

Deno.test("decoder: returns data as soon as each chunk completes", () => {
  const dec = new SnappyFrameDecoder();
  assert.equal(dec.push(new Uint8Array(STREAM_ID.slice(0, 4))).length, 0);
  assert.equal(dec.push(new Uint8Array(STREAM_ID.slice(4))).length, 0);
  const abc = chunk(0x01, [...le32(maskedCrc32c(te.encode("abc"))), 0x61, 0x62, 0x63]);
  assert.equal(dec.push(abc.subarray(0, 10)).length, 0);
  assert.deepEqual(dec.push(concatAll([abc.subarray(10), abc.subarray(0, 2)])), te.encode("abc"));
  assert.deepEqual(dec.push(abc.subarray(2)), te.encode("abc"));
  assert.equal(dec.push(new Uint8Array(0)).length, 0);
});

// ---------------------------------------------------------------------------------------------------------------
// Corrupt streams

Deno.test("decoder: corrupt CRC -> SnappyError (compressed and uncompressed chunks)", () => {
  const data = repetitiveBytes(5000);
  const stream = new SnappyFrameEncoder().encode(data);
  assert.equal(stream[10], 0x00);
  const bad = stream.slice();
  bad[14] ^= 1;
  assertSnappyError(() => decodeWhole(bad), /checksum/);

  const raw = new SnappyFrameEncoder().encode(randomBytes(100, 1));
  assert.equal(raw[10], 0x01);
  const badRaw = raw.slice();
  badRaw[50] ^= 0x80; // flip a data bit
  assertSnappyError(() => decodeWhole(badRaw), /checksum/);
  assertSnappyError(() => decodeByteByByte(badRaw), /checksum/);
});

Deno.test("decoder: reserved unskippable chunk types -> SnappyError", () => {
  for (const type of [0x02, 0x10, 0x7f]) {
    const stream = concatAll([new Uint8Array(STREAM_ID), chunk(type, [1, 2, 3])]);
    assertSnappyError(() => decodeWhole(stream), /unskippable/);
    // Detected from the header alone, before the payload arrives.
    const dec = new SnappyFrameDecoder();
    dec.push(stream.subarray(0, 10));
    assertSnappyError(() => dec.push(stream.subarray(10, 14)), /unskippable/);
  }
});

Deno.test("decoder: skippable chunks (0x80-0xfd, 0xfe padding) are ignored", () => {
  const parts: Uint8Array[] = [new Uint8Array(STREAM_ID)];
  for (const type of [0x80, 0x81, 0xc0, 0xfd, 0xfe]) {
    parts.push(chunk(type, randomBytes(type, type)));
    parts.push(new SnappyFrameEncoder().encode(te.encode(`x${type}`)).subarray(10));
  }
  parts.push(chunk(0xfe, new Uint8Array(60_000)));
  const stream = concatAll(parts);
  const expected = te.encode("x128x129x192x253x254");
  assert.deepEqual(decodeWhole(stream), expected);
  assert.deepEqual(decodeByteByByte(stream), expected);
});

Deno.test("decoder: missing or invalid stream identifier -> SnappyError", () => {
  const body = new SnappyFrameEncoder().encode(te.encode("hello")).subarray(10);
  assertSnappyError(() => decodeWhole(body), /stream identifier/);
  assertSnappyError(() => decodeWhole(concatAll([chunk(0xfe, [0]), body])), /stream identifier/);
  const badMagic = concatAll([new Uint8Array(STREAM_ID), body]);
  badMagic[9] = 0x79; // "sNaPpy"
  assertSnappyError(() => decodeWhole(badMagic), /stream identifier/);
  const badLen = concatAll([chunk(0xff, [...te.encode("sNaPpY"), 0]), body]);
  assertSnappyError(() => decodeWhole(badLen), /stream identifier/);
});

Deno.test("decoder: oversize and malformed chunks -> SnappyError", () => {
  const id = new Uint8Array(STREAM_ID);
  // Chunk length above golang/snappy's limit (MaxEncodedLen(65536) + 4 = 76494), any type: header suffices.
  for (const type of [0x00, 0x01, 0xfe]) {
    const dec = new SnappyFrameDecoder();
    dec.push(id);
    assertSnappyError(() => dec.push(new Uint8Array([type, 0xcf, 0x2a, 0x01])), /chunk length/); // 76495
  }
  const okDec = new SnappyFrameDecoder();
  okDec.push(id);
  assert.equal(okDec.push(new Uint8Array([0xfe, 0xce, 0x2a, 0x01])).length, 0); // 76494: accepted (skipped)
  // Uncompressed chunk carrying more than 65536 bytes.
  const big = new Uint8Array(65537);
  const bigChunk = chunk(0x01, concatAll([new Uint8Array(le32(maskedCrc32c(big))), big]));
  assertSnappyError(() => decodeWhole(concatAll([id, bigChunk])), /65536/);
  // Compressed block declaring more than 65536 bytes.
  const bigBlock = SnappyJS.compress(new Uint8Array(65537)) as Uint8Array;
  const bigC = chunk(0x00, concatAll([new Uint8Array(le32(maskedCrc32c(new Uint8Array(65537)))), bigBlock]));
  assertSnappyError(() => decodeWhole(concatAll([id, bigC])));
  // Data chunks shorter than their checksum.
  assertSnappyError(() => decodeWhole(concatAll([id, chunk(0x00, [1, 2, 3])])), /short/);
  assertSnappyError(() => decodeWhole(concatAll([id, chunk(0x01, [])])), /short/);
  // Garbage raw block (invalid varint / copy before any output).
  assertSnappyError(() =>
    decodeWhole(concatAll([id, chunk(0x00, [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]))
  );
  assertSnappyError(() => decodeWhole(concatAll([id, chunk(0x00, [0, 0, 0, 0, 0x04, 0x01, 0x05])])));
});

Deno.test("decoder: errors are sticky", () => {
  const dec = new SnappyFrameDecoder();
  assertSnappyError(() => dec.push(new Uint8Array([0x01, 0, 0, 0])));
  assertSnappyError(() => dec.push(new Uint8Array(STREAM_ID)));
});

// ---------------------------------------------------------------------------------------------------------------
// Optional interoperability with snappystream (native @napi-rs/snappy + @node-rs/crc32), when it loads.

interface Interop {
  SnappyStream: new () => NodeTransform;
  UnsnappyStream: new (verifyChecksums?: boolean) => NodeTransform;
  compressSync(b: Uint8Array): Uint8Array;
  uncompressSync(b: Uint8Array): Uint8Array;
  crc32c(b: Uint8Array): number;
}
interface NodeTransform {
  on(ev: string, fn: (arg: Uint8Array) => void): void;
  write(b: Uint8Array): void;
  end(): void;
}

async function loadInterop(): Promise<Interop | null> {
  try {
    // Non-literal specifiers: these are transitive (nsqjs) dependencies with native addons; optional here.
    const names = ["snappystream", "snappy", "@node-rs/crc32"];
    const [ss, sn, crc] = await Promise.all(names.map((n) => import(n)));
    const api: Interop = { ...ss, ...sn, crc32c: crc.crc32c };
    api.crc32c(new Uint8Array(1)); // native code actually loads
    return api;
  } catch {
    return null;
  }
}

const interop = await loadInterop();

function runTransform(t: NodeTransform, inputs: Uint8Array[]): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const out: Uint8Array[] = [];
    t.on("data", (d) => out.push(d));
    t.on("error", (e) => reject(e));
    t.on("end", () => resolve(concatAll(out)));
    for (const i of inputs) t.write(i);
    t.end();
  });
}

Deno.test({
  name: "interop: snappystream / native snappy agree with this codec",
  ignore: interop === null,
  async fn() {
    const lib = interop!;
    const inputs = [
      te.encode("OK"),
      repetitiveBytes(200 * 1024),
      randomBytes(70_000, 5),
      mixedBytes(150_000, 6),
      randomBytes(20, 8),
    ];
    for (const d of inputs) assert.equal(crc32c(d), lib.crc32c(d) >>> 0);
    // Our encoder -> snappystream decoder (with checksum verification).
    const enc = new SnappyFrameEncoder();
    const decoded = await runTransform(new lib.UnsnappyStream(true), inputs.map((d) => enc.encode(d)));
    assert.deepEqual(new Uint8Array(decoded), concatAll(inputs));
    // snappystream encoder -> our decoder.
    const theirs = await runTransform(new lib.SnappyStream(), inputs);
    assert.deepEqual(decodeWhole(new Uint8Array(theirs)), concatAll(inputs));
    assert.deepEqual(decodeRandomSplits(new Uint8Array(theirs), 3), concatAll(inputs));
    // Raw blocks: native compressor -> our chunk decoder; our compressed chunks -> native decompressor.
    for (const d of inputs.slice(0, 4)) {
      const piece = d.subarray(0, 65536);
      const block = lib.compressSync(piece);
      const stream = concatAll([
        new Uint8Array(STREAM_ID),
        chunk(0x00, concatAll([new Uint8Array(le32(maskedCrc32c(piece))), block])),
      ]);
      assert.deepEqual(decodeWhole(stream), piece);
      for (const c of parseChunks(new SnappyFrameEncoder().encode(d))) {
        if (c.type === 0x00) {
          const raw = new Uint8Array(lib.uncompressSync(c.payload.subarray(4)));
          assert.deepEqual(le32(maskedCrc32c(raw)), [...c.payload.subarray(0, 4)]);
        }
      }
    }
  },
});
