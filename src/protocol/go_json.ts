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
