// node:cluster with WORKERS workers and its default scheduling (round-robin on Linux: the
// primary accepts every connection and hands it to a worker over IPC), serving apps/hello.js.
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { app } from '../apps/hello.js';

const port = Number(process.env.PORT);
const workers = Number(process.env.WORKERS ?? 2);

if (cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  // the harness stops the primary with SIGTERM; take the workers down with it
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    process.exit(0);
  });
} else {
  createServer(app).listen(port, '127.0.0.1');
}
