/**
 * The evented worker, the Node analogue of Gunicorn's async workers: the event loop serves up
 * to `worker_connections` concurrent connections per process, with keep-alive and pipelining.
 * At that limit it stops accepting, so further connections wait in the kernel queue for a
 * worker with room instead of being accepted and then reset.
 */
import { inject, injectable, TOKENS, Worker, type WorkerContext } from '@gunicorn-ts/core';

@injectable()
export class EventedWorker extends Worker {
  static readonly meta = { name: 'evented' };

  constructor(@inject(TOKENS.WorkerContext) context: WorkerContext) {
    super(context);
  }

  run(): void {
    this.startAccepting();
  }

  protected connectionLimit(): number {
    return this.settings.get('worker_connections');
  }
}
