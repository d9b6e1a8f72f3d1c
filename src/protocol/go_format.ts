/**
 * Go formatting that leaks into NSQ's error texts: `%q` (strconv.Quote) of bytes that came off the
 * wire, and `%s` of raw bytes.
 */

const HEX = "0123456789abcdef";

/** Go's `strconv.Quote` of raw bytes: `"…"` with Go escapes; invalid UTF-8 bytes become `\xNN`. */
export function goQuote(bytes: Uint8Array): string {
  let out = '"';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    if (b < 0x80) {
      out += quoteAscii(b);
      i++;
      continue;
    }
    const [cp, size] = decodeRune(bytes, i);
    if (size === 0) {
      out += "\\x" + HEX[b >> 4] + HEX[b & 15];
      i++;
      continue;
    }
    out += isPrintRune(cp) ? String.fromCodePoint(cp) : escapeRune(cp);
    i += size;
  }
  return out + '"';
}

/** Go's `%s` of a byte slice: the bytes as text (invalid UTF-8 becomes U+FFFD when printed). */
export function goBytesString(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

const decoder = new TextDecoder();

function quoteAscii(b: number): string {
  switch (b) {
    case 0x07:
      return "\\a";
    case 0x08:
      return "\\b";
    case 0x0c:
      return "\\f";
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
    case 0x0b:
      return "\\v";
    case 0x22:
      return '\\"';
    case 0x5c:
      return "\\\\";
  }
  if (b < 0x20 || b === 0x7f) return "\\x" + HEX[b >> 4] + HEX[b & 15];
  return String.fromCharCode(b);
}

function escapeRune(cp: number): string {
  if (cp < 0x10000) return "\\u" + cp.toString(16).padStart(4, "0");
  return "\\U" + cp.toString(16).padStart(8, "0");
}

// Close enough to Go's unicode.IsPrint for names and numbers: C1 controls, surrogates,
// non-characters and the odd spaces are escaped.
function isPrintRune(cp: number): boolean {
  // Go's IsPrint: letters, marks, numbers, punctuation and symbols, and of the spaces only U+0020.
  if (cp <= 0xa0) return false;
  if (cp === 0x1680 || cp === 0x205f || cp === 0x3000) return false;
  if (cp === 0xad) return false;
  if (cp >= 0x2000 && cp <= 0x200f) return false;
  if (cp >= 0x2028 && cp <= 0x202f) return false;
  if (cp >= 0xfff9 && cp <= 0xfffb) return false;
  if (cp === 0xfeff || cp === 0xfffe || cp === 0xffff) return false;
  return true;
}

/** Decodes one UTF-8 sequence at `i`; size 0 means invalid. */
function decodeRune(b: Uint8Array, i: number): [number, number] {
  const b0 = b[i];
  const need = b0 >= 0xf0 && b0 <= 0xf4 ? 4 : b0 >= 0xe0 ? 3 : b0 >= 0xc2 && b0 <= 0xdf ? 2 : 0;
  if (need === 0 || i + need > b.length) return [0, 0];
  let cp = need === 2 ? b0 & 0x1f : need === 3 ? b0 & 0x0f : b0 & 0x07;
  for (let k = 1; k < need; k++) {
    const c = b[i + k];
    if ((c & 0xc0) !== 0x80) return [0, 0];
    cp = (cp << 6) | (c & 0x3f);
  }
  if (need === 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) return [0, 0];
  if (need === 4 && (cp < 0x10000 || cp > 0x10ffff)) return [0, 0];
  return [cp, need];
}
