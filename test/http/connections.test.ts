/**
 * Connection management: persistence, pipelining, close, timeouts, unread bodies, graceful
 * drain and the access log (RFC 9112 §9).
 *
 * The sync worker keeps no connection alive (Gunicorn's sync contract): every response says
 * `Connection: close` and nothing after the first request is read. Cases that need a
 * persistent connection state what a target without keep-alive must do instead.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachTarget } from './harness/suite.js';
import { parseAccessLogLine, type Target } from './harness/target.js';
import { exchange, header, request, withClient, WireClient, type ParsedResponse } from './harness/wire.js';
import { expectPipelined, expectResponses, json } from './harness/expect.js';
import { withKnownFailures } from './harness/known-failures.js';

/** Short deadlines for the timeout cases (CLI targets round them up to whole seconds). */
const SHORT_TIMEOUTS = { keepAliveTimeoutMs: 200, headersTimeoutMs: 300, bodyTimeoutMs: 300 };
/** For the drain cases: idle connections close only because of the drain. */
const LONG_KEEP_ALIVE = { keepAliveTimeoutMs: 5000 };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Without keep-alive a response says `Connection: close` and the server then closes, silently. */
async function expectClosedAfter(client: WireClient, res: ParsedResponse): Promise<void> {
  assert.equal(header(res, 'connection'), 'close', 'without keep-alive every response says Connection: close');
  assert.ok(await client.waitForClose(), 'the connection closes after the response');
  assert.equal(client.pending.length, 0, 'nothing after the response');
}

describeEachTarget('connections', (targets) => {
  let target: Target;
  before(async () => {
    target = await targets.get();
  });

  describe('persistence (RFC 9112 §9.3)', () => {
    test('RFC 9112 §9.3: HTTP/1.1 connections persist: several requests, one connection (sync: one, then close)', async () => {
      await withClient(target, async (client) => {
        for (let i = 0; i < 3; i++) {
          client.write(request('GET', '/hello'));
          const res = await client.readResponse();
          assert.equal(res.status, 200);
          if (!target.protocol.keepAlive) return expectClosedAfter(client, res);
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

    test('RFC 9112 §9.3 / RFC 2068 §19.7.1: HTTP/1.0 with Connection: keep-alive persists and says so (sync: closes)', async () => {
      await withClient(target, async (client) => {
        client.write('GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n');
        const first = await client.readResponse();
        assert.equal(header(first, 'content-length'), '5');
        if (!target.protocol.keepAlive) return expectClosedAfter(client, first);
        assert.equal(header(first, 'connection'), 'keep-alive');
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

    test('keep-alive off (the sync worker, or keepalive 0): every response says Connection: close and the connection closes', async () => {
      const t = target.protocol.keepAlive ? await targets.get({ keepAlive: false }) : target;
      assert.equal(t.protocol.keepAlive, false);
      const r = await exchange(t.port, request('GET', '/hello') + request('GET', '/hello'), { timeoutMs: 2000 });
      assert.deepEqual(r.responses.map((x) => x.status), [200]);
      assert.equal(header(r.responses[0]!, 'connection'), 'close');
      assert.ok(r.closed);
      assert.equal(r.rest.length, 0);
    });

    test('a client that half-closes after its request still gets the response', async (t) => {
      await withKnownFailures(t, target, async () => {
        const r = await exchange(target.port, request('GET', '/slow?ms=50'), { timeoutMs: 2000, halfClose: true });
        assert.deepEqual(r.responses.map((x) => x.status), [200]);
        assert.ok(r.closed);
      });
    });

    test('RFC 9112 §9.3: a connection closed in the middle of a head gets 400', async () => {
      const r = await exchange(target.port, 'GET /hello HTTP/1.1\r\nHost: x\r\n', { timeoutMs: 2000, halfClose: true });
      assert.deepEqual(r.responses.map((x) => x.status), [400]);
    });
  });

  describe('pipelining (RFC 9112 §9.3.2)', () => {
    test('RFC 9112 §9.3.2: pipelined responses come in request order even when the first is slowest', async () => {
      const bytes = request('GET', '/slow?ms=150') + request('GET', '/slow?ms=1') + request('GET', '/hello', ['Connection: close']);
      const r = await expectPipelined(target, bytes, [200, 200, 200]);
      assert.equal(r.responses[0]!.body.toString(), 'slow:/slow?ms=150');
      if (target.protocol.keepAlive) {
        assert.equal(r.responses[1]!.body.toString(), 'slow:/slow?ms=1');
        assert.equal(r.responses[2]!.body.toString(), 'hello');
      }
    });

    for (const [name, bad] of [
      ['garbage', 'GARBAGE\r\n\r\n'],
      ['a request without Host', 'GET /hello HTTP/1.1\r\n\r\n'],
      ['a request with both Content-Length and Transfer-Encoding', 'POST /echo HTTP/1.1\r\nHost: example.test\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ] as const) {
      test(`RFC 9112 §9.6: once a response says close nothing follows it (${name} pipelined behind a slow request)`, async () => {
        const r = await exchange(target.port, request('GET', '/slow?ms=100') + bad, { timeoutMs: 2000 });
        assert.ok(r.responses.length >= 1 && r.responses[0]!.status === 200, `first response 200, got ${r.responses.map((res) => res.status).join(',')}`);
        const closeAt = r.responses.findIndex((res) => header(res, 'connection') === 'close');
        assert.ok(closeAt !== -1, 'some response announces the close');
        assert.equal(closeAt, r.responses.length - 1, `nothing after the response that says close: ${r.responses.map((res) => `${res.status} ${header(res, 'connection')}`).join(', ')}`);
        assert.ok(r.closed, 'and the connection closes');
        assert.equal(r.rest.length, 0);
      });
    }

    test('RFC 9112 §9.3.2: 40 pipelined requests in one write are all answered, in order (sync: the first)', async () => {
      const bytes = Array.from({ length: 40 }, (_, i) => request('GET', `/slow?ms=0&i=${i}`)).join('');
      await withClient(target, async (client) => {
        client.write(bytes);
        for (let i = 0; i < 40; i++) {
          const res = await client.readResponse();
          assert.equal(res.body.toString(), `slow:/slow?ms=0&i=${i}`);
          if (!target.protocol.keepAlive) return expectClosedAfter(client, res);
        }
      });
    });

    test('RFC 9112 §9.3.2: an unread small body is drained and the next request served on the same connection', async () => {
      const body = 'x'.repeat(1000);
      const r = await expectPipelined(
        target,
        request('POST', '/ignore-body', [`Content-Length: ${body.length}`], body) + request('GET', '/hello', ['Connection: close']),
        [200, 200],
      );
      if (target.protocol.keepAlive) {
        assert.equal(header(r.responses[0]!, 'connection'), 'keep-alive');
        assert.equal(r.responses[1]!.body.toString(), 'hello');
      }
    });

    test('RFC 9112 §9.3.2: an unread chunked body is drained too', async () => {
      const r = await expectPipelined(
        target,
        request('POST', '/ignore-body', ['Transfer-Encoding: chunked'], '5\r\nhello\r\n0\r\n\r\n') + request('GET', '/hello', ['Connection: close']),
        [200, 200],
      );
      if (target.protocol.keepAlive) assert.equal(r.responses[1]!.body.toString(), 'hello');
    });

    test('an unread chunked body of 200 KiB arriving after the response is drained, and the connection kept', async () => {
      await withClient(target, async (client) => {
        client.write(request('POST', '/ignore-body', ['Transfer-Encoding: chunked']) + '400\r\n' + 'c'.repeat(0x400) + '\r\n');
        const first = await client.readResponse();
        assert.equal(first.status, 200);
        if (!target.protocol.keepAlive) return expectClosedAfter(client, first);
        assert.equal(header(first, 'connection'), 'keep-alive');
        const chunk = '1000\r\n' + 'c'.repeat(0x1000) + '\r\n';
        for (let i = 0; i < 50; i++) client.write(chunk);
        client.write('0\r\n\r\n' + request('GET', '/hello', ['Connection: close']));
        const second = await client.readResponse();
        assert.equal(second.status, 200);
        assert.equal(second.body.toString(), 'hello');
      });
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

  describe('capacity', () => {
    test('a refused request frees the server at once, even when its client keeps the connection open (sync: its one slot)', async () => {
      const lingering = await WireClient.connect(target.port, target.host, { allowHalfOpen: true });
      try {
        lingering.write('GARBAGE\r\n\r\n');
        assert.equal((await lingering.readResponse()).status, 400);
        // This client neither closes nor sends more: the server lingers on the connection (2 s)
        // so that no reset destroys its answer, but it must not hold capacity meanwhile.
        await withClient(target, async (client) => {
          client.write(request('GET', '/hello', ['Connection: close']));
          const res = await client.readResponse({ timeoutMs: 1000 });
          assert.equal(res.status, 200);
        });
      } finally {
        lingering.destroy();
      }
    });
  });

  describe('timeouts', () => {
    test('keep-alive idle timeout closes an idle persistent connection (sync: closed at once)', async () => {
      const t = await targets.get(SHORT_TIMEOUTS);
      await withClient(t, async (client) => {
        client.write(request('GET', '/hello'));
        const res = await client.readResponse();
        const started = Date.now();
        assert.ok(await client.waitForClose(t.protocol.keepAliveTimeoutMs + 2000));
        const elapsed = Date.now() - started;
        if (t.protocol.keepAlive) {
          const timeout = t.protocol.keepAliveTimeoutMs;
          assert.ok(elapsed >= timeout * 0.75 && elapsed < timeout + 2000, `closed after ${elapsed} ms; keep-alive timeout ${timeout} ms`);
        } else {
          assert.equal(header(res, 'connection'), 'close');
          assert.ok(elapsed < t.protocol.keepAliveTimeoutMs * 0.75, `no idle time without keep-alive: closed after ${elapsed} ms`);
        }
        assert.equal(client.pending.length, 0, 'silently');
      });
    });

    test('headers timeout: a head that does not complete in time gets 408, then close', async () => {
      const t = await targets.get(SHORT_TIMEOUTS);
      await withClient(t, async (client) => {
        client.write('GET /hello HTTP/1.1\r\nHost: x\r\n');
        const res = await client.readResponse({ timeoutMs: t.protocol.headersTimeoutMs + 2000 });
        assert.equal(res.status, 408);
        assert.equal(header(res, 'connection'), 'close');
        assert.ok(await client.waitForClose());
      });
    });

    test('headers timeout: a slowloris trickling a head byte by byte still gets 408 in time', async () => {
      const t = await targets.get(SHORT_TIMEOUTS);
      await withClient(t, async (client) => {
        const started = Date.now();
        // 20 ms a byte: the bytes keep coming for 4 timeouts + 2 s, far longer than the bound below.
        const head = 'GET /hello HTTP/1.1\r\nHost: x\r\nX-Slow: ' + 'a'.repeat(100 + (4 * t.protocol.headersTimeoutMs) / 20);
        for (const ch of head) {
          if (client.serverClosed) break;
          client.write(ch);
          await sleep(20);
        }
        assert.ok(client.serverClosed || (await client.waitForClose(2000)));
        const elapsed = Date.now() - started;
        assert.ok(elapsed < t.protocol.headersTimeoutMs + 1500, `closed after ${elapsed} ms; headers timeout ${t.protocol.headersTimeoutMs} ms`);
        assert.match(client.pending.toString('latin1'), /^HTTP\/1\.1 408 /);
      });
    });

    test('headers timeout: a connection that sends nothing is closed silently', async () => {
      const t = await targets.get(SHORT_TIMEOUTS);
      await withClient(t, async (client) => {
        assert.ok(await client.waitForClose(t.protocol.headersTimeoutMs + 2000));
        assert.equal(client.pending.length, 0);
      });
    });

    test('body timeout: a body that stops arriving closes the connection', async () => {
      const t = await targets.get(SHORT_TIMEOUTS);
      await withClient(t, async (client) => {
        client.write(request('POST', '/echo', ['Content-Length: 10'], 'abc'));
        const started = Date.now();
        assert.ok(await client.waitForClose(t.protocol.bodyTimeoutMs + 2000));
        const elapsed = Date.now() - started;
        assert.ok(elapsed < t.protocol.bodyTimeoutMs + 2000, `closed after ${elapsed} ms; body timeout ${t.protocol.bodyTimeoutMs} ms`);
      });
    });

    test('body timeout is an idle time: chunk size lines and trailer lines that keep arriving keep the request alive', async () => {
      const t = await targets.get(SHORT_TIMEOUTS);
      const step = Math.round(t.protocol.bodyTimeoutMs * 0.4);
      await withClient(t, async (client) => {
        client.write(request('POST', '/echo', ['Transfer-Encoding: chunked', 'Connection: close'], '5\r\nhello\r\n'));
        for (const piece of ['0', '\r\n', 'X-A: 1\r\n', 'X-B: 2\r\n', 'X-C: 3\r\n', 'X-D: 4\r\n']) {
          await new Promise((r) => setTimeout(r, step));
          client.write(piece);
        }
        client.write('\r\n');
        const res = await client.readResponse();
        assert.equal(res.status, 200, `${6 * step} ms of trailers, ${step} ms apart (body timeout ${t.protocol.bodyTimeoutMs} ms)`);
        assert.equal(json(res).body, 'hello');
      });
    });

    test('body timeout is not applied while the server has not asked for the body (Expect: 100-continue)', async () => {
      const t = await targets.get(SHORT_TIMEOUTS);
      const appReadsAfterMs = 2 * t.protocol.bodyTimeoutMs;
      await withClient(t, async (client) => {
        client.write(request('POST', `/continue-read?ms=${appReadsAfterMs}`, ['Expect: 100-continue', 'Content-Length: 5']));
        const interim = await client.readResponse({ timeoutMs: appReadsAfterMs + 2000 });
        assert.equal(interim.status, 100);
        client.write('hello');
        assert.equal((await client.readResponse()).body.toString(), 'got:hello');
      });
    });
  });

  describe('graceful drain (a worker TERM)', () => {
    test('an idle keep-alive connection waits a short grace: a request arriving then is answered with close', async () => {
      const t = await targets.get(LONG_KEEP_ALIVE);
      await withClient(t, async (client) => {
        client.write(request('GET', '/hello'));
        const first = await client.readResponse();
        if (!t.protocol.keepAlive) return expectClosedAfter(client, first);
        t.drain();
        await sleep(100);
        assert.ok(!client.serverClosed, 'not closed at once');
        client.write(request('GET', '/hello'));
        const res = await client.readResponse();
        assert.equal(res.status, 200);
        assert.equal(header(res, 'connection'), 'close');
        assert.ok(await client.waitForClose());
      });
    });

    test('an idle connection with no request in flight is closed after the grace (≤ 1 s)', async () => {
      const t = await targets.get(LONG_KEEP_ALIVE);
      await withClient(t, async (client) => {
        client.write(request('GET', '/hello'));
        const first = await client.readResponse();
        if (!t.protocol.keepAlive) return expectClosedAfter(client, first);
        const started = Date.now();
        t.drain();
        assert.ok(await client.waitForClose(3000));
        const elapsed = Date.now() - started;
        assert.ok(elapsed >= 500 && elapsed < 2500, `closed after ${elapsed} ms`);
      });
    });

    test('a request in progress is answered with Connection: close, then the connection closes', async () => {
      const t = await targets.get(LONG_KEEP_ALIVE);
      await withClient(t, async (client) => {
        client.write(request('GET', '/slow?ms=200'));
        await sleep(50);
        t.drain();
        const res = await client.readResponse();
        assert.equal(res.status, 200);
        assert.equal(header(res, 'connection'), 'close');
        assert.ok(await client.waitForClose());
      });
    });

    test('pipelined requests already received are all answered, then the connection closes (sync: the first)', async () => {
      const t = await targets.get(LONG_KEEP_ALIVE);
      await withClient(t, async (client) => {
        if (t.protocol.keepAlive) {
          // A first exchange makes sure that the worker has accepted the connection before the drain.
          client.write(request('GET', '/hello'));
          await client.readResponse();
        }
        // /hello's head is written (keep-alive) before the drain, while /slow is pending.
        client.write(request('GET', '/slow?ms=150') + request('GET', '/hello'));
        await sleep(50);
        t.drain();
        const first = await client.readResponse();
        assert.equal(first.body.toString(), 'slow:/slow?ms=150');
        if (!t.protocol.keepAlive) return expectClosedAfter(client, first);
        const second = await client.readResponse();
        assert.equal(header(first, 'connection'), 'keep-alive', 'not the last response');
        assert.equal(second.body.toString(), 'hello');
        assert.ok(await client.waitForClose(2500), 'closed after the grace');
      });
    });

    test('a request arriving after the last response of a draining connection is answered with close', async () => {
      const t = await targets.get(LONG_KEEP_ALIVE);
      await withClient(t, async (client) => {
        client.write(request('GET', '/stream?n=10'));
        // Drain once the head is out (it said keep-alive), while the body is still streaming.
        await client.waitForBytes(1);
        t.drain();
        const streamed = await client.readResponse();
        assert.equal(streamed.status, 200);
        if (!t.protocol.keepAlive) return expectClosedAfter(client, streamed);
        client.write(request('GET', '/hello'));
        const res = await client.readResponse();
        assert.equal(res.body.toString(), 'hello');
        assert.equal(header(res, 'connection'), 'close');
        assert.ok(await client.waitForClose());
      });
    });

    test('drain under load drops no request (clients reconnect when a connection closes)', async () => {
      const t = await targets.get(LONG_KEEP_ALIVE);
      let ok = 0;
      const failures: string[] = [];
      let stopAt = Infinity;
      const loop = async (): Promise<void> => {
        while (Date.now() < stopAt) {
          const client = await WireClient.connect(t.port);
          try {
            while (Date.now() < stopAt && !client.serverClosed) {
              client.write(request('GET', '/hello'));
              // A connection made during a CLI worker's drain waits for its replacement to boot.
              const res = await client.readResponse({ timeoutMs: 10_000 });
              if (res.status === 200) ok++;
              else failures.push(`HTTP ${res.status}`);
              if (header(res, 'connection') === 'close') break;
            }
          } catch (err) {
            failures.push((err as Error).message);
          } finally {
            client.destroy();
          }
        }
      };
      const loops = Array.from({ length: 8 }, loop);
      await sleep(30);
      t.drain();
      stopAt = Date.now() + 300;
      await Promise.all(loops);
      assert.deepEqual(failures, [], 'every request sent got a complete response');
      assert.ok(ok > 8, `${ok} requests answered`);
    });
  });

  describe('access log (Gunicorn access_log_format)', () => {
    test('every atom describes the request and its response', async () => {
      const auth = 'Basic ' + Buffer.from('alice:secret').toString('base64');
      const fields = ['User-Agent: wire/1', 'Referer: http://r.test/', `Authorization: ${auth}`, 'X-Log-Test: marker-1', 'Connection: close'];
      const r = await expectResponses(target, request('GET', '/echo?q=1', fields), [200]);
      const atoms = parseAccessLogLine(await target.waitForAccessLog(/\tmarker-1\t/));
      assert.equal(atoms.h, '127.0.0.1');
      assert.equal(atoms.l, '-');
      assert.equal(atoms.u, 'alice');
      assert.match(atoms.t, /^\[\d{2}\/[A-Z][a-z]{2}\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]$/);
      assert.equal(atoms.r, 'GET /echo?q=1 HTTP/1.1');
      assert.equal(atoms.s, '200');
      assert.equal(atoms.b, String(r.responses[0]!.body.length));
      assert.equal(atoms.f, 'http://r.test/');
      assert.equal(atoms.a, 'wire/1');
      assert.match(atoms.T, /^\d+$/);
      assert.match(atoms.D, /^\d+$/);
      assert.match(atoms.L, /^\d+\.\d{6}$/);
      assert.equal(atoms.p, `<${target.servingPid()}>`);
      assert.equal(atoms['{Content-Type}o'], 'application/json');
    });
  });
});
