/**
 * The sync worker's own contract, end to end through the real CLI on 127.0.0.1 (the behaviour
 * it shares with the other classes is in test/workers/matrix.test.ts):
 * - one connection, so one request, at a time per process: a worker busy with a request (even
 *   one only awaiting I/O) takes no new connection, which waits for an idle sibling;
 * - concurrent requests to a single process are served one after the other;
 * - the pure-JS fallback (no native addon) still serves;
 * - every spelling of the class resolves to it.
 */
import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { after, describe, it } from 'node:test';
import {
  cleanup,
  eventsApp,
  eventsReplyPid,
  httpGet,
  listeningPort,
  nativeBuilt,
  startServer,
  stopServer,
  tempDir,
  waitFor,
  waitForEvents,
} from '@gunicorn-ts/test/support';

after(cleanup);

describe('sync worker', () => {
  it('a worker busy with a slow (non-blocking) request takes no new connection', async (t) => {
    if (!nativeBuilt()) return t.skip('the native accept addon is not built');
    const dir = tempDir();
    const server = await startServer(['-k', 'sync', '-w', '2', '-b', '127.0.0.1:0', eventsApp(dir)], { cwd: dir, workers: 2 });
    t.after(() => stopServer(server));
    const port = listeningPort(server);
    await waitForEvents(dir, 'loaded', 2);
    const slow = httpGet({ port, path: '/sleep?ms=2500', timeoutMs: 6000 });
    const [busy] = await waitForEvents(dir, 'sleep', 1);
    const served = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const res = await httpGet({ port, timeoutMs: 2000 });
      assert.ok(performance.now() - t0 < 1000, 'answered at once by the idle worker');
      served.add(eventsReplyPid(res));
    }
    assert.equal(eventsReplyPid(await slow), busy!.pid);
    assert.equal(served.size, 1);
    assert.ok(!served.has(busy!.pid), 'the busy worker accepted nothing');
  });

  it('one process serves concurrent requests one after the other', async (t) => {
    const dir = tempDir();
    const server = await startServer(['-k', 'sync', '-w', '1', '-b', '127.0.0.1:0', eventsApp(dir)], { cwd: dir });
    t.after(() => stopServer(server));
    const port = listeningPort(server);
    await waitForEvents(dir, 'loaded', 1);
    const ms = 400;
    const done: number[] = [];
    await Promise.all(
      Array.from({ length: 3 }, () =>
        httpGet({ port, path: `/sleep?ms=${ms}`, timeoutMs: 10_000 }).then((res) => {
          eventsReplyPid(res);
          done.push(performance.now());
        }),
      ),
    );
    done.sort((a, b) => a - b);
    for (let i = 1; i < done.length; i++) {
      const gap = done[i]! - done[i - 1]!;
      assert.ok(gap >= ms * 0.85, `request ${i + 1} finished ${gap.toFixed(0)} ms after request ${i}: they ran one at a time`);
    }
  });

  it('the pure-JS fallback (no addon) serves keep-alive and close requests', async (t) => {
    const dir = tempDir();
    const server = await startServer(['-w', '2', '-k', 'sync', '-b', '127.0.0.1:0', eventsApp(dir)], { cwd: dir, workers: 2, env: { GTS_NO_NATIVE_ACCEPT: '1' } });
    t.after(() => stopServer(server));
    const port = listeningPort(server);
    assert.match(server.output(), /Native accept addon unavailable/);
    // Without the addon the master cannot listen without polling; the first worker's listen() does.
    await waitFor('a worker listening', () => httpGet({ port }).then(() => true, () => false), 5000, 50);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const results = await Promise.all(Array.from({ length: 40 }, () => httpGet({ port, agent, timeoutMs: 5000 })));
    agent.destroy();
    assert.ok(results.every((r) => r.status === 200 && r.headers.connection === 'close'));
    assert.equal((await httpGet({ port, path: '/sleep?ms=50' })).status, 200);
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
  });

  for (const spelling of ['egg:gunicorn-ts#sync', 'egg:@gunicorn-ts/worker-sync#sync', '@gunicorn-ts/worker-sync', '@gunicorn-ts/worker-sync:SyncWorker']) {
    it(`-k ${spelling} runs the sync worker`, async (t) => {
      const dir = tempDir();
      const server = await startServer(['-k', spelling, '-b', '127.0.0.1:0', eventsApp(dir)], { cwd: dir });
      t.after(() => stopServer(server));
      assert.ok(server.output().includes(`Using worker: ${spelling}\n`), server.output());
      // A client that asks for keep-alive: only the sync contract answers Connection: close.
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      t.after(() => agent.destroy());
      const res = await httpGet({ port: listeningPort(server), agent });
      eventsReplyPid(res);
      assert.equal(res.headers.connection, 'close', 'the sync contract: no keep-alive');
    });
  }
});
