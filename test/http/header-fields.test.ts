/**
 * Header fields: syntax, OWS, limits, and how they are presented to the app
 * (RFC 9112 §5, RFC 9110 §5; Gunicorn limit_request_fields / limit_request_field_size).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachTarget } from './harness/suite.js';
import type { Target } from './harness/target.js';
import { exchange, request } from './harness/wire.js';
import { assertAppNotCalled, expectRefused, expectResponses, json } from './harness/expect.js';

describeEachTarget('header fields', (targets) => {
  let target: Target;
  before(async () => {
    target = await targets.get();
  });

  const close = 'Connection: close';

  async function echoHeaders(fields: string[]): Promise<Record<string, unknown>> {
    const r = await expectResponses(target, request('GET', '/echo', [...fields, close]), [200]);
    return json(r.responses[0]!);
  }

  describe('field syntax (RFC 9112 §5)', () => {
    const invalid: Array<[string, string]> = [
      ['space before colon (RFC 9112 §5.1)', 'X-A : 1'],
      ['tab before colon (RFC 9112 §5.1)', 'X-A\t: 1'],
      ['parenthesis in name', 'X(A): 1'],
      ['space inside name', 'X A: 1'],
      ['@ in name', 'X@A: 1'],
      ['quoted name', '"X-A": 1'],
      ['empty name', ': 1'],
      ['no colon', 'NoColonHere'],
      ['NUL in name', 'X\x00A: 1'],
      ['NUL in value', 'X-A: a\x00b'],
      ['bare CR in value', 'X-A: a\rb'],
      ['DEL in value', 'X-A: a\x7fb'],
      ['SOH in value', 'X-A: a\x01b'],
      ['vertical tab in value', 'X-A: a\x0bb'],
      ['form feed in value', 'X-A: a\x0cb'],
      ['ESC in value', 'X-A: \x1b[31m'],
    ];
    for (const [name, line] of invalid) {
      test(`RFC 9112 §5: invalid field line is refused with 400 (${name})`, async () => {
      await expectRefused(target, request('GET', '/echo', [line]), 400);
      });
    }

    test('RFC 9112 §5.2: obs-fold (continuation line with SP) is refused', async () => {
      await expectRefused(target, request('GET', '/echo', ['X-A: 1', ' continued']), 400);
    });

    test('RFC 9112 §5.2: obs-fold (continuation line with HTAB) is refused', async () => {
      await expectRefused(target, request('GET', '/echo', ['X-A: 1', '\tcontinued']), 400);
    });

    test('RFC 9112 §2.2: whitespace before the first field line is refused', async () => {
      await expectRefused(target, 'GET /echo HTTP/1.1\r\n Host: example.test\r\n\r\n', 400);
    });

    test('RFC 9112 §2.2: a field line ended by a bare LF is refused', async () => {
      await expectRefused(target, 'GET /echo HTTP/1.1\r\nHost: example.test\nX-A: 1\r\n\r\n', 400);
    });

    test('RFC 9112 §2.2: a head ended by bare LFs is refused', async () => {
      await expectRefused(target, 'GET /echo HTTP/1.1\r\nHost: example.test\n\n', 400);
    });

    test('RFC 9112 §5: an invalid field does not reach the app', async () => {
      await assertAppNotCalled(target, () => exchange(target.port, request('GET', '/echo', ['X-A : 1'])));
    });
  });

  describe('field values (RFC 9110 §5.5)', () => {
    test('RFC 9110 §5.5: OWS around the value is not part of it', async () => {
      const body = await echoHeaders(['X-Echo: \t value \t ']);
      assert.equal((body.headers as Record<string, string>)['x-echo'], 'value');
    });

    test('RFC 9110 §5.5: HTAB and SP inside a value are kept', async () => {
      const body = await echoHeaders(['X-Echo: a\tb  c']);
      assert.equal((body.headers as Record<string, string>)['x-echo'], 'a\tb  c');
    });

    test('RFC 9110 §5.5: obs-text in a value is accepted and decoded as latin1', async () => {
      const body = await echoHeaders(['X-Echo: caf\xe9']);
      assert.equal((body.headers as Record<string, string>)['x-echo'], 'caf\u00e9');
    });

    test('RFC 9110 §5.5: an empty value is accepted', async () => {
      const body = await echoHeaders(['X-Empty:', 'X-Spaces:   ']);
      const headers = body.headers as Record<string, string>;
      assert.equal(headers['x-empty'], '');
      assert.equal(headers['x-spaces'], '');
    });
  });

  describe('req.headers follows Node (lib/_http_incoming.js)', () => {
    test('repeated fields are joined with ", ", set-cookie is an array, single-value duplicates dropped', async () => {
      const body = await echoHeaders([
        'X-Dup: a',
        'x-dup: b',
        'Set-Cookie: s1=1',
        'Set-Cookie: s2=2',
        'User-Agent: first',
        'User-Agent: second',
        'Cookie: c1=1',
        'Cookie: c2=2',
      ]);
      const headers = body.headers as Record<string, unknown>;
      assert.equal(headers['x-dup'], 'a, b');
      assert.deepEqual(headers['set-cookie'], ['s1=1', 's2=2']);
      assert.equal(headers['user-agent'], 'first');
      assert.equal(headers['cookie'], 'c1=1; c2=2');
      assert.deepEqual((body.headersDistinct as Record<string, unknown>)['x-dup'], ['a', 'b']);
    });

    test('rawHeaders keeps names as sent, in order', async () => {
      const body = await echoHeaders(['X-MiXeD: 1', 'x-lower: 2']);
      assert.deepEqual(body.rawHeaders, ['Host', 'example.test', 'X-MiXeD', '1', 'x-lower', '2', 'Connection', 'close']);
    });
  });

  describe('limit_request_fields / limit_request_field_size', () => {
    const fields = (n: number): string[] => Array.from({ length: n }, (_, i) => `X-F${i}: v`);

    test('Gunicorn limit_request_fields: 100 fields are accepted', async () => {
      // Host + Connection + 98 = 100
      await expectResponses(target, request('GET', '/hello', [...fields(98), close]), [200]);
    });

    test('Gunicorn limit_request_fields: 101 fields get 431', async () => {
      await expectRefused(target, request('GET', '/hello', fields(100)), 431);
    });

    const fieldOf = (length: number): string => {
      const line = 'X-Big: ' + 'b'.repeat(length - 'X-Big: '.length);
      assert.equal(line.length, length);
      return line;
    };

    test('Gunicorn limit_request_field_size: a field line of 8190 bytes is accepted', async () => {
      await expectResponses(target, request('GET', '/hello', [fieldOf(8190), close]), [200]);
    });

    test('Gunicorn limit_request_field_size: 8191 bytes gets 431', async () => {
      await expectRefused(target, request('GET', '/hello', [fieldOf(8191)]), 431);
    });

    test('Gunicorn limit_request_field_size: an over-long field is refused before its end arrives', async () => {
      await expectRefused(target, 'GET /hello HTTP/1.1\r\nHost: example.test\r\nX-Big: ' + 'b'.repeat(10_000), 431);
    });

    test('Gunicorn limit_request_field_size: a field one byte over the limit is refused before its end arrives', async () => {
      await expectRefused(target, 'GET /hello HTTP/1.1\r\nHost: example.test\r\n' + fieldOf(8191), 431);
    });

    test('the limits are configurable', async () => {
      const small = await targets.get({ limitRequestFields: 5, limitRequestFieldSize: 50 });
      await expectResponses(small, request('GET', '/hello', [...fields(3), close]), [200]);
      await expectRefused(small, request('GET', '/hello', fields(5)), 431);
      await expectResponses(small, request('GET', '/hello', [fieldOf(50), close]), [200]);
      await expectRefused(small, request('GET', '/hello', [fieldOf(51)]), 431);
    });

    test('limit_request_field_size 0 means unlimited (a 20000-byte field is accepted)', async () => {
      const unlimited = await targets.get({ limitRequestFieldSize: 0 });
      await expectResponses(unlimited, request('GET', '/hello', [fieldOf(20_000), close]), [200]);
    });

    test('with every limit at 0 the head is still bounded (1 MiB): more gets 431', async () => {
      const unlimited = await targets.get({ limitRequestFieldSize: 0, limitRequestFields: 0, limitRequestLine: 0 });
      const big = Array.from({ length: 40 }, (_, i) => `X-B${i}: ${'b'.repeat(30_000)}`);
      await expectRefused(unlimited, request('GET', '/hello', big), 431);
    });
  });
});
