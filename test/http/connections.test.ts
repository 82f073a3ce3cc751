/**
 * Connection management: persistence, pipelining, close, timeouts, unread bodies and graceful
 * drain (RFC 9112 §9).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTarget, type Target } from './harness/target.js';
import { exchange, header, request, WireClient } from './harness/wire.js';
import { expectResponses } from './harness/expect.js';

let target: Target;
before(async () => {
  target = await startTarget();
});
after(async () => {
  await target.stop();
});

async function withTarget(options: Parameters<typeof startTarget>[0], fn: (t: Target) => Promise<void>): Promise<void> {
  const t = await startTarget(options);
  try {
    await fn(t);
  } finally {
    await t.stop();
  }
}

async function withClient(t: Target, fn: (c: WireClient) => Promise<void>): Promise<void> {
  const client = await WireClient.connect(t.port);
  try {
    await fn(client);
  } finally {
    client.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe('persistence (RFC 9112 §9.3)', () => {
  test('RFC 9112 §9.3: HTTP/1.1 connections persist: several requests, one connection', async () => {
    await withClient(target, async (client) => {
      for (let i = 0; i < 3; i++) {
        client.write(request('GET', '/hello'));
        const res = await client.readResponse();
        assert.equal(res.status, 200);
        assert.equal(header(res, 'connection'), 'keep-alive');
      }
      assert.ok(!client.serverClosed);
    });
  });

  for (const value of ['close', 'CLOSE', 'keep-alive, Close', 'Upgrade, close']) {
    test(`RFC 9112 §9.6: "Connection: ${value}" closes after the response`, async () => {
      const r = await exchange(target.port, request('GET', '/hello', [`Connection: ${value}`]), { timeoutMs: 2000 });
      assert.deepEqual(r.responses.map((x) => x.status), [200]);
      assert.equal(header(r.responses[0]!, 'connection'), 'close');
      assert.ok(r.closed);
    });
  }

  test('RFC 9112 §9.6: lower-case field name "connection: close" closes too', async () => {
    const r = await exchange(target.port, 'GET /hello HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n', { timeoutMs: 2000 });
    assert.ok(r.closed);
    assert.equal(header(r.responses[0]!, 'connection'), 'close');
  });

  test('RFC 9112 §9.3: HTTP/1.0 closes by default', async () => {
    const r = await exchange(target.port, 'GET /hello HTTP/1.0\r\n\r\n', { timeoutMs: 2000 });
    assert.equal(header(r.responses[0]!, 'connection'), 'close');
    assert.ok(r.closed);
  });

  test('RFC 9112 §9.3 / RFC 2068 §19.7.1: HTTP/1.0 with Connection: keep-alive persists and says so', async () => {
    await withClient(target, async (client) => {
      client.write('GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      const first = await client.readResponse();
      assert.equal(header(first, 'connection'), 'keep-alive');
      assert.equal(header(first, 'content-length'), '5');
      client.write('GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
      assert.equal((await client.readResponse()).body.toString(), 'hello');
    });
  });

  test('RFC 9112 §9.6: the app setting Connection: close closes the connection', async () => {
    const r = await exchange(target.port, request('GET', '/app-close') + request('GET', '/hello'), { timeoutMs: 2000 });
    assert.deepEqual(r.responses.map((x) => x.status), [200]);
    assert.equal(header(r.responses[0]!, 'connection'), 'close');
    assert.ok(r.closed);
  });

  test('keepAlive: false (sync worker): every response says Connection: close and the connection closes', async () => {
    await withTarget({ keepAlive: false }, async (t) => {
      const r = await exchange(t.port, request('GET', '/hello') + request('GET', '/hello'), { timeoutMs: 2000 });
      assert.deepEqual(r.responses.map((x) => x.status), [200]);
      assert.equal(header(r.responses[0]!, 'connection'), 'close');
      assert.ok(r.closed);
      assert.equal(r.rest.length, 0);
    });
  });

  test('a client that half-closes after its request still gets the response', async () => {
    const r = await exchange(target.port, request('GET', '/slow?ms=50'), { timeoutMs: 2000, halfClose: true });
    assert.deepEqual(r.responses.map((x) => x.status), [200]);
    assert.ok(r.closed);
  });

  test('RFC 9112 §9.3: a connection closed in the middle of a head gets 400', async () => {
    const r = await exchange(target.port, 'GET /hello HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 2000, halfClose: true });
    assert.deepEqual(r.responses.map((x) => x.status), [400]);
  });
});

describe('pipelining (RFC 9112 §9.3.2)', () => {
  test('RFC 9112 §9.3.2: pipelined responses come in request order even when the first is slowest', async () => {
    const bytes = request('GET', '/slow?ms=150') + request('GET', '/slow?ms=1') + request('GET', '/hello', ['Connection: close']);
    const r = await expectResponses(target, bytes, [200, 200, 200]);
    assert.equal(r.responses[0]!.body.toString(), 'slow:/slow?ms=150');
    assert.equal(r.responses[1]!.body.toString(), 'slow:/slow?ms=1');
    assert.equal(r.responses[2]!.body.toString(), 'hello');
  });

  test('RFC 9112 §9.3.2: 40 pipelined requests in one write are all answered, in order', async () => {
    const bytes = Array.from({ length: 40 }, (_, i) => request('GET', `/slow?ms=0&i=${i}`)).join('');
    await withClient(target, async (client) => {
      client.write(bytes);
      for (let i = 0; i < 40; i++) {
        const res = await client.readResponse();
        assert.equal(res.body.toString(), `slow:/slow?ms=0&i=${i}`);
      }
    });
  });

  test('RFC 9112 §9.3.2: an unread small body is drained and the next request served on the same connection', async () => {
    const body = 'x'.repeat(1000);
    const r = await expectResponses(
      target,
      request('POST', '/ignore-body', [`Content-Length: ${body.length}`], body) + request('GET', '/hello', ['Connection: close']),
      [200, 200],
    );
    assert.equal(header(r.responses[0]!, 'connection'), 'keep-alive');
    assert.equal(r.responses[1]!.body.toString(), 'hello');
  });

  test('RFC 9112 §9.3.2: an unread chunked body is drained too', async () => {
    const r = await expectResponses(
      target,
      request('POST', '/ignore-body', ['Transfer-Encoding: chunked'], '5\r\nhello\r\n0\r\n\r\n') + request('GET', '/hello', ['Connection: close']),
      [200, 200],
    );
    assert.equal(r.responses[1]!.body.toString(), 'hello');
  });

  test('an unread body too large to drain makes the server close after the response', async () => {
    await withClient(target, async (client) => {
      client.write(request('POST', '/ignore-body', ['Content-Length: 10000000']) + 'x'.repeat(1000));
      const res = await client.readResponse();
      assert.equal(res.status, 200);
      assert.equal(header(res, 'connection'), 'close');
      assert.ok(await client.waitForClose());
    });
  });

  test('request body backpressure: a 2 MiB upload read slowly arrives complete', async () => {
    const size = 2 * 1024 * 1024;
    const r = await exchange(target.port, request('POST', '/read-slowly', [`Content-Length: ${size}`, 'Connection: close'], 'y'.repeat(size)), {
      timeoutMs: 10_000,
    });
    assert.equal(r.responses[0]?.body.toString(), String(size));
  });

  test('an app that destroys the request (rejecting an upload) still answers, then the connection closes', async () => {
    await withClient(target, async (client) => {
      client.write(request('POST', '/destroy-request', ['Content-Length: 100000']) + 'z'.repeat(100));
      const res = await client.readResponse();
      assert.equal(res.status, 413);
      assert.equal(header(res, 'connection'), 'close');
      assert.ok(await client.waitForClose());
    });
  });
});

describe('timeouts', () => {
  test('keep-alive idle timeout closes an idle persistent connection', async () => {
    await withTarget({ keepAliveTimeoutMs: 200 }, async (t) => {
      await withClient(t, async (client) => {
        client.write(request('GET', '/hello'));
        await client.readResponse();
        const started = Date.now();
        assert.ok(await client.waitForClose(2000));
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 150 && elapsed < 1500, `closed after ${elapsed} ms`);
        assert.equal(client.pending.length, 0, 'silently');
      });
    });
  });

  test('headers timeout: a head that does not complete in time gets 408, then close', async () => {
    await withTarget({ headersTimeoutMs: 300 }, async (t) => {
      await withClient(t, async (client) => {
        client.write('GET /hello HTTP/1.1\r\nHost: x\r\n');
        const res = await client.readResponse({ timeoutMs: 2000 });
        assert.equal(res.status, 408);
        assert.equal(header(res, 'connection'), 'close');
        assert.ok(await client.waitForClose());
      });
    });
  });

  test('headers timeout: a slowloris trickling a head byte by byte still gets 408 in time', async () => {
    await withTarget({ headersTimeoutMs: 300 }, async (t) => {
      await withClient(t, async (client) => {
        const started = Date.now();
        const head = 'GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100);
        for (const ch of head) {
          if (client.serverClosed) break;
          client.write(ch);
          await sleep(20);
        }
        assert.ok(client.serverClosed || (await client.waitForClose(2000)));
        assert.ok(Date.now() - started < 1500);
        assert.match(client.pending.toString('latin1'), /^HTTP\/1\.1 408 /);
      });
    });
  });

  test('headers timeout: a connection that sends nothing is closed silently', async () => {
    await withTarget({ headersTimeoutMs: 300 }, async (t) => {
      await withClient(t, async (client) => {
        assert.ok(await client.waitForClose(2000));
        assert.equal(client.pending.length, 0);
      });
    });
  });

  test('body timeout: a body that stops arriving closes the connection', async () => {
    await withTarget({ bodyTimeoutMs: 300 }, async (t) => {
      await withClient(t, async (client) => {
        client.write(request('POST', '/echo', ['Content-Length: 10'], 'abc'));
        const started = Date.now();
        assert.ok(await client.waitForClose(2000));
        assert.ok(Date.now() - started < 1500);
      });
    });
  });

  test('body timeout is not applied while the server has not asked for the body (Expect: 100-continue)', async () => {
    await withTarget({ bodyTimeoutMs: 200 }, async (t) => {
      await withClient(t, async (client) => {
        client.write(request('POST', '/continue-read?ms=500', ['Expect: 100-continue', 'Content-Length: 5']));
        const interim = await client.readResponse({ timeoutMs: 2000 });
        assert.equal(interim.status, 100);
        client.write('hello');
        assert.equal((await client.readResponse()).body.toString(), 'got:hello');
      });
    });
  });
});

/** Cases that need a target able to drain its connections on demand. */
async function withDrainableTarget(options: Parameters<typeof startTarget>[0], t: { skip(message: string): void }, fn: (target: Target) => Promise<void>): Promise<void> {
  await withTarget(options, async (target) => {
    if (target.shutdown === undefined) {
      t.skip('this target cannot drain on demand');
      return;
    }
    await fn(target);
  });
}

describe('graceful drain (shutdown)', () => {
  test('an idle keep-alive connection waits a short grace: a request arriving then is answered with close', async (t) => {
    await withDrainableTarget({ keepAliveTimeoutMs: 5000 }, t, async (target) => {
      await withClient(target, async (client) => {
        client.write(request('GET', '/hello'));
        await client.readResponse();
        target.shutdown!();
        await sleep(100);
        assert.ok(!client.serverClosed, 'not closed at once');
        client.write(request('GET', '/hello'));
        const res = await client.readResponse();
        assert.equal(res.status, 200);
        assert.equal(header(res, 'connection'), 'close');
        assert.ok(await client.waitForClose());
      });
    });
  });

  test('an idle connection with no request in flight is closed after the grace (≤ 1 s)', async (t) => {
    await withDrainableTarget({ keepAliveTimeoutMs: 5000 }, t, async (target) => {
      await withClient(target, async (client) => {
        client.write(request('GET', '/hello'));
        await client.readResponse();
        const started = Date.now();
        target.shutdown!();
        assert.ok(await client.waitForClose(3000));
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 500 && elapsed < 2000, `closed after ${elapsed} ms`);
      });
    });
  });

  test('a request in progress is answered with Connection: close, then the connection closes', async (t) => {
    await withDrainableTarget({}, t, async (target) => {
      await withClient(target, async (client) => {
        client.write(request('GET', '/slow?ms=200'));
        await sleep(50);
        target.shutdown!();
        const res = await client.readResponse();
        assert.equal(res.status, 200);
        assert.equal(header(res, 'connection'), 'close');
        assert.ok(await client.waitForClose());
      });
    });
  });

  test('pipelined requests already received are all answered, then the connection closes', async (t) => {
    await withDrainableTarget({ keepAliveTimeoutMs: 5000 }, t, async (target) => {
      await withClient(target, async (client) => {
        // /hello's head is written (keep-alive) before the shutdown, while /slow is pending.
        client.write(request('GET', '/slow?ms=150') + request('GET', '/hello'));
        await sleep(50);
        target.shutdown!();
        const first = await client.readResponse();
        const second = await client.readResponse();
        assert.equal(first.body.toString(), 'slow:/slow?ms=150');
        assert.equal(header(first, 'connection'), 'keep-alive', 'not the last response');
        assert.equal(second.body.toString(), 'hello');
        assert.ok(await client.waitForClose(2500), 'closed after the grace');
      });
    });
  });

  test('a request arriving after the last response of a draining connection is answered with close', async (t) => {
    await withDrainableTarget({ keepAliveTimeoutMs: 5000 }, t, async (target) => {
      await withClient(target, async (client) => {
        client.write(request('GET', '/stream?n=10'));
        await sleep(10);
        target.shutdown!();
        const streamed = await client.readResponse();
        assert.equal(streamed.status, 200);
        client.write(request('GET', '/hello'));
        const res = await client.readResponse();
        assert.equal(res.body.toString(), 'hello');
        assert.equal(header(res, 'connection'), 'close');
        assert.ok(await client.waitForClose());
      });
    });
  });

  test('drain under keep-alive load drops no request', async (t) => {
    await withDrainableTarget({ keepAliveTimeoutMs: 5000 }, t, async (target) => {
      const clients = await Promise.all(Array.from({ length: 8 }, () => WireClient.connect(target.port)));
      let ok = 0;
      let failed = 0;
      const loops = clients.map(async (client) => {
        for (let i = 0; i < 200; i++) {
          if (client.serverClosed) return;
          client.write(request('GET', '/hello'));
          try {
            const res = await client.readResponse();
            if (res.status === 200) ok++;
            else failed++;
            if (header(res, 'connection') === 'close') return;
          } catch {
            failed++;
            return;
          }
        }
      });
      await sleep(30);
      target.shutdown!();
      await Promise.all(loops);
      for (const client of clients) client.destroy();
      assert.equal(failed, 0, 'every request sent got a complete response');
      assert.ok(ok > 8);
    });
  });
});

describe('access log info (onResponse)', () => {
  test('onResponse gets what the access log needs', async (t) => {
    if (target.accessLog === undefined) {
      t.skip('this target cannot observe onResponse');
      return;
    }
    const before = target.accessLog.length;
    await expectResponses(target, request('GET', '/echo?q=1', ['User-Agent: wire/1', 'Referer: http://r.test/', 'Connection: close']), [200]);
    const info = target.accessLog!.slice(before).find((i) => i.target === '/echo?q=1');
    assert.ok(info);
    assert.equal(info.method, 'GET');
    assert.equal(info.httpVersion, '1.1');
    assert.equal(info.status, 200);
    assert.ok(info.responseBodyBytes > 0);
    assert.ok(info.requestHeaders.includes('wire/1'));
    assert.ok(info.responseHeaders.includes('application/json'));
    assert.ok(info.durationMicros >= 0);
    assert.ok(Math.abs(info.startTime - Date.now()) < 5000);
    assert.equal(info.pid, process.pid);
    assert.match(info.remoteAddress ?? '', /127\.0\.0\.1/);
  });
});
