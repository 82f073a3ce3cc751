/**
 * The sync worker, as Gunicorn's default: one connection (so one request) at a time per
 * process, `Connection: close` after every response. While it is busy it does not accept:
 * the next connection waits in the kernel queue, where an idle sibling takes it, so one slow
 * or CPU-bound request never delays another that a free worker could serve. A handler that
 * blocks the event loop past `timeout` stops the heartbeat and the master kills the worker.
 */
import { inject, injectable, TOKENS, Worker, type HttpProtocolOptions, type WorkerContext } from '@gunicorn-ts/core';

@injectable()
export class SyncWorker extends Worker {
  static readonly meta = { name: 'sync' };

  constructor(@inject(TOKENS.WorkerContext) context: WorkerContext) {
    super(context);
  }

  run(): void {
    this.startAccepting();
  }

  protected connectionLimit(): number {
    return 1;
  }

  protected override protocolOptions(): HttpProtocolOptions {
    return { ...super.protocolOptions(), keepAlive: false };
  }
}
