/**
 * The fallback hand-off, for when the native accept addon is not built: the main thread's
 * net.Server accepts (it cannot give a socket's fd away: closing its handle would close the
 * fd), so the main thread keeps the socket and relays its bytes to the app thread over a
 * MessagePort, where a RelayedSocket stands in for it. About a third of the fd hand-off's
 * keep-alive throughput (docs/gthread.md), but the class works everywhere.
 *
 * On the port, both ways: a Uint8Array is data; a string is a control word. Flow control runs
 * both ways too: the side that cannot take more says "pause", then "resume".
 */
import type { Socket } from 'node:net';
import type { MessagePort } from 'node:worker_threads';

/** Control words on a relay port. */
export const RELAY = {
  /** No more data from this side (a half-close). */
  end: 'end',
  /** The connection is gone: tear down. */
  close: 'close',
  /** Stop sending data until 'resume'. */
  pause: 'pause',
  resume: 'resume',
} as const;

/** What the app thread learns about the relayed connection (net.Socket's address fields). */
export interface RelayPeer {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
}

/**
 * Post a chunk without cloning more than it: structured clone copies a view's whole
 * ArrayBuffer (an 8 KB Buffer pool slab for a small write), so copy the bytes once into their
 * own buffer and transfer that.
 */
export function postChunk(port: MessagePort, chunk: Uint8Array): void {
  const copy = new Uint8Array(chunk); // a copy (Buffer#slice would share the memory)
  port.postMessage(copy, [copy.buffer]);
}

export function relayPeer(socket: Socket): RelayPeer {
  return {
    remoteAddress: socket.remoteAddress,
    remotePort: socket.remotePort,
    remoteFamily: socket.remoteFamily,
    localAddress: socket.localAddress,
    localPort: socket.localPort,
  };
}

/** Main thread: pump a socket's bytes to and from `port` until either side closes. */
export function relaySocket(socket: Socket, port: MessagePort): void {
  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    port.postMessage(RELAY.close);
    port.close();
    socket.destroy();
  };
  // Responses are written as the app produces them: no Nagle delay between our writes.
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => postChunk(port, chunk));
  socket.on('end', () => port.postMessage(RELAY.end));
  socket.on('drain', () => port.postMessage(RELAY.resume));
  socket.on('error', () => undefined); // 'close' follows
  socket.on('close', close);
  port.on('message', (message: Uint8Array | string) => {
    if (typeof message !== 'string') {
      if (!socket.write(message)) port.postMessage(RELAY.pause);
      return;
    }
    if (message === RELAY.end) socket.end();
    else if (message === RELAY.pause) socket.pause();
    else if (message === RELAY.resume) socket.resume();
    else if (message === RELAY.close) close();
  });
  // The app thread ended (terminated, or crashed) with the connection open.
  port.on('close', close);
}
