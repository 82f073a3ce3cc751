/**
 * Every server hook fires at its moment, in the right process, with the arbiter or worker:
 * on_starting, when_ready, pre_fork, post_fork, post_worker_init, pre_request, post_request,
 * nworkers_changed, on_reload, worker_int, worker_abort, pre_exec, worker_exit, on_exit.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { childPids, cleanup, freePort, httpGet, isAlive, pidApp, sleep, startServer, stopServer, tempDir, track, waitFor, writeFile } from '../support/index.js';

after(cleanup);

function hookConfig(out: string): string {
  const line = (text: string): string => `appendFileSync(${JSON.stringify(out)}, ${text} + '\\n')`;
  return `import { appendFileSync } from 'node:fs';
export const on_starting = (server) => ${line("'on_starting ' + server.pid + ' ' + process.pid")};
export const when_ready = (server) => ${line("'when_ready ' + server.pid")};
export const pre_fork = (server, worker) => ${line("'pre_fork ' + worker.pid + ' ' + worker.age")};
export const post_fork = (server, worker) => ${line("'post_fork ' + worker.pid + ' ' + worker.age + ' ' + process.pid")};
export const post_worker_init = (worker) => ${line("'post_worker_init ' + worker.pid + ' ' + process.pid + ' ' + worker.age")};
export const pre_request = (worker, req) => ${line("'pre_request ' + worker.pid + ' ' + req.method + ' ' + req.url")};
export const post_request = (worker, req, res) => ${line("'post_request ' + worker.pid + ' ' + req.url + ' ' + res.statusCode")};
export const nworkers_changed = (server, n, old) => ${line("'nworkers_changed ' + n + ' ' + old")};
export const on_reload = (server) => ${line("'on_reload ' + server.pid")};
export const worker_int = (worker) => ${line("'worker_int ' + worker.pid")};
export const worker_abort = (worker) => ${line("'worker_abort ' + worker.pid")};
export const pre_exec = (server) => ${line("'pre_exec ' + server.pid")};
export const worker_exit = (server, worker) => ${line("'worker_exit ' + worker.pid + ' ' + process.pid")};
export const on_exit = (server) => ${line("'on_exit ' + server.pid")};
`;
}

describe('server hooks', () => {
  it('fire at the right moments with the arbiter or the worker', async () => {
    const dir = tempDir();
    const out = `${dir}/hooks.log`;
    const config = writeFile(dir, 'hooks.conf.mjs', hookConfig(out));
    const port = await freePort();
    const server = await startServer(['-c', config, '-w', '2', '-b', `127.0.0.1:${port}`, pidApp(dir)], { workers: 2 });
    const master = server.pid;
    const lines = (): string[] => readFileSync(out, 'utf8').trim().split('\n');
    const has = (pattern: RegExp): boolean => lines().some((l) => pattern.test(l));
    await waitFor('post_worker_init twice', () => lines().filter((l) => l.startsWith('post_worker_init')).length === 2, 5000);

    assert.ok(has(new RegExp(`^on_starting ${master} ${master}$`)));
    assert.ok(has(new RegExp(`^when_ready ${master}$`)));
    assert.ok(has(/^nworkers_changed 2 null$/));
    assert.ok(has(/^pre_fork 0 1$/), 'pre_fork runs before the process exists (pid 0)');
    const workers = childPids(master);
    for (const pid of workers) {
      assert.ok(has(new RegExp(`^post_fork ${pid} \\d+ ${master}$`)), 'post_fork runs in the master with worker.pid set');
      assert.ok(has(new RegExp(`^post_worker_init ${pid} ${pid} \\d+$`)), 'post_worker_init runs in the worker');
    }
    const first = lines();
    assert.ok(first.indexOf('on_starting ' + master + ' ' + master) < first.findIndex((l) => l.startsWith('when_ready')));

    const res = await httpGet({ port, path: '/hello' });
    const served = /pid=(\d+)/.exec(res.body)![1];
    await waitFor('post_request', () => has(new RegExp(`^post_request ${served} /hello 200$`)), 3000);
    assert.ok(has(new RegExp(`^pre_request ${served} GET /hello$`)));

    server.signal('SIGTTIN');
    await waitFor('nworkers_changed 3 2', () => has(/^nworkers_changed 3 2$/), 5000);
    await waitFor('3 workers', () => childPids(master).length === 3, 5000);

    // worker_int / worker_abort run inside the worker when its loop is free.
    const [a, b] = childPids(master);
    process.kill(a!, 'SIGQUIT');
    process.kill(b!, 'SIGABRT');
    await waitFor('worker_int and worker_abort', () => has(new RegExp(`^worker_int ${a}$`)) && has(new RegExp(`^worker_abort ${b}$`)), 5000);
    await waitFor('worker_exit for both', () => has(new RegExp(`^worker_exit ${a} ${master}$`)) && has(new RegExp(`^worker_exit ${b} ${master}$`)), 5000);

    server.signal('SIGHUP');
    await waitFor('on_reload', () => has(new RegExp(`^on_reload ${master}$`)), 5000);

    server.signal('SIGUSR2');
    await waitFor('pre_exec', () => has(new RegExp(`^pre_exec ${master}$`)), 5000);
    // Workers retiring after the HUP may exit between listing and reading: a vanished pid is not the new master.
    const cmdline = (pid: number): string => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      } catch {
        return '';
      }
    };
    const newMaster = await waitFor('new master', () => childPids(master).find((pid) => !workers.includes(pid) && /master/.test(cmdline(pid))), 10_000);
    track(newMaster);
    await waitFor('new master ready', () => lines().filter((l) => l === `when_ready ${newMaster}`).length === 1, 10_000);
    process.kill(newMaster, 'SIGQUIT');
    await waitFor('new master gone', () => !isAlive(newMaster), 5000);

    await sleep(200);
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
    assert.ok(has(new RegExp(`^on_exit ${master}$`)));
    assert.equal(lines().at(-1), `on_exit ${master}`, 'on_exit is the last hook');
  });

  it('an async hook that rejects is logged like one that throws; master and worker serve on', async () => {
    const dir = tempDir();
    const config = writeFile(
      dir,
      'async.conf.mjs',
      `export async function when_ready() { throw new Error('async when_ready failed'); }
export async function post_worker_init() { throw new Error('async post_worker_init failed'); }
export async function pre_request() { throw new Error('async pre_request failed'); }
`,
    );
    const port = await freePort();
    const server = await startServer(['-c', config, '-w', '1', '-b', `127.0.0.1:${port}`, pidApp(dir)]);
    const [worker] = childPids(server.pid);
    await server.waitForLine(/Hook when_ready \(config\) failed[\s\S]*async when_ready failed/, 10_000);
    await server.waitForLine(/Hook post_worker_init \(config\) failed[\s\S]*async post_worker_init failed/, 10_000);
    for (let i = 0; i < 3; i++) assert.equal((await httpGet({ port })).status, 200);
    await server.waitForLine(/Hook pre_request \(config\) failed[\s\S]*async pre_request failed/, 10_000);
    assert.ok(isAlive(server.pid), 'the master is alive');
    assert.deepEqual(childPids(server.pid), [worker], 'the same worker serves: none crashed');
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
  });

  it('a pre_request that throws fails its request with a 500 and the app is not called, as in Gunicorn; the next request is served', async () => {
    const dir = tempDir();
    const calls = join(dir, 'app-calls');
    const app = writeFile(dir, 'counting.mjs', `import { appendFileSync } from 'node:fs';
export const app = (req, res) => { appendFileSync(${JSON.stringify(calls)}, req.url + '\\n'); res.end('served'); };
`);
    const config = writeFile(dir, 'pre.conf.mjs', `export function pre_request(worker, req) { if (req.url === '/refused') throw new Error('pre_request refuses ' + req.url); }\n`);
    const port = await freePort();
    const server = await startServer(['-c', config, '-w', '1', '-b', `127.0.0.1:${port}`, `${app}:app`]);
    const refused = await httpGet({ port, path: '/refused' });
    assert.equal(refused.status, 500);
    await server.waitForLine(/Error handling request \/refused[\s\S]*pre_request refuses \/refused/, 10_000);
    const served = await httpGet({ port, path: '/ok' });
    assert.equal(served.status, 200);
    assert.equal(readFileSync(calls, 'utf8'), '/ok\n', 'the app saw only the request pre_request let through');
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
  });

  it('async post_worker_init is awaited before the worker serves, and async on_exit before the master exits', async () => {
    const dir = tempDir();
    const config = writeFile(
      dir,
      'awaited.conf.mjs',
      `import { appendFileSync } from 'node:fs';
const wait = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
export async function post_worker_init() { await wait(500); globalThis.GTS_TEST_READY = true; }
export async function pre_request() { appendFileSync('ready.log', String(globalThis.GTS_TEST_READY === true) + '\\n'); }
export async function on_exit() { await wait(300); appendFileSync('exit.log', 'flushed\\n'); }
`,
    );
    const port = await freePort();
    const server = await startServer(['-c', config, '-w', '1', '-b', `127.0.0.1:${port}`, pidApp(dir)], { cwd: dir });
    assert.equal((await httpGet({ port })).status, 200);
    // Before, the worker served while post_worker_init still awaited, and the master exited
    // before on_exit's await came back.
    await waitFor('pre_request ran', () => existsSync(join(dir, 'ready.log')), 5000);
    assert.equal(readFileSync(join(dir, 'ready.log'), 'utf8'), 'true\n');
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
    assert.equal(readFileSync(join(dir, 'exit.log'), 'utf8'), 'flushed\n');
  });

  it('an on_exit that never settles is cut at graceful_timeout, and the log says so', async () => {
    const dir = tempDir();
    const config = writeFile(dir, 'stuck-exit.conf.mjs', 'export const on_exit = () => new Promise(() => setInterval(() => {}, 1000));\n');
    const port = await freePort();
    const server = await startServer(['-c', config, '--graceful-timeout', '1', '-w', '1', '-b', `127.0.0.1:${port}`, pidApp(dir)]);
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
    assert.match(server.output(), /\[WARNING\] on_exit did not finish within graceful_timeout \(1 s\); exiting without it/);
  });
});

describe('worker_int', () => {
  for (const workerClass of ['sync', 'evented', 'gthread']) {
    it(`runs once for a worker that gets INT and then QUIT, as from a terminal's Ctrl-C and its master (${workerClass})`, async () => {
      const dir = tempDir();
      const out = `${dir}/int.log`;
      const config = writeFile(dir, 'int.conf.mjs', `import { appendFileSync } from 'node:fs';\nexport const worker_int = (worker) => appendFileSync(${JSON.stringify(out)}, 'worker_int ' + worker.pid + '\\n');\n`);
      const port = await freePort();
      const server = await startServer(['-c', config, '-k', workerClass, '--threads', '2', '-w', '1', '-b', `127.0.0.1:${port}`, pidApp(dir)], { workers: 1 });
      const [worker] = childPids(server.pid);
      // A served request: the worker's signal handlers are in place.
      assert.equal((await httpGet({ port, path: '/ready' })).status, 200);
      process.kill(worker!, 'SIGINT');
      process.kill(worker!, 'SIGQUIT');
      await waitFor('the worker is gone', () => !isAlive(worker!), 5000);
      assert.deepEqual(readFileSync(out, 'utf8').trim().split('\n'), [`worker_int ${worker}`]);
      await stopServer(server);
    });
  }
});

describe('the default pre_request', () => {
  for (const workerClass of ['sync', 'gthread']) {
    it(`logs "METHOD PATH" at debug level, and a config pre_request replaces it (${workerClass})`, async () => {
      const dir = tempDir();
      const port = await freePort();
      const debug = await startServer(['-k', workerClass, '--threads', '2', '--log-level', 'debug', '-w', '1', '-b', `127.0.0.1:${port}`, pidApp(dir)]);
      assert.equal((await httpGet({ port, path: '/default/line?q=1' })).status, 200);
      await debug.waitForLine(/\[DEBUG\] GET \/default\/line\n/, 5000);
      await stopServer(debug);

      const config = writeFile(dir, 'pre.conf.mjs', `export const pre_request = () => {};\n`);
      const replaced = await startServer(['-c', config, '-k', workerClass, '--threads', '2', '--log-level', 'debug', '-w', '1', '-b', `127.0.0.1:${port}`, pidApp(dir)]);
      assert.equal((await httpGet({ port, path: '/replaced' })).status, 200);
      await sleep(300);
      assert.doesNotMatch(replaced.output(), /GET \/replaced/);
      await stopServer(replaced);

      // The logger decides: logconfig's level wins over loglevel, for this line too.
      const logConfig = writeFile(dir, 'debug.json', '{"level": "debug"}');
      const viaLogConfig = await startServer(['--log-config', logConfig, '-k', workerClass, '--threads', '2', '--log-level', 'error', '-w', '1', '-b', `127.0.0.1:${port}`, pidApp(dir)]);
      assert.equal((await httpGet({ port, path: '/logconfig/line' })).status, 200);
      await viaLogConfig.waitForLine(/\[DEBUG\] GET \/logconfig\/line\n/, 5000);
      await stopServer(viaLogConfig);
    });
  }
});
