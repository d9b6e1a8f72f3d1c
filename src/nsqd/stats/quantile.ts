/**
 * End-to-end processing latency quantiles (nsq `internal/quantile`, `internal/stringy.NanoSecondToHuman`).
 *
 * - {@link TargetedStream}: the targeted-quantile stream of `github.com/bmizerany/perks/quantile` (the CKMS
 *   algorithm, "Effective Computation of Biased Quantiles over Data Streams"), with a 500-value insert
 *   buffer that is sorted, merged into the summary and compressed whenever it fills up.
 * - {@link Quantile}: nsq's windowed estimator; two streams, the older one cleared every `window / 2`,
 *   rotated lazily (on insert and on result) against an injectable nanosecond clock; no timers.
 * - {@link mergeQuantiles}: how nsqd builds a topic's latency from its channels' (sample merging).
 * - {@link nanoSecondToHuman} / {@link resultToString}: the `e2e%: ...` text of `/stats?format=text`.
 */

/** One summary tuple of the stream: a value, the rank width it stands for, and its rank uncertainty. */
export interface Sample {
  value: number;
  width: number;
  delta: number;
}

/** One entry of {@link QuantileResult.percentiles}: a configured quantile and its estimated value in ns. */
export interface PercentileValue {
  quantile: number;
  value: number;
}

/**
 * nsq's `quantile.Result`, JSON-shaped as upstream: `{"count":N,"percentiles":[{"quantile":q,"value":ns}]}`;
 * `percentiles` is null when there is no estimator at all (Go's `Result()` on a nil `*Quantile`).
 */
export interface QuantileResult {
  count: number;
  percentiles: PercentileValue[] | null;
}

/** A clock returning the current time in nanoseconds since the Unix epoch. */
export type NanoClock = () => number;

/** perks' default error bound, which nsq uses for every percentile (it never calls `SetEpsilon`). */
export const DEFAULT_EPSILON = 0.01;

/** Capacity of perks' insert buffer: a flush (sort, merge, compress) happens every this many inserts. */
export const STREAM_BUFFER_SIZE = 500;

/** `Date.now()` in nanoseconds (millisecond resolution). */
export const systemClockNs: NanoClock = () => Date.now() * 1e6;

/**
 * A targeted-quantile stream: estimates the configured quantiles of an unbounded series of numbers in
 * bounded memory, each within its own rank error bound (perks `quantile.NewTargeted`).
 */
export class TargetedStream {
  readonly #quantiles: Float64Array;
  readonly #epsilons: Float64Array;

  // Insert buffer (every buffered value has width 1).
  readonly #buf = new Float64Array(STREAM_BUFFER_SIZE);
  #bufLen = 0;
  #bufSorted = true;

  // The summary, ascending by value, as parallel arrays; `#n` is the total width it stands for.
  #vals = new Float64Array(64);
  #widths = new Float64Array(64);
  #deltas = new Float64Array(64);
  #len = 0;
  #n = 0;

  // Merge output, swapped with the summary after each merge so steady state allocates nothing.
  #vals2 = new Float64Array(64);
  #widths2 = new Float64Array(64);
  #deltas2 = new Float64Array(64);

  /**
   * Creates a stream for the given targets.
   * @param targets quantile (in [0, 1]) to its allowed rank error epsilon (>= 0), as in the map form of
   *   `NewTargeted`; nsq's equivalent is every configured percentile with {@link DEFAULT_EPSILON}.
   */
  constructor(targets: ReadonlyMap<number, number> | Iterable<readonly [number, number]>) {
    const entries = [...targets];
    this.#quantiles = new Float64Array(entries.length);
    this.#epsilons = new Float64Array(entries.length);
    entries.forEach(([q, e], i) => {
      if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile target must be in [0, 1]: ${q}`);
      if (!(e >= 0 && e < Infinity)) throw new RangeError(`epsilon must be finite and >= 0: ${e}`);
      this.#quantiles[i] = q;
      this.#epsilons[i] = e;
    });
  }

  /**
   * Creates a stream targeting `quantiles`, all with the same error bound (perks' variadic `NewTargeted`).
   * @param quantiles the quantiles to track, each in [0, 1]
   * @param epsilon the rank error bound for every quantile
   */
  static forQuantiles(quantiles: Iterable<number>, epsilon: number = DEFAULT_EPSILON): TargetedStream {
    return new TargetedStream([...quantiles].map((q) => [q, epsilon] as const));
  }

  /**
   * Adds one observation (O(1) and allocation-free except when the buffer fills and is flushed).
   * @param v the observed value
   */
  insert(v: number): void {
    this.#buf[this.#bufLen++] = v;
    this.#bufSorted = false;
    if (this.#bufLen === STREAM_BUFFER_SIZE) {
      this.#flush();
      this.#compress();
    }
  }

  /**
   * Estimates the value at quantile `q` (which should be one of the targets), 0 when the stream is empty.
   * @param q the quantile, in [0, 1]
   */
  query(q: number): number {
    if (this.#len === 0) {
      // Nothing flushed yet: read the (sorted) buffer directly, exactly as perks does.
      const l = this.#bufLen;
      if (l === 0) return 0;
      let i = Math.trunc(l * q);
      if (i > 0) i--;
      if (i >= l) i = l - 1;
      this.#sortBuffer();
      return this.#buf[i];
    }
    this.#flush();
    return this.#querySummary(q);
  }

  /** Returns the number of observations the stream stands for (buffered plus summarised). */
  count(): number {
    return this.#bufLen + Math.trunc(this.#n);
  }

  /** Empties the stream, keeping its memory. */
  reset(): void {
    this.#bufLen = 0;
    this.#bufSorted = true;
    this.#len = 0;
    this.#n = 0;
  }

  /**
   * Returns a copy of the stream's samples: the raw buffered values (width 1) if nothing has been flushed
   * yet, otherwise the summary after flushing and compressing the buffer into it (as perks does).
   */
  samples(): Sample[] {
    if (this.#len === 0) {
      const out: Sample[] = new Array(this.#bufLen);
      for (let i = 0; i < this.#bufLen; i++) out[i] = { value: this.#buf[i], width: 1, delta: 0 };
      return out;
    }
    this.#flush();
    this.#compress();
    const out: Sample[] = new Array(this.#len);
    for (let i = 0; i < this.#len; i++) {
      out[i] = { value: this.#vals[i], width: this.#widths[i], delta: this.#deltas[i] };
    }
    return out;
  }

  /**
   * Merges another stream's samples (from {@link samples}) into this stream's summary, without compressing.
   * @param samples the samples to merge, in any order; their deltas are ignored, as in perks
   */
  merge(samples: readonly Sample[]): void {
    const count = samples.length;
    if (count === 0) return;
    const sorted = samples.slice().sort((a, b) => a.value - b.value);
    const vals = new Float64Array(count);
    const widths = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      vals[i] = sorted[i].value;
      widths[i] = sorted[i].width;
    }
    this.#mergeSorted(vals, widths, count);
  }

  /** The targeted invariant f(r): the most rank uncertainty allowed at rank r for the current total. */
  #invariant(r: number): number {
    const n = this.#n;
    const qs = this.#quantiles;
    const es = this.#epsilons;
    let m = Number.MAX_VALUE; // Go starts from math.MaxFloat64; NaN candidates never win a `<`.
    for (let i = 0; i < qs.length; i++) {
      const q = qs[i];
      const f = q * n <= r ? (2 * es[i] * r) / q : (2 * es[i] * (n - r)) / (1 - q);
      if (f < m) m = f;
    }
    return m;
  }

  #sortBuffer(): void {
    if (!this.#bufSorted) {
      this.#buf.subarray(0, this.#bufLen).sort();
      this.#bufSorted = true;
    }
  }

  #flush(): void {
    if (this.#bufLen === 0) return;
    this.#sortBuffer();
    this.#mergeSorted(this.#buf, null, this.#bufLen);
    this.#bufLen = 0;
  }

  /**
   * Merges ascending values into the summary. Like perks, a new value goes after existing equal values;
   * inserted before an existing value it gets delta floor(f(r)) - 1 where r is the total width of the
   * existing samples before it (values merged earlier in the same pass are not counted) and f uses the
   * total width so far; appended at the end it gets delta 0.
   */
  #mergeSorted(vals: Float64Array, widths: Float64Array | null, count: number): void {
    const len = this.#len;
    this.#ensureScratch(len + count);
    const sv = this.#vals, sw = this.#widths, sd = this.#deltas;
    const ov = this.#vals2, ow = this.#widths2, od = this.#deltas2;
    let i = 0;
    let o = 0;
    let r = 0;
    for (let k = 0; k < count; k++) {
      const v = vals[k];
      const w = widths === null ? 1 : widths[k];
      while (i < len && !(sv[i] > v)) {
        ov[o] = sv[i];
        ow[o] = sw[i];
        od[o] = sd[i];
        r += sw[i];
        i++;
        o++;
      }
      ov[o] = v;
      ow[o] = w;
      od[o] = i < len ? Math.floor(this.#invariant(r)) - 1 : 0;
      o++;
      this.#n += w;
    }
    while (i < len) {
      ov[o] = sv[i];
      ow[o] = sw[i];
      od[o] = sd[i];
      i++;
      o++;
    }
    this.#vals = ov;
    this.#widths = ow;
    this.#deltas = od;
    this.#vals2 = sv;
    this.#widths2 = sw;
    this.#deltas2 = sd;
    this.#len = o;
  }

  /** Grows the merge output arrays (doubling) so they can hold `size` samples. */
  #ensureScratch(size: number): void {
    if (this.#vals2.length >= size) return;
    let cap = Math.max(this.#vals2.length, 64);
    while (cap < size) cap *= 2;
    this.#vals2 = new Float64Array(cap);
    this.#widths2 = new Float64Array(cap);
    this.#deltas2 = new Float64Array(cap);
  }

  /**
   * Walks the summary from the top, folding a sample into its successor while their combined width plus
   * the successor's delta stays within f(r); survivors are compacted towards the end, then moved to the front.
   */
  #compress(): void {
    const len = this.#len;
    if (len < 2) return;
    const v = this.#vals, w = this.#widths, d = this.#deltas;
    let x = len - 1;
    let r = this.#n - 1 - w[x];
    for (let i = len - 2; i >= 0; i--) {
      const cw = w[i];
      if (cw + w[x] + d[x] <= this.#invariant(r)) {
        w[x] += cw;
      } else {
        x--;
        v[x] = v[i];
        w[x] = cw;
        d[x] = d[i];
      }
      r -= cw;
    }
    if (x > 0) {
      v.copyWithin(0, x, len);
      w.copyWithin(0, x, len);
      d.copyWithin(0, x, len);
    }
    this.#len = len - x;
  }

  #querySummary(q: number): number {
    const v = this.#vals, w = this.#widths, d = this.#deltas;
    let t = Math.ceil(q * this.#n);
    t += Math.ceil(this.#invariant(t) / 2);
    let p = 0;
    let r = 0;
    for (let c = 1; c < this.#len; c++) {
      if (r + w[c] + d[c] > t) return v[p];
      r += w[p];
      p = c;
    }
    return v[p];
  }
}

/**
 * nsq's windowed latency estimator: two targeted streams, the current one receiving inserts; every
 * `window / 2` the roles swap and the new current one is cleared, so results cover between half a window
 * and a whole window of history.
 */
export class Quantile {
  /** The tracked quantiles, in the order results report them (nsq's flag parsing sorts them descending). */
  readonly percentiles: readonly number[];
  /** The window, in milliseconds, as given. */
  readonly windowMs: number;
  /** Half the window, in nanoseconds: how often the older stream is discarded. */
  readonly moveWindowNs: number;
  /** The time source, in nanoseconds since the epoch. */
  readonly clock: NanoClock;

  readonly #streams: [TargetedStream, TargetedStream];
  #current = 0;
  #lastMoveWindowNs: number;

  /**
   * Creates an estimator whose window starts now.
   * @param windowMs `--e2e-processing-latency-window-time` in milliseconds (must be > 0)
   * @param percentiles `--e2e-processing-latency-percentile` values, each in (0, 1]
   * @param clock the time source, in nanoseconds since the epoch (defaults to `Date.now()`)
   */
  constructor(windowMs: number, percentiles: readonly number[], clock: NanoClock = systemClockNs) {
    // Go would spin forever on a zero window (lastMoveWindow never advances); refuse it instead.
    if (!(windowMs > 0 && windowMs < Infinity)) throw new RangeError(`window must be > 0ms: ${windowMs}`);
    this.percentiles = [...percentiles];
    this.windowMs = windowMs;
    this.moveWindowNs = (windowMs * 1e6) / 2;
    this.clock = clock;
    this.#streams = [
      TargetedStream.forQuantiles(this.percentiles),
      TargetedStream.forQuantiles(this.percentiles),
    ];
    this.#lastMoveWindowNs = clock();
  }

  /**
   * Records one message's end-to-end latency, `now - timestamp` in nanoseconds (called on every FIN).
   * @param timestampNs the message's creation timestamp, in nanoseconds since the epoch
   * @param nowNs the current time in nanoseconds (defaults to the injected clock)
   */
  insert(timestampNs: number, nowNs: number = this.clock()): void {
    if (nowNs > this.#lastMoveWindowNs + this.moveWindowNs) this.#rotate(nowNs);
    this.#streams[this.#current].insert(nowNs - timestampNs);
  }

  /**
   * Estimates every configured percentile over both streams (after rotating out stale data), as nsq's
   * `Quantile.Result`.
   * @param nowNs the current time in nanoseconds (defaults to the injected clock)
   */
  result(nowNs: number = this.clock()): QuantileResult {
    if (nowNs > this.#lastMoveWindowNs + this.moveWindowNs) this.#rotate(nowNs);
    const merged = TargetedStream.forQuantiles(this.percentiles);
    merged.merge(this.#streams[0].samples());
    merged.merge(this.#streams[1].samples());
    return {
      count: merged.count(),
      percentiles: this.percentiles.map((quantile) => ({ quantile, value: merged.query(quantile) })),
    };
  }

  /**
   * Merges another estimator's samples into this one, current stream into current and previous into
   * previous, then adopts the later window start of the two (nsq's `Quantile.Merge`). Like upstream, the
   * other estimator is not rotated first; nsqd computes channel results (which rotate) before the topic's.
   * @param other the estimator to read from (its streams get flushed and compressed, not emptied)
   */
  merge(other: Quantile): void {
    const us = this.#current;
    const them = other.#current;
    this.#streams[us].merge(other.#streams[them].samples());
    this.#streams[us ^ 1].merge(other.#streams[them ^ 1].samples());
    if (this.#lastMoveWindowNs < other.#lastMoveWindowNs) this.#lastMoveWindowNs = other.#lastMoveWindowNs;
  }

  /** Applies every pending window move: swap streams, advance the window start, clear the new current. */
  #rotate(nowNs: number): void {
    const move = this.moveWindowNs;
    let moves = 0;
    while (nowNs > this.#lastMoveWindowNs + move) {
      if (moves === 2) {
        // Both streams are already empty; jump over the remaining whole moves, keeping the phase
        // (an odd number of moves swaps the streams) and the window boundaries of the step-by-step loop.
        const skip = Math.max(0, Math.ceil((nowNs - this.#lastMoveWindowNs) / move) - 2);
        this.#lastMoveWindowNs += skip * move;
        this.#current ^= skip & 1;
      }
      this.#current ^= 1;
      this.#lastMoveWindowNs += move;
      this.#streams[this.#current].reset();
      moves++;
    }
  }
}

/**
 * Merges channel estimators into a new one for their topic, as nsqd's
 * `Topic.AggregateChannelE2eProcessingLatency` (samples are merged, not averaged); undefined when no
 * channel has one.
 * @param quantiles the channels' estimators (undefined entries are skipped); the first one present
 *   supplies the window, percentiles and clock
 */
export function mergeQuantiles(quantiles: Iterable<Quantile | undefined>): Quantile | undefined {
  let merged: Quantile | undefined;
  for (const q of quantiles) {
    if (q === undefined) continue;
    merged ??= new Quantile(q.windowMs, q.percentiles, q.clock);
    merged.merge(q);
  }
  return merged;
}

/**
 * The result of an optional estimator: Go's `Result()` on a nil `*Quantile` is `{count: 0, percentiles: null}`.
 * @param q the estimator, or undefined when e2e latency tracking is off
 */
export function resultOf(q: Quantile | undefined): QuantileResult {
  return q === undefined ? { count: 0, percentiles: null } : q.result();
}

/**
 * Formats nanoseconds with one decimal in the largest unit the value exceeds (`s`, `ms`, `us`, else `ns`),
 * as nsq's `stringy.NanoSecondToHuman` (`%0.1f`, so exact ties round half to even: 1250 is "1.2us").
 * @param v a duration in nanoseconds
 */
export function nanoSecondToHuman(v: number): string {
  let suffix: string;
  if (v > 1e9) {
    v /= 1e9;
    suffix = "s";
  } else if (v > 1e6) {
    v /= 1e6;
    suffix = "ms";
  } else if (v > 1e3) {
    v /= 1e3;
    suffix = "us";
  } else {
    suffix = "ns";
  }
  return formatOneDecimal(v) + suffix;
}

/**
 * Formats a result's values for the text `/stats` (`e2e%: ...`), as Go's `Result.String()`: each value
 * through {@link nanoSecondToHuman}, joined by ", "; empty when there are no percentiles.
 * @param r the result to format
 */
export function resultToString(r: QuantileResult): string {
  return (r.percentiles ?? []).map((p) => nanoSecondToHuman(p.value)).join(", ");
}

/** Go's `fmt.Sprintf("%0.1f", x)`: correctly rounded, half to even on exact ties, signed infinities. */
function formatOneDecimal(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "+Inf";
  if (x === -Infinity) return "-Inf";
  const negative = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  let s: string;
  if (a >= 1e21) {
    s = `${BigInt(a)}.0`; // toFixed switches to exponent notation here; such doubles are integers
  } else if (Number.isInteger(a * 4) && !Number.isInteger(a * 2)) {
    // An exact tie (fraction .25 or .75): toFixed rounds it up, Go rounds to the even digit.
    const two = a.toFixed(2);
    s = two.slice(0, -2) + (two.endsWith("25") ? "2" : "8");
  } else {
    s = a.toFixed(1);
  }
  return negative ? `-${s}` : s;
}
