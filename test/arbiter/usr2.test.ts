/**
 * USR2, the binary upgrade as the reference describes it: the pid file becomes PIDFILE.oldbin,
 * a new master inherits the sockets and writes PIDFILE, both generations serve until the old
 * one gets TERM, and not one request fails. If the new master dies, the old restores its file.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { childPids, cleanup, cmdline, freePort, httpGet, isAlive, keepAliveLoad, parentPid, pidApp, readPidFile, sleep, startServer, tempDir, track, waitFor } from '../support/index.js';

after(cleanup);

describe('USR2 binary upgrade', () => {
  it('starts a new master on the same sockets; TERM to the old one drops no request', async () => {
    const dir = tempDir();
    const pidfile = `${dir}/app.pid`;
    const port = await freePort();
    const server = await startServer(['-w', '2', '-k', 'evented', '--keep-alive', '5', '--pid', pidfile, '-b', `127.0.0.1:${port}`, pidApp(dir)], { workers: 2 });
    const oldWorkers = childPids(server.pid);
    let upgraded!: () => void;
    const done = new Promise<void>((resolve) => (upgraded = resolve));
    const loading = keepAliveLoad({ port, concurrency: 16, durationMs: 15_000, until: done });
    await sleep(300);

    server.signal('SIGUSR2');
    const newMaster = await waitFor('new pid file', () => {
      const pid = readPidFile(pidfile);
      return pid !== undefined && pid !== server.pid && existsSync(`${pidfile}.oldbin`) ? pid : undefined;
    }, 10_000);
    track(newMaster);
    assert.equal(readPidFile(`${pidfile}.oldbin`), server.pid);
    assert.equal(parentPid(newMaster), server.pid);
    await waitFor('new workers', () => childPids(newMaster).length === 2, 10_000);
    await sleep(800); // both generations serve
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
    assert.match(server.output(), /Shutting down: Old Master\n/, 'named as Gunicorn 19.2.1 names a master that started its successor');
    for (const pid of oldWorkers) assert.equal(isAlive(pid), false);
    await sleep(500);
    upgraded();
    const load = await loading;
    assert.equal(load.failed, 0, `failures: ${load.errors.join(', ')}`);
    assert.ok(load.ok > 500, `only ${load.ok} requests`);
    const newWorkers = childPids(newMaster);
    assert.ok(oldWorkers.some((pid) => load.pids.has(String(pid))) && newWorkers.some((pid) => load.pids.has(String(pid))), 'both generations served');

    assert.equal(existsSync(`${pidfile}.oldbin`), false);
    assert.equal(readPidFile(pidfile), newMaster);
    await waitFor('promoted', () => /gunicorn-ts: master \[[^\]]*[^2\]]\]$/.test(cmdline(newMaster)), 5000);
    assert.equal((await httpGet({ port })).status, 200);
    process.kill(newMaster, 'SIGTERM');
    await waitFor('new master gone', () => !isAlive(newMaster), 10_000);
    assert.equal(existsSync(pidfile), false);
  });

  it('if the new master dies, the old one restores its pid file and keeps serving', async () => {
    const dir = tempDir();
    const pidfile = `${dir}/app.pid`;
    const port = await freePort();
    const server = await startServer(['--pid', pidfile, '-b', `127.0.0.1:${port}`, pidApp(dir)]);
    server.signal('SIGUSR2');
    const newMaster = await waitFor('new master', () => {
      const pid = readPidFile(pidfile);
      return pid !== undefined && pid !== server.pid ? pid : undefined;
    }, 10_000);
    track(newMaster);
    await waitFor('new workers', () => childPids(newMaster).length === 1, 10_000);
    process.kill(newMaster, 'SIGQUIT');
    await waitFor('pid file restored', () => readPidFile(pidfile) === server.pid && !existsSync(`${pidfile}.oldbin`), 5000);
    assert.equal((await httpGet({ port })).status, 200);
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
    assert.equal(existsSync(pidfile), false);
  });
});
