import assert from "node:assert/strict";
import { copyBytes, copyImplementations } from "../../src/protocol/bytes.ts";

for (const [name, copy] of [["copyBytes", copyBytes], ...Object.entries(copyImplementations)] as const) {
  Deno.test(`${name} copies a range into another array at an offset, and nothing else`, () => check(copy));
}

function check(
  copyBytes: (src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number) => void,
) {
  const src = new Uint8Array(300).map((_, i) => i & 255);
  for (const [start, end, at] of [[0, 0, 0], [5, 6, 0], [10, 46, 7], [100, 300, 1], [0, 300, 0]]) {
    const dst = new Uint8Array(310).fill(0xee);
    copyBytes(src, start, end, dst, at);
    assert.deepEqual([...dst.subarray(at, at + end - start)], [...src.subarray(start, end)]);
    assert.ok(dst.subarray(0, at).every((b) => b === 0xee), "bytes before are untouched");
    assert.ok(dst.subarray(at + end - start).every((b) => b === 0xee), "bytes after are untouched");
  }
  // Views with their own byte offsets.
  const a = new Uint8Array(64).map((_, i) => i).subarray(8);
  const b = new Uint8Array(64).subarray(16);
  copyBytes(a, 2, 10, b, 3);
  assert.deepEqual([...b.subarray(3, 11)], [10, 11, 12, 13, 14, 15, 16, 17]);
}
