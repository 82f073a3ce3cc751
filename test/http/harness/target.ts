/**
 * Where the HTTP conformance cases send their bytes. Cases only use `host`, `port`, `tls` and
 * the optional hooks, never how the server runs, so that other targets (the gunicorn-ts CLI
 * with each worker class) can be added here without touching the cases.
 */
import net from 'node:net';
import { testApp } from './app.js';
import { DEFAULT_HTTP_PROTOCOL_OPTIONS, HttpConnection as Connection, createTlsContext, wrapTlsSocket, type AccessLogInfo, type HttpConnection, type HttpProtocolOptions, type TlsSettings } from '@gunicorn-ts/core';


export interface TargetOptions extends Partial<HttpProtocolOptions> {
  /** Serve HTTPS with these settings (certfile/keyfile...). */
  tls?: TlsSettings;
}

export interface Target {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
  /** Graceful drain of every connection (a worker's TERM/HUP); absent if the target cannot. */
  shutdown?(): void;
  /** Errors the server reported for the app (only targets that can observe them). */
  readonly appErrors?: unknown[];
  /** Access log infos of finished responses (only targets that can observe them). */
  readonly accessLog?: AccessLogInfo[];
  stop(): Promise<void>;
}

export const TEST_SERVER_HEADER = 'gunicorn-ts/test';

/** In-process target: net.Server → (TLS) → HttpConnection → test app. */
export async function startTarget(options: TargetOptions = {}): Promise<Target> {
  const { tls: tlsSettings, ...protocol } = options;
  const protocolOptions: HttpProtocolOptions = {
    ...DEFAULT_HTTP_PROTOCOL_OPTIONS,
    serverHeader: TEST_SERVER_HEADER,
    ...protocol,
  };
  const appErrors: unknown[] = [];
  const accessLog: AccessLogInfo[] = [];
  const connections = new Set<HttpConnection>();
  const tlsContext = tlsSettings !== undefined ? createTlsContext(tlsSettings) : undefined;
  const callbacks = {
    onAppError: (err: unknown) => {
      appErrors.push(err);
    },
    onResponse: (_req: unknown, _res: unknown, info: AccessLogInfo) => {
      accessLog.push(info);
    },
  };
  // allowHalfOpen: a client that half-closes after its request still gets its response.
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (raw) => {
    const socket = tlsContext !== undefined ? wrapTlsSocket(raw, tlsContext) : raw;
    const connection = new Connection(socket, testApp, protocolOptions, callbacks);
    connections.add(connection);
    connection.on('close', () => connections.delete(connection));
    connection.start();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address() as net.AddressInfo;
  return {
    host: '127.0.0.1',
    port: address.port,
    tls: tlsContext !== undefined,
    appErrors,
    accessLog,
    shutdown() {
      for (const connection of connections) connection.shutdown();
    },
    async stop() {
      for (const connection of connections) connection.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
