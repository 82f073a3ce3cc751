// The gthread worker end to end: the real CLI with `-k gthread --threads 2` on 127.0.0.1.
// What it shares with the other classes (keep-alive, pipelining, timeout, TERM/QUIT/INT,
// graceful_timeout, max_requests, hooks and access log in the serving thread, USR1) is in
// test/workers/matrix.test.ts; this file keeps what only threads have.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { get as httpsGet } from 'node:https';
import { join } from 'node:path';
import { acceptQueueLength, appEvents, childPids, cleanup, httpGet, isAlive, listeningPort, sleep, startCli, startServer, tempDir, waitFor, waitForEvents, writeFile, type HttpResult } from '@gunicorn-ts/test/support';
import { THREAD_APP_SOURCE, type ThreadReply } from './thread-app.js';

after(cleanup);

function threadApp(dir: string): string {
  return writeFile(dir, 'app.mjs', THREAD_APP_SOURCE) + ':app';
}

function reply(res: HttpResult): ThreadReply {
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as ThreadReply;
}

/** Without the native addon a worker listens only once its app threads are up: wait for that. */
async function answering(port: number): Promise<void> {
  await waitFor(`an answer on port ${port}`, () => httpGet({ port, timeoutMs: 2_000 }).then(() => true, () => false), 15_000, 50);
}

async function gthread(extra: readonly string[] = [], dir = tempDir(), env: NodeJS.ProcessEnv = {}) {
  const server = await startServer(['-k', 'gthread', '--threads', '2', '-w', '1', '-b', '127.0.0.1:0', ...extra, threadApp(dir)], { cwd: dir, env });
  const port = listeningPort(server);
  await answering(port);
  return { server, port, dir };
}

/** A TCP connection to the port, once connected (the kernel completed it; the server may not have accepted it). */
function connected(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

/**
 * Two 1 s CPU-bound requests on two connections, the second sent once the first is running, so
 * its thread is visibly busy and the second goes to the other thread.
 */
async function twoCpuRequests(port: number, dir: string): Promise<[ThreadReply, ThreadReply]> {
  const first = httpGet({ port, path: '/cpu?ms=1000', timeoutMs: 10_000 });
  await waitForEvents(dir, 'cpu', 1, 8_000);
  const second = httpGet({ port, path: '/cpu?ms=1000', timeoutMs: 10_000 });
  return [reply(await first), reply(await second)];
}

describe('gthread worker', () => {
  test('two CPU-bound requests run at the same time on two threads of one process', async () => {
    const { port, dir } = await gthread();
    const [a, b] = await twoCpuRequests(port, dir);
    assert.equal(a.pid, b.pid, 'one worker process served both');
    assert.notEqual(a.threadId, b.threadId, 'each ran on its own thread');
    assert.ok(a.start < b.end && b.start < a.end, `the two computations overlap: [${a.start}, ${a.end}] and [${b.start}, ${b.end}]`);
  });

  test('requests waiting on I/O on every thread do not stop the process from accepting', async () => {
    const { port, dir } = await gthread();
    // Slow requests until each thread has one in progress (which thread gets a connection is
    // the pool's choice, so keep sending, at most 8).
    const slow: Array<Promise<HttpResult>> = [];
    await waitFor('a slow request in progress on each thread', () => {
      const threads = appEvents(dir).filter((e) => e.what === 'slow').map((e) => e.thread);
      if (new Set(threads).size >= 2) return true;
      if (threads.length === slow.length && slow.length < 8) slow.push(httpGet({ port, path: '/slow?ms=4000', timeoutMs: 15_000 }));
      return false;
    }, 10_000);
    const quick = reply(await httpGet({ port, timeoutMs: 3_000 }));
    const slowReplies = (await Promise.all(slow)).map(reply);
    assert.equal(new Set(slowReplies.map((r) => r.threadId)).size, 2, 'both threads hold slow requests');
    assert.ok(slowReplies.every((r) => quick.end < r.end), 'the quick request did not wait for the slow ones');
  });

  test('keep-alive connections opened while one thread is busy are shared out, not all given to the other thread', async () => {
    const { port, dir } = await gthread();
    // One client keeps a thread busy with back-to-back CPU-bound requests, as a load generator does.
    let loading = true;
    const busyAgent = new Agent({ keepAlive: true, maxSockets: 1 });
    const load = (async () => {
      while (loading) reply(await httpGet({ port, path: '/cpu?ms=20', agent: busyAgent, timeoutMs: 10_000 }));
    })();
    await waitForEvents(dir, 'cpu', 3, 8_000);
    // Eight keep-alive clients connect at once, each then sends CPU-bound requests back to back.
    const clients = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const agent = new Agent({ keepAlive: true, maxSockets: 1 });
        const threads = new Set<number>();
        for (let i = 0; i < 5; i++) threads.add(reply(await httpGet({ port, path: '/cpu?ms=20', agent, timeoutMs: 10_000 })).threadId);
        agent.destroy();
        return [...threads];
      }),
    );
    loading = false;
    await load;
    busyAgent.destroy();
    const perThread = new Map<number, number>();
    for (const threads of clients) {
      assert.equal(threads.length, 1, 'a connection stays on its thread');
      perThread.set(threads[0]!, (perThread.get(threads[0]!) ?? 0) + 1);
    }
    // Before, every one of them went to the thread that merely looked free (8 to 0).
    assert.equal(perThread.size, 2, `both threads serve some of the clients: ${JSON.stringify([...perThread])}`);
  });

  test('a process whose threads are all blocked leaves new connections to a sibling process', async () => {
    const dir = tempDir();
    const server = await startServer(['-k', 'gthread', '--threads', '1', '-w', '2', '-b', '127.0.0.1:0', threadApp(dir)], { cwd: dir, workers: 2 });
    const port = listeningPort(server);
    // Both processes serve (their app threads are up) before one of them is blocked.
    const pids = new Set<number>();
    await waitFor('answers from both worker processes', async () => {
      pids.add(reply(await httpGet({ port })).pid);
      return pids.size === 2;
    }, 15_000, 20);
    const blocked = httpGet({ port, path: '/cpu?ms=2000', timeoutMs: 10_000 });
    await waitForEvents(dir, 'cpu', 1, 8_000);
    // The process looks at its threads every 5 ms: leave it time to, on a loaded machine too.
    await sleep(100);
    const quick = await Promise.all(Array.from({ length: 3 }, () => httpGet({ port, timeoutMs: 1_500 }).then(reply)));
    const cpu = reply(await blocked);
    for (const r of quick) {
      assert.notEqual(r.pid, cpu.pid, 'served by the other process');
      assert.ok(r.end < cpu.end, 'without waiting for the blocked one');
    }
  });

  test('a CPU-bound request that starts after its thread answered a ping still stops the process accepting', async () => {
    const dir = tempDir();
    const server = await startServer(['-k', 'gthread', '--threads', '1', '-w', '1', '-b', '127.0.0.1:0', threadApp(dir)], { cwd: dir });
    const port = listeningPort(server);
    await answering(port);
    // The one thread holds a request waiting on I/O, so the process pings it after each accept.
    const slow = httpGet({ port, path: '/slow?ms=5000', timeoutMs: 15_000 });
    await waitForEvents(dir, 'slow', 1, 8_000);
    // A connection that sends nothing yet: the thread adopts it and answers the ping.
    const quiet = await connected(port);
    try {
      await waitFor('the quiet connection accepted', () => acceptQueueLength(port) === 0, 5_000);
      await sleep(300);
      // Its request comes only now, after the answer, and blocks the thread for 2 s.
      quiet.write('GET /cpu?ms=2000 HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitForEvents(dir, 'cpu', 1, 8_000);
      await sleep(100); // the process looks at its threads every 5 ms
      const late = await Promise.all([connected(port), connected(port), connected(port)]);
      try {
        await sleep(300);
        // Before, the answer to the ping counted as proof that the thread was free until the
        // next accept, so the process took these and queued them behind the blocked request.
        assert.equal(acceptQueueLength(port), 3, 'new connections wait in the kernel queue for a process that can serve them');
      } finally {
        for (const socket of late) socket.destroy();
      }
    } finally {
      quiet.destroy();
    }
    reply(await slow);
  });

  test('a thread stuck in while (true) is replaced, and a sibling thread finishes its slow request', async () => {
    const { server, port, dir } = await gthread(['--timeout', '2']);
    const stuck = httpGet({ port, path: '/stuck', timeoutMs: 15_000 }).then(
      (res) => `answered ${res.status}`,
      (err: NodeJS.ErrnoException) => `failed: ${err.code ?? err.message}`,
    );
    // The stuck request is on a thread first, so the slow one goes to the other thread.
    await waitForEvents(dir, 'stuck', 1, 8_000);
    const slow = httpGet({ port, path: '/slow?ms=4000', timeoutMs: 15_000 });
    await server.waitForLine(/THREAD TIMEOUT \(pid:\d+ thread:(\d+)\)/, 10_000);
    const slowReply = reply(await slow);
    assert.match(await stuck, /^failed/, 'the stuck request dies with its thread');

    const stuckThread = Number(/THREAD TIMEOUT \(pid:\d+ thread:(\d+)\)/.exec(server.output())?.[1]);
    assert.notEqual(slowReply.threadId, stuckThread, 'the slow request ran on the other thread');
    // The replacement serves; the process itself was neither killed nor replaced by the master.
    const seen = new Set<number>();
    await waitFor('a request served by a thread other than the two first ones', async () => {
      const r = reply(await httpGet({ port }));
      seen.add(r.threadId);
      assert.equal(r.pid, slowReply.pid);
      return r.threadId !== stuckThread && r.threadId !== slowReply.threadId;
    }, 10_000, 50);
    assert.ok(![...seen].includes(stuckThread), 'the stuck thread never answered again');
    assert.equal((server.output().match(/Booting worker with pid/g) ?? []).length, 1, 'the worker process was not replaced');
  });

  test('a thread ended by an uncaught exception is logged with its thread id and the error, and replaced', async () => {
    const { server, port } = await gthread([]);
    const crashed = httpGet({ port, path: '/crash', timeoutMs: 10_000 }).then(() => 'answered', () => 'failed');
    const line = await server.waitForLine(/App thread \d+ \(thread:(-?\d+)\) exited: Error: thread app: uncaught in a timer/, 10_000);
    assert.ok(Number(line[1]) > 0, `the thread's id, not Node's -1 for an exited thread: ${line[0]}`);
    assert.equal(await crashed, 'failed');
    assert.equal((await httpGet({ port })).status, 200);
  });

  test('a thread stuck when HUP retires its process is still ended at timeout, not graceful_timeout later', async () => {
    const { server, port, dir } = await gthread(['--timeout', '2']);
    const [old] = childPids(server.pid);
    const stuck = httpGet({ port, path: '/stuck', timeoutMs: 20_000 }).then(() => 'answered', () => 'failed');
    await waitForEvents(dir, 'stuck', 1, 8_000);
    const mark = server.output().length;
    const t0 = performance.now();
    server.signal('SIGHUP');
    await server.waitForLine(/THREAD TIMEOUT \(pid:\d+ thread:\d+\): silent for \d+ ms; ending it/, 10_000, mark);
    assert.equal(await stuck, 'failed');
    await waitFor('the retired process gone', () => !isAlive(old!), 5000);
    assert.ok(performance.now() - t0 < 8000, `gone ${(performance.now() - t0).toFixed(0)} ms after the HUP (graceful_timeout is 30 s)`);
    reply(await httpGet({ port }));
  });

  test('max_requests counts the responses of all threads and recycles the process', async () => {
    const { server, port } = await gthread(['--max-requests', '6']);
    const agent = new Agent({ keepAlive: true, maxSockets: 2 });
    try {
      const first = reply(await httpGet({ port, agent }));
      await waitFor('a second worker process', async () => {
        try {
          const r = reply(await httpGet({ port, agent }));
          return r.pid !== first.pid;
        } catch {
          return false; // a connection cut by the retiring worker
        }
      }, 15_000, 20);
    } finally {
      agent.destroy();
    }
    assert.equal((server.output().match(/Booting worker with pid/g) ?? []).length >= 2, true);
  });

  test('-k sync with --threads 2 selects gthread, as in Gunicorn', async () => {
    const dir = tempDir();
    const server = await startServer(['--threads', '2', '-b', '127.0.0.1:0', threadApp(dir)], { cwd: dir });
    assert.match(server.output(), /Using worker: gthread/);
    const r = reply(await httpGet({ port: listeningPort(server) }));
    assert.ok(r.threadId > 0, 'served by a worker thread, not the main thread');
  });

  test('USR1 reopens the access log in every app thread', async () => {
    const dir = tempDir();
    const log = join(dir, 'access.log');
    const { server, port } = await gthread(['--access-logfile', log, '--access-logformat', '%(r)s thread=%({x-thread}o)s'], dir);
    reply(await httpGet({ port, path: '/before' }));
    await waitFor('the first access log line', () => existsSync(log) && readFileSync(log, 'utf8').includes('/before'), 5_000);
    renameSync(log, `${log}.1`);
    server.signal('SIGUSR1');
    // Each thread has its own log destination: both must write to the new file. Fresh
    // connections go to the thread with fewer connections, so both threads get some.
    const threads = new Set<number>();
    await waitFor('lines from both threads in the reopened log', async () => {
      threads.add(reply(await httpGet({ port, path: '/after' })).threadId);
      const text = existsSync(log) ? readFileSync(log, 'utf8') : '';
      return threads.size === 2 && [...threads].every((t) => text.includes(`/after HTTP/1.1 thread=${t}`));
    }, 10_000, 50);
  });

  test('TLS: each app thread terminates TLS for its own connections', async () => {
    const dir = tempDir();
    const key = join(dir, 'server.key');
    const cert = join(dir, 'server.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost'], { stdio: 'ignore', timeout: 20_000 });
    const server = await startServer(['-k', 'gthread', '--threads', '2', '-b', '127.0.0.1:0', '--certfile', cert, '--keyfile', key, threadApp(dir)], { cwd: dir });
    const port = Number(/Listening at: https?:\/\/[^ ]*:(\d+)/.exec(server.output())?.[1]);
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpsGet({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, timeout: 5_000 }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve(text));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
    assert.ok((JSON.parse(body) as ThreadReply).threadId > 0, 'served by an app thread');
  });

  // Without max_requests the threads send the main thread no message per request; the
  // process's requestCount (what hooks see) comes from the threads' shared counters.
  test('without max_requests, worker.requestCount counts what every thread served', async () => {
    const dir = tempDir();
    const counts = join(dir, 'counts.txt');
    const config = writeFile(
      dir,
      'gunicorn.conf.mjs',
      `import { appendFileSync } from 'node:fs';\nexport const worker_int = (worker) => appendFileSync(${JSON.stringify(counts)}, worker.requestCount + '\\n');\n`,
    );
    const { server, port } = await gthread(['-c', config], dir);
    const agent = new Agent({ keepAlive: true, maxSockets: 3 });
    const threads = new Set<number>();
    try {
      for (let i = 0; i < 12; i++) threads.add(reply(await httpGet({ port, agent, path: `/r${i}` })).threadId);
      for (let i = 0; i < 3; i++) threads.add(reply(await httpGet({ port, path: `/fresh${i}` })).threadId);
    } finally {
      agent.destroy();
    }
    assert.equal(threads.size, 2, 'both threads served some');
    const [worker] = childPids(server.pid);
    process.kill(worker!, 'SIGINT');
    await waitFor('worker_int to write the count', () => (existsSync(counts) ? readFileSync(counts, 'utf8') : undefined), 5_000);
    const served = Number(readFileSync(counts, 'utf8').trim());
    assert.equal(served, 16, "15 requests plus the readiness probe");
  });

  test('the process runs with 2 MB semi-spaces (the class default) unless worker_semi_space is set', async () => {
    const dir = tempDir();
    const app = writeFile(dir, 'heap.mjs', `
      import v8 from 'node:v8';
      export function app(req, res) {
        const newSpace = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
        res.end(JSON.stringify({ execArgv: process.execArgv, newSpace }));
      }`) + ':app';
    for (const [extra, flag, mostNewSpace] of [[[], '--max-semi-space-size=2', 4 << 20], [['--worker-semi-space', '8'], '--max-semi-space-size=8', 16 << 20]] as const) {
      const server = await startServer(['-k', 'gthread', '--threads', '2', '-w', '1', '-b', '127.0.0.1:0', ...extra, app], { cwd: dir });
      const port = listeningPort(server);
      await answering(port);
      const seen = JSON.parse((await httpGet({ port })).body) as { execArgv: string[]; newSpace: number };
      assert.ok(seen.execArgv.includes(flag), `${flag} in ${JSON.stringify(seen.execArgv)}`);
      // The flag is the process's, so it sizes the app thread's own heap too.
      assert.ok(seen.newSpace <= mostNewSpace, `an app thread's new space of ${seen.newSpace} bytes`);
      server.signal('SIGTERM');
      assert.equal(await server.waitExit(15_000), 0);
    }
  });

  test('an app that cannot be loaded stops the server with exit code 4, as for a sync worker', async () => {
    const dir = tempDir();
    const server = startCli(['-k', 'gthread', '--threads', '2', '-b', '127.0.0.1:0', 'missing-module.mjs:app'], { cwd: dir });
    assert.equal(await server.waitExit(20_000), 4, server.output());
  });
});

describe('gthread worker without the native accept addon (connections relayed over MessagePorts)', () => {
  const env = { GTS_NO_NATIVE_ACCEPT: '1' };

  test('it says so, and CPU-bound requests still run in parallel on two threads', async () => {
    const { server, port, dir } = await gthread([], tempDir(), env);
    assert.match(server.output(), /relaying connections to the app threads/);
    const [a, b] = await twoCpuRequests(port, dir);
    assert.notEqual(a.threadId, b.threadId);
    assert.ok(a.start < b.end && b.start < a.end, 'the two computations overlap');
  });

  test('keep-alive, and a large response arrives whole', async () => {
    const dir = tempDir();
    writeFile(dir, 'big.mjs', `export function app(req, res) { const body = Buffer.alloc(4 * 1024 * 1024, 120); res.writeHead(200, { 'Content-Length': body.length }); res.end(body); }`);
    const server = await startServer(['-k', 'gthread', '--threads', '2', '-b', '127.0.0.1:0', 'big.mjs:app'], { cwd: dir, env });
    const port = listeningPort(server);
    await answering(port);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; i < 3; i++) {
        const res = await httpGet({ port, agent, timeoutMs: 10_000 });
        assert.equal(res.status, 200);
        assert.equal(res.body.length, 4 * 1024 * 1024);
      }
    } finally {
      agent.destroy();
    }
  });

  test('a stuck thread is replaced and its relayed connection closed; the sibling finishes', async () => {
    const { server, port, dir } = await gthread(['--timeout', '2'], tempDir(), env);
    const stuck = httpGet({ port, path: '/stuck', timeoutMs: 15_000 }).then(
      () => 'answered',
      () => 'failed',
    );
    await waitForEvents(dir, 'stuck', 1, 8_000);
    const slow = httpGet({ port, path: '/slow?ms=4000', timeoutMs: 15_000 });
    await server.waitForLine(/THREAD TIMEOUT/, 10_000);
    reply(await slow);
    assert.equal(await stuck, 'failed');
    reply(await httpGet({ port }));
  });

  test('TERM: an in-flight request finishes, then the server exits 0', async () => {
    const { server, port, dir } = await gthread([], tempDir(), env);
    const slow = httpGet({ port, path: '/slow?ms=1000', timeoutMs: 10_000 });
    await waitForEvents(dir, 'slow', 1, 8_000);
    server.signal('SIGTERM');
    reply(await slow);
    assert.equal(await server.waitExit(15_000), 0);
  });
});
