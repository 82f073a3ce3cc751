/**
 * A worker process (loaded by entry.ts: `node core/dist/worker/entry.js TITLE`), spawned by
 * the master with an IPC channel and the listening sockets. It waits for its boot message,
 * then, as a fresh process must (no fork()): re-reads the config file's hook functions,
 * re-resolves its logger, worker class and plugins from their strings, builds the worker class
 * through the container and runs initProcess(). A failure before the worker runs exits with
 * Gunicorn's statuses: 4 when the app cannot be loaded, 3 for any other boot failure (the
 * master's onBootFailure decides what follows).
 */
import { createContainer, construct, TOKENS } from '../container.js';
import { loadWorkerSettings } from '../config/load-config.js';
import { describeWithTrace, isGtsError } from '../errors.js';
import { createWorkerHooks, guardSyncHooks } from '../hooks/hooks.js';
import { createLogger } from '../logging/create-logger.js';
import type { Logger } from '../logging/logger.js';
import { loadPlugins } from '../plugins/load-plugins.js';
import { PluginResolver } from '../plugins/resolver.js';
import { isBootMessage, type BootMessage, type WorkerToMaster } from '../arbiter/messages.js';
import { setProcessTitle } from '../arbiter/proc-title.js';
import type { Worker } from './base.js';
import { expectWorkerClass } from '../plugins/worker-class.js';
import type { WorkerContext } from './context.js';

const WORKER_BOOT_ERROR = 3;
const APP_LOAD_ERROR = 4;
/** A worker never told what to do (its master died at once) does not linger. */
const BOOT_MESSAGE_TIMEOUT_MS = 30_000;

function send(message: WorkerToMaster): void {
  if (process.connected && typeof process.send === 'function') process.send(message, (err: Error | null) => void err);
}

async function boot(message: BootMessage, onLogger: (log: Logger) => void): Promise<Worker> {
  const settings = await loadWorkerSettings(message.settings);
  const container = createContainer();
  const resolver = PluginResolver.forSettings(settings, { checkCompatibility: false });
  container.register(TOKENS.Settings, { useValue: settings });
  container.register(TOKENS.PluginResolver, { useValue: resolver });
  const log: Logger = await createLogger(settings, resolver, container);
  onLogger(log);
  log.info('Booting worker with pid: %s', process.pid);

  const hooks = createWorkerHooks();
  guardSyncHooks(hooks, () => log);
  container.register(TOKENS.WorkerHooks, { useValue: hooks });
  const workerClass = settings.effectiveWorkerClass();
  const WorkerClass = expectWorkerClass(await resolver.resolve('worker', workerClass));
  const plugins = await loadPlugins(settings, resolver, container);

  const context: WorkerContext = {
    age: message.age,
    ppid: message.ppid,
    settings,
    log,
    hooks,
    container,
    resolver,
    plugins,
    listeners: message.listeners,
    ...(message.loadBoard !== undefined ? { loadBoard: message.loadBoard } : {}),
    heartbeatMs: message.heartbeatMs,
    send,
  };
  container.register(TOKENS.WorkerContext, { useValue: context });
  const worker = construct(container, WorkerClass, [context]);
  return worker;
}

function exitStatusFor(err: unknown): number {
  return isGtsError(err) && err.exitCode === APP_LOAD_ERROR ? APP_LOAD_ERROR : WORKER_BOOT_ERROR;
}

function main(): void {
  const title = process.argv[2];
  if (title !== undefined && title !== '') setProcessTitle(title);
  const bootTimer = setTimeout(() => process.exit(WORKER_BOOT_ERROR), BOOT_MESSAGE_TIMEOUT_MS);
  let worker: Worker | undefined;
  process.on('disconnect', () => {
    if (worker !== undefined) worker.onMasterGone();
    else process.exit(WORKER_BOOT_ERROR);
  });
  // Until the worker installs its own handlers: a signal ends a booting worker at once, and
  // SIGABRT (a boot slower than `timeout`) must not dump core.
  const early = (code: number) => () => process.exit(code);
  let bootLog: Logger | undefined;
  const earlyHandlers = new Map<NodeJS.Signals, () => void>([
    ['SIGTERM', early(0)],
    ['SIGQUIT', early(0)],
    ['SIGINT', early(0)],
    ['SIGABRT', early(1)],
    // Sent straight to a booting worker (the master holds its own back until ready).
    // early-signals.ts already keeps Node's inspector off.
    ['SIGUSR1', () => bootLog?.reopenFiles()],
  ]);
  for (const [signal, handler] of earlyHandlers) process.on(signal, handler);
  process.once('message', (message: unknown) => {
    clearTimeout(bootTimer);
    if (!isBootMessage(message)) {
      process.stderr.write('gunicorn-ts: worker: expected a boot message from the master\n');
      process.exit(WORKER_BOOT_ERROR);
    }
    // Loading modules and the app yields to the event loop, so a slow boot still heart-beats;
    // only a boot that blocks the loop for `timeout` counts as hung.
    const bootBeat = setInterval(() => send({ type: 'heartbeat' }), message.heartbeatMs);
    void (async () => {
      try {
        worker = await boot(message, (log) => (bootLog = log));
        clearInterval(bootBeat);
        // initProcess installs the worker's signal handlers before its first await; the early
        // ones go only then, so no signal ever finds only Node's default action.
        const initialized = worker.initProcess();
        for (const [signal, handler] of earlyHandlers) process.off(signal, handler);
        await initialized;
      } catch (err) {
        clearInterval(bootBeat);
        if (worker?.booted === true) throw err;
        process.stderr.write(`gunicorn-ts: error: ${describeWithTrace(err, true)}\n`);
        if (!isGtsError(err) && err instanceof Error && err.stack !== undefined) process.stderr.write(`${err.stack}\n`);
        process.exit(exitStatusFor(err));
      }
    })();
  });
}

main();
