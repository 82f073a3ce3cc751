/**
 * The TLS context of an app thread: each thread builds its own from the settings, as the
 * worker base does for a process (a SecureContext cannot be sent between threads), so TLS runs
 * in the thread next to its connection and the main thread never touches a byte.
 */
import { createTlsContext, type Settings, type TlsServerContext } from '@gunicorn-ts/core';

export function tlsContextFor(settings: Settings): TlsServerContext | undefined {
  const certfile = settings.get('certfile');
  const keyfile = settings.get('keyfile');
  if (certfile === null || keyfile === null) return undefined;
  const headerTimeout = settings.get('header_timeout');
  return createTlsContext({
    certfile,
    keyfile,
    caCerts: settings.get('ca_certs'),
    certReqs: settings.get('cert_reqs'),
    ciphers: settings.get('ciphers'),
    sslVersion: settings.get('ssl_version'),
    suppressRaggedEofs: settings.get('suppress_ragged_eofs'),
    doHandshakeOnConnect: settings.get('do_handshake_on_connect'),
    handshakeTimeoutMs: headerTimeout > 0 ? headerTimeout * 1000 : undefined,
  });
}
