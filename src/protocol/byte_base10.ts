/**
 * nsq's `protocol.ByteToBase10`: unsigned decimal digits only, no sign; the empty string is 0.
 * Returns -1 when any byte is not a digit.
 */
export function byteToBase10(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const d = bytes[i] - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}
