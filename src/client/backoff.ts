/**
 * The Consumer's backoff state (go-nsq `consumer.go` `startStopContinueBackoff`,
 * shared/nsq-reference.md §9.4): a level that a failure raises and a success lowers, and the
 * period one level stands for. Pure: the Consumer owns the timer and the RDY commands.
 */
import type { BackoffStrategy } from "./config.ts";

/** What a message's answer tells the backoff state. */
export const BackoffSignal = { Resume: 0, Backoff: 1, Continue: 2 } as const;
export type BackoffSignal = typeof BackoffSignal[keyof typeof BackoffSignal];

/** What the Consumer must do after a signal. */
export type BackoffAction =
  /** Nothing changes. */
  | { kind: "none" }
  /** The level went back to 0: every connection gets its normal RDY again. */
  | { kind: "exit" }
  /** RDY 0 everywhere, then a single RDY 1 after `delayMs` (level `level`). */
  | { kind: "backoff"; delayMs: number; level: number };

const NONE: BackoffAction = { kind: "none" };
const EXIT: BackoffAction = { kind: "exit" };

/** Backoff level and timer state of one Consumer. */
export class BackoffState {
  /** 0 = not backing off. */
  level = 0;
  /** Whether a backoff period is running (signals are ignored meanwhile). */
  timerPending = false;
  readonly #strategy: BackoffStrategy;
  readonly #multiplier: number;
  readonly #max: number;
  readonly #random: () => number;

  /**
   * @param config the strategy, the unit of the formula and the cap of one period (ms; 0 disables)
   * @param random a source of [0, 1) numbers (for `full_jitter`)
   */
  constructor(
    config: { backoffStrategy: BackoffStrategy; backoffMultiplier: number; maxBackoffDuration: number },
    random: () => number = Math.random,
  ) {
    this.#strategy = config.backoffStrategy;
    this.#multiplier = config.backoffMultiplier;
    this.#max = config.maxBackoffDuration;
    this.#random = random;
  }

  /** The period of `level`: `multiplier × 2^level`, or uniform in [0, that) for `full_jitter`. */
  duration(level: number): number {
    const d = this.#multiplier * 2 ** level;
    return this.#strategy === "full_jitter" ? Math.floor(this.#random() * d) : d;
  }

  /** Applies one answer's signal; the caller then does what the returned action says. */
  signal(signal: BackoffSignal): BackoffAction {
    // Many answers in a row must not drive the level to its maximum (or to 0) at once: signals
    // that arrive while a backoff period runs count for nothing.
    if (this.timerPending) return NONE;
    let updated = false;
    if (signal === BackoffSignal.Resume) {
      if (this.level > 0) {
        this.level--;
        updated = true;
      }
    } else if (signal === BackoffSignal.Backoff) {
      // The level rises only while its period fits under the cap (go-nsq: with the defaults the
      // longest exponential period is 64 s, not 2 min).
      if (this.duration(this.level + 1) <= this.#max) {
        this.level++;
        updated = true;
      }
    }
    if (this.level === 0) return updated ? EXIT : NONE;
    return { kind: "backoff", delayMs: Math.min(this.duration(this.level), this.#max), level: this.level };
  }
}
