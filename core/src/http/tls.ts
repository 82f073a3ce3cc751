import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import * as tls from 'node:tls';
import { GtsError } from '../errors.js';
import { tlsVerifyError } from './node-internals.js';

/**
 * Gunicorn's ssl settings, mapped onto Node's TLS:
 *   certfile, keyfile, ca_certs  → cert, key, ca of tls.createSecureContext (read here, so that a
 *                                  bad file is named in the error)
 *   cert_reqs 0/1/2              → no client cert / optional (verified if presented) / required
 *   ciphers                      → OpenSSL cipher list; Gunicorn's default "TLSv1" = Node's default list
 *   ssl_version                  → the lowest TLS version accepted (see resolveTlsVersionFloor)
 *   suppress_ragged_eofs         → accepted; Node always treats a TCP EOF without close_notify as EOF
 *   do_handshake_on_connect      → accepted; Node always handshakes before any HTTP byte is read
 */
export interface TlsSettings {
  certfile: string;
  keyfile: string;
  caCerts?: string | null | undefined;
  /** 0 CERT_NONE, 1 CERT_OPTIONAL, 2 CERT_REQUIRED (Python's ssl constants). */
  certReqs?: number | undefined;
  ciphers?: string | null | undefined;
  /** Python's ssl.PROTOCOL_* number or name (e.g. 2, 'SSLv23', 'TLSv1_2'), or a Node version name. */
  sslVersion?: number | string | null | undefined;
  suppressRaggedEofs?: boolean | undefined;
  doHandshakeOnConnect?: boolean | undefined;
  /** A client must complete the handshake within this time (default 10 s). */
  handshakeTimeoutMs?: number | undefined;
}

/** Everything wrapTlsSocket needs; build once per worker, use per connection. */
export interface TlsServerContext {
  readonly secureContext: tls.SecureContext;
  readonly requestCert: boolean;
  readonly rejectUnauthorized: boolean;
  /** CERT_OPTIONAL: a client certificate is not required, but one that is presented must verify. */
  readonly verifyPresentedCertificate: boolean;
  readonly minVersion: tls.SecureVersion;
  readonly handshakeTimeoutMs: number;
}

/** A bad TLS setting or file: a GtsError (GTS_ERR_TLS), so it ends a start with one line. */
export class TlsConfigError extends GtsError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('GTS_ERR_TLS', [message], options);
    this.name = 'TlsConfigError';
  }
}

function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function readPem(setting: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new TlsConfigError(`TLS ${setting} "${path}" cannot be read: ${reason(err)}`, { cause: err });
  }
}

/** Python ssl.PROTOCOL_* values (by number and by name) → the lowest TLS version we accept. */
const VERSION_FLOORS: Record<string, tls.SecureVersion | 'negotiate' | 'unsupported'> = {
  '0': 'unsupported', SSLV2: 'unsupported',
  '1': 'unsupported', SSLV3: 'unsupported',
  '2': 'negotiate', SSLV23: 'negotiate', TLS: 'negotiate',
  '17': 'negotiate', TLS_SERVER: 'negotiate',
  '3': 'TLSv1', TLSV1: 'TLSv1', 'TLSV1.0': 'TLSv1',
  '4': 'TLSv1.1', TLSV1_1: 'TLSv1.1', 'TLSV1.1': 'TLSv1.1',
  '5': 'TLSv1.2', TLSV1_2: 'TLSv1.2', 'TLSV1.2': 'TLSv1.2',
  TLSV1_3: 'TLSv1.3', 'TLSV1.3': 'TLSv1.3',
};

/**
 * ssl_version names a *floor*: Python pinned one protocol version (PROTOCOL_TLSv1 = TLS 1.0
 * only), which today would refuse every modern client, so we accept that version and newer.
 * "negotiate" (SSLv23/TLS) means Node's defaults (TLS 1.2 to 1.3). OpenSSL 3 still refuses
 * TLS 1.0/1.1 at its default security level unless the cipher list lowers it (@SECLEVEL=0).
 */
export function resolveTlsVersionFloor(sslVersion: number | string | null | undefined): tls.SecureVersion {
  if (sslVersion === null || sslVersion === undefined || sslVersion === '') return tls.DEFAULT_MIN_VERSION as tls.SecureVersion;
  const key = String(sslVersion).trim().toUpperCase().replace(/^(SSL\.)?PROTOCOL_/, '');
  const floor = VERSION_FLOORS[key];
  if (floor === undefined) {
    throw new TlsConfigError(`TLS ssl_version ${JSON.stringify(sslVersion)} is not known: use TLS, TLSv1, TLSv1_1, TLSv1_2, TLSv1_3 or a number of Python's ssl module (2, 3, 4, 5, 17)`);
  }
  if (floor === 'unsupported') {
    throw new TlsConfigError(`TLS ssl_version ${JSON.stringify(sslVersion)} (SSLv2/SSLv3) is not supported by Node`);
  }
  return floor === 'negotiate' ? (tls.DEFAULT_MIN_VERSION as tls.SecureVersion) : floor;
}

/** Gunicorn's default cipher setting "TLSv1" (and an empty one) means Node's default list. */
function resolveCiphers(ciphers: string | null | undefined): string | undefined {
  if (ciphers === null || ciphers === undefined) return undefined;
  const trimmed = ciphers.trim();
  return trimmed === '' || trimmed === 'TLSv1' ? undefined : trimmed;
}

/** Every certificate of a CA bundle must parse (OpenSSL silently skips what is not PEM). */
function checkCaBundle(path: string, pem: Buffer): void {
  const blocks = pem.toString('latin1').match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g);
  if (blocks === null) throw new TlsConfigError(`TLS ca_certs "${path}" contains no PEM certificate`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new TlsConfigError(`TLS ca_certs "${path}" has an invalid certificate: ${reason(err)}`, { cause: err });
    }
  }
}

export function createTlsContext(settings: TlsSettings): TlsServerContext {
  const certReqs = settings.certReqs ?? 0;
  if (certReqs !== 0 && certReqs !== 1 && certReqs !== 2) {
    throw new TlsConfigError(`TLS cert_reqs must be 0 (none), 1 (optional) or 2 (required), not ${certReqs}`);
  }
  const cert = readPem('certfile', settings.certfile);
  const key = readPem('keyfile', settings.keyfile);
  try {
    new X509Certificate(cert);
  } catch (err) {
    throw new TlsConfigError(`TLS certfile "${settings.certfile}" is not a valid PEM certificate: ${reason(err)}`, { cause: err });
  }
  try {
    createPrivateKey(key);
  } catch (err) {
    throw new TlsConfigError(`TLS keyfile "${settings.keyfile}" is not a usable private key: ${reason(err)}`, { cause: err });
  }
  let ca: Buffer | undefined;
  if (settings.caCerts) {
    ca = readPem('ca_certs', settings.caCerts);
    checkCaBundle(settings.caCerts, ca);
  }
  const ciphers = resolveCiphers(settings.ciphers);
  const minVersion = resolveTlsVersionFloor(settings.sslVersion);
  let secureContext: tls.SecureContext;
  try {
    secureContext = tls.createSecureContext({ cert, key, ca, ciphers, minVersion, maxVersion: 'TLSv1.3' });
  } catch (err) {
    const message = reason(err);
    if (/cipher/i.test(message)) {
      throw new TlsConfigError(`TLS ciphers ${JSON.stringify(settings.ciphers)} are not usable: ${message}`, { cause: err });
    }
    throw new TlsConfigError(
      `TLS certfile "${settings.certfile}" and keyfile "${settings.keyfile}" cannot be used together: ${message}`,
      { cause: err },
    );
  }
  return {
    secureContext,
    requestCert: certReqs !== 0,
    rejectUnauthorized: certReqs === 2,
    verifyPresentedCertificate: certReqs === 1,
    minVersion,
    handshakeTimeoutMs: settings.handshakeTimeoutMs ?? 10_000,
  };
}

/**
 * Server side of TLS over an accepted socket (or a Duplex, e.g. after PROXY protocol):
 * raw socket → wrapTlsSocket → HttpConnection. Handshake failures and timeouts destroy the
 * socket; `onError` hears about them (the socket always has an error listener).
 *
 * With cert_reqs 1 or 2 the client's certificate is checked here, as tls.Server does for its
 * own sockets (a bare server TLSSocket is not checked at all): `socket.authorized` and
 * `socket.authorizationError` tell the app the verdict, and a certificate that does not verify
 * against ca_certs ends the connection before any HTTP byte is read.
 */
export function wrapTlsSocket(
  raw: Socket | Duplex,
  context: TlsServerContext,
  onError?: (err: Error) => void,
): tls.TLSSocket {
  const socket = new tls.TLSSocket(raw as Socket, {
    isServer: true,
    secureContext: context.secureContext,
    requestCert: context.requestCert,
    rejectUnauthorized: context.rejectUnauthorized,
  });
  socket.on('error', (err: Error) => {
    onError?.(err);
    socket.destroy();
  });
  const timer = setTimeout(() => {
    socket.destroy(new Error('TLS handshake timeout'));
  }, context.handshakeTimeoutMs);
  socket.once('close', () => clearTimeout(timer));
  socket.once('secure', () => {
    clearTimeout(timer);
    if (context.requestCert) checkClientCertificate(socket, context);
  });
  return socket;
}

/**
 * CERT_REQUIRED: the certificate must verify (OpenSSL already refused a client without one).
 * CERT_OPTIONAL: none is fine, but one that is presented must verify, as in Python.
 */
function checkClientCertificate(socket: tls.TLSSocket, context: TlsServerContext): void {
  const verifyError = tlsVerifyError(socket);
  if (verifyError === null) {
    socket.authorized = true;
    return;
  }
  const reason = verifyError.code ?? verifyError.message;
  // What tls.Server stores: the OpenSSL code, a string (though @types/node says Error).
  Object.assign(socket, { authorizationError: reason });
  const peer = socket.getPeerCertificate();
  const presented = peer !== null && Object.keys(peer).length > 0;
  if (context.rejectUnauthorized || (context.verifyPresentedCertificate && presented)) {
    socket.destroy(new Error(`TLS client certificate rejected: ${reason}`));
  }
}
