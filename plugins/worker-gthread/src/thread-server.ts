/**
 * An app thread's connections: it adopts the fds the main thread accepted, runs each through
 * the same pipeline as a worker process (`connection` hook → TLS → HttpConnection), with the
 * pre/post_request hooks and the access log, and tells the main thread what it is doing:
 * requests in progress and served through shared memory, closed connections in batched
 * reports, and at once when it starts the last request max_requests allows.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import {
  acceptedSocket,
  defaultPreRequest,
  HttpConnection,
  wrapTlsSocket,
  type AccessLogInfo,
  type ConnectionContext,
  type HttpCallbacks,
  type HttpProtocolOptions,
  type ListenerInfo,
} from '@gunicorn-ts/core';
import type { MainToThread } from './messages.js';
import { RelayedSocket } from './relayed-socket.js';
import type { ReportBatcher } from './report-batcher.js';
import type { RequestBudget } from './request-budget.js';
import type { RelayPeer } from './socket-relay.js';
import type { ThreadSharedState } from './shared-state.js';
import type { ThreadRuntime } from './thread-runtime.js';

export class ThreadServer {
  /** Adopted (and relayed) sockets not closed yet, whatever stage they are in. */
  private readonly sockets = new Set<Duplex>();
  private readonly connections = new Set<HttpConnection>();
  private readonly callbacks: HttpCallbacks;
  private graceful: boolean | undefined;
  /** max_requests is reached: every connection ends after its current response. */
  private budgetSpent = false;
  private drained: (() => void) | undefined;

  constructor(
    private readonly runtime: ThreadRuntime,
    private readonly listeners: readonly ListenerInfo[],
    private readonly protocolOptions: HttpProtocolOptions,
    private readonly shared: ThreadSharedState,
    private readonly budget: RequestBudget,
    private readonly reports: ReportBatcher,
    /** Tells the main thread (at once, not in the next report). */
    private readonly onBudgetSpent: () => void,
  ) {
    this.callbacks = this.requestCallbacks();
  }

  /** Take ownership of an accepted connection's fd and serve it. */
  adopt(connection: Extract<MainToThread, { type: 'connection' }>): void {
    const { fd, seq, listener: listenerIndex, peer, noDelay } = connection;
    // Recorded before wrapping: see AppThread.closeUnadopted for why this order.
    this.shared.adopted(seq);
    let socket: Socket;
    try {
      // The core's wrapper: the same socket options (half-open allowed) as a worker process's.
      socket = acceptedSocket({ fd, kind: this.listeners[listenerIndex]!.kind, peer, noDelay });
    } catch (err) {
      this.runtime.log.error('Cannot serve connection fd %s: %s', fd, err instanceof Error ? err.message : String(err));
      this.reports.connectionClosed();
      return;
    }
    // The main thread counts this connection until the thread reports it closed.
    this.track(socket, () => this.reports.connectionClosed());
    this.start(socket, listenerIndex);
  }

  /** Serve a connection the main thread relays over `port` (no native addon). */
  adoptRelay(port: MessagePort, peer: RelayPeer, listenerIndex: number): void {
    // The main thread owns the real socket and sees it close: nothing to report.
    const socket = new RelayedSocket(port, peer);
    this.track(socket, () => undefined);
    this.start(socket, listenerIndex);
  }

  private track(socket: Duplex, onClose: () => void): void {
    this.sockets.add(socket);
    // A reset before HttpConnection listens (say, during a PROXY header) must not crash the
    // thread and every other connection on it: 'close' follows and does the bookkeeping.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.sockets.delete(socket);
      onClose();
      if (this.sockets.size === 0) this.drained?.();
    });
  }

  private start(socket: Socket | RelayedSocket, listenerIndex: number): void {
    if (this.graceful === false) {
      socket.destroy();
      return;
    }
    const listener = this.listeners[listenerIndex];
    this.serve(socket, listener?.address ?? '').catch((err: unknown) => {
      this.runtime.log.debug('Connection from %s dropped: %s', socket.remoteAddress, err instanceof Error ? err.message : String(err));
      socket.destroy();
    });
  }

  /**
   * Stop serving. Graceful: in-flight requests are answered (the last with `Connection:
   * close`) and idle keep-alive connections closed; resolves when every connection is closed.
   * Otherwise every connection is cut now.
   */
  stop(graceful: boolean): Promise<void> {
    this.graceful = graceful;
    this.runtime.api.alive = false;
    if (graceful) for (const connection of this.connections) connection.shutdown();
    else for (const socket of this.sockets) socket.destroy();
    if (this.sockets.size === 0) return Promise.resolve();
    return new Promise((resolve) => (this.drained = resolve));
  }

  private spendBudget(): void {
    if (this.budgetSpent) return;
    this.budgetSpent = true;
    for (const connection of this.connections) connection.shutdown();
    this.onBudgetSpent();
  }

  /** The pipeline: `connection` hook (e.g. the PROXY protocol) → TLS → HttpConnection. */
  private async serve(socket: Socket | RelayedSocket, listener: string): Promise<void> {
    const { hooks, tls } = this.runtime;
    let context: ConnectionContext = {
      socket,
      remoteAddress: socket.remoteAddress,
      remotePort: socket.remotePort,
      peerAddress: socket.remoteAddress,
      listener,
      secure: false,
    };
    if (hooks.connection.isUsed()) context = await hooks.connection.promise(context);
    let stream: Duplex = context.socket;
    if (tls !== undefined) {
      stream = wrapTlsSocket(stream, tls, (err) => this.runtime.log.debug('TLS error from %s: %s', context.remoteAddress, err.message));
      context.secure = true;
    }
    const connection = new HttpConnection(stream, this.runtime.app.listener, this.protocolOptions, this.callbacks);
    this.connections.add(connection);
    connection.once('close', () => this.connections.delete(connection));
    if (this.graceful === true || this.budgetSpent) connection.shutdown();
    connection.start();
  }

  /** pre_request/post_request hooks, the access log, and the counts the main thread reads. */
  private requestCallbacks(): HttpCallbacks {
    const { hooks, log, api } = this.runtime;
    const shared = this.shared;
    const logRequestLine = defaultPreRequest(this.runtime.settings, log);
    // No message per request: the main thread reads the shared counts (at 8 keep-alive clients
    // a message per request cost a quarter of the throughput), and max_requests is the budget's.
    return {
      onRequest: (req: IncomingMessage, res: ServerResponse) => {
        // Counted as it starts, as in a worker process: the request that reaches max_requests
        // is the last this thread starts, and its response (not written yet) says close.
        if (this.budget.take()) this.spendBudget();
        // Busy until the response is finished or abandoned, whichever comes first.
        shared.requestStarted();
        let done = false;
        const finished = (): void => {
          if (done) return;
          done = true;
          shared.requestFinished();
        };
        res.once('finish', finished);
        res.once('close', finished);
        logRequestLine?.(req);
        if (hooks.preRequest.isUsed()) hooks.preRequest.call(api, req);
      },
      onResponse: (req: IncomingMessage, res: ServerResponse, info: AccessLogInfo) => {
        if (hooks.postRequest.isUsed()) hooks.postRequest.call(api, req, res);
        log.access(info);
        api.requestCount += 1;
        shared.requestServed();
      },
      onAppError: (err: unknown, req: IncomingMessage | undefined) => {
        log.exception(err, 'Error handling request %s', req?.url ?? '');
      },
    };
  }
}
