/**
 * A connection that closes after its response (the sync worker, or keepalive 0) sends that
 * response and its FIN in one segment.
 *
 * Without this, the response goes out as soon as it is written (TCP_NODELAY), and shutdown()
 * sends the FIN in a second segment. The client then wakes up twice and ACKs twice, and both
 * sides' kernels handle two segments. With TCP_CORK set on the connection, the kernel holds
 * the response's last partial segment until shutdown() adds the FIN to it.
 *
 * Two rules keep the cork from delaying anything:
 * - When our side ends, we call shutdown() ourselves, in the same turn. libuv would make that
 *   call only on its next loop turn, after whatever else this turn runs (a sync worker sets up
 *   its next connection here). Node asks for the shutdown through the socket's `_final`, which
 *   it calls once every byte written is in the kernel: that is where we make it, in place of
 *   libuv's.
 * - No bytes wait on a shutdown that may not come soon: a streamed response, a 100 Continue,
 *   a response the app ends later. So the cork lasts at most one loop turn after the first
 *   write. If our side has not ended by then, we remove the cork, which sends what the kernel
 *   holds, and later writes go out as they are made.
 *
 * Only for plain TCP: a TLS handshake would wait on the cork.
 */
import type { Socket } from 'node:net';
import type { NativeAddon } from './native.js';

type Method = (...args: unknown[]) => unknown;
interface Watched {
  _write: Method;
  _writev: Method;
  _final: (callback: (err?: Error | null) => void) => void;
}

export function corkUntilShutdown(socket: Socket, fd: number, addon: NativeAddon): void {
  if (!addon.setCork(fd, 1)) return;
  const watched = socket as unknown as Watched;
  const { _write: write, _writev: writev, _final: final } = watched;
  let corked = true;
  const uncorkIfOpen = (): void => {
    if (!corked || socket.destroyed || socket.writableEnded) return;
    corked = false;
    addon.setCork(fd, 0);
  };
  let armed = false;
  const arm = (): void => {
    if (armed) return;
    armed = true;
    setImmediate(uncorkIfOpen);
  };
  // Own properties shadowing net.Socket's implementation of the Writable contract.
  watched._write = function (this: Socket, ...args: unknown[]) {
    arm();
    return write.apply(this, args);
  };
  watched._writev = function (this: Socket, ...args: unknown[]) {
    arm();
    return writev.apply(this, args);
  };
  watched._final = function (this: Socket, callback) {
    // Node calls this once every byte written is in the kernel. If our shutdown fails (the
    // peer is gone, say), Node's own path reports it as it would.
    corked = false;
    if (addon.shutdownWrite(fd)) callback();
    else final.call(this, callback);
  };
}
