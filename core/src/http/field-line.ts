import { COLON, FIELD_VALUE, HTAB, SP, TOKEN } from './char-tables.js';
import { HttpErrorCode, HttpProtocolError } from './errors.js';

/** Receives the fields of a header or trailer section as they are parsed. */
export interface FieldSink {
  addField(name: string, value: string): void;
}

interface Latin1Buffer extends Buffer {
  latin1Slice(start: number, end: number): string;
}

/** Decodes bytes 1:1 to a string: what Node does for header text, and the fastest decoder. */
export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1Buffer).latin1Slice(start, end);
}

/**
 * Parses one field line `buf[start, end)` (CRLF already removed) per RFC 9112 §5:
 * field-name ":" OWS field-value OWS. No whitespace before the colon, no obs-fold, no CTL
 * other than HTAB in the value; OWS around the value is not part of it.
 */
export function readFieldLine(buf: Buffer, start: number, end: number, sink: FieldSink): void {
  const first = buf[start];
  if (first === SP || first === HTAB) {
    // A line starting with whitespace is obs-fold (or whitespace before the first field):
    // RFC 9112 §5.2 lets us reject it, and accepting it is a classic smuggling vector.
    throw new HttpProtocolError(HttpErrorCode.OBS_FOLD);
  }
  let i = start;
  while (i < end && TOKEN[buf[i]!] === 1) i++;
  if (i === start || i === end || buf[i] !== COLON) {
    // Empty name, a non-token byte (space or tab before the colon included: RFC 9112 §5.1),
    // or no colon at all.
    throw new HttpProtocolError(HttpErrorCode.INVALID_FIELD_NAME);
  }
  const nameEnd = i;
  i++;
  while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  let valueEnd = end;
  while (valueEnd > i && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
  for (let j = i; j < valueEnd; j++) {
    if (FIELD_VALUE[buf[j]!] === 0) throw new HttpProtocolError(HttpErrorCode.INVALID_FIELD_VALUE);
  }
  sink.addField(latin1(buf, start, nameEnd), latin1(buf, i, valueEnd));
}
