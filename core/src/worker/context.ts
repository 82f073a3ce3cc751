/**
 * What a worker class is built from (registered as TOKENS.WorkerContext): everything the worker
 * process entry resolved before constructing it. Constructors only store it; process-wide
 * changes happen in initProcess(), as in Gunicorn.
 */
import type { ListenerInfo, WorkerToMaster } from '../arbiter/messages.js';
import type { DependencyContainer } from '../container.js';
import type { WorkerHooks } from '../hooks/hooks.js';
import type { Logger } from '../logging/logger.js';
import type { PluginResolver } from '../plugins/resolver.js';
import type { LoadedPlugin } from '../plugins/load-plugins.js';
import type { Settings } from '../settings/settings.js';
import type { LoadBoardRef } from './load-board.js';

export interface WorkerContext {
  /** Spawn order within the master (Gunicorn's worker.age). */
  readonly age: number;
  /** The master's pid. */
  readonly ppid: number;
  readonly settings: Settings;
  readonly log: Logger;
  readonly hooks: WorkerHooks;
  readonly container: DependencyContainer;
  readonly resolver: PluginResolver;
  readonly plugins: readonly LoadedPlugin[];
  /** The inherited listening sockets. */
  readonly listeners: readonly ListenerInfo[];
  /** The master's load board, when it has one (native addon built). */
  readonly loadBoard?: LoadBoardRef;
  /** How often notify() must run for the master to see the worker alive. */
  readonly heartbeatMs: number;
  /** Send to the master over the IPC channel (a no-op once it is gone). */
  readonly send: (message: WorkerToMaster) => void;
}
