/**
 * corkUntilShutdown (core/src/worker/response-cork.ts) on real loopback connections: bytes
 * that no shutdown follows are never held on the cork, a response bigger than the socket
 * buffers is delivered whole before the FIN, and a unix socket is left alone.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { corkUntilShutdown, nativeAddon } from '@gunicorn-ts/core';
import { cleanup, tempDir } from '../support/index.js';

after(cleanup);

const addon = nativeAddon();

/** Linux holds corked bytes at most 200 ms; anything held on the cork shows up past this. */
const HELD_MS = 120;

interface Pair {
  readonly server: net.Socket;
  readonly client: net.Socket;
  close(): void;
}

/** A connected pair over `listen` (a port on 127.0.0.1 or a unix path); the server side is half-open like a worker's. */
async function connectedPair(listen: { port: number; host: string } | { path: string }): Promise<Pair> {
  const listener = net.createServer({ allowHalfOpen: true });
  listener.listen(listen);
  await once(listener, 'listening');
  const accepted = once(listener, 'connection') as Promise<[net.Socket]>;
  const address = listener.address();
  const client = typeof address === 'string' ? net.connect(address) : net.connect(address!.port, '127.0.0.1');
  const [server] = await accepted;
  await once(client, 'connect').catch(() => undefined);
  return {
    server,
    client,
    close() {
      server.destroy();
      client.destroy();
      listener.close();
    },
  };
}

function fdOf(socket: net.Socket): number {
  return (socket as unknown as { _handle: { fd: number } })._handle.fd;
}

/** Collect everything the client receives until the server's FIN. */
function readToEnd(client: net.Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  client.on('data', (d: Buffer) => chunks.push(d));
  return once(client, 'end').then(() => Buffer.concat(chunks));
}

/** Run `body` on a fresh 127.0.0.1 pair whose server side is corked until shutdown, then close the pair. */
async function withCorkedPair(body: (pair: Pair) => Promise<void>): Promise<void> {
  const pair = await connectedPair({ port: 0, host: '127.0.0.1' });
  try {
    corkUntilShutdown(pair.server, fdOf(pair.server), addon!);
    await body(pair);
  } finally {
    pair.close();
  }
}

describe('corkUntilShutdown', { skip: addon === undefined ? 'the native addon is not built' : false }, () => {
  it('sends bytes that no shutdown follows within one loop turn, not on the cork timer', async () => {
    await withCorkedPair(async (pair) => {
      const sentAt = performance.now();
      pair.server.write('first chunk of a streamed response');
      const [data] = (await once(pair.client, 'data')) as [Buffer];
      const waitedMs = performance.now() - sentAt;
      assert.equal(data.toString(), 'first chunk of a streamed response');
      assert.ok(waitedMs < HELD_MS, `the first chunk arrived after ${waitedMs.toFixed(1)} ms: held on the cork`);
      // Later writes go out as they are made, and the end still reaches the client.
      const rest = readToEnd(pair.client);
      pair.server.write('second ');
      pair.server.end('and last');
      assert.equal((await rest).toString(), 'second and last');
    });
  });

  it('delivers a response written with end() in the same turn, then the FIN', async () => {
    await withCorkedPair(async (pair) => {
      const received = readToEnd(pair.client);
      pair.server.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n');
      pair.server.end('hello');
      assert.equal((await received).toString(), 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello');
      // The server side finishes normally although libuv's own shutdown() comes after ours.
      pair.client.end();
      await once(pair.server, 'close');
    });
  });

  it('does not shut down early while bytes wait in Node: a body larger than the socket buffers arrives whole', async () => {
    await withCorkedPair(async (pair) => {
      const body = Buffer.alloc(16 * 1024 * 1024, 'x');
      pair.client.pause(); // let the buffers fill, so end() finds bytes still in Node's queue
      const received = readToEnd(pair.client);
      pair.server.end(body);
      assert.ok(pair.server.writableLength > 0, 'the test needs bytes still queued in Node at end()');
      pair.client.resume();
      const data = await received;
      assert.equal(data.length, body.length);
      assert.ok(data.equals(body));
    });
  });

  it('leaves a unix socket alone (no TCP_CORK there)', async () => {
    const path = join(tempDir('gts-cork-'), 's.sock');
    const pair = await connectedPair({ path });
    try {
      assert.equal(addon!.setCork(fdOf(pair.server), 1), false);
      const received = readToEnd(pair.client);
      corkUntilShutdown(pair.server, fdOf(pair.server), addon!);
      pair.server.end('over a unix socket');
      assert.equal((await received).toString(), 'over a unix socket');
    } finally {
      pair.close();
    }
  });
});
