import { ServerResponse } from 'node:http';
import { equalsLower, isFieldValue, isToken } from './char-tables.js';
import { HttpErrorCode, HttpResponseError } from './errors.js';
import { httpDate } from './http-date.js';
import {
  kOutHeaders,
  responsePrototypeEnd,
  responsePrototypeWrite,
  responsePrototypeWriteContinue,
  responsePrototypeWriteEarlyHints,
  responsePrototypeWriteProcessing,
  type OutHeaderMap,
  type ResponseInternals,
} from './node-internals.js';
import type { HttpRequest } from './request.js';
import { splitList } from './request-framing.js';

/** What the connection tells a response, and learns from it. */
export interface ResponseOwner {
  readonly serverHeader: string;
  /** Keep the written header lines for the access log ({Header}o). */
  readonly recordResponseHeaders: boolean;
  /** Connection-level reasons to close after this response (shutdown, unread body, ...). */
  mustCloseAfter(res: HttpResponse): boolean;
  /** This response closes the connection: no request after the ones already read may reach the app. */
  closesAfter(res: HttpResponse): void;
  /** The app broke framing (length mismatch): reported, and the connection will close. */
  reportResponseError(res: HttpResponse, err: Error): void;
  /**
   * An 'error' on the response (a write after end, or one the app emits): handled as an app
   * failure of that request only, never an uncaught error that ends the whole worker.
   */
  failResponse(res: HttpResponse, err: unknown): void;
}

/** Per-response protocol state (own symbol-keyed property: survives prototype swaps). */
export interface ResponseState {
  readonly owner: ResponseOwner;
  /** Content-Length the app declared (and we sent), -1 when the body is framed otherwise. */
  declaredLength: number;
  /** Body bytes handed to the socket (access log `b`). */
  bodyBytes: number;
  /** The body did not match the declared Content-Length: the connection must close. */
  lengthMismatch: boolean;
  /** Close after this response whatever the headers say (our 500, abandoned body, ...). */
  forceClose: boolean;
  /** Header lines as written (flat name/value pairs), when the owner records them. */
  sentHeaders: string[] | null;
}

export const kResponseState = Symbol('gunicorn-ts.responseState');

/**
 * The response as the app sees it: a real http.ServerResponse whose header serialisation and
 * body accounting are ours, so that framing is always complete and unambiguous:
 *  - no body for HEAD, 1xx, 204, 205 (sent with Content-Length: 0) and 304, whatever the app writes;
 *  - never both Content-Length and Transfer-Encoding; no Transfer-Encoding to HTTP/1.0;
 *  - a body longer than its Content-Length is cut, a shorter one closes the connection;
 *  - Date and Server on every response; names/values with CR, LF, NUL or other CTLs throw.
 * The overriding methods are own properties for the same reason as in HttpRequest.
 */
export class HttpResponse extends ServerResponse<HttpRequest> {
  declare [kResponseState]: ResponseState;

  constructor(req: HttpRequest, owner: ResponseOwner) {
    super(req);
    this[kResponseState] = {
      owner,
      declaredLength: -1,
      bodyBytes: 0,
      lengthMismatch: false,
      forceClose: false,
      sentHeaders: owner.recordResponseHeaders ? [] : null,
    };
    const own = this as unknown as Record<string, unknown>;
    own._storeHeader = storeHeaderStrict;
    own.write = writeCounted;
    own.end = endCounted;
    own.writeEarlyHints = writeEarlyHintsChecked;
    own.writeContinue = writeContinueIfAllowed;
    own.writeProcessing = writeProcessingIfAllowed;
    this.on('error', failResponse);
  }
}

function failResponse(this: HttpResponse, err: unknown): void {
  this[kResponseState].owner.failResponse(this, err);
}

type Internal = HttpResponse & ResponseInternals;

/** Scratch state of one header serialisation (never re-entered: it is synchronous). */
const scan = {
  header: '',
  contentLength: undefined as string | undefined,
  contentLengthConflict: false,
  transferEncoding: undefined as string | undefined,
  connection: undefined as string | undefined,
  sawDate: false,
  sawServer: false,
  sawTrailer: false,
  recorded: null as string[] | null,
};

function codedError(code: string, message: string): TypeError {
  const err = new TypeError(message) as TypeError & { code: string };
  err.code = code;
  return err;
}

function addHeader(name: unknown, value: unknown): void {
  // Same error codes as Node's setHeader, so apps catching them behave the same.
  if (typeof name !== 'string' || !isToken(name)) {
    throw codedError('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${String(name)}"]`);
  }
  if (value === undefined) {
    throw codedError('ERR_HTTP_INVALID_HEADER_VALUE', `Invalid value "undefined" for header "${name}"`);
  }
  if (Array.isArray(value)) {
    for (const element of value) addHeaderLine(name, element);
  } else {
    addHeaderLine(name, value);
  }
}

function addHeaderLine(name: string, raw: unknown): void {
  const value = typeof raw === 'string' ? raw : String(raw);
  if (!isFieldValue(value)) {
    throw codedError('ERR_INVALID_CHAR', `Invalid character in header content ["${name}"]`);
  }
  switch (name.length) {
    case 4:
      if (equalsLower(name, 'date')) scan.sawDate = true;
      break;
    case 6:
      if (equalsLower(name, 'server')) scan.sawServer = true;
      break;
    case 7:
      if (equalsLower(name, 'trailer')) scan.sawTrailer = true;
      break;
    case 10:
      if (equalsLower(name, 'connection')) {
        scan.connection = scan.connection === undefined ? value : scan.connection + ', ' + value;
        return;
      }
      break;
    case 14:
      if (equalsLower(name, 'content-length')) {
        if (scan.contentLength !== undefined && scan.contentLength !== value) scan.contentLengthConflict = true;
        scan.contentLength = value;
        return;
      }
      break;
    case 17:
      if (equalsLower(name, 'transfer-encoding')) {
        scan.transferEncoding = scan.transferEncoding === undefined ? value : scan.transferEncoding + ', ' + value;
        return;
      }
      break;
  }
  appendLine(name, value);
}

function appendLine(name: string, value: string): void {
  scan.header += name + ': ' + value + '\r\n';
  if (scan.recorded !== null) scan.recorded.push(name, value);
}

function collectHeaders(res: Internal, headers: unknown): void {
  if (headers === null || headers === undefined) return;
  if (headers === res[kOutHeaders]) {
    const map = headers as OutHeaderMap;
    for (const key in map) {
      const entry = map[key]!;
      addHeader(entry[0], entry[1]);
    }
  } else if (Array.isArray(headers)) {
    if (headers.length > 0 && Array.isArray(headers[0])) {
      for (const entry of headers as unknown[][]) addHeader(entry[0], entry[1]);
    } else {
      if (headers.length % 2 !== 0) {
        throw codedError('ERR_INVALID_ARG_VALUE', "The argument 'headers' must have an even number of entries");
      }
      for (let i = 0; i < headers.length; i += 2) addHeader(headers[i], headers[i + 1]);
    }
  } else if (typeof headers === 'object') {
    const record = headers as Record<string, unknown>;
    for (const key in record) {
      if (Object.hasOwn(record, key)) addHeader(key, record[key]);
    }
  }
}

function isDecimal(value: string): boolean {
  if (value.length === 0 || value.length > 16) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return Number(value) <= Number.MAX_SAFE_INTEGER;
}

function finalCodingIsChunked(transferEncoding: string): boolean {
  const codings = splitList(transferEncoding);
  const last = codings[codings.length - 1];
  return last !== undefined && equalsLower(last, 'chunked');
}

/** Replaces OutgoingMessage._storeHeader: builds the head and decides framing and persistence. */
function storeHeaderStrict(this: Internal, firstLine: string, headers: unknown): void {
  const state = this[kResponseState];
  const refusal = statusRefusal(this.statusCode);
  if (refusal !== undefined) {
    storeInternalErrorHead(this, refusal);
    return;
  }
  beginHead(state, firstLine);
  collectHeaders(this, headers);

  const status = this.statusCode;
  const http10 = this.req.httpVersionMinor === 0;
  const informational = status < 200;

  let contentLength: string | undefined = scan.contentLength;
  let transferEncoding: string | undefined = scan.transferEncoding;
  if (contentLength !== undefined && (scan.contentLengthConflict || !isDecimal(contentLength))) {
    storeInternalErrorHead(
      this,
      new HttpResponseError(HttpErrorCode.INVALID_RESPONSE_CONTENT_LENGTH, `Invalid Content-Length for the response: ${JSON.stringify(contentLength)}`),
    );
    return;
  }

  // RFC 9112 §6.1/§6.2: no Content-Length or Transfer-Encoding in 1xx/204; 205 carries no
  // content (RFC 9110 §15.3.6) and is not bodiless by definition, so it says Content-Length: 0;
  // 304 and HEAD keep the lengths the app gave, without content. HTTP/1.0 gets no TE.
  let hasBody = this._hasBody;
  if (informational || status === 204) {
    hasBody = false;
    contentLength = undefined;
    transferEncoding = undefined;
  } else if (status === 205) {
    hasBody = false;
    contentLength = '0';
    transferEncoding = undefined;
  } else if (status === 304) {
    hasBody = false;
  }
  // Never both: Transfer-Encoding decides the framing (RFC 9112 §6.3), also for an HTTP/1.0
  // client, which gets no Transfer-Encoding and so the body delimited by the close.
  if (transferEncoding !== undefined) contentLength = undefined;
  if (http10) transferEncoding = undefined;
  this._hasBody = hasBody;

  let closeDelimited = false;
  this.chunkedEncoding = false;
  state.declaredLength = -1;
  if (hasBody) {
    if (transferEncoding !== undefined) {
      if (finalCodingIsChunked(transferEncoding)) this.chunkedEncoding = true;
      else closeDelimited = true;
    } else if (contentLength !== undefined) {
      state.declaredLength = Number(contentLength);
    } else if (!scan.sawTrailer && !this._removedContLen && typeof this._contentLength === 'number') {
      // end(data) before any header: the whole body is known.
      contentLength = String(this._contentLength);
      state.declaredLength = this._contentLength;
    } else if (!http10 && this.useChunkedEncodingByDefault && !this._removedTE) {
      transferEncoding = 'chunked';
      this.chunkedEncoding = true;
    } else {
      closeDelimited = true;
    }
  }

  const close =
    closeDelimited ||
    informational ||
    state.forceClose ||
    !this.shouldKeepAlive ||
    (scan.connection !== undefined && hasCloseOption(scan.connection)) ||
    state.owner.mustCloseAfter(this);
  this._last = close;
  if (close) state.owner.closesAfter(this);

  appendDateAndServer(state);
  if (close) appendLine('Connection', closeWithOptions(scan.connection));
  else if (scan.connection !== undefined) appendLine('Connection', scan.connection);
  else if (!this._removedConnection) appendLine('Connection', 'keep-alive');
  if (contentLength !== undefined) appendLine('Content-Length', contentLength);
  if (transferEncoding !== undefined) appendLine('Transfer-Encoding', transferEncoding);
  endHead(this);
}

/** Starts composing a head in `scan`: its first line, nothing seen yet. */
function beginHead(state: ResponseState, firstLine: string): void {
  scan.header = firstLine;
  scan.contentLength = undefined;
  scan.contentLengthConflict = false;
  scan.transferEncoding = undefined;
  scan.connection = undefined;
  scan.sawDate = false;
  scan.sawServer = false;
  scan.sawTrailer = false;
  scan.recorded = state.sentHeaders;
  if (scan.recorded !== null) scan.recorded.length = 0;
}

/** Date and Server on every response, unless the app gave its own. */
function appendDateAndServer(state: ResponseState): void {
  if (!scan.sawDate) appendLine('Date', httpDate());
  if (!scan.sawServer) appendLine('Server', state.owner.serverHeader);
}

/** The head composed in `scan` becomes the response's, to go out with its first write. */
function endHead(res: Internal): void {
  res._header = scan.header + '\r\n';
  res._headerSent = false;
  scan.header = '';
  scan.recorded = null;
}

/**
 * `close`, after the app's own connection options (RFC 9110 §7.6.1: a field it named there,
 * such as Upgrade's `upgrade`, must stay hop-by-hop), less the persistence ones it replaces.
 */
function closeWithOptions(connection: string | undefined): string {
  if (connection === undefined || equalsLower(connection, 'close') || equalsLower(connection, 'keep-alive')) return 'close';
  const kept = splitList(connection).filter((o) => !equalsLower(o, 'close') && !equalsLower(o, 'keep-alive'));
  kept.push('close');
  return kept.join(', ');
}

/** Why a status code cannot be sent, if it cannot. */
function statusRefusal(status: number): HttpResponseError | undefined {
  // Node accepts up to 999; RFC 9110 §15 defines 100-599 only.
  if (status > 599) return new HttpResponseError(HttpErrorCode.INVALID_RESPONSE_STATUS, `Invalid response status code ${status} (RFC 9110 §15: 100 to 599)`);
  // The server goes on speaking HTTP/1.1 on this connection, so it cannot switch protocols
  // (RFC 9110 §15.2.2). A WebSocket library takes the socket itself (ws: handleUpgrade).
  if (status === 101) {
    return new HttpResponseError(HttpErrorCode.INVALID_RESPONSE_STATUS, 'A 101 (Switching Protocols) cannot be sent through res: the server does not switch protocols; take over req.socket instead');
  }
  return undefined;
}

/**
 * A head the app composed that cannot be sent (a status outside 100-599 or 101, a bad
 * Content-Length) becomes a bodiless 500 that closes the connection, and the app error is
 * reported. Not thrown: from a timer or a promise callback, a throw would be uncaught and end
 * the worker with every other request on it. What the app writes after it goes nowhere.
 */
function storeInternalErrorHead(res: Internal, err: HttpResponseError): void {
  const state = res[kResponseState];
  state.owner.reportResponseError(res, err);
  res.statusCode = 500;
  res.statusMessage = 'Internal Server Error';
  res._hasBody = false;
  res.chunkedEncoding = false;
  state.declaredLength = -1;
  state.forceClose = true;
  res._last = true;
  state.owner.closesAfter(res);
  beginHead(state, 'HTTP/1.1 500 Internal Server Error\r\n');
  appendDateAndServer(state);
  appendLine('Connection', 'close');
  appendLine('Content-Length', '0');
  endHead(res);
}

function hasCloseOption(connection: string): boolean {
  return equalsLower(connection, 'close') || splitList(connection).some((o) => equalsLower(o, 'close'));
}

function declaresContentLength(res: Internal): boolean {
  const headers = res[kOutHeaders];
  return headers !== null && headers['content-length'] !== undefined;
}

function byteLengthOf(chunk: string | Uint8Array, encoding: unknown): number {
  return typeof chunk === 'string'
    ? Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
    : chunk.byteLength;
}

/**
 * Counts body bytes; cuts what goes past the declared Content-Length (those bytes would be
 * read by the client as the start of the next response).
 */
function accountBody(res: Internal, chunk: string | Uint8Array, encoding: unknown): string | Uint8Array {
  const state = res[kResponseState];
  const length = byteLengthOf(chunk, encoding);
  if (state.declaredLength < 0) {
    state.bodyBytes += length;
    return chunk;
  }
  const room = state.declaredLength - state.bodyBytes;
  if (length <= room) {
    state.bodyBytes += length;
    return chunk;
  }
  state.bodyBytes += room;
  if (!state.lengthMismatch) {
    state.lengthMismatch = true;
    state.owner.reportResponseError(
      res,
      new HttpResponseError(
        HttpErrorCode.RESPONSE_LENGTH_MISMATCH,
        `Response body is longer than its Content-Length (${state.declaredLength}); the excess is dropped`,
      ),
    );
  }
  const bytes =
    typeof chunk === 'string'
      ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
      : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  return bytes.subarray(0, room);
}

function isBodyChunk(chunk: unknown): chunk is string | Uint8Array {
  return typeof chunk === 'string' || chunk instanceof Uint8Array;
}

function writeCounted(this: Internal, chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
  if (isBodyChunk(chunk) && !this.finished && !this.destroyed) {
    if (this._header === null) this._implicitHeader();
    if (this._hasBody) chunk = accountBody(this, chunk, encoding);
  }
  return (responsePrototypeWrite as (...args: unknown[]) => boolean).call(this, chunk, encoding, callback);
}

function endCounted(this: Internal, chunk?: unknown, encoding?: unknown, callback?: unknown): Internal {
  if (typeof chunk === 'function') {
    callback = chunk;
    chunk = undefined;
    encoding = undefined;
  } else if (typeof encoding === 'function') {
    callback = encoding;
    encoding = undefined;
  }
  const state = this[kResponseState];
  const wasFinished = this.finished;
  let lengthAfterHeader = 0;
  if (chunk && isBodyChunk(chunk) && !wasFinished && !this.destroyed) {
    // With a declared Content-Length, serialise the head first so the chunk can be checked
    // against it; otherwise Node derives Content-Length from this (only) chunk.
    if (this._header === null && declaresContentLength(this)) this._implicitHeader();
    if (this._header !== null) {
      if (this._hasBody) chunk = accountBody(this, chunk, encoding);
    } else {
      lengthAfterHeader = byteLengthOf(chunk, encoding);
    }
  }
  (responsePrototypeEnd as (...args: unknown[]) => unknown).call(this, chunk, encoding, callback);
  if (!wasFinished && this.finished) {
    if (this._hasBody) state.bodyBytes += lengthAfterHeader;
    if (this._hasBody && state.declaredLength >= 0 && state.bodyBytes < state.declaredLength && !state.lengthMismatch) {
      state.lengthMismatch = true;
      state.owner.reportResponseError(
        this,
        new HttpResponseError(
          HttpErrorCode.RESPONSE_LENGTH_MISMATCH,
          `Response body (${state.bodyBytes} bytes) is shorter than its Content-Length (${state.declaredLength}); closing the connection`,
        ),
      );
    }
  }
  return this;
}

/**
 * RFC 9110 §15.2: no 1xx to an HTTP/1.0 client (it would take it for the final response), and
 * none once the final response's head is out (it would land in the body). Such a call is
 * dropped; its callback still runs, as if it had been written.
 */
function informationalAllowed(res: Internal, callback: (() => void) | undefined): boolean {
  if (res.req.httpVersionMinor !== 0 && res._header === null) return true;
  if (typeof callback === 'function') process.nextTick(callback);
  return false;
}

function writeContinueIfAllowed(this: Internal, callback?: () => void): void {
  if (informationalAllowed(this, callback)) (responsePrototypeWriteContinue as (...args: unknown[]) => void).call(this, callback);
}

function writeProcessingIfAllowed(this: Internal, callback?: () => void): void {
  if (informationalAllowed(this, callback)) (responsePrototypeWriteProcessing as (...args: unknown[]) => void).call(this, callback);
}

/** Node writes the non-Link fields of writeEarlyHints() unchecked; we check them like headers. */
function writeEarlyHintsChecked(this: Internal, hints: Record<string, unknown>, callback?: () => void): void {
  if (hints !== null && typeof hints === 'object') {
    for (const key of Object.keys(hints)) {
      if (key === 'link') continue;
      if (!isToken(key)) throw codedError('ERR_INVALID_HTTP_TOKEN', `Header name must be a valid HTTP token ["${key}"]`);
      const value = hints[key];
      for (const v of Array.isArray(value) ? value : [value]) {
        if (!isFieldValue(String(v))) throw codedError('ERR_INVALID_CHAR', `Invalid character in header content ["${key}"]`);
      }
    }
  }
  if (informationalAllowed(this, callback)) (responsePrototypeWriteEarlyHints as (...args: unknown[]) => void).call(this, hints, callback);
}
