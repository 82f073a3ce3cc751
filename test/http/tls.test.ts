/**
 * TLS settings (certfile, keyfile, ca_certs, cert_reqs, ciphers, ssl_version) and HTTPS serving.
 * Certificates are generated with openssl into a temp dir.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTlsContext, resolveTlsVersionFloor, TlsConfigError, type TlsSettings } from '@gunicorn-ts/core';
import { describeEachTarget } from './harness/suite.js';
import { request, WireClient } from './harness/wire.js';
import { json } from './harness/expect.js';


let dir: string;
const file = (name: string): string => join(dir, name);

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: 'ignore', timeout: 20_000 });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'gts-http-tls-'));
  // A CA, a server certificate signed by it, and a client certificate signed by it.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=gts test CA']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
  writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  openssl(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('server.pem'), '-days', '2', '-extfile', file('server.ext')]);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('client.key'), '-out', file('client.csr'), '-subj', '/CN=client']);
  openssl(['x509', '-req', '-in', file('client.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-out', file('client.pem'), '-days', '2']);
  // A client certificate from another CA.
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('rogue.key'), '-out', file('rogue.pem'), '-days', '2', '-subj', '/CN=rogue']);
  writeFileSync(file('garbage.pem'), 'not a certificate\n');
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function httpsEcho(port: number, connect: Record<string, unknown>): Promise<Record<string, unknown>> {
  const client = await WireClient.connect(port, '127.0.0.1', { tls: { rejectUnauthorized: false, ...connect } });
  try {
    client.write(request('GET', '/echo', ['Connection: close']));
    return json(await client.readResponse());
  } finally {
    client.destroy();
  }
}

describeEachTarget('HTTPS serving', (targets) => {
  const serverCert = (): TlsSettings => ({ certfile: file('server.pem'), keyfile: file('server.key') });

  test('a TLS connection is served and req.scheme is https', async () => {
    const target = await targets.get({ tls: serverCert() });
    assert.ok(target.tls);
    const body = await httpsEcho(target.port, { ca: [readFileSync(file('ca.pem'))], rejectUnauthorized: true, servername: 'localhost' });
    assert.equal(body.scheme, 'https');
    assert.equal(body.encrypted, true);
  });

  const clientCert = () => ({ cert: readFileSync(file('client.pem')), key: readFileSync(file('client.key')) });
  const rogueCert = () => ({ cert: readFileSync(file('rogue.pem')), key: readFileSync(file('rogue.key')) });

  test('cert_reqs 2 (required): only a certificate from ca_certs is let in, and the app sees it verified', async () => {
    const target = await targets.get({ tls: { ...serverCert(), caCerts: file('ca.pem'), certReqs: 2 } });
    await assert.rejects(httpsEcho(target.port, {}), 'no certificate');
    // Before, a bare server TLSSocket never checked the chain: any certificate got in.
    await assert.rejects(httpsEcho(target.port, rogueCert()), 'a certificate ca_certs did not sign');
    const body = await httpsEcho(target.port, clientCert());
    assert.deepEqual([body.scheme, body.authorized, body.authorizationError, body.peerCommonName], ['https', true, null, 'client']);
  });

  test('cert_reqs 1 (optional): no certificate is fine, a trusted one is verified, an untrusted one is refused', async () => {
    const target = await targets.get({ tls: { ...serverCert(), caCerts: file('ca.pem'), certReqs: 1 } });
    const anonymous = await httpsEcho(target.port, {});
    assert.deepEqual([anonymous.scheme, anonymous.authorized, anonymous.peerCommonName], ['https', false, null]);
    // Before, a certificate that verified was refused too.
    const trusted = await httpsEcho(target.port, clientCert());
    assert.deepEqual([trusted.authorized, trusted.authorizationError, trusted.peerCommonName], [true, null, 'client']);
    await assert.rejects(httpsEcho(target.port, rogueCert()));
  });

  test('ssl_version TLSv1_2 as a floor: TLS 1.3 clients are still served', async () => {
    const target = await targets.get({ tls: { ...serverCert(), sslVersion: 'TLSv1_2' } });
    assert.equal((await httpsEcho(target.port, { minVersion: 'TLSv1.3' })).scheme, 'https');
  });
});

describe('TLS settings mapping', () => {
  test('ssl_version: Python numbers and names map to a minimum version', () => {
    assert.equal(resolveTlsVersionFloor(undefined), 'TLSv1.2');
    assert.equal(resolveTlsVersionFloor(2), 'TLSv1.2');
    assert.equal(resolveTlsVersionFloor('SSLv23'), 'TLSv1.2');
    assert.equal(resolveTlsVersionFloor('PROTOCOL_TLS'), 'TLSv1.2');
    assert.equal(resolveTlsVersionFloor(3), 'TLSv1');
    assert.equal(resolveTlsVersionFloor('TLSv1_1'), 'TLSv1.1');
    assert.equal(resolveTlsVersionFloor(5), 'TLSv1.2');
    assert.equal(resolveTlsVersionFloor('TLSv1.3'), 'TLSv1.3');
    assert.throws(() => resolveTlsVersionFloor(1), /SSLv2\/SSLv3/);
    assert.throws(() => resolveTlsVersionFloor('bogus'), TlsConfigError);
  });

  test('cert_reqs maps to requestCert / rejectUnauthorized', () => {
    const base = { certfile: file('server.pem'), keyfile: file('server.key') };
    const none = createTlsContext({ ...base, certReqs: 0 });
    assert.deepEqual([none.requestCert, none.rejectUnauthorized, none.verifyPresentedCertificate], [false, false, false]);
    const optional = createTlsContext({ ...base, certReqs: 1 });
    assert.deepEqual([optional.requestCert, optional.rejectUnauthorized, optional.verifyPresentedCertificate], [true, false, true]);
    const required = createTlsContext({ ...base, certReqs: 2 });
    assert.deepEqual([required.requestCert, required.rejectUnauthorized], [true, true]);
    assert.throws(() => createTlsContext({ ...base, certReqs: 3 }), /cert_reqs/);
  });

  test("ciphers: Gunicorn's default 'TLSv1' means Node's default list; a bad list is reported", () => {
    const base = { certfile: file('server.pem'), keyfile: file('server.key') };
    assert.doesNotThrow(() => createTlsContext({ ...base, ciphers: 'TLSv1' }));
    assert.doesNotThrow(() => createTlsContext({ ...base, ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' }));
    assert.throws(() => createTlsContext({ ...base, ciphers: 'NO-SUCH-CIPHER' }), /ciphers/);
  });

  test('a missing certfile is named in the error', () => {
    assert.throws(() => createTlsContext({ certfile: file('missing.pem'), keyfile: file('server.key') }), (err: Error) => {
      assert.ok(err instanceof TlsConfigError);
      assert.ok(err.message.includes(file('missing.pem')));
      assert.match(err.message, /certfile/);
      return true;
    });
  });

  test('an invalid certfile, keyfile or ca_certs is named in the error', () => {
    assert.throws(() => createTlsContext({ certfile: file('garbage.pem'), keyfile: file('server.key') }), new RegExp(`certfile "${file('garbage.pem')}"`));
    assert.throws(() => createTlsContext({ certfile: file('server.pem'), keyfile: file('garbage.pem') }), new RegExp(`keyfile "${file('garbage.pem')}"`));
    assert.throws(
      () => createTlsContext({ certfile: file('server.pem'), keyfile: file('server.key'), caCerts: file('garbage.pem') }),
      new RegExp(`ca_certs "${file('garbage.pem')}"`),
    );
  });

  test('a key that does not match the certificate names both files', () => {
    assert.throws(() => createTlsContext({ certfile: file('server.pem'), keyfile: file('client.key') }), (err: Error) => {
      assert.ok(err.message.includes(file('server.pem')) && err.message.includes(file('client.key')));
      return true;
    });
  });
});
