/**
 * The worker object hooks and plugins get inside an app thread (Gunicorn passes its Worker):
 * the process's pid, age and settings, with this thread's own request count and logger, plus
 * which thread it is.
 */
import { threadId } from 'node:worker_threads';
import type { Logger, Settings, WorkerApi } from '@gunicorn-ts/core';

export class ThreadWorkerApi implements WorkerApi {
  readonly pid = process.pid;
  /** node:worker_threads' id of this thread, unique within the process. */
  readonly threadId = threadId;
  /** Requests this thread has answered (the process total is the sum over its threads). */
  requestCount = 0;
  alive = true;

  constructor(
    readonly ppid: number,
    readonly age: number,
    /** The thread's slot in the pool, 0..threads-1. */
    readonly threadIndex: number,
    readonly settings: Settings,
    readonly log: Logger,
  ) {}

  toString(): string {
    return `<Worker ${this.pid} thread ${this.threadId}>`;
  }
}
