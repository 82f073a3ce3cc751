/**
 * One behavioural matrix for every worker class: the same cases run against the real CLI with
 * `-k sync`, `-k evented` and `-k gthread --threads 2` on 127.0.0.1, one `it()` per class,
 * named "<class>: <case>". Where a class's contract differs (sync keeps no connection alive,
 * gthread replaces a stuck thread rather than the process, ...) the case asserts the
 * difference explicitly.
 *
 * Each test starts its own server and kills it (by PID) when it ends. The app records what it
 * does in an events file (see EVENTS_APP_SOURCE), so the cases wait for observable events
 * rather than for fixed delays.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { once } from 'node:events';
import { Agent } from 'node:http';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, describe, it, type TestContext } from 'node:test';
import {
  childPids,
  cleanup,
  connectionRefused,
  eventsApp,
  eventsReply,
  httpGet,
  isAlive,
  listeningPort,
  parseEventsReply,
  startServer,
  stopServer,
  tempDir,
  waitFor,
  waitForEvents,
  writeFile,
  type EventsReply,
  type HttpResult,
  type ServerProcess,
} from '../support/index.js';
import { header, request, WireClient, type ParsedResponse } from '../http/harness/wire.js';

after(cleanup);

// ---------------------------------------------------------------- the worker classes

type ClassName = 'sync' | 'evented' | 'gthread';

interface WorkerTarget {
  readonly name: ClassName;
  readonly args: readonly string[];
  /** Connections persist (evented, gthread); sync answers `Connection: close` and closes. */
  readonly keepAlive: boolean;
  /** App threads per process (gthread); 1 otherwise. */
  readonly threads: number;
}

const TARGETS: readonly WorkerTarget[] = [
  { name: 'sync', args: ['-k', 'sync'], keepAlive: false, threads: 1 },
  { name: 'evented', args: ['-k', 'evented'], keepAlive: true, threads: 1 },
  { name: 'gthread', args: ['-k', 'gthread', '--threads', '2'], keepAlive: true, threads: 2 },
];

/**
 * Cases a class does not honour yet: "<class>: <case>" → the reason. They still run and are
 * reported as todo (node:test), so they turn green by themselves once fixed.
 */
const KNOWN_BUGS: Readonly<Record<string, string>> = {};

// ---------------------------------------------------------------- one server per test

interface Running {
  readonly server: ServerProcess;
  readonly port: number;
  readonly dir: string;
  readonly target: WorkerTarget;
}

interface BootOptions {
  /** Worker processes (-w); 1 unless given. */
  readonly processes?: number;
  readonly dir?: string;
}

/**
 * Start the CLI for `target` with the events app, and wait until every worker process (every
 * app thread for gthread) has loaded the app. The server is killed when the test ends.
 */
async function boot(t: TestContext, target: WorkerTarget, extra: readonly string[] = [], options: BootOptions = {}): Promise<Running> {
  const dir = options.dir ?? tempDir('gts-matrix-');
  const processes = options.processes ?? 1;
  const args = [...target.args, '-w', String(processes), '-b', '127.0.0.1:0', ...extra, eventsApp(dir)];
  const server = await startServer(args, { cwd: dir, workers: processes });
  t.after(() => stopServer(server));
  assert.match(server.output(), new RegExp(`Using worker: ${target.name}\\b`));
  await waitForEvents(dir, 'loaded', processes * target.threads);
  return { server, port: listeningPort(server), dir, target };
}

function wireReply(res: ParsedResponse): EventsReply {
  assert.equal(res.status, 200, res.body.toString('latin1'));
  return parseEventsReply(res.body.toString('latin1'));
}

/** A request whose outcome is only "answered <status>" or "cut" (reset, closed, timed out). */
function outcome(promise: Promise<HttpResult>): Promise<string> {
  return promise.then(
    (res) => `answered ${res.status}`,
    () => 'cut',
  );
}

/** The pid of the one worker process of a `-w 1` server. */
function onlyWorker(running: Running): number {
  const workers = childPids(running.server.pid);
  assert.equal(workers.length, 1, `one worker process: ${workers.join(', ')}`);
  return workers[0]!;
}

async function withClient<T>(port: number, fn: (client: WireClient) => Promise<T>): Promise<T> {
  const client = await WireClient.connect(port);
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

// ---------------------------------------------------------------- the cases

interface MatrixCase {
  readonly name: string;
  readonly run: (t: TestContext, target: WorkerTarget) => Promise<void>;
}

const CASES: readonly MatrixCase[] = [
  // evented/gthread: one connection serves three requests (same client port, process and thread).
  // sync: the first response says Connection: close and the server closes the connection.
  {
    name: 'keep-alive',
    async run(t, target) {
      const { port } = await boot(t, target);
      await withClient(port, async (client) => {
        const replies: EventsReply[] = [];
        for (let i = 0; i < 3; i++) {
          client.write(request('GET', `/r${i}`));
          const res = await client.readResponse();
          replies.push(wireReply(res));
          if (!target.keepAlive) {
            assert.equal(header(res, 'connection'), 'close', 'sync: every response says Connection: close');
            assert.ok(await client.waitForClose(), 'sync: the server closes the connection after one response');
            assert.equal(client.pending.length, 0, 'sync: nothing after the response');
            return;
          }
          assert.equal(header(res, 'connection'), 'keep-alive');
        }
        assert.ok(!client.serverClosed, 'the connection is still open after three requests');
        assert.deepEqual(replies.map((r) => r.path), ['/r0', '/r1', '/r2']);
        assert.equal(new Set(replies.map((r) => r.port)).size, 1, 'the app saw one client connection');
        assert.equal(new Set(replies.map((r) => r.pid)).size, 1, 'one process served it');
        assert.equal(new Set(replies.map((r) => r.thread)).size, 1, 'the connection stayed on one thread');
      });
    },
  },
  // The app sees the client's own address, family and port on IPv4 and IPv6 listeners, and no
  // address on a unix socket (taken from accept4(), not asked again: see socket-from-fd.ts).
  {
    name: 'peer address',
    async run(t, target) {
      const dir = tempDir('gts-matrix-');
      const unixPath = join(dir, 'app.sock');
      const { server, port } = await boot(t, target, ['-b', '[::1]:0', '-b', `unix:${unixPath}`], { dir });
      const v6 = /http:\/\/\[::1\]:(\d+)/.exec(server.output());
      assert.ok(v6 !== null, server.output());
      const ask = async (connect: () => net.Socket): Promise<{ reply: string; localPort: number | undefined }> => {
        const client = connect();
        client.setEncoding('latin1');
        let text = '';
        client.on('data', (d: string) => (text += d));
        await once(client, 'connect');
        const localPort = client.localPort;
        client.write(request('GET', '/peer'));
        await waitFor('the /peer answer', () => (/\r\n\r\n.*\n/s.test(text) ? true : undefined), 5000);
        client.destroy();
        return { reply: text.slice(text.indexOf('\r\n\r\n') + 4), localPort };
      };
      const ipv4 = await ask(() => net.connect(port, '127.0.0.1'));
      assert.equal(ipv4.reply, `address=127.0.0.1 family=IPv4 port=${ipv4.localPort}\n`);
      const ipv6 = await ask(() => net.connect(Number(v6[1]), '::1'));
      assert.equal(ipv6.reply, `address=::1 family=IPv6 port=${ipv6.localPort}\n`);
      const unix = await ask(() => net.connect(unixPath));
      assert.equal(unix.reply, 'address=undefined family=undefined port=undefined\n');
    },
  },
  // --keep-alive 1: an idle persistent connection is closed about 1 s after its response; sync at once.
  {
    name: 'keepalive timeout',
    async run(t, target) {
      const { port } = await boot(t, target, ['--keep-alive', '1']);
      await withClient(port, async (client) => {
        client.write(request('GET', '/'));
        const res = await client.readResponse();
        wireReply(res);
        const answeredAt = performance.now();
        if (!target.keepAlive) {
          assert.equal(header(res, 'connection'), 'close');
          assert.ok(await client.waitForClose(1000), 'sync: closed right after the response');
          return;
        }
        assert.equal(header(res, 'connection'), 'keep-alive');
        assert.ok(await client.waitForClose(5000), 'the idle connection is closed');
        const idleMs = performance.now() - answeredAt;
        t.diagnostic(`closed after ${idleMs.toFixed(0)} ms idle`);
        assert.ok(idleMs >= 800, `kept open about 1 s, not ${idleMs.toFixed(0)} ms`);
        assert.ok(idleMs < 3500, `closed about 1 s after the response, not ${idleMs.toFixed(0)} ms`);
        assert.equal(client.pending.length, 0, 'closed silently (no 408)');
      });
    },
  },
  // Two requests in one write, the first slower: evented/gthread answer both, in order; sync the first, then close.
  {
    name: 'pipelining',
    async run(t, target) {
      const { port } = await boot(t, target);
      await withClient(port, async (client) => {
        // The first is the slower one: its answer must still come first.
        client.write(request('GET', '/sleep?ms=300') + request('GET', '/second'));
        const first = await client.readResponse();
        assert.equal(wireReply(first).path, '/sleep');
        if (!target.keepAlive) {
          assert.equal(header(first, 'connection'), 'close');
          assert.ok(await client.waitForClose(), 'sync: the server closes after the first answer');
          assert.equal(client.pending.length, 0, 'sync: the pipelined second request is not answered');
          return;
        }
        assert.equal(header(first, 'connection'), 'keep-alive');
        const second = await client.readResponse();
        assert.equal(wireReply(second).path, '/second');
        assert.equal(header(second, 'connection'), 'keep-alive');
        assert.ok(!client.serverClosed);
      });
    },
  },
  // A handler busy-waiting 2 s: sync/evented -w 2: another process answers meanwhile;
  // gthread -w 1 --threads 2: the same process answers on its other thread.
  {
    name: 'blocking handler',
    async run(t, target) {
      // sync/evented: two processes, the other one serves. gthread: one process, its other thread serves.
      const threaded = target.threads > 1;
      const running = await boot(t, target, [], { processes: threaded ? 1 : 2 });
      const { port, dir } = running;
      const order: string[] = [];
      const blocked = httpGet({ port, path: '/block?ms=2000', timeoutMs: 10_000 }).then((res) => {
        order.push('blocked');
        return eventsReply(res);
      });
      const [blockEvent] = await waitForEvents(dir, 'block', 1);
      const quick = eventsReply(await httpGet({ port, timeoutMs: 5000 }));
      order.push('quick');
      const slow = await blocked;
      assert.deepEqual(order, ['quick', 'blocked'], 'the second request did not wait for the blocked one');
      assert.equal(slow.pid, blockEvent!.pid);
      if (threaded) {
        assert.equal(quick.pid, slow.pid, 'gthread: the same process served both');
        assert.notEqual(quick.thread, slow.thread, 'gthread: on another app thread');
      } else {
        assert.notEqual(quick.pid, slow.pid, 'another worker process served it');
      }
    },
  },
  // -t 2 and a handler in while (true): sync/evented: WORKER TIMEOUT, the process is killed and replaced;
  // gthread: THREAD TIMEOUT, only that thread is replaced and the process serves on.
  {
    name: 'timeout kill',
    async run(t, target) {
      const running = await boot(t, target, ['--timeout', '2']);
      const { server, port, dir } = running;
      const worker = onlyWorker(running);
      const mark = server.output().length;
      const stuck = outcome(httpGet({ port, path: '/spin', timeoutMs: 20_000 }));
      const [spin] = await waitForEvents(dir, 'spin', 1);
      assert.equal(spin!.pid, worker);
      if (target.threads > 1) {
        const match = await server.waitForLine(/THREAD TIMEOUT \(pid:(\d+) thread:(\d+)\)/, 10_000, mark);
        assert.equal(Number(match[1]), worker);
        assert.equal(Number(match[2]), spin!.thread, 'the stuck thread is the one replaced');
        assert.equal(await stuck, 'cut', 'the stuck request dies with its thread');
        const after = eventsReply(await httpGet({ port, timeoutMs: 5000 }));
        assert.equal(after.pid, worker, 'gthread: the process itself is not replaced');
        assert.ok(isAlive(worker));
        assert.doesNotMatch(server.output(), /WORKER TIMEOUT/, 'gthread: the master saw the process heart-beat throughout');
        await waitForEvents(dir, 'loaded', 3); // the replacement thread
      } else {
        const match = await server.waitForLine(/WORKER TIMEOUT \(pid:(\d+)\)/, 10_000, mark);
        assert.equal(Number(match[1]), worker);
        await waitFor('the stuck worker killed', () => !isAlive(worker), 5000);
        // Said as the cause, not guessed at ("Perhaps out of memory?", as before).
        await server.waitForLine(new RegExp(`Worker \\(pid:${worker}\\) was sent SIGKILL \\(WORKER TIMEOUT\\)`), 5000, mark);
        assert.equal(await stuck, 'cut', 'the stuck request dies with its worker');
        const after = eventsReply(await httpGet({ port, timeoutMs: 10_000 }));
        assert.notEqual(after.pid, worker, 'a new worker process serves');
        assert.deepEqual(childPids(server.pid), [after.pid]);
      }
    },
  },
  // QUIT straight to a worker whose app blocks the event loop (Gunicorn: "QUIT, INT: quick
  // shutdown"): the JS handler cannot run, the addon's watchdog ends the process about 1 s
  // later; the request is cut and the master starts a replacement. gthread's main thread is
  // never blocked by the app and quits at once.
  {
    name: 'QUIT to a worker blocked in the app',
    async run(t, target) {
      const running = await boot(t, target, ['--timeout', '60']);
      const { server, port, dir } = running;
      const worker = onlyWorker(running);
      const stuck = outcome(httpGet({ port, path: '/spin', timeoutMs: 30_000 }));
      const [spin] = await waitForEvents(dir, 'spin', 1);
      assert.equal(spin!.pid, worker);
      const sent = performance.now();
      process.kill(worker, 'SIGQUIT');
      await waitFor('the blocked worker gone', () => !isAlive(worker), 5000, 20);
      const elapsed = performance.now() - sent;
      assert.ok(elapsed < 4000, `gone ${elapsed.toFixed(0)} ms after QUIT (its timeout is 60 s)`);
      assert.equal(await stuck, 'cut', 'the in-flight request is cut');
      const after = eventsReply(await httpGet({ port, timeoutMs: 10_000 }));
      assert.notEqual(after.pid, worker, 'a replacement serves');
      assert.doesNotMatch(server.output(), /WORKER TIMEOUT/);
    },
  },
  // TERM: new connections are refused and the in-flight 1 s request completes, then exit 0.
  // evented/gthread: it runs on a connection that already served a keep-alive response; the
  // draining worker's last response on it says Connection: close and the connection closes.
  {
    name: 'graceful TERM',
    async run(t, target) {
      const running = await boot(t, target);
      const { server, port, dir } = running;
      const worker = onlyWorker(running);
      await withClient(port, async (client) => {
        if (target.keepAlive) {
          client.write(request('GET', '/first'));
          const first = await client.readResponse();
          wireReply(first);
          assert.equal(header(first, 'connection'), 'keep-alive');
        }
        client.write(request('GET', '/sleep?ms=1000'));
        await waitForEvents(dir, 'sleep', 1);
        server.signal('SIGTERM');
        await waitFor('new connections refused', () => connectionRefused(port), 2000, 20);
        const last = await client.readResponse({ timeoutMs: 5000 });
        assert.equal(wireReply(last).path, '/sleep', 'the in-flight request completed');
        assert.equal(header(last, 'connection'), 'close', 'the last response of a draining worker says Connection: close');
        assert.ok(await client.waitForClose(), 'and the connection closes');
      });
      assert.equal(await server.waitExit(10_000), 0);
      assert.equal(isAlive(worker), false);
    },
  },
  // QUIT / INT: the master exits 0 within 1.5 s and cuts the in-flight 5 s request.
  ...(['SIGQUIT', 'SIGINT'] as const).map(
    (signal): MatrixCase => ({
      name: `${signal.slice(3)} quick`,
      async run(t, target) {
        const running = await boot(t, target);
        const { server, port, dir } = running;
        const worker = onlyWorker(running);
        const inFlight = outcome(httpGet({ port, path: '/sleep?ms=5000', timeoutMs: 10_000 }));
        await waitForEvents(dir, 'sleep', 1);
        const t0 = performance.now();
        server.signal(signal);
        assert.equal(await server.waitExit(5000), 0);
        const elapsed = performance.now() - t0;
        t.diagnostic(`exited ${elapsed.toFixed(0)} ms after ${signal}`);
        assert.ok(elapsed < 1500, `the master exited ${elapsed.toFixed(0)} ms after ${signal}`);
        assert.equal(await inFlight, 'cut');
        await waitFor('the worker gone', () => !isAlive(worker), 2000);
      },
    }),
  ),
  // --graceful-timeout 1: TERM cuts a request that would take 8 s; the master exits 0 after ~1 s.
  {
    name: 'graceful_timeout',
    async run(t, target) {
      const running = await boot(t, target, ['--graceful-timeout', '1']);
      const { server, port, dir } = running;
      const worker = onlyWorker(running);
      const inFlight = outcome(httpGet({ port, path: '/sleep?ms=8000', timeoutMs: 15_000 }));
      await waitForEvents(dir, 'sleep', 1);
      const t0 = performance.now();
      server.signal('SIGTERM');
      assert.equal(await server.waitExit(10_000), 0);
      const elapsed = performance.now() - t0;
      t.diagnostic(`exited ${elapsed.toFixed(0)} ms after TERM`);
      assert.ok(elapsed >= 900, `the worker was given graceful_timeout (1 s), not ${elapsed.toFixed(0)} ms`);
      assert.ok(elapsed < 4000, `stopped ${elapsed.toFixed(0)} ms after TERM`);
      assert.equal(await inFlight, 'cut');
      assert.equal(isAlive(worker), false);
    },
  },
  // --max-requests 5 --max-requests-jitter 0: as in Gunicorn, the request that reaches the quota
  // is the worker's last (its response says `Connection: close`), and a new worker serves the
  // next; not one request of a back-to-back keep-alive client fails. gthread's threads share
  // one count (request-budget.ts), so its quota is as exact as a single event loop's.
  {
    name: 'max-requests',
    async run(t, target) {
      const maxRequests = 5;
      const running = await boot(t, target, ['--max-requests', String(maxRequests), '--max-requests-jitter', '0']);
      const { server, port } = running;
      const first = onlyWorker(running);
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      t.after(() => agent.destroy());
      const served: number[] = [];
      const closes: boolean[] = [];
      const failures: string[] = [];
      // Back-to-back requests on a keep-alive client until three came from a new worker.
      const deadline = performance.now() + 20_000;
      for (let i = 0; performance.now() < deadline && served.filter((pid) => pid !== first).length < 3; i++) {
        try {
          const res = await httpGet({ port, agent, path: `/n${i}`, timeoutMs: 10_000 });
          served.push(eventsReply(res).pid);
          closes.push(/close/i.test(String(res.headers['connection'] ?? '')));
        } catch (err) {
          failures.push((err as NodeJS.ErrnoException).code ?? (err as Error).message);
        }
      }
      t.diagnostic(`${served.length} requests, ${served.filter((pid) => pid === first).length} by the first worker`);
      assert.deepEqual(failures, [], 'no request failed');
      const byFirst = served.filter((pid) => pid === first).length;
      assert.equal(byFirst, maxRequests, `the first worker served exactly max_requests`);
      assert.equal(served.slice(0, maxRequests).every((pid) => pid === first), true);
      assert.equal(closes[byFirst - 1], true, 'the last response of the first worker says Connection: close');
      assert.ok(served.some((pid) => pid !== first), `the worker was recycled (${served.length} requests, all by ${first})`);
      assert.match(server.output(), new RegExp(`Autorestarting worker after current request \\(pid:${first}, ${maxRequests} requests\\)`));
      const next = served.at(-1)!;
      await waitFor('the first worker gone', () => !isAlive(first), 5000);
      assert.deepEqual(childPids(server.pid), [next]);
    },
  },
  // Config-file hooks run around each request, in the process and thread that served it;
  // --access-logfile gets exactly one line per request.
  {
    name: 'pre_request/post_request hooks and access log',
    async run(t, target) {
      const dir = tempDir('gts-matrix-');
      const hooksOut = join(dir, 'hooks.out');
      const accessLog = join(dir, 'access.log');
      const config = writeFile(
        dir,
        'gunicorn.conf.mjs',
        `import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
const out = (...fields) => appendFileSync(${JSON.stringify(hooksOut)}, fields.join(' ') + '\\n');
export function pre_request(worker, req) {
  req.headers['x-pre-request'] = 'pre-' + worker.pid + '-' + threadId;
  out('pre', worker.pid, threadId, req.method, req.url);
}
export function post_request(worker, req, res) {
  out('post', worker.pid, threadId, req.url, res.statusCode);
}
`,
      );
      const { port } = await boot(t, target, ['-c', config, '--access-logfile', accessLog], { dir });
      const paths = ['/a', '/b?x=1', '/c'];
      const replies: EventsReply[] = [];
      for (const path of paths) replies.push(eventsReply(await httpGet({ port, path })));
      const hookLines = (): string[] => (existsSync(hooksOut) ? readFileSync(hooksOut, 'utf8').trim().split('\n') : []);
      await waitFor('a post_request line per request', () => hookLines().filter((l) => l.startsWith('post ')).length >= paths.length, 5000);
      const lines = hookLines();
      paths.forEach((path, i) => {
        const r = replies[i]!;
        assert.equal(r.tag, `pre-${r.pid}-${r.thread}`, 'pre_request ran before the app, in the process and thread that served');
        const pre = lines.indexOf(`pre ${r.pid} ${r.thread} GET ${path}`);
        const post = lines.indexOf(`post ${r.pid} ${r.thread} ${path} 200`);
        assert.ok(pre >= 0 && post > pre, `pre_request then post_request for ${path}:\n${lines.join('\n')}`);
      });
      assert.equal(lines.length, 2 * paths.length, `two hook calls per request:\n${lines.join('\n')}`);

      const logLines = (): string[] => (existsSync(accessLog) ? readFileSync(accessLog, 'utf8').split('\n').filter((l) => l !== '') : []);
      await waitFor('an access log line per request', () => logLines().length >= paths.length, 5000);
      const log = logLines();
      assert.equal(log.length, paths.length, `one line per request:\n${log.join('\n')}`);
      // Threads and processes write their own lines: the order across them is not the request order.
      for (const path of paths) {
        assert.equal(log.filter((line) => line.includes(`"GET ${path} HTTP/1.1" 200 `)).length, 1, `one line for ${path}:\n${log.join('\n')}`);
      }
    },
  },
  // logrotate: rename the access log, USR1 to the master: new lines go to a new file at the old path.
  {
    name: 'USR1 reopens the access log',
    async run(t, target) {
      const dir = tempDir('gts-matrix-');
      const accessLog = join(dir, 'access.log');
      const { server, port } = await boot(t, target, ['--access-logfile', accessLog], { dir });
      const read = (path: string): string => (existsSync(path) ? readFileSync(path, 'utf8') : '');
      eventsReply(await httpGet({ port, path: '/before' }));
      await waitFor('the first access log line', () => read(accessLog).includes('"GET /before '), 5000);
      renameSync(accessLog, `${accessLog}.1`); // what logrotate does
      const mark = server.output().length;
      server.signal('SIGUSR1');
      await server.waitForLine(/Handling signal: usr1/, 5000, mark);
      await waitFor('a line in a new file at the original path', async () => {
        eventsReply(await httpGet({ port, path: '/after' }));
        return read(accessLog).includes('"GET /after ');
      }, 10_000, 50);
      assert.ok(read(`${accessLog}.1`).includes('"GET /before '), 'the rotated file kept the earlier line');
      assert.ok(!read(accessLog).includes('/before'), 'the new file starts empty');
    },
  },
];

describe('worker class matrix', () => {
  for (const matrixCase of CASES) {
    for (const target of TARGETS) {
      const name = `${target.name}: ${matrixCase.name}`;
      const todo = KNOWN_BUGS[name];
      it(name, todo === undefined ? {} : { todo }, (t) => matrixCase.run(t, target));
    }
  }
});
