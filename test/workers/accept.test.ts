/**
 * Accepting only with capacity: a busy sync worker (even one that is merely awaiting I/O)
 * leaves new connections in the kernel queue for an idle sibling; an evented worker at
 * worker_connections stops accepting, and the waiting connection is served (not reset) once a
 * slot frees. The pure-JS fallback (no native addon) still serves.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import * as net from 'node:net';
import { after, describe, it } from 'node:test';
import { cleanup, freePort, httpGet, nativeBuilt, pidApp, sleep, startServer, waitFor } from '../support/index.js';

after(cleanup);

function pidOf(body: string): string {
  return /pid=(\d+)/.exec(body)?.[1] ?? '';
}

/** Open a raw connection and send one keep-alive request; resolves with the socket and the answer. */
function rawRequest(port: number, path = '/'): { socket: net.Socket; answer: Promise<string> } {
  const socket = net.connect(port, '127.0.0.1');
  socket.setEncoding('utf8');
  const answer = new Promise<string>((resolve, reject) => {
    let text = '';
    socket.on('data', (chunk: string) => {
      text += chunk;
      if (/\r\n\r\n[\s\S]*pid=\d+\n/.test(text)) resolve(text);
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`closed before an answer: ${JSON.stringify(text)}`)));
  });
  answer.catch(() => undefined);
  socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`);
  return { socket, answer };
}

describe('accepting with capacity', () => {
  it('sync: a worker busy with a slow (non-blocking) request takes no new connection', async (t) => {
    if (!nativeBuilt()) return t.skip('the native accept addon is not built');
    const port = await freePort();
    const server = await startServer(['-w', '2', '-b', `127.0.0.1:${port}`, pidApp()], { workers: 2 });
    await sleep(200);
    const slow = httpGet({ port, path: '/sleep?ms=2500', timeoutMs: 6000 });
    await sleep(300);
    const served = new Set<string>();
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const res = await httpGet({ port, timeoutMs: 2000 });
      assert.ok(performance.now() - t0 < 1000, 'answered at once by the idle worker');
      served.add(pidOf(res.body));
    }
    const busy = pidOf((await slow).body);
    assert.equal(served.size, 1);
    assert.ok(!served.has(busy), 'the busy worker accepted nothing');
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('evented: past worker_connections a connection waits in the kernel queue, then is served', async (t) => {
    if (!nativeBuilt()) return t.skip('the native accept addon is not built');
    const port = await freePort();
    const server = await startServer(['-k', 'evented', '--worker-connections', '2', '--keep-alive', '30', '-b', `127.0.0.1:${port}`, pidApp()]);
    const first = rawRequest(port);
    const second = rawRequest(port);
    await first.answer;
    await second.answer;
    const third = rawRequest(port);
    const early = await Promise.race([third.answer.then(() => 'answered', () => 'reset'), sleep(700).then(() => 'waiting')]);
    assert.equal(early, 'waiting', 'the third connection is neither served nor reset while two are open');
    first.socket.destroy();
    assert.match(await third.answer, /^HTTP\/1\.1 200/);
    second.socket.destroy();
    third.socket.destroy();
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('evented: a connection goes to the worker that has room', async (t) => {
    if (!nativeBuilt()) return t.skip('the native accept addon is not built');
    const port = await freePort();
    const server = await startServer(['-w', '2', '-k', 'evented', '--worker-connections', '1', '--keep-alive', '30', '-b', `127.0.0.1:${port}`, pidApp()], { workers: 2 });
    await sleep(200);
    const held = rawRequest(port);
    const heldPid = pidOf(await held.answer);
    for (let i = 0; i < 5; i++) {
      const res = await httpGet({ port, timeoutMs: 2000 });
      assert.notEqual(pidOf(res.body), heldPid);
    }
    held.socket.destroy();
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  for (const workerClass of ['sync', 'evented']) {
    it(`${workerClass}: the pure-JS fallback (no addon) serves keep-alive and close requests`, async () => {
      const port = await freePort();
      const server = await startServer(['-w', '2', '-k', workerClass, '-b', `127.0.0.1:${port}`, pidApp()], { workers: 2, env: { GTS_NO_NATIVE_ACCEPT: '1' } });
      assert.match(server.output(), /Native accept addon unavailable/);
      // Without the addon the master cannot listen without polling; the first worker's listen() does.
      await waitFor('a worker listening', () => httpGet({ port }).then(() => true, () => false), 5000, 50);
      const agent = new Agent({ keepAlive: true, maxSockets: 4 });
      const results = await Promise.all(Array.from({ length: 40 }, () => httpGet({ port, agent, timeoutMs: 5000 })));
      agent.destroy();
      assert.ok(results.every((r) => r.status === 200));
      assert.equal((await httpGet({ port, path: '/sleep?ms=50' })).status, 200);
      server.signal('SIGTERM');
      assert.equal(await server.waitExit(10_000), 0);
    });
  }
});
