/**
 * The arbiter's entry point for the CLI: `runArbiter(invocation, settings)` runs the master
 * until it halts and resolves to the exit status. With -D it first detaches (daemon.ts).
 */
import type { Invocation } from '../config/load-config.js';
import { describeError, isGtsError } from '../errors.js';
import type { Settings } from '../settings/settings.js';
import { Arbiter } from './arbiter.js';
import { isDaemonChild, launchDaemon, reportToLauncher } from './daemon.js';

export async function runArbiter(invocation: Invocation, settings: Settings): Promise<number> {
  if (settings.get('daemon') && !isDaemonChild(invocation.env)) return launchDaemon(invocation, settings);
  const daemon = settings.get('daemon');
  // As Gunicorn's daemonize(): 022, whatever the shell had. The umask setting (-m, default 0)
  // applies only while binding unix sockets; here it made every file of the daemon and of the
  // app world-writable.
  if (daemon) process.umask(0o22);
  // The launcher exits 0 once a worker serves, or with the reason if the daemon halts first
  // (an app that cannot load, say): a `Type=forking` service manager then sees the failure.
  const arbiter = new Arbiter(invocation, settings, {
    onReady: daemon ? () => reportToLauncher({ type: 'daemon-ready' }) : undefined,
    onHalt: daemon ? (reason, exitCode) => reportToLauncher({ type: 'daemon-failed', message: reason ?? 'the daemon stopped before it was ready', exitCode }) : undefined,
  });
  try {
    const status = await arbiter.run();
    if (daemon) reportToLauncher({ type: 'daemon-failed', message: 'the daemon stopped before it was ready', exitCode: status });
    return status;
  } catch (err) {
    if (daemon) reportToLauncher({ type: 'daemon-failed', message: describeError(err), exitCode: isGtsError(err) ? err.exitCode : 1 });
    throw err;
  }
}

export { Arbiter, WORKER_BOOT_ERROR, APP_LOAD_ERROR } from './arbiter.js';
export type { ListenerInfo } from './messages.js';
