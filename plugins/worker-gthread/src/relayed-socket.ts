/**
 * App thread: the Duplex a relayed connection is served on (see socket-relay.ts), with the
 * address fields of the real socket so the access log, the PROXY protocol's peer check and
 * `req.socket.remoteAddress` see what they would on a socket.
 */
import { Duplex } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import { postChunk, RELAY, type RelayPeer } from './socket-relay.js';

export class RelayedSocket extends Duplex {
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly remoteFamily: string | undefined;
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** Writes wait while the main thread's socket buffer is full. */
  private writesPaused = false;
  private pendingWrite: (() => void) | undefined;
  private readsPaused = false;
  private portClosed = false;

  constructor(
    private readonly port: MessagePort,
    peer: RelayPeer,
  ) {
    super({ allowHalfOpen: true });
    this.remoteAddress = peer.remoteAddress;
    this.remotePort = peer.remotePort;
    this.remoteFamily = peer.remoteFamily;
    this.localAddress = peer.localAddress;
    this.localPort = peer.localPort;
    port.on('message', (message: Uint8Array | string) => this.onMessage(message));
    port.on('close', () => {
      this.portClosed = true;
      this.destroy();
    });
  }

  /** Nagle is the main thread's socket's business (it sets noDelay). */
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  override _read(): void {
    if (!this.readsPaused) return;
    this.readsPaused = false;
    this.send(RELAY.resume);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.portClosed) postChunk(this.port, chunk);
    if (this.writesPaused) this.pendingWrite = callback;
    else callback();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.send(RELAY.end);
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.portClosed) {
      this.send(RELAY.close);
      this.port.close();
    }
    this.pendingWrite?.();
    this.pendingWrite = undefined;
    callback(error);
  }

  private onMessage(message: Uint8Array | string): void {
    if (typeof message !== 'string') {
      const buffer = Buffer.from(message.buffer, message.byteOffset, message.byteLength);
      if (!this.push(buffer) && !this.readsPaused) {
        this.readsPaused = true;
        this.send(RELAY.pause);
      }
      return;
    }
    if (message === RELAY.end) this.push(null);
    else if (message === RELAY.close) {
      this.portClosed = true;
      this.destroy();
    } else if (message === RELAY.pause) this.writesPaused = true;
    else if (message === RELAY.resume) {
      this.writesPaused = false;
      const callback = this.pendingWrite;
      this.pendingWrite = undefined;
      callback?.();
    }
  }

  private send(message: string): void {
    if (!this.portClosed) this.port.postMessage(message);
  }
}
