/**
 * A net.Socket for a connection fd that the native addon accepted.
 *
 * `new net.Socket({ fd })` first asks libuv what kind of fd it is: isatty, fstat, getsockname
 * and getsockopt, four syscalls per connection. Then reading `remoteAddress` costs a
 * getpeername, and `setNoDelay` a setsockopt. Gunicorn's sync worker makes none of these
 * calls, and at one connection per request they are a measured part of a sync worker's CPU.
 * We already know everything they would find out:
 * - the kind of fd is the listener's kind;
 * - accept4() gave us the peer address;
 * - the listener has TCP_NODELAY, which Linux copies to each connection accepted from it.
 *
 * So when Node's handle classes are reachable, we build the handle as net.Server does for a
 * connection it accepts: `new TCP(SOCKET)` (or Pipe), open(fd), then `net.Socket({ handle })`.
 * The handle classes are reached through `process.binding()`, which is deprecated but still
 * supported for these two bindings. Under `--pending-deprecation` that call would print a
 * warning, so then, or when the bindings are missing, we fall back to `{ fd }`.
 */
import * as net from 'node:net';
import { nodeFlagGiven } from './node-flags.js';

export interface PeerAddress {
  readonly address: string;
  readonly family: 'IPv4' | 'IPv6';
  readonly port: number;
}

export interface FdSocketOptions {
  readonly kind: 'tcp' | 'unix';
  /** The peer, from accept4(); left for getpeername() when undefined. */
  readonly peer?: PeerAddress | undefined;
  /** The fd already has TCP_NODELAY (inherited from its listener). */
  readonly noDelay?: boolean;
}

interface StreamHandle {
  open(fd: number): number;
  close(): void;
}
type HandleClass = new (type: number) => StreamHandle;
interface HandleClasses {
  readonly tcp: HandleClass;
  readonly pipe: HandleClass;
  /** The `SOCKET` type constant, the same in both bindings. */
  readonly socketType: number;
}

let handleClasses: HandleClasses | null | undefined;

function pendingDeprecation(): boolean {
  return process.env['NODE_PENDING_DEPRECATION'] === '1' || nodeFlagGiven('--pending-deprecation');
}

function loadHandleClasses(): HandleClasses | null {
  if (pendingDeprecation()) return null;
  try {
    const binding = (process as unknown as { binding(name: string): Record<string, unknown> }).binding;
    const tcpWrap = binding('tcp_wrap') as { TCP?: HandleClass; constants?: { SOCKET?: number } };
    const pipeWrap = binding('pipe_wrap') as { Pipe?: HandleClass; constants?: { SOCKET?: number } };
    const socketType = tcpWrap.constants?.SOCKET;
    if (typeof tcpWrap.TCP !== 'function' || typeof pipeWrap.Pipe !== 'function' || typeof socketType !== 'number') return null;
    if (pipeWrap.constants?.SOCKET !== socketType) return null;
    return { tcp: tcpWrap.TCP, pipe: pipeWrap.Pipe, socketType };
  } catch {
    return null;
  }
}

/** Whether sockets are built from Node's handle classes (false: the `{ fd }` fallback). */
export function buildsHandlesDirectly(): boolean {
  handleClasses ??= loadHandleClasses();
  return handleClasses !== null;
}

/**
 * The socket for an accepted connection fd, owned by this thread from now on. allowHalfOpen,
 * as net.Server gives: otherwise Node ends our side when a client half-closes after its
 * request, and the response is lost.
 */
export function socketFromFd(fd: number, options: FdSocketOptions): net.Socket {
  handleClasses ??= loadHandleClasses();
  // noDelay records what the fd already has, so that setNoDelay(true) makes no syscall.
  const common = { readable: true, writable: true, allowHalfOpen: true, noDelay: options.noDelay === true } as net.SocketConstructorOpts;
  let socket: net.Socket;
  if (handleClasses === null) {
    socket = new net.Socket({ ...common, fd });
  } else {
    const Handle = options.kind === 'tcp' ? handleClasses.tcp : handleClasses.pipe;
    const handle = new Handle(handleClasses.socketType);
    const err = handle.open(fd);
    if (err !== 0) {
      handle.close();
      throw Object.assign(new Error(`Cannot open accepted fd ${fd}: errno ${-err}`), { errno: err });
    }
    socket = new net.Socket({ ...common, handle } as net.SocketConstructorOpts);
  }
  // What getpeername() would answer, cached where net.Socket keeps it.
  if (options.peer !== undefined) (socket as net.Socket & { _peername?: PeerAddress })._peername = options.peer;
  return socket;
}
