/**
 * The master binds every -b address before starting workers; workers inherit the sockets.
 * HOST:PORT, several -b, [::1]:PORT, unix:PATH (umask, stale file), fd://N, systemd
 * LISTEN_FDS/LISTEN_PID, --backlog, and a bind failure naming the address.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { after, describe, it } from 'node:test';
import { CLI_PATH, cleanup, freePort, httpGet, pidApp, startCli, startServer, tempDir, track, waitFor, isAlive, childPids, waitWorkersServing } from '../support/index.js';

after(cleanup);

/** A TCP socket bound in this process without listening (what a master hands down). */
function boundSocket(host: string, port: number): { fd: number; close(): void } {
  const create = (net as unknown as { _createServerHandle: (h: string, p: number, t: number) => { fd: number; close(): void } | number })._createServerHandle;
  const handle = create(host, port, 4);
  if (typeof handle === 'number') throw new Error(`bind failed: ${handle}`);
  return handle;
}

function ipv6Available(): boolean {
  try {
    const result = spawnSync(process.execPath, ['-e', "require('net').createServer().listen(0,'::1',function(){this.close()})"], { timeout: 5000 });
    return result.status === 0;
  } catch {
    return false;
  }
}

describe('listening sockets', () => {
  it('HUP with a changed bind keeps the addresses still listed, binds the new ones and closes the rest', async () => {
    const dir = tempDir();
    const [a, b, c] = [await freePort(), await freePort(), await freePort()];
    const config = `${dir}/bind.conf.mjs`;
    writeFileSync(config, `export const bind = ['127.0.0.1:${a}', '127.0.0.1:${b}'];\n`);
    const server = await startServer(['-c', config, '-w', '1', pidApp(dir)]);
    for (const port of [a, b]) assert.equal((await httpGet({ port })).status, 200);
    const mark = server.output().length;
    writeFileSync(config, `export const bind = ['127.0.0.1:${a}', '127.0.0.1:${c}'];\n`);
    server.signal('SIGHUP');
    const listening = await server.waitForLine(/Listening at: (\S+)/, 10_000, mark);
    assert.equal(listening[1], `http://127.0.0.1:${a},http://127.0.0.1:${c}`);
    assert.doesNotMatch(server.output().slice(mark), /Keeping the current sockets|EADDRINUSE/);
    for (const port of [a, c]) {
      await waitFor(`port ${port} served after the HUP`, async () => (await httpGet({ port }).catch(() => ({ status: 0 }))).status === 200, 10_000, 50);
    }
    await waitFor(`port ${b} closed`, async () => (await httpGet({ port: b, timeoutMs: 1000 }).then(() => 'open', (err: NodeJS.ErrnoException) => err.code)) === 'ECONNREFUSED', 10_000, 100);
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
  });

  it('binds several addresses (HOST:PORT, HOST:PORT, [::1]:PORT) and every worker serves on all', async () => {
    const app = pidApp();
    const [a, b] = [await freePort(), await freePort()];
    const v6 = ipv6Available();
    const c = v6 ? await freePort('::1') : 0;
    const args = ['-w', '2', '-b', `127.0.0.1:${a}`, '-b', `127.0.0.1:${b}`, ...(v6 ? ['-b', `[::1]:${c}`] : []), app];
    const server = await startServer(args, { workers: 2 });
    const listening = server.output().match(/Listening at: (\S+) \((\d+)\)/);
    assert.ok(listening);
    assert.equal(listening[2], String(server.pid));
    assert.ok(listening[1]!.includes(`http://127.0.0.1:${a}`) && listening[1]!.includes(`http://127.0.0.1:${b}`));
    for (const port of [a, b]) assert.equal((await httpGet({ port })).status, 200);
    if (v6) {
      assert.ok(listening[1]!.includes(`http://[::1]:${c}`));
      assert.equal((await httpGet({ host: '::1', port: c })).status, 200);
    }
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
  });

  it('binds unix:PATH with the umask applied and replaces a stale socket file', async () => {
    const dir = tempDir();
    const path = `${dir}/app.sock`;
    // A stale socket file, as a crashed server leaves behind (killed before it could unlink).
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`], { timeout: 5000 });
    assert.ok(statSync(path).isSocket());
    const server = await startServer(['-b', `unix:${path}`, '-m', '0o077', pidApp(dir)]);
    assert.match(server.output(), new RegExp(`Listening at: unix:${path} `));
    assert.equal(statSync(path).mode & 0o777, 0o700);
    const res = await httpGet({ socketPath: path });
    assert.equal(res.status, 200);
    server.signal('SIGTERM');
    assert.equal(await server.waitExit(10_000), 0);
    assert.throws(() => statSync(path), 'the socket file is removed on exit');
  });

  it('refuses a unix:PATH that is a regular file', async () => {
    const dir = tempDir();
    writeFileSync(`${dir}/not-a-socket`, 'x');
    const server = startCli(['-b', `unix:${dir}/not-a-socket`, pidApp(dir)]);
    assert.notEqual(await server.waitExit(10_000), 0);
    assert.match(server.output(), /Cannot bind unix:.*not-a-socket: .*is not a socket/);
  });

  it('a port in use is tried 5 times, 1 s apart, then fails with one clear error naming the address', async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const server = startCli(['-b', `127.0.0.1:${port}`, pidApp()]);
      const status = await server.waitExit(15_000);
      assert.notEqual(status, 0);
      assert.equal(server.output().match(/Connection in use: 127\.0\.0\.1:\d+\. Retrying in 1 second\./g)?.length, 4);
      assert.match(server.output(), new RegExp(`Cannot bind 127\\.0\\.0\\.1:${port}: EADDRINUSE`));
      assert.doesNotMatch(server.output(), /Booting worker/);
    } finally {
      blocker.close();
    }
  });

  it('a port freed while the start retries is bound, as after a quick restart', async () => {
    const port = await freePort();
    const blocker = net.createServer().listen(port, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    const server = startCli(['-b', `127.0.0.1:${port}`, pidApp()]);
    try {
      await server.waitForLine(/Connection in use: 127\.0\.0\.1:\d+\. Retrying in 1 second\./, 10_000);
    } finally {
      blocker.close();
    }
    await server.waitForLine(/Booting worker/, 10_000);
    await waitWorkersServing(port, 1);
    server.signal('SIGQUIT');
    assert.equal(await server.waitExit(5000), 0);
  });

  it('uses an inherited fd://N and sockets passed by systemd (LISTEN_FDS/LISTEN_PID)', async () => {
    const port = await freePort();
    // Bound but not listening, and never polled here: only the server's workers accept.
    const listener = boundSocket('127.0.0.1', port);
    const fd = listener.fd;
    const app = pidApp();
    // fd://3 as a stdio slot.
    const viaFd = spawn(process.execPath, [CLI_PATH, '-b', 'fd://3', app], { stdio: ['ignore', 'pipe', 'pipe', fd] });
    track(viaFd.pid!);
    let out = '';
    viaFd.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor('fd listener', () => /Booting worker/.test(out), 10_000);
    assert.match(out, new RegExp(`Listening at: http://127\\.0\\.0\\.1:${port} `));
    listener.close();
    assert.equal((await httpGet({ port })).status, 200);
    viaFd.kill('SIGTERM');
    await waitFor('fd server exit', () => viaFd.exitCode !== null, 10_000);

    // systemd: LISTEN_PID must be the server's own pid, so exec through a shell.
    const port2 = await freePort();
    const sd = boundSocket('127.0.0.1', port2);
    const fd2 = sd.fd;
    const viaSystemd = spawn('/bin/sh', ['-c', `LISTEN_PID=$$ LISTEN_FDS=1 exec "${process.execPath}" "${CLI_PATH}" -b 127.0.0.1:1 "${app}"`], { stdio: ['ignore', 'pipe', 'pipe', fd2] });
    track(viaSystemd.pid!);
    let out2 = '';
    viaSystemd.stderr!.on('data', (d: Buffer) => (out2 += d.toString()));
    await waitFor('systemd listener', () => /Booting worker/.test(out2), 10_000);
    sd.close();
    assert.match(out2, new RegExp(`Listening at: http://127\\.0\\.0\\.1:${port2} `), 'the passed socket replaces -b');
    assert.equal((await httpGet({ port: port2 })).status, 200);
    const workers = childPids(viaSystemd.pid!);
    viaSystemd.kill('SIGTERM');
    await waitFor('systemd server exit', () => viaSystemd.exitCode !== null && workers.every((w) => !isAlive(w)), 10_000);
  });

  it('listens with the --backlog given (ss shows it as Send-Q)', async (t) => {
    if (spawnSync('ss', ['-V']).status !== 0) return t.skip('ss is not installed');
    const port = await freePort();
    const server = await startServer(['-b', `127.0.0.1:${port}`, '--backlog', '37', pidApp()]);
    const ss = spawnSync('ss', ['-ltnH', `sport = :${port}`], { encoding: 'utf8' });
    assert.match(ss.stdout, /LISTEN\s+\d+\s+37\s/);
    server.signal('SIGQUIT');
    await server.waitExit(5000);
  });
});
