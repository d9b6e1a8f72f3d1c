/**
 * JSON text as Go's `encoding/json` writes it, for responses compared byte for byte: HTML-safe
 * escapes (`<`, `>`, `&` → `\u003c`, `\u003e`, `\u0026`; U+2028/U+2029 escaped too), and bigint
 * numbers written exactly (Unix nanoseconds do not fit a double).
 */

/** A value `goJson` can write: objects keep their key order (build Go maps with sorted keys). */
export type GoJsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | readonly GoJsonValue[]
  | { readonly [key: string]: GoJsonValue };

/**
 * Serialises `value` the way Go's `json.Marshal` would.
 *
 * @example
 * ```ts
 * import { goJson } from "./go_json.ts";
 * console.assert(goJson({ a: "<b>", n: 1n << 62n }) === '{"a":"\\u003cb\\u003e","n":4611686018427387904}');
 * ```
 */
export function goJson(value: GoJsonValue): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "bigint":
      return value.toString();
    case "string":
      return goJsonString(value);
  }
  if (Array.isArray(value)) return `[${value.map(goJson).join(",")}]`;
  const obj = value as { readonly [key: string]: GoJsonValue };
  return `{${Object.keys(obj).map((k) => `${goJsonString(k)}:${goJson(obj[k])}`).join(",")}}`;
}

/** A JSON string literal with Go's escapes. */
export function goJsonString(s: string): string {
  const json = JSON.stringify(s);
  return /[<>&\u2028\u2029]/.test(json) ? json.replace(/[<>&\u2028\u2029]/g, escapeChar) : json;
}

function escapeChar(c: string): string {
  return "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
}

/**
 * The keys of a JSON object with the raw text of their values, in order (for decoding the way Go's
 * encoding/json does: it needs the literal text of numbers). `text` must be valid JSON whose top
 * level is an object (check with JSON.parse first).
 */
export function jsonTopLevelEntries(text: string): [string, string][] {
  const out: [string, string][] = [];
  let i = skipWs(text, skipWs(text, 0) + 1); // past '{'
  if (text[i] === "}") return out;
  for (;;) {
    const keyEnd = skipString(text, i);
    const key = JSON.parse(text.slice(i, keyEnd)) as string;
    i = skipWs(text, skipWs(text, keyEnd) + 1); // past ':'
    const start = i;
    i = skipValue(text, i);
    out.push([key, text.slice(start, i)]);
    i = skipWs(text, i);
    if (text[i] !== ",") return out;
    i = skipWs(text, i + 1);
  }
}

/** Index of the first non-whitespace character at or after `i`. */
export function skipWs(t: string, i: number): number {
  while (i < t.length && (t[i] === " " || t[i] === "\t" || t[i] === "\n" || t[i] === "\r")) i++;
  return i;
}

function skipString(t: string, i: number): number {
  i++; // opening quote
  while (t[i] !== '"') i += t[i] === "\\" ? 2 : 1;
  return i + 1;
}

function skipValue(t: string, i: number): number {
  const c = t[i];
  if (c === '"') return skipString(t, i);
  if (c === "{" || c === "[") {
    let depth = 0;
    while (i < t.length) {
      const ch = t[i];
      if (ch === '"') {
        i = skipString(t, i);
        continue;
      }
      if (ch === "{" || ch === "[") depth++;
      else if (ch === "}" || ch === "]") {
        depth--;
        if (depth === 0) return i + 1;
      }
      i++;
    }
    return i;
  }
  while (i < t.length && !",}] \t\n\r".includes(t[i])) i++;
  return i;
}
