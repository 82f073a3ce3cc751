/**
 * Request smuggling classics. For each, the server must read the request boundary the way a
 * strict RFC 9112 parser does: the ambiguous request is refused, the connection is closed, and
 * the request hidden behind it is never executed.
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachTarget } from './harness/suite.js';
import type { Target } from './harness/target.js';
import { exchange } from './harness/wire.js';
import { appInvocations, expectRefused, expectResponses, json } from './harness/expect.js';

describeEachTarget('smuggling', (targets) => {
  let target: Target;
  before(async () => {
    target = await targets.get();
  });

  /** The request an attacker hides in the body; executing it would be visible in /count. */
  const SMUGGLED = 'GET /count HTTP/1.1\r\nHost: example.test\r\n\r\n';
  const head = (fields: string[]): string => ['POST /echo HTTP/1.1', 'Host: example.test', ...fields].join('\r\n') + '\r\n\r\n';

  /**
   * Refused with `status`, and the smuggled request never ran. When the head is invalid the outer
   * request does not reach the app either; when only the body is (chunk errors), the app already
   * has the outer request (bodies are streamed) but sees it aborted.
   */
  async function expectSmugglingBlocked(bytes: string, status = 400, outerReachesApp = false): Promise<void> {
    const before = await appInvocations(target);
    await expectRefused(target, bytes, status);
    const after = await appInvocations(target);
    if (outerReachesApp) assert.equal(after - before, 2, 'the smuggled request did not reach the app');
    else assert.equal(after - before, 1, 'neither the outer nor the smuggled request reached the app');
  }

  describe('CL.TE and TE.CL (RFC 9112 §6.3 rule 3)', () => {
    test('RFC 9112 §6.3: CL.TE — Content-Length covers a smuggled request a TE parser would read', async () => {
      const body = `0\r\n\r\n${SMUGGLED}`;
      await expectSmugglingBlocked(head([`Content-Length: ${body.length}`, 'Transfer-Encoding: chunked']) + body);
    });

    test('RFC 9112 §6.3: TE.CL — chunked body hides a request a CL parser would read', async () => {
      const chunk = SMUGGLED.length.toString(16);
      await expectSmugglingBlocked(head(['Transfer-Encoding: chunked', 'Content-Length: 4']) + `${chunk}\r\n${SMUGGLED}\r\n0\r\n\r\n`);
    });

    test('RFC 9112 §6.3: CL.TE with Content-Length: 0', async () => {
      await expectSmugglingBlocked(head(['Content-Length: 0', 'Transfer-Encoding: chunked']) + `5\r\nxxxxx\r\n0\r\n\r\n${SMUGGLED}`);
    });
  });

  describe('TE.TE: obfuscated Transfer-Encoding (RFC 9112 §5, §6.1)', () => {
    const variants: Array<[string, string[], number]> = [
      ['xchunked', ['Transfer-Encoding: xchunked'], 400],
      ['space before colon', ['Transfer-Encoding : chunked'], 400],
      ['tab before colon', ['Transfer-Encoding\t: chunked'], 400],
      ['name folded onto the next line', ['Transfer-Encoding', ': chunked'], 400],
      ['leading space on the field line (obs-fold)', ['X-Pad: 1', ' Transfer-Encoding: chunked'], 400],
      ['value continued by obs-fold', ['Transfer-Encoding:', ' chunked'], 400],
      ['chunked then a bogus second field', ['Transfer-Encoding: chunked', 'Transfer-Encoding: x'], 400],
      ['bogus then chunked', ['Transfer-Encoding: x', 'Transfer-Encoding: chunked'], 501],
      ['chunked, identity', ['Transfer-Encoding: chunked, identity'], 400],
      ['identity, chunked', ['Transfer-Encoding: identity, chunked'], 501],
      ['quoted "chunked"', ['Transfer-Encoding: "chunked"'], 400],
      ['vertical tab before value', ['Transfer-Encoding:\x0bchunked'], 400],
      ['form feed before value', ['Transfer-Encoding:\x0cchunked'], 400],
      ['NUL after value', ['Transfer-Encoding: chunked\x00'], 400],
      ['bare CR inside the value', ['Transfer-Encoding: chun\rked'], 400],
      ['non-ASCII look-alike', ['Transfer-Encoding: chunk\xebd'], 400],
    ];
    for (const [name, fields, status] of variants) {
      test(`RFC 9112 §6.1: TE.TE variant refused (${name})`, async () => {
        const body = `0\r\n\r\n${SMUGGLED}`;
        // With Content-Length as well, TE + CL is refused first (400) whatever the codings.
        await expectSmugglingBlocked(head([...fields, `Content-Length: ${body.length}`]) + body, 400);
      });
      test(`RFC 9112 §6.1: TE.TE variant refused without Content-Length (${name})`, async () => {
        await expectSmugglingBlocked(head(fields) + `0\r\n\r\n${SMUGGLED}`, status);
      });
    }

    test('RFC 9112 §2.2: a bare LF hides a Transfer-Encoding line inside another field', async () => {
      const body = `0\r\n\r\n${SMUGGLED}`;
      await expectSmugglingBlocked(head(['X-Pad: x\nTransfer-Encoding: chunked', `Content-Length: ${body.length}`]) + body);
    });

    test('RFC 9112 §5.1: Transfer_Encoding (underscore) is just another field: Content-Length frames the body', async () => {
      const body = `0\r\n\r\n${SMUGGLED}`;
      const before = await appInvocations(target);
      const r = await expectResponses(target, head(['Transfer_Encoding: chunked', `Content-Length: ${body.length}`, 'Connection: close']) + body, [200]);
      assert.equal(json(r.responses[0]!).body, body);
      const after = await appInvocations(target);
      assert.equal(after - before, 2, 'the outer request ran, the smuggled one did not');
    });
  });

  describe('Content-Length ambiguity (RFC 9110 §8.6, RFC 9112 §6.3 rule 5)', () => {
    const variants: Array<[string, string[]]> = [
      ['duplicate differing', ['Content-Length: 0', `Content-Length: ${SMUGGLED.length}`]],
      ['duplicate identical', [`Content-Length: ${SMUGGLED.length}`, `Content-Length: ${SMUGGLED.length}`]],
      ['list form', [`Content-Length: 0, ${SMUGGLED.length}`]],
      ['obs-fold continuation', ['Content-Length: 0', ` ${SMUGGLED.length}`]],
      ['space before colon', [`Content-Length : ${SMUGGLED.length}`]],
      ['sign', [`Content-Length: +${SMUGGLED.length}`]],
      ['trailing garbage', [`Content-Length: ${SMUGGLED.length}abc`]],
      ['vertical tab after value', [`Content-Length: ${SMUGGLED.length}\x0b`]],
      ['hex', [`Content-Length: 0x${SMUGGLED.length.toString(16)}`]],
    ];
    for (const [name, fields] of variants) {
      test(`RFC 9112 §6.3: ambiguous Content-Length refused (${name})`, async () => {
        await expectSmugglingBlocked(head(fields) + SMUGGLED);
      });
    }
  });

  describe('chunk framing tricks (RFC 9112 §7.1)', () => {
    test('RFC 9112 §7.1.1: chunk extension ended by a bare LF', async () => {
      await expectSmugglingBlocked(head(['Transfer-Encoding: chunked']) + `2;ext\nxx\r\n0\r\n\r\n${SMUGGLED}`, 400, true);
    });

    test('RFC 9112 §7.1: chunk size with a 0x prefix', async () => {
      await expectSmugglingBlocked(head(['Transfer-Encoding: chunked']) + `0x2\r\nxx\r\n0\r\n\r\n${SMUGGLED}`, 400, true);
    });

    test('RFC 9112 §7.1: chunk size overflow', async () => {
      await expectSmugglingBlocked(head(['Transfer-Encoding: chunked']) + `1${'0'.repeat(16)}\r\nxx\r\n0\r\n\r\n${SMUGGLED}`, 400, true);
    });

    test('RFC 9112 §7.1: chunk data longer than its size', async () => {
      await expectSmugglingBlocked(head(['Transfer-Encoding: chunked']) + `1\r\nxx\r\n0\r\n\r\n${SMUGGLED}`, 400, true);
    });

    test('RFC 9112 §7.1: long run of leading zeros is still a valid size (not an overflow)', async () => {
      const r = await expectResponses(
        target,
        head(['Transfer-Encoding: chunked', 'Connection: close']) + `${'0'.repeat(40)}5\r\nhello\r\n0\r\n\r\n`,
        [200],
      );
      assert.equal(json(r.responses[0]!).body, 'hello');
    });
  });

  describe('other boundary confusions', () => {
    test('RFC 9112 §2.2: bare CR in a field value cannot split the request', async () => {
      await expectSmugglingBlocked(head(['X-A: a\rGET /count HTTP/1.1', 'Content-Length: 0']));
    });

    test('RFC 9112 §9.6: bytes after a Connection: close request are not read as a request', async () => {
      const before = await appInvocations(target);
      const r = await exchange(target.port, 'GET /hello HTTP/1.1\r\nHost: example.test\r\nConnection: close\r\n\r\n' + SMUGGLED, {
        timeoutMs: 2000,
      });
      assert.deepEqual(r.responses.map((x) => x.status), [200]);
      assert.ok(r.closed);
      assert.equal(r.rest.length, 0, 'no 400 or other response for the trailing bytes');
      const after = await appInvocations(target);
      assert.equal(after - before, 2, 'the trailing request was not executed');
    });

    test('RFC 9112 §9.3: bytes after an HTTP/1.0 request (no keep-alive) are not read as a request', async () => {
      const r = await exchange(target.port, 'GET /hello HTTP/1.0\r\n\r\n' + SMUGGLED, { timeoutMs: 2000 });
      assert.deepEqual(r.responses.map((x) => x.status), [200]);
      assert.ok(r.closed);
      assert.equal(r.rest.length, 0);
    });

    test('RFC 9112 §6.1: HTTP/1.0 + Transfer-Encoding + Content-Length is refused', async () => {
      const body = `0\r\n\r\n${SMUGGLED}`;
      await expectSmugglingBlocked(
        `POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n${body}`,
      );
    });

    test('RFC 9112 §3.2: duplicate Host fields (routing confusion) are refused', async () => {
      await expectSmugglingBlocked(head(['Host: internal.test', 'Content-Length: 0']));
    });
  });
});
