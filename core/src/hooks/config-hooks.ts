/**
 * Config-file hook functions (on_starting, pre_fork, ...) are tapped onto the tapable hooks
 * under the tap name "config". The table says which hook each of the reference's fourteen
 * server hooks is, and in which process it runs.
 */
import type { SettingName } from '../settings/definitions.js';
import type { IncomingMessage } from 'node:http';
import type { Logger } from '../logging/logger.js';
import type { Settings } from '../settings/settings.js';
import { AsyncSeriesHook } from 'tapable';
import type { ArbiterHooks, WorkerHooks } from './hooks.js';

export const CONFIG_TAP_NAME = 'config';

type Binding<H> = readonly [SettingName, keyof H];

export const ARBITER_HOOK_BINDINGS: readonly Binding<ArbiterHooks>[] = [
  ['on_starting', 'onStarting'],
  ['on_reload', 'onReload'],
  ['when_ready', 'whenReady'],
  ['pre_fork', 'preFork'],
  ['post_fork', 'postFork'],
  ['pre_exec', 'preExec'],
  ['worker_exit', 'workerExit'],
  ['nworkers_changed', 'nworkersChanged'],
  ['on_exit', 'onExit'],
];

export const WORKER_HOOK_BINDINGS: readonly Binding<WorkerHooks>[] = [
  ['post_worker_init', 'postWorkerInit'],
  ['worker_int', 'workerInt'],
  ['worker_abort', 'workerAbort'],
  ['pre_request', 'preRequest'],
  ['post_request', 'postRequest'],
];

interface Tappable {
  tap(name: string, fn: (...args: unknown[]) => unknown): void;
  tapPromise?(name: string, fn: (...args: unknown[]) => Promise<unknown>): void;
}

function tapAll<H>(hooks: H, bindings: readonly Binding<H>[], settings: Settings): void {
  for (const [settingName, hookName] of bindings) {
    const fn = settings.get(settingName);
    if (typeof fn !== 'function') continue;
    const hook = hooks[hookName] as unknown as Tappable;
    const call = fn as (...args: unknown[]) => unknown;
    // An awaited hook waits for an async config function (post_worker_init, on_exit). tapable
    // builds hooks with a null prototype and sets `constructor`, so instanceof cannot work.
    if ((hook as { constructor?: unknown }).constructor === AsyncSeriesHook && hook.tapPromise !== undefined) {
      hook.tapPromise(CONFIG_TAP_NAME, async (...args) => void (await call(...args)));
    } else {
      hook.tap(CONFIG_TAP_NAME, call);
    }
  }
}

export function tapArbiterConfigHooks(hooks: ArbiterHooks, settings: Settings): void {
  tapAll(hooks, ARBITER_HOOK_BINDINGS, settings);
}

export function tapWorkerConfigHooks(hooks: WorkerHooks, settings: Settings): void {
  tapAll(hooks, WORKER_HOOK_BINDINGS, settings);
}

/**
 * Gunicorn's default pre_request logs "METHOD PATH" at debug level, and a config pre_request
 * replaces it. Null when it would log nothing, so workers pay nothing per request at info.
 * The logger decides when it can tell (logconfig's level wins over loglevel).
 */
export function defaultPreRequest(settings: Settings, log: Logger): ((req: IncomingMessage) => void) | null {
  if (settings.get('pre_request') !== null) return null;
  if (!(log.isEnabledFor?.('debug') ?? settings.get('loglevel') === 'debug')) return null;
  return (req) => log.debug('%s %s', req.method, (req.url ?? '').split('?', 1)[0]);
}
