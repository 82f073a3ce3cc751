/**
 * Gunicorn's access log format: Python %-formatting over named atoms, e.g.
 *   %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"
 * Formats are compiled once into a list of literal and atom renderers (this runs per request).
 */

/** What the connection knows about a finished exchange. */
export interface AccessLogInfo {
  /** Peer address as the socket reports it; undefined for a UNIX socket. */
  remoteAddress: string | undefined;
  method: string;
  /** The request-target as received (Gunicorn's RAW_URI). */
  target: string;
  /** '1.0' or '1.1'. */
  httpVersion: string;
  status: number;
  /** Response body bytes written (framing excluded). */
  responseBodyBytes: number;
  /** Request header lines as received: [name, value, name, value, ...]. */
  requestHeaders: readonly string[];
  /** Response header lines as written: [name, value, ...]. */
  responseHeaders: readonly string[];
  /** When the request head was parsed, ms since the epoch. */
  startTime: number;
  /** Time from the parsed head to the written response, in microseconds. */
  durationMicros: number;
  pid: number;
}

export const DEFAULT_ACCESS_LOG_FORMAT = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"';

export type AccessLogFormatter = (info: AccessLogInfo) => string;
type Part = string | AccessLogFormatter;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `[10/Oct/2000:13:55:36 -0700]` in local time, like Gunicorn's %(t)s. */
export function formatLogTime(ms: number): string {
  const d = new Date(ms);
  const offset = -d.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  const abs = Math.abs(offset);
  return (
    `[${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
    `${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}]`
  );
}

/** Case-insensitive lookup in name/value pairs; repeated fields are joined with ", ". */
function findHeader(pairs: readonly string[], lowerName: string): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < pairs.length; i += 2) {
    const name = pairs[i]!;
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) {
      found = found === undefined ? pairs[i + 1] : found + ', ' + pairs[i + 1];
    }
  }
  return found;
}

/** User name of Basic credentials, else undefined. */
function basicAuthUser(pairs: readonly string[]): string | undefined {
  const value = findHeader(pairs, 'authorization');
  if (value === undefined) return undefined;
  const match = /^basic[ \t]+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
  if (match === null) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon === -1 ? undefined : decoded.slice(0, colon);
}

const dash = (value: string | undefined): string => (value === undefined || value === '' ? '-' : value);

function durationSeconds(info: AccessLogInfo): number {
  return Math.floor(info.durationMicros / 1_000_000);
}

const ATOMS: Record<string, AccessLogFormatter> = {
  h: (i) => dash(i.remoteAddress),
  l: () => '-',
  u: (i) => dash(basicAuthUser(i.requestHeaders)),
  t: (i) => formatLogTime(i.startTime),
  r: (i) => `${i.method} ${i.target} HTTP/${i.httpVersion}`,
  s: (i) => String(i.status),
  b: (i) => (i.responseBodyBytes > 0 ? String(i.responseBodyBytes) : '-'),
  f: (i) => dash(findHeader(i.requestHeaders, 'referer')),
  a: (i) => dash(findHeader(i.requestHeaders, 'user-agent')),
  T: (i) => String(durationSeconds(i)),
  D: (i) => String(Math.floor(i.durationMicros)),
  L: (i) => `${durationSeconds(i)}.${pad(Math.floor(i.durationMicros) % 1_000_000, 6)}`,
  p: (i) => `<${i.pid}>`,
};

/** Like Gunicorn's SafeAtoms: double quotes in values are escaped so quoted fields stay parseable. */
function escapeQuotes(value: string): string {
  return value.includes('"') ? value.replace(/"/g, '\\"') : value;
}

function atomRenderer(name: string): AccessLogFormatter {
  const header = /^\{(.+)\}([io])$/.exec(name);
  if (header !== null) {
    const lower = header[1]!.toLowerCase();
    return header[2] === 'i'
      ? (i) => escapeQuotes(dash(findHeader(i.requestHeaders, lower)))
      : (i) => escapeQuotes(dash(findHeader(i.responseHeaders, lower)));
  }
  const atom = ATOMS[name];
  if (atom === undefined) return () => '-';
  return (i) => escapeQuotes(atom(i));
}

/** Compiles a format once; the returned function renders one line (without newline). */
export function compileAccessLogFormat(format: string): AccessLogFormatter {
  const parts: Part[] = [];
  let literal = '';
  // %(name)X where X is a conversion letter; "%%" is a literal percent sign.
  const pattern = /%\(([^)]*)\)[-#0 +]*\d*(?:\.\d+)?[sdirfa]|%%/g;
  let last = 0;
  for (let m = pattern.exec(format); m !== null; m = pattern.exec(format)) {
    literal += format.slice(last, m.index);
    last = m.index + m[0].length;
    if (m[0] === '%%') {
      literal += '%';
      continue;
    }
    if (literal !== '') parts.push(literal);
    literal = '';
    parts.push(atomRenderer(m[1]!));
  }
  literal += format.slice(last);
  if (literal !== '') parts.push(literal);
  return (info) => {
    let line = '';
    for (const part of parts) line += typeof part === 'string' ? part : part(info);
    return line;
  };
}

const compiledFormats = new Map<string, AccessLogFormatter>();

/** Renders one access log line; compiled formats are cached by format string. */
export function formatAccessLog(format: string, info: AccessLogInfo): string {
  let formatter = compiledFormats.get(format);
  if (formatter === undefined) {
    formatter = compileAccessLogFormat(format);
    if (compiledFormats.size < 64) compiledFormats.set(format, formatter);
  }
  return formatter(info);
}
