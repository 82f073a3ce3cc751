/**
 * The in-process target: net.Server → (TLS) → HttpConnection → the test app, in the test
 * process. App errors and access log lines come straight from the HttpConnection callbacks.
 */
import net from 'node:net';
import {
  compileAccessLogFormat,
  DEFAULT_HTTP_PROTOCOL_OPTIONS,
  HttpConnection as Connection,
  createTlsContext,
  wrapTlsSocket,
  type AccessLogInfo,
  type HttpConnection,
  type HttpProtocolOptions,
} from '@gunicorn-ts/core';
import { testApp } from './app.js';
import { TEST_ACCESS_LOG_FORMAT, TEST_SERVER_HEADER, waitForEntry, type Target, type TargetOptions } from './target.js';

export async function startInProcessTarget(options: TargetOptions = {}): Promise<Target> {
  const { tls: tlsSettings, ...protocol } = options;
  const protocolOptions: HttpProtocolOptions = {
    ...DEFAULT_HTTP_PROTOCOL_OPTIONS,
    serverHeader: TEST_SERVER_HEADER,
    ...protocol,
  };
  const appErrors: string[] = [];
  const accessLog: string[] = [];
  const formatAccessLog = compileAccessLogFormat(TEST_ACCESS_LOG_FORMAT);
  const connections = new Set<HttpConnection>();
  const tlsContext = tlsSettings !== undefined ? createTlsContext(tlsSettings) : undefined;
  const callbacks = {
    onAppError: (err: unknown) => {
      const code = (err as { code?: unknown }).code;
      const text = err instanceof Error ? (err.stack ?? err.message) : String(err);
      appErrors.push(typeof code === 'string' ? `${code} ${text}` : text);
    },
    onResponse: (_req: unknown, _res: unknown, info: AccessLogInfo) => {
      accessLog.push(formatAccessLog(info));
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
    name: 'in-process',
    host: '127.0.0.1',
    port: address.port,
    tls: tlsContext !== undefined,
    protocol: protocolOptions,
    servingPid: () => process.pid,
    drain() {
      for (const connection of connections) connection.shutdown();
    },
    ready: async () => undefined,
    waitForAppError: (pattern, timeoutMs = 3000) => waitForEntry('an app error', () => appErrors, pattern, timeoutMs),
    waitForAccessLog: (pattern, timeoutMs = 3000) => waitForEntry('an access log line', () => accessLog, pattern, timeoutMs),
    async stop() {
      for (const connection of connections) connection.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

