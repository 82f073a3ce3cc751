/**
 * The fetch-handler adapter at the edges: the request URL from odd Host fields, HEAD with a
 * body that never ends, and a client that leaves while a body streams.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { adaptFetchHandler } from '@gunicorn-ts/core';

let server: Server;
let port: number;
let cancelled = 0;
let enqueued = 0;
let calls = 0;

/** Send raw bytes, collect what comes back until the server closes or `ms` pass. */
function raw(bytes: string, ms = 1000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(text);
    }, ms);
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => (text += d));
    socket.on('end', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.on('error', reject);
    socket.write(bytes);
  });
}

before(async () => {
  const handler = adaptFetchHandler((request) => {
    calls += 1;
    const url = new URL(request.url);
    if (url.pathname === '/never-ends' || url.pathname === '/ticks') {
      let timer: NodeJS.Timeout | undefined;
      return new Response(
        new ReadableStream({
          start(controller) {
            timer = setInterval(() => {
              enqueued += 1;
              controller.enqueue(new TextEncoder().encode('tick\n'));
            }, 20);
          },
          cancel() {
            cancelled += 1;
            clearInterval(timer);
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    }
    return new Response(`${request.url} host=${request.headers.get('host')}`);
  });
  server = createServer((req, res) => {
    // Node's own parser refuses lower-case methods, which our HTTP front passes on as received
    // (a method is any token): X-Test-Method stands in for such a request line.
    const method = req.headers['x-test-method'];
    if (typeof method === 'string') req.method = method;
    void handler(req, res);
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

describe('fetch adapter', () => {
  test('an empty Host (RFC 9110 §7.2) keeps the path whole: the URL host is localhost', async () => {
    const text = await raw('GET /admin/secret?q=1 HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n');
    assert.match(text, /\r\nhttp:\/\/localhost\/admin\/secret\?q=1 host=$/);
  });

  test('a target starting with // stays a path, never an authority', async () => {
    const text = await raw('GET //evil/x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.match(text, /\r\nhttp:\/\/example\.com\/\/evil\/x host=example\.com$/);
  });

  for (const host of [':80', '1.2.3.4.5']) {
    test(`a Host a URL cannot carry (${host}) is the client's error: 400, the app is not called`, async () => {
      const text = await raw(`GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.1 400 /);
      assert.match(text, /Invalid Host header/);
      assert.match(text, /\r\ncontent-length: \d+\r\n/i, 'framed by a length, as the HTTP front frames its own errors');
    });
  }

  for (const method of ['TRACE', 'TRACK', 'CONNECT', 'trace', 'get', 'Head', 'delete', 'post']) {
    test(`${method}, which a Request cannot carry as received, gets 501 and the handler is not called`, async () => {
      const before = calls;
      // Before: get and TRACE were 500s logged as app errors, delete reached the handler as DELETE.
      const text = await raw(`PATCH /x HTTP/1.1\r\nHost: x\r\nX-Test-Method: ${method}\r\nConnection: close\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.1 501 /);
      assert.match(text, /Method not implemented/);
      assert.equal(calls, before);
    });
  }

  test('a method a Request carries as it is (PATCH, an extension method) reaches the handler', async () => {
    const before = calls;
    for (const method of ['PATCH', 'PROPFIND', 'patch']) {
      const text = await raw(`PATCH /x HTTP/1.1\r\nHost: x\r\nX-Test-Method: ${method}\r\nConnection: close\r\n\r\n`);
      assert.match(text, /^HTTP\/1\.1 200 /, method);
    }
    assert.equal(calls, before + 3);
  });

  test('a body given whole goes out with its Content-Length (to HTTP/1.0 too); a stream goes out chunked as it comes', async () => {
    const whole = await raw('GET /whole HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.match(whole, /\r\ncontent-length: 41\r\n/i);
    assert.doesNotMatch(whole, /transfer-encoding/i);
    const old = await raw('GET /whole HTTP/1.0\r\nHost: example.com\r\n\r\n');
    assert.match(old, /\r\ncontent-length: 41\r\n/i, 'an HTTP/1.0 client gets a length, not a close-delimited body');
    const stream = await raw('GET /ticks HTTP/1.1\r\nHost: example.com\r\n\r\n', 150);
    assert.match(stream, /\r\ntransfer-encoding: chunked\r\n/i);
    assert.match(stream, /\r\n5\r\ntick\n\r\n/, 'chunks arrive while the stream goes on');
  });

  test('OPTIONS * reaches the handler as the path /*, the host intact', async () => {
    const text = await raw('OPTIONS * HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.match(text, /\r\nhttp:\/\/example\.com\/\* host=example\.com$/);
  });

  test('HEAD: the head goes out at once although the body never ends, and the body is cancelled', async () => {
    const before = cancelled;
    const text = await raw('HEAD /never-ends HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', 2000);
    assert.match(text, /^HTTP\/1\.1 200 /);
    assert.match(text, /content-type: text\/event-stream/i);
    assert.ok(text.endsWith('\r\n\r\n'), 'no body');
    assert.equal(cancelled, before + 1);
  });

  test('a client that leaves while the body streams cancels the body stream', async () => {
    const before = cancelled;
    const socket = connect(port, '127.0.0.1');
    socket.write('GET /ticks HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((resolve) => socket.once('data', resolve));
    socket.destroy();
    const deadline = Date.now() + 2000;
    while (cancelled === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(cancelled, before + 1, 'cancel() ran');
    const count = enqueued;
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(enqueued, count, 'the source stopped producing');
  });
});
