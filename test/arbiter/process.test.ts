/**
 * Process mechanics: --pid, -D/--daemon (with WINCH), --chdir, -e, -u/-g, -n titles,
 * --reload with --preload refused, worker_tmp_dir accepted, worker_semi_space's node flag.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  childPids,
  cleanup,
  cmdline,
  freePort,
  httpGet,
  isAlive,
  PID_APP_SOURCE,
  pidApp,
  procStatus,
  readPidFile,
  sleep,
  startCli,
  startServer,
  tempDir,
  track,
  waitFor,
  writeFile,
} from '../support/index.js';

after(cleanup);

/** The session id field of /proc/PID/stat (a daemon leads its own session). */
function sessionId(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

/** For the -u nobody cases: an app in a directory (of root's) that nobody can read. */
function appReadableByNobody(): { dir: string; app: string } {
  const dir = tempDir();
  chmodSync(dir, 0o755);
  const app = writeFile(dir, 'app.mjs', PID_APP_SOURCE);
  chmodSync(app, 0o644);
  return { dir, app };
}

describe('process mechanics', () => {
  it('--pid writes the master pid atomically, refuses a second master, and is removed on exit', async () => {
    const dir = tempDir();
    const pidfile = `${dir}/run/app.pid`;
    mkdirSync(`${dir}/run`);
    const port = await freePort();
    const server = await startServer(['-b', `127.0.0.1:${port}`, '--pid', pidfile, pidApp(dir)]);
    assert.equal(readFileSync(pidfile, 'utf8'), `${server.pid}\n`);
    assert.deepEqual(readdirSync(`${dir}/run`), ['app.pid'], 'no temp file is left behind');
    const second = startCli(['-b', `127.0.0.1:${await freePort()}`, '--pid', pidfile, pidApp(dir)]);
    assert.notEqual(await second.waitExit(10_000), 0);
    assert.match(second.output(), new RegExp(`Already running on PID ${server.pid}`));
    assert.equal(readPidFile(pidfile), server.pid, 'the refused master leaves the pid file alone');
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
    assert.equal(existsSync(pidfile), false);
  });

  it('-D detaches: the launcher exits 0 once the daemon listens; WINCH stops its workers; TERM stops it', async () => {
    const dir = tempDir();
    const pidfile = `${dir}/daemon.pid`;
    const log = `${dir}/error.log`;
    const port = await freePort();
    const launcher = startCli(['-D', '-w', '2', '-b', `127.0.0.1:${port}`, '--pid', pidfile, '--error-logfile', log, pidApp(dir)]);
    assert.equal(await launcher.waitExit(15_000), 0);
    const daemon = readPidFile(pidfile);
    assert.ok(daemon !== undefined && daemon !== launcher.pid);
    track(daemon);
    assert.ok(isAlive(daemon));
    assert.equal(sessionId(daemon), daemon, 'the daemon leads its own session (setsid)');
    assert.equal(launcher.output(), '', 'the daemon does not write to the launcher\'s stdio');
    assert.equal((await httpGet({ port })).status, 200);
    await waitFor('2 workers', () => childPids(daemon).length === 2, 5000);
    // Gunicorn's daemonize() umask, not -m's default 0: before, the log was world-writable.
    assert.equal(statSync(log).mode & 0o777, 0o644);
    assert.deepEqual([daemon, ...childPids(daemon)].map((pid) => procStatus(pid, 'Umask')), ['0022', '0022', '0022']);

    process.kill(daemon, 'SIGWINCH');
    await waitFor('workers stopped', () => childPids(daemon).length === 0, 10_000);
    assert.ok(isAlive(daemon), 'WINCH keeps the master');
    assert.match(readFileSync(log, 'utf8'), /graceful stop of workers/);
    process.kill(daemon, 'SIGHUP');
    await waitFor('workers back after HUP', () => childPids(daemon).length === 2, 10_000);
    assert.equal((await httpGet({ port })).status, 200);

    process.kill(daemon, 'SIGTERM');
    await waitFor('daemon gone', () => !isAlive(daemon), 10_000);
    assert.equal(existsSync(pidfile), false);
  });

  it('-D: a daemon that cannot start makes the launcher fail with the reason', async () => {
    const port = await freePort();
    const blocker = startCli(['-b', `127.0.0.1:${port}`, pidApp()]);
    await blocker.waitForLine(/Booting worker/);
    const launcher = startCli(['-D', '-b', `127.0.0.1:${port}`, pidApp()]);
    assert.notEqual(await launcher.waitExit(15_000), 0);
    assert.match(launcher.output(), /Cannot bind 127\.0\.0\.1:\d+: EADDRINUSE/);
    blocker.signal('SIGQUIT');
    await blocker.waitExit(5000);
  });

  it('-D: a daemon whose app cannot load makes the launcher fail with exit 4 and the reason', async () => {
    const dir = tempDir();
    writeFile(dir, 'broken.mjs', "throw new Error('broken on purpose');\n");
    const port = await freePort();
    // Before, the launcher exited 0 once the sockets were bound, and the daemon died unseen.
    const launcher = startCli(['-D', '-b', `127.0.0.1:${port}`, '--pid', `${dir}/daemon.pid`, 'broken.mjs:app'], { cwd: dir });
    assert.equal(await launcher.waitExit(15_000), 4);
    assert.match(launcher.output(), /App failed to load/);
    await waitFor('the daemon gone', () => !existsSync(`${dir}/daemon.pid`), 5000);
  });

  it('-D: a daemon whose workers never become ready does not hold the launcher forever', async () => {
    const dir = tempDir();
    const config = writeFile(dir, 'hang.conf.mjs', 'export const post_worker_init = () => new Promise(() => {});\n');
    const port = await freePort();
    const launcher = startCli(['-D', '-c', config, '-t', '1', '-b', `127.0.0.1:${port}`, '--pid', `${dir}/daemon.pid`, pidApp(dir)]);
    assert.equal(await launcher.waitExit(20_000), 0);
    assert.match(launcher.output(), /the daemon \(pid \d+\) runs, but no worker was ready within 10 s/);
    const daemon = readPidFile(`${dir}/daemon.pid`);
    assert.ok(daemon !== undefined);
    track(daemon);
    process.kill(daemon, 'SIGQUIT');
    await waitFor('daemon gone', () => !isAlive(daemon), 10_000);
  });

  it('--chdir and -e KEY=VALUE reach the app', async () => {
    const dir = tempDir();
    writeFile(dir, 'app.mjs', PID_APP_SOURCE);
    const port = await freePort();
    const server = await startServer(['--chdir', dir, '-e', 'GTS_TEST_GREETING=hello there', '-e', 'GTS_TEST_OTHER=2', '-b', `127.0.0.1:${port}`, 'app.mjs:app'], { cwd: '/' });
    assert.equal((await httpGet({ port, path: '/cwd' })).body, `${dir}\n`);
    assert.equal((await httpGet({ port, path: '/env?name=GTS_TEST_GREETING' })).body, 'hello there\n');
    assert.equal((await httpGet({ port, path: '/env?name=GTS_TEST_OTHER' })).body, '2\n');
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('a relative --chdir means the same directory at start and on every HUP', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    writeFile(join(dir, 'sub'), 'app.mjs', PID_APP_SOURCE);
    const port = await freePort();
    const server = await startServer(['--chdir', 'sub', '-b', `127.0.0.1:${port}`, 'app.mjs:app'], { cwd: dir });
    const [first] = childPids(server.pid);
    assert.equal((await httpGet({ port })).status, 200);
    server.signal('SIGHUP');
    await waitFor('a new worker after the HUP', () => childPids(server.pid).some((pid) => pid !== first), 10_000);
    assert.equal((await httpGet({ port })).status, 200);
    assert.doesNotMatch(server.output(), /Reload failed|Could not spawn/);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('a worker that cannot be spawned is retried with a growing back-off, not in a tight loop, and is back once it can', async () => {
    const dir = tempDir();
    const site = join(dir, 'site');
    mkdirSync(site);
    writeFile(site, 'app.mjs', PID_APP_SOURCE);
    const port = await freePort();
    const server = await startServer(['--chdir', site, '-b', `127.0.0.1:${port}`, 'app.mjs:app'], { cwd: '/' });
    const [worker] = childPids(server.pid);
    // The working directory of every new worker is gone: each spawn fails.
    renameSync(site, join(dir, 'moved'));
    process.kill(worker!, 'SIGKILL');
    await server.waitForLine(/Could not spawn a worker process in .*site: /, 5000);
    await sleep(2500);
    const failures = server.output().match(/Could not spawn a worker process/g)?.length ?? 0;
    // Immediately, then after 100, 200, 400, 800 ms... (a tight loop makes thousands).
    assert.ok(failures >= 3 && failures <= 7, `${failures} spawn attempts in about 2.5 s`);
    assert.match(server.output(), /Workers keep dying before they are ready; next spawn in \d+ ms/);
    renameSync(join(dir, 'moved'), site);
    await waitFor('a worker again', async () => (await httpGet({ port }).catch(() => undefined))?.status === 200, 10_000, 200);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('-u/-g: workers drop privileges, the master keeps them', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root');
    const { app } = appReadableByNobody();
    const port = await freePort();
    const server = await startServer(['-u', 'nobody', '-g', 'nogroup', '-b', `127.0.0.1:${port}`, `${app}:app`]);
    assert.equal((await httpGet({ port })).status, 200);
    const [worker] = childPids(server.pid);
    assert.match(procStatus(worker!, 'Uid') ?? '', /^65534\s/);
    assert.match(procStatus(worker!, 'Gid') ?? '', /^65534\s/);
    assert.match(procStatus(server.pid, 'Uid') ?? '', /^0\s/);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('-u/-g with log files: the files are the workers\' user\'s, so USR1 reopens them in the workers too', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root');
    const { dir, app } = appReadableByNobody();
    const access = join(dir, 'access.log');
    const port = await freePort();
    const server = await startServer(['-u', 'nobody', '-g', 'nogroup', '--access-logfile', access, '-b', `127.0.0.1:${port}`, `${app}:app`]);
    assert.equal(statSync(access).uid, 65534, 'the access log belongs to the workers\' user');
    const [worker] = childPids(server.pid);
    renameSync(access, `${access}.1`);
    server.signal('SIGUSR1');
    await waitFor('a new access log with the next request', async () => {
      await httpGet({ port, path: '/after-usr1' });
      return existsSync(access) && readFileSync(access, 'utf8').includes('/after-usr1');
    }, 10_000, 100);
    assert.deepEqual(childPids(server.pid), [worker], 'the worker reopened its log and lives on');
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('-u with the error log in a directory only root may enter: USR1 cannot reopen it in the worker, which says so and serves on', async (t) => {
    if (process.getuid?.() !== 0) return t.skip('needs root');
    const { app } = appReadableByNobody();
    const logDir = tempDir();
    chmodSync(logDir, 0o700);
    const errorlog = join(logDir, 'error.log');
    const port = await freePort();
    const server = startCli(['-u', 'nobody', '-g', 'nogroup', '--error-logfile', errorlog, '-b', `127.0.0.1:${port}`, `${app}:app`]);
    await waitFor('the worker booted', () => existsSync(errorlog) && readFileSync(errorlog, 'utf8').includes('Booting worker'), 15_000, 100);
    assert.equal((await httpGet({ port })).status, 200);
    const [worker] = childPids(server.pid);
    renameSync(errorlog, `${errorlog}.1`);
    server.signal('SIGUSR1');
    await server.waitForLine(/log file .*error\.log: EACCES/, 10_000);
    await sleep(300);
    assert.equal((await httpGet({ port })).status, 200);
    assert.deepEqual(childPids(server.pid), [worker], 'the worker did not die of the reopen (it threw uncaught before)');
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('-n sets the process titles of the master and the workers', async () => {
    const port = await freePort();
    const server = await startServer(['-n', 'titletest', '-w', '2', '-b', `127.0.0.1:${port}`, pidApp()], { workers: 2 });
    await sleep(100);
    assert.equal(cmdline(server.pid), 'gunicorn-ts: master [titletest]');
    for (const worker of childPids(server.pid)) assert.equal(cmdline(worker), 'gunicorn-ts: worker [titletest]');
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });

  it('--reload together with --preload is refused', async () => {
    const server = startCli(['--reload', '--preload', pidApp()]);
    assert.equal(await server.waitExit(10_000), 2);
    assert.match(server.output(), /GTS_ERR_CONFLICTING_SETTINGS/);
  });

  it('--worker-tmp-dir is accepted (heartbeats go over IPC, no file is written)', async () => {
    const dir = tempDir();
    const port = await freePort();
    const server = await startServer(['--worker-tmp-dir', dir, '-b', `127.0.0.1:${port}`, pidApp()]);
    assert.equal((await httpGet({ port })).status, 200);
    assert.deepEqual(readdirSync(dir), []);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });
  it('--worker-semi-space and --worker-heap-growth start workers with V8 flags; 0 or the user\'s own NODE_OPTIONS leave them out', async () => {
    const dir = tempDir();
    const app = writeFile(dir, 'flags.mjs', "export function app(req, res) { res.end(JSON.stringify(process.execArgv)); }\n") + ':app';
    const flagsOf = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<string[]> => {
      const port = await freePort();
      const server = await startServer(['-b', `127.0.0.1:${port}`, ...args, app], { env });
      try {
        return JSON.parse((await httpGet({ port })).body) as string[];
      } finally {
        server.signal('SIGQUIT');
        await server.waitExit(5000);
      }
    };
    assert.deepEqual(await flagsOf([]), ['--max-semi-space-size=8'], 'the default');
    assert.deepEqual(await flagsOf(['--worker-semi-space', '4']), ['--max-semi-space-size=4']);
    assert.deepEqual(await flagsOf(['--worker-semi-space', '0']), [], '0: V8 decides');
    assert.deepEqual(await flagsOf([], { NODE_OPTIONS: '--max-semi-space-size=2' }), [], 'NODE_OPTIONS wins (and is inherited as it is)');
    const refused = startCli(['--worker-semi-space', '-1', app]);
    assert.equal(await refused.waitExit(5000), 2);
    assert.match(refused.output(), /worker-semi-space/);
    assert.deepEqual(await flagsOf(['--worker-heap-growth', '40']), ['--max-semi-space-size=8', '--heap-growing-percent=40']);
    // An app thread sees (and runs with) its process's flags: the gthread class defaults.
    assert.deepEqual(await flagsOf(['-k', 'gthread', '--threads', '2']), ['--max-semi-space-size=2', '--heap-growing-percent=50']);
    assert.deepEqual(await flagsOf(['-k', 'gthread', '--worker-heap-growth', '0']), ['--max-semi-space-size=2'], '0: V8 decides');
    assert.deepEqual(await flagsOf(['-k', 'evented']), ['--max-semi-space-size=8', '--heap-growing-percent=50'], 'the evented class default');
  });
});
