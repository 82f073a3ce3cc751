import { BACKSLASH, CR, DQUOTE, EQUALS, HEX_VALUE, HTAB, LF, QDTEXT, QUOTED_PAIR, SEMICOLON, SP, TOKEN } from './char-tables.js';
import { HttpErrorCode, HttpProtocolError } from './errors.js';
import { readFieldLine, type FieldSink } from './field-line.js';
import { MAX_HEAD_BYTES, type EffectiveLimits } from './options.js';

/** Longest chunk-size line (size + extensions) we buffer. */
export const MAX_CHUNK_LINE = 4096;

const SIZE_LINE = 0;
const DATA = 1;
const DATA_CR = 2;
const DATA_LF = 3;
const TRAILER_LINE = 4;
const DONE = 5;

/**
 * Decoder of the chunked transfer coding, exactly as RFC 9112 §7.1 writes it:
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 * Every CRLF is required (a bare LF or anything else is an error), chunk-size is 1*HEXDIG,
 * extensions are validated and ignored, trailer fields are parsed like header fields.
 */
export class ChunkedDecoder implements FieldSink {
  private state = SIZE_LINE;
  private remaining = 0;
  private trailerBytes = 0;
  private trailerCount = 0;
  rawTrailers: string[] = [];

  constructor(private readonly limits: EffectiveLimits) {}

  get done(): boolean {
    return this.state === DONE;
  }

  /** True when the decoder waits for the end of a line (the caller must buffer a partial line). */
  get wantsLine(): boolean {
    return this.state === SIZE_LINE || this.state === TRAILER_LINE;
  }

  /**
   * Decodes from `buf[start..]`, handing chunk data to `onData` (slices of `buf`, not copies).
   * Returns the offset of the first byte not consumed: the end of the chunked body when done,
   * or the start of an incomplete line. Throws HttpProtocolError.
   */
  execute(buf: Buffer, start: number, onData: (data: Buffer) => void): number {
    const end = buf.length;
    let pos = start;
    while (pos < end) {
      switch (this.state) {
        case SIZE_LINE:
        case TRAILER_LINE: {
          const lf = buf.indexOf(LF, pos);
          if (lf === -1) {
            this.checkIncompleteLine(end - pos);
            return pos;
          }
          const lineEnd = lf - 1;
          if (lineEnd < pos || buf[lineEnd] !== CR) throw new HttpProtocolError(HttpErrorCode.BARE_LF);
          if (this.state === SIZE_LINE) {
            if (lineEnd - pos > MAX_CHUNK_LINE) throw new HttpProtocolError(HttpErrorCode.CHUNK_LINE_TOO_LONG);
            this.remaining = parseChunkSizeLine(buf, pos, lineEnd);
            this.state = this.remaining === 0 ? TRAILER_LINE : DATA;
          } else if (lineEnd === pos) {
            this.state = DONE;
            return lf + 1;
          } else {
            this.addTrailerLine(buf, pos, lineEnd);
          }
          pos = lf + 1;
          break;
        }
        case DATA: {
          const available = end - pos;
          const take = available < this.remaining ? available : this.remaining;
          onData(buf.subarray(pos, pos + take));
          pos += take;
          this.remaining -= take;
          if (this.remaining === 0) this.state = DATA_CR;
          break;
        }
        case DATA_CR:
          if (buf[pos] !== CR) throw new HttpProtocolError(HttpErrorCode.INVALID_CHUNK_DELIMITER);
          pos++;
          this.state = DATA_LF;
          break;
        case DATA_LF:
          if (buf[pos] !== LF) throw new HttpProtocolError(HttpErrorCode.INVALID_CHUNK_DELIMITER);
          pos++;
          this.state = SIZE_LINE;
          break;
        default:
          return pos;
      }
    }
    return pos;
  }

  /** Refuses a partial line that is already longer than allowed. */
  checkIncompleteLine(length: number): void {
    if (this.state === SIZE_LINE) {
      if (length > MAX_CHUNK_LINE + 1) throw new HttpProtocolError(HttpErrorCode.CHUNK_LINE_TOO_LONG);
    } else if (length > this.limits.fieldSize + 1 || this.trailerBytes + length > MAX_HEAD_BYTES) {
      throw new HttpProtocolError(HttpErrorCode.FIELD_TOO_LARGE);
    }
  }

  private addTrailerLine(buf: Buffer, start: number, end: number): void {
    // Trailer fields get the same limits as header fields.
    if (end - start > this.limits.fieldSize) throw new HttpProtocolError(HttpErrorCode.FIELD_TOO_LARGE);
    if (++this.trailerCount > this.limits.fieldCount) throw new HttpProtocolError(HttpErrorCode.TOO_MANY_FIELDS);
    this.trailerBytes += end - start + 2;
    if (this.trailerBytes > MAX_HEAD_BYTES) throw new HttpProtocolError(HttpErrorCode.HEAD_TOO_LARGE);
    readFieldLine(buf, start, end, this);
  }

  addField(name: string, value: string): void {
    this.rawTrailers.push(name, value);
  }
}

/**
 * chunk-size [ chunk-ext ] over buf[start, end), CRLF removed:
 *   chunk-size = 1*HEXDIG
 *   chunk-ext  = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 * Whitespace is only accepted where BWS is, i.e. never right after the size unless a ";"
 * follows ("5 " is refused), and never inside the size.
 */
export function parseChunkSizeLine(buf: Buffer, start: number, end: number): number {
  let i = start;
  let size = 0;
  while (i < end) {
    const v = HEX_VALUE[buf[i]!]!;
    if (v === 0) break;
    size = size * 16 + (v - 1);
    if (size > Number.MAX_SAFE_INTEGER) throw new HttpProtocolError(HttpErrorCode.INVALID_CHUNK_SIZE);
    i++;
  }
  if (i === start) throw new HttpProtocolError(HttpErrorCode.INVALID_CHUNK_SIZE);
  while (i < end) {
    i = skipBws(buf, i, end);
    if (i === end || buf[i] !== SEMICOLON) throw new HttpProtocolError(HttpErrorCode.INVALID_CHUNK_SIZE);
    i = skipBws(buf, i + 1, end);
    const nameStart = i;
    while (i < end && TOKEN[buf[i]!] === 1) i++;
    if (i === nameStart) throw new HttpProtocolError(HttpErrorCode.INVALID_CHUNK_EXTENSION);
    const afterName = skipBws(buf, i, end);
    if (afterName < end && buf[afterName] === EQUALS) {
      i = skipBws(buf, afterName + 1, end);
      i = skipExtensionValue(buf, i, end);
    }
    // Anything else (another ";", or an invalid byte) is judged by the next loop turn.
  }
  return size;
}

function skipBws(buf: Buffer, i: number, end: number): number {
  while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  return i;
}

/** chunk-ext-val = token / quoted-string; returns the offset after it. */
function skipExtensionValue(buf: Buffer, i: number, end: number): number {
  if (i < end && buf[i] === DQUOTE) {
    i++;
    while (i < end) {
      const c = buf[i]!;
      if (c === DQUOTE) return i + 1;
      if (c === BACKSLASH) {
        if (i + 1 >= end || QUOTED_PAIR[buf[i + 1]!] === 0) break;
        i += 2;
      } else if (QDTEXT[c] === 1) {
        i++;
      } else {
        break;
      }
    }
    throw new HttpProtocolError(HttpErrorCode.INVALID_CHUNK_EXTENSION);
  }
  const valueStart = i;
  while (i < end && TOKEN[buf[i]!] === 1) i++;
  if (i === valueStart) throw new HttpProtocolError(HttpErrorCode.INVALID_CHUNK_EXTENSION);
  return i;
}
