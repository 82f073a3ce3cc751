/**
 * Request line, request-target forms and Host (RFC 9112 §2-§3).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_HEAD_BYTES } from '@gunicorn-ts/core';
import { describeEachTarget } from './harness/suite.js';
import type { Target } from './harness/target.js';
import { exchange, request } from './harness/wire.js';
import { assertAppNotCalled, expectRefused, expectResponses, json } from './harness/expect.js';

describeEachTarget('request line', (targets) => {
  let target: Target;
  before(async () => {
    target = await targets.get();
  });

  const close = 'Connection: close';

  describe('request line syntax (RFC 9112 §3)', () => {
    test('RFC 9112 §3: a well-formed request line reaches the app', async () => {
      const r = await expectResponses(target, request('GET', '/echo?a=1', [close]), [200]);
      const body = json(r.responses[0]!);
      assert.equal(body.method, 'GET');
      assert.equal(body.url, '/echo?a=1');
      assert.equal(body.httpVersion, '1.1');
    });

    for (const method of ['get', 'PROPFIND', 'M-SEARCH', "X!#$%&'*+.^_`|~1"]) {
      test(`RFC 9110 §9.1: method is a case-sensitive token, unknown ones reach the app (${method})`, async () => {
        const r = await expectResponses(target, request(method, '/echo', [close]), [200]);
        assert.equal(json(r.responses[0]!).method, method);
      });
    }

    const malformed: Array<[string, string]> = [
      ['non-token method', 'G(T /echo HTTP/1.1'],
      ['method with @', 'G@T /echo HTTP/1.1'],
      ['two spaces after method', 'GET  /echo HTTP/1.1'],
      ['two spaces before version', 'GET /echo  HTTP/1.1'],
      ['tab as separator', 'GET\t/echo HTTP/1.1'],
      ['leading space', ' GET /echo HTTP/1.1'],
      ['trailing space', 'GET /echo HTTP/1.1 '],
      ['NUL in target', 'GET /ec\x00ho HTTP/1.1'],
      ['bare CR in target', 'GET /ec\rho HTTP/1.1'],
      ['DEL in target', 'GET /ec\x7fho HTTP/1.1'],
      ['obs-text in target', 'GET /caf\xe9 HTTP/1.1'],
      ['space inside target', 'GET /a b HTTP/1.1'],
      ['lower-case protocol name', 'GET /echo http/1.1'],
      ['version without minor', 'GET /echo HTTP/1'],
      ['two-digit minor', 'GET /echo HTTP/1.10'],
      ['leading zero major', 'GET /echo HTTP/01.1'],
      ['no version (HTTP/0.9 style)', 'GET /echo'],
      ['garbage version', 'GET /echo FOO/1.1'],
      ['only a method', 'GET'],
    ];
    for (const [name, line] of malformed) {
      test(`RFC 9112 §3: malformed request line is refused with 400 (${name})`, async () => {
        await expectRefused(target, `${line}\r\nHost: example.test\r\n\r\n`, 400);
      });
    }

    test('RFC 9112 §2.2: a request line ended by a bare LF is refused', async () => {
      await expectRefused(target, 'GET /echo HTTP/1.1\nHost: example.test\r\n\r\n', 400);
    });

    test('RFC 9112 §2.2: a request line ended by a bare CR is refused', async () => {
      await expectRefused(target, 'GET /echo HTTP/1.1\rHost: example.test\r\n\r\n', 400);
    });

    test('RFC 9112 §2.2: binary garbage (a TLS ClientHello on a plain port) is refused at once', async () => {
      await expectRefused(target, Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]), 400);
    });

    // Issue 5: the version must be HTTP/1.0 or HTTP/1.1, others 505 (so HTTP/1.2 too, which
    // RFC 9110 §2.5 would let us serve as 1.1).
    for (const version of ['HTTP/2.0', 'HTTP/1.2', 'HTTP/1.9', 'HTTP/0.9', 'HTTP/3.0']) {
      test(`RFC 9110 §15.6.6: unsupported version ${version} gets 505 in an HTTP/1.1 status line`, async () => {
        const r = await expectRefused(target, `GET /echo ${version}\r\nHost: example.test\r\n\r\n`, 505);
        assert.ok(r.responses[0]!.rawHead.startsWith('HTTP/1.1 505 '));
      });
    }

    const refusedHeads: Array<[string, string, number]> = [
      ['no Host', 'HEAD /echo HTTP/1.1\r\n\r\n', 400],
      ['unsupported version', 'HEAD /echo HTTP/2.0\r\nHost: example.test\r\n\r\n', 505],
      ['bad target', 'HEAD /a\x7fb HTTP/1.1\r\nHost: example.test\r\n\r\n', 400],
      ['unknown expectation', 'HEAD /echo HTTP/1.1\r\nHost: example.test\r\nExpect: something\r\n\r\n', 417],
    ];
    for (const [name, bytes, status] of refusedHeads) {
      test(`RFC 9110 §9.3.2: our own ${status} to a HEAD (${name}) has no content`, async () => {
        const r = await exchange(target.port, bytes, { timeoutMs: 2000, methods: ['HEAD'] });
        assert.deepEqual(r.responses.map((res) => res.status), [status]);
        assert.ok(r.closed, 'the server closes after refusing');
        assert.equal(r.rest.length, 0, `no content after the head: ${JSON.stringify(r.rest.toString('latin1'))}`);
      });
    }

    test('RFC 9112 §2.2: empty lines before the request line are ignored', async () => {
      await expectResponses(target, '\r\n\r\n' + request('GET', '/hello', [close]), [200]);
    });

    test('RFC 9112 §2.2: a bare LF before the request line is refused', async () => {
      await expectRefused(target, '\n' + request('GET', '/hello', [close]), 400);
    });

    test('RFC 9112 §3: a refused request line does not reach the app', async () => {
      await assertAppNotCalled(target, () => exchange(target.port, 'GET  /echo HTTP/1.1\r\nHost: example.test\r\n\r\n'));
    });
  });

  describe('request line length (limit_request_line)', () => {
    const lineOf = (length: number): string => {
      const target = '/' + 'a'.repeat(length - 'GET  HTTP/1.1'.length - 1);
      const line = `GET ${target} HTTP/1.1`;
      assert.equal(line.length, length);
      return line;
    };

    test('RFC 9112 §3 / Gunicorn limit_request_line: a line of exactly 4094 bytes is accepted', async () => {
      await expectResponses(target, `${lineOf(4094)}\r\nHost: example.test\r\n${close}\r\n\r\n`, [404]);
    });

    test('RFC 9112 §3 / Gunicorn limit_request_line: 4095 bytes gets 414', async () => {
      await expectRefused(target, `${lineOf(4095)}\r\nHost: example.test\r\n\r\n`, 414);
    });

    test('RFC 9112 §3: an over-long line is refused before its end arrives', async () => {
      await expectRefused(target, `GET /${'a'.repeat(6000)}`, 414);
    });

    test('RFC 9112 §3: a line one byte over the limit is refused before its end arrives (the byte is not the CR)', async () => {
      await expectRefused(target, lineOf(4095), 414);
    });

    test('limit_request_line is configurable', async () => {
      const small = await targets.get({ limitRequestLine: 100 });
      await expectResponses(small, `${lineOf(100)}\r\nHost: example.test\r\n${close}\r\n\r\n`, [404]);
      await expectRefused(small, `${lineOf(101)}\r\nHost: example.test\r\n\r\n`, 414);
    });

    test('limit_request_line 0 means unlimited (a 20000-byte line is accepted)', async () => {
      const unlimited = await targets.get({ limitRequestLine: 0 });
      await expectResponses(unlimited, `${lineOf(20000)}\r\nHost: example.test\r\n${close}\r\n\r\n`, [404]);
    });

    test('limit_request_line 0: a line past the 1 MiB head bound gets 414 however its bytes arrive (it got 431 when its end came in the same read)', async () => {
      const unlimited = await targets.get({ limitRequestLine: 0 });
      await expectRefused(unlimited, `${lineOf(MAX_HEAD_BYTES - 1)}\r\nHost: example.test\r\n\r\n`, 414);
    });
  });

  describe('request-target forms (RFC 9112 §3.2)', () => {
    test('RFC 9112 §3.2.4: asterisk-form with OPTIONS reaches the app as "*"', async () => {
      const r = await expectResponses(target, request('OPTIONS', '*', [close]), [200]);
      assert.equal(r.responses[0]!.body.toString(), 'asterisk:OPTIONS');
    });

    test('RFC 9112 §3.2.4: asterisk-form with another method is refused', async () => {
      await expectRefused(target, request('GET', '*'), 400);
    });

    test('RFC 9112 §3.2.2: absolute-form: req.url becomes origin-form, Host comes from the URI', async () => {
      const r = await expectResponses(target, request('GET', 'http://other.test:8080/echo?x=1', [close]), [200]);
      const body = json(r.responses[0]!);
      assert.equal(body.url, '/echo?x=1');
      assert.equal((body.headers as Record<string, string>).host, 'other.test:8080');
    });

    test('RFC 9112 §3.2.2: absolute-form with an empty path is "/"', async () => {
      const r = await expectResponses(target, request('GET', 'HTTPS://other.test', [close]), [404]);
      assert.equal(r.responses[0]!.body.toString(), 'not found');
    });

    for (const [name, uri] of [
      ['userinfo', 'http://user@other.test/echo'],
      ['empty host', 'http:///echo'],
      ['non-http scheme', 'ftp://other.test/echo'],
      ['relative path', 'echo'],
      ['fragment in absolute-form', 'http://other.test/echo#x'],
      ['fragment in origin-form', '/echo#x'],
    ] as const) {
      test(`RFC 9110 §4.2: invalid request-target is refused (${name})`, async () => {
        await expectRefused(target, request('GET', uri), 400);
      });
    }

    test('RFC 9112 §3.2.3: authority-form is only for CONNECT', async () => {
      await expectRefused(target, request('GET', 'other.test:443'), 400);
    });

    test('RFC 9110 §9.3.6: CONNECT (authority-form) is not implemented: 501', async () => {
      await expectRefused(target, request('CONNECT', 'other.test:443'), 501);
    });

    test('RFC 9112 §3.2.3: CONNECT with an origin-form target is refused', async () => {
      await expectRefused(target, request('CONNECT', '/echo'), 400);
    });
  });

  describe('Host (RFC 9112 §3.2, RFC 9110 §7.2)', () => {
    test('RFC 9112 §3.2: HTTP/1.1 without Host gets 400', async () => {
      await expectRefused(target, request('GET', '/echo', [], '', { host: null }), 400);
    });

    test('RFC 9112 §3.2: two Host fields get 400', async () => {
      await expectRefused(target, request('GET', '/echo', ['Host: other.test']), 400);
    });

    test('RFC 9112 §3.2: two identical Host fields get 400', async () => {
      await expectRefused(target, request('GET', '/echo', ['Host: example.test']), 400);
    });

    for (const value of ['a b', 'a/b', 'user@host', 'host:80x', 'ho"st', '[::1', '[zz::1]', 'host:80:90']) {
      test(`RFC 9112 §3.2: syntactically invalid Host ${JSON.stringify(value)} gets 400`, async () => {
        await expectRefused(target, request('GET', '/echo', [], '', { host: value }), 400);
      });
    }

    for (const value of ['example.test:8080', '[::1]:8080', '127.0.0.1', '', 'xn--bcher-kva.example', 'a%41.test']) {
      test(`RFC 9110 §7.2: valid Host ${JSON.stringify(value)} is accepted`, async () => {
        await expectResponses(target, request('GET', '/hello', [close], '', { host: value }), [200]);
      });
    }

    test('RFC 9112 §3.2: HTTP/1.0 without Host is accepted', async () => {
      await expectResponses(target, 'GET /hello HTTP/1.0\r\n\r\n', [200]);
    });

    test('RFC 9112 §3.2: HTTP/1.0 with two Host fields gets 400', async () => {
      await expectRefused(target, 'GET /hello HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n', 400);
    });
  });
});
