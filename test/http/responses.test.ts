/**
 * What goes out: response framing is always complete and unambiguous whatever the app does,
 * standard headers are present, header injection is impossible, app failures are contained
 * (RFC 9112 §6, RFC 9110 §6.6, §15).
 */
import { before, describe, test } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import assert from 'node:assert/strict';
import { describeEachTarget } from './harness/suite.js';
import type { Target } from './harness/target.js';
import { exchange, header, request, withClient, WireClient } from './harness/wire.js';
import { appInvocations, assertStandardHeaders, expectPipelined, expectRefused, expectResponses, json } from './harness/expect.js';

describeEachTarget('responses', (targets) => {
  let target: Target;
  before(async () => {
    target = await targets.get();
  });

  const close = 'Connection: close';

  describe('bodiless responses (RFC 9112 §6.3, RFC 9110 §15)', () => {
    test('RFC 9110 §9.3.2: HEAD gets no body even if the app writes one; the next pipelined request is intact', async () => {
      const r = await expectPipelined(target, request('HEAD', '/hello') + request('GET', '/hello', [close]), [200, 200], ['HEAD', 'GET']);
      assert.equal(r.rest.length, 0, 'no stray body bytes after the HEAD response');
      if (target.protocol.keepAlive) assert.equal(r.responses[1]!.body.toString(), 'hello');
    });

    for (const status of [204, 304]) {
      test(`RFC 9110 §15: ${status} carries no body even if the app writes one; pipelining continues`, async () => {
        const r = await expectPipelined(target, request('GET', `/status?code=${status}`) + request('GET', '/hello', [close]), [status, 200]);
        assert.equal(r.responses[0]!.body.length, 0);
        if (target.protocol.keepAlive) assert.equal(r.responses[1]!.body.toString(), 'hello');
        assert.equal(r.rest.length, 0);
      });
    }

    test('RFC 9112 §6.2: 204 has neither Content-Length nor Transfer-Encoding even if the app sets them', async () => {
      const r = await expectPipelined(target, request('GET', '/status-with-length?code=204') + request('GET', '/hello', [close]), [204, 200]);
      assert.equal(header(r.responses[0]!, 'content-length'), undefined);
      assert.equal(header(r.responses[0]!, 'transfer-encoding'), undefined);
    });

    test('RFC 9110 §15.3.6: 205 is sent with Content-Length: 0 and no content', async () => {
      const r = await expectPipelined(target, request('GET', '/status?code=205') + request('GET', '/hello', [close]), [205, 200]);
      assert.equal(header(r.responses[0]!, 'content-length'), '0');
      assert.equal(r.responses[0]!.body.length, 0);
      if (target.protocol.keepAlive) assert.equal(r.responses[1]!.body.toString(), 'hello');
    });

    for (const [kind, status] of [['hints', 103], ['continue', 100], ['processing', 102]] as const) {
      test(`RFC 9110 §15.2: the app's interim ${status} reaches an HTTP/1.1 client before the final response`, async () => {
        const r = await exchange(target.port, request('GET', `/interim?kind=${kind}`, [close]), { timeoutMs: 2000 });
        assert.deepEqual(r.responses.map((res) => res.status), [status, 200]);
        assert.equal(r.responses[1]!.body.toString(), `after-${kind}`);
      });

      test(`RFC 9110 §15.2: no interim ${status} is sent to an HTTP/1.0 client, only the final response`, async () => {
        const r = await exchange(target.port, request('GET', `/interim?kind=${kind}`, [], '', { version: 'HTTP/1.0' }), { timeoutMs: 2000 });
        assert.deepEqual(r.responses.map((res) => res.status), [200]);
        assert.equal(r.responses[0]!.body.toString(), `after-${kind}`);
        assert.equal(r.rest.length, 0);
      });
    }

    test('RFC 9110 §15.2: a 1xx used as the final response has no body, and the connection closes', async () => {
      const client = await WireClient.connect(target.port);
      try {
        client.write(request('GET', '/early-hint-final') + request('GET', '/hello'));
        const res = await client.readResponse();
        assert.equal(res.status, 103);
        assert.equal(header(res, 'content-length'), undefined);
        assert.ok(await client.waitForClose(), 'closed: no final response will follow');
        assert.equal(client.pending.length, 0);
      } finally {
        client.destroy();
      }
    });
  });

  describe('framing the app cannot break (RFC 9112 §6)', () => {
    test('RFC 9112 §6.3: never both Content-Length and Transfer-Encoding (app sets both)', async () => {
      const r = await expectPipelined(target, request('GET', '/both-lengths') + request('GET', '/hello', [close]), [200, 200]);
      assert.equal(r.responses[0]!.body.toString(), 'hello');
      if (target.protocol.keepAlive) assert.equal(r.responses[1]!.body.toString(), 'hello');
    });

    test('RFC 9112 §6.3: Transfer-Encoding wins over a Content-Length the app also set, for an HTTP/1.0 client too (the whole body, delimited by the close)', async () => {
      await withClient(target, async (client) => {
        client.write('GET /both-lengths-streamed HTTP/1.0\r\nHost: x\r\n\r\n');
        assert.ok(await client.waitForClose());
        const whole = client.pending.toString('latin1');
        assert.match(whole, /^HTTP\/1\.1 200 /);
        assert.doesNotMatch(whole, /content-length|transfer-encoding/i);
        assert.ok(whole.endsWith('\r\n\r\nabcdef'), `the whole body: ${JSON.stringify(whole)}`);
      });
      const chunked = await exchange(target.port, request('GET', '/both-lengths-streamed', [close]));
      assert.equal(chunked.responses[0]?.body.toString(), 'abcdef');
    });

    test('RFC 9112 §6.3: a body shorter than its Content-Length makes the server close the connection', async () => {
      const client = await WireClient.connect(target.port);
      try {
        client.write(request('GET', '/cl-short') + request('GET', '/hello'));
        await client.waitForClose();
        const raw = client.pending.toString('latin1');
        assert.match(raw, /^HTTP\/1\.1 200 OK\r\n/);
        assert.match(raw, /\r\nContent-Length: 10\r\n/);
        assert.ok(raw.endsWith('\r\n\r\n12345'), 'only the 5 bytes the app wrote, then close');
        assert.equal(raw.match(/HTTP\/1\.1/g)?.length, 1, 'the pipelined request is not answered on a broken connection');
      } finally {
        client.destroy();
      }
      await target.waitForAppError(/HttpResponseError: Response body \(5 bytes\) is shorter than its Content-Length \(10\)/);
    });

    test('RFC 9112 §6.3: a body longer than its Content-Length is cut at the length, then the connection closes', async () => {
      const client = await WireClient.connect(target.port);
      try {
        client.write(request('GET', '/cl-long') + request('GET', '/hello'));
        const res = await client.readResponse();
        assert.equal(res.body.toString(), '12345');
        assert.ok(await client.waitForClose());
        assert.equal(client.pending.length, 0, 'no excess bytes that a client would read as the next response');
      } finally {
        client.destroy();
      }
    });

    test('RFC 9112 §7: a stream of unknown length is chunked for HTTP/1.1', async () => {
      const r = await expectResponses(target, request('GET', '/stream?n=3', [close]), [200]);
      assert.equal(r.responses[0]!.framing, 'chunked');
      assert.equal(r.responses[0]!.body.toString(), 'part0;part1;part2;');
    });

    test('RFC 9112 §6.1: an HTTP/1.0 client never gets chunked; unknown length means close-delimited', async () => {
      const r = await exchange(target.port, 'GET /stream?n=3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', { timeoutMs: 2000 });
      assert.equal(r.responses.length, 1);
      const res = r.responses[0]!;
      assert.equal(header(res, 'transfer-encoding'), undefined);
      assert.equal(res.framing, 'close');
      assert.equal(header(res, 'connection'), 'close');
      assert.equal(res.body.toString(), 'part0;part1;part2;');
      assert.ok(r.closed);
    });

    test('RFC 9112 §6.2: a large body arrives complete (response backpressure)', async () => {
      const r = await expectResponses(target, request('GET', '/big?size=3000000', [close]), [200]);
      assert.equal(r.responses[0]!.body.length, 3_000_000);
    });
  });

  describe('standard headers (RFC 9110 §6.6)', () => {
    test('RFC 9110 §6.6.1: Date on app responses, even when the app sets sendDate = false', async () => {
      const r = await expectResponses(target, request('GET', '/no-date', [close]), [200]);
      assertStandardHeaders(r.responses[0]!);
    });

    test('RFC 9110 §6.6.1: Date and Server on our own error responses', async () => {
      const r = await expectRefused(target, 'GET / HTTP/1.1\r\n\r\n', 400);
      assert.equal(header(r.responses[0]!, 'server'), target.protocol.serverHeader);
    });

    test('RFC 9110 §10.2.4: Server is ours unless the app sets its own', async () => {
      const ours = await expectResponses(target, request('GET', '/hello', [close]), [200]);
      assert.equal(header(ours.responses[0]!, 'server'), target.protocol.serverHeader);
      const apps = await expectResponses(target, request('GET', '/server-header', [close]), [200]);
      assert.deepEqual(apps.responses[0]!.headers.get('server'), ['custom-server']);
    });

    test('RFC 9112 §2.3: the status line says HTTP/1.1 to an HTTP/1.0 client too', async () => {
      const r = await exchange(target.port, 'GET /hello HTTP/1.0\r\n\r\n', { timeoutMs: 2000 });
      assert.ok(r.responses[0]!.rawHead.startsWith('HTTP/1.1 200 OK\r\n'));
    });
  });

  describe('header injection is impossible (RFC 9110 §5.5)', () => {
    test('RFC 9110 §5.5: CR/LF/NUL in names, values or the reason phrase throw a catchable error, nothing is written', async () => {
      const r = await expectResponses(target, request('GET', '/inject', [close]), [200]);
      const res = r.responses[0]!;
      const attempts = json(res);
      for (const [name, code] of Object.entries(attempts)) {
        assert.notEqual(code, 'no-error', `${name} must throw`);
        assert.notEqual(code, 'error-without-code', `${name} must throw an error with a code`);
      }
      assert.ok(!/injected/i.test(res.rawHead), 'no injected header line');
    });
  });

  describe("socket timeouts the app arms (Node's req.setTimeout / res.setTimeout)", () => {
    test("res.setTimeout's callback runs; the next request on the connection is not timed out", async () => {
      const t0 = performance.now();
      // Not expectResponses: its 600 ms wait is about what the two responses take (200 + 400 ms).
      const r = await exchange(target.port, request('GET', '/res-timeout') + request('GET', '/slow?ms=400', [close]), { timeoutMs: 2400 });
      assert.deepEqual(r.responses.map((res) => res.status), target.protocol.keepAlive ? [200, 200] : [200]);
      assert.equal(r.responses[0]!.body.toString(), 'res timed out');
      assert.ok(performance.now() - t0 < 2500, 'answered by the timeout, not after the app\'s 3 s');
      if (target.protocol.keepAlive) assert.equal(r.responses[1]!.body.toString(), 'slow:/slow?ms=400', 'a request slower than the first one\'s timeout is served');
    });

    test("req.setTimeout's callback runs while the body is still arriving", async () => {
      await withClient(target, async (client) => {
        client.write('POST /req-timeout HTTP/1.1\r\nHost: example.test\r\nContent-Length: 10\r\n\r\nab');
        const res = await client.readResponse();
        assert.equal(res.status, 408);
        assert.equal(res.body.toString(), 'req timed out');
      });
    });

    test('a socket timeout nobody listens for ends the connection', async () => {
      await withClient(target, async (client) => {
        client.write(request('GET', '/unheard-timeout'));
        assert.ok(await client.waitForClose(2500), 'closed at the timeout, not after the app\'s 3 s');
        assert.equal(client.pending.length, 0);
      });
    });
  });

  describe('application failures', () => {
    test('an app that throws before responding gets a 500 with a short body; the error is reported', async () => {
      const r = await expectResponses(target, request('GET', '/throw'), [500]);
      assert.ok(r.responses[0]!.body.length < 100);
      assert.equal(header(r.responses[0]!, 'connection'), 'close');
      assert.ok(r.closed);
      await target.waitForAppError(/Error: test app: synchronous failure\n\s+at /);
    });

    test('an app that throws after writeHead() but before any byte went out still gets a 500, also behind a pipelined response; after flushHeaders() the response is cut', async () => {
      const r = await expectResponses(target, request('GET', '/throw-after-writehead'), [500]);
      assert.equal(header(r.responses[0]!, 'connection'), 'close');
      assert.ok(r.closed);
      await target.waitForAppError(/failure after writeHead/);
      if (target.protocol.keepAlive) {
        const piped = await expectPipelined(target, request('GET', '/slow?ms=100') + request('GET', '/throw-after-flush'), [200, 500]);
        assert.equal(piped.responses[0]!.body.toString(), 'slow:/slow?ms=100');
      }
      await withClient(target, async (client) => {
        client.write(request('GET', '/throw-after-flush'));
        assert.ok(await client.waitForClose());
        const raw = client.pending.toString('latin1');
        assert.match(raw, /^HTTP\/1\.1 201 /, 'the head that went out is not followed by another');
        assert.ok(raw.endsWith('\r\n\r\n'), `cut after the head: ${JSON.stringify(raw)}`);
      });
    });

    test('a listener that writes its head and part of its body, then throws in the same turn, gets a 500: none of it had left the server; a pipelined response before it stands', async () => {
      const r = await expectResponses(target, request('GET', '/throw-sync-after-write'), [500]);
      assert.equal(header(r.responses[0]!, 'connection'), 'close');
      assert.ok(r.closed);
      assert.equal(r.rest.length, 0, 'nothing of the broken response went out');
      await target.waitForAppError(/synchronous throw after write/);
      if (target.protocol.keepAlive) {
        const piped = await expectPipelined(target, request('GET', '/hello') + request('GET', '/throw-sync-after-write'), [200, 500]);
        assert.equal(piped.responses[0]!.body.toString(), 'hello');
      }
    });

    test('a pipelined app that fails in the turn it wrote, while the response before it was still being written (its end() left an empty write held), gets a clean 500: none of its head goes out', async () => {
      if (!target.protocol.keepAlive) return;
      const bytes = 8 * 1024 * 1024;
      await withClient(target, async (client) => {
        client.socket.pause();
        client.write(request('GET', `/big-body?bytes=${bytes}`));
        await delay(300);
        client.write(request('GET', '/fail-late-after-write'));
        await delay(100);
        client.socket.resume();
        const first = await client.readResponse({ timeoutMs: 10_000 });
        assert.equal(first.status, 200);
        assert.equal(first.body.length, bytes);
        const second = await client.readResponse({ timeoutMs: 5000 });
        assert.equal(second.status, 500, `not the head the app composed: ${second.rawHead}`);
        assert.ok(await client.waitForClose());
      });
    });

    test('RFC 9112 §9.6: a request pipelined after one whose listener threw (answered 500, Connection: close) never reaches the app', async () => {
      const before = await appInvocations(target);
      await expectResponses(target, request('GET', '/throw-sync') + request('POST', '/echo', ['Content-Length: 0']), [500]);
      const after = await appInvocations(target);
      assert.equal(after - before, 2, 'only /throw-sync and the /count probe reached the app, not the POST after the 500');
    });

    test("RFC 9112 §9.6: a request pipelined after a response whose app said Connection: close never reaches the app", async () => {
      const before = await appInvocations(target);
      const r = await expectResponses(target, request('GET', '/app-close') + request('POST', '/echo', ['Content-Length: 0']), [200]);
      assert.equal(header(r.responses[0]!, 'connection'), 'close');
      const after = await appInvocations(target);
      assert.equal(after - before, 2, 'only /app-close and the /count probe reached the app, not the POST after it');
    });

    test('an app whose promise rejects before responding gets a 500', async () => {
      await expectResponses(target, request('GET', '/reject'), [500]);
      await target.waitForAppError(/Error: test app: asynchronous failure\n\s+at /);
    });

    test('the server keeps serving after app failures', async () => {
      await expectResponses(target, request('GET', '/throw') + request('GET', '/hello'), [500]);
      await expectResponses(target, request('GET', '/hello', [close]), [200]);
    });

    test('RFC 9112 §9.3.2: a pipelined request whose app fails after writing part of its response does not cost the responses before it, and gets a 500 as none of it went out', async () => {
      await withClient(target, async (client) => {
        client.write(request('GET', '/slow?ms=200') + request('GET', '/throw-after-headers'));
        const first = await client.readResponse();
        assert.equal(first.status, 200);
        assert.equal(first.body.toString(), 'slow:/slow?ms=200');
        if (!target.protocol.keepAlive) return;
        const second = await client.readResponse();
        assert.equal(second.status, 500);
        assert.ok(await client.waitForClose());
        assert.equal(client.pending.length, 0, 'nothing of the broken response went out');
      });
    });

    test('an app that fails after part of its response went out: the response is left incomplete, then EOF', async () => {
      await withClient(target, async (client) => {
        client.write(request('GET', '/throw-after-headers'));
        assert.ok(await client.waitForClose());
        const raw = client.pending.toString('latin1');
        assert.match(raw, /^HTTP\/1\.1 200 /);
        assert.ok(raw.endsWith('\r\n\r\npartial'), `cut inside the body: ${JSON.stringify(raw)}`);
      });
    });

    test('a write after end is logged as an app error of that request only: the response stands and the server serves on', async () => {
      const pid = target.servingPid();
      const r = await expectPipelined(target, request('GET', '/write-after-end') + request('GET', '/hello', ['Connection: close']), [200, 200]);
      assert.equal(r.responses[0]!.body.toString(), 'ended');
      if (target.protocol.keepAlive) assert.equal(r.responses[1]!.body.toString(), 'hello');
      await target.waitForAppError(/ERR_STREAM_WRITE_AFTER_END/);
      const again = await exchange(target.port, request('GET', '/hello', ['Connection: close']));
      assert.equal(again.responses[0]?.status, 200);
      assert.equal(target.servingPid(), pid, 'the same worker serves: the error did not end it');
    });

    test('RFC 9110 §15.2.2/§7.8: a 101 from the app is not sent, as the server does not switch protocols; the app gets a 500', async () => {
      const r = await exchange(target.port, request('GET', '/status-101', ['Connection: Upgrade, close', 'Upgrade: foo']));
      assert.equal(r.responses[0]?.status, 500);
      await target.waitForAppError(/101 \(Switching Protocols\) cannot be sent/);
    });

    test('a head that cannot be sent (101, a status above 599, a bad Content-Length) written from a timer is a 500 for that request only: the worker serves on', async () => {
      const pid = target.servingPid();
      for (const kind of ['101', '600', 'length']) {
        const r = await exchange(target.port, request('GET', `/unsendable-later?kind=${kind}`));
        assert.equal(r.responses[0]?.status, 500, kind);
        assert.equal(r.responses[0]?.body.length, 0, 'what the app wrote after it goes nowhere');
        assert.equal(header(r.responses[0]!, 'connection'), 'close');
      }
      await target.waitForAppError(/Invalid Content-Length for the response: "ten"/);
      assert.equal((await exchange(target.port, request('GET', '/hello', [close]))).responses[0]?.status, 200);
      assert.equal(target.servingPid(), pid, 'the same worker serves: nothing was thrown where nobody could catch it');
    });

    test("RFC 9110 §7.6.1: when the server closes, the app's own connection options stay with the close", async () => {
      const r = await exchange(target.port, request('GET', '/connection-option', [close]));
      assert.equal(r.responses[0]?.status, 200);
      assert.equal(header(r.responses[0]!, 'connection'), 'X-Hop, close');
    });

    test('a fetch handler whose body stream yields something other than bytes gets a 500, also when it is not the first chunk (none of the body had gone out)', async () => {
      for (const path of ['/fetch/bad-second-chunk', '/fetch/string-chunk']) {
        const r = await exchange(target.port, request('GET', path, [close]));
        assert.equal(r.responses[0]?.status, 500, path);
        assert.equal(r.rest.length, 0, `nothing of the broken response went out (${path})`);
        await target.waitForAppError(/Response body stream gave a chunk that is not a Uint8Array \((ArrayBuffer|string)\)/);
      }
    });

    test('RFC 9110 §15: a status code above 599 is not sent; the app gets a 500', async () => {
      const r = await exchange(target.port, request('GET', '/status-600', ['Connection: close']));
      assert.equal(r.responses[0]?.status, 500);
    });

    test('an app that fails after sending headers: the connection is closed, the response left incomplete', async () => {
      const client = await WireClient.connect(target.port);
      try {
        client.write(request('GET', '/throw-after-headers'));
        assert.ok(await client.waitForClose());
        const raw = client.pending.toString('latin1');
        assert.match(raw, /Content-Length: 100\r\n/);
        assert.ok(raw.endsWith('\r\n\r\npartial'), 'the client sees fewer bytes than announced, then EOF');
      } finally {
        client.destroy();
      }
    });
  });

  describe('Express-style prototype swapping', () => {
    test('protocol behaviour survives setPrototypeOf(req/res) (Express does it): length cut at CL, then close', async () => {
      const client = await WireClient.connect(target.port);
      try {
        client.write(request('GET', '/swapped/cl-long'));
        const res = await client.readResponse();
        assert.equal(res.body.toString(), '12345');
        assert.ok(await client.waitForClose());
      } finally {
        client.destroy();
      }
    });

    test('request bodies are still delivered after setPrototypeOf(req)', async () => {
      const body = 'x'.repeat(200_000);
      const r = await expectResponses(target, request('POST', '/swapped/echo', [`Content-Length: ${body.length}`, close], body), [200]);
      assert.equal(json(r.responses[0]!).bodyLength, 200_000);
    });
  });
});
