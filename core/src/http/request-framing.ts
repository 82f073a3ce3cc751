import { equalsLower, TOKEN } from './char-tables.js';
import { HttpErrorCode, HttpProtocolError } from './errors.js';
import type { RequestHeadParser } from './head-parser.js';
import { isValidHost, parseAbsoluteTarget, isAuthorityForm } from './request-target.js';

export const BODY_NONE = 0;
export const BODY_LENGTH = 1;
export const BODY_CHUNKED = 2;
export type BodyKind = typeof BODY_NONE | typeof BODY_LENGTH | typeof BODY_CHUNKED;

/** What the head says about the body, the connection and the URL the app sees. */
export interface RequestFraming {
  bodyKind: BodyKind;
  /** Body length for BODY_LENGTH, else 0. */
  contentLength: number;
  /** The client allows the connection to persist after this exchange (RFC 9112 §9.3). */
  persistent: boolean;
  /** HTTP/1.1 `Expect: 100-continue` with a body to come. */
  expectContinue: boolean;
  /** req.url: the target as received, or its origin-form when absolute-form was used. */
  url: string;
  /** Set when the Host to use comes from an absolute-form target (RFC 9112 §3.2.2). */
  hostOverride: string | undefined;
}

/**
 * Validates the parsed head and decides framing (RFC 9112 §6.1-§6.3, §3.2, §9.3; RFC 9110 §10.1.1).
 * Throws HttpProtocolError for anything a strict recipient must refuse.
 */
export function resolveRequestFraming(head: RequestHeadParser): RequestFraming {
  const http11 = head.versionMinor === 1;
  const method = head.method;

  // Host: exactly one in HTTP/1.1, at most one in any request, syntactically valid (RFC 9112 §3.2).
  if (head.hostCount > 1) throw new HttpProtocolError(HttpErrorCode.DUPLICATE_HOST);
  if (head.hostCount === 0 && http11) throw new HttpProtocolError(HttpErrorCode.MISSING_HOST);
  if (head.host !== undefined && !isValidHost(head.host)) throw new HttpProtocolError(HttpErrorCode.INVALID_HOST);

  let url = head.target;
  let hostOverride: string | undefined;
  const first = url.charCodeAt(0);
  if (first === 0x2f /* / */) {
    // origin-form = absolute-path [ "?" query ]: a fragment is never part of a request-target.
    if (method === 'CONNECT' || url.includes('#')) throw new HttpProtocolError(HttpErrorCode.INVALID_TARGET);
  } else if (url === '*') {
    // asterisk-form is only for a server-wide OPTIONS (RFC 9112 §3.2.4).
    if (method !== 'OPTIONS') throw new HttpProtocolError(HttpErrorCode.INVALID_TARGET);
  } else if (method === 'CONNECT') {
    // authority-form is only for CONNECT (§3.2.3); we do not tunnel, so it is answered 501.
    if (!isAuthorityForm(url)) throw new HttpProtocolError(HttpErrorCode.INVALID_TARGET);
    throw new HttpProtocolError(HttpErrorCode.CONNECT_NOT_SUPPORTED);
  } else {
    const absolute = parseAbsoluteTarget(url);
    if (absolute === undefined) throw new HttpProtocolError(HttpErrorCode.INVALID_TARGET);
    url = absolute.originForm;
    hostOverride = absolute.authority;
  }

  let bodyKind: BodyKind = BODY_NONE;
  let contentLength = 0;
  if (head.transferEncoding !== undefined) {
    // RFC 9112 §6.1: TE in an HTTP/1.0 message means faulty framing; §6.3 (3): TE with CL is
    // a smuggling attempt for us (we refuse rather than let TE override CL).
    if (!http11) throw new HttpProtocolError(HttpErrorCode.TRANSFER_ENCODING_IN_HTTP10);
    if (head.contentLengthCount > 0) throw new HttpProtocolError(HttpErrorCode.CONTENT_LENGTH_WITH_TRANSFER_ENCODING);
    checkTransferCodings(head.transferEncoding);
    bodyKind = BODY_CHUNKED;
  } else if (head.contentLengthCount > 0) {
    // Policy: any repeated Content-Length is refused, even with identical values (RFC 9110 §8.6
    // allows rejecting; a list like "5, 5" is not 1*DIGIT either).
    if (head.contentLengthCount > 1) throw new HttpProtocolError(HttpErrorCode.DUPLICATE_CONTENT_LENGTH);
    contentLength = parseContentLength(head.contentLength!);
    if (contentLength > 0) bodyKind = BODY_LENGTH;
  }

  let persistent = http11;
  if (head.connection !== undefined) {
    const options = connectionOptions(head.connection);
    if (options.close) persistent = false;
    else if (!http11 && options.keepAlive) persistent = true;
  }

  let expectContinue = false;
  if (head.expect !== undefined && http11) {
    // RFC 9110 §10.1.1: 100-continue (any case) is the only expectation; HTTP/1.0 ignores Expect.
    // An empty list (`Expect:`, `Expect: ,`) expects nothing.
    const expectations = splitList(head.expect);
    if (!expectations.every((e) => equalsLower(e, '100-continue'))) throw new HttpProtocolError(HttpErrorCode.EXPECTATION_FAILED);
    expectContinue = expectations.length > 0 && bodyKind !== BODY_NONE;
  }

  return { bodyKind, contentLength, persistent, expectContinue, url, hostOverride };
}

/**
 * Content-Length = 1*DIGIT, no sign, no whitespace, no list, at most Number.MAX_SAFE_INTEGER.
 * Leading zeros are digits like any other (`0003` is 3), so only the significant ones count
 * against the 16-digit bound.
 */
export function parseContentLength(value: string): number {
  const n = value.length;
  let first = 0;
  while (first < n - 1 && value.charCodeAt(first) === 0x30) first++;
  if (n === 0 || n - first > 16) throw new HttpProtocolError(HttpErrorCode.INVALID_CONTENT_LENGTH);
  let result = 0;
  for (let i = first; i < n; i++) {
    const d = value.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) throw new HttpProtocolError(HttpErrorCode.INVALID_CONTENT_LENGTH);
    result = result * 10 + d;
  }
  if (result > Number.MAX_SAFE_INTEGER) throw new HttpProtocolError(HttpErrorCode.INVALID_CONTENT_LENGTH);
  return result;
}

/**
 * Transfer-Encoding = #transfer-coding (RFC 9112 §6.1). The final coding must be chunked (else
 * the length cannot be determined: 400), chunked may appear once, and since chunked is the only
 * coding we decode, any other coding is 501 (§6.1: "does not understand").
 */
function checkTransferCodings(list: string): void {
  const elements = splitList(list);
  let chunkedCount = 0;
  let otherCodings = 0;
  for (const element of elements) {
    const semicolon = element.indexOf(';');
    const name = semicolon === -1 ? element : element.slice(0, semicolon).trimEnd();
    if (!isTokenString(name)) throw new HttpProtocolError(HttpErrorCode.INVALID_TRANSFER_ENCODING);
    if (equalsLower(name, 'chunked')) {
      // chunked takes no parameters.
      if (semicolon !== -1) throw new HttpProtocolError(HttpErrorCode.INVALID_TRANSFER_ENCODING);
      chunkedCount++;
    } else {
      if (semicolon !== -1 && !isValidParameters(element.slice(semicolon))) {
        throw new HttpProtocolError(HttpErrorCode.INVALID_TRANSFER_ENCODING);
      }
      otherCodings++;
    }
  }
  const last = elements[elements.length - 1];
  if (last === undefined || !equalsLower(last, 'chunked')) {
    throw new HttpProtocolError(HttpErrorCode.TRANSFER_ENCODING_NOT_CHUNKED);
  }
  if (chunkedCount > 1) throw new HttpProtocolError(HttpErrorCode.INVALID_TRANSFER_ENCODING);
  if (otherCodings > 0) throw new HttpProtocolError(HttpErrorCode.UNSUPPORTED_TRANSFER_CODING);
}

/** Splits a #list into trimmed, non-empty elements (RFC 9110 §5.6.1: empty elements are ignored). */
export function splitList(list: string): string[] {
  const out: string[] = [];
  for (const raw of list.split(',')) {
    const element = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (element.length > 0) out.push(element);
  }
  return out;
}

/** `*( OWS ";" OWS token "=" ( token / quoted-string ) )` as used by transfer-coding parameters. */
function isValidParameters(text: string): boolean {
  return /^(?:[ \t]*;[ \t]*[!#$%&'*+\-.^_`|~0-9A-Za-z]+=(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+|"(?:[\t \x21\x23-\x5b\x5d-\x7e\x80-\xff]|\\[\t \x21-\x7e\x80-\xff])*"))+$/.test(
    text,
  );
}

function isTokenString(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (TOKEN[s.charCodeAt(i)] !== 1) return false;
  return true;
}

interface ConnectionOptions {
  close: boolean;
  keepAlive: boolean;
}

/** Connection = #connection-option; "close" anywhere in the list (any case) wins. */
export function connectionOptions(value: string): ConnectionOptions {
  // Fast path for the two values clients send almost always.
  if (equalsLower(value, 'keep-alive')) return { close: false, keepAlive: true };
  if (equalsLower(value, 'close')) return { close: true, keepAlive: false };
  let close = false;
  let keepAlive = false;
  for (const element of splitList(value)) {
    if (equalsLower(element, 'close')) close = true;
    else if (equalsLower(element, 'keep-alive')) keepAlive = true;
  }
  return { close, keepAlive };
}

