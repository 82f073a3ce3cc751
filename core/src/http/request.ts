import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { RequestInternals } from './node-internals.js';

/** What the connection does when the app reads or abandons a request body. */
export interface RequestBodySource {
  /** The app wants body bytes (first read: time for `100 Continue`; later: resume after backpressure). */
  onBodyRead(): void;
  /** The app destroyed the request before its body was complete. */
  onRequestDestroyed(): void;
}

const kBodySource = Symbol('gunicorn-ts.bodySource');

/**
 * The request as the app sees it: a real http.IncomingMessage fed by our parser.
 *
 * `_read` and `_destroy` are installed as own properties, not prototype methods, because
 * frameworks replace the prototype of `req` (Express does `setPrototypeOf(req, app.request)`,
 * whose prototype chain is IncomingMessage's, not ours); own properties survive that.
 */
export class HttpRequest extends IncomingMessage {
  /**
   * 'https' when the connection is TLS, or when a trusted front end (forwarded_allow_ips) sent
   * one of secure_scheme_headers with its exact value; else 'http'. Gunicorn's wsgi.url_scheme.
   */
  scheme: 'http' | 'https';
  declare [kBodySource]: RequestBodySource;

  constructor(socket: Socket, bodySource: RequestBodySource) {
    super(socket);
    this.scheme = 'http';
    this[kBodySource] = bodySource;
    const own = this as unknown as { _read: unknown; _destroy: unknown };
    own._read = readRequestBody;
    own._destroy = destroyRequest;
  }
}

/** Readable._read: what Node's IncomingMessage does, but asking our parser instead of the socket. */
function readRequestBody(this: HttpRequest): void {
  const internals = this as unknown as RequestInternals;
  if (!internals._consuming) {
    internals._readableState.readingMore = false;
    internals._consuming = true;
  }
  this[kBodySource].onBodyRead();
}

/**
 * Readable._destroy: Node's version destroys the socket when the body is incomplete; we let the
 * connection decide instead (it can still send the response, then close).
 */
function destroyRequest(this: HttpRequest, err: Error | null, callback: (err?: Error | null) => void): void {
  if (!this.readableEnded || !this.complete) {
    this.aborted = true;
    this.emit('aborted');
  }
  this[kBodySource].onRequestDestroyed();
  // Like Node: the error is only emitted when someone listens for it.
  process.nextTick(() => callback(this.listenerCount('error') === 0 ? null : err));
}

/** Node's joining rules for req.headers (lib/_http_incoming.js matchKnownFields). */
const DROP_DUPLICATES = new Set([
  'age', 'authorization', 'content-length', 'content-type', 'etag', 'expires', 'from', 'host',
  'if-modified-since', 'if-unmodified-since', 'last-modified', 'location', 'max-forwards',
  'proxy-authorization', 'referer', 'retry-after', 'server', 'user-agent',
]);

/** req.headers/rawHeaders (or trailers once `complete` is true) from name/value pairs. */
export function setHeaderLines(req: IncomingMessage, raw: string[]): void {
  const internals = req as RequestInternals;
  if (typeof internals._addHeaderLines === 'function') {
    // Node's own method: sets rawHeaders (or rawTrailers) and the count its lazy `headers`,
    // `headersDistinct`, `trailers` getters use, so the joining rules are exactly Node's.
    internals._addHeaderLines(raw, raw.length);
    return;
  }
  const joined: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const value = raw[i + 1]!;
    const previous = joined[name];
    if (name === 'set-cookie') {
      if (Array.isArray(previous)) previous.push(value);
      else joined[name] = [value];
    } else if (previous === undefined) {
      joined[name] = value;
    } else if (!DROP_DUPLICATES.has(name)) {
      joined[name] = previous + (name === 'cookie' ? '; ' : ', ') + value;
    }
  }
  if (req.complete) {
    req.rawTrailers = raw;
    req.trailers = joined as NodeJS.Dict<string>;
  } else {
    req.rawHeaders = raw;
    req.headers = joined;
  }
}
