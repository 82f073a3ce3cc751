/**
 * Message body framing: Content-Length, Transfer-Encoding and the chunked coding
 * (RFC 9112 §6, §7; RFC 9110 §8.6).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachTarget } from './harness/suite.js';
import type { Target } from './harness/target.js';
import { request, withClient, WireClient, type ParsedResponse } from './harness/wire.js';
import { appInvocations, expectPipelined, expectRefused, expectResponses, json } from './harness/expect.js';

describeEachTarget('framing', (targets) => {
  let target: Target;
  before(async () => {
    target = await targets.get();
  });

  const close = 'Connection: close';
  const chunked = 'Transfer-Encoding: chunked';

  async function echoBody(fields: string[], body: string): Promise<Record<string, unknown>> {
    const r = await expectResponses(target, request('POST', '/echo', [...fields, close], body), [200]);
    return json(r.responses[0]!);
  }

  describe('Content-Length (RFC 9112 §6.2, §6.3)', () => {
    test('RFC 9112 §6.2: the body is exactly Content-Length bytes', async () => {
      const body = await echoBody(['Content-Length: 5'], 'hello');
      assert.equal(body.body, 'hello');
    });

    test('RFC 9112 §6.2: Content-Length: 0 is an empty body', async () => {
      const body = await echoBody(['Content-Length: 0'], '');
      assert.equal(body.bodyLength, 0);
    });

    test('RFC 9110 §8.6: leading zeros are digits (005 = 5)', async () => {
      const body = await echoBody(['Content-Length: 005'], 'hello');
      assert.equal(body.body, 'hello');
    });

    test('RFC 9110 §8.6: leading zeros do not count against the length bound (17 digits = 5)', async () => {
      const body = await echoBody(['Content-Length: 00000000000000005'], 'hello');
      assert.equal(body.body, 'hello');
    });

    test('RFC 9110 §5.5: OWS after the Content-Length value is not part of it', async () => {
      const body = await echoBody(['Content-Length: 5 \t'], 'hello');
      assert.equal(body.body, 'hello');
    });

    test('RFC 9112 §6.3: bytes after Content-Length are the next request', async () => {
      const bytes = request('POST', '/echo', ['Content-Length: 5'], 'hello') + request('GET', '/hello', [close]);
      const r = await expectPipelined(target, bytes, [200, 200]);
      assert.equal(json(r.responses[0]!).body, 'hello');
      if (target.protocol.keepAlive) assert.equal(r.responses[1]!.body.toString(), 'hello');
    });

    test('RFC 9112 §6.3: a GET body framed by Content-Length is read as a body, not a request', async () => {
      const inner = request('GET', '/count', [close]);
      const bytes = request('GET', '/echo', [`Content-Length: ${inner.length}`, close], inner);
      const r = await expectResponses(target, bytes, [200]);
      assert.equal(json(r.responses[0]!).body, inner);
    });

    for (const value of ['+5', '-1', '1_0', '0x5', '5.0', '1e3', 'five', '5 5', '5,5', '5, 5', '', '99999999999999999999', '9007199254740992', '0009007199254740992']) {
      test(`RFC 9112 §6.3: invalid Content-Length ${JSON.stringify(value)} is refused with 400`, async () => {
        await expectRefused(target, request('POST', '/echo', [`Content-Length: ${value}`], 'hello'), 400);
      });
    }

    test('RFC 9110 §8.6: differing duplicate Content-Length fields are refused', async () => {
      await expectRefused(target, request('POST', '/echo', ['Content-Length: 5', 'Content-Length: 6'], 'hello!'), 400);
    });

    test('RFC 9110 §8.6 (policy): identical duplicate Content-Length fields are refused too', async () => {
      await expectRefused(target, request('POST', '/echo', ['Content-Length: 5', 'Content-Length: 5'], 'hello'), 400);
    });
  });

  describe('Transfer-Encoding (RFC 9112 §6.1)', () => {
    for (const value of ['chunked', 'CHUNKED', 'Chunked', ' chunked ', '\tchunked', ', chunked', 'chunked,']) {
      test(`RFC 9112 §6.1: Transfer-Encoding ${JSON.stringify(value)} is chunked (case-insensitive, OWS, empty list elements)`, async () => {
        const body = await echoBody([`Transfer-Encoding:${value}`], '5\r\nhello\r\n0\r\n\r\n');
        assert.equal(body.body, 'hello');
      });
    }

    for (const value of ['gzip', 'identity', 'chunked, identity', 'chunked, gzip', 'xchunked', 'chunkedx', 'chunked;', '"chunked"', 'chunked chunked', 'x', '']) {
      test(`RFC 9112 §6.3: Transfer-Encoding ${JSON.stringify(value)} (final coding not chunked) is refused with 400`, async () => {
        await expectRefused(target, request('POST', '/echo', [`Transfer-Encoding: ${value}`], '5\r\nhello\r\n0\r\n\r\n'), 400);
      });
    }

    test('RFC 9112 §6.1: chunked applied twice is refused with 400', async () => {
      await expectRefused(target, request('POST', '/echo', ['Transfer-Encoding: chunked, chunked'], '0\r\n\r\n'), 400);
    });

    test('RFC 9112 §6.1: chunked in two Transfer-Encoding fields is refused with 400', async () => {
      await expectRefused(target, request('POST', '/echo', [chunked, chunked], '0\r\n\r\n'), 400);
    });

    test('RFC 9112 §6.1: chunked with parameters is refused with 400', async () => {
      await expectRefused(target, request('POST', '/echo', ['Transfer-Encoding: chunked;q=1'], '0\r\n\r\n'), 400);
    });

    for (const value of ['gzip, chunked', 'deflate, chunked', 'x-custom, chunked', 'gzip;q=1, chunked']) {
      test(`RFC 9112 §6.1: unsupported transfer coding ${JSON.stringify(value)} gets 501`, async () => {
        await expectRefused(target, request('POST', '/echo', [`Transfer-Encoding: ${value}`], '0\r\n\r\n'), 501);
      });
    }

    test('RFC 9112 §6.1: a coding split over two Transfer-Encoding fields counts as one list (gzip + chunked → 501)', async () => {
      await expectRefused(target, request('POST', '/echo', ['Transfer-Encoding: gzip', chunked], '0\r\n\r\n'), 501);
    });

    test('RFC 9112 §6.3: Transfer-Encoding with Content-Length is refused', async () => {
      await expectRefused(target, request('POST', '/echo', [chunked, 'Content-Length: 5'], '0\r\n\r\n'), 400);
    });

    test('RFC 9112 §6.1: Transfer-Encoding in an HTTP/1.0 request is refused and the connection closed', async () => {
      await expectRefused(target, 'POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400);
    });
  });

  describe('chunked coding (RFC 9112 §7.1)', () => {
    const valid: Array<[string, string, string]> = [
      ['several chunks', '5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', 'hello world'],
      ['upper-case hex', 'A\r\n0123456789\r\n0\r\n\r\n', '0123456789'],
      ['lower-case hex', 'a\r\n0123456789\r\n0\r\n\r\n', '0123456789'],
      ['leading zeros', '0005\r\nhello\r\n000\r\n\r\n', 'hello'],
      ['extension without value', '5;ext\r\nhello\r\n0\r\n\r\n', 'hello'],
      ['extension with token value', '5;name=value\r\nhello\r\n0;last=1\r\n\r\n', 'hello'],
      ['extension with quoted value', '5;name="a \\"quoted\\" value;"\r\nhello\r\n0\r\n\r\n', 'hello'],
      ['several extensions', '5;a=1;b;c="x"\r\nhello\r\n0\r\n\r\n', 'hello'],
      ['BWS around ; and = (RFC 9112 §7.1.1)', '5 ; a = 1\r\nhello\r\n0\r\n\r\n', 'hello'],
      ['empty body', '0\r\n\r\n', ''],
    ];
    for (const [name, encoded, decoded] of valid) {
      test(`RFC 9112 §7.1: valid chunked body is decoded (${name})`, async () => {
        const body = await echoBody([chunked], encoded);
        assert.equal(body.body, decoded);
      });
    }

    test('a malformed chunked body the app was reading gets 400, and the request is aborted for the app, whose reader would otherwise wait forever', async () => {
      for (const bad of ['5\r\nhelloXX', 'zz\r\n', '0\r\nX : y\r\n\r\n']) {
        const before = await appInvocations(target);
        await withClient(target, async (client) => {
          client.write(request('POST', '/read-until-aborted', [chunked], bad));
          const res = await client.readResponse();
          assert.equal(res.status, 400, JSON.stringify(bad));
          assert.ok(await client.waitForClose());
        });
        // The route, its abort (when our answer is decided, not whenever the socket goes), and the /count probe itself.
        assert.equal((await appInvocations(target)) - before, 3, `the request of ${JSON.stringify(bad)} aborted`);
      }
    });

    test('RFC 9112 §7.1.2: trailer fields are exposed as req.trailers, not merged into headers', async () => {
      const body = await echoBody([chunked], '5\r\nhello\r\n0\r\nX-Checksum: abc\r\nX-Other:  two \r\n\r\n');
      assert.equal(body.body, 'hello');
      assert.deepEqual(body.trailers, { 'x-checksum': 'abc', 'x-other': 'two' });
      assert.deepEqual(body.rawTrailers, ['X-Checksum', 'abc', 'X-Other', 'two']);
      assert.equal((body.headers as Record<string, string>)['x-checksum'], undefined);
    });

    test('RFC 9112 §7.1: a chunked body delivered one byte per TCP write is decoded', async () => {
      const client = await WireClient.connect(target.port);
      try {
        const bytes = request('POST', '/echo', [chunked, close], '3;x=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nX-T: 1\r\n\r\n');
        for (const ch of bytes) {
          client.write(ch);
          await new Promise((r) => setImmediate(r));
        }
        const res = await client.readResponse();
        const body = json(res);
        assert.equal(body.body, 'abc0123456789abcdef');
        assert.deepEqual(body.trailers, { 'x-t': '1' });
      } finally {
        client.destroy();
      }
    });

    test('RFC 9112 §7.1: a pipelined request after a chunked body is read', async () => {
      const bytes = request('POST', '/echo', [chunked], '5\r\nhello\r\n0\r\n\r\n') + request('GET', '/hello', [close]);
      const r = await expectPipelined(target, bytes, [200, 200]);
      if (target.protocol.keepAlive) assert.equal(r.responses[1]!.body.toString(), 'hello');
      assert.equal(json(r.responses[0]!).body, 'hello');
    });

    const invalid: Array<[string, string]> = [
      ['0x prefix', '0x5\r\nhello\r\n0\r\n\r\n'],
      ['plus sign', '+5\r\nhello\r\n0\r\n\r\n'],
      ['minus sign', '-5\r\nhello\r\n0\r\n\r\n'],
      ['leading space', ' 5\r\nhello\r\n0\r\n\r\n'],
      ['trailing space without extension', '5 \r\nhello\r\n0\r\n\r\n'],
      ['trailing tab without extension', '5\t\r\nhello\r\n0\r\n\r\n'],
      ['non-hex digit', '5g\r\nhello\r\n0\r\n\r\n'],
      ['empty size line', '\r\nhello\r\n0\r\n\r\n'],
      ['size overflow', 'ffffffffffffffffffff\r\nhello\r\n0\r\n\r\n'],
      ['empty extension name', '5;\r\nhello\r\n0\r\n\r\n'],
      ['extension without name', '5;=x\r\nhello\r\n0\r\n\r\n'],
      ['extension with empty value', '5;a=\r\nhello\r\n0\r\n\r\n'],
      ['unterminated quoted extension', '5;a="x\r\nhello\r\n0\r\n\r\n'],
      ['space inside extension value', '5;a=b c\r\nhello\r\n0\r\n\r\n'],
      ['whitespace after extension name', '5;a \r\nhello\r\n0\r\n\r\n'],
      ['NUL in extension', '5;a\x00\r\nhello\r\n0\r\n\r\n'],
      ['bare LF after size', '5\nhello\r\n0\r\n\r\n'],
      ['bare LF after extension', '5;a=b\nhello\r\n0\r\n\r\n'],
      ['bare CR after size', '5\rhello\r\n0\r\n\r\n'],
      ['data longer than size', '5\r\nhello!\r\n0\r\n\r\n'],
      ['data not followed by CRLF', '5\r\nhelloXX0\r\n\r\n'],
      ['bare LF after data', '5\r\nhello\n0\r\n\r\n'],
      ['bare CR after data', '5\r\nhello\r0\r\n\r\n'],
      ['bare LF ending the last chunk line', '0\n\r\n'],
      ['bare LF ending the body', '0\r\n\n'],
      ['invalid trailer (space before colon)', '0\r\nX-T : 1\r\n\r\n'],
      ['invalid trailer (obs-fold)', '0\r\nX-T: 1\r\n 2\r\n\r\n'],
      ['invalid trailer (no colon)', '0\r\nnot a field\r\n\r\n'],
      ['invalid trailer (NUL in value)', '0\r\nX-T: a\x00b\r\n\r\n'],
    ];
    for (const [name, encoded] of invalid) {
      test(`RFC 9112 §7.1: malformed chunked body is refused with 400 (${name})`, async () => {
        await expectRefused(target, request('POST', '/echo', [chunked], encoded), 400);
      });
    }

    test('RFC 9112 §7.1: a last chunk without the final CRLF makes the next request line a trailer (400)', async () => {
      await expectRefused(target, request('POST', '/echo', [chunked], '0\r\n') + request('GET', '/hello'), 400);
    });

    test('RFC 9112 §7.1: a chunk-size line longer than 4 KiB is refused', async () => {
      await expectRefused(target, request('POST', '/echo', [chunked], `5;a=${'x'.repeat(5000)}\r\nhello\r\n0\r\n\r\n`), 400);
    });

    test('RFC 9112 §7.1.2: trailer fields are limited like header fields (101 trailers → 431)', async () => {
      const trailers = Array.from({ length: 101 }, (_, i) => `X-T${i}: v\r\n`).join('');
      await expectRefused(target, request('POST', '/echo', [chunked], `0\r\n${trailers}\r\n`), 431);
    });

    test('RFC 9112 §7.1: a bad chunk after good ones is refused even though the app is already reading', async () => {
      const r = await expectRefused(target, request('POST', '/echo', [chunked], '5\r\nhello\r\nzz\r\n'), 400);
      // The same text as the answers to a bad head: status line words, then the detail.
      assert.match(r.responses[0]!.body.toString(), /^400 Bad Request\n[^\n]*chunk size[^\n]*\n$/i);
    });

    test('RFC 9112 §7.1: an app that answers later, after its malformed body was answered 400, harms nothing', async () => {
      const pid = target.servingPid();
      // The app sets headers from a timer 200 ms on; the 400 went out through a response of the
      // server's own. Before, that response was the app's, and its setHeader threw
      // ERR_HTTP_HEADERS_SENT, uncaught: the worker died, with every connection it held.
      await expectRefused(target, request('POST', '/answer-later?ms=200', [chunked], '3\r\nabcXX'), 400);
      let bystander: ParsedResponse | undefined;
      await withClient(target, async (client) => {
        client.write(request('GET', '/slow?ms=600', [close]));
        bystander = await client.readResponse();
      });
      assert.equal(bystander?.status, 200, 'a request in flight when the app answered is served');
      assert.equal(target.servingPid(), pid, 'by the same worker');
    });
  });
});
