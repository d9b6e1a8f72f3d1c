/**
 * Snappy *framing* (stream) format codec, as used by nsqd after a client negotiates `"snappy": true` in
 * IDENTIFY (`golang/snappy` `NewReader` / `NewWriter` wrapping both directions of the TCP stream).
 *
 * Stream layout (google/snappy `framing_format.txt`): a stream identifier chunk `ff 06 00 00 "sNaPpY"`, then
 * chunks of `type (1 byte) | length (3 bytes LE) | payload`. Type `0x00` = compressed data (masked CRC-32C of the
 * uncompressed data, LE, then a raw snappy block), `0x01` = uncompressed data (masked CRC-32C, raw bytes),
 * `0xfe` padding and `0x80`-`0xfd` are skipped, `0x02`-`0x7f` are reserved unskippable (an error).
 *
 * Raw snappy blocks are compressed / decompressed with the pure-JS `snappyjs` package; this module adds the
 * framing layer, CRC-32C and the strictness of `golang/snappy`'s Reader.
 *
 * @module
 */

// snappyjs's inner classes are used directly (version pinned): its `compress`/`uncompress` wrappers cost two
// extra allocations plus Buffer/process probing per call, which dominates for small NSQ frames (≈3x slower).
import { SnappyCompressor } from "snappyjs/snappy_compressor.js";
import { SnappyDecompressor } from "snappyjs/snappy_decompressor.js";
import { concatBytes } from "./bytes.ts";

/** Error raised for a corrupt or unsupported snappy framed stream. */
export class SnappyError extends Error {
  /** Creates a SnappyError with the given message. */
  constructor(message: string) {
    super(message);
    this.name = "SnappyError";
  }
}

// ---------------------------------------------------------------------------------------------------------------
// CRC-32C (Castagnoli), reflected polynomial 0x82f63b78, slicing-by-8 tables.

const CRC_TABLES: Int32Array = (() => {
  const t = new Int32Array(8 * 256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c;
  }
  for (let i = 0; i < 256; i++) {
    let c = t[i];
    for (let s = 1; s < 8; s++) {
      c = t[c & 0xff] ^ (c >>> 8);
      t[s * 256 + i] = c;
    }
  }
  return t;
})();

function crc32cRange(data: Uint8Array, start: number, end: number): number {
  const t = CRC_TABLES;
  let crc = -1;
  let i = start;
  const end8 = end - ((end - start) & 7);
  while (i < end8) {
    const a = crc ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24));
    crc = t[1792 + (a & 0xff)] ^ t[1536 + ((a >>> 8) & 0xff)] ^ t[1280 + ((a >>> 16) & 0xff)] ^
      t[1024 + (a >>> 24)] ^ t[768 + data[i + 4]] ^ t[512 + data[i + 5]] ^ t[256 + data[i + 6]] ^
      t[data[i + 7]];
    i += 8;
  }
  while (i < end) crc = t[(crc ^ data[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

function maskCrc(crc: number): number {
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** CRC-32C (Castagnoli) of `data`, as an unsigned 32-bit integer (`crc32c("123456789") === 0xe3069283`). */
export function crc32c(data: Uint8Array): number {
  return crc32cRange(data, 0, data.length);
}

/** The masked CRC-32C stored in snappy framed chunks: `((crc >>> 15) | (crc << 17)) + 0xa282ead8` (uint32). */
export function maskedCrc32c(data: Uint8Array): number {
  return maskCrc(crc32cRange(data, 0, data.length));
}

// ---------------------------------------------------------------------------------------------------------------
// Framing constants (values as in golang/snappy).

const CHUNK_COMPRESSED = 0x00;
const CHUNK_UNCOMPRESSED = 0x01;
const CHUNK_STREAM_IDENTIFIER = 0xff;
/** Maximum uncompressed bytes in one data chunk. */
const MAX_BLOCK_SIZE = 65536;
/** golang/snappy `MaxEncodedLen(65536) + checksumSize`: the Reader rejects longer chunks (any type). */
const MAX_CHUNK_LEN = 32 + MAX_BLOCK_SIZE + Math.floor(MAX_BLOCK_SIZE / 6) + 4;
/** Inputs shorter than this are encoded by golang/snappy as a single literal, which never pays off. */
const MIN_NON_LITERAL_BLOCK_SIZE = 17;

/** The stream identifier chunk: `ff 06 00 00 73 4e 61 50 70 59` (`"sNaPpY"`). */
// deno-fmt-ignore
export const SNAPPY_STREAM_IDENTIFIER: Uint8Array = new Uint8Array([
  0xff, 0x06, 0x00, 0x00, 0x73, 0x4e, 0x61, 0x50, 0x70, 0x59,
]);

/** Copies `src[start, end)` into a fresh plain Uint8Array (never a view, even when `src` is a Node Buffer). */
function copyRange(src: Uint8Array, start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start);
  out.set(src.subarray(start, end));
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Decoder

/**
 * Streaming decoder of the snappy framing format (the equivalent of `golang/snappy`'s `Reader`): feed raw bytes
 * as they arrive, get the uncompressed bytes of every chunk completed so far.
 *
 * Works chunk by chunk whatever the input split (whole stream, byte by byte, or arbitrary pieces); incomplete
 * chunks are buffered (at most one chunk, ≤ 76,494 bytes + header). Errors are sticky: after a `SnappyError`,
 * every further `push` throws the same error.
 *
 * @example
 * ```ts
 * import { SnappyFrameDecoder, SnappyFrameEncoder } from "./snappy.ts";
 * const wire = new SnappyFrameEncoder().encode(new TextEncoder().encode("OK"));
 * const dec = new SnappyFrameDecoder();
 * const head = dec.push(wire.subarray(0, 5)); // stream identifier incomplete: nothing yet
 * const rest = dec.push(wire.subarray(5));
 * console.log(head.length, new TextDecoder().decode(rest)); // 0 "OK"
 * ```
 */
export class SnappyFrameDecoder {
  /** Holds one partial chunk; allocated on first need (most pushes end on a chunk boundary). */
  #buf: Uint8Array | null = null;
  #bufLen = 0;
  /** Total length (header included) of the chunk being buffered, or -1 while its header is incomplete. */
  #need = -1;
  #readHeader = false;
  #error: SnappyError | null = null;
  #out: Uint8Array[] = [];
  #outLen = 0;

  /**
   * Consumes `chunk` (raw bytes from the wire) and returns the uncompressed data contained in the chunks
   * completed so far (possibly empty); a trailing partial chunk is kept for the next call. The returned array
   * is freshly allocated and never aliases `chunk`.
   *
   * @throws {SnappyError} on a corrupt stream: missing/invalid stream identifier, bad CRC, undecodable block,
   *   reserved unskippable chunk type (0x02-0x7f), or a chunk longer than golang/snappy accepts.
   */
  push(chunk: Uint8Array): Uint8Array {
    if (this.#error) throw this.#error;
    try {
      this.#consume(chunk);
    } catch (e) {
      this.#out = [];
      this.#outLen = 0;
      this.#error = e instanceof SnappyError ? e : new SnappyError(`snappy: corrupt input (${e})`);
      throw this.#error;
    }
    if (this.#outLen === 0) return new Uint8Array(0);
    const result = concatBytes(this.#out, this.#outLen);
    this.#out = [];
    this.#outLen = 0;
    return result;
  }

  #consume(data: Uint8Array): void {
    const end = data.length;
    let pos = 0;
    // 1. Complete a chunk left partial by a previous push.
    if (this.#bufLen > 0) {
      const buf = this.#buf!;
      if (this.#need < 0) {
        const n = Math.min(4 - this.#bufLen, end);
        buf.set(data.subarray(0, n), this.#bufLen);
        this.#bufLen += n;
        pos = n;
        if (this.#bufLen < 4) return;
        this.#need = 4 + this.#checkHeader(buf, 0);
      }
      const n = Math.min(this.#need - this.#bufLen, end - pos);
      buf.set(data.subarray(pos, pos + n), this.#bufLen);
      this.#bufLen += n;
      pos += n;
      if (this.#bufLen < this.#need) return;
      this.#handleChunk(buf, 0, this.#need);
      this.#bufLen = 0;
      this.#need = -1;
    }
    // 2. Decode complete chunks directly from the input.
    while (end - pos >= 4) {
      const len = this.#checkHeader(data, pos);
      if (pos + 4 + len > end) {
        this.#need = 4 + len;
        break;
      }
      this.#handleChunk(data, pos, 4 + len);
      pos += 4 + len;
    }
    // 3. Keep the remainder (a partial chunk) for next time.
    if (pos < end) {
      this.#buf ??= new Uint8Array(4 + MAX_CHUNK_LEN);
      this.#buf.set(data.subarray(pos, end), 0);
      this.#bufLen = end - pos;
    }
  }

  /** Validates the 4-byte chunk header at `p` and returns the payload length. */
  #checkHeader(b: Uint8Array, p: number): number {
    const type = b[p];
    const len = b[p + 1] | (b[p + 2] << 8) | (b[p + 3] << 16);
    if (!this.#readHeader) {
      if (type !== CHUNK_STREAM_IDENTIFIER) {
        throw new SnappyError("snappy: corrupt input (missing stream identifier)");
      }
      this.#readHeader = true;
    }
    if (len > MAX_CHUNK_LEN) {
      throw new SnappyError(`snappy: unsupported input (chunk length ${len} > ${MAX_CHUNK_LEN})`);
    }
    if (type >= 0x02 && type <= 0x7f) {
      throw new SnappyError(
        `snappy: unsupported input (reserved unskippable chunk type 0x${type.toString(16)})`,
      );
    }
    return len;
  }

  /** Handles the whole chunk `b[p, p + total)` (header included; header already validated). */
  #handleChunk(b: Uint8Array, p: number, total: number): void {
    const type = b[p];
    const body = p + 4;
    const end = p + total;
    switch (type) {
      case CHUNK_COMPRESSED: {
        if (total - 4 < 4) throw new SnappyError("snappy: corrupt input (short compressed chunk)");
        const want = readLE32(b, body);
        const decoded = decodeBlock(b.subarray(body + 4, end));
        if (maskCrc(crc32cRange(decoded, 0, decoded.length)) !== want) {
          throw new SnappyError("snappy: corrupt input (checksum mismatch)");
        }
        if (decoded.length > 0) {
          this.#out.push(decoded);
          this.#outLen += decoded.length;
        }
        return;
      }
      case CHUNK_UNCOMPRESSED: {
        if (total - 4 < 4) throw new SnappyError("snappy: corrupt input (short uncompressed chunk)");
        if (total - 8 > MAX_BLOCK_SIZE) {
          throw new SnappyError("snappy: corrupt input (uncompressed chunk larger than 65536 bytes)");
        }
        const want = readLE32(b, body);
        if (maskCrc(crc32cRange(b, body + 4, end)) !== want) {
          throw new SnappyError("snappy: corrupt input (checksum mismatch)");
        }
        if (end > body + 4) {
          this.#out.push(copyRange(b, body + 4, end));
          this.#outLen += end - body - 4;
        }
        return;
      }
      case CHUNK_STREAM_IDENTIFIER: {
        if (total - 4 !== 6) throw new SnappyError("snappy: corrupt input (bad stream identifier length)");
        for (let i = 4; i < 10; i++) {
          if (b[p + i] !== SNAPPY_STREAM_IDENTIFIER[i]) {
            throw new SnappyError("snappy: corrupt input (bad stream identifier)");
          }
        }
        return;
      }
      default:
        // 0xfe padding and 0x80-0xfd reserved skippable chunks: ignored.
        return;
    }
  }
}

/** Decodes one raw snappy block of at most 65536 bytes (snappyjs; the chunk CRC catches what it misses). */
function decodeBlock(block: Uint8Array): Uint8Array {
  const d = new SnappyDecompressor(block);
  const n: number = d.readUncompressedLength();
  if (n < 0) throw new SnappyError("snappy: corrupt input (bad block length)");
  if (n > MAX_BLOCK_SIZE) {
    throw new SnappyError(`snappy: corrupt input (block length ${n} > ${MAX_BLOCK_SIZE})`);
  }
  const out = new Uint8Array(n);
  if (!d.uncompressToBuffer(out)) throw new SnappyError("snappy: corrupt input (invalid block)");
  return out;
}

function readLE32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

// ---------------------------------------------------------------------------------------------------------------
// Encoder

/**
 * Encoder of the snappy framing format matching `golang/snappy`'s unbuffered `NewWriter` (what nsqd uses):
 * every `encode` call corresponds to one `Write` — the stream identifier precedes the first non-empty write,
 * the input is split into pieces of at most 65,536 bytes, and each piece becomes a compressed chunk (0x00) if
 * its compressed form is shorter than `len - floor(len / 8)`, else an uncompressed chunk (0x01). An empty write
 * produces no bytes (and does not emit the stream identifier).
 *
 * Raw blocks come from `snappyjs`, whose encoder differs in detail from Go's, so compressed payloads are valid
 * but not byte-identical to Go's output; pieces shorter than 17 bytes are always sent uncompressed, exactly as
 * Go does.
 *
 * @example
 * ```ts
 * import { SnappyFrameEncoder } from "./snappy.ts";
 * const enc = new SnappyFrameEncoder();
 * const first = enc.encode(new TextEncoder().encode("OK")); // 10-byte identifier + 10-byte chunk
 * console.log(first.length, first[10]); // 20 1
 * ```
 */
export class SnappyFrameEncoder {
  #wroteStreamHeader = false;

  /** Encodes one write (prefixed by the stream identifier on the first non-empty call). */
  encode(data: Uint8Array): Uint8Array {
    const n = data.length;
    if (n === 0) return new Uint8Array(0);
    const header = this.#wroteStreamHeader ? 0 : SNAPPY_STREAM_IDENTIFIER.length;
    this.#wroteStreamHeader = true;

    if (n <= MAX_BLOCK_SIZE) {
      // Common case: one chunk, compressed into the scratch buffer then copied once into the result.
      const clen = compressPiece(data);
      const body = clen > 0 ? scratch!.subarray(0, clen) : data;
      const out = new Uint8Array(header + 8 + body.length);
      if (header) out.set(SNAPPY_STREAM_IDENTIFIER, 0);
      writeChunk(out, header, clen > 0 ? CHUNK_COMPRESSED : CHUNK_UNCOMPRESSED, data, body);
      return out;
    }

    const parts: Uint8Array[] = [];
    let total = 0;
    if (header) {
      parts.push(SNAPPY_STREAM_IDENTIFIER);
      total += header;
    }
    for (let p = 0; p < n; p += MAX_BLOCK_SIZE) {
      const piece = data.subarray(p, Math.min(n, p + MAX_BLOCK_SIZE));
      const clen = compressPiece(piece);
      const body = clen > 0 ? scratch!.subarray(0, clen) : piece;
      const c = new Uint8Array(8 + body.length);
      writeChunk(c, 0, clen > 0 ? CHUNK_COMPRESSED : CHUNK_UNCOMPRESSED, piece, body);
      parts.push(c);
      total += c.length;
    }
    return concatBytes(parts, total);
  }
}

/** Shared output buffer of the block compressor (`MaxEncodedLen(65536)`); the codec is synchronous. */
let scratch: Uint8Array | null = null;

/**
 * Compresses `piece` (≤ 65536 bytes) into `scratch` and returns the block length, or 0 when golang/snappy's
 * Writer would send the piece uncompressed (block not shorter than `len - floor(len / 8)`).
 */
function compressPiece(piece: Uint8Array): number {
  const len = piece.length;
  if (len < MIN_NON_LITERAL_BLOCK_SIZE) return 0;
  scratch ??= new Uint8Array(MAX_CHUNK_LEN - 4);
  const clen: number = new SnappyCompressor(piece).compressToBuffer(scratch);
  return clen >= len - Math.floor(len / 8) ? 0 : clen;
}

/** Writes chunk header, masked CRC of `uncompressed`, and `body` at `out[off]`; returns the end offset. */
function writeChunk(
  out: Uint8Array,
  off: number,
  type: number,
  uncompressed: Uint8Array,
  body: Uint8Array,
): number {
  const crc = maskCrc(crc32cRange(uncompressed, 0, uncompressed.length));
  const chunkLen = 4 + body.length;
  out[off] = type;
  out[off + 1] = chunkLen & 0xff;
  out[off + 2] = (chunkLen >>> 8) & 0xff;
  out[off + 3] = (chunkLen >>> 16) & 0xff;
  out[off + 4] = crc & 0xff;
  out[off + 5] = (crc >>> 8) & 0xff;
  out[off + 6] = (crc >>> 16) & 0xff;
  out[off + 7] = crc >>> 24;
  out.set(body, off + 8);
  return off + 8 + body.length;
}
