/**
 * Serve a fetch handler (`(Request) => Response`, as Hono, itty-router and others export)
 * through the Node request-listener interface every worker speaks. Bodies stream both ways
 * with backpressure; the Request's signal aborts when the client goes away.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { isUint8Array } from 'node:util/types';
import { endWithErrorBody } from '../http/error-response.js';
import { HTTP_ERRORS, HttpErrorCode } from '../http/errors.js';

export type FetchHandler = (request: Request) => Response | Promise<Response>;
export type NodeRequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** The scheme the HTTP layer decided on (TLS or a trusted secure header), else http. */
function schemeOf(req: IncomingMessage): string {
  return (req as IncomingMessage & { scheme?: string }).scheme ?? 'http';
}

/** A Host the HTTP front accepts (RFC 9110 §7.2) but a URL cannot carry (`:80`, `1.2.3.4.5`). */
export class UnusableHostError extends Error {
  override name = 'UnusableHostError';
}

/**
 * A method a Request cannot carry as received: the fetch standard refuses CONNECT, TRACE and
 * TRACK, and upper-cases DELETE, GET, HEAD, OPTIONS, POST and PUT in any case. Methods are
 * case-sensitive (RFC 9110 §9.1), so `delete` is not DELETE: a handler must not see it as one.
 */
export class UnrepresentableMethodError extends Error {
  override name = 'UnrepresentableMethodError';
}

const FORBIDDEN_METHODS = new Set(['CONNECT', 'TRACE', 'TRACK']);
const NORMALIZED_METHODS = new Set(['DELETE', 'GET', 'HEAD', 'OPTIONS', 'POST', 'PUT']);

function requestMethod(req: IncomingMessage): string {
  const method = req.method ?? 'GET';
  const upper = method.toUpperCase();
  if (FORBIDDEN_METHODS.has(upper) || (upper !== method && NORMALIZED_METHODS.has(upper))) {
    throw new UnrepresentableMethodError(`${method} cannot be given to a fetch handler`);
  }
  return method;
}

/**
 * The request's absolute URL. The target is appended to the origin as text, never resolved
 * against it, so `//admin/x` stays a path. An empty Host (allowed when the target has no
 * authority) and HTTP/1.0 without one are "localhost"; `OPTIONS *` becomes the path `/*`.
 */
export function requestUrl(req: IncomingMessage): string {
  const target = req.url ?? '/';
  if (/^https?:\/\//i.test(target)) return target;
  const origin = `${schemeOf(req)}://${req.headers.host || 'localhost'}`;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    throw new UnusableHostError(`Host ${JSON.stringify(req.headers.host)} cannot be part of a URL`);
  }
  if (parsed.pathname !== '/' || parsed.search !== '' || parsed.hash !== '' || parsed.username !== '' || parsed.password !== '') {
    throw new UnusableHostError(`Host ${JSON.stringify(req.headers.host)} is not an authority`);
  }
  return `${origin}${target === '*' ? '/*' : target}`;
}

export function toWebRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const url = requestUrl(req);
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  // An absolute-form target's authority replaces the Host field (RFC 9112 §3.2.2), as req.headers.host has it.
  if (req.headers.host !== undefined) headers.set('host', req.headers.host);
  const method = requestMethod(req);
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (hasBody) {
    init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return new Request(url, init);
}

export async function writeWebResponse(response: Response, res: ServerResponse, method = 'GET'): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText !== '') res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (response.body === null || method === 'HEAD') {
    // HEAD: every header field is known now, and the body is never sent (RFC 9110 §9.3.2);
    // waiting for it would hold the head back, forever for an event stream.
    res.end();
    await response.body?.cancel().catch(() => undefined);
    return;
  }
  const reader = response.body.getReader();
  // A client that leaves must release the body's source (an event stream, a file, a timer),
  // also when a read is pending: cancel() ends that read.
  let gone = false;
  const onClose = (): void => {
    if (res.writableFinished) return;
    gone = true;
    reader.cancel(new Error('the client closed the connection')).catch(() => undefined);
  };
  res.once('close', onClose);
  try {
    const first = await reader.read();
    if (!first.done && !gone) {
      const firstChunk = bodyChunk(first.value);
      let next = pendingRead(reader);
      // A body given whole (new Response('text'), Response.json, a Blob) is one chunk with
      // nothing after it: then its length is known and it goes out with Content-Length, as a
      // listener's res.end(buffer) does, instead of chunked (close-delimited to HTTP/1.0).
      // A stream's next chunk is not waited for longer than one turn of the loop.
      const after = await Promise.race([next, oneLoopTurn()]);
      if (after !== LOOP_TURN && after.done) {
        if (!gone && !res.destroyed) endWhole(res, firstChunk);
        return;
      }
      if (!res.write(firstChunk)) await waitForDrain(res);
      for (;;) {
        if (res.destroyed) {
          onClose();
          break;
        }
        const { done, value } = await next;
        if (done || gone) break;
        const chunk = bodyChunk(value);
        next = pendingRead(reader);
        if (!res.write(chunk)) await waitForDrain(res);
      }
    }
    if (!gone && !res.destroyed) res.end();
  } catch (err) {
    // The body's source is released whatever went wrong with it.
    reader.cancel(err).catch(() => undefined);
    throw err;
  } finally {
    res.off('close', onClose);
    reader.releaseLock();
  }
}

/**
 * A body stream yields bytes (the Fetch standard; undici's own readers refuse anything else),
 * so a string, an ArrayBuffer or a number is the handler's error, whichever chunk it is.
 */
function bodyChunk(value: unknown): Uint8Array {
  // isUint8Array, not instanceof: one from another realm (a vm context, an edge runtime) is bytes too.
  if (isUint8Array(value)) return value;
  const what = value === null ? 'null' : typeof value === 'object' ? (value.constructor?.name ?? 'an object') : typeof value;
  throw new TypeError(`The fetch handler's Response body stream gave a chunk that is not a Uint8Array (${what})`);
}

/**
 * A read issued ahead of its use. If the loop ends early (the client left) and the reader is
 * released while it is pending, the release rejects it: that must not become an unhandled
 * rejection, which would end the worker.
 */
function pendingRead(reader: ReadableStreamDefaultReader<Uint8Array>): ReturnType<ReadableStreamDefaultReader<Uint8Array>['read']> {
  const read = reader.read();
  read.catch(() => undefined);
  return read;
}

const LOOP_TURN = Symbol('one loop turn');

function oneLoopTurn(): Promise<typeof LOOP_TURN> {
  return new Promise((resolve) => setImmediate(resolve, LOOP_TURN));
}

/** The whole body at once, with its length unless the handler framed it itself. */
function endWhole(res: ServerResponse, body: Uint8Array): void {
  if (!res.headersSent && !res.hasHeader('content-length') && !res.hasHeader('transfer-encoding')) {
    res.setHeader('content-length', body.byteLength);
  }
  res.end(body);
}

function waitForDrain(res: ServerResponse): Promise<void> {
  if (res.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

export function adaptFetchHandler(handler: FetchHandler): NodeRequestListener {
  return async (req, res) => {
    const controller = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    let request: Request;
    try {
      request = toWebRequest(req, controller.signal);
    } catch (err) {
      // The request's fault, not the app's: answered here, the app is not called.
      if (err instanceof UnusableHostError) refuse(res, HttpErrorCode.INVALID_HOST);
      else if (err instanceof UnrepresentableMethodError) refuse(res, HttpErrorCode.METHOD_NOT_IMPLEMENTED);
      else throw err;
      return;
    }
    const response = await handler(request);
    if (!(response instanceof Response)) {
      throw new TypeError(`fetch handler returned ${response === null ? 'null' : typeof response}, not a Response`);
    }
    await writeWebResponse(response, res, req.method);
  };
}

/** The status and short text of an HTTP error-table entry, then close, as the HTTP front answers. */
function refuse(res: ServerResponse, code: HttpErrorCode): void {
  const { status, message } = HTTP_ERRORS[code];
  endWithErrorBody(res, status, message, { Connection: 'close' });
}

/**
 * A function that declares no parameter is either a fetch handler that needs no request
 * (`() => new Response('healthy')`) or a listener that takes its arguments as `...args`. It is
 * called as a listener, and a Response it returns (or resolves to) is the answer, which a
 * listener never returns. Before, such a fetch handler was served as a listener whose Response
 * was dropped: every request hung until the worker timeout.
 */
export function adaptArgumentlessFunction(fn: (...args: unknown[]) => unknown): NodeRequestListener {
  return (req, res) => {
    const result = fn(req, res);
    if (result instanceof Promise) return result.then((value: unknown) => answerWith(value, req, res));
    return answerWith(result, req, res);
  };
}

let warnedOfReturnedText = false;

function answerWith(value: unknown, req: IncomingMessage, res: ServerResponse): unknown {
  if (value instanceof Response) return writeWebResponse(value, res, req.method);
  // Text instead of a Response (`() => 'ok'`) with res untouched is likely a fetch handler's
  // mistake, and its request would hang. It is only said, once: a listener written with
  // `...args` may return anything (a queue's push() count, a status object) and answer later.
  if (typeof value === 'string' && !res.headersSent && !res.writableEnded && !warnedOfReturnedText) {
    warnedOfReturnedText = true;
    process.emitWarning('The app declares no parameters and returned a string, not a Response, without answering through res: if it is a fetch handler, return a Response (new Response(text)).', { code: 'GTS_WARN_APP_RETURNED_TEXT' });
  }
  return value;
}
