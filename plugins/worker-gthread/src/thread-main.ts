/**
 * An app thread's entry (node:worker_threads). It boots its own copy of the config hooks,
 * logger, plugins and app, beats its heart into shared memory so the main thread can tell a
 * stuck thread from a busy one, and serves the connections the main thread hands it.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { describeError, isGtsError } from '@gunicorn-ts/core';
import type { MainToThread, ThreadBootData, ThreadToMain } from './messages.js';
import { ReportBatcher } from './report-batcher.js';
import { RequestBudget } from './request-budget.js';
import { ThreadSharedState } from './shared-state.js';
import { bootThread } from './thread-runtime.js';
import { ThreadServer } from './thread-server.js';

async function main(port: NonNullable<typeof parentPort>, data: ThreadBootData): Promise<void> {
  const shared = new ThreadSharedState(data.shared);
  const send = (message: ThreadToMain): void => port.postMessage(message);
  // Beating from the first moment: an app whose import blocks past `timeout` counts as stuck.
  shared.beat();
  const heartbeat = setInterval(() => shared.beat(), data.heartbeatMs);

  let runtime;
  try {
    runtime = await bootThread(data);
  } catch (err) {
    send({ type: 'boot-failed', message: describeError(err), code: isGtsError(err) ? err.code : undefined });
    clearInterval(heartbeat);
    port.close();
    return;
  }
  const reports = new ReportBatcher(port);
  const server = new ThreadServer(runtime, data.listeners, data.protocolOptions, shared, new RequestBudget(data.budget), reports, () =>
    send({ type: 'budget-spent' }),
  );
  let stopping = false;

  port.on('message', (message: MainToThread) => {
    switch (message.type) {
      case 'connection':
        server.adopt(message);
        break;
      case 'relay':
        server.adoptRelay(message.port, message.peer, message.listener);
        break;
      case 'reopen':
        runtime.log.reopenFiles();
        break;
      case 'ping':
        answerOnceLoopTurned(() => send({ type: 'pong', started: shared.started() }));
        break;
      case 'stop':
        if (stopping) {
          // A second, quick stop while a graceful one drains: cut what is left.
          if (!message.graceful) void server.stop(false);
          return;
        }
        stopping = true;
        void server
          .stop(message.graceful)
          .then(() => runtime.hooks.shutdown.promise(runtime.api))
          .catch((err: unknown) => runtime.log.exception(err, 'A plugin failed to shut down'))
          .then(() => runtime.log.close())
          .catch(() => undefined)
          .then(() => {
            reports.flush();
            send({ type: 'stopped' });
          });
        break;
    }
  });
  send({ type: 'ready', appFile: runtime.app.file, description: runtime.app.description });
}

/**
 * A pong tells the main thread "my event loop is free": it gives its next connection to the
 * thread that says so. Sent at once, the answer would leave before the request of a
 * connection adopted in the same batch of messages had even been read, since a new socket's
 * first read comes in the next poll phase. So it waits for the check phase after that one:
 * past the first request (CPU-bound or not) of everything adopted so far. An idle thread
 * still answers within two loop turns. A request whose bytes come later still starts after
 * the pong: the pong carries the count of started requests, so the main thread sees that.
 */
function answerOnceLoopTurned(answer: () => void): void {
  setImmediate(() => setImmediate(answer));
}

if (isMainThread || parentPort === null) throw new Error('thread-main.js runs as a gthread app thread only');
void main(parentPort, workerData as ThreadBootData);
