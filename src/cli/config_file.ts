/**
 * `--config=FILE`: a TOML file whose keys are the options' config names (shared/nsq-reference.md
 * §4.4), resolved with go-options' precedence (command line > config file > default) and its
 * coercions: durations from strings or integers meaning milliseconds, lists from arrays or comma
 * strings, ints from integers or strings, bools from bools, strings or integers (quirk: `v == 0`).
 */
import { parse as parseToml } from "smol-toml";
import { parseDuration } from "../protocol/go_duration.ts";

/** A config file or value nsqd refuses; the CLI prints it as a FATAL line and exits 1. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Reads and parses `--config=FILE`; a file that cannot be read or parsed is a ConfigError. */
export function loadConfigFile(path: string, readText: (path: string) => string): Map<string, unknown> {
  let text: string;
  try {
    text = readText(path);
  } catch (err) {
    throw new ConfigError(`failed to load config file ${path} - ${(err as Error).message}`);
  }
  return parseConfigText(text, path);
}

/** Parses TOML text into key → value (integers as bigint, so `5` and `5.0` stay apart as in Go). */
export function parseConfigText(text: string, path: string): Map<string, unknown> {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text, { integersAsBigInt: true }) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(`failed to load config file ${path} - ${(err as Error).message.split("\n")[0]}`);
  }
  return new Map(Object.entries(doc));
}

export type CoerceKind = "string" | "bool" | "int" | "float" | "duration" | "strings" | "floats";

/** go-options' `coerce`: a config value turned into the option's type, or a ConfigError. */
export function coerce(value: unknown, kind: CoerceKind, name: string): unknown {
  const fail = (why: string) =>
    new ConfigError(`option resolution failed to coerce ${goValue(value)} for ${name} - ${why}`);
  switch (kind) {
    case "string":
      return typeof value === "string" ? value : goValue(value);
    case "bool":
      if (typeof value === "boolean") return value;
      if (typeof value === "bigint") return value === 0n;
      if (typeof value === "string") {
        const b = parseGoBool(value);
        if (b === undefined) {
          throw fail(`strconv.ParseBool: parsing ${JSON.stringify(value)}: invalid syntax`);
        }
        return b;
      }
      throw fail("invalid value type");
    case "int":
      if (typeof value === "bigint") return Number(value);
      if (typeof value === "string") {
        if (!/^[+-]?[0-9]+$/.test(value)) {
          throw fail(`strconv.ParseInt: parsing ${JSON.stringify(value)}: invalid syntax`);
        }
        return Number(value);
      }
      throw fail("invalid value type");
    case "float":
      if (typeof value === "number") return value;
      if (typeof value === "bigint") return Number(value);
      throw fail("invalid value type");
    case "duration":
      if (typeof value === "bigint") return Number(value) * 1e6; // integers are milliseconds
      if (typeof value === "string") {
        if (/^[0-9]+$/.test(value)) return Number(value) * 1e6;
        try {
          return parseDuration(value);
        } catch (err) {
          throw fail((err as Error).message);
        }
      }
      throw fail("invalid value type");
    case "strings":
      if (typeof value === "string") return value.split(",");
      if (Array.isArray(value)) return value.map((v) => (typeof v === "string" ? v : goValue(v)));
      return [];
    case "floats": {
      const items = typeof value === "string" ? value.split(",") : Array.isArray(value) ? value : [];
      return items.map((v) => {
        const n = typeof v === "string" ? Number(v) : Number(v as number | bigint);
        if (typeof v === "string" && (v.trim() === "" || Number.isNaN(n))) {
          throw fail(`strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
        }
        return n;
      });
    }
  }
}

/** Go's `%v` of a TOML value, for messages. */
export function goValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(" ")}]`;
  return String(v);
}

function parseGoBool(s: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(s)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(s)) return false;
  return undefined;
}
