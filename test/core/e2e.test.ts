// Issue 3's end-to-end check: the built CLI serves the bundled example app on 127.0.0.1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const bin = join(repo, 'core', 'dist', 'cli', 'bin.js');
const children: ChildProcess[] = [];

after(() => {
  for (const child of children) if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function getOnce(port: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path: '/', timeout: 2000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

async function getWithRetry(port: number, deadlineMs: number): Promise<{ status: number; body: string }> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await getOnce(port);
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

test('gunicorn-ts examples/hello.js:app answers on 127.0.0.1 and stops on TERM', async () => {
  const port = await freePort();
  const child = spawn(process.execPath, [bin, '-b', `127.0.0.1:${port}`, 'examples/hello.js:app'], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
  const res = await getWithRetry(port, 15_000).catch((err: unknown) => {
    throw new Error(`no answer: ${String(err)}\nstderr:\n${stderr}`);
  });
  assert.equal(res.status, 200);
  assert.equal(res.body, 'Hello, world!\n');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  process.kill(child.pid as number, 'SIGTERM');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 10_000))]);
  assert.equal(code, 0, `exit code after TERM; stderr:\n${stderr}`);
});
