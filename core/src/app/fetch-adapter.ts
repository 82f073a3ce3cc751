/**
 * Serve a fetch handler (`(Request) => Response`, as Hono, itty-router and others export)
 * through the Node request-listener interface every worker speaks. Bodies stream both ways
 * with backpressure; the Request's signal aborts when the client goes away.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

export type FetchHandler = (request: Request) => Response | Promise<Response>;
export type NodeRequestListener = (req: IncomingMessage, res: ServerResponse) => unknown;

/** The scheme the HTTP layer decided on (TLS or a trusted secure header), else http. */
function schemeOf(req: IncomingMessage): string {
  return (req as IncomingMessage & { scheme?: string }).scheme ?? 'http';
}

export function toWebRequest(req: IncomingMessage, signal: AbortSignal): Request {
  const host = req.headers.host ?? 'localhost';
  const url = /^https?:\/\//i.test(req.url ?? '') ? (req.url as string) : `${schemeOf(req)}://${host}${req.url ?? '/'}`;
  const headers = new Headers();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  const method = req.method ?? 'GET';
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal };
  if (hasBody) {
    init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
    init.duplex = 'half';
  }
  return new Request(url, init);
}

export async function writeWebResponse(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText !== '') res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (response.body === null) {
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await waitForDrain(res);
      if (res.destroyed) return;
    }
    res.end();
  } finally {
    reader.releaseLock();
  }
}

function waitForDrain(res: ServerResponse): Promise<void> {
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
    const response = await handler(toWebRequest(req, controller.signal));
    if (!(response instanceof Response)) {
      throw new TypeError(`fetch handler returned ${response === null ? 'null' : typeof response}, not a Response`);
    }
    await writeWebResponse(response, res);
  };
}
