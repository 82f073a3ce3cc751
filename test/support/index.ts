/**
 * Shared helpers for the integration suites: start the real CLI, wait for log lines with a
 * deadline, find free ports, make HTTP requests with a timeout, look processes up in /proc,
 * and stop everything that was started by PID (never by name) in an after() hook.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (test/dist/support → ../../..). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const CLI_PATH = join(REPO_ROOT, 'core', 'dist', 'cli', 'bin.js');
export const HELLO_APP = join(REPO_ROOT, 'examples', 'hello.js') + ':app';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Poll `check` until it returns a truthy value or the deadline passes (then throw `what`). */
export async function waitFor<T>(what: string, check: () => T | Promise<T>, timeoutMs: number, intervalMs = 25): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** A port that was free a moment ago: bind port 0 on 127.0.0.1 and release it. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

const tempDirs: string[] = [];

/** A fresh temp directory, removed by cleanup(). */
export function tempDir(prefix = 'gts-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Write a file (an app, a config) into `dir` and return its path. */
export function writeFile(dir: string, name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

// ---------------------------------------------------------------- /proc

/** The process's state letter from /proc (R, S, Z, ...), or undefined when it is gone. */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  const state = procState(pid);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

export function parentPid(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Live (non-zombie) children of `pid`, found by scanning /proc. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    if (parentPid(child) === pid && isAlive(child)) out.push(child);
  }
  return out.sort((a, b) => a - b);
}

/** The process's command line as ps shows it (process titles included). */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** A field of /proc/PID/status, e.g. "Uid". */
export function procStatus(pid: number, field: string): string | undefined {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(`${field}:`));
    return line?.slice(field.length + 1).trim();
  } catch {
    return undefined;
  }
}

/**
 * Connections waiting in the kernel's accept queue of the IPv4 socket listening on
 * 127.0.0.1:`port` (/proc/net/tcp shows a listener's queue length as its rx_queue), or
 * undefined when nothing listens there. A process that stops accepting leaves them there.
 */
export function acceptQueueLength(port: number): number | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const [, address, , state, queues] = line.trim().split(/\s+/);
    if (address === local && state === '0A') return parseInt(queues!.split(':')[1]!, 16);
  }
  return undefined;
}

function descendants(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift()!;
    for (const child of childPids(next)) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

// ---------------------------------------------------------------- the CLI

const tracked = new Set<number>();

/** Remember a pid (e.g. a daemon's, read from its pid file) so cleanup() kills it and its tree. */
export function track(pid: number): void {
  tracked.add(pid);
}

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Wait until the output matches; resolves to the match. */
  waitForLine(pattern: RegExp, timeoutMs?: number, fromIndex?: number): Promise<RegExpMatchArray>;
  /** Wait for the process to exit; resolves to its exit code (or the signal name). */
  waitExit(timeoutMs?: number): Promise<number | string>;
  signal(signal: NodeJS.Signals): void;
  readonly exited: boolean;
}

export interface StartOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
}

/** Start `node core/dist/cli/bin.js ...args`; stopped by PID in cleanup(). */
export function startCli(args: readonly string[], options: StartOptions = {}): ServerProcess {
  const child = spawn(process.execPath, [CLI_PATH, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid === undefined) throw new Error('could not spawn the CLI');
  const pid = child.pid;
  tracked.add(pid);
  let text = '';
  let exitValue: number | string | undefined;
  const waiters = new Set<() => void>();
  const notify = (): void => {
    for (const waiter of [...waiters]) waiter();
  };
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    notify();
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    text += chunk;
    notify();
  });
  child.on('exit', (code, signal) => {
    exitValue = code ?? signal ?? -1;
    notify();
  });

  const until = <T>(what: string, check: () => T | undefined, timeoutMs: number): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const attempt = (): boolean => {
        const value = check();
        if (value === undefined) return false;
        clearTimeout(timer);
        waiters.delete(listener);
        resolve(value);
        return true;
      };
      const listener = (): void => void attempt();
      const timer = setTimeout(() => {
        waiters.delete(listener);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; output so far:\n${text}`));
      }, timeoutMs);
      waiters.add(listener);
      attempt();
    });

  return {
    child,
    pid,
    output: () => text,
    get exited() {
      return exitValue !== undefined;
    },
    waitForLine(pattern, timeoutMs = 10_000, fromIndex = 0) {
      return until(`${pattern}`, () => text.slice(fromIndex).match(pattern) ?? undefined, timeoutMs);
    },
    waitExit(timeoutMs = 10_000) {
      return until('exit', () => exitValue, timeoutMs);
    },
    signal(signal) {
      try {
        process.kill(pid, signal);
      } catch {
        // Already gone.
      }
    },
  };
}

/** Start the CLI and wait for "Listening at:" and `workers` booted workers. */
export async function startServer(args: readonly string[], options: StartOptions & { workers?: number; timeoutMs?: number } = {}): Promise<ServerProcess> {
  const server = startCli(args, options);
  await server.waitForLine(/Listening at: /, options.timeoutMs ?? 15_000);
  const workers = options.workers ?? 1;
  await waitFor(`${workers} workers of ${server.pid}`, () => server.exited || countBooted(server) >= workers, options.timeoutMs ?? 15_000);
  if (server.exited) throw new Error(`server exited early:\n${server.output()}`);
  return server;
}

function countBooted(server: ServerProcess): number {
  return (server.output().match(/Booting worker with pid: /g) ?? []).length;
}

/** The port a server listens on, from its "Listening at:" line. */
export function listeningPort(server: ServerProcess): number {
  const match = server.output().match(/Listening at: http:\/\/[^ ,]*:(\d+)/);
  if (match === null) throw new Error(`no Listening at line:\n${server.output()}`);
  return Number(match[1]);
}

/** Kill every started process and everything below it by PID, and remove temp dirs. */
export async function cleanup(): Promise<void> {
  const pids = new Set<number>();
  for (const pid of tracked) {
    for (const d of descendants(pid)) pids.add(d);
    pids.add(pid);
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  tracked.clear();
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------- HTTP

export interface HttpResult {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

export interface GetOptions {
  readonly port?: number;
  readonly host?: string;
  readonly socketPath?: string;
  readonly path?: string;
  readonly timeoutMs?: number;
  readonly agent?: Agent;
  readonly headers?: Record<string, string>;
}

/** One GET with a deadline; rejects on any error or timeout. */
export function httpGet(options: GetOptions): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.host ?? '127.0.0.1',
        port: options.port,
        socketPath: options.socketPath,
        path: options.path ?? '/',
        agent: options.agent ?? false,
        headers: options.headers,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
        });
        res.on('error', reject);
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`GET ${options.path ?? '/'} timed out`)), options.timeoutMs ?? 5000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end();
  });
}

/** Whether a TCP connection to the port is refused right now. */
export function connectionRefused(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path: '/', agent: false }, (res) => {
      res.resume();
      resolve(false);
    });
    req.setTimeout(2000, () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    req.end();
  });
}

export interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
  /** Distinct worker pids that answered (when the app reports its pid in the body). */
  pids: Set<string>;
}

export interface LoadOptions {
  readonly port: number;
  readonly path?: string;
  /** Concurrent keep-alive connections. */
  readonly concurrency: number;
  /** Stop issuing requests after this long. */
  readonly durationMs: number;
  /** And after this many requests in total. */
  readonly maxRequests?: number;
  /** Stop early when this resolves (e.g. after a reload completed). */
  readonly until?: Promise<unknown>;
}

/**
 * A bounded keep-alive load loop (node:http Agent keepAlive): `concurrency` loops each send
 * requests back to back on persistent connections. Every non-2xx answer or socket error is a
 * failure. Bounded in time and count; it stops by itself.
 */
export async function keepAliveLoad(options: LoadOptions): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: options.concurrency });
  const result: LoadResult = { ok: 0, failed: 0, errors: [], pids: new Set() };
  const deadline = Date.now() + options.durationMs;
  let stop = false;
  void options.until?.then(() => (stop = true));
  let issued = 0;
  const loop = async (): Promise<void> => {
    while (!stop && Date.now() < deadline && (options.maxRequests === undefined || issued < options.maxRequests)) {
      issued += 1;
      try {
        const res = await httpGet({ port: options.port, path: options.path ?? '/', agent, timeoutMs: 10_000 });
        if (res.status >= 200 && res.status < 300) {
          result.ok += 1;
          const pid = /pid=(\d+)/.exec(res.body)?.[1];
          if (pid !== undefined) result.pids.add(pid);
        } else {
          result.failed += 1;
          if (result.errors.length < 10) result.errors.push(`HTTP ${res.status}`);
        }
      } catch (err) {
        result.failed += 1;
        if (result.errors.length < 10) result.errors.push((err as NodeJS.ErrnoException).code ?? (err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, loop));
  agent.destroy();
  return result;
}

/** An app that answers "pid=PID" (so tests see which worker served), plus /sleep?ms=N and /block?ms=N. */
export const PID_APP_SOURCE = `
export function app(req, res) {
  const url = new URL(req.url, 'http://x');
  const ms = Number(url.searchParams.get('ms') ?? 0);
  const reply = () => {
    const body = 'pid=' + process.pid + '\\n';
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (url.pathname === '/sleep') return void setTimeout(reply, ms);
  if (url.pathname === '/block') {
    const until = Date.now() + ms;
    while (Date.now() < until) {}
  }
  if (url.pathname === '/env') {
    const body = String(process.env[url.searchParams.get('name')] ?? '') + '\\n';
    res.writeHead(200, { 'Content-Length': Buffer.byteLength(body) });
    return void res.end(body);
  }
  if (url.pathname === '/cwd') {
    const body = process.cwd() + '\\n';
    res.writeHead(200, { 'Content-Length': Buffer.byteLength(body) });
    return void res.end(body);
  }
  reply();
}
`;

/** Write the pid app into a temp dir; returns its app spec ("/tmp/.../app.mjs:app"). */
export function pidApp(dir: string = tempDir()): string {
  return writeFile(dir, 'app.mjs', PID_APP_SOURCE) + ':app';
}

export function fileExists(path: string): boolean {
  return existsSync(path);
}

/** Whether core's native accept addon was built (some behaviours need it). */
export function nativeBuilt(): boolean {
  return existsSync(join(REPO_ROOT, 'core', 'native', 'build', 'Release', 'gts_accept.node'));
}

/** Wait until `count` distinct workers have answered (their app is loaded): needs the pid app. */
export async function waitWorkersServing(port: number, count: number, timeoutMs = 10_000): Promise<Set<string>> {
  const seen = new Set<string>();
  await waitFor(`${count} workers serving`, async () => {
    const answers = await Promise.allSettled(Array.from({ length: 4 }, () => httpGet({ port, path: '/sleep?ms=20', timeoutMs: 2000 })));
    for (const answer of answers) {
      const pid = answer.status === 'fulfilled' ? /pid=(\d+)/.exec(answer.value.body)?.[1] : undefined;
      if (pid !== undefined) seen.add(pid);
    }
    return seen.size >= count;
  }, timeoutMs, 10);
  return seen;
}

// ---------------------------------------------------------------- worker-class behaviour tests

/**
 * Stop a server now, from inside its test (so a file's servers do not pile up until after()):
 * SIGKILL the master and every process below it, by PID, then wait for the master's exit.
 */
export async function stopServer(server: ServerProcess): Promise<void> {
  const pids = [...descendants(server.pid), server.pid];
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  await server.waitExit(5000).catch(() => undefined);
}

/**
 * An app for the worker-class tests that records what happens in `events.log` next to itself,
 * so a test waits on an observable event instead of sleeping:
 *   "loaded PID THREAD"             when a worker process (or a gthread app thread) imported it
 *   "sleep|block|spin PID THREAD"   when a request to that path starts
 * Every answer is "pid=PID thread=THREAD port=CLIENTPORT path=PATH tag=X-PRE-REQUEST\n".
 *   /            at once
 *   /sleep?ms=N  after N ms, without blocking
 *   /block?ms=N  after N ms of busy-waiting (the event loop of its thread is blocked)
 *   /spin        while (true) {}: never answers
 */
export const EVENTS_APP_SOURCE = `
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

const EVENTS = new URL('./events.log', import.meta.url);
const note = (what) => appendFileSync(EVENTS, what + ' ' + process.pid + ' ' + threadId + '\\n');
note('loaded');

export function app(req, res) {
  const url = new URL(req.url, 'http://x');
  const ms = Number(url.searchParams.get('ms') ?? 0);
  const reply = () => {
    const body = 'pid=' + process.pid + ' thread=' + threadId + ' port=' + req.socket.remotePort + ' path=' + url.pathname + ' tag=' + (req.headers['x-pre-request'] ?? '-') + '\\n';
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
  };
  if (url.pathname === '/peer') {
    const s = req.socket;
    const body = 'address=' + s.remoteAddress + ' family=' + s.remoteFamily + ' port=' + s.remotePort + '\\n';
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) });
    return void res.end(body);
  }
  if (url.pathname === '/sleep') {
    note('sleep');
    return void setTimeout(reply, ms);
  }
  if (url.pathname === '/block') {
    note('block');
    const until = Date.now() + ms;
    while (Date.now() < until) {}
  }
  if (url.pathname === '/spin') {
    note('spin');
    for (;;) {}
  }
  reply();
}
`;

/** Write the events app into `dir`; returns its app spec ("/tmp/.../app.mjs:app"). */
export function eventsApp(dir: string): string {
  return writeFile(dir, 'app.mjs', EVENTS_APP_SOURCE) + ':app';
}

export interface AppEvent {
  readonly what: string;
  readonly pid: number;
  readonly thread: number;
}

/** The events the app in `dir` recorded so far, in order. */
export function appEvents(dir: string): AppEvent[] {
  let text: string;
  try {
    text = readFileSync(join(dir, 'events.log'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      const [what = '', pid = '0', thread = '0'] = line.split(' ');
      return { what, pid: Number(pid), thread: Number(thread) };
    });
}

/** Wait until the app in `dir` recorded `count` events named `what`; resolves to them. */
export async function waitForEvents(dir: string, what: string, count: number, timeoutMs = 15_000): Promise<AppEvent[]> {
  return waitFor(`${count} "${what}" events in ${dir}/events.log`, () => {
    const events = appEvents(dir).filter((e) => e.what === what);
    return events.length >= count ? events : undefined;
  }, timeoutMs);
}

/** An answer of the events app. */
export interface EventsReply {
  readonly pid: number;
  readonly thread: number;
  /** The client's port as the app saw it: the same value means the same connection. */
  readonly port: number;
  readonly path: string;
  readonly tag: string;
}

export function parseEventsReply(body: string): EventsReply {
  const match = /^pid=(\d+) thread=(\d+) port=(\d+) path=(\S+) tag=(\S+)\n$/.exec(body);
  if (match === null) throw new Error(`not an events-app answer: ${JSON.stringify(body)}`);
  return { pid: Number(match[1]), thread: Number(match[2]), port: Number(match[3]), path: match[4]!, tag: match[5]! };
}

/** A 200 answer of the events app, parsed (throws on any other status). */
export function eventsReply(res: HttpResult): EventsReply {
  if (res.status !== 200) throw new Error(`expected a 200 answer, got ${res.status}: ${res.body}`);
  return parseEventsReply(res.body);
}

/** The pid in a pid file, or undefined when it is missing or holds no pid. */
export function readPidFile(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Shared by the worker packages' tests. Without the native addon (GTS_NO_NATIVE_ACCEPT=1):
 * start `workerArgs` (2 processes) with the events app, check the server says so, send 40
 * requests over 4 keep-alive sockets and one slow one, then TERM (exit 0). Returns the 40
 * answers for the class's own contract checks.
 */
export async function servedWithoutNativeAddon(workerArgs: readonly string[]): Promise<HttpResult[]> {
  const dir = tempDir();
  const server = await startServer(['-w', '2', ...workerArgs, '-b', '127.0.0.1:0', eventsApp(dir)], { cwd: dir, workers: 2, env: { GTS_NO_NATIVE_ACCEPT: '1' } });
  try {
    const port = listeningPort(server);
    if (!/Native accept addon unavailable/.test(server.output())) throw new Error(`no word of the missing addon: ${server.output()}`);
    // Without the addon the master cannot listen without polling; the first worker's listen() does.
    await waitFor('a worker listening', () => httpGet({ port }).then(() => true, () => false), 5000, 50);
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    const results = await Promise.all(Array.from({ length: 40 }, () => httpGet({ port, agent, timeoutMs: 5000 }))).finally(() => agent.destroy());
    const slow = await httpGet({ port, path: '/sleep?ms=50' });
    if (slow.status !== 200) throw new Error(`the slow request got ${slow.status}`);
    server.signal('SIGTERM');
    const code = await server.waitExit(10_000);
    if (code !== 0) throw new Error(`TERM: exit code ${code}`);
    return results;
  } finally {
    await stopServer(server);
  }
}

/**
 * Shared by the worker packages' tests: start `-k spelling` with the events app, check the
 * master says which class it uses, and answer two requests sent over one keep-alive client.
 */
export async function servedWithWorkerSpelling(spelling: string): Promise<HttpResult[]> {
  const dir = tempDir();
  const server = await startServer(['-k', spelling, '-b', '127.0.0.1:0', eventsApp(dir)], { cwd: dir });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    if (!server.output().includes(`Using worker: ${spelling}\n`)) throw new Error(`not "Using worker: ${spelling}": ${server.output()}`);
    const port = listeningPort(server);
    const answers: HttpResult[] = [];
    for (let i = 0; i < 2; i++) answers.push(await httpGet({ port, agent }));
    return answers;
  } finally {
    agent.destroy();
    await stopServer(server);
  }
}
