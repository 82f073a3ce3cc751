/**
 * The TLS context a worker wraps its connections with, from the SSL settings: undefined when
 * no certfile is set. One mapping for every place that serves connections (a worker
 * process, and each gthread app thread, which must build its own: a SecureContext cannot be
 * sent between threads).
 */
import { createTlsContext, type TlsServerContext } from '../http/tls.js';
import type { Settings } from '../settings/settings.js';

export function tlsContextFromSettings(settings: Settings): TlsServerContext | undefined {
  const certfile = settings.get('certfile');
  if (certfile === null) return undefined;
  // Without keyfile, the key is read from the certfile (one PEM holding both).
  const keyfile = settings.get('keyfile') ?? certfile;
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
    // The handshake counts against the header deadline: a silent TLS client is a slow client.
    handshakeTimeoutMs: headerTimeout > 0 ? headerTimeout * 1000 : undefined,
  });
}
