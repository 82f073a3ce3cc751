/**
 * Replacing workers without dropping a request: HUP (new config, fresh app, replacement first),
 * max_requests (the worker drains, connections wait in the kernel queue), --reload (file
 * change), each under a keep-alive load loop that counts every failure and non-2xx answer.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { childPids, cleanup, freePort, httpGet, isAlive, keepAliveLoad, PID_APP_SOURCE, pidApp, sleep, startServer, tempDir, waitFor, waitWorkersServing, writeFile } from '../support/index.js';

after(cleanup);

describe('reloading without failed requests', () => {
  it('HUP re-reads the config and replaces every worker with zero failed requests under keep-alive load', async () => {
    const dir = tempDir();
    const app = pidApp(dir);
    const port = await freePort();
    const config = writeFile(dir, 'gunicorn.conf.js', `export const workers = 2;\nexport const raw_env = ['GREETING=one'];\n`);
    const server = await startServer(['-c', config, '-k', 'evented', '-b', `127.0.0.1:${port}`, '--keep-alive', '5', app], { workers: 2 });
    const before = childPids(server.pid);
    assert.equal((await httpGet({ port, path: '/env?name=GREETING' })).body, 'one\n');

    writeFileSync(config, `export const workers = 3;\nexport const raw_env = ['GREETING=two'];\n`);
    const loading = keepAliveLoad({ port, concurrency: 16, durationMs: 4000 });
    await sleep(500);
    server.signal('SIGHUP');
    await server.waitForLine(/Hang up: Master/, 5000);
    await waitFor('old workers gone, three new ones', () => {
      const now = childPids(server.pid);
      return now.length === 3 && before.every((pid) => !now.includes(pid));
    }, 10_000);
    const load = await loading;
    assert.equal(load.failed, 0, `failures: ${load.errors.join(', ')}`);
    assert.ok(load.ok > 500, `only ${load.ok} requests completed`);
    assert.equal((await httpGet({ port, path: '/env?name=GREETING' })).body, 'two\n', 'new workers run with the new config');
    assert.match(server.output(), /Handling signal: hup/);
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
  });

  it('a second HUP while the first one\'s workers still boot keeps the serving workers until a generation is ready', async () => {
    const dir = tempDir();
    // Booting takes 1.5 s: the second HUP comes while the first one's replacements load.
    const app = writeFile(dir, 'slowboot.mjs', `await new Promise((r) => setTimeout(r, 1500));\n${PID_APP_SOURCE}`);
    const port = await freePort();
    const server = await startServer(['-w', '2', '-k', 'evented', '--keep-alive', '5', '-b', `127.0.0.1:${port}`, `${app}:app`], { workers: 2, timeoutMs: 15_000 });
    const serving = await waitWorkersServing(port, 2);
    const loading = keepAliveLoad({ port, concurrency: 8, durationMs: 5000 });
    await sleep(300);
    server.signal('SIGHUP');
    await sleep(700);
    server.signal('SIGHUP');
    await sleep(500);
    const alive = childPids(server.pid).map(String);
    // Before the fix both HUPs' workers counted as capacity and the serving ones got TERM here.
    for (const pid of serving) assert.ok(alive.includes(pid), `serving worker ${pid} is kept until its replacement is ready`);
    const load = await loading;
    assert.equal(load.failed, 0, `failures: ${load.errors.join(', ')}`);
    assert.ok(load.pids.size >= 3, `served by ${[...load.pids].join(', ')}: the last generation took over`);
    await waitFor('two workers of the last generation', () => childPids(server.pid).length === 2 && childPids(server.pid).every((pid) => !serving.has(String(pid))), 10_000);
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
  });

  it('max_requests: workers are recycled under keep-alive load with zero failed requests', async () => {
    const port = await freePort();
    const server = await startServer(['-w', '2', '-k', 'evented', '--keep-alive', '5', '--max-requests', '200', '--max-requests-jitter', '50', '-b', `127.0.0.1:${port}`, pidApp()], { workers: 2 });
    const before = childPids(server.pid);
    const load = await keepAliveLoad({ port, concurrency: 16, durationMs: 4000 });
    assert.equal(load.failed, 0, `failures: ${load.errors.join(', ')}`);
    assert.ok(load.pids.size > 2, `requests were served by ${load.pids.size} workers: workers were recycled`);
    assert.match(server.output(), /Autorestarting worker after current request/);
    await waitFor('two workers again', () => childPids(server.pid).length === 2, 5000);
    assert.ok(childPids(server.pid).every((pid) => !before.includes(pid)));
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
  });

  it('max_requests with the sync worker and one process: connections wait for the replacement, none fails', async () => {
    const port = await freePort();
    const server = await startServer(['-w', '1', '--max-requests', '50', '-b', `127.0.0.1:${port}`, pidApp()]);
    const load = await keepAliveLoad({ port, concurrency: 4, durationMs: 4000 });
    assert.equal(load.failed, 0, `failures: ${load.errors.join(', ')}`);
    assert.ok(load.pids.size >= 4, `served by ${load.pids.size} workers`);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('--reload restarts the workers when an app file changes', async () => {
    const dir = tempDir();
    const app = pidApp(dir);
    const port = await freePort();
    const server = await startServer(['--reload', '-b', `127.0.0.1:${port}`, app]);
    await waitWorkersServing(port, 1);
    const [first] = childPids(server.pid);
    await sleep(300); // the master watches once the worker reported ready
    writeFileSync(`${dir}/app.mjs`, PID_APP_SOURCE.replace("'pid=' + process.pid", "'v2 pid=' + process.pid"));
    await server.waitForLine(/Worker reloading: .*app\.mjs modified/, 5000);
    await waitFor('new code served', async () => /^v2 pid=/.test((await httpGet({ port })).body), 10_000, 100);
    assert.ok(!childPids(server.pid).includes(first!));
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('--reload ignores files that are not code, such as a log written next to the app', async () => {
    const dir = tempDir();
    const app = pidApp(dir);
    const port = await freePort();
    // The access log lands in the watched directory: before, every request restarted the worker.
    const server = await startServer(['--reload', '--access-logfile', join(dir, 'access.log'), '-b', `127.0.0.1:${port}`, app]);
    await waitWorkersServing(port, 1);
    const workers = childPids(server.pid);
    await sleep(300); // the master watches once the worker reported ready
    for (let i = 0; i < 5; i++) assert.equal((await httpGet({ port })).status, 200);
    writeFileSync(join(dir, 'notes.txt'), 'not code\n');
    await sleep(1000); // past the 200 ms debounce, with room for a restart to show
    assert.ok(readFileSync(join(dir, 'access.log'), 'utf8').includes('GET /'), 'the access log was written');
    assert.doesNotMatch(server.output(), /Worker reloading/);
    assert.deepEqual(childPids(server.pid), workers);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('workers that cannot load an app that booted before (the code broke on disk) are retried, not a halt', async () => {
    const dir = tempDir();
    const app = pidApp(dir);
    const port = await freePort();
    const server = await startServer(['-w', '2', '--max-requests', '5', '-b', `127.0.0.1:${port}`, app], { workers: 2 });
    await waitWorkersServing(port, 2);
    writeFileSync(`${dir}/app.mjs`, "throw new Error('broken on purpose');\n");
    // Enough requests to recycle the workers: their replacements load the broken file. Before,
    // the master then halted (exit 4), as for a broken app at start.
    await waitFor('a replacement that failed to load', async () => {
      await httpGet({ port, timeoutMs: 500 }).catch(() => undefined);
      return /the code changed on disk/.test(server.output());
    }, 15_000, 20);
    assert.ok(isAlive(server.pid), 'the master keeps its sockets and runs on');
    // Mended on disk: a next try boots, and the server serves with 2 workers again.
    writeFileSync(`${dir}/app.mjs`, PID_APP_SOURCE);
    await waitWorkersServing(port, 2, 20_000);
    server.signal('SIGQUIT');
    assert.equal(await server.waitExit(5000), 0);
  });

  it('a HUP whose new app cannot load keeps the previous workers serving', async () => {
    const dir = tempDir();
    const app = pidApp(dir);
    const port = await freePort();
    const server = await startServer(['-w', '2', '-b', `127.0.0.1:${port}`, app], { workers: 2 });
    await waitWorkersServing(port, 2);
    const before = childPids(server.pid);
    writeFileSync(`${dir}/app.mjs`, "throw new Error('broken on purpose');\n");
    server.signal('SIGHUP');
    await server.waitForLine(/reload is rolled back/, 10_000);
    await sleep(300);
    assert.deepEqual(childPids(server.pid), before);
    assert.equal((await httpGet({ port })).status, 200);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('a worker spawned after the config file changed on disk, without a HUP, comes with a warning that says so, once per change', async () => {
    const dir = tempDir();
    const config = writeFile(dir, 'gunicorn.conf.js', 'export const pre_request = () => {};\n');
    const port = await freePort();
    const server = await startServer(['-c', config, '-b', `127.0.0.1:${port}`, pidApp(dir)]);
    server.signal('SIGTTIN');
    await waitFor('2 workers', () => childPids(server.pid).length === 2, 10_000);
    assert.doesNotMatch(server.output(), /changed on disk since it was loaded/, 'not while the file is as loaded');
    writeFileSync(config, 'export const pre_request = (worker, req) => {};\n');
    server.signal('SIGTTIN');
    await server.waitForLine(/\[WARNING\] Config file .*gunicorn\.conf\.js changed on disk since it was loaded \(at start or the last HUP\): new workers import its hooks as they are now\. Send HUP to apply it\./, 10_000);
    server.signal('SIGTTIN');
    await waitFor('4 workers', () => childPids(server.pid).length === 4, 10_000);
    assert.equal(server.output().match(/changed on disk since it was loaded/g)?.length, 1, 'told once per change');
    server.signal('SIGHUP');
    await server.waitForLine(/Hang up: Master/, 5000);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });
});
