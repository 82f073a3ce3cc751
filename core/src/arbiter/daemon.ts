/**
 * -D/--daemon. Node cannot fork, so the launcher spawns the same command again, detached into
 * its own session (setsid) with stdio on /dev/null (or inherited with
 * enable_stdio_inheritance), and waits on an IPC channel until that daemon reports it is
 * listening; then it exits 0. If the daemon fails first, the launcher prints why and exits
 * with the daemon's status, so `gunicorn-ts -D ...` in a script still fails loudly.
 */
import { spawn } from 'node:child_process';
import type { Invocation } from '../config/load-config.js';
import type { Settings } from '../settings/settings.js';
import { DAEMON_CHILD_ENV, type DaemonReport } from './messages.js';
import { bootLimitMs } from './worker-limits.js';

export function isDaemonChild(env: NodeJS.ProcessEnv): boolean {
  return env[DAEMON_CHILD_ENV] === '1';
}

export async function launchDaemon(invocation: Invocation, settings: Settings): Promise<number> {
  const inherit = settings.get('enable_stdio_inheritance');
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1] ?? '', ...invocation.argv], {
    cwd: invocation.cwd,
    env: { ...invocation.env, [DAEMON_CHILD_ENV]: '1' },
    detached: true,
    stdio: inherit ? ['ignore', 'inherit', 'inherit', 'ipc'] : ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  return new Promise<number>((resolve) => {
    let settled = false;
    const settle = (status: number): void => {
      if (settled) return;
      settled = true;
      if (child.connected) child.disconnect();
      child.unref();
      resolve(status);
    };
    child.on('message', (message: DaemonReport) => {
      if (message.type === 'daemon-ready') settle(0);
      else if (message.type === 'daemon-failed') {
        process.stderr.write(`gunicorn-ts: error: ${message.message}\n`);
        settle(message.exitCode === 0 ? 1 : message.exitCode);
      }
    });
    child.on('error', (err) => {
      process.stderr.write(`gunicorn-ts: error: cannot start the daemon: ${err.message}\n`);
      settle(1);
    });
    child.on('exit', (code) => settle(code ?? 1));
    // A daemon whose workers never become ready (the master keeps replacing them) must not
    // hold its launcher forever, as a `Type=forking` service would hang at start: it is
    // running, so the launcher leaves with 0 once a worker's boot would have been cut.
    const waitMs = launcherWaitMs(settings);
    if (waitMs > 0) {
      setTimeout(() => {
        if (settled) return;
        process.stderr.write(`gunicorn-ts: warning: the daemon (pid ${child.pid ?? '?'}) runs, but no worker was ready within ${Math.round(waitMs / 1000)} s; its error log says why\n`);
        settle(0);
      }, waitMs).unref();
    }
  });
}

/** Past a worker's boot bound, this long for the master to see it and start the next one. */
const LAUNCHER_GRACE_MS = 5000;

/** How long the launcher waits for a ready worker: a worker's boot bound, and then some. */
function launcherWaitMs(settings: Settings): number {
  const bootMs = bootLimitMs(settings);
  return bootMs > 0 ? bootMs + LAUNCHER_GRACE_MS : 0;
}

/** In the daemon: tell the launcher, then drop the channel so nothing ties us to it. */
export function reportToLauncher(report: DaemonReport): void {
  if (typeof process.send !== 'function' || !process.connected) return;
  process.send(report, () => {
    if (process.connected) process.disconnect();
  });
}
