/**
 * Logging as upstream (shared/nsq-reference.md §3.16): Go's `log` with prefix `[nsqd] ` and
 * `Ldate|Ltime|Lmicroseconds`, then `LEVEL: ` — e.g.
 * `[nsqd] 2026/01/02 15:04:05.000000 INFO: TCP: listening on 127.0.0.1:4150`.
 */

/** Log levels, as upstream's `lg.LogLevel` numbers (`/config/log_level` reports the number). */
export const LogLevel = { debug: 1, info: 2, warn: 3, error: 4, fatal: 5 } as const;
/** A log level number, 1 (debug) … 5 (fatal). */
export type LogLevel = typeof LogLevel[keyof typeof LogLevel];
/** A log level name, as `--log-level` takes it. */
export type LogLevelName = keyof typeof LogLevel;

/** Level number → flag value. */
export const LOG_LEVEL_NAMES: Record<number, LogLevelName> = {
  1: "debug",
  2: "info",
  3: "warn",
  4: "error",
  5: "fatal",
};

const LEVEL_TEXT: Record<number, string> = { 1: "DEBUG", 2: "INFO", 3: "WARNING", 4: "ERROR", 5: "FATAL" };

/** Parses a `--log-level` value (case-insensitive, as nsq's `lg.ParseLogLevel`). */
export function parseLogLevel(text: string): LogLevel {
  const level = (LogLevel as Record<string, LogLevel>)[text.toLowerCase()];
  if (level === undefined) throw new RangeError(`invalid log level '${text}'`);
  return level;
}

export class Logger {
  level: LogLevel;
  readonly #prefix: string;
  readonly #write: (line: string) => void;

  constructor(write: (line: string) => void, prefix: string, level: LogLevel) {
    this.#write = write;
    this.#prefix = prefix;
    this.level = level;
  }

  debug(msg: string): void {
    if (this.level <= LogLevel.debug) this.#log(LogLevel.debug, msg);
  }
  info(msg: string): void {
    if (this.level <= LogLevel.info) this.#log(LogLevel.info, msg);
  }
  warn(msg: string): void {
    if (this.level <= LogLevel.warn) this.#log(LogLevel.warn, msg);
  }
  error(msg: string): void {
    if (this.level <= LogLevel.error) this.#log(LogLevel.error, msg);
  }
  fatal(msg: string): void {
    this.#log(LogLevel.fatal, msg);
  }

  #log(level: LogLevel, msg: string): void {
    this.#write(`${this.#prefix}${goLogTime()} ${LEVEL_TEXT[level]}: ${msg}\n`);
  }
}

/** `2006/01/02 15:04:05.000000` in local time (microseconds from the high-resolution clock). */
export function goLogTime(now?: Date): string {
  const us = now ? now.getTime() * 1000 : Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const d = new Date(Math.floor(us / 1000));
  const micros = us % 1_000_000;
  return `${d.getFullYear()}/${p2(d.getMonth() + 1)}/${p2(d.getDate())} ` +
    `${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(micros).padStart(6, "0")}`;
}

function p2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}
