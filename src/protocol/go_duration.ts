/**
 * Go's `time.ParseDuration` and `time.Duration.String`, used by flags, config files and the text
 * `/stats` (uptime). Pure TypeScript, exact to Go's integer arithmetic (BigInt where Go uses int64).
 *
 * @module
 */

/** A duration string Go would reject; the message is Go's (`time: invalid duration "…"`). */
export class DurationError extends RangeError {
  override name = "DurationError";
}

// ---------------------------------------------------------------------------------------------------------
// Durations (time.ParseDuration / time.Duration.String)
// ---------------------------------------------------------------------------------------------------------

/** 1<<63: Go's bound for the magnitude of a duration, computed in uint64 arithmetic. */
export const TWO_63 = 1n << 63n;

const UNITS = new Map<string, bigint>([
  ["ns", 1n],
  ["us", 1_000n],
  ["\u00b5s", 1_000n], // U+00B5 MICRO SIGN
  ["\u03bcs", 1_000n], // U+03BC GREEK SMALL LETTER MU
  ["ms", 1_000_000n],
  ["s", 1_000_000_000n],
  ["m", 60_000_000_000n],
  ["h", 3_600_000_000_000n],
]);

/**
 * Parse Go duration syntax: an optional sign then one or more `<number><unit>` groups, where the number
 * may have a fraction (".5", "1.") and units are ns, us, µs, ms, s, m, h; "0" alone needs no unit.
 * Examples: "250ms", "1m0s", "1.5h", "-2s", "1h2m3.5s".
 *
 * Returns nanoseconds as a number (exact up to 2^53 ns ≈ 104 days; beyond that rounded, like the int64
 * it mirrors converted to float64). Range is Go's int64: ±9223372036854775807ns (-…808 allowed).
 *
 * @throws {DurationError} with Go's text: `time: invalid duration "<s>"`, `time: missing unit in duration
 *   "<s>"` or `time: unknown unit "<u>" in duration "<s>"` (non-ASCII bytes shown as \xNN, as Go does).
 */
export function parseDuration(s: string): number {
  const orig = s;
  const invalid = () => new DurationError(`time: invalid duration ${quoteTime(orig)}`);
  let d = 0n;
  let neg = false;

  if (s !== "" && (s[0] === "-" || s[0] === "+")) {
    neg = s[0] === "-";
    s = s.slice(1);
  }
  if (s === "0") return 0; // the only unitless form
  if (s === "") throw invalid();

  while (s !== "") {
    if (!(s[0] === "." || isDigit(s[0]))) throw invalid();

    // Integer part; unlike the fraction, overflowing it is an error.
    let v = 0n;
    let i = 0;
    for (; i < s.length && isDigit(s[i]); i++) {
      if (v > TWO_63 / 10n) throw invalid();
      v = v * 10n + BigInt(s.charCodeAt(i) - 48);
      if (v > TWO_63) throw invalid();
    }
    const pre = i > 0;
    s = s.slice(i);

    // Fraction: extra digits beyond int64 precision are silently ignored, as in Go's leadingFraction.
    let f = 0n;
    let scale = 1; // a float64 in Go too; the arithmetic below must round the same way
    let post = false;
    if (s !== "" && s[0] === ".") {
      s = s.slice(1);
      let j = 0;
      let overflow = false;
      for (; j < s.length && isDigit(s[j]); j++) {
        if (overflow) continue;
        if (f > (TWO_63 - 1n) / 10n) {
          overflow = true;
          continue;
        }
        const y = f * 10n + BigInt(s.charCodeAt(j) - 48);
        if (y > TWO_63) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = j > 0;
      s = s.slice(j);
    }
    if (!pre && !post) throw invalid(); // e.g. ".s" or "-.s"

    // The unit is everything up to the next digit or '.', so "1s " has unit "s " (unknown).
    let k = 0;
    while (k < s.length && !(s[k] === "." || isDigit(s[k]))) k++;
    if (k === 0) throw new DurationError(`time: missing unit in duration ${quoteTime(orig)}`);
    const u = s.slice(0, k);
    s = s.slice(k);
    const unit = UNITS.get(u);
    if (unit === undefined) {
      throw new DurationError(`time: unknown unit ${quoteTime(u)} in duration ${quoteTime(orig)}`);
    }

    if (v > TWO_63 / unit) throw invalid();
    v *= unit;
    if (f > 0n) {
      // Go: v += uint64(float64(f) * (float64(unit) / scale)) — float64 math, truncated toward zero.
      v += BigInt(Math.trunc(Number(f) * (Number(unit) / scale)));
      if (v > TWO_63) throw invalid();
    }
    d += v;
    if (d > TWO_63) throw invalid();
  }

  if (neg) return d === 0n ? 0 : -Number(d); // avoid returning -0 for "-0s"
  if (d > TWO_63 - 1n) throw invalid();
  return Number(d);
}

/**
 * Format nanoseconds the way Go's time.Duration.String() does: "0s", "250ms", "1m0s", "1h0m0s", "1.5s",
 * "2µs", "100ns", "-1h30m0s". Sub-second values use the largest fitting unit with a decimal fraction;
 * otherwise hours/minutes/seconds with days never used. Non-integers are truncated toward zero.
 *
 * @throws {RangeError} if `ns` is NaN or infinite.
 */
export function formatDuration(ns: number): string {
  if (!Number.isFinite(ns)) throw new RangeError(`formatDuration: not a finite duration: ${ns}`);
  let u = BigInt(Math.trunc(ns));
  const neg = u < 0n;
  if (neg) u = -u;

  let out: string;
  if (u < 1_000_000_000n) {
    if (u === 0n) return "0s";
    let prec: number;
    let unit: string;
    if (u < 1_000n) {
      prec = 0;
      unit = "ns";
    } else if (u < 1_000_000n) {
      prec = 3;
      unit = "\u00b5s"; // Go prints the MICRO SIGN, not "us"
    } else {
      prec = 6;
      unit = "ms";
    }
    const [frac, whole] = formatFraction(u, prec);
    out = `${whole}${frac}${unit}`;
  } else {
    const [frac, secs] = formatFraction(u, 9);
    out = `${secs % 60n}${frac}s`;
    const mins = secs / 60n;
    if (mins > 0n) {
      out = `${mins % 60n}m${out}`;
      const hours = mins / 60n;
      if (hours > 0n) out = `${hours}h${out}`; // hours are the largest unit: days vary in length
    }
  }
  return neg ? "-" + out : out;
}

/** Go's fmtFrac: [".fraction" without trailing zeros (or ""), v / 10**prec]. */
function formatFraction(v: bigint, prec: number): [string, bigint] {
  let digits = "";
  let print = false;
  for (let i = 0; i < prec; i++) {
    const digit = v % 10n;
    print ||= digit !== 0n;
    if (print) digits = digit.toString() + digits;
    v /= 10n;
  }
  return [print ? "." + digits : "", v];
}

/**
 * The time package's quote (it cannot import strconv): ASCII controls and every non-ASCII character
 * become \xNN per UTF-8 byte, so `1µ` is reported as "1\xc2\xb5".
 */
function quoteTime(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = normalizeCodePoint(ch);
    if (cp >= 0x80 || cp < 0x20) {
      for (const b of utf8Encode(cp)) out += "\\x" + hex(b, 2);
    } else {
      out += ch === '"' || ch === "\\" ? "\\" + ch : ch;
    }
  }
  return out + '"';
}

/** A lone UTF-16 surrogate cannot come from valid UTF-8; treat it as U+FFFD like a UTF-8 encoder would. */
function normalizeCodePoint(ch: string): number {
  const cp = ch.codePointAt(0)!;
  return cp >= 0xd800 && cp <= 0xdfff ? 0xfffd : cp;
}

function utf8Encode(cp: number): number[] {
  if (cp < 0x80) return [cp];
  if (cp < 0x800) return [0xc0 | (cp >> 6), 0x80 | (cp & 0x3f)];
  if (cp < 0x10000) return [0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
  return [0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 0x3f), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)];
}

function isDigit(c: string): boolean {
  return c >= "0" && c <= "9";
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}
