import assert from "node:assert/strict";
import {
  FlagError,
  type FlagSpec,
  formatDuration,
  HelpRequested,
  parseDuration,
  parseFlags,
  usage,
} from "../../src/cli/flags.ts";

// Expected values and messages come from Go's source and its own test tables (src/flag/flag.go,
// src/strconv/atoi.go + atof.go, src/time/format.go + time_test.go) and nsq's internal/app.

const SPECS: FlagSpec[] = [
  { name: "s", kind: "string", default: "def", usage: "a string" },
  { name: "b", kind: "bool", default: false, usage: "a bool" },
  { name: "t", kind: "bool", default: true, usage: "a bool that defaults to true" },
  { name: "i", kind: "int", default: 7, usage: "an int" },
  { name: "f", kind: "float", default: 0.5, usage: "a float" },
  { name: "d", kind: "duration", default: 60e9, usage: "a duration" },
  { name: "ss", kind: "strings", default: [], usage: "repeatable strings" },
  { name: "ff", kind: "floats", default: [], usage: "repeatable floats" },
  { name: "tcp-address", kind: "string", default: "0.0.0.0:4150", usage: "an address" },
];

function parse(...argv: string[]) {
  return parseFlags(SPECS, argv);
}

function value(name: string, ...argv: string[]): unknown {
  return parse(...argv).values.get(name);
}

function assertFlagError(fn: () => unknown, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof FlagError, `expected a FlagError, got ${err}`);
    assert.equal(err.message, message);
    return true;
  });
}

function assertHelp(fn: () => unknown): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof HelpRequested, `expected HelpRequested, got ${err}`);
    assert.equal(err.message, "flag: help requested");
    return true;
  });
}

// ----------------------------------------------------------------------------------------------------------
// General syntax
// ----------------------------------------------------------------------------------------------------------

Deno.test("parseFlags() applies every default and marks nothing as set when argv is empty", () => {
  const parsed = parse();
  assert.deepEqual(
    parsed.values,
    new Map<string, unknown>([
      ["s", "def"],
      ["b", false],
      ["t", true],
      ["i", 7],
      ["f", 0.5],
      ["d", 60e9],
      ["ss", []],
      ["ff", []],
      ["tcp-address", "0.0.0.0:4150"],
    ]),
  );
  assert.deepEqual(parsed.set, new Set());
  assert.deepEqual(parsed.args, []);
});

Deno.test("parseFlags() accepts -flag value and --flag=value alike", () => {
  for (const argv of [["-s", "x"], ["--s", "x"], ["-s=x"], ["--s=x"]]) {
    const parsed = parse(...argv);
    assert.equal(parsed.values.get("s"), "x", argv.join(" "));
    assert.deepEqual(parsed.set, new Set(["s"]));
    assert.deepEqual(parsed.args, []);
  }
  assert.equal(value("tcp-address", "--tcp-address=127.0.0.1:4150"), "127.0.0.1:4150");
});

Deno.test("parseFlags() splits -flag=value at the first equals sign only", () => {
  assert.equal(value("s", "-s=a=b"), "a=b");
  assert.equal(value("s", "-s="), "");
  assert.equal(value("s", "-s", "=x"), "=x");
});

Deno.test("parseFlags() takes the next argument as the value even when it starts with a dash", () => {
  let parsed = parse("-s", "-b");
  assert.equal(parsed.values.get("s"), "-b");
  assert.equal(parsed.values.get("b"), false);

  parsed = parse("-s", "--", "x");
  assert.equal(parsed.values.get("s"), "--");
  assert.deepEqual(parsed.args, ["x"]);

  assert.equal(value("i", "-i", "-5"), -5);
  assert.equal(value("s", "-s", ""), "");
});

Deno.test("parseFlags() stops at the first non-flag argument and leaves the rest positional", () => {
  const parsed = parse("-b", "pos", "-s", "x", "--", "y");
  assert.deepEqual(parsed.args, ["pos", "-s", "x", "--", "y"]);
  assert.equal(parsed.values.get("s"), "def");
  assert.deepEqual(parsed.set, new Set(["b"]));
});

Deno.test("parseFlags() treats a lone dash and an empty string as positional arguments", () => {
  assert.deepEqual(parse("-b", "-", "-s=x").args, ["-", "-s=x"]);
  assert.deepEqual(parse("", "-b").args, ["", "-b"]);
});

Deno.test("parseFlags() consumes a lone double dash and stops parsing there", () => {
  const parsed = parse("-b", "--", "-s=x");
  assert.deepEqual(parsed.args, ["-s=x"]);
  assert.equal(parsed.values.get("s"), "def");
  assert.deepEqual(parse("--", "--").args, ["--"]);
  assert.deepEqual(parse("--").args, []);
});

Deno.test("parseFlags() rejects three dashes and a leading equals sign as bad flag syntax", () => {
  assertFlagError(() => parse("---s"), "bad flag syntax: ---s");
  assertFlagError(() => parse("---s=x"), "bad flag syntax: ---s=x");
  assertFlagError(() => parse("-=x"), "bad flag syntax: -=x");
  assertFlagError(() => parse("--=x"), "bad flag syntax: --=x");
  assertFlagError(() => parse("-="), "bad flag syntax: -=");
});

Deno.test("parseFlags() reports a missing value at the end of the arguments", () => {
  assertFlagError(() => parse("-s"), "flag needs an argument: -s");
  assertFlagError(() => parse("-b", "--i"), "flag needs an argument: -i");
});

Deno.test("parseFlags() reports an unknown flag by its name without dashes or value", () => {
  assertFlagError(() => parse("-foo"), "flag provided but not defined: -foo");
  assertFlagError(() => parse("--foo=bar"), "flag provided but not defined: -foo");
  // A negative number is not a positional argument to Go: it is an undefined flag.
  assertFlagError(() => parse("-5"), "flag provided but not defined: -5");
});

Deno.test("parseFlags() processes arguments left to right, so the first error wins", () => {
  assertFlagError(() => parse("-i=x", "-foo"), 'invalid value "x" for flag -i: parse error');
  assertFlagError(() => parse("-foo", "-i=x"), "flag provided but not defined: -foo");
});

Deno.test("parseFlags() keeps the last value of a repeated scalar flag", () => {
  const parsed = parse("-s=a", "-s=b", "-i=1", "--i", "2", "-b", "-b=false", "-d=1s", "-d=2s");
  assert.equal(parsed.values.get("s"), "b");
  assert.equal(parsed.values.get("i"), 2);
  assert.equal(parsed.values.get("b"), false);
  assert.equal(parsed.values.get("d"), 2e9);
  assert.deepEqual(parsed.set, new Set(["s", "i", "b", "d"]));
});

Deno.test("parseFlags() records a flag as set even when it is given its default value", () => {
  const parsed = parse("-s=def", "-t");
  assert.deepEqual(parsed.set, new Set(["s", "t"]));
  assert.equal(parsed.values.get("t"), true);
});

// ----------------------------------------------------------------------------------------------------------
// Help
// ----------------------------------------------------------------------------------------------------------

Deno.test("parseFlags() throws HelpRequested for -h, -help and --help unless they are defined", () => {
  for (const arg of ["-h", "--h", "-help", "--help", "-h=false", "-help=x"]) {
    assertHelp(() => parse(arg));
  }
  assertHelp(() => parse("-b", "--help", "-foo"));
  // After the flags end, -h is just a positional argument.
  assert.deepEqual(parse("pos", "-h").args, ["pos", "-h"]);
});

Deno.test("parseFlags() treats -h as an ordinary flag when the program defines it", () => {
  const specs: FlagSpec[] = [{ name: "h", kind: "bool", default: false, usage: "hosts" }];
  assert.equal(parseFlags(specs, ["-h"]).values.get("h"), true);
  assertHelp(() => parseFlags(specs, ["-help"]));
});

// ----------------------------------------------------------------------------------------------------------
// bool
// ----------------------------------------------------------------------------------------------------------

Deno.test("parseFlags() sets a bare bool flag to true and never consumes the next argument", () => {
  const parsed = parse("-b", "false", "-s=x");
  assert.equal(parsed.values.get("b"), true);
  assert.deepEqual(parsed.args, ["false", "-s=x"]);
  assert.equal(parsed.values.get("s"), "def");
  assert.equal(value("t", "--t"), true);
});

Deno.test("parseFlags() accepts every strconv.ParseBool spelling after an equals sign", () => {
  for (const text of ["1", "t", "T", "TRUE", "true", "True"]) {
    assert.equal(value("b", `-b=${text}`), true, text);
  }
  for (const text of ["0", "f", "F", "FALSE", "false", "False"]) {
    assert.equal(value("t", `--t=${text}`), false, text);
  }
});

Deno.test("parseFlags() rejects any other bool spelling with Go's message", () => {
  assertFlagError(() => parse("-b=yes"), 'invalid boolean value "yes" for -b: parse error');
  assertFlagError(() => parse("-b="), 'invalid boolean value "" for -b: parse error');
  assertFlagError(() => parse("--b=tRUE"), 'invalid boolean value "tRUE" for -b: parse error');
  assertFlagError(() => parse("-b= true"), 'invalid boolean value " true" for -b: parse error');
});

// ----------------------------------------------------------------------------------------------------------
// int
// ----------------------------------------------------------------------------------------------------------

Deno.test("parseFlags() parses ints in every form strconv.ParseInt(s, 0, 64) accepts", () => {
  const cases: [string, number][] = [
    ["42", 42],
    ["+42", 42],
    ["-42", -42],
    ["0", 0],
    ["-0", 0],
    ["00", 0],
    ["0x1F", 31],
    ["0X1f", 31],
    ["-0x10", -16],
    ["0o17", 15],
    ["0O17", 15],
    ["017", 15],
    ["0b101", 5],
    ["0B101", 5],
    // Underscores follow Go literal rules and are allowed in decimal too, not only after a prefix.
    ["1_000", 1000],
    ["-1_000_000", -1000000],
    ["0x_ff", 255],
    ["0b1_0", 2],
    ["0_7", 7],
    ["9223372036854775807", Number("9223372036854775807")],
    ["-9223372036854775808", -(2 ** 63)],
  ];
  for (const [text, want] of cases) {
    assert.equal(value("i", `-i=${text}`), want, text);
  }
});

Deno.test("parseFlags() reports a malformed int as a parse error", () => {
  const bad = [
    "",
    "abc",
    "1.5",
    "1e3",
    " 1",
    "1 ",
    "--1",
    "+-1",
    "0x",
    "0b",
    "0o",
    "08",
    "0b2",
    "0o8",
    "0x1g",
    "1__0",
    "_1",
    "1_",
    "0x_",
    "0_x1",
    "\u0661", // ARABIC-INDIC DIGIT ONE
  ];
  for (const text of bad) {
    assertFlagError(
      () => parse(`-i=${text}`),
      `invalid value ${JSON.stringify(text)} for flag -i: parse error`,
    );
  }
});

Deno.test("parseFlags() reports an int outside int64 as out of range", () => {
  const big = [
    "9223372036854775808",
    "-9223372036854775809",
    "18446744073709551615",
    "18446744073709551616",
    "0xffffffffffffffffff",
    // Overflow is detected while scanning, before the bad trailing character is reached.
    "99999999999999999999x",
  ];
  for (const text of big) {
    assertFlagError(
      () => parse("-i", text),
      `invalid value ${JSON.stringify(text)} for flag -i: value out of range`,
    );
  }
});

// ----------------------------------------------------------------------------------------------------------
// float
// ----------------------------------------------------------------------------------------------------------

Deno.test("parseFlags() parses floats like strconv.ParseFloat(s, 64)", () => {
  const cases: [string, number][] = [
    ["1.5", 1.5],
    ["-2", -2],
    ["+3", 3],
    [".5", 0.5],
    ["1.", 1],
    ["1e3", 1000],
    ["1E-2", 0.01],
    ["1e+2", 100],
    ["+1_000.5", 1000.5],
    ["1_0e1_0", 1e11],
    ["0.1", 0.1],
    ["1e-400", 0], // underflow is silently zero
    ["4.9e-324", 5e-324],
    ["1.7976931348623157e308", Number.MAX_VALUE],
    ["0x1p-2", 0.25],
    ["0x1.8p1", 3],
    ["0X.8P0", 0.5],
    ["0x_1p4", 16],
    ["0x1.fffffffffffffp1023", Number.MAX_VALUE],
    ["0x1p-1074", 5e-324],
    ["0x1p-1075", 0], // exactly half the smallest subnormal: ties to even
    ["0x3p-1076", 5e-324], // 0.75 of the smallest subnormal rounds up
    ["inf", Infinity],
    ["+Inf", Infinity],
    ["-Infinity", -Infinity],
    ["INFINITY", Infinity],
  ];
  for (const [text, want] of cases) {
    assert.equal(value("f", `-f=${text}`), want, text);
  }
  assert.ok(Object.is(value("f", "-f=-0"), -0));
  assert.ok(Object.is(value("f", "-f=-0x0p0"), -0));
  assert.ok(Number.isNaN(value("f", "-f=NaN")));
  assert.ok(Number.isNaN(value("f", "-f=nan")));
});

Deno.test("parseFlags() reports a malformed float as a parse error", () => {
  const bad = [
    "",
    "abc",
    ".",
    "-",
    "1.2.3",
    "e5",
    "1e",
    "1e+",
    "1e1.5",
    "1f",
    " 1",
    "0x",
    "0x1", // hex floats need a p exponent
    "0x1.8",
    "0xp1",
    "0x1e3",
    "infx",
    "infin",
    "infinit",
    "+nan",
    "-nan",
    "nan1",
    "_1",
    "1_",
    "1__0",
    "1_.5",
    "1e_5",
  ];
  for (const text of bad) {
    assertFlagError(
      () => parse(`-f=${text}`),
      `invalid value ${JSON.stringify(text)} for flag -f: parse error`,
    );
  }
});

Deno.test("parseFlags() reports a float beyond float64 as out of range", () => {
  for (const text of ["1e309", "-1e400", "1e10000000", "0x1p1024", "0x1.fffffffffffff8p1023"]) {
    assertFlagError(() => parse(`-f=${text}`), `invalid value "${text}" for flag -f: value out of range`);
  }
});

// ----------------------------------------------------------------------------------------------------------
// duration
// ----------------------------------------------------------------------------------------------------------

Deno.test("parseFlags() stores durations in nanoseconds and reports bad ones as a bare parse error", () => {
  assert.equal(value("d", "-d=1m30s"), 90e9);
  assert.equal(value("d", "-d", "-1.5h"), -5.4e12);
  assert.equal(value("d", "-d=0"), 0);
  assertFlagError(() => parse("-d=x"), 'invalid value "x" for flag -d: parse error');
  assertFlagError(() => parse("-d=1"), 'invalid value "1" for flag -d: parse error');
  assertFlagError(() => parse("-d=1d"), 'invalid value "1d" for flag -d: parse error');
});

// ----------------------------------------------------------------------------------------------------------
// strings and floats (nsq's app.StringArray / app.FloatArray)
// ----------------------------------------------------------------------------------------------------------

Deno.test("parseFlags() appends every occurrence of a strings flag verbatim, commas included", () => {
  const parsed = parse("-ss=a,b", "--ss", "c", "-ss=", "-ss=c");
  assert.deepEqual(parsed.values.get("ss"), ["a,b", "c", "", "c"]);
  assert.deepEqual(parsed.set, new Set(["ss"]));
});

Deno.test("parseFlags() appends to a non-empty array default without mutating the spec", () => {
  const strings = ["x"];
  const floats = [0.9];
  const specs: FlagSpec[] = [
    { name: "ss", kind: "strings", default: strings, usage: "" },
    { name: "ff", kind: "floats", default: floats, usage: "" },
  ];
  const parsed = parseFlags(specs, ["-ss=y", "-ff=1,0.1"]);
  assert.deepEqual(parsed.values.get("ss"), ["x", "y"]);
  assert.deepEqual(parsed.values.get("ff"), [1, 0.9, 0.1]);
  assert.deepEqual(strings, ["x"]);
  assert.deepEqual(floats, [0.9]);
  // Unset array flags get a copy of the default, too.
  assert.notEqual(parseFlags(specs, []).values.get("ss"), strings);
});

Deno.test("parseFlags() splits floats on commas and keeps the whole list sorted descending", () => {
  const parsed = parse("-ff=0.5,0.99", "-ff", "1.0", "--ff=0.75,0.5");
  assert.deepEqual(parsed.values.get("ff"), [1, 0.99, 0.75, 0.5, 0.5]);
});

Deno.test("parseFlags() rejects a floats value if any comma-separated piece does not parse", () => {
  assertFlagError(() => parse("-ff=1.0,abc"), 'invalid value "1.0,abc" for flag -ff: parse error');
  assertFlagError(() => parse("-ff="), 'invalid value "" for flag -ff: parse error');
  assertFlagError(() => parse("-ff=1,"), 'invalid value "1," for flag -ff: parse error');
  assertFlagError(() => parse("-ff=1 , 2"), 'invalid value "1 , 2" for flag -ff: parse error');
  assertFlagError(() => parse("-ff=0.5,1e400"), 'invalid value "0.5,1e400" for flag -ff: value out of range');
});

// ----------------------------------------------------------------------------------------------------------
// Message quoting and spec validation
// ----------------------------------------------------------------------------------------------------------

Deno.test("parseFlags() quotes offending values the way Go's %q does", () => {
  const cases: [string, string][] = [
    ["a\tb", String.raw`"a\tb"`],
    ["\x07\b\f\n\r\v", String.raw`"\a\b\f\n\r\v"`],
    ["\x01\x7f", String.raw`"\x01\x7f"`],
    ['say "hi" \\', String.raw`"say \"hi\" \\"`],
    ["é😀", '"é😀"'], // printable non-ASCII stays as is
    ["\u00a0\u200b", String.raw`"\u00a0\u200b"`], // spaces other than U+0020 and format characters do not
    ["\u{e0001}", String.raw`"\U000e0001"`],
  ];
  for (const [text, quoted] of cases) {
    assertFlagError(() => parse("-i", text), `invalid value ${quoted} for flag -i: parse error`);
  }
  assertFlagError(() => parse("-b=\n"), String.raw`invalid boolean value "\n" for -b: parse error`);
});

Deno.test("parseFlags() rejects invalid specs the way Go's FlagSet.Var panics", () => {
  const bad: FlagSpec[][] = [
    [{ name: "-x", kind: "bool", default: false, usage: "" }],
    [{ name: "a=b", kind: "bool", default: false, usage: "" }],
    [
      { name: "x", kind: "bool", default: false, usage: "" },
      { name: "x", kind: "string", default: "", usage: "" },
    ],
    [{ name: "x", kind: "int", default: 1.5, usage: "" }],
    [{ name: "x", kind: "duration", default: "1s", usage: "" }],
    [{ name: "x", kind: "strings", default: [1], usage: "" }],
  ];
  for (const specs of bad) {
    assert.throws(() => parseFlags(specs, []), TypeError);
    assert.throws(() => usage("nsqd", specs), TypeError);
  }
});

// ----------------------------------------------------------------------------------------------------------
// parseDuration / formatDuration
// ----------------------------------------------------------------------------------------------------------

const SECOND = 1e9;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

Deno.test("parseDuration() accepts Go duration syntax", () => {
  // Mostly Go's own parseDurationTests table.
  const cases: [string, number][] = [
    ["0", 0],
    ["+0", 0],
    ["-0", 0],
    ["0s", 0],
    ["5s", 5 * SECOND],
    ["30s", 30 * SECOND],
    ["1478s", 1478 * SECOND],
    ["-5s", -5 * SECOND],
    ["+5s", 5 * SECOND],
    ["5.0s", 5 * SECOND],
    ["5.6s", 5.6 * SECOND],
    ["5.s", 5 * SECOND],
    [".5s", 0.5 * SECOND],
    ["1.s", SECOND],
    ["1.0s", SECOND],
    ["1.00s", SECOND],
    ["1.004s", 1.004 * SECOND],
    ["1.0040s", 1.004 * SECOND],
    ["100.00100s", 100.001 * SECOND],
    ["10ns", 10],
    ["11us", 11_000],
    ["12\u00b5s", 12_000], // MICRO SIGN
    ["12\u03bcs", 12_000], // GREEK SMALL LETTER MU
    ["13ms", 13e6],
    ["14s", 14 * SECOND],
    ["15m", 15 * MINUTE],
    ["16h", 16 * HOUR],
    ["1h", HOUR],
    ["1.5h", 1.5 * HOUR],
    ["-1.5h", -1.5 * HOUR],
    ["250ms", 250e6],
    ["1m0s", MINUTE],
    ["1h0m0s", HOUR],
    ["2h45m", 2 * HOUR + 45 * MINUTE],
    ["3h30m", 3.5 * HOUR],
    ["10.5s4m", 4 * MINUTE + 10.5 * SECOND],
    ["-2m3.4s", -(2 * MINUTE + 3.4 * SECOND)],
    ["1h2m3.5s", HOUR + 2 * MINUTE + 3.5 * SECOND],
    ["1h2m3s4ms5us6ns", 3723004005006],
    ["39h9m14.425s", 140954425e6],
    ["52763797000ns", 52763797000],
    ["0.3333333333333333333h", 20 * MINUTE], // more than 9 fraction digits
    ["0.100000000000000000000h", 6 * MINUTE],
    ["0.830103483285477580700h", 49 * MINUTE + 48 * SECOND + 372539827], // leadingFraction's overflow check
    ["9007199254740993ns", Number(9007199254740993n)], // beyond 2^53: rounded like int64 → float64
    ["9223372036854775807ns", Number(2n ** 63n - 1n)],
    ["9223372036854775.807us", Number(2n ** 63n - 1n)],
    ["9223372036s854ms775us807ns", Number(2n ** 63n - 1n)],
    ["-9223372036854775808ns", -(2 ** 63)],
    ["-9223372036854775.808us", -(2 ** 63)],
    ["-2562047h47m16.854775808s", -(2 ** 63)],
  ];
  for (const [text, want] of cases) {
    assert.equal(parseDuration(text), want, text);
  }
  assert.ok(Object.is(parseDuration("-0s"), 0), "no negative zero");
});

Deno.test("parseDuration() rejects bad input with Go's exact messages", () => {
  const cases: [string, string][] = [
    ["", 'time: invalid duration ""'],
    ["-", 'time: invalid duration "-"'],
    ["s", 'time: invalid duration "s"'],
    [".", 'time: invalid duration "."'],
    ["-.", 'time: invalid duration "-."'],
    [".s", 'time: invalid duration ".s"'],
    ["+.s", 'time: invalid duration "+.s"'],
    ["--1s", 'time: invalid duration "--1s"'],
    [" 1s", 'time: invalid duration " 1s"'],
    ["1", 'time: missing unit in duration "1"'],
    ["3", 'time: missing unit in duration "3"'],
    ["1h1", 'time: missing unit in duration "1h1"'],
    ["1.5.5s", 'time: missing unit in duration "1.5.5s"'],
    ["1x", 'time: unknown unit "x" in duration "1x"'],
    ["1d", 'time: unknown unit "d" in duration "1d"'],
    ["1S", 'time: unknown unit "S" in duration "1S"'],
    ["1s ", 'time: unknown unit "s " in duration "1s "'],
    ['1h"', String.raw`time: unknown unit "h\"" in duration "1h\""`],
    ["1\u00b5", String.raw`time: unknown unit "\xc2\xb5" in duration "1\xc2\xb5"`],
    ["\ufffd", String.raw`time: invalid duration "\xef\xbf\xbd"`],
    ["\t1s", String.raw`time: invalid duration "\x091s"`],
    // overflow
    ["9223372036854775808ns", 'time: invalid duration "9223372036854775808ns"'],
    ["9223372036854775810ns", 'time: invalid duration "9223372036854775810ns"'],
    ["-9223372036854775809ns", 'time: invalid duration "-9223372036854775809ns"'],
    ["9223372036854776us", 'time: invalid duration "9223372036854776us"'],
    ["3000000h", 'time: invalid duration "3000000h"'],
    ["9223372036854775.808us", 'time: invalid duration "9223372036854775.808us"'],
    ["9223372036854ms775us808ns", 'time: invalid duration "9223372036854ms775us808ns"'],
    ["99999999999999999999s", 'time: invalid duration "99999999999999999999s"'],
  ];
  for (const [text, message] of cases) {
    assertFlagError(() => parseDuration(text), message);
  }
});

Deno.test("formatDuration() formats like Go's time.Duration.String()", () => {
  const cases: [number, string][] = [
    [0, "0s"],
    [-0, "0s"],
    [1, "1ns"],
    [100, "100ns"],
    [1100, "1.1\u00b5s"],
    [2000, "2\u00b5s"],
    [2.2e6, "2.2ms"],
    [250e6, "250ms"],
    [1.5 * SECOND, "1.5s"],
    [3.3 * SECOND, "3.3s"],
    [MINUTE, "1m0s"],
    [HOUR, "1h0m0s"],
    [4 * MINUTE + 5 * SECOND, "4m5s"],
    [4 * MINUTE + 5.001 * SECOND, "4m5.001s"],
    [5 * HOUR + 6 * MINUTE + 7.001 * SECOND, "5h6m7.001s"],
    [8 * MINUTE + 1, "8m0.000000001s"],
    [2 * HOUR + 45 * MINUTE, "2h45m0s"],
    [100 * HOUR, "100h0m0s"],
    [-1.5 * HOUR, "-1h30m0s"],
    [-1, "-1ns"],
    [-(2 ** 63), "-2562047h47m16.854775808s"],
    [1.9, "1ns"], // fractions of a nanosecond are truncated toward zero
    [-1.9, "-1ns"],
  ];
  for (const [ns, want] of cases) {
    assert.equal(formatDuration(ns), want, String(ns));
  }
  assert.throws(() => formatDuration(NaN), RangeError);
  assert.throws(() => formatDuration(Infinity), RangeError);
});

Deno.test("formatDuration() and parseDuration() round-trip canonical durations", () => {
  const canonical = [
    "0s",
    "1ns",
    "1.1\u00b5s",
    "2.2ms",
    "250ms",
    "1.5s",
    "1m0s",
    "4m5.001s",
    "1h0m0s",
    "2h45m0s",
    "-1h30m0s",
    "8m0.000000001s",
    "-2562047h47m16.854775808s",
  ];
  for (const text of canonical) {
    assert.equal(formatDuration(parseDuration(text)), text);
  }
  const shorthand: [string, string][] = [
    ["2h45m", "2h45m0s"],
    ["-1.5h", "-1h30m0s"],
    ["1h2m3.5s", "1h2m3.5s"],
    [".5s", "500ms"],
    ["1.s", "1s"],
    ["0", "0s"],
    ["90m", "1h30m0s"],
    ["1000ms", "1s"],
    ["1us", "1\u00b5s"],
  ];
  for (const [text, want] of shorthand) {
    assert.equal(formatDuration(parseDuration(text)), want, text);
  }
  for (const ns of [0, 1, 999, 1000, 123456789, 60e9, 3723004005006, -5.4e12, 2 ** 53]) {
    assert.equal(parseDuration(formatDuration(ns)), ns, String(ns));
  }
});

// ----------------------------------------------------------------------------------------------------------
// usage
// ----------------------------------------------------------------------------------------------------------

Deno.test("usage() prints Go's PrintDefaults layout sorted by name", () => {
  const specs: FlagSpec[] = [
    { name: "tcp-address", kind: "string", default: "0.0.0.0:4150", usage: "<addr>:<port> for TCP clients" },
    { name: "v", kind: "bool", default: false, usage: "verbose" },
    { name: "mem-queue-size", kind: "int", default: 10000, usage: "messages to keep in memory" },
    { name: "msg-timeout", kind: "duration", default: 60e9, usage: "default message timeout" },
    { name: "lookupd-tcp-address", kind: "strings", default: [], usage: "lookupd TCP address" },
    { name: "e2e-processing-latency-percentile", kind: "floats", default: [], usage: "percentiles" },
    { name: "ratio", kind: "float", default: 0.5, usage: "a ratio" },
    { name: "data-path", kind: "string", default: "", usage: "path to `dir` for data" },
    { name: "deflate", kind: "bool", default: true, usage: "enable deflate" },
    { name: "config", kind: "string", default: "", usage: "path to config file" },
    { name: "x", kind: "int", default: 0, usage: "first line\nsecond line" },
    { name: "q", kind: "bool", default: false, usage: "a `lone back quote" },
  ];
  assert.equal(
    usage("nsqd", specs),
    [
      "Usage of nsqd:",
      "  -config string",
      "    \tpath to config file",
      "  -data-path dir",
      "    \tpath to dir for data",
      "  -deflate",
      "    \tenable deflate (default true)",
      "  -e2e-processing-latency-percentile value",
      "    \tpercentiles",
      "  -lookupd-tcp-address value",
      "    \tlookupd TCP address",
      "  -mem-queue-size int",
      "    \tmessages to keep in memory (default 10000)",
      "  -msg-timeout duration",
      "    \tdefault message timeout (default 1m0s)",
      "  -q\ta `lone back quote",
      "  -ratio float",
      "    \ta ratio (default 0.5)",
      "  -tcp-address string",
      '    \t<addr>:<port> for TCP clients (default "0.0.0.0:4150")',
      "  -v\tverbose",
      "  -x int",
      "    \tfirst line",
      "    \tsecond line",
      "",
    ].join("\n"),
  );
});

Deno.test("usage() formats non-zero defaults the way Go's Value.String() does", () => {
  const specs: FlagSpec[] = [
    { name: "a-big", kind: "float", default: 1e6, usage: "u" },
    { name: "b-small", kind: "float", default: 0.00001, usage: "u" },
    { name: "c-tiny", kind: "float", default: 0.0001, usage: "u" },
    { name: "d-third", kind: "float", default: 1 / 3, usage: "u" },
    { name: "e-large", kind: "float", default: 123456, usage: "u" },
    { name: "f-neg-zero", kind: "float", default: -0, usage: "u" },
    { name: "g-int", kind: "int", default: 2 ** 62, usage: "u" },
    { name: "h-pcts", kind: "floats", default: [0.99, 0.5], usage: "u" },
    { name: "i-tie", kind: "floats", default: [0.0078125], usage: "u" },
    { name: "j-addrs", kind: "strings", default: ["a:1", "b:2"], usage: "u" },
    { name: "k-empty-strings", kind: "strings", default: [""], usage: "u" },
    { name: "l-prefix", kind: "string", default: "[nsqd] ", usage: "u" },
    { name: "m-escaped", kind: "string", default: 'a\tb"c', usage: "u" },
    { name: "n-dur", kind: "duration", default: -1.5e9, usage: "u" },
    { name: "o-zero-dur", kind: "duration", default: 0, usage: "u" },
    { name: "é", kind: "bool", default: false, usage: "two bytes, so not on one line" },
  ];
  assert.equal(
    usage("", specs),
    [
      "Usage:",
      "  -a-big float",
      "    \tu (default 1e+06)",
      "  -b-small float",
      "    \tu (default 1e-05)",
      "  -c-tiny float",
      "    \tu (default 0.0001)",
      "  -d-third float",
      "    \tu (default 0.3333333333333333)",
      "  -e-large float",
      "    \tu (default 123456)",
      "  -f-neg-zero float",
      "    \tu (default -0)",
      "  -g-int int",
      "    \tu (default 4611686018427387904)",
      "  -h-pcts value",
      "    \tu (default 0.990000,0.500000)",
      "  -i-tie value",
      "    \tu (default 0.007812)",
      "  -j-addrs value",
      "    \tu (default a:1,b:2)",
      "  -k-empty-strings value",
      "    \tu",
      "  -l-prefix string",
      '    \tu (default "[nsqd] ")',
      "  -m-escaped string",
      String.raw`    	u (default "a\tb\"c")`,
      "  -n-dur duration",
      "    \tu (default -1.5s)",
      "  -o-zero-dur duration",
      "    \tu",
      "  -é",
      "    \ttwo bytes, so not on one line",
      "",
    ].join("\n"),
  );
});
