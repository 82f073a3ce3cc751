/**
 * Gunicorn's access_log_format atoms (docs: Settings → access_log_format).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAccessLog, compileAccessLogFormat, formatLogTime, DEFAULT_ACCESS_LOG_FORMAT, type AccessLogInfo } from '@gunicorn-ts/core';


function info(overrides: Partial<AccessLogInfo> = {}): AccessLogInfo {
  return {
    remoteAddress: '10.1.2.3',
    method: 'GET',
    target: '/path?q=1',
    httpVersion: '1.1',
    status: 200,
    responseBodyBytes: 1234,
    requestHeaders: ['Host', 'example.test', 'User-Agent', 'curl/8.0', 'Referer', 'http://ref.test/', 'X-Custom', 'abc'],
    responseHeaders: ['Content-Type', 'text/plain', 'X-Out', 'out-value'],
    startTime: Date.UTC(2000, 9, 10, 20, 55, 36),
    durationMicros: 2_001_234,
    pid: 4242,
    ...overrides,
  };
}

describe('access_log_format atoms', () => {
  test('the default format renders like Gunicorn', () => {
    const line = formatAccessLog(DEFAULT_ACCESS_LOG_FORMAT, info());
    assert.equal(line, `10.1.2.3 - - ${formatLogTime(info().startTime)} "GET /path?q=1 HTTP/1.1" 200 1234 "http://ref.test/" "curl/8.0"`);
  });

  test('t is [dd/Mon/yyyy:HH:MM:SS ±zzzz] in local time', () => {
    assert.match(formatLogTime(Date.now()), /^\[\d{2}\/(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]$/);
    const d = new Date(info().startTime);
    const rendered = formatLogTime(info().startTime);
    assert.ok(rendered.startsWith(`[${String(d.getDate()).padStart(2, '0')}/Oct/2000:`));
  });

  test('T, D, L, p: seconds, microseconds, decimal seconds, <pid>', () => {
    assert.equal(formatAccessLog('%(T)s|%(D)s|%(L)s|%(p)s', info()), '2|2001234|2.001234|<4242>');
    assert.equal(formatAccessLog('%(L)s', info({ durationMicros: 1234 })), '0.001234');
  });

  test('b is "-" for an empty body; h is "-" without an address (UNIX socket)', () => {
    assert.equal(formatAccessLog('%(b)s %(h)s', info({ responseBodyBytes: 0, remoteAddress: undefined })), '- -');
  });

  test('{Header}i and {Header}o are case-insensitive, "-" when missing', () => {
    assert.equal(formatAccessLog('%({x-custom}i)s %({X-CUSTOM}i)s %({x-out}o)s %({Content-Type}o)s %({missing}i)s %({missing}o)s', info()), 'abc abc out-value text/plain - -');
  });

  test('u is the user of Basic credentials', () => {
    const auth = 'Basic ' + Buffer.from('alice:secret').toString('base64');
    assert.equal(formatAccessLog('%(u)s', info({ requestHeaders: ['Authorization', auth] })), 'alice');
    assert.equal(formatAccessLog('%(u)s', info({ requestHeaders: ['Authorization', 'Bearer x'] })), '-');
    assert.equal(formatAccessLog('%(u)s', info()), '-');
  });

  test('unknown atoms render "-"; %% is a percent sign; plain text is kept', () => {
    assert.equal(formatAccessLog('a %(nope)s b %% c %(s)s', info()), 'a - b % c 200');
  });

  test('double quotes in values are escaped so quoted fields stay parseable', () => {
    assert.equal(formatAccessLog('"%(a)s"', info({ requestHeaders: ['User-Agent', 'evil" "x'] })), '"evil\\" \\"x"');
  });

  test('l is "-" and r is the request line as received (absolute-form kept)', () => {
    assert.equal(formatAccessLog('%(l)s %(r)s', info({ target: 'http://a.test/x', httpVersion: '1.0' })), '- GET http://a.test/x HTTP/1.0');
  });

  test('a compiled format can be reused', () => {
    const format = compileAccessLogFormat('%(s)s %(b)s');
    assert.equal(format(info()), '200 1234');
    assert.equal(format(info({ status: 404, responseBodyBytes: 9 })), '404 9');
  });
});
