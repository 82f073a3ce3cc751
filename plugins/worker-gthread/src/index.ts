/**
 * @gunicorn-ts/worker-gthread: `-k gthread`, or `--threads N` (N > 1) with the default sync
 * class. Declared in package.json as the worker entry `gthread`.
 */
export { GthreadWorker } from './gthread-worker.js';
export { ThreadWorkerApi } from './thread-api.js';
