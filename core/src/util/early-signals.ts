/**
 * Imported first by both entry points (the CLI and a worker process), before anything else
 * loads. Until a process has its own handlers, a signal keeps Node's default action, and two
 * of those are harmful here: SIGUSR1 starts Node's inspector (an unauthenticated debugger on
 * 127.0.0.1:9229 that runs any code sent to it), and SIGHUP ends the process. A logrotate
 * USR1 or a reload HUP that lands while a master or worker is still loading must do neither.
 * These listeners do nothing; the real ones (the arbiter's signal queue, the worker's
 * initSignals) are added next to them later, and the master holds USR1 back from a worker
 * until it is ready, so no log reopen is lost.
 */
for (const signal of ['SIGUSR1', 'SIGHUP'] as const) process.on(signal, ignoreUntilHandled);

function ignoreUntilHandled(): void {
  // Nothing: see above.
}

export {};
