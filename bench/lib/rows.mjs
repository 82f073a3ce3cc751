// Every server the benchmark runs: how to start it on a port, how to stop it, and which
// profiles it is measured on. Node rows serve apps/hello.js, Gunicorn's serve apps/hello_wsgi.py.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HELLO_PROFILES = ['keepalive', 'close', 'latency'];

/**
 * @param {{ repo: string, bench: string, gthreadThreads: number, gunicorn: string }} ctx
 */
export function benchRows(ctx) {
  const apps = join(ctx.bench, 'apps');
  const gtsBin = join(ctx.repo, 'core', 'dist', 'cli', 'bin.js');
  const gtsMissing = () => (existsSync(gtsBin) ? undefined : `${gtsBin} not built`);
  const gts = (id, label, flags, app, profiles) => ({
    id,
    label,
    profiles,
    unavailable: gtsMissing,
    start: (port) => ({
      command: process.execPath,
      args: [gtsBin, ...flags, '-b', `127.0.0.1:${port}`, '--log-level', 'warning', app],
      cwd: apps,
      // SIGINT: quick shutdown; the harness has already finished sending load
      stopSignal: 'SIGINT',
    }),
  });
  const node = (id, label, script, extraEnv = {}) => ({
    id,
    label,
    profiles: HELLO_PROFILES,
    unavailable: () => undefined,
    start: (port) => ({ command: process.execPath, args: [join(ctx.bench, 'servers', script)], cwd: ctx.bench, env: { PORT: String(port), ...extraEnv } }),
  });
  const gunicorn = (id, label, flags) => ({
    id,
    label,
    profiles: HELLO_PROFILES,
    unavailable: () => (existsSync(ctx.gunicorn) ? undefined : `${ctx.gunicorn} not installed`),
    start: (port) => ({
      command: ctx.gunicorn,
      args: [...flags, '-b', `127.0.0.1:${port}`, '--log-level', 'warning', 'hello_wsgi:app'],
      cwd: apps,
      stopSignal: 'SIGINT',
    }),
  });
  const pm2Runtime = join(ctx.bench, 'node_modules', '.bin', 'pm2-runtime');
  const t = String(ctx.gthreadThreads);
  return [
    gts('gts-sync', 'gunicorn-ts -k sync -w 2', ['-k', 'sync', '-w', '2'], 'hello.js:app', HELLO_PROFILES),
    gts('gts-evented', 'gunicorn-ts -k evented -w 2', ['-k', 'evented', '-w', '2'], 'hello.js:app', HELLO_PROFILES),
    gts('gts-gthread', `gunicorn-ts -k gthread -w 2 --threads ${t}`, ['-k', 'gthread', '-w', '2', '--threads', t], 'hello.js:app', HELLO_PROFILES),
    node('node-cluster', 'node:cluster, 2 workers (round-robin)', 'node-cluster.js', { WORKERS: '2' }),
    node('node-single', 'http.createServer, 1 process', 'single.js'),
    {
      id: 'pm2',
      label: 'pm2-runtime cluster -i 2',
      profiles: HELLO_PROFILES,
      unavailable: () => (existsSync(pm2Runtime) ? undefined : `${pm2Runtime} not installed`),
      start: (port) => {
        // its own PM2_HOME: no daemon, logs or dump of the user's pm2 are touched
        const home = mkdtempSync(join(tmpdir(), 'gts-bench-pm2-'));
        return {
          command: pm2Runtime,
          args: ['start', join(ctx.bench, 'servers', 'pm2-app.js'), '-i', '2', '--name', 'bench-hello'],
          cwd: ctx.bench,
          env: { PORT: String(port), PM2_HOME: home, PM2_DISCRETE_MODE: 'true' },
          stopSignal: 'SIGINT',
          cleanup: () => rmSync(home, { recursive: true, force: true }),
        };
      },
    },
    gunicorn('gunicorn-sync', 'Gunicorn -k sync -w 2', ['-k', 'sync', '-w', '2']),
    gunicorn('gunicorn-gthread', `Gunicorn -k gthread -w 2 --threads ${t}`, ['-k', 'gthread', '-w', '2', '--threads', t]),
    gts('gts-gthread-t2', 'gunicorn-ts -k gthread -w 1 --threads 2', ['-k', 'gthread', '-w', '1', '--threads', '2'], 'cpu.js:app', ['cpu']),
    gts('gts-gthread-t1', 'gunicorn-ts -k gthread -w 1 --threads 1', ['-k', 'gthread', '-w', '1', '--threads', '1'], 'cpu.js:app', ['cpu']),
  ];
}
