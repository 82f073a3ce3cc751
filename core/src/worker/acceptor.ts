/**
 * Accepting connections on a listening socket the worker inherited from its master.
 *
 * NativeAcceptor (core/native): polls the fd with uv_poll and accept4()s only while started,
 * so a worker at capacity stops taking connections and they wait in the kernel queue for an
 * idle sibling. It yields raw fds, which a worker either wraps in a net.Socket or hands to a
 * worker thread (gthread).
 *
 * ServerAcceptor: the pure-JS fallback, net.Server.listen({ fd }). Node offers no way to stop a
 * listening handle from accepting, so it cannot pause; workers queue what they cannot serve.
 */
import * as net from 'node:net';
import { constants } from 'node:os';
import type { ListenerInfo } from '../arbiter/messages.js';
import type { Logger } from '../logging/logger.js';
import { nativeAddon, type NativeAcceptorHandle, type NativeAddon } from './native.js';
import { socketFromFd, type PeerAddress } from './socket-from-fd.js';

/** A connection the native acceptor took: its fd and what accept4() told about it. */
export interface AcceptedFd {
  readonly fd: number;
  readonly socket?: undefined;
  readonly kind: 'tcp' | 'unix';
  readonly peer?: PeerAddress | undefined;
  /** Inherited TCP_NODELAY from the listener. */
  readonly noDelay?: boolean;
}

/** A new connection: a raw fd (native acceptor) or a socket (fallback). */
export type Accepted = AcceptedFd | { readonly fd?: undefined; readonly socket: net.Socket };

export type AcceptHandler = (accepted: Accepted, listener: ListenerInfo) => void;

export interface Acceptor {
  readonly listener: ListenerInfo;
  /** False for the fallback: stop() cannot keep connections in the kernel queue. */
  readonly pausable: boolean;
  /** Accept while started (idempotent). */
  start(): void;
  /** Leave new connections in the kernel queue (idempotent). */
  stop(): void;
  /**
   * Take one connection waiting in the kernel queue now, delivered to the handler as usual,
   * whether started or not; false when none is waiting (always, for the fallback).
   */
  acceptNow(): boolean;
  /** Stop for good and close this process's copy of the listening socket. */
  close(): void;
}

export interface AcceptorOptions {
  readonly backlog: number;
  /** Connections taken per readiness event (1 for a worker that serves one at a time). */
  readonly batch: number;
  readonly log: Logger;
}

/** The socket for an accepted connection (wrapping a raw fd in this thread: see socket-from-fd.ts). */
export function acceptedSocket(accepted: Accepted): net.Socket {
  if (accepted.socket !== undefined) return accepted.socket;
  return socketFromFd(accepted.fd, accepted);
}

export function createAcceptor(listener: ListenerInfo, onAccept: AcceptHandler, options: AcceptorOptions): Acceptor {
  const addon = nativeAddon();
  if (addon !== undefined) return new NativeAcceptor(addon, listener, onAccept, options);
  return new ServerAcceptor(listener, onAccept, options);
}

/** errno values after which accepting again at once would only spin (no fds left). */
const BACK_OFF_ERRNOS = new Set([constants.errno.EMFILE, constants.errno.ENFILE, constants.errno.ENOBUFS, constants.errno.ENOMEM].map((e) => -e));
const BACK_OFF_MS = 100;
const EAGAIN = -constants.errno.EAGAIN;

class NativeAcceptor implements Acceptor {
  readonly pausable = true;
  private readonly handle: NativeAcceptorHandle;
  private wanted = false;
  private closed = false;
  private backOff: NodeJS.Timeout | undefined;
  /** Connections from this listener have TCP_NODELAY (set on the listener, as Gunicorn does). */
  private readonly noDelay: boolean;

  constructor(
    private readonly addon: NativeAddon,
    readonly listener: ListenerInfo,
    private readonly onAccept: AcceptHandler,
    private readonly options: AcceptorOptions,
  ) {
    this.noDelay = listener.kind === 'tcp' && addon.inheritNoDelay(listener.fd);
    this.handle = addon.create(listener.fd, (result, address, port) => this.onResult(result, address, port), options.batch);
  }

  start(): void {
    if (this.closed) return;
    this.wanted = true;
    if (this.backOff === undefined) this.addon.start(this.handle);
  }

  stop(): void {
    this.wanted = false;
    if (!this.closed) this.addon.stop(this.handle);
  }

  acceptNow(): boolean {
    if (this.closed || this.backOff !== undefined) return false;
    // A connection has been delivered to onResult by the time this returns.
    const result = this.addon.acceptNow(this.handle);
    if (result >= 0) return true;
    if (result !== EAGAIN) this.onResult(result, undefined, undefined);
    return false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.wanted = false;
    clearTimeout(this.backOff);
    this.addon.close(this.handle);
    // The poll handle is closed on the next loop turn; the fd may go only after that.
    setImmediate(() => {
      try {
        this.addon.closeFd(this.listener.fd);
      } catch {
        // Already closed.
      }
    });
  }

  private onResult(result: number, address: string | undefined, port: number | undefined): void {
    if (result >= 0) {
      const peer: PeerAddress | undefined =
        address === undefined || port === undefined ? undefined : { address, family: address.includes(':') ? 'IPv6' : 'IPv4', port };
      this.onAccept({ fd: result, kind: this.listener.kind, peer, noDelay: this.noDelay }, this.listener);
      return;
    }
    this.options.log.error('accept() on %s failed: errno %s', this.listener.url, -result);
    if (BACK_OFF_ERRNOS.has(result) && this.wanted) {
      this.addon.stop(this.handle);
      this.backOff = setTimeout(() => {
        this.backOff = undefined;
        if (this.wanted && !this.closed) this.addon.start(this.handle);
      }, BACK_OFF_MS);
    }
  }
}

class ServerAcceptor implements Acceptor {
  readonly pausable = false;
  private readonly server: net.Server;
  private closed = false;

  constructor(
    readonly listener: ListenerInfo,
    onAccept: AcceptHandler,
    options: AcceptorOptions,
  ) {
    // allowHalfOpen: a client that half-closes after its request must still get the response.
    this.server = net.createServer({ allowHalfOpen: true });
    this.server.on('connection', (socket) => onAccept({ socket }, listener));
    this.server.on('error', (err) => options.log.error('Listening on %s failed: %s', listener.url, err.message));
    this.server.listen({ fd: listener.fd, backlog: options.backlog });
  }

  start(): void {
    // net.Server accepts from listen() on; it cannot pause.
  }

  stop(): void {
    // Cannot pause: see the file comment.
  }

  acceptNow(): boolean {
    return false;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.server.close();
  }
}
