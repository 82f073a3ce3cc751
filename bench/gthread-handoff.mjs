#!/usr/bin/env node
// How should a gthread worker get a connection to an app thread? This measures the three
// designs with raw node:http in 2 threads (no gunicorn-ts code), for docs/gthread.md:
//   fd     the main thread accepts (core/native acceptor) and posts the raw fd; the thread
//          wraps it in a net.Socket                                         (what gthread does)
//   self   every thread runs its own native acceptor on the shared listening fd
//   proxy  the main thread accepts and relays bytes to the thread over a MessagePort, where
//          a Duplex stands in for the socket
// Usage: node bench/gthread-handoff.mjs  (BENCH_DURATION, default 5s; needs wrk and the addon)
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import * as net from 'node:net';
import { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { freePort } from './lib/ports.mjs';

const ADDON = fileURLToPath(new URL('../core/native/build/Release/gts_accept.node', import.meta.url));
const BODY = Buffer.from('Hello, world!\n');
const hello = (_req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': String(BODY.length) });
  res.end(BODY);
};
const keep = []; // native acceptor handles must stay referenced, or GC closes them

function serveMain(mode, port, threads) {
  const addon = createRequire(import.meta.url)(ADDON);
  const handle = net._createServerHandle('127.0.0.1', port, 4);
  addon.listen(handle.fd, 511);
  const workers = Array.from({ length: threads }, () => new Worker(new URL(import.meta.url), { workerData: { mode, fd: handle.fd } }));
  let next = 0;
  const onFd = {
    fd: (fd) => workers[next++ % threads].postMessage({ fd }),
    proxy: (fd) => {
      const socket = new net.Socket({ fd, readable: true, writable: true });
      socket.setNoDelay(true);
      const { port1, port2 } = new MessageChannel();
      workers[next++ % threads].postMessage({ port: port2 }, [port2]);
      socket.on('data', (chunk) => port1.postMessage(chunk));
      socket.on('end', () => port1.postMessage('end'));
      socket.on('error', () => undefined);
      socket.on('close', () => port1.close());
      port1.on('message', (m) => (m === 'end' ? socket.end() : m === 'destroy' ? socket.destroy() : socket.write(m)));
    },
  }[mode];
  if (onFd !== undefined) {
    const acceptor = addon.create(handle.fd, (fd) => fd >= 0 && onFd(fd), 16);
    addon.start(acceptor);
    keep.push(acceptor);
  }
}

function serveThread({ mode, fd: listenFd }) {
  const server = createServer(hello);
  const adopt = (fd) => server.emit('connection', new net.Socket({ fd, readable: true, writable: true }));
  if (mode === 'self') {
    const addon = createRequire(import.meta.url)(ADDON);
    const acceptor = addon.create(listenFd, (fd) => fd >= 0 && adopt(fd), 16);
    addon.start(acceptor);
    keep.push(acceptor);
    return;
  }
  parentPort.on('message', ({ fd, port }) => {
    if (fd !== undefined) return adopt(fd);
    const stream = new Duplex({
      read() {},
      write(chunk, _encoding, done) {
        port.postMessage(chunk);
        done();
      },
      final(done) {
        port.postMessage('end');
        done();
      },
      destroy(err, done) {
        port.postMessage('destroy');
        port.close();
        done(err);
      },
    });
    stream.remoteAddress = '127.0.0.1';
    port.on('message', (m) => (m === 'end' ? stream.push(null) : stream.push(Buffer.from(m.buffer, m.byteOffset, m.byteLength))));
    server.emit('connection', stream);
  });
}

function wrkRps(port, duration, header) {
  const args = ['-t', '2', '-c', '64', '-d', duration, ...(header ? ['-H', header] : []), `http://127.0.0.1:${port}/`];
  const out = spawnSync('wrk', args, { encoding: 'utf8' }).stdout;
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
}

async function drive() {
  const duration = process.env.BENCH_DURATION || '5s';
  console.log('mode   keep-alive req/s   Connection: close req/s');
  for (const mode of ['fd', 'self', 'proxy']) {
    const port = await freePort();
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'serve', mode, String(port)], { stdio: 'inherit' });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      wrkRps(port, '1s');
      const keepAlive = wrkRps(port, duration);
      const close = wrkRps(port, duration, 'Connection: close');
      console.log(`${mode.padEnd(6)} ${Math.round(keepAlive).toLocaleString('en-US').padStart(17)}   ${Math.round(close).toLocaleString('en-US').padStart(23)}`);
    } finally {
      child.kill('SIGKILL');
    }
  }
}

if (!isMainThread) serveThread(workerData);
else if (process.argv[2] === 'serve') serveMain(process.argv[3], Number(process.argv[4]), 2);
else await drive();
