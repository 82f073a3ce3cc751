/**
 * Byte classification tables for the HTTP/1.1 grammar (RFC 9110 §5.6, RFC 9112).
 * A table lookup per byte is what keeps strict validation cheap: no regex, no allocation.
 */

/** tchar: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA */
export const TOKEN = new Uint8Array(256);
/** field-vchar plus SP and HTAB inside a value: HTAB / SP / VCHAR / obs-text (RFC 9110 §5.5). */
export const FIELD_VALUE = new Uint8Array(256);
/** Bytes we accept in a request-target: VCHAR only (no SP, no CTL, no obs-text; RFC 9112 §3.2). */
export const TARGET = new Uint8Array(256);
/** qdtext: HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text (RFC 9110 §5.6.4). */
export const QDTEXT = new Uint8Array(256);
/** What may follow a backslash in a quoted-pair: HTAB / SP / VCHAR / obs-text. */
export const QUOTED_PAIR = new Uint8Array(256);
/** HEXDIG value + 1 (0 means "not a hex digit"). */
export const HEX_VALUE = new Uint8Array(256);

const TCHAR_SYMBOLS = "!#$%&'*+-.^_`|~";

for (let c = 0; c < 256; c++) {
  const isDigit = c >= 0x30 && c <= 0x39;
  const isAlpha = (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
  const isVchar = c >= 0x21 && c <= 0x7e;
  const isObsText = c >= 0x80;
  if (isDigit || isAlpha || TCHAR_SYMBOLS.includes(String.fromCharCode(c))) TOKEN[c] = 1;
  if (c === 0x09 || c === 0x20 || isVchar || isObsText) {
    FIELD_VALUE[c] = 1;
    QUOTED_PAIR[c] = 1;
  }
  if (isVchar) TARGET[c] = 1;
  if (c === 0x09 || c === 0x20 || c === 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) || isObsText) {
    QDTEXT[c] = 1;
  }
  if (isDigit) HEX_VALUE[c] = c - 0x30 + 1;
  else if (c >= 0x41 && c <= 0x46) HEX_VALUE[c] = c - 0x41 + 11;
  else if (c >= 0x61 && c <= 0x66) HEX_VALUE[c] = c - 0x61 + 11;
}

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;
export const HTAB = 0x09;
export const COLON = 0x3a;
export const SEMICOLON = 0x3b;
export const EQUALS = 0x3d;
export const DQUOTE = 0x22;
export const BACKSLASH = 0x5c;

/** True when every UTF-16 unit of `s` is a tchar (used for strings the app hands us). */
export function isToken(s: string): boolean {
  const n = s.length;
  if (n === 0) return false;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || TOKEN[c] === 0) return false;
  }
  return true;
}

/**
 * True when `s` may be written as a field value: HTAB, SP, VCHAR and obs-text only.
 * This is what refuses CR, LF and NUL (header injection) in values the app sets.
 */
export function isFieldValue(s: string): boolean {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff || FIELD_VALUE[c] === 0) return false;
  }
  return true;
}

/** ASCII case-insensitive equality against an already lower-case literal. */
export function equalsLower(s: string, lower: string): boolean {
  return s.length === lower.length && (s === lower || s.toLowerCase() === lower);
}
