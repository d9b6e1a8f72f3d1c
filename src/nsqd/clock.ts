/**
 * The monotonic clock of deadlines (in-flight and deferred messages, TOUCH): whole milliseconds since
 * the process started. It stays a small integer for 24 days (a double after that: still right, a
 * little slower on V8), where a Date.now() deadline would make every message's deadline field a boxed
 * double on V8.
 *
 * Reading the clock is an op call on Deno (a measurable cost per message), so the broker holds one
 * reading while it handles a read or a dispatch batch: every message delivered meanwhile gets the
 * same time, as they would within one Go scheduler tick.
 */

let held = -1;
let depth = 0;

/**
 * `x` (an integer) as an int32 when it fits. A number computed from a double (a parsed duration,
 * Math.floor of a clock reading) may be an integral value still boxed as a double; stored in a field
 * of a message, one such value turns that field of every message into a boxed double on V8.
 */
export function smallInt(x: number): number {
  return x <= 0x7fffffff && x >= -0x80000000 ? x | 0 : x;
}

function read(): number {
  return smallInt(Math.floor(performance.now()));
}

/** Now, in whole ms since the process started (the held reading, if any). */
export function monoMs(): number {
  return held >= 0 ? held : read();
}

/** Reads the clock once and keeps that reading until the matching `releaseClock()`. Nests. */
export function holdClock(): void {
  if (depth++ === 0) held = read();
}

export function releaseClock(): void {
  if (--depth === 0) held = -1;
}
