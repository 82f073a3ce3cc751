/**
 * req.scheme from secure_scheme_headers + forwarded_allow_ips (Gunicorn's wsgi.url_scheme).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeEachTarget } from './harness/suite.js';
import type { TargetOptions } from './harness/target.js';
import { request } from './harness/wire.js';
import { expectResponses, json } from './harness/expect.js';

describeEachTarget('secure_scheme_headers / forwarded_allow_ips', (targets) => {
  /** req.scheme as the app sees it, on the target with these settings. */
  async function schemeFor(options: TargetOptions, fields: string[]): Promise<unknown> {
    const target = await targets.get(options);
    const r = await expectResponses(target, request('GET', '/echo', [...fields, 'Connection: close']), [200]);
    return json(r.responses[0]!).scheme;
  }

  test('plain connection without secure headers is http', async () => {
    assert.equal(await schemeFor({}, []), 'http');
  });

  for (const [name, value] of [
    ['X-Forwarded-Proto', 'https'],
    ['X-FORWARDED-PROTOCOL', 'ssl'],
    ['x-forwarded-ssl', 'on'],
  ]) {
    test(`default secure header ${name}: ${value} from 127.0.0.1 (allowed by default) means https`, async () => {
      assert.equal(await schemeFor({}, [`${name}: ${value}`]), 'https');
    });
  }

  test('values are compared exactly (case-sensitive): HTTPS is not https', async () => {
    assert.equal(await schemeFor({}, ['X-Forwarded-Proto: HTTPS']), 'http');
  });

  test('a peer not in forwarded_allow_ips cannot set the scheme', async () => {
    assert.equal(await schemeFor({ forwardedAllowIps: ['10.0.0.1'] }, ['X-Forwarded-Proto: https']), 'http');
  });

  test("forwarded_allow_ips '*' trusts every peer", async () => {
    assert.equal(await schemeFor({ forwardedAllowIps: '*' }, ['X-Forwarded-Proto: https']), 'https');
    assert.equal(await schemeFor({ forwardedAllowIps: ['*'] }, ['X-Forwarded-Proto: https']), 'https');
  });

  test('an IPv4-mapped IPv6 entry matches the IPv4 peer', async () => {
    assert.equal(await schemeFor({ forwardedAllowIps: ['::ffff:127.0.0.1'] }, ['X-Forwarded-Proto: https']), 'https');
  });

  test('custom secure_scheme_headers replace the defaults', async () => {
    const options = { secureSchemeHeaders: { 'X-SCHEME': 'secure' } };
    assert.equal(await schemeFor(options, ['X-Scheme: secure']), 'https');
    assert.equal(await schemeFor(options, ['X-Forwarded-Proto: https']), 'http');
  });
});
