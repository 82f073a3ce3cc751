/**
 * Syntax of the authority parts of a request (RFC 3986 §3.2.2-§3.2.3, RFC 9112 §3.2).
 */

/** unreserved / sub-delims, i.e. what a reg-name may contain besides pct-encoded octets. */
const REG_NAME = new Uint8Array(128);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=") {
  REG_NAME[c.charCodeAt(0)] = 1;
}

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

function isDigits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** host = IP-literal / IPv4address / reg-name, validated over s[from, to). */
function isValidHostName(s: string, from: number, to: number): boolean {
  if (from < to && s.charCodeAt(from) === 0x5b /* [ */) {
    if (s.charCodeAt(to - 1) !== 0x5d /* ] */ || to - from < 3) return false;
    const inner = s.slice(from + 1, to - 1);
    // IPv6address (with an optional embedded IPv4) or IPvFuture.
    return /^[0-9A-Fa-f:.]+$/.test(inner) && inner.includes(':')
      ? true
      : /^[vV][0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+$/.test(inner);
  }
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x25 /* % */) {
      if (i + 2 >= to || !isHexDigit(s.charCodeAt(i + 1)) || !isHexDigit(s.charCodeAt(i + 2))) return false;
      i += 2;
    } else if (c >= 128 || REG_NAME[c] !== 1) {
      return false;
    }
  }
  return true;
}

/** Host = uri-host [ ":" port ] (RFC 9110 §7.2); an empty value is valid (no authority). */
export function isValidHost(value: string): boolean {
  const n = value.length;
  if (n === 0) return true;
  let hostEnd = n;
  if (value.charCodeAt(0) === 0x5b /* [ */) {
    const close = value.indexOf(']');
    if (close === -1) return false;
    hostEnd = close + 1;
    if (hostEnd < n && value.charCodeAt(hostEnd) !== 0x3a /* : */) return false;
  } else {
    const colon = value.indexOf(':');
    if (colon !== -1) hostEnd = colon;
  }
  if (!isValidHostName(value, 0, hostEnd)) return false;
  return hostEnd === n || isDigits(value, hostEnd + 1, n);
}

/** authority-form = uri-host ":" port (RFC 9112 §3.2.3); the port is required for CONNECT. */
export function isAuthorityForm(target: string): boolean {
  const colon = target.lastIndexOf(':');
  if (colon <= 0 || colon === target.length - 1) return false;
  if (target.charCodeAt(0) === 0x5b && target.charCodeAt(colon - 1) !== 0x5d) return false;
  return isValidHostName(target, 0, colon) && isDigits(target, colon + 1, target.length);
}

export interface AbsoluteTarget {
  /** host[:port] from the URI: the Host the request is for (RFC 9112 §3.2.2). */
  authority: string;
  /** path-abempty [ "?" query ], "/" when the path is empty. */
  originForm: string;
}

/**
 * absolute-form with an http or https URI: "scheme://authority path-abempty [? query]".
 * Returns undefined when the target is not such a URI, has userinfo, or has an empty host
 * (RFC 9110 §4.2.1, §4.2.4: both must be treated as invalid).
 */
export function parseAbsoluteTarget(target: string): AbsoluteTarget | undefined {
  const match = /^(https?):\/\/([^/?#]*)(.*)$/i.exec(target);
  if (match === null) return undefined;
  const authority = match[2]!;
  const rest = match[3]!;
  if (authority.length === 0 || authority.includes('@')) return undefined;
  if (!isValidHost(authority)) return undefined;
  if (authority.charCodeAt(0) === 0x3a /* : */) return undefined;
  if (rest.length > 0 && rest.charCodeAt(0) !== 0x2f && rest.charCodeAt(0) !== 0x3f) return undefined;
  if (rest.includes('#')) return undefined;
  const originForm = rest.length === 0 ? '/' : rest.charCodeAt(0) === 0x3f ? '/' + rest : rest;
  return { authority, originForm };
}
