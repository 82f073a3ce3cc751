// Loopback port helpers: a fresh free port for each server, and waiting until a stopped
// server's port is free again before the next row starts.
import { createServer } from 'node:net';

function tryListen(port) {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(undefined));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      const bound = server.address().port;
      server.close(() => resolve(bound));
    });
  });
}

export async function freePort() {
  const port = await tryListen(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}

export async function isPortFree(port) {
  return (await tryListen(port)) !== undefined;
}

export async function waitPortFree(port, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await isPortFree(port)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
