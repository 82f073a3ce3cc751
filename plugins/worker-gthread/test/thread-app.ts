/**
 * The app the gthread tests serve (written to a temp dir as a .mjs file): every answer is JSON
 * saying which thread served it, on which connection, and when it started and ended, so tests
 * assert on overlap and identity rather than on fragile timings.
 *   /            at once
 *   /cpu?ms=N    N ms of synchronous work (the event loop of its thread is blocked)
 *   /slow?ms=N   answers after N ms without blocking
 *   /stuck       while (true) {}: only terminating its thread stops it
 *   /crash       throws from a timer: an uncaught exception that ends its thread
 * /cpu, /slow and /stuck append "cpu|slow|stuck PID THREAD" to ./events.log as they start, the
 * format of test/support's events app, so tests wait with its waitForEvents/appEvents.
 */
export const THREAD_APP_SOURCE = `
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';

const now = () => performance.timeOrigin + performance.now();
const note = (what) => appendFileSync('events.log', what + ' ' + process.pid + ' ' + threadId + '\\n');

export function app(req, res) {
  const url = new URL(req.url, 'http://x');
  const ms = Number(url.searchParams.get('ms') ?? 0);
  const start = now();
  const reply = () => {
    const body = JSON.stringify({ pid: process.pid, threadId, port: req.socket.remotePort, start, end: now(), tag: req.headers['x-pre-request'] ?? null });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body), 'X-Thread': String(threadId) });
    res.end(body);
  };
  if (url.pathname === '/cpu') {
    note('cpu');
    while (now() - start < ms) {}
  }
  if (url.pathname === '/stuck') {
    note('stuck');
    while (true) {}
  }
  if (url.pathname === '/crash') {
    return void setTimeout(() => { throw new Error('thread app: uncaught in a timer'); }, 0);
  }
  if (url.pathname === '/slow') {
    note('slow');
    return void setTimeout(reply, ms);
  }
  reply();
}
`;

/** What the app answers. */
export interface ThreadReply {
  readonly pid: number;
  readonly threadId: number;
  /** The client's port: the same value means the same connection. */
  readonly port: number;
  readonly start: number;
  readonly end: number;
  /** x-pre-request, set by the test config's pre_request hook. */
  readonly tag: string | null;
}
