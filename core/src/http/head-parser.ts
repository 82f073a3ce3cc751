import { CR, LF, SP, TARGET, TOKEN } from './char-tables.js';
import { HttpErrorCode, HttpProtocolError } from './errors.js';
import { latin1, readFieldLine, type FieldSink } from './field-line.js';
import { MAX_HEAD_BYTES, type EffectiveLimits } from './options.js';

/**
 * Incremental parser of a request head (request line + header section, RFC 9112 §2-§5).
 *
 * It consumes complete CRLF-terminated lines only; the caller keeps the bytes of an incomplete
 * line and calls `checkIncompleteLine` so that limits trip before the line is complete.
 * Fields that decide framing and connection handling are noted while parsing so that nobody has
 * to search the header list again.
 */
export class RequestHeadParser implements FieldSink {
  /** True once the empty line ending the head has been consumed. */
  complete = false;
  /** Bytes of this head consumed so far (leading empty lines included). */
  headBytes = 0;
  method = '';
  target = '';
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  versionMinor = 1;
  rawHeaders: string[] = [];
  fieldCount = 0;

  hostCount = 0;
  host: string | undefined = undefined;
  contentLengthCount = 0;
  contentLength: string | undefined = undefined;
  /** All Transfer-Encoding lines, combined as one list. */
  transferEncoding: string | undefined = undefined;
  /** All Connection lines, combined as one list. */
  connection: string | undefined = undefined;
  /** All Expect lines, combined as one list. */
  expect: string | undefined = undefined;

  private sawRequestLine = false;

  constructor(private readonly limits: EffectiveLimits) {}

  reset(): void {
    this.complete = false;
    this.headBytes = 0;
    this.method = '';
    this.target = '';
    this.versionMinor = 1;
    this.rawHeaders = [];
    this.fieldCount = 0;
    this.hostCount = 0;
    this.host = undefined;
    this.contentLengthCount = 0;
    this.contentLength = undefined;
    this.transferEncoding = undefined;
    this.connection = undefined;
    this.expect = undefined;
    this.sawRequestLine = false;
  }

  /** True when no byte of a head has been consumed. */
  get isEmpty(): boolean {
    return this.headBytes === 0;
  }

  /**
   * Consumes the complete lines of `buf` from `start`; stops after the head's empty line.
   * Returns the offset of the first byte not consumed. Throws HttpProtocolError.
   */
  execute(buf: Buffer, start: number): number {
    const end = buf.length;
    let pos = start;
    while (pos < end) {
      const lf = buf.indexOf(LF, pos);
      if (lf === -1) {
        this.checkIncompleteLine(buf[pos]!, buf[end - 1]!, end - pos);
        return pos;
      }
      const lineEnd = lf - 1;
      // Bare LF policy: rejected everywhere in the head (RFC 9112 §2.2 allows accepting it,
      // but a parser that accepts it frames differently from one that does not).
      if (lineEnd < pos || buf[lineEnd] !== CR) throw new HttpProtocolError(HttpErrorCode.BARE_LF);
      this.headBytes += lf + 1 - pos;
      // The same answer as for the line still arriving (checkIncompleteLine): how the bytes
      // were split into reads must not change the status.
      if (this.headBytes > MAX_HEAD_BYTES) throw new HttpProtocolError(this.sawRequestLine ? HttpErrorCode.HEAD_TOO_LARGE : HttpErrorCode.REQUEST_LINE_TOO_LONG);
      if (!this.sawRequestLine) {
        // RFC 9112 §2.2: empty lines before the request line are ignored.
        if (lineEnd !== pos) this.parseRequestLine(buf, pos, lineEnd);
      } else if (lineEnd === pos) {
        this.complete = true;
        return lf + 1;
      } else {
        this.parseFieldLine(buf, pos, lineEnd);
      }
      pos = lf + 1;
    }
    return pos;
  }

  /**
   * Checks an incomplete line (its first byte and length) against the limits so that an over-long line
   * is refused before it ends, and refuses early a request line that cannot start a request
   * (e.g. a TLS ClientHello sent to a plain port).
   */
  checkIncompleteLine(firstByte: number, lastByte: number, length: number): void {
    if (this.headBytes + length > MAX_HEAD_BYTES) {
      throw new HttpProtocolError(this.sawRequestLine ? HttpErrorCode.HEAD_TOO_LARGE : HttpErrorCode.REQUEST_LINE_TOO_LONG);
    }
    // A line of exactly the limit may have arrived with its CR but not yet its LF; one byte
    // more than the limit that is not that CR is already too long.
    const over = (limit: number): boolean => length > limit + 1 || (length === limit + 1 && lastByte !== CR);
    if (!this.sawRequestLine) {
      if (firstByte !== CR && TOKEN[firstByte] === 0) throw new HttpProtocolError(HttpErrorCode.INVALID_METHOD);
      if (over(this.limits.requestLine)) throw new HttpProtocolError(HttpErrorCode.REQUEST_LINE_TOO_LONG);
    } else if (over(this.limits.fieldSize)) {
      throw new HttpProtocolError(HttpErrorCode.FIELD_TOO_LARGE);
    }
  }

  /** True once the request line has been parsed. */
  get hasRequestLine(): boolean {
    return this.sawRequestLine;
  }

  /** request-line = method SP request-target SP HTTP-version (RFC 9112 §3), exactly one SP each. */
  private parseRequestLine(buf: Buffer, start: number, end: number): void {
    if (end - start > this.limits.requestLine) throw new HttpProtocolError(HttpErrorCode.REQUEST_LINE_TOO_LONG);
    let i = start;
    while (i < end && TOKEN[buf[i]!] === 1) i++;
    if (i === start || i === end || buf[i] !== SP) throw new HttpProtocolError(HttpErrorCode.INVALID_METHOD);
    // The method first: the answer to a bad target or version still depends on it (HEAD).
    this.method = methodString(buf, start, i);
    i++;
    const targetStart = i;
    while (i < end && TARGET[buf[i]!] === 1) i++;
    if (i === targetStart || i === end || buf[i] !== SP) throw new HttpProtocolError(HttpErrorCode.INVALID_TARGET);
    const targetEnd = i;
    i++;
    this.versionMinor = parseVersion(buf, i, end);
    this.target = latin1(buf, targetStart, targetEnd);
    this.sawRequestLine = true;
  }

  private parseFieldLine(buf: Buffer, start: number, end: number): void {
    if (end - start > this.limits.fieldSize) throw new HttpProtocolError(HttpErrorCode.FIELD_TOO_LARGE);
    if (++this.fieldCount > this.limits.fieldCount) throw new HttpProtocolError(HttpErrorCode.TOO_MANY_FIELDS);
    readFieldLine(buf, start, end, this);
  }

  addField(name: string, value: string): void {
    this.rawHeaders.push(name, value);
    switch (name.length) {
      case 4:
        if (isNamed(name, 'host')) {
          this.hostCount++;
          this.host = value;
        }
        break;
      case 6:
        if (isNamed(name, 'expect')) this.expect = joinList(this.expect, value);
        break;
      case 10:
        if (isNamed(name, 'connection')) this.connection = joinList(this.connection, value);
        break;
      case 14:
        if (isNamed(name, 'content-length')) {
          this.contentLengthCount++;
          this.contentLength = value;
        }
        break;
      case 17:
        if (isNamed(name, 'transfer-encoding')) this.transferEncoding = joinList(this.transferEncoding, value);
        break;
    }
  }
}

function isNamed(name: string, lower: string): boolean {
  return name === lower || name.toLowerCase() === lower;
}

/** Combines repeated list-valued fields the way RFC 9110 §5.3 defines: one comma-separated list. */
function joinList(previous: string | undefined, value: string): string {
  return previous === undefined ? value : previous + ', ' + value;
}

/**
 * HTTP-version = "HTTP/" DIGIT "." DIGIT (RFC 9112 §2.3), case-sensitive. 1.0 and 1.1 are
 * served; any other well-formed version gets 505 (issue 5 asks for exactly these two, though
 * RFC 9110 §2.5 would let a higher 1.x be served as 1.1); anything else is a malformed request line.
 */
function parseVersion(buf: Buffer, start: number, end: number): number {
  if (
    end - start !== 8 ||
    buf[start] !== 0x48 || // H
    buf[start + 1] !== 0x54 || // T
    buf[start + 2] !== 0x54 || // T
    buf[start + 3] !== 0x50 || // P
    buf[start + 4] !== 0x2f || // /
    buf[start + 6] !== 0x2e // .
  ) {
    throw new HttpProtocolError(HttpErrorCode.INVALID_VERSION);
  }
  const major = buf[start + 5]! - 0x30;
  const minor = buf[start + 7]! - 0x30;
  if (major < 0 || major > 9 || minor < 0 || minor > 9) throw new HttpProtocolError(HttpErrorCode.INVALID_VERSION);
  if (major !== 1 || minor > 1) throw new HttpProtocolError(HttpErrorCode.VERSION_NOT_SUPPORTED);
  return minor;
}

/** Returns interned strings for the common methods (no allocation), else decodes. */
function methodString(buf: Buffer, start: number, end: number): string {
  const n = end - start;
  const c0 = buf[start];
  if (n === 3 && c0 === 0x47 && buf[start + 1] === 0x45 && buf[start + 2] === 0x54) return 'GET';
  if (n === 4 && c0 === 0x50 && buf[start + 1] === 0x4f && buf[start + 2] === 0x53 && buf[start + 3] === 0x54) {
    return 'POST';
  }
  if (n === 4 && c0 === 0x48 && buf[start + 1] === 0x45 && buf[start + 2] === 0x41 && buf[start + 3] === 0x44) {
    return 'HEAD';
  }
  return latin1(buf, start, end);
}
