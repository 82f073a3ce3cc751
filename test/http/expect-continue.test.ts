/**
 * Expect: 100-continue (RFC 9110 §10.1.1, §15.2.1).
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachTarget } from './harness/suite.js';
import type { Target } from './harness/target.js';
import { exchange, header, request, WireClient } from './harness/wire.js';
import { assertAppNotCalled, expectRefused, expectResponses } from './harness/expect.js';

describeEachTarget('Expect: 100-continue', (targets) => {
  let target: Target;
  before(async () => {
    target = await targets.get();
  });

  describe('Expect: 100-continue (RFC 9110 §10.1.1)', () => {
    for (const value of ['100-continue', '100-CONTINUE', '100-Continue']) {
      test(`RFC 9110 §10.1.1: "${value}" gets 100 Continue once the app reads, then the final response`, async () => {
        const client = await WireClient.connect(target.port);
        try {
          client.write(request('POST', '/continue-read', [`Expect: ${value}`, 'Content-Length: 5']));
          const interim = await client.readResponse();
          assert.equal(interim.status, 100);
          assert.equal(interim.rawHead, 'HTTP/1.1 100 Continue\r\n\r\n');
          client.write('hello');
          const final = await client.readResponse();
          assert.equal(final.status, 200);
          assert.equal(final.body.toString(), 'got:hello');
        } finally {
          client.destroy();
        }
      });
    }

    test('RFC 9110 §10.1.1: 100 Continue is not sent before the app reads the body', async () => {
      const client = await WireClient.connect(target.port);
      try {
        client.write(request('POST', '/continue-read?ms=300', ['Expect: 100-continue', 'Content-Length: 5']));
        assert.ok(await client.staysSilent(150), 'nothing is sent while the app has not read');
        const interim = await client.readResponse();
        assert.equal(interim.status, 100);
        client.write('hello');
        assert.equal((await client.readResponse()).body.toString(), 'got:hello');
      } finally {
        client.destroy();
      }
    });

    test('RFC 9110 §10.1.1: an app that answers without reading gets no 100; the connection closes after', async () => {
      const client = await WireClient.connect(target.port);
      try {
        client.write(request('POST', '/ignore-body', ['Expect: 100-continue', 'Content-Length: 5000']));
        const res = await client.readResponse();
        assert.equal(res.status, 200, 'the final response comes without a 100 before it');
        assert.equal(header(res, 'connection'), 'close', 'the unsent body cannot be framed: close');
        assert.ok(await client.waitForClose());
        assert.ok(!client.pending.toString('latin1').includes('100 Continue'));
      } finally {
        client.destroy();
      }
    });

    test('RFC 9110 §10.1.1: a client that sends the whole body at once is served without a 100 (MAY omit)', async () => {
      const r = await expectResponses(target, request('POST', '/continue-read', ['Expect: 100-continue', 'Content-Length: 5', 'Connection: close'], 'hello'), [200]);
      assert.equal(r.responses[0]!.body.toString(), 'got:hello');
    });

    test('RFC 9110 §10.1.1: no 100 Continue for a request without a body', async () => {
      const r = await expectResponses(target, request('GET', '/continue-read', ['Expect: 100-continue', 'Connection: close']), [200]);
      assert.equal(r.responses[0]!.body.toString(), 'got:');
    });

    test('RFC 9110 §10.1.1: HTTP/1.0 ignores Expect: 100-continue', async () => {
      const r = await exchange(target.port, 'POST /continue-read HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello', { timeoutMs: 2000 });
      assert.deepEqual(r.responses.map((x) => x.status), [200]);
      assert.equal(r.responses[0]!.body.toString(), 'got:hello');
    });

    for (const value of ['', '   ', ',']) {
      test(`RFC 9110 §10.1.1: an empty expectation list (${JSON.stringify(value)}) expects nothing: no 100 Continue`, async () => {
        const client = await WireClient.connect(target.port);
        try {
          client.write(request('POST', '/continue-read', [`Expect: ${value}`, 'Content-Length: 5']));
          // Before, an empty list counted as 100-continue.
          assert.ok(await client.staysSilent(200), 'no 100 Continue');
          client.write('hello');
          const final = await client.readResponse();
          assert.deepEqual([final.status, final.body.toString()], [200, 'got:hello']);
        } finally {
          client.destroy();
        }
      });
    }

    for (const value of ['200-ok', 'foo', '100-continue, foo', '100-continue;x=1']) {
      test(`RFC 9110 §10.1.1: unsupported expectation "${value}" gets 417 and the app is not called`, async () => {
        await assertAppNotCalled(target, () => expectRefused(target, request('POST', '/continue-read', [`Expect: ${value}`, 'Content-Length: 5'], 'hello'), 417));
      });
    }
  });
});
