/**
 * The lifecycle hooks, as frozen objects of tapable hooks (webpack's Compiler.hooks habit).
 * The master's arbiter owns one ArbiterHooks; each worker process owns one WorkerHooks.
 * Plugins and config-file hook functions tap them; the fourteen server hooks of the reference
 * map onto them one to one (see HOOK_BINDINGS in config-hooks.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { AsyncParallelHook, AsyncSeriesHook, AsyncSeriesWaterfallHook, SyncHook } from 'tapable';
import type { Logger } from '../logging/logger.js';
import type { Settings } from '../settings/settings.js';

/** The master as hooks and plugins see it (Gunicorn passes its Arbiter object). */
export interface ArbiterApi {
  readonly pid: number;
  readonly settings: Settings;
  readonly log: Logger;
  /** The target number of workers (TTIN/TTOU change it). */
  readonly numWorkers: number;
  /** Live workers by pid. */
  readonly workers: ReadonlyMap<number, WorkerInfo>;
}

/** The master's record of one worker process (what pre_fork, post_fork and worker_exit get). */
export interface WorkerInfo {
  /** 0 until the process is spawned (pre_fork runs before). */
  readonly pid: number;
  /** Spawn order, unique within a master: Gunicorn's worker.age. */
  readonly age: number;
  /** Exit code or signal, once exited. */
  readonly exitCode?: number | null;
  readonly exitSignal?: NodeJS.Signals | null;
}

/** A worker process as hooks and plugins see it (Gunicorn passes its Worker object). */
export interface WorkerApi {
  readonly pid: number;
  readonly ppid: number;
  readonly age: number;
  readonly settings: Settings;
  readonly log: Logger;
  /** Requests handled so far. */
  readonly requestCount: number;
  /** False once the worker has begun to stop. */
  readonly alive: boolean;
}

/** A freshly accepted connection on its way to the HTTP layer. */
export interface ConnectionContext {
  socket: Duplex;
  /** The client's address: the peer's, or the one a trusted PROXY header names. */
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** The immediate peer, never rewritten (what allow-lists check). */
  readonly peerAddress: string | undefined;
  /** The address this connection was accepted on, as configured (e.g. "127.0.0.1:8000"). */
  readonly listener: string;
  /** Set to true when the connection is over TLS. */
  secure: boolean;
}

export function createArbiterHooks() {
  return Object.freeze({
    onStarting: new SyncHook<[ArbiterApi]>(['server']),
    onReload: new SyncHook<[ArbiterApi]>(['server']),
    whenReady: new SyncHook<[ArbiterApi]>(['server']),
    preFork: new SyncHook<[ArbiterApi, WorkerInfo]>(['server', 'worker']),
    postFork: new SyncHook<[ArbiterApi, WorkerInfo]>(['server', 'worker']),
    preExec: new SyncHook<[ArbiterApi]>(['server']),
    workerExit: new SyncHook<[ArbiterApi, WorkerInfo]>(['server', 'worker']),
    nworkersChanged: new SyncHook<[ArbiterApi, number, number | null]>(['server', 'newValue', 'oldValue']),
    /** Awaited (an async on_exit may flush or close things), up to graceful_timeout. */
    onExit: new AsyncSeriesHook<[ArbiterApi]>(['server']),
    /** Not a Gunicorn hook: the master is about to exit; plugins flush and close here. */
    shutdown: new AsyncParallelHook<[ArbiterApi]>(['server']),
  });
}

export function createWorkerHooks() {
  return Object.freeze({
    /** Awaited before the worker serves (an async post_worker_init may open a pool, warm a cache). */
    postWorkerInit: new AsyncSeriesHook<[WorkerApi]>(['worker']),
    workerInt: new SyncHook<[WorkerApi]>(['worker']),
    workerAbort: new SyncHook<[WorkerApi]>(['worker']),
    preRequest: new SyncHook<[WorkerApi, IncomingMessage]>(['worker', 'req']),
    postRequest: new SyncHook<[WorkerApi, IncomingMessage, ServerResponse]>(['worker', 'req', 'res']),
    /**
     * Not a Gunicorn hook: runs for every accepted connection before HTTP parsing, so a plugin
     * can consume a preamble (the PROXY protocol) or wrap the socket. A tap that throws or
     * rejects drops the connection.
     */
    connection: new AsyncSeriesWaterfallHook<[ConnectionContext]>(['connection']),
    /** Not a Gunicorn hook: the worker is about to exit; plugins flush and close here. */
    shutdown: new AsyncParallelHook<[WorkerApi]>(['worker']),
  });
}

export type ArbiterHooks = ReturnType<typeof createArbiterHooks>;
export type WorkerHooks = ReturnType<typeof createWorkerHooks>;

interface InterceptableHook {
  intercept(interceptor: { register?: (tap: { name: string; type: string; fn: (...args: unknown[]) => unknown }) => unknown }): void;
}

/**
 * Hooks whose synchronous throw is the request's failure, not only a log line: Gunicorn calls
 * pre_request inside handle_request's try, so a throwing pre_request answers 500 and the app
 * is not called (the HTTP front treats it as an app error).
 */
const REQUEST_FAILING_HOOKS: ReadonlySet<string> = new Set(['preRequest']);

/**
 * Make every synchronous hook survive a throwing tap, or one returning a promise that rejects (an
 * async config function, which the hook does not wait for): the error is logged with the hook
 * (by its setting name: pre_request) and tap names and the remaining taps still run; a
 * REQUEST_FAILING_HOOKS tap's throw goes on to fail its request. Async hooks are left as they
 * are: their callers decide (a failed `connection` tap drops that connection).
 */
export function guardSyncHooks(hooks: Readonly<Record<string, unknown>>, log: () => Logger): void {
  for (const [key, hook] of Object.entries(hooks)) {
    const hookName = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const failsRequest = REQUEST_FAILING_HOOKS.has(key);
    // tapable builds hooks with a null prototype and sets `constructor`, so instanceof cannot work.
    const kind = (hook as { constructor?: unknown } | null)?.constructor;
    if (kind !== SyncHook && kind !== AsyncSeriesHook) continue;
    (hook as unknown as InterceptableHook).intercept({
      register(tap) {
        const original = tap.fn;
        if (tap.type === 'promise') {
          // An awaited hook (post_worker_init, on_exit): a rejection is logged, the next tap runs.
          tap.fn = (...args: unknown[]) =>
            Promise.resolve()
              .then(() => original(...args))
              .catch((err: unknown) => log().exception(err, 'Hook %s (%s) failed', hookName, tap.name));
          return tap;
        }
        tap.fn = (...args: unknown[]) => {
          try {
            const result = original(...args);
            // An async function (a config file's `async function when_ready`): a sync hook
            // does not wait for it, and its rejection must not become an unhandled one,
            // which would take the process down (the master with its workers orphaned).
            if (result !== null && typeof result === 'object' && typeof (result as PromiseLike<unknown>).then === 'function') {
              (result as PromiseLike<unknown>).then(undefined, (err: unknown) => log().exception(err, 'Hook %s (%s) failed', hookName, tap.name));
              return undefined;
            }
            return result;
          } catch (err) {
            if (failsRequest) throw err;
            log().exception(err, 'Hook %s (%s) failed', hookName, tap.name);
            return undefined;
          }
        };
        return tap;
      },
    });
  }
}

export { AsyncSeriesWaterfallHook };
