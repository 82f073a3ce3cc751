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
import { after, describe, it } from 'node:test';
import {
  childPids,
  cleanup,
  eventsApp,
  eventsReply,
  httpGet,
  listeningPort,
  nativeBuilt,
  servedWithoutNativeAddon,
  servedWithWorkerSpelling,
  startServer,
  stopServer,
  tempDir,
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
      served.add(eventsReply(res).pid);
    }
    assert.equal(eventsReply(await slow).pid, busy!.pid);
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
          eventsReply(res);
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

  it('timeout is the length of a request, as Gunicorn\'s sync: one awaiting I/O past it gets its worker killed', async (t) => {
    const dir = tempDir();
    const server = await startServer(['-k', 'sync', '-w', '1', '--timeout', '2', '-b', '127.0.0.1:0', eventsApp(dir)], { cwd: dir });
    t.after(() => stopServer(server));
    const port = listeningPort(server);
    // Shorter than the timeout: served, nobody killed.
    assert.equal((await httpGet({ port, path: '/sleep?ms=1000', timeoutMs: 5000 })).status, 200);
    const [first] = childPids(server.pid);
    const mark = server.output().length;
    const started = performance.now();
    const outcome = await httpGet({ port, path: '/sleep?ms=8000', timeoutMs: 10_000 }).then(() => 'answered', () => 'cut');
    const elapsed = performance.now() - started;
    assert.equal(outcome, 'cut', 'the worker died with the request');
    assert.ok(elapsed < 6000, `killed ${elapsed.toFixed(0)} ms into a request (timeout 2 s)`);
    assert.match(server.output().slice(mark), new RegExp(`WORKER TIMEOUT \\(pid:${first}\\)`));
    assert.equal((await httpGet({ port, timeoutMs: 10_000 })).status, 200, 'a replacement serves');
  });

  it('the pure-JS fallback (no addon) serves keep-alive and close requests', async () => {
    const results = await servedWithoutNativeAddon(['-k', 'sync']);
    assert.ok(results.every((r) => r.status === 200 && r.headers.connection === 'close'));
  });

  for (const spelling of ['egg:gunicorn-ts#sync', 'egg:@gunicorn-ts/worker-sync#sync', '@gunicorn-ts/worker-sync', '@gunicorn-ts/worker-sync:SyncWorker']) {
    it(`-k ${spelling} runs the sync worker`, async () => {
      // A client that asks for keep-alive: only the sync contract answers Connection: close.
      const answers = await servedWithWorkerSpelling(spelling);
      for (const res of answers) assert.equal(res.headers.connection, 'close', 'the sync contract: no keep-alive');
      const [first, second] = answers.map(eventsReply);
      assert.notEqual(first!.port, second!.port, 'a new connection per request');
    });
  }
});
