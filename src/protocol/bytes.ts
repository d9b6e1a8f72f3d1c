/**
 * The byte copy of the hot paths (message bodies into slabs, messages onto the wire and to disk),
 * picked per runtime by measurement (100-byte copies, ns per copy, this machine class):
 *
 * |                                   | Deno (V8) | Bun (JavaScriptCore) |
 * |-----------------------------------|-----------|----------------------|
 * | `dst.set(src.subarray(a, b), at)` | ~55       | ~115                 |
 * | `Buffer.prototype.copy`           | ~70       | ~45                  |
 * | a byte loop                       | ~170      | ~180                 |
 *
 * A typed-array view is cheap to make on V8 and costly on JavaScriptCore (`subarray` was the top
 * entry of Bun's profile), while Bun's `Buffer#copy` copies without making one.
 *
 * It lives with the codecs, not in `src/platform/`: it calls no Deno or Bun API (`node:buffer` works
 * in both; the choice only asks whether `Bun` is a global), and `message.ts` encodes with it, so the
 * codecs stay free of the platform shim while keeping the fast copy on both runtimes.
 */
import { Buffer } from "node:buffer";

type CopyFn = (src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number) => void;

const bufferCopy = Buffer.prototype.copy;

const viaBufferCopy: CopyFn = (src, start, end, dst, at) => {
  bufferCopy.call(src, dst, at, start, end);
};

const viaSubarray: CopyFn = (src, start, end, dst, at) => {
  dst.set(src.subarray(start, end), at);
};

/** Both implementations, for tests. */
export const copyImplementations: Record<string, CopyFn> = {
  bufferCopy: viaBufferCopy,
  subarray: viaSubarray,
};

/** Copies `src[start..end)` to `dst` at `at` (both must have room; no overlap). */
export const copyBytes: CopyFn = "Bun" in globalThis ? viaBufferCopy : viaSubarray;

/**
 * `parts` joined into one array (`total`: their summed length, when the caller keeps it); a single
 * part is returned as it is, not copied.
 */
export function concatBytes(parts: readonly Uint8Array[], total?: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  if (total === undefined) {
    total = 0;
    for (const p of parts) total += p.length;
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
