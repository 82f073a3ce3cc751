/**
 * The master's signals: TERM graceful (refuse new connections at once, finish in-flight,
 * exit 0), QUIT/INT quick (< 0.5 s), TTIN/TTOU, USR1 reopen, WINCH ignored when not
 * daemonized, and a dead worker is replaced (CHLD). What every worker class must do on TERM
 * (Connection: close on a draining keep-alive connection, graceful_timeout) is in
 * test/workers/matrix.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { childPids, cleanup, connectionRefused, freePort, httpGet, isAlive, pidApp, sleep, startCli, startServer, tempDir, waitFor } from '../support/index.js';

after(cleanup);

describe('master signals', () => {
  it("USR1 to workers still booting waits until they are ready: no inspector, and their logs are reopened", async () => {
    const dir = tempDir();
    const accessLog = `${dir}/access.log`;
    const port = await freePort();
    const server = await startServer(['-w', '2', '--access-logfile', accessLog, '--access-logformat', 'pid=%(p)s', '-b', `127.0.0.1:${port}`, pidApp(dir)], { workers: 2 });
    // logrotate's USR1 while the workers of a HUP are still loading.
    for (let i = 0; i < 3; i++) {
      server.signal('SIGHUP');
      await sleep(80);
      renameSync(accessLog, `${accessLog}.${i}`);
      server.signal('SIGUSR1');
      await sleep(400);
    }
    await waitFor('2 workers serving', async () => childPids(server.pid).length === 2 && (await httpGet({ port })).status === 200, 10_000);
    // Before, Node's default USR1 action could open an unauthenticated debugger on 127.0.0.1:9229.
    assert.doesNotMatch(server.output(), /Debugger listening/);
    const pids = new Set<string>();
    await waitFor('requests from both workers in the reopened access log', async () => {
      await httpGet({ port });
      for (const line of existsSync(accessLog) ? readFileSync(accessLog, 'utf8').split('\n') : []) {
        const pid = /pid=<?(\d+)/.exec(line)?.[1];
        if (pid !== undefined) pids.add(pid);
      }
      return childPids(server.pid).every((pid) => pids.has(String(pid)));
    }, 10_000);
    server.signal('SIGQUIT');
    assert.equal(await server.waitExit(5000), 0);
  });

  it('TERM: refuses new connections at once, lets the in-flight request finish, exits 0', async () => {
    const port = await freePort();
    const server = await startServer(['-w', '2', '-b', `127.0.0.1:${port}`, pidApp()], { workers: 2 });
    const workers = childPids(server.pid);
    const inFlight = httpGet({ port, path: '/sleep?ms=1500', timeoutMs: 5000 });
    await sleep(300);
    const termAt = Date.now();
    server.signal('SIGTERM');
    await waitFor('new connections refused', () => connectionRefused(port), 1000, 10);
    assert.ok(Date.now() - termAt < 1000, 'refused within a second of TERM');
    const res = await inFlight;
    assert.equal(res.status, 200);
    assert.equal(await server.waitExit(10_000), 0);
    assert.match(server.output(), /Handling signal: term/);
    assert.match(server.output(), /Shutting down: Master/);
    for (const pid of workers) assert.equal(isAlive(pid), false);
  });

  for (const signal of ['SIGQUIT', 'SIGINT'] as const) {
    it(`${signal}: master and workers are gone within 0.5 s, in-flight requests cut`, async () => {
      const port = await freePort();
      const server = await startServer(['-w', '2', '-b', `127.0.0.1:${port}`, pidApp()], { workers: 2 });
      const processes = [server.pid, ...childPids(server.pid)];
      const inFlight = httpGet({ port, path: '/sleep?ms=3000', timeoutMs: 5000 }).then(
        () => 'answered',
        () => 'cut',
      );
      await sleep(200);
      const t0 = performance.now();
      server.signal(signal);
      await waitFor('all gone', () => processes.every((pid) => !isAlive(pid)), 2000, 5);
      const elapsed = performance.now() - t0;
      assert.ok(elapsed < 500, `gone after ${elapsed.toFixed(0)} ms`);
      assert.equal(await inFlight, 'cut');
    });
  }

  it('TTIN adds a worker, TTOU removes the oldest, never below 1', async () => {
    const port = await freePort();
    const server = await startServer(['-w', '1', '-b', `127.0.0.1:${port}`, pidApp()]);
    const [first] = childPids(server.pid);
    server.signal('SIGTTIN');
    await waitFor('2 workers', () => childPids(server.pid).length === 2, 5000);
    server.signal('SIGTTIN');
    await waitFor('3 workers', () => childPids(server.pid).length === 3, 5000);
    server.signal('SIGTTOU');
    await waitFor('2 workers', () => childPids(server.pid).length === 2, 5000);
    assert.ok(!childPids(server.pid).includes(first!), 'the oldest worker is retired first');
    server.signal('SIGTTOU');
    await waitFor('1 worker', () => childPids(server.pid).length === 1, 5000);
    server.signal('SIGTTOU');
    await sleep(600);
    assert.equal(childPids(server.pid).length, 1, 'TTOU never goes below one worker');
    assert.equal((await httpGet({ port })).status, 200);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('a worker that dies is replaced (CHLD)', async () => {
    const port = await freePort();
    const server = await startServer(['-w', '2', '-b', `127.0.0.1:${port}`, pidApp()], { workers: 2 });
    const [victim, survivor] = childPids(server.pid);
    process.kill(victim!, 'SIGKILL');
    await waitFor('replacement', () => {
      const now = childPids(server.pid);
      return now.length === 2 && !now.includes(victim!) && now.includes(survivor!);
    }, 5000);
    assert.match(server.output(), new RegExp(`Worker \\(pid:${victim}\\) was sent SIGKILL!`));
    assert.equal((await httpGet({ port })).status, 200);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('USR1 reopens the log files in the master and every worker', async () => {
    const dir = tempDir();
    const log = `${dir}/error.log`;
    const port = await freePort();
    const server = startCli(['-w', '2', '-b', `127.0.0.1:${port}`, '--error-logfile', log, pidApp(dir)]);
    await waitFor('workers booted', () => existsSync(log) && (readFileSync(log, 'utf8').match(/Booting worker/g) ?? []).length === 2, 10_000);
    const workers = childPids(server.pid);
    renameSync(log, `${log}.1`); // what logrotate does
    server.signal('SIGUSR1');
    await waitFor('a new log file', () => existsSync(log), 5000);
    await sleep(500); // the workers handle their USR1
    assert.match(readFileSync(`${log}.1`, 'utf8'), /Handling signal: usr1/);
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
    const text = readFileSync(log, 'utf8');
    for (const pid of workers) assert.match(text, new RegExp(`\\[${pid}\\] \\[INFO\\] Worker exiting`), `worker ${pid} writes to the new file:\n${text}\nold file:\n${readFileSync(`${log}.1`, 'utf8')}\nstderr:\n${server.output()}`);
    assert.match(text, /Shutting down: Master/);
  });

  it('TERM stops the server at once although its log files cannot be written (a full disk)', async () => {
    const port = await freePort();
    const server = startCli(['-w', '2', '-b', `127.0.0.1:${port}`, '--error-logfile', '/dev/full', '--access-logfile', '/dev/full', pidApp()]);
    await waitFor('workers serving', async () => (await httpGet({ port }).catch(() => undefined))?.status === 200, 10_000, 100);
    assert.match(server.output(), /log file \/dev\/full: ENOSPC/, 'the failing writes are reported on stderr');
    const started = performance.now();
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
    // A synchronous flush that retries ENOSPC forever kept master and workers alive until SIGKILL.
    assert.ok(performance.now() - started < 5000, `stopped in ${Math.round(performance.now() - started)} ms`);
  });

  it('WINCH is ignored with a debug line when not daemonized (a terminal sends one at every resize)', async () => {
    const port = await freePort();
    const server = await startServer(['--log-level', 'debug', '-b', `127.0.0.1:${port}`, pidApp()]);
    const workers = childPids(server.pid);
    server.signal('SIGWINCH');
    await server.waitForLine(/\[DEBUG\] SIGWINCH ignored\. Not daemonized/, 5000);
    assert.deepEqual(childPids(server.pid), workers);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });
});
