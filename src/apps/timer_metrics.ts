/**
 * The status lines of nsq_to_http and nsq_to_nsq (bitly `timer_metrics`, shared/nsq-reference.md
 * §10.1): the durations of the last `statusEvery` requests; every `statusEvery` requests one line
 * `<prefix> finished <N> - 99th: <x>ms - 95th: <y>ms - avg: <z>ms`.
 *
 * @module
 */
import type { FlagSpec } from "../cli/flags.ts";

/** `--status-every` (250; 0 disables), counted per `handler` (nsq_to_http) or `destination` (nsq_to_nsq). */
export function statusEveryFlag(per: "handler" | "destination"): FlagSpec {
  return {
    name: "status-every",
    kind: "int",
    default: 250,
    usage: `the # of requests between logging status (per ${per}), 0 disables`,
  };
}

/** The `--status-every` value, with upstream's warning when it is too small for percentiles. */
export function checkStatusEvery(statusEvery: number, log: (line: string) => void): number {
  if (statusEvery > 0 && statusEvery < 100) {
    log(`Warning: use more than 100 status values for accurate percentiles (configured with ${statusEvery})`);
  }
  return statusEvery;
}

/** Request durations and their periodic summary. */
export class TimerMetrics {
  readonly #ring: number[] = [];
  readonly #every: number;
  readonly #prefix: string;
  readonly #log: (line: string) => void;
  #count = 0;

  /**
   * @param statusEvery requests per status line; 0 disables
   * @param prefix `[aggregate]:` or `[<address>]:`
   */
  constructor(statusEvery: number, prefix: string, log: (line: string) => void) {
    this.#every = statusEvery;
    this.#prefix = prefix;
    this.#log = log;
  }

  /** Records one request that started at `startMs` (`performance.now()`). */
  status(startMs: number): void {
    if (this.#every <= 0) return;
    this.#ring[this.#count % this.#every] = performance.now() - startMs;
    this.#count++;
    if (this.#count % this.#every !== 0) return;
    const sorted = [...this.#ring].sort((a, b) => a - b);
    const pct = (p: number) => sorted[Math.max(0, Math.ceil(sorted.length * p / 100) - 1)];
    const avg = sorted.reduce((a, b) => a + b, 0) / sorted.length;
    this.#log(
      `${this.#prefix} finished ${this.#count} - 99th: ${pct(99).toFixed(2)}ms - 95th: ${
        pct(95).toFixed(2)
      }ms - ` +
        `avg: ${avg.toFixed(2)}ms`,
    );
  }
}
