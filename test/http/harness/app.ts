/**
 * The application the HTTP conformance suite talks to. A plain Node request listener, so any
 * target (in-process connection, or the real CLI with any worker class) can serve it.
 */
import { IncomingMessage, ServerResponse } from 'node:http';
import { adaptFetchHandler } from '@gunicorn-ts/core';

/** How many times the app was invoked: GET /count reads it (itself included). */
export interface InvocationCounter {
  increment(): void;
  read(): number;
}

/** A counter in this module's memory: enough when one thread runs the app. */
export function memoryCounter(): InvocationCounter {
  let invocations = 0;
  return {
    increment: () => {
      invocations++;
    },
    read: () => invocations,
  };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => parts.push(d));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, value: unknown, status = 200): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/** The CN of the client's TLS certificate, or null (no TLS, or no certificate). */
function peerCommonName(socket: unknown): string | null {
  const peer = (socket as { getPeerCertificate?: () => { subject?: { CN?: string } } | null }).getPeerCertificate?.();
  return peer?.subject?.CN ?? null;
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function errorCode(fn: () => void): string {
  try {
    fn();
    return 'no-error';
  } catch (err) {
    return (err as { code?: string }).code ?? 'error-without-code';
  }
}

export type TestApp = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export function createTestApp(counter: InvocationCounter): TestApp {
  return (req, res) => {
    // handle() is async, so its throws are rejections; this one throws from the listener itself.
    if (req.url === '/throw-sync') {
      counter.increment();
      throw new Error('test app: synchronous throw from the listener');
    }
    if (req.url === '/throw-sync-after-write') {
      // Written in the listener's own turn, so still held by the socket when it throws.
      counter.increment();
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('partial');
      throw new Error('test app: synchronous throw after write');
    }
    return handle(counter, req, res);
  };
}

async function handle(counter: InvocationCounter, req: IncomingMessage, res: ServerResponse): Promise<void> {
  counter.increment();
  if (req.url === '*') {
    res.end(`asterisk:${req.method}`);
    return;
  }
  const url = new URL(req.url ?? '/', 'http://placeholder');
  let path = url.pathname;
  if (path.startsWith('/swapped/')) {
    // What Express does to every request: replace the prototypes of req and res with objects
    // inheriting from Node's. The server's protocol behaviour must not depend on ours.
    Object.setPrototypeOf(req, Object.create(IncomingMessage.prototype));
    Object.setPrototypeOf(res, Object.create(ServerResponse.prototype));
    path = path.slice('/swapped'.length);
  }
  const param = (name: string, fallback: number): number => Number(url.searchParams.get(name) ?? fallback);

  switch (path) {
    case '/read-until-aborted': {
      // Counts once more when its request is aborted: GET /count tells the test it was.
      req.on('aborted', () => counter.increment());
      try {
        for await (const chunk of req) void chunk;
      } catch {
        // The abort's error: counted above.
      }
      if (!res.headersSent) res.end('read');
      return;
    }
    case '/echo': {
      // Everything the app can see of the request.
      const body = await readBody(req);
      sendJson(res, {
        method: req.method,
        url: req.url,
        httpVersion: req.httpVersion,
        headers: req.headers,
        headersDistinct: req.headersDistinct,
        rawHeaders: req.rawHeaders,
        trailers: req.trailers,
        rawTrailers: req.rawTrailers,
        body: body.toString('latin1'),
        bodyLength: body.length,
        complete: req.complete,
        scheme: (req as { scheme?: string }).scheme,
        encrypted: (req.socket as { encrypted?: boolean }).encrypted === true,
        authorized: (req.socket as { authorized?: boolean }).authorized,
        authorizationError: (req.socket as { authorizationError?: unknown }).authorizationError ?? null,
        peerCommonName: peerCommonName(req.socket),
      });
      return;
    }
    case '/hello':
      res.setHeader('Content-Type', 'text/plain');
      res.end('hello');
      return;
    case '/count':
      res.end(String(counter.read()));
      return;
    case '/stream': {
      // Unknown length: chunked for HTTP/1.1, close-delimited for HTTP/1.0.
      const n = param('n', 3);
      res.setHeader('Content-Type', 'text/plain');
      for (let i = 0; i < n; i++) {
        res.write(`part${i};`);
        await delay(5);
      }
      res.end();
      return;
    }
    case '/status': {
      // Writes a body whatever the status: the server must drop it where no body is allowed.
      const code = param('code', 200);
      res.statusCode = code;
      res.setHeader('X-Status-Route', 'yes');
      res.end('body-that-must-not-appear');
      return;
    }
    case '/status-with-length': {
      const code = param('code', 200);
      res.writeHead(code, { 'Content-Length': '25', 'Transfer-Encoding': 'chunked' });
      res.end('body-that-must-not-appear');
      return;
    }
    case '/throw':
      throw new Error('test app: synchronous failure');
    case '/reject':
      await delay(5);
      throw new Error('test app: asynchronous failure');
    case '/throw-after-headers':
      res.writeHead(200, { 'Content-Length': '100' });
      res.write('partial');
      throw new Error('test app: failure after headers');
    case '/throw-after-writehead':
      // The head is composed (headersSent is true) but no byte of it has gone out yet.
      res.writeHead(201, { 'Content-Length': '10' });
      throw new Error('test app: failure after writeHead');
    case '/throw-after-flush':
      res.writeHead(201, { 'Content-Length': '10' });
      res.flushHeaders();
      throw new Error('test app: failure after flushHeaders');
    case '/write-after-end':
      // Node emits ERR_STREAM_WRITE_AFTER_END on res a tick later: with no listener, an
      // uncaught error that would end the whole worker.
      res.end('ended');
      res.write('more');
      return;
    case '/status-600':
      res.statusCode = 600;
      res.end('not a status');
      return;
    case '/app-close':
      res.setHeader('Connection', 'close');
      res.end('closing');
      return;
    case '/res-timeout':
      // Node's res.setTimeout: the callback answers when nothing else has.
      res.setTimeout(200, () => res.end('res timed out'));
      await delay(3000);
      if (!res.writableEnded) res.end('too late');
      return;
    case '/req-timeout':
      // Node's req.setTimeout: fires while the body is still arriving.
      req.setTimeout(200, () => {
        res.statusCode = 408;
        res.end('req timed out');
      });
      req.resume();
      return;
    case '/unheard-timeout':
      // A socket timeout nobody listens for ends the connection, as in Node's server.
      req.socket.setTimeout(200);
      await delay(3000);
      if (!res.writableEnded && !res.destroyed) res.end('too late');
      return;
    case '/slow':
      await delay(param('ms', 100));
      res.end(`slow:${req.url}`);
      return;
    case '/cl-short':
      res.setHeader('Content-Length', '10');
      res.end('12345');
      return;
    case '/cl-long':
      res.writeHead(200, { 'Content-Length': '5' });
      res.write('1234567890');
      res.end('abc');
      return;
    case '/both-lengths':
      res.setHeader('Content-Length', '5');
      res.setHeader('Transfer-Encoding', 'chunked');
      res.end('hello');
      return;
    case '/both-lengths-streamed':
      // The Content-Length is shorter than the body: only Transfer-Encoding tells the truth.
      res.setHeader('Content-Length', '3');
      res.setHeader('Transfer-Encoding', 'chunked');
      res.write('abc');
      res.end('def');
      return;
    case '/big-body': {
      // Ends a tick after its body: with the socket still busy, end() leaves an empty write held.
      const bytes = Number(url.searchParams.get('bytes') ?? 0);
      res.writeHead(200, { 'Content-Length': String(bytes) });
      res.write(Buffer.alloc(bytes, 0x61));
      setTimeout(() => res.end(), 50);
      return;
    }
    case '/fail-late-after-write':
      await delay(500);
      res.writeHead(200, { 'Content-Length': '215' });
      res.write('partial');
      throw new Error('test app: failure after a write, in a later turn');
    case '/unsendable-later':
      // From a timer: a throw here would be uncaught and end the worker.
      setTimeout(() => {
        const kind = url.searchParams.get('kind');
        if (kind === 'length') res.writeHead(200, { 'Content-Length': 'ten' });
        else res.writeHead(kind === '101' ? 101 : 600, kind === '101' ? { Upgrade: 'foo', Connection: 'Upgrade' } : {});
        res.end('never sent');
      }, 10);
      return;
    case '/status-101':
      res.writeHead(101, { Upgrade: 'foo', Connection: 'Upgrade' });
      res.end();
      return;
    case '/connection-option':
      res.setHeader('Connection', 'X-Hop');
      res.setHeader('X-Hop', '1');
      res.end('hop');
      return;
    case '/fetch/bad-second-chunk':
    case '/fetch/string-chunk':
      await fetchRoutes(req, res);
      return;
    case '/server-header':
      res.setHeader('Server', 'custom-server');
      res.end('ok');
      return;
    case '/inject': {
      // Every way of handing a header to Node must refuse CR/LF/NUL with a catchable error.
      const attempts = {
        setHeaderValue: errorCode(() => res.setHeader('X-A', 'a\r\nInjected: yes')),
        setHeaderName: errorCode(() => res.setHeader('X-A\r\nInjected', 'yes')),
        writeHeadObject: errorCode(() => res.writeHead(200, { 'X-B': 'b\r\nInjected: yes' })),
        writeHeadFlatArray: errorCode(() => res.writeHead(200, ['X-C', 'c\nInjected: yes'])),
        writeHeadPairs: errorCode(() => res.writeHead(200, [['X-D', 'd\u0000Injected: yes']] as unknown as string[])),
        writeHeadArrayValue: errorCode(() => res.writeHead(200, { 'X-E': ['ok', 'e\rInjected: yes'] })),
        writeHeadBadName: errorCode(() => res.writeHead(200, { 'X F': 'f' })),
        statusMessage: errorCode(() => res.writeHead(200, 'OK\r\nInjected: yes')),
        earlyHints: errorCode(() => res.writeEarlyHints({ link: '</a.css>; rel=preload', 'x-hint': 'a\r\nInjected: yes' })),
      };
      res.statusMessage = '';
      sendJson(res, attempts);
      return;
    }
    case '/ignore-body':
      res.end('ignored');
      return;
    case '/answer-later':
      // Answers from a timer, without reading the body: a throw there would be uncaught.
      setTimeout(() => {
        res.setHeader('X-Late', 'yes');
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('late');
      }, param('ms', 200));
      return;
    case '/read-slowly': {
      // Consumes the body with pauses: request backpressure must hold the client, not lose data.
      let total = 0;
      req.on('data', (d: Buffer) => {
        total += d.length;
        req.pause();
        setTimeout(() => req.resume(), 2);
      });
      req.on('end', () => res.end(String(total)));
      return;
    }
    case '/destroy-request':
      req.destroy();
      res.statusCode = 413;
      res.end('too large');
      return;
    case '/big': {
      const size = param('size', 1024 * 1024);
      res.setHeader('Content-Length', String(size));
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      let left = size;
      const pump = (): void => {
        while (left > 0) {
          const n = Math.min(left, chunk.length);
          left -= n;
          if (!res.write(chunk.subarray(0, n))) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
      return;
    }
    case '/continue-read': {
      // Reads the body only after a delay: 100 Continue must wait for the read.
      await delay(param('ms', 0));
      const body = await readBody(req);
      res.end(`got:${body.toString('latin1')}`);
      return;
    }
    case '/no-date':
      res.sendDate = false;
      res.end('no-date');
      return;
    case '/interim': {
      // An interim response before the final one: 103 (writeEarlyHints), 100 or 102.
      const kind = url.searchParams.get('kind');
      if (kind === 'continue') res.writeContinue();
      else if (kind === 'processing') res.writeProcessing();
      else res.writeEarlyHints({ link: '</a.css>; rel=preload' });
      res.end(`after-${kind ?? 'hints'}`);
      return;
    }
    case '/early-hint-final':
      res.writeHead(103, { Link: '</a.css>; rel=preload' });
      res.end();
      return;
    default:
      res.statusCode = 404;
      res.end('not found');
  }
}

/** The in-process target's app. */
export const testApp = createTestApp(memoryCounter());

/** Fetch-handler bodies that break the Fetch standard's contract (a stream yields bytes). */
const fetchRoutes = adaptFetchHandler((request) => {
  const bytes = new TextEncoder().encode('ab');
  const second: unknown = new URL(request.url).pathname === '/fetch/string-chunk' ? 'cd' : new ArrayBuffer(2);
  return new Response(
    new ReadableStream({
      start(controller) {
        controller.enqueue(bytes);
        controller.enqueue(second as Uint8Array);
        controller.close();
      },
    }),
  );
});
