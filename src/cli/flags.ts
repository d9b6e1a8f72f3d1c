/**
 * Command-line parsing that behaves exactly like Go's `flag` package (as used by nsqd), plus Go's
 * `time.ParseDuration` / `time.Duration.String` and the number syntaxes of `strconv.ParseInt(s, 0, 64)`
 * and `strconv.ParseFloat(s, 64)`.
 *
 * The point of reproducing Go byte for byte is that this broker is a drop-in replacement: scripts, unit
 * files and orchestration configs written for the Go nsqd must be accepted (or rejected, with the same
 * message) identically. The ported algorithms follow golang/go src/flag/flag.go, src/strconv/atoi.go,
 * src/strconv/atof.go, src/time/format.go and src/time/time.go, and nsqio/nsq internal/app.
 *
 * Pure TypeScript: no runtime-specific APIs, so it runs unchanged on Deno and Bun.
 *
 * @module
 */

import { formatDuration, parseDuration as goParseDuration, TWO_63 } from "../protocol/go_duration.ts";

/** Thrown for command-line errors; `message` is what Go's flag package would print first (e.g. "flag provided but not defined: -foo"). */
export class FlagError extends Error {
  override name = "FlagError";
}

/** Thrown when -h / -help / --help is given and no such flag is defined (Go returns flag.ErrHelp). */
export class HelpRequested extends Error {
  override name = "HelpRequested";
  constructor(message = "flag: help requested") {
    super(message);
  }
}

/**
 * The kind of value a flag holds.
 *
 * - `"string"`, `"bool"`, `"int"` (int64), `"float"` (float64), `"duration"`: Go's built-in flag types.
 * - `"strings"`: nsq's `app.StringArray`; every occurrence appends its value verbatim (no comma splitting).
 * - `"floats"`: nsq's `app.FloatArray`; every occurrence is split on commas, each piece parsed as a float64
 *   and appended, then the whole list is re-sorted in descending order.
 */
export type FlagKind = "string" | "bool" | "int" | "float" | "duration" | "strings" | "floats";

/**
 * Definition of one flag. `default` must match the kind: a string, a boolean, an integer number, a number,
 * a number of nanoseconds, a string array or a number array respectively. `usage` may contain a
 * back-quoted word which becomes the value placeholder in {@link usage} output, as in Go.
 */
export interface FlagSpec {
  name: string;
  kind: FlagKind;
  default: unknown;
  usage: string;
  /**
   * A custom `flag.Value`'s Set (nsq's tlsRequiredOption, tlsMinVersionOption, lg.LogLevel): returns
   * the new value or throws an Error whose message Go would append to "invalid value …: ".
   */
  set?: (text: string) => unknown;
  /** The custom value is a bool flag (`IsBoolFlag()`): bare `-flag` means Set("true"). */
  boolFlag?: boolean;
}

/** Result of {@link parseFlags}. */
export interface ParsedFlags {
  /** value per flag name, default applied; durations in nanoseconds; "strings"/"floats" are arrays */
  values: Map<string, unknown>;
  /** names explicitly given on the command line (for precedence over a config file later) */
  set: Set<string>;
  /** positional arguments after the flags */
  args: string[];
}

// ---------------------------------------------------------------------------------------------------------
// Flag parsing (flag.FlagSet.Parse / parseOne)
// ---------------------------------------------------------------------------------------------------------

/**
 * Parse `argv` (without the program name) against `specs`, following Go's `flag.FlagSet.Parse`:
 *
 * - Parsing stops at the first non-flag argument (anything not starting with "-", or exactly "-"); it
 *   and everything after it go to `args`. A lone "--" also stops parsing and is dropped.
 * - `-name` and `--name` are equivalent; values are given as `-name=value`, or, for non-bool flags only,
 *   as `-name value` where the next argument is taken verbatim even if it starts with "-".
 * - A bare bool flag means true; `-b false` does not consume "false" (it becomes the first positional).
 * - Repeating a scalar flag keeps the last value; "strings"/"floats" accumulate onto their default.
 *
 * @throws {FlagError} with Go's exact message on any command-line error.
 * @throws {HelpRequested} for -h / -help (any dash count, any `=value`) unless defined as flags.
 * @throws {TypeError} if the specs themselves are invalid (Go panics in that case).
 */
export function parseFlags(specs: FlagSpec[], argv: string[]): ParsedFlags {
  const formal = indexSpecs(specs);
  const values = new Map<string, unknown>();
  for (const spec of formal.values()) values.set(spec.name, initialValue(spec));
  const set = new Set<string>();

  let i = 0;
  while (i < argv.length) {
    const s = argv[i];
    if (s.length < 2 || s[0] !== "-") break; // first non-flag argument ("-" included)
    let numMinuses = 1;
    if (s[1] === "-") {
      numMinuses++;
      if (s.length === 2) { // "--" terminates the flags and is consumed
        i++;
        break;
      }
    }
    let name = s.slice(numMinuses);
    if (name.length === 0 || name[0] === "-" || name[0] === "=") {
      throw new FlagError(`bad flag syntax: ${s}`);
    }
    i++;

    // Split at the first "=" only; the value itself may contain more of them.
    let value: string | undefined;
    const eq = name.indexOf("=");
    if (eq !== -1) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }

    const spec = formal.get(name);
    if (spec === undefined) {
      // Only undefined -h/-help mean help, so a program is free to define its own -h.
      if (name === "help" || name === "h") throw new HelpRequested();
      throw new FlagError(`flag provided but not defined: -${name}`);
    }

    if (spec.boolFlag && spec.set) {
      const text = value ?? "true";
      try {
        values.set(name, spec.set(text));
      } catch (err) {
        throw new FlagError(`invalid boolean value ${quoteGo(text)} for -${name}: ${(err as Error).message}`);
      }
    } else if (spec.set) {
      if (value === undefined) {
        if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
        value = argv[i++];
      }
      try {
        values.set(name, spec.set(value));
      } catch (err) {
        throw new FlagError(`invalid value ${quoteGo(value)} for flag -${name}: ${(err as Error).message}`);
      }
    } else if (spec.kind === "bool") {
      // Bool flags never take the next argument: `cmd -x *` must not change meaning when the shell
      // glob happens to expand to a file named "false" (Go's documented rationale).
      if (value === undefined) {
        values.set(name, true);
      } else {
        const b = parseBool(value);
        if (b === undefined) {
          throw new FlagError(`invalid boolean value ${quoteGo(value)} for -${name}: ${PARSE_ERROR}`);
        }
        values.set(name, b);
      }
    } else {
      if (value === undefined) {
        if (i >= argv.length) throw new FlagError(`flag needs an argument: -${name}`);
        value = argv[i++];
      }
      try {
        values.set(name, convertValue(spec, values.get(name), value));
      } catch (err) {
        if (!(err instanceof ValueError)) throw err;
        throw new FlagError(`invalid value ${quoteGo(value)} for flag -${name}: ${err.message}`);
      }
    }
    set.add(name);
  }

  return { values, set, args: argv.slice(i) };
}

/** Go's errParse / errRange texts, which the flag package appends to its "invalid value" messages. */
const PARSE_ERROR = "parse error";
const RANGE_ERROR = "value out of range";

/** Internal: a flag value failed to convert; `message` is PARSE_ERROR or RANGE_ERROR. */
class ValueError extends Error {}

/** Validate the specs the way Go's FlagSet.Var does (it panics; we throw TypeError) and index them. */
function indexSpecs(specs: FlagSpec[]): Map<string, FlagSpec> {
  const formal = new Map<string, FlagSpec>();
  for (const spec of specs) {
    if (spec.name.startsWith("-")) throw new TypeError(`flag ${quoteGo(spec.name)} begins with -`);
    if (spec.name.includes("=")) throw new TypeError(`flag ${quoteGo(spec.name)} contains =`);
    if (formal.has(spec.name)) throw new TypeError(`flag redefined: ${spec.name}`);
    if (!defaultMatchesKind(spec)) {
      throw new TypeError(`flag -${spec.name}: default ${String(spec.default)} is not a valid ${spec.kind}`);
    }
    formal.set(spec.name, spec);
  }
  return formal;
}

function defaultMatchesKind({ kind, default: d }: FlagSpec): boolean {
  switch (kind) {
    case "string":
      return typeof d === "string";
    case "bool":
      return typeof d === "boolean";
    case "int":
      return typeof d === "number" && Number.isInteger(d);
    case "float":
      return typeof d === "number";
    case "duration":
      return typeof d === "number" && Number.isFinite(d);
    case "strings":
      return Array.isArray(d) && d.every((x) => typeof x === "string");
    case "floats":
      return Array.isArray(d) && d.every((x) => typeof x === "number");
  }
}

/** Arrays are copied so that appending never mutates the caller's spec. */
function initialValue(spec: FlagSpec): unknown {
  return Array.isArray(spec.default) ? [...spec.default] : spec.default;
}

/** The Value.Set of each non-bool kind: returns the new value or throws ValueError. */
function convertValue(spec: FlagSpec, current: unknown, text: string): unknown {
  switch (spec.kind) {
    case "string":
      return text;
    case "int":
      return Number(parseInt64(text));
    case "float":
      return parseFloat64(text);
    case "duration":
      try {
        return parseDuration(text);
      } catch {
        // Go's durationValue.Set discards time's message and reports a bare errParse.
        throw new ValueError(PARSE_ERROR);
      }
    case "strings":
      // nsq's StringArray.Set appends as-is; Go's Var semantics mean it appends to the default too.
      return [...(current as string[]), text];
    case "floats": {
      // nsq's FloatArray.Set: split on commas (so "" and "1," contain an unparsable empty piece),
      // append, then sort the whole list descending.
      const added = text.split(",").map(parseFloat64);
      return [...(current as number[]), ...added].sort((a, b) => b - a);
    }
    case "bool":
      throw new Error("unreachable: bool flags are handled by parseFlags");
  }
}

/** strconv.ParseBool; undefined on a syntax error. */
function parseBool(s: string): boolean | undefined {
  switch (s) {
    case "1":
    case "t":
    case "T":
    case "TRUE":
    case "true":
    case "True":
      return true;
    case "0":
    case "f":
    case "F":
    case "FALSE":
    case "false":
    case "False":
      return false;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Usage text (flag.FlagSet.PrintDefaults)
// ---------------------------------------------------------------------------------------------------------

/**
 * Go-style usage text ("Usage of nsqd:\n  -name type\n    \tusage (default ...)") for --help output.
 *
 * Reproduces `defaultUsage` + `PrintDefaults`: flags sorted by name; the placeholder is the first
 * back-quoted word of the usage string, else the kind's Go type name ("value" for the nsq array types,
 * nothing for bools); one-letter bools keep their usage on the same line; "(default …)" is shown only
 * when the default differs from the zero value, quoted Go-style for strings. Every line ends in "\n".
 */
export function usage(program: string, specs: FlagSpec[]): string {
  const formal = indexSpecs(specs);
  let out = program === "" ? "Usage:\n" : `Usage of ${program}:\n`;
  for (const spec of [...formal.values()].sort((a, b) => compareCodePoints(a.name, b.name))) {
    let line = `  -${spec.name}`;
    const [placeholder, text] = unquoteUsage(spec);
    if (placeholder.length > 0) line += " " + placeholder;
    // Go measures bytes: two spaces, '-', and a one-byte name fit before the first tab stop.
    line += utf8Length(line) <= 4 ? "\t" : "\n    \t";
    line += text.replaceAll("\n", "\n    \t");
    const def = defaultText(spec);
    if (def !== ZERO_TEXT[spec.kind]) {
      line += spec.kind === "string" ? ` (default ${quoteGo(def)})` : ` (default ${def})`;
    }
    out += line + "\n";
  }
  return out;
}

/** Go's flag.UnquoteUsage: [placeholder, usage with the back quotes removed]. */
function unquoteUsage(spec: FlagSpec): [string, string] {
  const text = spec.usage;
  const start = text.indexOf("`");
  if (start !== -1) {
    const end = text.indexOf("`", start + 1);
    if (end !== -1) {
      const name = text.slice(start + 1, end);
      return [name, text.slice(0, start) + name + text.slice(end + 1)];
    }
    // A lone back quote is left in place and the type name is used instead.
  }
  return [TYPE_NAME[spec.kind], text];
}

const TYPE_NAME: Record<FlagKind, string> = {
  string: "string",
  bool: "",
  int: "int",
  float: "float",
  duration: "duration",
  strings: "value", // custom flag.Value types get the generic name
  floats: "value",
};

/** What Value.String() returns for a zero value of each kind; such defaults are not printed. */
const ZERO_TEXT: Record<FlagKind, string> = {
  string: "",
  bool: "false",
  int: "0",
  float: "0",
  duration: "0s",
  strings: "",
  floats: "",
};

/** Value.String() of the default, i.e. Go's Flag.DefValue. */
function defaultText(spec: FlagSpec): string {
  const d = spec.default;
  switch (spec.kind) {
    case "string":
      return d as string;
    case "bool":
      return String(d);
    case "int":
      return BigInt(d as number).toString(); // never exponent notation, unlike String()
    case "float":
      return formatFloatShortest(d as number);
    case "duration":
      return formatDuration(d as number);
    case "strings":
      return (d as string[]).join(",");
    case "floats":
      return (d as number[]).map(formatFloatFixed6).join(","); // FloatArray.String uses "%f"
  }
}

/** Go compares strings bytewise; UTF-8 byte order equals code point order (not UTF-16 unit order). */
function compareCodePoints(a: string, b: string): number {
  const x = Array.from(a, (c) => c.codePointAt(0)!);
  const y = Array.from(b, (c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

// ---------------------------------------------------------------------------------------------------------
// Durations (time.ParseDuration / time.Duration.String): see src/protocol/go_duration.ts
// ---------------------------------------------------------------------------------------------------------

export { formatDuration };

/**
 * Go's `time.ParseDuration` ("250ms", "1m0s", "1.5h"): nanoseconds as a number.
 * @throws {FlagError} with Go's `time: …` message.
 */
export function parseDuration(s: string): number {
  try {
    return goParseDuration(s);
  } catch (err) {
    throw new FlagError((err as Error).message);
  }
}
// ---------------------------------------------------------------------------------------------------------
// Numbers (strconv.ParseInt(s, 0, 64), strconv.ParseFloat(s, 64))
// ---------------------------------------------------------------------------------------------------------

const MAX_UINT64 = (1n << 64n) - 1n;

/**
 * strconv.ParseInt(s, 0, 64): optional sign, then a 0b/0o/0x prefix, a bare leading 0 (octal) or
 * decimal; underscores allowed between digits (Go literal rules) in every base, since base is 0.
 */
function parseInt64(s: string): bigint {
  if (s === "") throw new ValueError(PARSE_ERROR);
  let neg = false;
  let rest = s;
  if (s[0] === "+") {
    rest = s.slice(1);
  } else if (s[0] === "-") {
    neg = true;
    rest = s.slice(1);
  }
  const un = parseUint64Base0(rest);
  if (!neg && un >= TWO_63) throw new ValueError(RANGE_ERROR);
  if (neg && un > TWO_63) throw new ValueError(RANGE_ERROR);
  return neg ? -un : un;
}

/** strconv.ParseUint(s, 0, 64). Overflow is detected mid-scan, so "99999999999999999999x" is a range error. */
function parseUint64Base0(s0: string): bigint {
  if (s0 === "") throw new ValueError(PARSE_ERROR);
  let s = s0;
  let base = 10;
  if (s[0] === "0") {
    // A prefix needs at least one character after it: "0x" alone is octal "0" followed by a bad digit.
    const p = s.length >= 3 ? lowerAscii(s[1]) : "";
    if (p === "b" || p === "o" || p === "x") {
      base = p === "b" ? 2 : p === "o" ? 8 : 16;
      s = s.slice(2);
    } else {
      base = 8; // a bare leading zero means octal, and the zero itself is just a digit
      s = s.slice(1);
    }
  }

  let n = 0n;
  let underscores = false;
  for (const c of s) {
    if (c === "_") {
      underscores = true;
      continue;
    }
    const digit = digitValue(c);
    if (digit < 0 || digit >= base) throw new ValueError(PARSE_ERROR);
    n = n * BigInt(base) + BigInt(digit);
    if (n > MAX_UINT64) throw new ValueError(RANGE_ERROR);
  }
  if (underscores && !underscoreOK(s0)) throw new ValueError(PARSE_ERROR);
  return n;
}

/**
 * strconv.ParseFloat(s, 64): decimal or hexadecimal (0x…p±N) literals with optional underscores, plus
 * case-insensitive "inf", "infinity" (optionally signed) and "nan". Overflow to ±Inf is a range error;
 * underflow silently gives 0.
 */
function parseFloat64(s: string): number {
  const sp = special(s);
  if (sp !== undefined) {
    if (sp.length !== s.length) throw new ValueError(PARSE_ERROR);
    return sp.value;
  }
  const r = readFloat(s);
  if (r === undefined || r.length !== s.length) throw new ValueError(PARSE_ERROR);
  if (!Number.isFinite(r.value)) throw new ValueError(RANGE_ERROR);
  return r.value;
}

/** Go's strconv special(): a prefix of s spelling inf/infinity/nan, with the prefix length. */
function special(s: string): { value: number; length: number } | undefined {
  if (s === "") return undefined;
  const c = s[0];
  if (c === "+" || c === "-" || c === "i" || c === "I") {
    const signLen = c === "+" || c === "-" ? 1 : 0;
    let n = commonPrefixLenIgnoreCase(s.slice(signLen), "infinity");
    // Anything longer than "inf" is fine, but if it isn't "infinity", only "inf" is consumed.
    if (3 < n && n < 8) n = 3;
    if (n === 3 || n === 8) return { value: c === "-" ? -Infinity : Infinity, length: signLen + n };
  } else if (c === "n" || c === "N") {
    // NaN takes no sign in Go: "+nan"/"-nan" are syntax errors.
    if (commonPrefixLenIgnoreCase(s, "nan") === 3) return { value: NaN, length: 3 };
  }
  return undefined;
}

function commonPrefixLenIgnoreCase(s: string, prefix: string): number {
  const n = Math.min(prefix.length, s.length);
  for (let i = 0; i < n; i++) {
    const c = s[i] >= "A" && s[i] <= "Z" ? s[i].toLowerCase() : s[i];
    if (c !== prefix[i]) return i;
  }
  return n;
}

/**
 * Port of Go's readFloat: validates the literal exactly as Go does and returns how much of `s` it spans
 * (the caller rejects trailing junk). The value is then computed exactly: decimal literals are handed to
 * JavaScript's correctly rounded Number() in a canonical form, hex literals rounded by hand.
 */
function readFloat(s: string): { value: number; length: number } | undefined {
  let i = 0;
  let neg = false;
  let underscores = false;
  if (i >= s.length) return undefined;
  if (s[i] === "+") {
    i++;
  } else if (s[i] === "-") {
    i++;
    neg = true;
  }

  let hex = false;
  if (i + 2 < s.length && s[i] === "0" && lowerAscii(s[i + 1]) === "x") {
    hex = true;
    i += 2;
  }

  let sawDot = false;
  let sawDigits = false;
  let mantissa = ""; // all mantissa digits, without '.' and '_'
  let fracDigits = 0;
  for (; i < s.length; i++) {
    const c = s[i];
    if (c === "_") {
      underscores = true;
      continue;
    }
    if (c === ".") {
      if (sawDot) break;
      sawDot = true;
      continue;
    }
    if (isDigit(c) || (hex && /^[a-fA-F]$/.test(c))) {
      sawDigits = true;
      mantissa += c;
      if (sawDot) fracDigits++;
      continue;
    }
    break;
  }
  if (!sawDigits) return undefined;

  let exp = 0;
  if (i < s.length && lowerAscii(s[i]) === (hex ? "p" : "e")) {
    i++;
    if (i >= s.length) return undefined;
    let esign = 1;
    if (s[i] === "+") {
      i++;
    } else if (s[i] === "-") {
      i++;
      esign = -1;
    }
    if (i >= s.length || !isDigit(s[i])) return undefined;
    let e = 0;
    for (; i < s.length && (isDigit(s[i]) || s[i] === "_"); i++) {
      if (s[i] === "_") {
        underscores = true;
        continue;
      }
      // Go stops accumulating here (the result is ±Inf or 0 anyway); mirror it for identical results.
      if (e < 10000) e = e * 10 + (s.charCodeAt(i) - 48);
    }
    exp = e * esign;
  } else if (hex) {
    return undefined; // hex floats must have a 'p' exponent
  }

  if (underscores && !underscoreOK(s.slice(0, i))) return undefined;

  const value = hex
    ? hexToFloat(BigInt("0x" + mantissa), exp - 4 * fracDigits, neg)
    : Number(`${neg ? "-" : ""}${mantissa}e${exp - fracDigits}`);
  return { value, length: i };
}

/** m × 2^e2 rounded to the nearest float64 (ties to even), including subnormals and overflow to ±Inf. */
function hexToFloat(m: bigint, e2: number, neg: boolean): number {
  const sign = neg ? -1 : 1;
  if (m === 0n) return sign * 0;
  const bits = m.toString(2).length;
  // Exponent of the lowest bit a float64 can keep: 53 significant bits, but never below 2^-1074.
  const lsb = Math.max(bits - 53 + e2, -1074);
  if (lsb <= e2) return sign * Number(m) * 2 ** e2; // fits exactly (or overflows to Infinity)
  const shift = BigInt(lsb - e2);
  let q = m >> shift;
  const rem = m & ((1n << shift) - 1n);
  const half = 1n << (shift - 1n);
  if (rem > half || (rem === half && (q & 1n) === 1n)) q++;
  return sign * Number(q) * 2 ** lsb;
}

/** Go's strconv underscoreOK: underscores only between digits, or between a base prefix and a digit. */
function underscoreOK(s: string): boolean {
  // saw: '^' start of number, '0' digit or base prefix, '_' underscore, '!' anything else
  let saw = "^";
  let i = 0;
  if (s.length >= 1 && (s[0] === "-" || s[0] === "+")) s = s.slice(1);

  let hex = false;
  const prefix = s.length >= 2 && s[0] === "0" ? lowerAscii(s[1]) : "";
  if (prefix === "b" || prefix === "o" || prefix === "x") {
    i = 2;
    saw = "0"; // a base prefix counts as a digit for "underscore as digit separator"
    hex = prefix === "x";
  }

  for (; i < s.length; i++) {
    if (isDigit(s[i]) || (hex && /^[a-fA-F]$/.test(s[i]))) {
      saw = "0";
      continue;
    }
    if (s[i] === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

function isDigit(c: string): boolean {
  return c.length === 1 && c >= "0" && c <= "9";
}

/** Lower-case an ASCII letter; "" for anything else (Go's lower() trick only matters for letters). */
function lowerAscii(c: string): string {
  return /^[A-Za-z]$/.test(c) ? c.toLowerCase() : "";
}

/** Value of an ASCII digit or letter in bases up to 36, or -1. */
function digitValue(c: string): number {
  if (isDigit(c)) return c.charCodeAt(0) - 48;
  const l = lowerAscii(c);
  return l === "" ? -1 : l.charCodeAt(0) - 87;
}

// ---------------------------------------------------------------------------------------------------------
// Float formatting (strconv.FormatFloat(f, 'g', -1, 64) and fmt's "%f")
// ---------------------------------------------------------------------------------------------------------

/** strconv.FormatFloat(f, 'g', -1, 64): shortest round-trip digits; exponent form when exp < -4 || exp >= 6. */
function formatFloatShortest(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  if (f === 0) return Object.is(f, -0) ? "-0" : "0";
  const sign = f < 0 ? "-" : "";
  // toExponential() without an argument yields the shortest round-tripping digits, as Go's shortest mode.
  const [m, e] = Math.abs(f).toExponential().split("e");
  const digits = m.replace(".", "");
  const exp = Number(e);
  // Go switches to %e at exponent 6 in shortest mode (1e+06), where JavaScript waits until 1e21.
  if (exp < -4 || exp >= 6) {
    const frac = digits.length > 1 ? "." + digits.slice(1) : "";
    const ae = Math.abs(exp);
    return `${sign}${digits[0]}${frac}e${exp < 0 ? "-" : "+"}${ae < 10 ? "0" + ae : ae}`;
  }
  const dp = exp + 1; // digits before the decimal point
  if (dp <= 0) return `${sign}0.${"0".repeat(-dp)}${digits}`;
  if (dp >= digits.length) return sign + digits + "0".repeat(dp - digits.length);
  return `${sign}${digits.slice(0, dp)}.${digits.slice(dp)}`;
}

/**
 * fmt.Sprintf("%f", f): six decimals, rounding the exact binary value half to even (JavaScript's
 * toFixed rounds exact ties up, e.g. 0.0078125, and switches to exponent form at 1e21).
 */
function formatFloatFixed6(f: number): string {
  if (Number.isNaN(f)) return "NaN";
  if (f === Infinity) return "+Inf";
  if (f === -Infinity) return "-Inf";
  const sign = f < 0 || Object.is(f, -0) ? "-" : "";
  const [m, e] = decompose(Math.abs(f));
  // |f| × 10^6 = num / den exactly
  let num = m * 1_000_000n;
  let den = 1n;
  if (e >= 0) num <<= BigInt(e);
  else den <<= BigInt(-e);
  let q = num / den;
  const twiceRem = 2n * (num % den);
  if (twiceRem > den || (twiceRem === den && (q & 1n) === 1n)) q++;
  const digits = q.toString().padStart(7, "0");
  return `${sign}${digits.slice(0, -6)}.${digits.slice(-6)}`;
}

/** Split a finite non-negative float64 into an integer mantissa and a power of two: x = m × 2^e. */
function decompose(x: number): [bigint, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  const frac = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (expBits === 0) return [frac, -1074]; // subnormal (or zero)
  return [frac | (1n << 52n), expBits - 1075];
}

// ---------------------------------------------------------------------------------------------------------
// Quoting (strconv.Quote as used by fmt's %q, and the time package's private quote)
// ---------------------------------------------------------------------------------------------------------

/**
 * strconv.Quote: printable runes (Unicode L, M, N, P, S and ASCII space) verbatim, C-style escapes for
 * \a\b\f\n\r\t\v, \xNN for other ASCII controls, \uNNNN / \UNNNNNNNN for other non-printables.
 */
function quoteGo(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = normalizeCodePoint(ch);
    if (ch === '"' || ch === "\\") {
      out += "\\" + ch;
    } else if (cp === 0x20 || PRINTABLE.test(String.fromCodePoint(cp))) {
      out += String.fromCodePoint(cp);
    } else if (C_ESCAPES.has(cp)) {
      out += C_ESCAPES.get(cp);
    } else if (cp < 0x20 || cp === 0x7f) {
      out += "\\x" + hex(cp, 2);
    } else if (cp < 0x10000) {
      out += "\\u" + hex(cp, 4);
    } else {
      out += "\\U" + hex(cp, 8);
    }
  }
  return out + '"';
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

const C_ESCAPES = new Map<number, string>([
  [0x07, "\\a"],
  [0x08, "\\b"],
  [0x0c, "\\f"],
  [0x0a, "\\n"],
  [0x0d, "\\r"],
  [0x09, "\\t"],
  [0x0b, "\\v"],
]);

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

function utf8Length(s: string): number {
  let n = 0;
  for (const ch of s) n += utf8Encode(normalizeCodePoint(ch)).length;
  return n;
}

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}
