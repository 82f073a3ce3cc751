import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AccessLogInfo } from './access-log.js';
import { ChunkedDecoder } from './chunked-decoder.js';
import { CR, LF } from './char-tables.js';
import { buildErrorResponse, endWithErrorBody } from './error-response.js';
import { HttpErrorCode, HttpProtocolError } from './errors.js';
import { RequestHeadParser } from './head-parser.js';
import { kNeedDrain, takeBackWritesSince, writeMark, type RequestInternals, type ResponseInternals, type WriteMark } from './node-internals.js';
import {
  resolveLimits,
  type EffectiveLimits,
  type HttpCallbacks,
  type HttpProtocolOptions,
  type RequestListener,
} from './options.js';
import { BODY_CHUNKED, BODY_LENGTH, resolveRequestFraming, type BodyKind } from './request-framing.js';
import { HttpRequest, setHeaderLines, type RequestBodySource } from './request.js';
import { HttpResponse, kResponseState, type ResponseOwner } from './response.js';
import { SchemeResolver } from './scheme.js';

/** The socket types a connection can run on: TCP, TLS, or a Duplex such as a PROXY-protocol wrapper. */
export type HttpSocket = (Socket | Duplex) & {
  remoteAddress?: string | undefined;
  encrypted?: boolean;
  setNoDelay?(noDelay?: boolean): unknown;
  _httpMessage?: unknown;
};

/** Parsed requests whose responses are not written yet; past this we stop reading. */
const MAX_PIPELINED_REQUESTS = 16;
/**
 * Unread request body we still read and discard after the response to keep the connection.
 * A Content-Length remainder over it makes the response say close. A chunked body's size is
 * unknown when the response head goes out and that head has promised keep-alive, so it gets
 * more room before we break the promise and close.
 */
const DRAIN_LIMIT_BYTES = 64 * 1024;
const CHUNKED_DRAIN_LIMIT_BYTES = 1024 * 1024;
/** After our last byte we keep reading (and discarding) this long, so no RST eats the response. */
const LINGER_MS = 2000;
/** Longest wait for an in-flight request on an idle connection during a graceful shutdown. */
const MAX_SHUTDOWN_GRACE_MS = 1000;

// Input states.
const READ_HEAD = 0;
const READ_BODY_LENGTH = 1;
const READ_BODY_CHUNKED = 2;
const READ_NOTHING = 3;

// Deadline kinds.
const NO_DEADLINE = 0;
const HEADERS_DEADLINE = 1;
const BODY_DEADLINE = 2;
const IDLE_DEADLINE = 3;
const SHUTDOWN_GRACE = 4;
const LINGER_DEADLINE = 5;

/** Shared, per-options derived state: computed once, not per connection. */
interface ProtocolConfig {
  limits: EffectiveLimits;
  scheme: SchemeResolver;
}
const configs = new WeakMap<HttpProtocolOptions, ProtocolConfig>();

function configFor(options: HttpProtocolOptions): ProtocolConfig {
  let config = configs.get(options);
  if (config === undefined) {
    config = {
      limits: resolveLimits(options),
      scheme: new SchemeResolver(options.secureSchemeHeaders, options.forwardedAllowIps),
    };
    configs.set(options, config);
  }
  return config;
}

/** One request/response pair on the connection. */
class Exchange implements RequestBodySource {
  readonly req: HttpRequest;
  readonly res: HttpResponse;
  bodyKind: BodyKind = 0;
  /** Body bytes still expected (Content-Length framing). */
  remaining = 0;
  decoder: ChunkedDecoder | null = null;
  bodyDone = false;
  expectContinue = false;
  sent100 = false;
  /** req.push() returned false: the app has enough buffered. */
  readPaused = false;
  responseFinished = false;
  /** Body bytes read after the response finished (drained, not delivered). */
  drained = 0;
  startTime = 0;
  startHr = 0n;
  /** Where the socket's writes stood when the app was called (see onAppFailure). */
  writesBefore: WriteMark | undefined = undefined;

  constructor(
    private readonly connection: HttpConnection,
    socket: HttpSocket,
    readonly target: string,
  ) {
    this.req = new HttpRequest(socket as Socket, this);
    this.res = undefined as unknown as HttpResponse;
  }

  setResponse(res: HttpResponse): void {
    (this as { res: HttpResponse }).res = res;
  }

  onBodyRead(): void {
    this.connection.onBodyRead(this);
  }

  onRequestDestroyed(): void {
    this.connection.onRequestDestroyed(this);
  }
}

function emitResponseClose(res: HttpResponse): void {
  const internals = res as HttpResponse & ResponseInternals;
  if (!internals._closed) {
    internals.destroyed = true;
    internals._closed = true;
    res.emit('close');
  }
}

function connectionResetError(): Error {
  const err = new Error('aborted') as Error & { code: string };
  err.code = 'ECONNRESET';
  return err;
}

/**
 * HTTP/1.1 server side of one connection: strict request parsing, in-order responses,
 * keep-alive, timeouts and graceful drain. Emits 'close' once the socket is closed.
 */
export class HttpConnection extends EventEmitter implements ResponseOwner {
  readonly serverHeader: string;
  readonly recordResponseHeaders: boolean;

  private readonly socket: HttpSocket;
  private readonly config: ProtocolConfig;
  private readonly head: RequestHeadParser;
  private inputState = READ_HEAD;
  /** Bytes of an incomplete line (head or chunk line), none containing LF. */
  private partial: Buffer[] = [];
  private partialLength = 0;
  /** Input held back while too many responses are pending. */
  private stalled: Buffer | null = null;
  /** First byte of the current head seen (starts the headers deadline). */
  private headStarted = false;
  /** The exchange whose body is being read. */
  private bodyExchange: Exchange | null = null;
  /** Exchanges whose responses are not finished, in request order. */
  private readonly queue: Exchange[] = [];
  /** No request after those already parsed will be read. */
  private noMoreRequests = false;
  private shuttingDown = false;
  /** We have decided to close: output ends, input is discarded. */
  private closing = false;
  private closed = false;
  private started = false;
  /** The answer to a malformed request, due once the responses before it are out. */
  private pendingError: HttpProtocolError | null = null;
  /** The malformed request was a HEAD: its answer gets no body (RFC 9110 §9.3.2). */
  private pendingErrorForHead = false;
  /** The last finished response said `Connection: close`: nothing may follow it (RFC 9112 §9.6). */
  private lastResponseSaidClose = false;
  private readingPaused = false;
  private trustedPeer = false;
  private isTls = false;

  private deadlineKind = NO_DEADLINE;
  private deadlineAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private timerAt = 0;

  constructor(
    socket: HttpSocket,
    private readonly listener: RequestListener,
    private readonly options: HttpProtocolOptions,
    private readonly callbacks: HttpCallbacks,
  ) {
    super();
    this.socket = socket;
    this.config = configFor(options);
    this.head = new RequestHeadParser(this.config.limits);
    this.serverHeader = options.serverHeader;
    this.recordResponseHeaders = callbacks.onResponse !== undefined;
  }

  /** A request is being received or answered. */
  get busy(): boolean {
    return this.queue.length > 0 || this.bodyExchange !== null || this.headStarted;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    const socket = this.socket;
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onSocketError);
    socket.on('close', this.onClose);
    socket.on('drain', this.onDrain);
    socket.on('timeout', this.onSocketTimeout);
    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    this.trustedPeer = this.config.scheme.isTrustedPeer(socket.remoteAddress);
    this.isTls = socket.encrypted === true;
    if (socket.destroyed) {
      process.nextTick(this.onClose);
      return;
    }
    if (this.shuttingDown) {
      this.setDeadline(SHUTDOWN_GRACE, Math.min(this.options.keepAliveTimeoutMs, MAX_SHUTDOWN_GRACE_MS));
    } else {
      // A new connection must send its first request head within the headers timeout.
      this.setDeadline(HEADERS_DEADLINE, this.options.headersTimeoutMs);
    }
  }

  /**
   * Graceful drain. Requests already received are answered; the last response whose head is
   * still to be written says `Connection: close`, and a request that arrives after shutdown is
   * answered with close. A connection that is (or becomes) idle with its last response having
   * said keep-alive is not closed at once: the client may have a request in flight, and closing
   * would make it fail; it waits a short grace, min(keepAliveTimeoutMs, 1 s), for it.
   */
  shutdown(): void {
    if (this.shuttingDown || this.closed) return;
    this.shuttingDown = true;
    if (!this.started || this.closing) return;
    if (this.queue.length === 0 && this.bodyExchange === null && !this.headStarted) this.setIdleDeadline();
  }

  destroy(): void {
    this.socket.destroy();
  }

  // ---------------------------------------------------------------- input

  private readonly onData = (chunk: Buffer): void => {
    if (this.closing || this.inputState === READ_NOTHING) return;
    if (this.stalled !== null) {
      this.stalled = Buffer.concat([this.stalled, chunk]);
      return;
    }
    if (this.partialLength > 0) {
      if (chunk.indexOf(LF) === -1) {
        this.partial.push(chunk);
        this.partialLength += chunk.length;
        try {
          this.checkPartialLine();
        } catch (err) {
          this.onInputError(err);
        }
        return;
      }
      this.partial.push(chunk);
      chunk = Buffer.concat(this.partial, this.partialLength + chunk.length);
      this.partial = [];
      this.partialLength = 0;
    }
    this.consume(chunk);
  };

  private checkPartialLine(): void {
    if (this.inputState === READ_HEAD) {
      const last = this.partial[this.partial.length - 1]!;
      this.head.checkIncompleteLine(this.partial[0]![0]!, last[last.length - 1]!, this.partialLength);
    } else if (this.bodyExchange?.decoder) {
      this.bodyExchange.decoder.checkIncompleteLine(this.partialLength);
    }
  }

  private keepPartial(rest: Buffer): void {
    this.partial.push(rest);
    this.partialLength += rest.length;
  }

  /**
   * Protocol errors become error responses; anything else was thrown by app code that ran
   * synchronously from req.push() ('data' handlers): reported, and the connection ends.
   */
  private onInputError(err: unknown): void {
    if (err instanceof HttpProtocolError) {
      this.onProtocolError(err);
    } else {
      this.reportAppError(err, this.bodyExchange?.req);
      this.destroy();
    }
  }

  private consume(buf: Buffer): void {
    try {
      this.consumeFrom(buf, 0);
    } catch (err) {
      this.onInputError(err);
    }
    this.updateReading();
  }

  private consumeFrom(buf: Buffer, start: number): void {
    const end = buf.length;
    let pos = start;
    while (pos < end && !this.closing && !this.socket.destroyed) {
      switch (this.inputState) {
        case READ_HEAD: {
          if (this.noMoreRequests) {
            this.stopReadingRequests();
            return;
          }
          if (this.queue.length >= MAX_PIPELINED_REQUESTS) {
            this.stalled = buf.subarray(pos);
            return;
          }
          if (!this.headStarted) this.onHeadStarted();
          pos = this.head.execute(buf, pos);
          if (!this.head.complete) {
            if (pos < end) this.keepPartial(buf.subarray(pos));
            return;
          }
          this.dispatch();
          break;
        }
        case READ_BODY_LENGTH: {
          const ex = this.bodyExchange!;
          const available = end - pos;
          const take = available < ex.remaining ? available : ex.remaining;
          ex.remaining -= take;
          const data = buf.subarray(pos, pos + take);
          pos += take;
          this.deliverBody(ex, data);
          if (ex.remaining === 0 && !this.closing) this.completeBody(ex, null);
          break;
        }
        case READ_BODY_CHUNKED: {
          const ex = this.bodyExchange!;
          const decoder = ex.decoder!;
          // body_timeout is an idle time: size lines, extensions and trailers are bytes too.
          this.refreshBodyDeadline(ex);
          pos = decoder.execute(buf, pos, (data) => this.deliverBody(ex, data));
          if (this.closing) return;
          if (decoder.done) {
            this.completeBody(ex, decoder.rawTrailers);
          } else if (pos < end) {
            this.keepPartial(buf.subarray(pos));
            return;
          }
          break;
        }
        default:
          return;
      }
    }
  }

  private onHeadStarted(): void {
    this.headStarted = true;
    // A new connection's first head is due headersTimeoutMs after accept, not after its first
    // byte (else waiting before that byte would double the time a slow client gets).
    if (this.deadlineKind !== HEADERS_DEADLINE) this.setDeadline(HEADERS_DEADLINE, this.options.headersTimeoutMs);
  }

  /** The head is complete: validate it, build req/res, call the app. */
  private dispatch(): void {
    const head = this.head;
    const framing = resolveRequestFraming(head);
    this.headStarted = false;

    const ex = new Exchange(this, this.socket, head.target);
    const req = ex.req;
    req.method = head.method;
    req.url = framing.url;
    req.httpVersionMajor = 1;
    req.httpVersionMinor = head.versionMinor;
    req.httpVersion = head.versionMinor === 1 ? '1.1' : '1.0';
    setHeaderLines(req, head.rawHeaders);
    if (framing.hostOverride !== undefined) req.headers.host = framing.hostOverride;
    req.scheme = this.isTls ? 'https' : this.trustedPeer ? this.config.scheme.schemeFromHeaders(head.rawHeaders) : 'http';
    head.reset();

    const res = new HttpResponse(req, this);
    ex.setResponse(res);
    const persistent = framing.persistent && this.options.keepAlive && !this.shuttingDown;
    res.shouldKeepAlive = persistent;
    if (!persistent) this.noMoreRequests = true;
    if (this.recordResponseHeaders) {
      ex.startTime = Date.now();
      ex.startHr = process.hrtime.bigint();
    }
    res.on('finish', () => this.onResponseFinish(ex));
    this.queue.push(ex);
    if (this.queue.length === 1) res.assignSocket(this.socket as Socket);

    ex.bodyKind = framing.bodyKind;
    ex.expectContinue = framing.expectContinue;
    if (framing.bodyKind === BODY_LENGTH) {
      ex.remaining = framing.contentLength;
      this.bodyExchange = ex;
      this.inputState = READ_BODY_LENGTH;
    } else if (framing.bodyKind === BODY_CHUNKED) {
      ex.decoder = new ChunkedDecoder(this.config.limits);
      this.bodyExchange = ex;
      this.inputState = READ_BODY_CHUNKED;
    } else {
      ex.bodyDone = true;
      req.complete = true;
      req.push(null);
    }
    if (this.bodyExchange === ex && !ex.expectContinue) this.setDeadline(BODY_DEADLINE, this.options.bodyTimeoutMs);
    else this.clearDeadline();

    this.invokeApp(ex);
  }

  private invokeApp(ex: Exchange): void {
    ex.writesBefore = writeMark(this.socket);
    try {
      this.callbacks.onRequest?.(ex.req, ex.res);
      const result = this.listener(ex.req, ex.res);
      if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
        (result as PromiseLike<unknown>).then(undefined, (err: unknown) => this.onAppFailure(ex, err));
      }
    } catch (err) {
      this.onAppFailure(ex, err);
    }
  }

  private deliverBody(ex: Exchange, data: Buffer): void {
    if (data.length === 0) return;
    if (ex.responseFinished) {
      // Draining a body the app did not read, to keep the connection: bounded.
      ex.drained += data.length;
      if (ex.drained > (ex.bodyKind === BODY_CHUNKED ? CHUNKED_DRAIN_LIMIT_BYTES : DRAIN_LIMIT_BYTES)) {
        this.closeGracefully();
        return;
      }
    }
    this.refreshBodyDeadline(ex);
    const req = ex.req;
    if (req.destroyed) return;
    if (!req.push(data) && !ex.readPaused) {
      ex.readPaused = true;
      this.clearDeadline();
    }
  }

  private completeBody(ex: Exchange, rawTrailers: string[] | null): void {
    ex.bodyDone = true;
    ex.readPaused = false;
    this.bodyExchange = null;
    this.inputState = READ_HEAD;
    const req = ex.req;
    req.complete = true;
    if (rawTrailers !== null && rawTrailers.length > 0) setHeaderLines(req, rawTrailers);
    if (!req.destroyed) req.push(null);
    if (this.noMoreRequests) {
      this.stopReadingRequests();
      if (this.queue.length === 0) this.finishConnection();
    } else if (this.queue.length === 0) {
      this.setIdleDeadline();
    } else {
      this.clearDeadline();
    }
  }

  /** Nothing after the current requests will be read (their bodies still are). */
  private stopReadingRequests(): void {
    if (this.inputState === READ_HEAD) this.inputState = READ_NOTHING;
    this.partial = [];
    this.partialLength = 0;
    this.stalled = null;
    this.headStarted = false;
  }

  /** Pause the socket while the app has enough body buffered or responses pile up. */
  private updateReading(): void {
    if (this.closed) return;
    const pause = !this.closing && (this.stalled !== null || (this.bodyExchange?.readPaused ?? false));
    if (pause === this.readingPaused) return;
    this.readingPaused = pause;
    if (pause) this.socket.pause();
    else this.socket.resume();
  }

  /** From req._read: the app wants body bytes. */
  onBodyRead(ex: Exchange): void {
    if (this.closed) return;
    const res = ex.res as HttpResponse & ResponseInternals;
    if (ex.expectContinue && !ex.sent100 && !ex.bodyDone && res._header === null && !this.closing) {
      // RFC 9110 §10.1.1: 100 Continue only once the app actually wants the body.
      ex.sent100 = true;
      res.writeContinue();
      if (ex === this.bodyExchange) this.setDeadline(BODY_DEADLINE, this.options.bodyTimeoutMs);
    }
    if (ex.readPaused) {
      ex.readPaused = false;
      if (ex === this.bodyExchange) this.setDeadline(BODY_DEADLINE, this.options.bodyTimeoutMs);
      this.updateReading();
    }
  }

  /** From req._destroy: the app gave up on the request. An unread body makes the connection unusable. */
  onRequestDestroyed(ex: Exchange): void {
    if (this.closed || ex.bodyDone) return;
    ex.res[kResponseState].forceClose = true;
    this.noMoreRequests = true;
    ex.readPaused = false;
    if (ex.responseFinished) this.closeGracefully();
    else this.updateReading();
  }

  // ---------------------------------------------------------------- output

  mustCloseAfter(res: HttpResponse): boolean {
    let ex: Exchange | undefined;
    for (const e of this.queue) {
      if (e.res === res) {
        ex = e;
        break;
      }
    }
    if (ex === undefined) return true;
    if (this.closing || !this.options.keepAlive) return true;
    const isLast = this.queue[this.queue.length - 1] === ex;
    // The last request we will answer says so.
    if (this.noMoreRequests && isLast) return true;
    // Draining: nothing else has started arriving, so this is the last response.
    if (this.shuttingDown && isLast && !this.headStarted && this.stalled === null && this.bodyExchange === null) return true;
    if (!ex.bodyDone) {
      // The client may not send a body it was not asked for (RFC 9110 §10.1.1).
      if (ex.expectContinue && !ex.sent100) return true;
      if (ex.bodyKind === BODY_LENGTH && ex.remaining > DRAIN_LIMIT_BYTES) return true;
    }
    return false;
  }

  /**
   * RFC 9112 §9.6: a request pipelined after a response that says `Connection: close` (the
   * app's own, say) is not read, so it never reaches the app, where it would run unanswered.
   * One already handed to the app (this response was composed after it was read) still runs.
   */
  closesAfter(_res: HttpResponse): void {
    this.noMoreRequests = true;
  }

  reportResponseError(res: HttpResponse, err: Error): void {
    this.reportAppError(err, res.req);
  }

  private reportAppError(err: unknown, req: HttpRequest | undefined): void {
    try {
      this.callbacks.onAppError(err, req);
    } catch {
      // The error reporter failing must not take the connection down with it.
    }
  }

  failResponse(res: HttpResponse, err: unknown): void {
    const ex = this.queue.find((e) => e.res === res);
    if (ex === undefined) this.reportAppError(err, res.req);
    else this.onAppFailure(ex, err);
  }

  private onAppFailure(ex: Exchange, err: unknown): void {
    this.reportAppError(err, ex.req);
    if (this.closed) return;
    const res = ex.res as HttpResponse & ResponseInternals;
    if (res.finished) return; // the app had completed its response: nothing to repair
    // A 500 can still replace the app's response while none of its bytes reached the client:
    // writeHead() alone only composes the head (Node's headersSent is true already); a
    // response queued behind an earlier pipelined one holds what it wrote in its own buffer
    // (the responses before it still go out first, RFC 9112 §9.3.2); and what an app wrote
    // before failing in the same turn (a listener's throw, a fetch body's bad chunk) is still
    // held by the socket, which its first write corked until the next tick. Gunicorn, too,
    // answers 500 when start_response was called but nothing was sent.
    const unsent =
      !res._headerSent ||
      this.queue[0] !== ex ||
      (ex.writesBefore !== undefined && takeBackWritesSince(this.socket, ex.writesBefore, new Error('the response was replaced by a 500: its app failed')));
    if (unsent) {
      this.respondInstead(ex, 500, 'Internal Server Error');
      return;
    }
    // Its head is on the wire, so it cannot be completed: the connection ends inside it, the
    // only way to tell the client it is broken.
    this.destroy();
  }

  /**
   * Answers an exchange ourselves (app failure, bad body) and closes after it. The answer goes
   * out through a response of our own; the app's is detached and closed, as if its client had
   * left, so what the app still does with it (a timer's setHeader, writeHead, end) goes nowhere
   * and throws nothing. Before, the answer was written through the app's `res`, and an app that
   * set a header after a malformed body had been answered 400 threw ERR_HTTP_HEADERS_SENT from
   * its timer, which ended the worker.
   */
  private respondInstead(ex: Exchange, status: number, detail: string): void {
    // The answer says `Connection: close`: a request pipelined after it is not read, so it
    // never reaches the app (RFC 9112 §9.6), where it would run with no answer to the client.
    this.noMoreRequests = true;
    const appRes = ex.res as HttpResponse & ResponseInternals;
    const res = new HttpResponse(ex.req, this) as HttpResponse & ResponseInternals;
    res.shouldKeepAlive = false;
    res[kResponseState].forceClose = true;
    res.on('finish', () => this.onResponseFinish(ex));
    if (this.socket._httpMessage === appRes) appRes.detachSocket(this.socket);
    ex.setResponse(res);
    if (this.queue[0] === ex) res.assignSocket(this.socket as Socket);
    process.nextTick(emitResponseClose, appRes);
    try {
      endWithErrorBody(res, status, detail);
    } catch (err) {
      this.reportAppError(err, ex.req);
      this.destroy();
    }
  }

  private onResponseFinish(ex: Exchange): void {
    if (ex.responseFinished) return;
    ex.responseFinished = true;
    const index = this.queue.indexOf(ex);
    if (index !== -1) this.queue.splice(index, 1);
    const res = ex.res as HttpResponse & ResponseInternals;
    const req = ex.req as HttpRequest & RequestInternals;
    if (this.socket._httpMessage === res) res.detachSocket(this.socket);
    process.nextTick(emitResponseClose, res);
    if (!ex.bodyDone && !req._consuming && !req._readableState.resumeScheduled) req._dump();
    // A socket timeout this request's app armed ends with its response, as Node resets it
    // between requests: the keep-alive idle deadline is ours.
    const armed = this.socket as { timeout?: number; setTimeout?: (ms: number) => unknown };
    if (armed.timeout) armed.setTimeout?.(0);

    this.lastResponseSaidClose = res._last;
    const state = res[kResponseState];
    const mustClose =
      res._last ||
      state.lengthMismatch ||
      state.forceClose ||
      this.closing || // also once the socket has closed
      (!ex.bodyDone && (ex.expectContinue && !ex.sent100 || (ex.bodyKind === BODY_LENGTH && ex.remaining > DRAIN_LIMIT_BYTES)));
    if (mustClose) {
      // Our side ends before the access log and the worker's bookkeeping run (a sync worker
      // takes its next connection there): the client has its response complete sooner.
      this.finishConnection();
      this.notifyResponse(ex);
      return;
    }
    this.notifyResponse(ex);
    if (this.closed) return;
    const next = this.queue[0];
    if (next !== undefined) {
      next.res.assignSocket(this.socket as Socket);
    } else if (this.noMoreRequests && (ex.bodyDone || this.bodyExchange === null)) {
      this.finishConnection();
      return;
    } else if (!ex.bodyDone) {
      this.setDeadline(BODY_DEADLINE, this.options.bodyTimeoutMs);
    } else if (!this.headStarted) {
      this.setIdleDeadline();
    }
    if (this.stalled !== null && this.queue.length < MAX_PIPELINED_REQUESTS) {
      const held = this.stalled;
      this.stalled = null;
      this.consume(held);
    } else {
      this.updateReading();
    }
  }

  /** The onResponse callback (access log, post_request, the worker's slot), if any. */
  private notifyResponse(ex: Exchange): void {
    const onResponse = this.callbacks.onResponse;
    if (onResponse === undefined) return;
    const { req, res } = ex;
    const state = res[kResponseState];
    const info: AccessLogInfo = {
      remoteAddress: this.socket.remoteAddress,
      method: req.method ?? '',
      target: ex.target,
      httpVersion: req.httpVersion,
      status: res.statusCode,
      responseBodyBytes: state.bodyBytes,
      requestHeaders: req.rawHeaders,
      responseHeaders: state.sentHeaders ?? [],
      startTime: ex.startTime,
      durationMicros: Number((process.hrtime.bigint() - ex.startHr) / 1000n),
      pid: process.pid,
    };
    try {
      onResponse(req, res, info);
    } catch (err) {
      this.reportAppError(err, req);
    }
  }

  /** All responses are out and no more will come: write a pending error if any, then close. */
  private finishConnection(): void {
    if (this.closing || this.closed) return;
    if (this.pendingError !== null) {
      const err = this.pendingError;
      this.pendingError = null;
      // A response already announced the close (it was written after the malformed request was
      // found): the client must not see another one after it.
      if (!this.lastResponseSaidClose) {
        this.socket.write(buildErrorResponse(err.status, err.message, this.serverHeader, this.pendingErrorForHead));
      }
    }
    this.closeGracefully();
  }

  /** End our side after what is queued, keep reading (discarding) a while, then destroy. */
  private closeGracefully(): void {
    if (this.closing || this.closed) return;
    this.closing = true;
    this.inputState = READ_NOTHING;
    this.partial = [];
    this.partialLength = 0;
    this.stalled = null;
    this.headStarted = false;
    if (this.readingPaused) {
      this.readingPaused = false;
      this.socket.resume();
    }
    this.socket.end();
    this.setDeadline(LINGER_DEADLINE, LINGER_MS);
  }

  private onProtocolError(err: HttpProtocolError): void {
    if (this.closing || this.closed) return;
    const ex = this.bodyExchange;
    this.noMoreRequests = true;
    this.bodyExchange = null;
    this.inputState = READ_NOTHING;
    this.stopReadingRequests();
    if (ex !== null) {
      // The body of a request the app already has is malformed. Its request is aborted when
      // the connection closes (after our answer is out), as Node does for a reset.
      const res = ex.res as HttpResponse & ResponseInternals;
      ex.readPaused = false;
      if (ex.responseFinished) {
        if (this.queue.length === 0) this.closeGracefully();
      } else if (res._header === null && !res.finished) {
        this.respondInstead(ex, err.status, err.message);
      } else {
        this.destroy();
      }
      // Its request can never complete: it is aborted now, as Node does for a reset, or a
      // reader of it (for await, 'end') would wait forever once our answer has ended the
      // exchange, holding what it had read.
      if (!ex.req.destroyed) ex.req.destroy(connectionResetError());
      return;
    }
    this.pendingError = err;
    // The method is known once the request line has parsed (the head is reset only on dispatch).
    this.pendingErrorForHead = this.head.method === 'HEAD';
    // Else earlier requests are still being answered; the error response goes after them.
    if (this.queue.length === 0) this.finishConnection();
  }

  // ---------------------------------------------------------------- socket events

  private readonly onEnd = (): void => {
    if (this.closing) {
      this.socket.destroy();
      return;
    }
    if (this.bodyExchange !== null) {
      // The client stopped in the middle of a body: the request cannot complete.
      this.destroy();
      return;
    }
    if (this.inputState === READ_HEAD && this.headStarted && this.hasMeaningfulPartialHead()) {
      this.onProtocolError(new HttpProtocolError(HttpErrorCode.INCOMPLETE_REQUEST));
      return;
    }
    this.noMoreRequests = true;
    this.stopReadingRequests();
    if (this.queue.length === 0) this.finishConnection();
  };

  /** Bytes other than empty lines have been received for the current head. */
  private hasMeaningfulPartialHead(): boolean {
    if (this.head.hasRequestLine) return true;
    for (const piece of this.partial) {
      for (let i = 0; i < piece.length; i++) {
        const c = piece[i];
        if (c !== CR && c !== LF) return true;
      }
    }
    return false;
  }

  /**
   * A socket timeout the app armed (req.setTimeout, res.setTimeout or req.socket.setTimeout; our
   * own deadlines use timers): as Node's server does, 'timeout' goes to the request whose body is
   * still arriving and to the response being written, and a timeout nobody listens for ends
   * the connection.
   */
  private readonly onSocketTimeout = (): void => {
    const reading = this.bodyExchange?.req;
    const handledByReq = reading !== undefined && !reading.complete && reading.emit('timeout', this.socket);
    const res = this.queue[0]?.res;
    const handledByRes = res !== undefined && res.emit('timeout', this.socket);
    if (!handledByReq && !handledByRes && this.socket.listenerCount('timeout') === 1) this.destroy();
  };

  private readonly onSocketError = (): void => {
    // ECONNRESET, EPIPE, TLS alerts...: nothing can be answered any more.
    this.socket.destroy();
  };

  private readonly onDrain = (): void => {
    const res = this.socket._httpMessage as (HttpResponse & ResponseInternals) | null | undefined;
    if (res && !res.finished && res[kNeedDrain]) {
      res[kNeedDrain] = false;
      res.emit('drain');
    }
  };

  private readonly onClose = (): void => {
    if (this.closed) return;
    this.closed = true;
    this.closing = true;
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.deadlineKind = NO_DEADLINE;
    const pending = this.queue.splice(0);
    const aborted = new Set<Exchange>(pending);
    if (this.bodyExchange !== null) aborted.add(this.bodyExchange);
    this.bodyExchange = null;
    for (const ex of aborted) {
      // Like Node's abortIncoming: a request whose exchange did not finish is aborted, so apps
      // waiting on it (long polls, uploads) hear 'aborted'/'close'.
      if (!ex.req.destroyed) ex.req.destroy(connectionResetError());
      if (!ex.responseFinished && this.socket._httpMessage !== ex.res) emitResponseClose(ex.res);
    }
    this.emit('close');
  };

  // ---------------------------------------------------------------- deadlines

  private setIdleDeadline(): void {
    if (this.shuttingDown) {
      this.setDeadline(SHUTDOWN_GRACE, Math.min(this.options.keepAliveTimeoutMs, MAX_SHUTDOWN_GRACE_MS));
    } else {
      this.setDeadline(IDLE_DEADLINE, this.options.keepAliveTimeoutMs);
    }
  }

  private refreshBodyDeadline(ex: Exchange): void {
    if (ex === this.bodyExchange && !ex.readPaused) {
      this.deadlineKind = BODY_DEADLINE;
      this.deadlineAt = Date.now() + this.options.bodyTimeoutMs;
      if (this.timer === null) this.armTimer(this.deadlineAt);
    }
  }

  /**
   * One timer per connection, re-armed lazily: moving a deadline later costs a Date.now(), not
   * a clearTimeout/setTimeout pair per request.
   */
  private setDeadline(kind: number, ms: number): void {
    this.deadlineKind = kind;
    this.deadlineAt = Date.now() + ms;
    if (this.timer === null || this.timerAt > this.deadlineAt) this.armTimer(this.deadlineAt);
  }

  private clearDeadline(): void {
    this.deadlineKind = NO_DEADLINE;
  }

  private armTimer(at: number): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(0, at - Date.now()));
  }

  private readonly onTimer = (): void => {
    this.timer = null;
    if (this.closed || this.deadlineKind === NO_DEADLINE) return;
    const now = Date.now();
    if (now < this.deadlineAt) {
      this.armTimer(this.deadlineAt);
      return;
    }
    const kind = this.deadlineKind;
    this.deadlineKind = NO_DEADLINE;
    this.onDeadline(kind);
  };

  private onDeadline(kind: number): void {
    switch (kind) {
      case HEADERS_DEADLINE:
        if (this.inputState !== READ_HEAD || this.closing) return;
        if (this.headStarted && this.hasMeaningfulPartialHead()) {
          this.onProtocolError(new HttpProtocolError(HttpErrorCode.REQUEST_TIMEOUT));
        } else if (this.queue.length === 0) {
          this.closeGracefully();
        } else {
          this.noMoreRequests = true;
          this.stopReadingRequests();
        }
        return;
      case BODY_DEADLINE:
        // No body byte for bodyTimeoutMs: a stalled client holds a worker slot; drop it.
        this.destroy();
        return;
      case IDLE_DEADLINE:
      case SHUTDOWN_GRACE:
        if (this.queue.length === 0 && this.bodyExchange === null && !this.headStarted) this.closeGracefully();
        return;
      case LINGER_DEADLINE:
        this.socket.destroy();
        return;
    }
  }
}
