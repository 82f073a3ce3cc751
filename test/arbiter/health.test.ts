/**
 * Worker health: a worker whose event loop is blocked past `timeout` is killed and replaced
 * within timeout + 1 s; a worker that cannot boot stops the master (exit 3, or 4 when the app
 * cannot be loaded) with the error on stderr, without a respawn loop.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { childPids, cleanup, freePort, httpGet, isAlive, pidApp, REPO_ROOT, sleep, startCli, startServer, tempDir, waitFor, writeFile } from '../support/index.js';

after(cleanup);

describe('worker health', () => {
  it('timeout: a blocked worker gets WORKER TIMEOUT within timeout + 1 s and is replaced', async () => {
    const port = await freePort();
    const server = await startServer(['-w', '2', '-t', '2', '-b', `127.0.0.1:${port}`, pidApp()], { workers: 2 });
    const before = childPids(server.pid);
    const mark = server.output().length;
    const blocked = httpGet({ port, path: '/block?ms=20000', timeoutMs: 15_000 }).then(
      () => 'answered',
      () => 'cut',
    );
    const t0 = performance.now();
    const match = await server.waitForLine(/WORKER TIMEOUT \(pid:(\d+)\)/, 8000, mark);
    const latency = performance.now() - t0;
    const victim = Number(match[1]);
    assert.ok(before.includes(victim));
    assert.ok(latency <= 3000, `detected after ${latency.toFixed(0)} ms (timeout 2 s)`);
    assert.ok(latency >= 1900, `killed before it was blocked for timeout: ${latency.toFixed(0)} ms`);
    await waitFor('victim killed', () => !isAlive(victim), 3000);
    assert.equal(await blocked, 'cut');
    await waitFor('replacement', () => childPids(server.pid).length === 2 && !childPids(server.pid).includes(victim), 5000);
    assert.equal((await httpGet({ port })).status, 200);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('a worker whose boot never finishes (a post_worker_init that never settles) gets WORKER TIMEOUT and is replaced, as Gunicorn bounds boot by timeout', async () => {
    const dir = tempDir();
    const config = writeFile(dir, 'hang.conf.mjs', 'export const post_worker_init = () => new Promise(() => {});\n');
    const port = await freePort();
    const server = startCli(['-c', config, '-w', '1', '-t', '1', '-b', `127.0.0.1:${port}`, pidApp(dir)]);
    try {
      const first = Number((await server.waitForLine(/Booting worker with pid: (\d+)/, 10_000))[1]);
      const t0 = performance.now();
      await server.waitForLine(new RegExp(`WORKER TIMEOUT \\(pid:${first}\\): not ready after \\d+ s`), 12_000);
      const latency = performance.now() - t0;
      assert.ok(latency >= 4000, `not before the 5 s floor: ${latency.toFixed(0)} ms`);
      await waitFor('the hung worker is gone', () => !isAlive(first), 3000);
      await waitFor('a replacement boots', () => childPids(server.pid).some((pid) => pid !== first), 5000);
    } finally {
      server.signal('SIGQUIT');
      await server.waitExit(5000);
    }
  });

  it('timeout holds for a retiring worker too: one blocked in a request when HUP retires it gets WORKER TIMEOUT, not graceful_timeout later', async () => {
    for (const workerClass of ['sync', 'evented']) {
      const port = await freePort();
      const server = await startServer(['-k', workerClass, '-w', '1', '-t', '2', '-b', `127.0.0.1:${port}`, pidApp()]);
      const [old] = childPids(server.pid);
      const blocked = httpGet({ port, path: '/block?ms=25000', timeoutMs: 20_000 }).then(() => 'answered', () => 'cut');
      await sleep(300);
      const mark = server.output().length;
      const t0 = performance.now();
      server.signal('SIGHUP');
      const match = await server.waitForLine(/WORKER TIMEOUT \(pid:(\d+)\)/, 8000, mark);
      assert.equal(Number(match[1]), old, workerClass);
      await waitFor('the stuck worker gone', () => !isAlive(old!), 3000);
      assert.ok(performance.now() - t0 < 6000, `${workerClass}: gone ${(performance.now() - t0).toFixed(0)} ms after the HUP (graceful_timeout is 30 s)`);
      assert.equal(await blocked, 'cut');
      assert.equal((await httpGet({ port })).status, 200);
      server.signal('SIGQUIT');
      await server.waitExit(5000);
    }
  });

  it('max_requests: the sync worker\'s last request may outlast graceful_timeout, as in Gunicorn only timeout bounds it; evented cuts it at graceful_timeout and says so', async () => {
    const cases = [
      ['sync', 200],
      ['evented', 'cut'],
    ] as const;
    for (const [workerClass, expected] of cases) {
      const port = await freePort();
      const server = await startServer(['-k', workerClass, '-w', '1', '-t', '10', '--graceful-timeout', '1', '--max-requests', '1', '-b', `127.0.0.1:${port}`, pidApp()]);
      const mark = server.output().length;
      const last = await httpGet({ port, path: '/sleep?ms=2500', timeoutMs: 8000 }).then((r) => r.status, () => 'cut');
      assert.equal(last, expected, workerClass);
      if (expected === 'cut') await server.waitForLine(/Worker graceful timeout \(pid:\d+\)/, 5000, mark);
      server.signal('SIGQUIT');
      await server.waitExit(5000);
    }
  });

  it('an app that throws at import stops the master with exit 4 and the error, no respawn loop', async () => {
    const dir = tempDir();
    const app = writeFile(dir, 'broken.mjs', "throw new Error('kaboom at import');\n");
    const t0 = Date.now();
    const server = startCli(['-w', '3', '-b', `127.0.0.1:${await freePort()}`, `${app}:app`]);
    const status = await server.waitExit(10_000);
    assert.equal(status, 4);
    assert.ok(Date.now() - t0 < 8000);
    assert.match(server.output(), /kaboom at import/);
    assert.match(server.output(), /Reason: App failed to load\./);
    const boots = (server.output().match(/Booting worker/g) ?? []).length;
    assert.ok(boots <= 3, `${boots} workers were booted: no respawn loop`);
  });

  it('a missing app module stops the master with exit 4', async () => {
    const server = startCli(['-b', `127.0.0.1:${await freePort()}`, './does-not-exist.mjs:app'], { cwd: tempDir() });
    assert.equal(await server.waitExit(10_000), 4);
    assert.match(server.output(), /does-not-exist/);
  });

  it('a worker class that fails to boot stops the master with exit 3', async () => {
    const dir = tempDir();
    const core = pathToFileURL(join(REPO_ROOT, 'core', 'dist', 'index.js')).href;
    const workerClass = writeFile(dir, 'bad-worker.mjs', `import { Worker } from '${core}';\nexport default class BadWorker extends Worker { constructor() { throw new Error('no worker today'); } }\n`);
    const server = startCli(['-k', workerClass, '-b', `127.0.0.1:${await freePort()}`, pidApp(dir)]);
    assert.equal(await server.waitExit(10_000), 3);
    assert.match(server.output(), /Reason: Worker failed to boot\./);
  });

  it('--preload loads the app in the master: a broken app fails before any worker starts', async () => {
    const dir = tempDir();
    const app = writeFile(dir, 'broken.mjs', "throw new Error('preload kaboom');\n");
    const server = startCli(['--preload', '-b', `127.0.0.1:${await freePort()}`, `${app}:app`]);
    assert.equal(await server.waitExit(10_000), 4);
    assert.match(server.output(), /preload kaboom/);
    assert.doesNotMatch(server.output(), /Booting worker/);
  });
});
